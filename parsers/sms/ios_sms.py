"""iOS Messages: sms.db (SMS, iMessage, RCS) and the macOS chat.db of the same family
(docs/formats/sms_mms.md "iOS sms.db").

Dates are Cocoa time in nanoseconds since iOS 11 and in seconds before; databases upgraded across that
change hold both, so the unit is decided per value. When `text` is NULL the text is decoded from
`attributedBody`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

from parsers.base import ParseContext, Schema, SqliteParser
from parsers.sms.attributed_body import attributed_text
from parsers.sqlite_query import present, tables
from triage.model.records import Base, Message, build, times
from triage.model.timeutil import Timestamp, decode, iso

NANOSECOND_THRESHOLD = 1_000_000_000_000  # Cocoa seconds stay below 1e12 until the year 33,700
MESSAGE_COLUMNS = [
    "guid",
    "text",
    "attributedBody",
    "handle_id",
    "service",
    "date",
    "date_read",
    "date_delivered",
    "is_from_me",
    "is_read",
    "is_sent",
    "cache_has_attachments",
    "associated_message_type",
    "date_edited",
    "date_retracted",
    "account",
]


def cocoa(value: Any) -> Timestamp:
    if isinstance(value, (int, float)) and abs(value) > NANOSECOND_THRESHOLD:
        return decode(int(value), "cocoa_ns")
    return decode(value, "cocoa_s")


class IosSmsParser(SqliteParser):
    name = "ios_sms"
    description = "iOS Messages sms.db (SMS/iMessage/RCS)"
    app = "Messages (SMS/iMessage)"
    platform = "iOS"
    produces = (Message,)
    order = 60
    path_patterns = ("*/Library/SMS/sms.db", "*/Library/Messages/chat.db", "*/3d0d7e5fb2ce288813306e4d4636395e047a3d28")
    schemas = (
        Schema(
            "iOS 6+ (message + handle tables)",
            {"message": {"ROWID", "handle_id", "date", "is_from_me"}, "handle": {"ROWID", "id"}},
            "fixtures/third_party/plaso/test_data/sqlite/imessage_chat.db",
        ),
    )

    def parse_db(self, db: sqlite3.Connection, ctx: ParseContext) -> Iterator[Base]:
        handles = dict(db.execute("SELECT ROWID, id FROM handle"))
        chats = self._chats(db)
        cols = present(db, "message", MESSAGE_COLUMNS)
        for row in db.execute(f"SELECT ROWID, {', '.join(cols)} FROM message ORDER BY ROWID"):
            yield self._message(dict(row), handles, chats, ctx)

    def _chats(self, db: sqlite3.Connection) -> dict[int, str]:
        if not {"chat", "chat_message_join"} <= tables(db):
            return {}
        sql = "SELECT j.message_id, c.chat_identifier FROM chat_message_join j JOIN chat c ON c.ROWID = j.chat_id"
        return dict(db.execute(sql))

    def _message(self, row: dict, handles: dict, chats: dict, ctx: ParseContext) -> Message:
        body, body_source = row.get("text"), "text"
        if body is None and row.get("attributedBody"):
            body, body_source = attributed_text(row["attributedBody"]), "attributedBody"
            if body is None:
                ctx.warn(f"message ROWID={row['ROWID']}: attributedBody could not be decoded; text left empty")
        from_me = bool(row.get("is_from_me"))
        party = handles.get(row.get("handle_id"))
        extra = {k: row[k] for k in ("guid", "service", "account", "associated_message_type") if row.get(k)}
        extra["body_source"] = body_source
        # chat.db's `date` is when this phone recorded the message: when it sent it, or when it received it
        # (date_delivered / date_read are kept as they are); no sender-side time is stored for a received one
        extra["time_is"] = "stored"
        for name in ("date_read", "date_delivered", "date_edited", "date_retracted"):
            ts = cocoa(row.get(name))
            if ts.utc:
                extra[name] = {"raw": ts.raw, "encoding": ts.encoding, "utc": iso(ts.utc)}
        return build(
            Message,
            app=(row.get("service") or "sms").lower(),
            thread=chats.get(row["ROWID"]) or party,
            direction="outgoing" if from_me else "incoming",
            counterpart=party,
            sender=None if from_me else party,
            body=body,
            **times("time", cocoa(row.get("date"))),
            status=None,
            read=None if row.get("is_read") is None else bool(row["is_read"]),
            deleted=bool(row.get("date_retracted")),
            extra=extra,
            source_table="message",
            source_row=str(row["ROWID"]),
        )
