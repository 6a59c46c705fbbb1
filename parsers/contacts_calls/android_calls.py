"""Android call log: `calls` in calllog.db (Android 7+) or in contacts2.db (older) —
docs/formats/contacts_calls.md "Android call log"."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from parsers.base import ParseContext, Schema, SqliteParser
from parsers.rows import row_dicts, unix_ms_utc
from parsers.sqlite_query import present
from triage.model.records import Base, Call, build

CALL_TYPES = {
    1: "incoming",
    2: "outgoing",
    3: "missed",
    4: "voicemail",
    5: "rejected",
    6: "blocked",
    7: "answered externally",
}
VIDEO_FEATURE = 1  # `features` bit 0


class AndroidCallLogParser(SqliteParser):
    name = "android_calls"
    description = "Android call log (calllog.db / contacts2.db calls)"
    app = "Phone (call log)"
    platform = "Android"
    produces = (Call,)
    order = 50
    path_patterns = (
        "*/com.android.providers.contacts/databases/calllog.db",
        "*/com.android.providers.contacts/databases/contacts2.db",
        "*/com.samsung.android.providers.contacts/databases/*.db",
    )
    # one layout in calllog.db (Android 7+) and in contacts2.db before it
    schemas = (
        Schema(
            "calls table",
            {"calls": {"_id", "number", "date", "duration", "type"}},
            "fixtures/third_party/plaso/test_data/android/contacts2.db",
        ),
    )

    def parse_db(self, db: sqlite3.Connection, ctx: ParseContext) -> Iterator[Base]:
        optional = present(
            db,
            "calls",
            [
                "name",
                "features",
                "countryiso",
                "geocoded_location",
                "normalized_number",
                "phone_account_address",
                "subscription_id",
                "presentation",
            ],
        )
        rows = db.execute(
            f"SELECT _id, number, date, duration, type{''.join(', ' + c for c in optional)} FROM calls ORDER BY _id"
        )
        for row in row_dicts(rows):
            direction = CALL_TYPES.get(row["type"])
            if direction is None:
                ctx.warn(f"calls._id={row['_id']}: unknown call type {row['type']!r}")
            features = row.get("features")
            yield build(
                Call,
                app="phone",
                direction=direction or f"type {row['type']}",
                counterpart=row["number"],
                time_utc=unix_ms_utc(row["date"]),
                time_raw=row["date"],
                time_encoding="unix_ms",
                duration_s=row["duration"],
                video=None if features is None else bool(features & VIDEO_FEATURE),
                extra={k: row[k] for k in optional if k != "features" and row.get(k) not in (None, "")},
                source_table="calls",
                source_row=str(row["_id"]),
            )
