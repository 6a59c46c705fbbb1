"""`triage keys init` and `triage verify BUNDLE`."""

from __future__ import annotations

from pathlib import Path

import click

from triage.bundle.keys import init_key
from triage.bundle.verify import verify


@click.group("keys")
def keys() -> None:
    """The examiner's signing key."""


@keys.command("init")
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where to keep the key (default: $TRIAGE_KEY_DIR or ~/.config/mobile-triage).")
@click.option("--if-missing", is_flag=True, help="Do nothing (but print the fingerprint) when a key exists.")
def init_command(folder: Path | None, if_missing: bool) -> None:
    """Create the Ed25519 key that signs bundles; print its fingerprint to publish."""
    path, fp = init_key(folder, if_missing)
    click.echo(f"key: {path}")
    click.echo(f"fingerprint: {fp}")


@click.command("verify")
@click.argument("bundle", type=click.Path(exists=True, path_type=Path))
@click.pass_context
def verify_command(ctx: click.Context, bundle: Path) -> None:
    """Check a bundle (folder or zip): manifest, signature, custody chain.

    Exit 0 when intact, 1 when anything was altered (each change is named), 2 when it cannot be checked.
    """
    result = verify(bundle)
    for fact in result.facts:
        click.echo(f"ok: {fact}")
    for problem in result.problems:
        click.echo(f"ALTERED: {problem}" if result.status == 1 else f"cannot check: {problem}", err=True)
    click.echo({0: "INTACT", 1: "ALTERED", 2: "CANNOT CHECK"}[result.status])
    ctx.exit(result.status)
