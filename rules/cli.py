"""`triage rules test [PACK]` and `triage rules eval SCENARIOS [--pack PACK]`."""

from __future__ import annotations

from pathlib import Path

import click

from rules.pack import DEFAULT_PACK, load_pack
from rules.testing import evaluate_scenarios, run_examples


@click.group("rules")
def rules() -> None:
    """Check and measure rule packs."""


@rules.command("test")
@click.argument("pack", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def test_command(ctx: click.Context, pack: Path | None) -> None:
    """Run every rule's own positive and negative examples (exit 1 if any fails)."""
    loaded = load_pack(pack or DEFAULT_PACK)
    results = run_examples(loaded)
    failed = [r for r in results if not r.passed]
    for rule in loaded.rules:
        mine = [r for r in results if r.rule_id == rule.id]
        status = "ok" if mine and all(r.passed for r in mine) else ("no examples" if not mine else "FAILED")
        kinds = {k: sum(r.kind == k for r in mine) for k in ("positive", "negative")}
        click.echo(f"{rule.id:8} {status:11} {kinds['positive']} positive, {kinds['negative']} negative  {rule.title}")
    for r in failed:
        click.echo(f"FAILED {r.rule_id} {r.kind} example {r.index + 1}: rules fired {r.fired or 'none'}", err=True)
    lacking = [
        rule.id for rule in loaded.rules if not rule.examples.get("positive") or not rule.examples.get("negative")
    ]
    if lacking:
        click.echo(f"rules without both a positive and a negative example: {', '.join(lacking)}", err=True)
    click.echo(f"{len(results) - len(failed)}/{len(results)} examples passed ({loaded.name} {loaded.version})")
    if failed or lacking:
        ctx.exit(1)


@rules.command("eval")
@click.argument("scenarios", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--pack", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None)
def eval_command(scenarios: Path, pack: Path | None) -> None:
    """Run the pack over labelled scenarios; precision and recall per rule and overall."""
    loaded = load_pack(pack or DEFAULT_PACK)
    result = evaluate_scenarios(loaded, scenarios)
    click.echo(f"{'rule':8} {'TP':>4} {'FP':>4} {'FN':>4} {'precision':>10} {'recall':>7}")
    for rule_id, score in result.per_rule.items():
        if score.tp + score.fp + score.fn:
            click.echo(
                f"{rule_id:8} {score.tp:4} {score.fp:4} {score.fn:4} {score.precision:10.2f} {score.recall:7.2f}"
            )
    o = result.overall
    click.echo(f"{'overall':8} {o.tp:4} {o.fp:4} {o.fn:4} {o.precision:10.2f} {o.recall:7.2f}")
    for s in result.scenarios:
        missed, extra = sorted(set(s["expected"]) - set(s["fired"])), sorted(set(s["fired"]) - set(s["expected"]))
        note = "".join([f"  missed {missed}" if missed else "", f"  unexpected {extra}" if extra else ""])
        click.echo(f"  {s['name']:28} {s['role']:20} {s['assessment']:6}{' (decoy)' if s['decoy'] else ''}{note}")
    if result.decoys_red:
        click.echo(f"decoys rated red: {', '.join(result.decoys_red)}", err=True)
