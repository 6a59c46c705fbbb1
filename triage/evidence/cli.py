"""`triage evidence ls | cat | hash`: look inside evidence without running a triage."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

import click

from triage.errors import EvidenceError
from triage.evidence.model import Evidence, FileEntry
from triage.evidence.opener import MediaReport, OpenOptions, hash_evidence, open_evidence

CAT_CHUNK = 1 << 20
EVIDENCE_ARG = click.Path(exists=True, path_type=Path)
backup_password_option = click.option(
    "--backup-password",
    envvar="TRIAGE_BACKUP_PASSWORD",
    default=None,
    help="Password of an encrypted iTunes backup or Android .ab (default: $TRIAGE_BACKUP_PASSWORD).",
)


@click.group()
def evidence() -> None:
    """List, read and hash what is inside evidence (images, E01, folders)."""


@evidence.command("ls")
@click.argument("source", metavar="EVIDENCE", type=EVIDENCE_ARG)
@click.option("--json", "as_json", is_flag=True, help="JSON Lines: one object per file or directory.")
@backup_password_option
def ls_command(source: Path, as_json: bool, backup_password: str | None = None) -> None:
    """Every file and directory, deleted ones included (allocated=false), in a stable order."""
    with open_evidence(source, OpenOptions(backup_password=backup_password)) as ev:
        for entry in ev.walk():
            click.echo(json.dumps(entry.to_json(), ensure_ascii=False) if as_json else _row(entry))
        _echo_warnings(ev)


@evidence.command("cat")
@click.argument("source", metavar="EVIDENCE", type=EVIDENCE_ARG)
@click.argument("path")
@click.option("--volume", default=None, help="Volume id from `ls` (p1, p2 …) when the path is in several.")
@backup_password_option
def cat_command(source: Path, path: str, volume: str | None, backup_password: str | None = None) -> None:
    """Write the bytes of the file at PATH (NTFS streams as PATH:STREAM) to stdout."""
    out = sys.stdout.buffer  # bytes as they are: no newline or encoding translation
    with open_evidence(source, OpenOptions(backup_password=backup_password)) as ev:
        entry = ev.find(path, volume)
        written = 0
        with ev.open(entry) as f:
            try:
                while chunk := f.read(CAT_CHUNK):
                    out.write(chunk)
                    written += len(chunk)
            except OSError as e:
                raise EvidenceError(f"reading {entry.provenance} failed after {written} bytes: {e}") from e
        out.flush()
        _echo_warnings(ev)


@evidence.command("hash")
@click.argument("source", metavar="EVIDENCE", type=EVIDENCE_ARG)
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@backup_password_option
@click.pass_context
def hash_command(ctx: click.Context, source: Path, as_json: bool, backup_password: str | None = None) -> None:
    """MD5, SHA-1 and SHA-256 of the media in one pass; exit 1 if a stored hash differs or a read failed."""
    report = hash_evidence(source, options=OpenOptions(backup_password=backup_password))
    media = report.hashes
    if as_json:
        doc = {**media.to_json(), "kind": report.kind, "container_files": _container_names(report)}
        click.echo(json.dumps(doc, ensure_ascii=False))
    else:
        click.echo(_hash_text(report))
    _echo_warnings(report)
    if media.verified is False:
        ctx.exit(1)


def _row(entry: FileEntry) -> str:
    mark = " " if entry.allocated else "*"
    size = "" if entry.size is None else str(entry.size)
    return "\t".join(
        (f"{entry.type:<4}{mark}", entry.volume or "-", entry.inode or "-", size, _time(entry.mtime), entry.path)
    )


def _time(t: datetime | None) -> str:
    return "-" if t is None else t.strftime("%Y-%m-%d %H:%M:%S") + "Z"


def _hash_text(report: MediaReport) -> str:
    media = report.hashes
    verdict = {True: "VERIFIED (stored hashes match)", False: "NOT VERIFIED", None: "no stored hash to compare with"}[
        media.verified
    ]
    files = ", ".join(_container_names(report))
    lines = [
        f"evidence: {report.source.name} ({report.kind}; files: {files})",
        f"size:     {media.size} bytes",
        f"md5:      {media.md5}",
        f"sha1:     {media.sha1}",
        f"sha256:   {media.sha256}",
    ]
    lines += [f"stored {k}: {v}" for k, v in media.stored.items()]
    lines += [f"header {k}: {v}" for k, v in media.headers.items()]
    lines += [f"read error: {e}" for e in media.read_errors]
    lines.append(f"result:   {verdict}")
    return "\n".join(lines)


def _container_names(report: MediaReport) -> list[str]:
    """Segment names for an image; paths inside the folder for a directory (names alone repeat)."""
    if report.kind == "directory":
        return [p.relative_to(report.source.resolve()).as_posix() for p in report.container_files]
    return [p.name for p in report.container_files]


def _echo_warnings(ev: Evidence | MediaReport) -> None:
    for message in getattr(ev, "warnings", []):
        click.echo(f"warning: {message}", err=True)
