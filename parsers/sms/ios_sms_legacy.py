"""iOS Messages before iOS 6: sms.db with one wide `message` table (no `handle`, no `chat`).

`address` holds the other party; `flags` bit 0 says the device sent the message (2 received, 3 sent),
bit 5 marks a failed send (33, 35). `date` is Unix seconds for SMS; iOS 5 added iMessage rows
(`is_madrid` = 1) whose `date` is Cocoa seconds (since 2001) and whose party is `madrid_handle`.
The newer layout is parsers/sms/ios_sms.py.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

from parsers.base import ParseContext, Schema, SqliteParser
from parsers.sqlite_query import present, tables
from triage.model.records import Base, Message, build, times
from triage.model.timeutil import decode

SENT_BIT, FAILED_BIT = 0x01, 0x20
OPTIONAL = [
    "group_id",
    "subject",
    "read",
    "svc_center",
    "country",
    "is_madrid",
    "madrid_handle",
    "madrid_flags",
    "madrid_service",
    "madrid_date_read",
    "madrid_date_delivered",
]


class IosLegacySmsParser(SqliteParser):
    name = "ios_sms_legacy"
    description = "iOS Messages sms.db before iOS 6 (message table with address/flags)"
    app = "Messages (SMS/iMessage)"
    platform = "iOS"
    produces = (Message,)
    order = 70
    path_patterns = ("*/Library/SMS/sms.db", "*/3d0d7e5fb2ce288813306e4d4636395e047a3d28")
    # no committed file: the test builds an iOS 5 sms.db (and an iOS 6+ one it must leave alone)
    schemas = (
        Schema(
            "before iOS 6 (message table with address/flags, no handle table)",
            {"message": {"ROWID", "address", "date", "text", "flags"}},
            "tests/parsers/test_ios_sms_legacy.py",
        ),
    )

    def recognise(self, db: sqlite3.Connection) -> tuple[Schema | None, list[str]]:
        schema, missing = super().recognise(db)
        if schema is not None and "handle" in tables(db):
            return None, ["(iOS 6+ layout: read by ios_sms)"]  # the modern message table also has date/text columns
        return schema, missing

    def parse_db(self, db: sqlite3.Connection, ctx: ParseContext) -> Iterator[Base]:
        cols = present(db, "message", OPTIONAL)
        for row in db.execute(
            f"SELECT ROWID, address, date, text, flags{''.join(', ' + c for c in cols)} FROM message ORDER BY ROWID"
        ):
            yield self._message(dict(row), ctx)

    def _message(self, row: dict[str, Any], ctx: ParseContext) -> Message:
        flags = row["flags"] or 0
        imessage = bool(row.get("is_madrid"))
        sent = bool(flags & SENT_BIT)
        party = (row.get("madrid_handle") if imessage else None) or row["address"]
        stamp = decode(row["date"], "cocoa_s" if imessage else "unix_s")
        status = f"flags {flags}" + (" (send failed)" if sent and flags & FAILED_BIT else "")
        extra = {
            k: row[k]
            for k in ("group_id", "subject", "svc_center", "country", "madrid_flags", "madrid_service")
            if row.get(k) not in (None, "")
        }
        extra["service"] = "iMessage" if imessage else "SMS"
        extra["time_is"] = "stored"  # sms.db's `date`: when this phone sent or received the message; no other time
        return build(
            Message,
            app="imessage" if imessage else "sms",
            thread=None if row.get("group_id") is None else str(row["group_id"]),
            direction="outgoing" if sent else "incoming",
            counterpart=party,
            sender=None if sent else party,
            body=row["text"],
            **times("time", stamp),
            status=status,
            read=None if row.get("read") is None else bool(row["read"]),
            extra=extra,
            source_table="message",
            source_row=str(row["ROWID"]),
        )
