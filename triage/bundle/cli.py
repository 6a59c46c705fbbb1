"""`triage keys init` and `triage verify BUNDLE`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from triage.bundle.keys import fingerprint_der, init_key, load_private


@click.group("keys")
def keys() -> None:
    """The examiner's signing key."""


@keys.command("init")
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to keep the key (default: $TRIAGE_KEY_DIR or ~/.config/mobile-triage).",
)
@click.option("--if-missing", is_flag=True, help="Do nothing (but print the fingerprint) when a key exists.")
def init_command(folder: Path | None, if_missing: bool) -> None:
    """Create the Ed25519 key that signs bundles; print its fingerprints to publish.

    Both name the same key: the first is what reports show, the second is what standard tools give
    (openssl pkey -pubin -in signing_key.pub.pem -outform DER | sha256sum).
    """
    path, fp = init_key(folder, if_missing)
    click.echo(f"key: {path}")
    click.echo(f"fingerprint: {fp}")
    click.echo(f"fingerprint (openssl DER sha256): {fingerprint_der(load_private(path).public_key())}")


VERIFY_HELP = """Check a bundle (its folder or its zip): every file, the signature, who signed, the custody record.

\b
TRUST: the key a bundle carries proves nothing by itself. Give the examiner's published fingerprint
with --trust (either form: SHA256:xxxx:… as reports show it, or the 64-hex SHA-256 of the DER key as
`openssl pkey -pubin -in examiner_public_key.pem -outform DER | sha256sum` prints it; case and colons
ignored) or a PEM public key file; repeatable. --trusted-keys FILE, and $TRIAGE_KEY_DIR/trusted_keys
(default ~/.config/mobile-triage/trusted_keys) when it exists, hold one fingerprint or PEM path a line.

\b
\b
ADDENDA: --addendum A (repeatable) checks a signed addendum after the bundle; its lines are prefixed
with "addendum A:", and the verdict is the worst of the bundle's and the addenda's. An addendum that
names another bundle, or is altered, or is signed by a key that is not trusted, is ALTERED.

\b
Everything goes to stdout (`> verify.txt` keeps the whole verdict); --json prints one JSON object.
Exit codes (the verdict is the last line of the output):
  0 INTACT          every check passed and the signer is a trusted key
  1 ALTERED         a file changed, added or missing, a bad signature, a signer that is not
                    trusted, unsigned when trust was given, a broken custody chain or seal entry
  2 CANNOT CHECK    not a bundle, or unreadable
  3 INTACT BUT SIGNER NOT CHECKED (or INTACT BUT NOT SIGNED)
                    every file checks, but no trusted key was given: the signer's fingerprint is
                    printed to compare with the examiner's published one
  4 INCOMPLETE      the examination did not finish ("run failed" and its reason, a custody
                    record without its closing entry, or a folder that was never sealed)
"""


@click.command("verify", help=VERIFY_HELP)
@click.argument("bundle", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--trust",
    "trust",
    multiple=True,
    metavar="FINGERPRINT|PUBLIC_KEY_FILE",
    help="A signing key to trust (repeatable).",
)
@click.option(
    "--trusted-keys",
    "trusted_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A file of trusted keys: one fingerprint or PEM path a line, '#' comments.",
)
@click.option(
    "--addendum",
    "addenda",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="A signed addendum to this bundle (folder or zip, from `triage addendum` or `triage translations "
    "import`), checked after it: its files, its signature (against the trusted keys) and that it "
    "names this bundle. Repeatable.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the verdict as one JSON object (verdict, reasons, signature, files checked, addenda).",
)
@click.pass_context
def verify_command(
    ctx: click.Context,
    bundle: Path,
    trust: tuple[str, ...],
    trusted_files: tuple[Path, ...],
    as_json: bool,
    addenda: tuple[Path, ...] = (),
) -> None:
    from triage.bundle.trust import TrustError, gather_trust
    from triage.bundle.verify import CANNOT_CHECK, verify

    try:
        trusted = gather_trust(trust, trusted_files)
    except TrustError as e:
        click.echo(f"triage verify: {e}", err=True)
        ctx.exit(CANNOT_CHECK)
        return
    result = verify(bundle, trusted, addenda)
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    else:
        click.echo("\n".join(result.lines()))
    ctx.exit(result.status)
