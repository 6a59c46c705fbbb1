"""WhatsApp for Android: msgstore.db (messages, media, locations, vCards, calls) and wa.db (contacts).

Schema generations are chosen by structure (docs/formats/whatsapp.md "Schema generations"):
- modern: `message` + `chat` + `jid` and satellite tables keyed by `message_row_id`;
- legacy: one wide `messages` table (+ `chat_list`);
- transitional databases hold both: modern rows are read first, then legacy rows whose key
  (chat, from_me, key_id) the modern table does not have — so nothing is read twice or lost;
- LID era: `jid_map` maps LID JIDs to phone-number JIDs.
Rows are read from the tables, not the app's views, so messages hidden by "clear chat" are reported.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Container, Iterator
from typing import Any

from parsers.base import ParseContext, Schema, SqliteParser, table_columns
from parsers.rows import unix_ms_utc
from parsers.sqlite_query import present, row_ids, satellite_joins, select_list, tables
from parsers.vcard import read_vcards
from parsers.whatsapp.codes import CALL_RESULTS, DELETED_TYPES, LOCATION_TYPES, is_group, jid_phone, type_name
from parsers.whatsapp.group_roles import group_roles
from triage.model.records import Base, Call, Contact, Location, Message, build, times
from triage.model.timeutil import decode, iso

APP = "whatsapp"
VCARD_TYPE = 4  # message_type / media_wa_type of a shared contact card
# `timestamp` is the message's own time, stamped when it was sent (the sender's side, as the server passed it
# on); `received_timestamp` is when this phone received (or, for its own, stored) it: kept as extra["received"]
TIME_IS = "sent"
PATHS = ("*/com.whatsapp/databases/msgstore.db", "*/com.whatsapp.w4b/databases/msgstore.db")
MODERN = {
    "message": {"_id", "chat_row_id", "from_me", "key_id", "timestamp"},
    "chat": {"_id", "jid_row_id"},
    "jid": {"_id", "raw_string"},
}
LEGACY = {"messages": {"_id", "key_remote_jid", "key_from_me", "key_id", "timestamp"}}

MESSAGE_COLUMNS = ["sender_jid_row_id", "status", "received_timestamp", "message_type", "text_data", "starred"]
SATELLITES: dict[str, tuple[str, list[str]]] = {
    "message_media": (
        "media_",
        [
            "file_path",
            "file_size",
            "mime_type",
            "media_name",
            "file_hash",
            "media_caption",
            "media_duration",
            "width",
            "height",
            "transferred",
        ],
    ),
    "message_location": (
        "loc_",
        [
            "latitude",
            "longitude",
            "place_name",
            "place_address",
            "url",
            "live_location_share_duration",
            "live_location_final_latitude",
            "live_location_final_longitude",
            "live_location_final_timestamp",
        ],
    ),
    "message_quoted": ("quoted_", ["key_id", "text_data", "from_me"]),
    "message_forwarded": ("fwd_", ["forward_score"]),
    "message_revoked": ("revoked_", ["revoked_key_id", "revoke_timestamp"]),
    "message_edit_info": ("edit_", ["edited_timestamp"]),
    "message_system": ("system_", ["action_type"]),
}
LEGACY_COLUMNS = [
    "status",
    "data",
    "media_wa_type",
    "media_mime_type",
    "media_size",
    "media_name",
    "media_caption",
    "media_hash",
    "media_duration",
    "latitude",
    "longitude",
    "remote_resource",
    "received_timestamp",
    "starred",
    "quoted_row_id",
    "forwarded",
    "edit_version",
]


class WhatsAppMsgstoreParser(SqliteParser):
    name = "whatsapp_android"
    description = "WhatsApp Android msgstore.db (legacy, transitional, modern and LID schemas)"
    app = "WhatsApp"
    platform = "Android"
    produces = (Message, Location, Call, Contact)
    order = 100
    fixtures = ("fixtures/whatsapp_android_old/transitional/msgstore.db",)  # both tables: read as modern, then legacy
    path_patterns = PATHS

    schemas = (
        Schema("modern (message table, 2021+)", MODERN, "fixtures/build_whatsapp_android.py"),
        Schema("legacy (messages table)", LEGACY, "fixtures/whatsapp_android_old/legacy/msgstore.db"),
    )

    def parse_db(self, db: sqlite3.Connection, ctx: ParseContext) -> Iterator[Base]:
        names = tables(db)
        # (chat, from_me, key_id) of each modern message, kept only where a transitional database also has the
        # legacy table to dedupe against: on a modern phone's 600,000 messages the set alone held ~100 MB
        seen: set[tuple[str, int, str]] | None = set() if "messages" in names else None
        if {"message", "chat", "jid"} <= names:
            yield from ModernMsgstore(db, ctx).read(seen)
        if "messages" in names:
            yield from LegacyMsgstore(db, ctx).read(seen)
        if "call_log" in names and "jid" in names:
            yield from ModernMsgstore(db, ctx).calls()
        if "message_vcard" in names and {"message", "chat", "jid"} <= names:
            yield from ModernMsgstore(db, ctx).vcards()
        yield from group_roles(db)  # the user's own role in each group (APP-01): parsers/whatsapp/group_roles.py


class ModernMsgstore:
    def __init__(self, db: sqlite3.Connection, ctx: ParseContext) -> None:
        self.db, self.ctx = db, ctx
        self.jids = self._jids()
        subject_column = "subject" if "subject" in table_columns(db, "chat") else "NULL"
        self.chats = {
            r["_id"]: (self.jids.get(r["jid_row_id"]), r["subject"])
            for r in db.execute(f"SELECT _id, jid_row_id, {subject_column} AS subject FROM chat")
        }

    def _jids(self) -> dict[int | None, str]:  # looked up with row ids that may be NULL: they find nothing
        jids = {r[0]: r[1] for r in self.db.execute("SELECT _id, raw_string FROM jid")}
        if "jid_map" in tables(self.db):  # LID era: show the phone-number JID where WhatsApp knows it
            for lid, phone in self.db.execute("SELECT lid_row_id, jid_row_id FROM jid_map"):
                if phone in jids and lid in jids:
                    jids[lid] = jids[phone]
        return jids

    def read(self, seen: set[tuple[str, int, str]] | None) -> Iterator[Base]:
        cols = present(self.db, "message", MESSAGE_COLUMNS)
        items, joins = satellite_joins(self.db, "m", SATELLITES)
        columns = select_list("m", ["_id", "chat_row_id", "from_me", "key_id", "timestamp"] + cols) + items
        sql = f"SELECT {', '.join(columns)} FROM message m {' '.join(joins)} WHERE m.key_id <> '-1' ORDER BY m._id"
        visible = visible_in_app(self.db, self.ctx, "message")
        cursor = self.db.execute(sql)
        # the row's names once per query: dict(sqlite3.Row) looks every column up by name, for each of a
        # phone's hundreds of thousands of rows
        names = [d[0] for d in cursor.description]
        media_names = tuple((name, name[len("media_") :]) for name in names if name.startswith("media_"))
        # the message_media columns are next to each other: most messages have no media row, all NULL there
        first = names.index(media_names[0][0]) if media_names else 0
        media_span = slice(first, first + len(media_names))
        if names[media_span] != [name for name, _ in media_names]:
            media_span = slice(0, 0)  # not side by side: every row's media columns are looked at
        chats, no_chat = self.chats, (None, None)
        for values in cursor:
            row = dict(zip(names, values, strict=True))
            media = media_names if values[media_span].count(None) < len(media_names) else ()
            chat_jid, subject = chats.get(row["chat_row_id"], no_chat)
            if seen is not None:
                seen.add((chat_jid or "", int(row["from_me"] or 0), row["key_id"]))
            if visible is not None and row["_id"] not in visible:
                row["hidden_by_app"] = True
            code = row.get("message_type")
            message = self._message(row, code, chat_jid, subject, media)
            yield message
            # _locations yields nothing (and says nothing) for a message without coordinates that is no
            # location message: most messages skip it
            if code in LOCATION_TYPES or (row.get("loc_latitude") is not None and row.get("loc_longitude") is not None):
                yield from _locations(row, code, message, "message_location", "loc_", self.ctx)

    def _message(
        self,
        row: dict,
        code: int | None,
        chat_jid: str | None,
        subject: str | None,
        media_names: tuple[tuple[str, str], ...],
    ) -> Message:
        from_me = bool(row["from_me"])
        sender = None if from_me else (self.jids.get(row.get("sender_jid_row_id")) if is_group(chat_jid) else chat_jid)
        extra = _extra(row, code, "modern", subject, media_names)
        status = row.get("status")
        raw_time = row["timestamp"]
        return build(
            Message,
            app=APP,
            thread=chat_jid,
            direction=_direction(from_me, code, status),
            counterpart=chat_jid,
            sender=sender,
            body=row.get("text_data") or row.get("media_media_caption"),
            time_utc=unix_ms_utc(raw_time),
            time_raw=raw_time,
            time_encoding="unix_ms",
            status=None if status is None else f"status {status}",
            deleted=code in DELETED_TYPES or row.get("revoked_revoked_key_id") is not None,
            extra=extra,
            source_table="message",
            source_row=str(row["_id"]),
        )

    def vcards(self) -> Iterator[Base]:
        """Contact cards shared in chats (`message_vcard`), one Contact per card, tied to its message."""
        if not {"_id", "message_row_id", "vcard"} <= table_columns(self.db, "message_vcard"):
            self.ctx.warn("message_vcard has an unknown layout; shared contact cards not read")
            return
        sql = (
            "SELECT v._id, v.message_row_id, v.vcard, m.chat_row_id, m.key_id FROM message_vcard v "
            "LEFT JOIN message m ON m._id = v.message_row_id ORDER BY v._id"
        )
        for row in self.db.execute(sql):
            chat_jid = self.chats.get(row["chat_row_id"], (None, None))[0]
            yield from vcard_contacts(
                row["vcard"],
                self.ctx,
                "message_vcard",
                row["_id"],
                {"shared_in_chat": chat_jid, "message_row_id": row["message_row_id"], "message_key_id": row["key_id"]},
            )

    def calls(self) -> Iterator[Base]:
        wanted = [
            "jid_row_id",
            "from_me",
            "call_id",
            "timestamp",
            "video_call",
            "duration",
            "call_result",
            "group_jid_row_id",
        ]
        cols = present(self.db, "call_log", wanted)
        for row in self.db.execute(f"SELECT _id, {', '.join(cols)} FROM call_log ORDER BY _id"):
            row = dict(row)
            result = row.get("call_result")
            unanswered: dict[int | None, str] = {2: "missed", 4: "rejected"}
            direction = "outgoing" if row.get("from_me") else unanswered.get(result, "incoming")
            yield build(
                Call,
                app=APP,
                direction=direction,
                counterpart=self.jids.get(row.get("jid_row_id")),
                **times("time", decode(row.get("timestamp"), "unix_ms")),
                duration_s=row.get("duration"),
                video=None if row.get("video_call") is None else bool(row["video_call"]),
                extra={
                    "call_result": result,
                    "call_result_name": CALL_RESULTS.get(result, f"code {result}"),
                    "group": self.jids.get(row.get("group_jid_row_id")),
                    "call_id": row.get("call_id"),
                },
                source_table="call_log",
                source_row=str(row["_id"]),
            )


class LegacyMsgstore:
    def __init__(self, db: sqlite3.Connection, ctx: ParseContext) -> None:
        self.db, self.ctx = db, ctx
        self.subjects = {}
        if "chat_list" in tables(db) and "subject" in table_columns(db, "chat_list"):
            self.subjects = dict(db.execute("SELECT key_remote_jid, subject FROM chat_list"))

    def read(self, seen: set[tuple[str, int, str]] | None) -> Iterator[Base]:
        cols = present(self.db, "messages", LEGACY_COLUMNS)
        visible = visible_in_app(self.db, self.ctx, "messages")
        sql = (
            f"SELECT {', '.join(['_id', 'key_remote_jid', 'key_from_me', 'key_id', 'timestamp'] + cols)} "
            "FROM messages WHERE key_remote_jid <> '-1' ORDER BY _id"
        )
        for row in self.db.execute(sql):
            row = dict(row)
            key = (row["key_remote_jid"], int(row["key_from_me"] or 0), row["key_id"])
            if seen is not None and key in seen:
                continue  # transitional database: already read from the modern table
            row["hidden_by_app"] = visible is not None and row["_id"] not in visible
            yield from self._records(row)

    def _records(self, row: dict) -> Iterator[Base]:
        chat_jid = row["key_remote_jid"]
        from_me = bool(row["key_from_me"])
        code = _int(row.get("media_wa_type"))
        # groups and status broadcasts name the author in remote_resource
        in_group = is_group(chat_jid) or chat_jid.endswith("@broadcast")
        sender = None if from_me else (row.get("remote_resource") if in_group else chat_jid)
        media = {
            k: row.get(f"media_{k}")
            for k in ("mime_type", "size", "name", "hash", "duration")
            if row.get(f"media_{k}") not in (None, "", 0)
        }
        extra = {
            "generation": "legacy",
            "message_type": code,
            "message_type_name": type_name(code),
            "key_id": row["key_id"],
            "group_subject": self.subjects.get(chat_jid) if is_group(chat_jid) else None,
            "starred": bool(row.get("starred")),
            "forwarded": bool(row.get("forwarded")),
            "quoted_row_id": row.get("quoted_row_id") or None,
            "media": media or None,
            "hidden_by_app": row.get("hidden_by_app"),
        }
        received = decode(row.get("received_timestamp"), "unix_ms")
        if received.utc:
            extra["received"] = {"raw": received.raw, "utc": iso(received.utc)}
        extra["time_is"] = TIME_IS
        # WCE heuristic for messages deleted for everyone in the legacy schema
        deleted = code in DELETED_TYPES or row.get("edit_version") == 7
        message = build(
            Message,
            app=APP,
            thread=chat_jid,
            direction=_direction(from_me, code, row.get("status")),
            counterpart=chat_jid,
            sender=sender,
            body=row.get("data") or row.get("media_caption"),
            **times("time", decode(row["timestamp"], "unix_ms")),
            status=_status(row.get("status")),
            deleted=deleted,
            extra={k: v for k, v in extra.items() if v is not None and v is not False},
            source_table="messages",
            source_row=str(row["_id"]),
        )
        yield message
        yield from _locations(row, code, message, "messages", "", self.ctx)
        if code == VCARD_TYPE and row.get("data"):
            yield from vcard_contacts(
                row["data"],
                self.ctx,
                "messages",
                row["_id"],
                {"shared_in_chat": chat_jid, "message_row_id": row["_id"], "message_key_id": row["key_id"]},
            )


def visible_in_app(db: sqlite3.Connection, ctx: ParseContext, table: str) -> Container[object] | None:
    """Row ids of `table` that the app itself still shows, through its own `available_message_view`.

    "Clear chat" leaves rows in the table and hides them with `deleted_chat_job`; reading the table
    reports them, and comparing with the app's view flags them, by the app's own definition. The view
    reads `message` in modern databases and `messages` in transitional ones: None when it is not over
    `table` (or absent, or unreadable — then with a warning).
    """
    row = db.execute("SELECT sql FROM sqlite_master WHERE type = 'view' AND name = 'available_message_view'").fetchone()
    if row is None or not re.search(rf"\bFROM\s+{table}\b", row[0] or "", re.IGNORECASE):
        return None
    try:
        return row_ids(db, "SELECT _id FROM available_message_view")  # sorted 64-bit ids: 8 bytes a message
    except sqlite3.Error as e:
        ctx.warn(
            f"available_message_view cannot be read ({e}); messages hidden by 'clear chat' are reported but not flagged"
        )
        return None


def vcard_contacts(text: Any, ctx: ParseContext, table: str, row_id: int, context: dict) -> Iterator[Contact]:
    cards, problem = read_vcards(str(text))
    if problem:
        ctx.warn(f"{table}._id={row_id}: {problem}")
    for card in cards:
        extra = {k: v for k, v in {**context, "organisation": card.organisation}.items() if v is not None}
        yield build(
            Contact,
            app="whatsapp vcard",
            name=card.name,
            phone_numbers=card.phone_numbers,
            emails=card.emails,
            extra=extra,
            source_table=table,
            source_row=str(row_id),
        )


def _direction(from_me: bool, code: int | None, status: Any) -> str:
    if code == 7 or status == 6:
        return "system"
    return "outgoing" if from_me else "incoming"


def _status(status: Any) -> str | None:
    return None if status is None else f"status {status}"


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _extra(
    row: dict, code: int | None, generation: str, subject: str | None, media_names: tuple[tuple[str, str], ...]
) -> dict:
    """A modern message's `extra`; `media_names`: the row's message_media columns, (name in the row, key)."""
    extra: dict[str, Any] = {
        "generation": generation,
        "message_type": code,
        "message_type_name": type_name(code),
        "key_id": row["key_id"],
    }
    if subject:
        extra["group_subject"] = subject
    if row.get("starred"):
        extra["starred"] = True
    if row.get("fwd_forward_score") is not None:
        extra["forwarded"] = True
        extra["forward_score"] = row["fwd_forward_score"]
    if row.get("quoted_key_id"):
        extra["quoted"] = {
            "key_id": row["quoted_key_id"],
            "text": row.get("quoted_text_data"),
            "from_me": bool(row.get("quoted_from_me")),
        }
    if row.get("revoked_revoked_key_id") is not None:
        extra["revoked"] = True
    if row.get("edit_edited_timestamp"):
        edited = decode(row["edit_edited_timestamp"], "unix_ms")
        extra["edited"] = {"raw": edited.raw, "utc": iso(edited.utc)}
    if row.get("hidden_by_app"):
        extra["hidden_by_app"] = True  # still in the database, no longer shown (cleared chat)
    if row.get("system_action_type") is not None:
        extra["system_action_type"] = row["system_action_type"]  # labels disagree between sources: raw only
    media = {key: v for name, key in media_names if (v := row[name]) not in (None, "")}
    if media:
        extra["media"] = media
    received = row.get("received_timestamp")
    received_utc = unix_ms_utc(received)
    if received_utc:
        extra["received"] = {"raw": received, "utc": iso(received_utc)}
    extra["time_is"] = TIME_IS
    return extra


def _locations(
    row: dict, code: int | None, message: Message, table: str, prefix: str, ctx: ParseContext
) -> Iterator[Location]:
    """Shared and live locations as Location records linked to their message (0/0 is 'no position')."""
    lat, lon = row.get(f"{prefix}latitude"), row.get(f"{prefix}longitude")
    if lat is None or lon is None or (lat == 0 and lon == 0):
        if code in LOCATION_TYPES:
            ctx.warn(f"{table} row {message.source_row}: location message without coordinates")
        return
    live = code == 16 or bool(row.get(f"{prefix}live_location_share_duration"))
    origin = "whatsapp live location (start)" if live else "whatsapp shared location"
    label = row.get(f"{prefix}place_name") or row.get(f"{prefix}place_address")
    yield build(
        Location,
        origin=origin,
        latitude=float(lat),
        longitude=float(lon),
        **times("time", decode(message.time_raw, "unix_ms")),
        label=label,
        message=message,
        extra={
            k: row[f"{prefix}{k}"]
            for k in ("place_address", "url", "live_location_share_duration")
            if row.get(f"{prefix}{k}")
        },
        source_table=message.source_table,
        source_row=message.source_row,
    )
    final_lat = row.get(f"{prefix}live_location_final_latitude")
    final_lon = row.get(f"{prefix}live_location_final_longitude")
    if live and final_lat and final_lon:
        yield build(
            Location,
            origin="whatsapp live location (last position)",
            latitude=float(final_lat),
            longitude=float(final_lon),
            **times("time", decode(row.get(f"{prefix}live_location_final_timestamp"), "unix_ms")),
            label=label,
            message=message,
            source_table=message.source_table,
            source_row=message.source_row,
        )


class WhatsAppContactsParser(SqliteParser):
    name = "whatsapp_android_contacts"
    description = "WhatsApp Android wa.db contacts"
    app = "WhatsApp"
    platform = "Android"
    produces = (Contact,)
    order = 110
    path_patterns = ("*/com.whatsapp/databases/wa.db", "*/com.whatsapp.w4b/databases/wa.db")
    schemas = (
        Schema("wa.db (wa_contacts)", {"wa_contacts": {"_id", "jid"}}, "fixtures/whatsapp_android_old/legacy/wa.db"),
    )

    def parse_db(self, db: sqlite3.Connection, ctx: ParseContext) -> Iterator[Base]:
        wanted = [
            "is_whatsapp_user",
            "status",
            "number",
            "display_name",
            "given_name",
            "family_name",
            "wa_name",
            "nickname",
            "company",
            "raw_contact_id",
        ]
        cols = present(db, "wa_contacts", wanted)
        for row in db.execute(f"SELECT _id, jid, {', '.join(cols)} FROM wa_contacts ORDER BY _id"):
            row = dict(row)
            names = [
                row.get("display_name"),
                row.get("wa_name"),
                " ".join(x for x in (row.get("given_name"), row.get("family_name")) if x) or None,
            ]
            phone = jid_phone(row["jid"])
            numbers = [n for n in dict.fromkeys([phone, row.get("number")]) if n]
            yield build(
                Contact,
                app=APP,
                name=next((n for n in names if n), None),
                phone_numbers=numbers,
                handles=[row["jid"]],
                extra={
                    k: row[k]
                    for k in ("wa_name", "status", "is_whatsapp_user", "nickname", "company", "raw_contact_id")
                    if row.get(k) not in (None, "")
                },
                source_table="wa_contacts",
                source_row=str(row["_id"]),
            )
