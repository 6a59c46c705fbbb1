"""Run a parser on a loose file, the way the pipeline would (for parser unit tests)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from parsers.base import ParseContext, Parser
from triage.evidence import FileEntry


def parse_file(parser: Parser, path: Path, workdir: Path, device_path: str | None = None) -> tuple[list, list[str]]:
    """Records and warnings from one file; SQLite parsers get a private copy, as in the pipeline."""
    entry = FileEntry(path=device_path or f"/{path.name}", layers=(f"test {path.name}",), type="file",
                      size=path.stat().st_size, inode=None)
    copy = workdir / f"copy-{path.name}"

    def sqlite_copy() -> Path:
        if not copy.exists():
            shutil.copyfile(path, copy)
        return copy

    ctx = ParseContext(entry=entry, open=lambda: open(path, "rb"), sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
                       header=path.read_bytes()[:64], sqlite_copy=sqlite_copy)
    return list(parser.parse(ctx)), ctx.warnings
