"""How a record is named in explanations and cited as evidence (type, id, provenance, hash)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from triage.model.records import Base, Location, Message, SourceFile
from triage.store import CaseStore


@dataclass
class Citation:
    text: str  # "Photo IMG_0412.jpg (photo EXIF GPS) taken at 02:14 UTC on 3 May 2025 [source: …]"
    ref: dict[str, Any]  # {"type", "id", "provenance", "sha256", "table", "row", "offset", "row_sha256"}


def reference(record: Base, store: CaseStore) -> dict[str, Any]:
    source_id = getattr(record, "source_file_id", None)
    source = store.get(SourceFile, source_id) if source_id else None
    return {
        "type": record.record_type,
        "id": record.id,
        "provenance": source.provenance if source else None,
        "sha256": source.sha256 if source else None,
        "table": getattr(record, "source_table", None),
        "row": getattr(record, "source_row", None),
        "offset": getattr(record, "source_offset", None),
        "row_sha256": getattr(record, "source_row_sha256", None),  # docs/row_digest.md
    }


def when(t: Any) -> str:
    return f"at {t:%H:%M} UTC on {t:%-d %B %Y}" if t is not None else "at an unknown time"


def describe(record: Base, store: CaseStore) -> Citation:
    ref = reference(record, store)
    if isinstance(record, Location):
        if record.media_file_id is not None:
            text = f"Photo {record.label} ({record.origin}) taken {when(record.time_utc)}"
        else:
            text = f"Position '{record.label or record.origin}' ({record.origin}) {when(record.time_utc)}"
    elif isinstance(record, Message):
        who = record.counterpart or "unknown party"
        verb = "received from" if record.direction == "incoming" else "sent to"
        text = f"{record.app.upper()} message {verb} {who} {when(record.time_utc)}"
    else:
        text = f"{record.record_type} #{record.id}"
    if ref["provenance"]:
        text += f" [source: {ref['provenance']}"
        text += f", {ref['table']} row {ref['row']}]" if ref["table"] else "]"
    return Citation(text, ref)
