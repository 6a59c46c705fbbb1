"""`triage parse FILE`: the parsers on one loose file, records as plain dicts (nothing written beside it)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from rules.pack import DEFAULT_PACK, load_pack
from triage.evidence.loose import LooseFileEvidence
from triage.limits import ParseLimits
from triage.model.records import EXPORTED_RECORDS, Base, ParseWarning, SourceFile
from triage.parsing import ParseRunner
from triage.report.export import record_json
from triage.run.passes import PassInput, run_passes
from triage.store import CaseStore

SKIPPED_TYPES = {"evidence_item", "source_file", "parse_warning", "custody_event"}


def parse_loose_file(
    path: Path, limits: ParseLimits = ParseLimits(), passes: bool = False, notes: list[str] | None = None
) -> tuple[list[dict[str, Any]], list[str]]:
    """Records of one loose file; with `passes`, also what the run's passes derive from them (parties,
    payments, findings of the default rule pack), exactly as `triage run` would.

    `notes`, when given, receives what the examiner should know that is not a warning: which parser read the
    file by its schema alone, at a path none of them names (a database copied out of its app's folder)."""
    store = CaseStore("sqlite://")  # in memory: links between records (photo → position) resolved as in a run
    warnings: list[str] = []
    workdir = Path(tempfile.mkdtemp(prefix="triage-parse-"))

    def on_source(source: SourceFile) -> None:
        store.add_numbered(source)

    def on_record(record: Base, source: SourceFile) -> None:
        store.add(record)  # the runner has set its source_file_id (triage/parsing/__init__.py)

    def on_warning(
        stage: str, component: str, level: str, message: str, provenance: str | None, source: SourceFile | None
    ) -> None:
        warnings.append(f"{component} ({level}): {message}")
        store.add(ParseWarning(stage=stage, component=component, level=level, message=message, provenance=provenance))

    try:
        runner = ParseRunner(LooseFileEvidence(path), workdir, on_source, on_record, on_warning, limits=limits)
        for candidate in runner.select():
            runner.parse(candidate)
        if notes is not None:
            notes += [schema_note(schemas) for _, schemas in runner.recognised_by_schema]
        store.flush()
        if passes:
            run_passes(PassInput(store, load_pack(DEFAULT_PACK)))
        sources = {s.id: s for s in store.all(SourceFile)}
        records = [
            record_json(r, sources)
            for cls in EXPORTED_RECORDS
            if cls.record_type not in SKIPPED_TYPES
            for r in store.all(cls)
        ]
    finally:
        store.close()
        shutil.rmtree(workdir, ignore_errors=True)
    return records, warnings


def schema_note(schemas: list[str]) -> str:
    """How a file read at a path no parser names was recognised ("telegram_android: messages_v2 (current)")."""
    return f"recognised by schema, not path: {'; '.join(schemas)}"
