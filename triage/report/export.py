"""records/<type>.jsonl: one line per record, with its `type`, its fields and its provenance.

Written record by record from the store (triage/report/store_rows.py): a phone's 500,000 messages are
never in memory at once, and the file is the same, byte for byte, as one written from a list.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, inspect

from triage.integrity.exclusive import create_exclusive
from triage.model.records import EXPORTED_RECORDS, Base, SourceFile, UTCDateTime
from triage.model.timeutil import iso
from triage.report.cursor_rows import CursorReader, record_rows
from triage.report.store_rows import has_source, record_columns, record_select
from triage.report.times import iso_text
from triage.store import CaseStore

PROVENANCE_COLUMNS = ("source_file_id", "source_table", "source_row", "source_offset", "source_row_sha256")


def plain(value: Any) -> Any:
    return iso(value) if isinstance(value, datetime) else value


def export_json(
    record_type: str, columns: Mapping[str, Any], source_path: str | None, source_sha256: str | None
) -> dict[str, Any]:
    """A record as exported: its type, its columns, and its provenance (source file, table, row, offset)."""
    out: dict[str, Any] = {"type": record_type}
    out.update({k: plain(v) for k, v in columns.items() if k not in PROVENANCE_COLUMNS})
    if "source_file_id" in columns:
        out["provenance"] = {
            "source_file_id": columns["source_file_id"],
            "path": source_path,
            "sha256": source_sha256,
            # A ParseWarning names its file but has no table/row: those keys are then null.
            "table": columns.get("source_table"),
            "row": columns.get("source_row"),
            "offset": columns.get("source_offset"),
            "row_sha256": columns.get("source_row_sha256"),  # docs/row_digest.md
        }
    return out


def record_json(record: Base, sources: dict[int, SourceFile]) -> dict[str, Any]:
    """One ORM record as exported, its source file looked up in `sources` (for callers holding records)."""
    columns = {c.key: getattr(record, c.key) for c in inspect(type(record)).column_attrs}
    src = sources.get(columns["source_file_id"]) if "source_file_id" in columns else None
    return export_json(record.record_type, columns, src.provenance if src else None, src.sha256 if src else None)


def exported_records(store: CaseStore, cls: type[Base]) -> Iterator[dict[str, Any]]:
    """Every record of one type as exported, in id order, read from the store page by page; the source
    file's provenance comes from a join in SQL, not from a table of every source file held in memory.
    The same dicts as `export_json` makes, built by column position: only time columns hold datetimes."""
    return map(_exporter(cls), record_rows(store, cls, with_source=has_source(cls)))


def exported_page(store: CaseStore, cls: type[Base], after: int | None, count: int) -> list[dict[str, Any]]:
    """Up to `count` records as `exported_records` gives them, those with an id above `after` (None: from the
    first), in id order."""
    id_column = cls.__table__.c.id
    statement = record_select(cls, has_source(cls))
    if after is not None:
        statement = statement.where(id_column > after)
    return list(map(_exporter(cls), CursorReader(store.session).rows(statement.order_by(id_column).limit(count))))


def _exporter(cls: type[Base]) -> Callable[[Any], dict[str, Any]]:
    """How a row of record_select (with its source when the type has one) becomes the exported dict."""
    columns = record_columns(cls)
    keys = [key for key, _ in columns]
    width = len(keys)
    shown = [(key, n) for n, key in enumerate(keys) if key not in PROVENANCE_COLUMNS]
    times = [key for key, column in columns if isinstance(column.type, (DateTime, UTCDateTime))]
    where = {key: n for n, key in enumerate(keys) if key in PROVENANCE_COLUMNS}
    with_source = has_source(cls)
    record_type = cls.record_type

    def export(row: Any) -> dict[str, Any]:
        # record_select lists the record's columns in `keys` order, then the source's provenance and SHA-256
        out: dict[str, Any] = {"type": record_type}
        for key, n in shown:
            out[key] = row[n]
        for key in times:
            if out[key] is not None:
                out[key] = iso_text(out[key])  # the store's UTC text, as timeutil.iso writes the instant
        if "source_file_id" in where:
            out["provenance"] = {
                "source_file_id": row[where["source_file_id"]],
                "path": row[width] if with_source else None,
                "sha256": row[width + 1] if with_source else None,
                # A ParseWarning names its file but has no table/row: those keys are then null.
                "table": row[where["source_table"]] if "source_table" in where else None,
                "row": row[where["source_row"]] if "source_row" in where else None,
                "offset": row[where["source_offset"]] if "source_offset" in where else None,
                "row_sha256": row[where["source_row_sha256"]] if "source_row_sha256" in where else None,
            }
        return out

    return export


_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=str)  # json.dumps with these options


def dumps(obj: Any) -> str:
    return _ENCODER.encode(obj)


def write_records(store: CaseStore, folder: Path) -> dict[str, Path]:
    """Write every record type (an empty file when there are none, so absence is explicit)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for cls in EXPORTED_RECORDS:
        path = folder / f"{cls.record_type}.jsonl"
        with create_exclusive(path, "w", encoding="utf-8") as f:
            for record in exported_records(store, cls):
                f.write(dumps(record) + "\n")
        written[cls.record_type] = path
    return written
