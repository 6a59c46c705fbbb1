"""`triage rules test [PACK]` and `triage rules eval SCENARIOS [--pack PACK]`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from rules.pack import DEFAULT_PACK, load_pack
from rules.testing import Evaluation, RuleScore, evaluate_scenarios, run_examples


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
@click.option("--json", "as_json", is_flag=True, help="Print the same figures as one JSON document.")
@click.option("--strict", is_flag=True, help="Exit 1 when the acceptance line is not met.")
@click.pass_context
def eval_command(ctx: click.Context, scenarios: Path, pack: Path | None, as_json: bool, strict: bool) -> None:
    """Run the pack over labelled scenarios: precision and recall per rule, per language and overall;
    red/amber/green per class and per language; the acceptance line."""
    loaded = load_pack(pack or DEFAULT_PACK)
    result = evaluate_scenarios(loaded, scenarios)
    if as_json:
        doc = {"pack": {"name": loaded.name, "version": loaded.version}, "scenarios_file": scenarios.name}
        click.echo(json.dumps(doc | result.as_json(), ensure_ascii=False, indent=2))
    else:
        _print_evaluation(result)
    if strict and not result.acceptance()["met"]:
        ctx.exit(1)


def _score_line(label: str, score: RuleScore) -> str:
    return f"{label:8} {score.tp:4} {score.fp:4} {score.fn:4} {score.precision:10.2f} {score.recall:7.2f}"


def _print_evaluation(result: Evaluation) -> None:
    header = f"{'TP':>4} {'FP':>4} {'FN':>4} {'precision':>10} {'recall':>7}"
    click.echo(f"{'rule':8} {header}")
    for rule_id, score in result.per_rule.items():
        if score.tp + score.fp + score.fn:
            click.echo(_score_line(rule_id, score))
    click.echo(_score_line("overall", result.overall))
    click.echo(f"\n{'language':8} {header}   (reporting only: language is never scored)")
    for language, score in sorted(result.per_language.items()):
        click.echo(_score_line(language, score))
    click.echo(f"\n{'outcome':12} {'red':>5} {'amber':>5} {'green':>5}")
    for kind, levels in result.outcomes().items():
        click.echo(f"{kind:12} {levels['red']:5} {levels['amber']:5} {levels['green']:5}")
    click.echo(f"\n{'language':8} {'facilitators red':>17} {'journeys flagged':>17} {'innocents r/a/g':>16}")
    for language, table in result.outcomes_by_language().items():
        f, j, i = table["facilitator"], table["journey"], table["innocent"]
        click.echo(
            f"{language:8} {f['red']:>9}/{sum(f.values()):<7} {j['red'] + j['amber']:>9}/{sum(j.values()):<7} "
            f"{i['red']:>8}/{i['amber']}/{i['green']}"
        )
    click.echo("")
    for s in result.scenarios:
        missed, extra = sorted(set(s["expected"]) - set(s["fired"])), sorted(set(s["fired"]) - set(s["expected"]))
        note = "".join([f"  missed {missed}" if missed else "", f"  unexpected {extra}" if extra else ""])
        like = f" (look-alike of {s['lookalike_of']})" if s.get("lookalike_of") else ""
        click.echo(f"  {s['name']:28} {s['language']:4} {s['class']:11} {s['assessment']:6}{like}{note}")
    click.echo(result.acceptance_line())
    if result.decoys_red:
        click.echo(f"innocents rated red: {', '.join(result.decoys_red)}", err=True)
