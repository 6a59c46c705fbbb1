"""The `triage` command line: one click group, sub-commands per concern."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from sqlalchemy.exc import DBAPIError

from triage import __version__
from triage.errors import TriageError

EXIT_FATAL = 2


@click.group()
@click.version_option(__version__, prog_name="triage")
def cli() -> None:
    """Forensic triage of seized phones (mobile-triage)."""


@cli.command("run")
@click.argument("evidence", type=click.Path(exists=True, path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="New folder for the results.")
@click.option("--case", default="", help="Case reference.")
@click.option("--exhibit", default="", help="Exhibit reference of the device.")
@click.option("--examiner", default=None, help="Operator name for the examination record (default: login name).")
@click.option("--db", "db_url", default=None, help="SQLAlchemy URL of the case store (default: DIR/case.sqlite).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option(
    "--signing-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Ed25519 key that signs the bundle (default: the key made by `triage keys init`).",
)
@click.option(
    "--watchlist",
    "watchlists",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV watch-list (kind,value[,label][,max_distance]); kinds phone, username, wallet, iban, "
    "sha256, phash (pictures). Repeatable.",
)
@click.option(
    "--media-watchlist",
    "media_watchlist",
    default=None,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Deprecated: the same as --watchlist (old sha256/phash column lists are still read).",
)
@click.option(
    "--backup-password",
    envvar="TRIAGE_BACKUP_PASSWORD",
    default=None,
    help="Password of an encrypted iTunes backup or Android .ab (default: $TRIAGE_BACKUP_PASSWORD).",
)
@click.option(
    "--max-expansion-ratio",
    type=click.FloatRange(min=1),
    default=None,
    help="Archive members that would inflate more than this times their packed size are refused (200).",
)
@click.option(
    "--max-total-bytes",
    type=click.IntRange(min=1),
    default=None,
    help="Archive content past this many declared bytes is refused (64 GiB).",
)
@click.option(
    "--sqlite-seconds",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="SQLite time budget per evidence database; a parser stops there and keeps what it read (120).",
)
@click.option(
    "--sqlite-rows",
    type=click.IntRange(min=1),
    default=None,
    help="Rows all parsers may read from one evidence database (20,000,000).",
)
@click.option(
    "--case-records",
    is_flag=True,
    help="Also write case-records.jsonld: every record as CASE/UCO nodes (as large as records/*.jsonl).",
)
@click.option(
    "--declarations",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="YAML of the examiner's declarations (name, role, date, accreditation, fsr_code, legal_power, "
    "statement_of_truth …; README 'Declarations, addenda and translations'), checked before the run "
    "starts and printed into the sealed report.pdf. Without it the PDF keeps a blank form.",
)
@click.option(
    "--scope-categories",
    default=None,
    metavar="LIST",
    help="Keep only these data categories, comma-separated: messages, calls, contacts, media, locations, "
    "payments (default: all). Records outside the scope are never stored (README 'Scope').",
)
@click.option(
    "--scope-from", default=None, metavar="YYYY-MM-DD", help="Keep only dated records from this UTC day on (inclusive)."
)
@click.option(
    "--scope-to", default=None, metavar="YYYY-MM-DD", help="Keep only dated records up to this UTC day (inclusive)."
)
@click.option(
    "--scope-keep-undated",
    is_flag=True,
    help="With a date window, also keep messages, calls, photos, positions and payments that have no time.",
)
def run_command(
    evidence: Path,
    out: Path,
    case: str,
    exhibit: str,
    examiner: str | None,
    db_url: str | None,
    quiet: bool,
    signing_key: Path | None = None,
    watchlists: tuple[Path, ...] = (),
    media_watchlist: Path | None = None,
    backup_password: str | None = None,
    max_expansion_ratio: float | None = None,
    max_total_bytes: int | None = None,
    sqlite_seconds: float | None = None,
    sqlite_rows: int | None = None,
    case_records: bool = False,
    declarations: Path | None = None,
    scope_categories: str | None = None,
    scope_from: str | None = None,
    scope_to: str | None = None,
    scope_keep_undated: bool = False,
) -> None:
    """Triage EVIDENCE (image, E01, folder) into the folder given by --out."""
    from triage.evidence.opener import OpenOptions
    from triage.limits import ParseLimits
    from triage.run.pipeline import RunOptions, run
    from triage.run.progress import Reporter, RichReporter
    from triage.run.scope import parse_scope

    scope = parse_scope(scope_categories, scope_from, scope_to, scope_keep_undated)  # refused before any work

    parse_limits = ParseLimits(**_given(sqlite_seconds_per_file=sqlite_seconds, sqlite_rows_per_file=sqlite_rows))
    if media_watchlist is not None:
        click.echo(
            "triage: warning: --media-watchlist is deprecated; give the list with --watchlist (same file, "
            "CSV kind,value[,label][,max_distance] with kinds sha256 and phash)",
            err=True,
        )
    opts = RunOptions(
        evidence=evidence,
        out=out,
        case=case,
        exhibit=exhibit,
        db_url=db_url,
        watchlists=list(watchlists),
        signing_key=signing_key,
        media_watchlist=media_watchlist,
        open_options=OpenOptions(
            backup_password=backup_password,
            **_given(max_expansion_ratio=max_expansion_ratio, max_total_bytes=max_total_bytes),
        ),
        parse_limits=parse_limits,
        case_records=case_records,
        declarations=declarations,
        scope=scope,
    )
    if examiner:
        opts.examiner = examiner
    result = run(opts, Reporter() if quiet else RichReporter())
    verified = {True: "verified", False: "NOT VERIFIED", None: "no stored hash"}[result.verified]
    click.echo(
        f"findings: {result.findings}  warnings: {result.warnings}  acquisition hash: {verified}  "
        f"evidence unchanged: {'yes' if result.unchanged else 'NO'}",
        err=True,
    )
    click.echo(
        f"bundle: {result.bundle} ({'signed' if result.signed else 'NOT signed: run `triage keys init`'})", err=True
    )
    click.echo(f"report: {result.report}")


def _given(**options: float | int | None) -> dict:
    """The limits given on the command line (the defaults of their dataclass otherwise)."""
    return {k: v for k, v in options.items() if v is not None}


@cli.command("row-digest")
@click.argument("database", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("table")
@click.argument("rowid", type=int)
@click.option("--show", is_flag=True, help="Also print the exact bytes hashed (docs/row_digest.md).")
def row_digest_command(database: Path, table: str, rowid: int, show: bool) -> None:
    """Print the SHA-256 of one row of a SQLite database, as records carry it (source_row_sha256): a
    record's row can be checked against a copy of the database without this tool's parsers. The file
    is read through a private copy (with its -wal/-journal), never opened itself."""
    from triage.parsing.row_digest import digest_of_file_row

    found = digest_of_file_row(database, table, rowid)
    if found is None:
        raise TriageError(
            f"{database.name}: no row with rowid {rowid} in a table named {table!r} "
            "(or the table has no rowid); check the record's source_table and source_row"
        )
    digest, hashed = found
    click.echo(digest)
    if show:
        click.echo(hashed.decode("ascii"))


@cli.command("parse")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="JSON Lines: one record a line, with a `type` field.")
def parse_command(file: Path, as_json: bool) -> None:
    """Parse one loose database or file (its -wal/-journal beside it are used) and print its records,
    with what the run's passes derive from them (parties, payments, findings)."""
    from triage.run.loose_parse import parse_loose_file

    notes: list[str] = []  # which parser read the file by its schema alone (at a path none of them names)
    records, warnings = parse_loose_file(file, passes=True, notes=notes)  # payments, parties, findings as in a run
    for note in notes:
        click.echo(f"note: {file.name}: {note}", err=True)
    for w in warnings:
        click.echo(f"warning: {w}", err=True)
    if as_json:
        from triage.report.export import dumps

        for record in records:
            click.echo(dumps(record))
        return
    counts: dict[str, int] = {}
    for record in records:
        counts[record["type"]] = counts.get(record["type"], 0) + 1
    if not counts:
        click.echo(
            f"{file.name}: no parser recognised this file, by its path or (for a database) its tables and "
            "columns (see warnings, if any)"
        )
    for kind, n in counts.items():
        click.echo(f"{kind}: {n}")


@cli.command("parsers")
@click.option("--json", "as_json", is_flag=True, help="JSON: one object per parser, as the catalogue has it.")
@click.option("--markdown", is_flag=True, help="The catalogue docs/parsers.md is generated from.")
def parsers_command(as_json: bool, markdown: bool) -> None:
    """List every parser: name, app, platform, module, path patterns, schema generations, record types and
    whether it needs only the file's bytes (in the order they run on a file several of them read)."""
    from parsers import catalogue

    if as_json and markdown:
        raise click.UsageError("--json and --markdown are two formats: choose one")
    items = catalogue.entries()
    text = (
        catalogue.as_json(items) + "\n"
        if as_json
        else catalogue.as_markdown(items)
        if markdown
        else catalogue.as_table(items)
    )
    click.echo(text, nl=False)


@cli.group()
def custody() -> None:
    """Chain-of-custody log tools."""


@custody.command("verify")
@click.argument("log", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def custody_verify(ctx: click.Context, log: Path) -> None:
    """Check the hash chain of a custody.jsonl; exit 1 and name the first broken entry."""
    from triage.integrity.custody import verify_chain

    check = verify_chain(log)
    if check.ok:
        click.echo(f"OK: {check.entries} entries, chain intact")
        return
    click.echo(
        f"BROKEN at entry {check.broken_line} (line {check.broken_line}): {check.reason}; "
        f"{check.entries} entries before it are intact"
    )
    ctx.exit(1)


def _register_subcommands() -> None:
    from rules.cli import rules
    from triage.addenda.cli import addendum_command, translations
    from triage.bundle.cli import keys, verify_command
    from triage.evidence.cli import evidence
    from triage.kiosk.cli import kiosk
    from triage.lab.cli import COMMANDS as LAB_COMMANDS

    cli.add_command(evidence)
    cli.add_command(keys)
    cli.add_command(verify_command)
    cli.add_command(rules)
    cli.add_command(addendum_command)
    cli.add_command(translations)
    cli.add_command(kiosk)
    for command in LAB_COMMANDS:  # submit, worker, status, lab (triage/lab/)
        cli.add_command(command)


def main(argv: list[str] | None = None) -> int:
    """Console-script entry: fatal errors become one line on stderr and a non-zero exit, no traceback.

    Every command runs inside the process's private work folder (triage/run/workdir.py), removed on exit,
    Ctrl-C and SIGTERM, so decrypted or copied evidence never stays behind.
    """
    from triage.run.workdir import Terminated, private_workdir

    _register_subcommands()
    try:
        with private_workdir() as work:
            if work.stale_removed:
                click.echo(
                    f"note: removed {len(work.stale_removed)} work folder(s) left by runs that no longer "
                    f"exist: {', '.join(work.stale_removed)}",
                    err=True,
                )
            rv = cli.main(args=argv, prog_name="triage", standalone_mode=False)
    except Terminated as e:
        click.echo(f"triage: {e}; the work folder was removed and the examination record says the run failed", err=True)
        return 128 + e.signum
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except click.Abort:
        click.echo("aborted", err=True)
        return EXIT_FATAL
    except TriageError as e:
        click.echo(f"triage: error: {e}", err=True)
        return EXIT_FATAL
    except BrokenPipeError:
        return 0
    except OSError as e:  # disk full, permission denied, a folder that vanished: one line, what to do
        click.echo(f"triage: error: {_os_error_line(e)}", err=True)
        return EXIT_FATAL
    except DBAPIError as e:  # the case store could not be written (full disk, read-only, server gone)
        click.echo(f"triage: error: case store: {e.orig} (is the disk full or read-only? is --db reachable?)", err=True)
        return EXIT_FATAL
    return rv if isinstance(rv, int) else 0  # ctx.exit(code) comes back as the return value


def _os_error_line(e: OSError) -> str:
    where = f": {e.filename}" if e.filename else ""
    hint = {
        28: " (free some space or choose --out on another disk)",
        27: " (the file size limit was reached)",
        13: " (check the permissions of the output folder)",
        30: " (the output location is read-only)",
    }
    return f"{e.strerror or e}{where}{hint.get(e.errno or 0, '')}"


if __name__ == "__main__":
    sys.exit(main())
