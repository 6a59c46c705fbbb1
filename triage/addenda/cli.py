"""`triage addendum BUNDLE …` and `triage translations export|import`: what is added after the seal."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

BUNDLE_ARG = click.Path(exists=True, path_type=Path)
FILE_ARG = click.Path(exists=True, dir_okay=False, path_type=Path)


def _key_option(f):  # noqa: ANN001, ANN202 - a click decorator
    return click.option(
        "--key",
        "key_path",
        type=FILE_ARG,
        default=None,
        help="Ed25519 key that signs the addendum (default: the key made by `triage keys init`).",
    )(f)


def _trust_option(f):  # noqa: ANN001, ANN202 - a click decorator
    return click.option(
        "--trust",
        "trust",
        multiple=True,
        metavar="FINGERPRINT|PUBLIC_KEY_FILE",
        help="Require the bundle to be signed by this key (as `triage verify --trust`).",
    )(f)


def _date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dt.date:
    if value is None:
        return dt.datetime.now(dt.UTC).date()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date as YYYY-MM-DD") from None


def _date_option(f):  # noqa: ANN001, ANN202 - a click decorator
    return click.option(
        "--date",
        "day",
        callback=_date,
        default=None,
        metavar="YYYY-MM-DD",
        help="The date the translations were certified (default: today, UTC).",
    )(f)


@click.command("addendum")
@click.argument("bundle", type=BUNDLE_ARG)
@click.option(
    "--declarations",
    type=FILE_ARG,
    default=None,
    help="YAML of the examiner's declarations (as `triage run --declarations`).",
)
@click.option(
    "--translations",
    "xlf",
    type=FILE_ARG,
    default=None,
    help="XLIFF file from `triage translations export`, with its targets filled (needs --translator).",
)
@click.option("--translator", default=None, help="Who certified the translations.")
@_date_option
@_key_option
@_trust_option
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(path_type=Path),
    help="New folder for the addendum (its zip is written beside it), or the zip's name.",
)
def addendum_command(
    bundle: Path,
    declarations: Path | None,
    xlf: Path | None,
    translator: str | None,
    day: dt.date,
    key_path: Path | None,
    trust: tuple[str, ...],
    out: Path,
) -> None:
    """Seal declarations and/or certified translations given after the run as a signed addendum to BUNDLE.

    The addendum names BUNDLE by the SHA-256 of its manifests and is signed like a bundle;
    `triage verify BUNDLE --addendum ADDENDUM --trust KEY` checks both together."""
    if xlf is not None and not translator:
        raise click.UsageError("--translations needs --translator NAME (who certified them)")
    if xlf is None and declarations is None:
        raise click.UsageError("give --declarations FILE and/or --translations FILE.xlf")
    _seal(bundle, out, key_path, trust, declarations, xlf, translator, day)


@click.group("translations")
def translations() -> None:
    """The translation round trip: export cited messages as XLIFF, import the certified translations."""


@translations.command("export")
@click.argument("bundle", type=BUNDLE_ARG)
@click.option(
    "--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="New XLIFF 1.2 file."
)
@click.option("--target-language", default="en", show_default=True, help="Language to translate into (BCP 47).")
@click.option(
    "--addendum",
    "addenda",
    multiple=True,
    type=BUNDLE_ARG,
    help="An addendum whose translations are already made: its messages are left out. Repeatable.",
)
@_trust_option
def export_command(
    bundle: Path, out: Path, target_language: str, addenda: tuple[Path, ...], trust: tuple[str, ...]
) -> None:
    """Write the messages the findings cite, not yet translated, as XLIFF: each unit's id is the message's
    record id, with the SHA-256 of its text and where it is in notes."""
    from triage.addenda.bundle_records import checked_bundle
    from triage.addenda.xliff import export_xliff
    from triage.bundle.trust import gather_trust

    identity, result = checked_bundle(bundle, gather_trust(trust, use_default=False))
    done = _translated_in(bundle, addenda, trust)
    count = export_xliff(bundle, identity, out, target_language, done)
    click.echo(
        f"xliff: {out} ({count} message(s) to translate from {identity.name}"
        f"{f'; {len(done)} already translated in the addenda given' if done else ''})"
    )


@translations.command("import")
@click.argument("bundle", type=BUNDLE_ARG)
@click.argument("xlf", type=FILE_ARG)
@click.option("--translator", required=True, help="Who certified the translations.")
@_date_option
@_key_option
@_trust_option
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(path_type=Path),
    help="New folder for the addendum (its zip is written beside it), or the zip's name.",
)
def import_command(
    bundle: Path, xlf: Path, translator: str, day: dt.date, key_path: Path | None, trust: tuple[str, ...], out: Path
) -> None:
    """Check every translated unit of XLF against BUNDLE's messages (id and text hash) and seal the certified
    translations as a signed addendum; one unknown or changed message refuses the whole file."""
    _seal(bundle, out, key_path, trust, None, xlf, translator, day)


def _seal(
    bundle: Path,
    out: Path,
    key_path: Path | None,
    trust: tuple[str, ...],
    declarations: Path | None,
    xlf: Path | None,
    translator: str | None,
    day: dt.date,
) -> None:
    from triage.addenda.addendum import CertifiedTranslations, make_addendum
    from triage.addenda.bundle_records import checked_bundle
    from triage.addenda.declarations import load_declarations
    from triage.addenda.xliff import read_translations
    from triage.bundle.keys import fingerprint, load_private
    from triage.bundle.trust import gather_trust

    key = load_private(key_path)  # every refusal before anything is written
    loaded = load_declarations(declarations) if declarations is not None else None
    identity, _ = checked_bundle(bundle, gather_trust(trust, use_default=False))
    certified = None
    if xlf is not None:
        outcome = read_translations(xlf, bundle)
        certified = CertifiedTranslations(outcome, translator or "", day, xlf.read_bytes())
        if outcome.without_target:
            click.echo(
                f"note: {len(outcome.without_target)} unit(s) without a translation left out: "
                f"{', '.join(map(str, outcome.without_target))}",
                err=True,
            )
    target = make_addendum(out, identity, key, loaded, certified)
    parts = [
        f"{len(certified.outcome.translations)} translation(s)" if certified else "",
        "declarations" if loaded else "",
    ]
    click.echo(
        f"addendum: {target} ({', '.join(p for p in parts if p)}; to {identity.name}; signed by "
        f"{fingerprint(key.public_key())})"
    )


def _translated_in(bundle: Path, addenda: tuple[Path, ...], trust: tuple[str, ...]) -> set[int]:
    """Message ids translated in the given addenda, each verified with the bundle first."""
    import json

    from triage.bundle.sources import open_source
    from triage.bundle.verify import ALTERED, CANNOT_CHECK, verify
    from triage.errors import TriageError

    if not addenda:
        return set()
    result = verify(bundle, list(trust), addenda)
    for addendum in result.addenda:
        if addendum.own_status in (ALTERED, CANNOT_CHECK):
            raise TriageError(f"addendum {addendum.source} is {addendum.own_verdict}: {'; '.join(addendum.reasons)}")
    done: set[int] = set()
    for path in addenda:
        with open_source(path) as source:
            record = json.loads(source.read("data/addendum.json", 1 << 30) or b"{}")
        for unit in (record.get("translations") or {}).get("units", []):
            done.add(int(unit["message_id"]))
    return done
