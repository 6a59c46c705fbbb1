"""records/<type>.jsonl: one line per record, with its `type`, its fields and its provenance."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import inspect

from triage.exclusive import create_exclusive
from triage.records import EXPORTED_RECORDS, Base, SourceFile
from triage.store import CaseStore
from triage.timeutil import iso

PROVENANCE_COLUMNS = ("source_file_id", "source_table", "source_row", "source_offset")


def plain(value: Any) -> Any:
    return iso(value) if isinstance(value, datetime) else value


def record_json(record: Base, sources: dict[int, SourceFile]) -> dict[str, Any]:
    columns = {c.key: plain(getattr(record, c.key)) for c in inspect(type(record)).column_attrs}
    out: dict[str, Any] = {"type": record.record_type}
    out.update({k: v for k, v in columns.items() if k not in PROVENANCE_COLUMNS})
    if "source_file_id" in columns:
        src = sources.get(columns["source_file_id"])
        out["provenance"] = {
            "source_file_id": columns["source_file_id"],
            "path": src.provenance if src else None,
            "sha256": src.sha256 if src else None,
            # A ParseWarning names its file but has no table/row: those keys are then null.
            "table": columns.get("source_table"),
            "row": columns.get("source_row"),
            "offset": columns.get("source_offset"),
        }
    return out


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, default=str)


def write_records(store: CaseStore, folder: Path) -> dict[str, Path]:
    """Write every record type (an empty file when there are none, so absence is explicit)."""
    folder.mkdir(parents=True, exist_ok=True)
    sources = {s.id: s for s in store.all(SourceFile)}
    written = {}
    for cls in EXPORTED_RECORDS:
        path = folder / f"{cls.record_type}.jsonl"
        with create_exclusive(path, "w", encoding="utf-8") as f:
            for record in store.all(cls):
                f.write(dumps(record_json(record, sources)) + "\n")
        written[cls.record_type] = path
    return written
