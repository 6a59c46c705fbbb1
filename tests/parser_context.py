"""Run a parser on a loose file through the pipeline's own parse runner (for parser unit tests).

The file goes through triage/parsing/__init__.py as in a run: the structural check that refuses a look-alike
database, a private copy of the database with its -wal/-journal, the WAL-only marks and the source-row
digests. Only the choice of parser by path is skipped (the test names the parser), so a fixture need not
sit at the app's path.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

from parsers.base import Parser
from triage.evidence import FileEntry
from triage.evidence.loose import LooseFileEvidence
from triage.model.records import Base, SourceFile
from triage.parsing import Candidate, ParseRunner

HEADER_BYTES = 64


class OneFile(LooseFileEvidence):
    """A loose file (and its -wal/-journal beside it) shown at the path the phone would hold it at."""

    def __init__(self, path: Path, shown: str) -> None:
        super().__init__(path)
        self.shown = shown

    def walk(self) -> Iterator[FileEntry]:
        for entry in super().walk():  # the file, then its sidecars: "/name" and "/name-wal"
            yield dataclasses.replace(entry, path=self.shown + entry.path[len("/" + self.source.name) :])


def parse_file(parser: Parser, path: Path, workdir: Path, device_path: str | None = None) -> tuple[list, list[str]]:
    """Records and warnings (the messages) from one file, parsed by `parser` as a run would parse it."""
    records: list[Base] = []
    warnings: list[str] = []

    def on_record(record: Base, source: SourceFile) -> None:
        records.append(record)

    def on_warning(
        stage: str, component: str, level: str, message: str, provenance: str | None, source: SourceFile | None
    ) -> None:
        warnings.append(message)

    evidence = OneFile(path, device_path or f"/{path.name}")
    runner = ParseRunner(
        evidence, workdir, on_source=lambda source: None, on_record=on_record, on_warning=on_warning, parsers=[parser]
    )
    entries = list(evidence.walk())
    for side in entries[1:]:  # the sidecars, as the runner's listing would have found them
        runner.sidecars[(side.volume, side.path)] = side
    with path.open("rb") as f:
        header = f.read(HEADER_BYTES)
    runner.parse(Candidate(entries[0], header, [parser]))
    return records, warnings
