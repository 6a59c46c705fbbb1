"""Android SMS from the telephony provider's mmssms.db (`sms` table, and Samsung's `spam_sms` of
messages the phone filtered as spam; docs/formats/sms_mms.md "Android mmssms.db"). MMS are in
parsers/sms/android_mms.py."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from parsers.base import ParseContext, Schema, SqliteParser, table_columns
from parsers.rows import row_dicts, unix_ms_utc
from parsers.sqlite_salvage import readable_rows
from triage.model.records import Base, Message, build
from triage.model.timeutil import iso

# Telephony.TextBasedSmsColumns.type -> (direction, status)
SMS_TYPES: dict[int, tuple[str, str]] = {
    1: ("incoming", "inbox"),
    2: ("outgoing", "sent"),
    3: ("draft", "draft"),
    4: ("outgoing", "outbox"),
    5: ("outgoing", "failed"),
    6: ("outgoing", "queued"),
}
SPAM_REQUIRED = {"_id", "address", "date", "type", "body"}
OPTIONAL_COLUMNS = ("thread_id", "date_sent", "read", "subject", "service_center", "sub_id", "locked", "seen")


class AndroidSmsParser(SqliteParser):
    name = "android_sms"
    description = "Android SMS (telephony provider mmssms.db)"
    app = "SMS/MMS (telephony provider)"
    platform = "Android"
    produces = (Message,)
    order = 10
    path_patterns = ("*/com.android.providers.telephony/databases/mmssms.db", "*/mmssms.db")
    schemas = (
        Schema(
            "sms table",
            {"sms": {"_id", "address", "date", "type", "body"}},
            "fixtures/third_party/plaso/test_data/android/mmssms.db",
        ),
    )

    def parse_db(self, db: sqlite3.Connection, ctx: ParseContext) -> Iterator[Base]:
        yield from self._table(db, "sms", ctx)
        if SPAM_REQUIRED <= table_columns(db, "spam_sms"):
            yield from self._table(db, "spam_sms", ctx)
        elif table_columns(db, "spam_sms"):
            ctx.warn(f"spam_sms has an unknown layout (columns {sorted(table_columns(db, 'spam_sms'))}); not read")

    def _table(self, db: sqlite3.Connection, table: str, ctx: ParseContext) -> Iterator[Message]:
        present = table_columns(db, table)
        optional = [c for c in OPTIONAL_COLUMNS if c in present]
        # _id is the rowid (INTEGER PRIMARY KEY): rows on damaged pages are stepped over, with a warning
        rows = readable_rows(db, table, ["_id", "address", "date", "type", "body", *optional], ctx.warn)
        for row in row_dicts(rows):
            yield self._message(row, ctx, table)

    def _message(self, row: dict, ctx: ParseContext, table: str = "sms") -> Message:
        direction, status = SMS_TYPES.get(row["type"], ("unknown", f"type {row['type']}"))
        if row["type"] not in SMS_TYPES:
            ctx.warn(f"{table}._id={row['_id']}: unknown type code {row['type']!r}, direction left unknown")
        sent_raw = row.get("date_sent")
        sent_utc = unix_ms_utc(sent_raw)
        extra = {k: row[k] for k in ("subject", "service_center", "sub_id", "locked", "seen") if row.get(k) is not None}
        if table == "spam_sms":
            extra["filtered_as_spam"] = True  # kept by the phone's spam filter, out of the inbox view
        # `date` is when the telephony provider stored the row: on arrival for a received SMS, when it was
        # written or sent for the others; `date_sent` is the sender's time (the SMSC stamp) of a received one
        extra["time_is"] = "received" if direction == "incoming" else "stored"
        if sent_utc:
            extra["sent"] = {"raw": sent_raw, "utc": iso(sent_utc)}
        address = row["address"]
        date = row["date"]
        return build(
            Message,
            app="sms",
            thread=None if row.get("thread_id") is None else str(row["thread_id"]),
            direction=direction,
            counterpart=address,
            sender=address if direction == "incoming" else None,
            body=row["body"],
            time_utc=unix_ms_utc(date),
            time_raw=date,
            time_encoding="unix_ms",
            **({"sent_utc": sent_utc, "sent_raw": sent_raw, "sent_encoding": "unix_ms"} if sent_utc else {}),
            status=status,
            read=None if row.get("read") is None else bool(row["read"]),
            extra=extra,
            source_table=table,
            source_row=str(row["_id"]),
        )
