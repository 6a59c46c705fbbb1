"""Google Messages `bugle_db` (com.google.android.apps.messaging; also AOSP/LineageOS Messaging, which
share the database): SMS, MMS and RCS conversations as the messaging app itself stores them.

Layout facts (AOSP Messaging DatabaseHelper/MessageData/ParticipantData; see fixtures/build_bugle_db.py):
- `messages` (one row per message; `received_timestamp`/`sent_timestamp` in Unix ms; `message_status` is the
  app's own status: 1..9 outgoing, 3 draft, 100..107 incoming, 0 unknown; `message_protocol` 0 SMS, 1 MMS,
  2 MMS notification, -1 unknown);
- `parts` (text or one attachment each, in `_id` order; newer Google builds add `file_size_bytes` and
  `local_cache_path`, LineageOS adds RCS columns on `messages`: `transport_type` 1 = RCS);
- `participants` (`sub_id` -2 marks someone other than the phone's own SIM participant);
- `conversations` and `conversation_participants` (members other than the phone's own participant).
Columns are chosen by what the database has, so older and newer generations read the same way. Google's own
codes for RCS are not published: a protocol code outside the AOSP list is kept raw and reported.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from parsers.base import ParseContext, Schema, SqliteParser
from parsers.sqlite_query import present, tables
from triage.model.records import Base, Contact, Message, build, times
from triage.model.timeutil import decode, iso

APP = "google messages"
OTHER_THAN_SELF_SUB_ID = -2  # ParticipantData: any other sub_id is the phone's own (SIM) participant

STATUS_NAMES = {
    0: "UNKNOWN",
    1: "OUTGOING_COMPLETE",
    2: "OUTGOING_DELIVERED",
    3: "OUTGOING_DRAFT",
    4: "OUTGOING_YET_TO_SEND",
    5: "OUTGOING_SENDING",
    6: "OUTGOING_RESENDING",
    7: "OUTGOING_AWAITING_RETRY",
    8: "OUTGOING_FAILED",
    9: "OUTGOING_FAILED_EMERGENCY_NUMBER",
    100: "INCOMING_COMPLETE",
    101: "INCOMING_YET_TO_MANUAL_DOWNLOAD",
    102: "INCOMING_RETRYING_MANUAL_DOWNLOAD",
    103: "INCOMING_MANUAL_DOWNLOADING",
    104: "INCOMING_RETRYING_AUTO_DOWNLOAD",
    105: "INCOMING_AUTO_DOWNLOADING",
    106: "INCOMING_DOWNLOAD_FAILED",
    107: "INCOMING_EXPIRED_OR_NOT_AVAILABLE",
}
DRAFT_STATUS = 3
FIRST_INCOMING_STATUS = 100
PROTOCOLS = {-1: "unknown", 0: "SMS", 1: "MMS", 2: "MMS notification"}
TRANSPORTS = {1: "RCS", 2: "RCS group event"}  # LineageOS transport_type; 0 = SMS/MMS by protocol

MESSAGE_OPTIONAL = [
    "sent_timestamp",
    "message_protocol",
    "seen",
    "read",
    "self_id",
    "sms_message_uri",
    "sms_message_size",
    "mms_subject",
    "raw_status",
    "transport_type",
    "rcs_message_id",
    "rcs_status",
]
PART_OPTIONAL = ["text", "uri", "content_type", "width", "height", "file_size_bytes", "local_cache_path"]
PARTICIPANT_OPTIONAL = [
    "send_destination",
    "display_destination",
    "full_name",
    "first_name",
    "contact_id",
    "lookup_key",
    "blocked",
    "subscription_name",
    "sim_slot_id",
]
CONVERSATION_OPTIONAL = [
    "name",
    "participant_normalized_destination",
    "participant_count",
    "archive_status",
    "sms_thread_id",
    "rcs_group_id",
]
ATTACHMENT_FIELDS = ("content_type", "uri", "width", "height", "file_size_bytes", "local_cache_path")
UNSET = (None, "", -1)  # the app's "no value" defaults (UNSPECIFIED_SIZE, file_size_bytes) are left out


@dataclass
class Conversation:
    name: str | None = None
    members: list[int] = field(default_factory=list)  # participant ids other than the phone's own
    row: dict[str, Any] = field(default_factory=dict)


class GoogleMessagesParser(SqliteParser):
    name = "google_messages"
    description = "Google Messages bugle_db (SMS, MMS and RCS conversations, participants)"
    app = "Google Messages"
    platform = "Android"
    produces = (Message, Contact)
    order = 30
    path_patterns = (
        "*/com.google.android.apps.messaging/databases/bugle_db",
        "*/com.android.messaging/databases/bugle_db",
        "*/bugle_db",
    )
    schemas = (
        Schema(
            "bugle_db (messages, parts, participants)",
            {
                "messages": {"_id", "conversation_id", "sender_id", "received_timestamp", "message_status"},
                "parts": {"_id", "message_id"},
                "participants": {"_id", "sub_id", "normalized_destination"},
            },
            "fixtures/build_bugle_db.py",
        ),
    )

    def parse_db(self, db: sqlite3.Connection, ctx: ParseContext) -> Iterator[Base]:
        reader = BugleReader(db, ctx)
        yield from reader.messages()
        yield from reader.contacts()


class BugleReader:
    def __init__(self, db: sqlite3.Connection, ctx: ParseContext) -> None:
        self.db, self.ctx = db, ctx
        self.participants = self._participants()
        self.conversations = self._conversations()
        self.parts = self._parts()
        self.unknown_protocols: set[int] = set()

    def _participants(self) -> dict[int, dict[str, Any]]:
        cols = present(self.db, "participants", PARTICIPANT_OPTIONAL)
        sql = f"SELECT _id, sub_id, normalized_destination{''.join(', ' + c for c in cols)} FROM participants"
        return {r["_id"]: dict(r) for r in self.db.execute(sql + " ORDER BY _id")}

    def _conversations(self) -> dict[int, Conversation]:
        found: dict[int, Conversation] = defaultdict(Conversation)
        existing = tables(self.db)
        if "conversations" in existing:
            cols = present(self.db, "conversations", CONVERSATION_OPTIONAL)
            for r in self.db.execute(f"SELECT _id{''.join(', ' + c for c in cols)} FROM conversations ORDER BY _id"):
                found[r["_id"]] = Conversation(name=r["name"] if "name" in cols else None, row=dict(r))
        else:
            self.ctx.warn("table conversations missing: conversation names and 1:1 partners not read")
        if "conversation_participants" in existing and {"conversation_id", "participant_id"} <= set(
            present(self.db, "conversation_participants", ["conversation_id", "participant_id"])
        ):
            for r in self.db.execute(
                "SELECT conversation_id, participant_id FROM conversation_participants ORDER BY conversation_id, _id"
            ):
                found[r["conversation_id"]].members.append(r["participant_id"])
        else:
            self.ctx.warn("table conversation_participants missing or changed: group members not read")
        return found

    def _parts(self) -> dict[int, list[dict[str, Any]]]:
        cols = present(self.db, "parts", PART_OPTIONAL)
        found: dict[int, list[dict[str, Any]]] = defaultdict(list)
        sql = f"SELECT _id, message_id{''.join(', ' + c for c in cols)} FROM parts ORDER BY message_id, _id"
        for r in self.db.execute(sql):
            found[r["message_id"]].append(dict(r))
        return found

    def messages(self) -> Iterator[Message]:
        cols = present(self.db, "messages", MESSAGE_OPTIONAL)
        sql = (
            f"SELECT _id, conversation_id, sender_id, received_timestamp, message_status"
            f"{''.join(', ' + c for c in cols)} FROM messages ORDER BY _id"
        )
        for r in self.db.execute(sql):
            yield self._message(dict(r))

    def _message(self, row: dict[str, Any]) -> Message:
        conv = self.conversations.get(row["conversation_id"], Conversation())
        sender = self.participants.get(row["sender_id"]) if row["sender_id"] is not None else None
        direction = self._direction(row, sender)
        group = len(conv.members) > 1
        members = [self._destination(p) for p in conv.members]
        incoming = direction == "incoming"
        sender_address = sender["normalized_destination"] if sender and incoming else None
        counterpart = sender_address if incoming else (members[0] if len(members) == 1 else None)
        if counterpart is None and not group:
            counterpart = conv.row.get("participant_normalized_destination")
        parts = self.parts.get(row["_id"], [])
        sent = decode(row.get("sent_timestamp") or None, "unix_ms")
        extra = self._extra(row, conv, sender, members, parts, group)
        # Bugle's `received_timestamp` (the message's time, its order in the app) is when this phone received or
        # stored it; `sent_timestamp` is the sender's time (for a received message, as the network gave it)
        extra["time_is"] = "received" if incoming else "stored"
        if sent.utc:
            extra["sent"] = {"raw": sent.raw, "utc": iso(sent.utc)}
        return build(
            Message,
            app=APP,
            thread=str(row["conversation_id"]),
            direction=direction,
            counterpart=counterpart,
            sender=sender_address,
            body=_body(parts),
            **times("time", decode(row["received_timestamp"], "unix_ms")),
            **(times("sent", sent) if sent.utc else {}),
            status=_status_text(row["message_status"]),
            read=None if row.get("read") is None else bool(row["read"]),
            extra=extra,
            source_table="messages",
            source_row=str(row["_id"]),
        )

    def _direction(self, row: dict[str, Any], sender: dict[str, Any] | None) -> str:
        status = row["message_status"]
        if status == DRAFT_STATUS:
            return "draft"
        if status in STATUS_NAMES and status != 0:
            return "incoming" if status >= FIRST_INCOMING_STATUS else "outgoing"
        # status 0 (UNKNOWN) or a code MessageData does not define: the sender participant decides
        by_sender = (
            "unknown"
            if sender is None or sender["sub_id"] is None
            else ("incoming" if sender["sub_id"] == OTHER_THAN_SELF_SUB_ID else "outgoing")
        )
        if status not in STATUS_NAMES:
            self.ctx.warn(
                f"messages._id={row['_id']}: unknown message_status {status!r} (not in AOSP MessageData); "
                f"direction {by_sender!r} taken from the sender participant's sub_id"
            )
        return by_sender

    def _extra(
        self,
        row: dict[str, Any],
        conv: Conversation,
        sender: dict[str, Any] | None,
        members: list[str],
        parts: list[dict[str, Any]],
        group: bool,
    ) -> dict[str, Any]:
        extra: dict[str, Any] = {"message_status": row["message_status"], "protocol": self._protocol(row)}
        for key in (
            "message_protocol",
            "transport_type",
            "rcs_message_id",
            "rcs_status",
            "sms_message_uri",
            "mms_subject",
            "raw_status",
            "sms_message_size",
            "seen",
        ):
            if row.get(key) not in (None, "") and not (key in ("raw_status", "sms_message_size") and row[key] == 0):
                extra[key] = row[key]
        if conv.name:
            extra["conversation_name"] = conv.name
        if group:
            extra["group_members"] = members
        if sender is not None and sender["sub_id"] == OTHER_THAN_SELF_SUB_ID and _is_name(sender):
            extra["sender_name"] = sender["full_name"]
        if sender is not None and sender.get("blocked"):
            extra["sender_blocked"] = True
        self_id = row.get("self_id")
        own = self.participants.get(self_id) if self_id is not None else None
        if own is not None:
            extra["self"] = {
                k: own.get(k)
                for k in ("normalized_destination", "sub_id", "subscription_name")
                if own.get(k) is not None
            }
        attachments = [{k: p[k] for k in ATTACHMENT_FIELDS if p.get(k) not in UNSET} for p in parts if p.get("uri")]
        if attachments:
            extra["attachments"] = attachments
        return extra

    def _protocol(self, row: dict[str, Any]) -> str:
        transport = row.get("transport_type")
        if transport in TRANSPORTS:
            return TRANSPORTS[transport]
        code = row.get("message_protocol")
        if code is None:
            return "unknown"
        if code not in PROTOCOLS:
            if code not in self.unknown_protocols:  # once per code and file: the raw value is on every message
                self.unknown_protocols.add(code)
                self.ctx.warn(
                    f"messages.message_protocol {code!r} is not an AOSP protocol code (first at "
                    f"messages._id={row['_id']}); kept raw as 'protocol {code}'"
                )
            return f"protocol {code}"
        return PROTOCOLS[code]

    def _destination(self, participant_id: int) -> str:
        p = self.participants.get(participant_id)
        if p is None:
            self.ctx.warn(f"conversation_participants names participant {participant_id}, not in participants")
            return f"participant {participant_id}"
        return p["normalized_destination"] or p.get("send_destination") or f"participant {participant_id}"

    def contacts(self) -> Iterator[Contact]:
        """The people the app knows by name (full_name that is not just the formatted number)."""
        for pid, p in self.participants.items():
            if p["sub_id"] != OTHER_THAN_SELF_SUB_ID or not _is_name(p):
                continue
            address = p["normalized_destination"] or p.get("send_destination")
            is_email = bool(address and "@" in address)
            extra = {
                k: p[k]
                for k in ("first_name", "display_destination", "send_destination", "contact_id", "lookup_key")
                if p.get(k) not in (None, "")
            }
            if p.get("blocked"):
                extra["blocked"] = True
            yield build(
                Contact,
                app=APP,
                name=p["full_name"],
                phone_numbers=[address] if address and not is_email else [],
                emails=[address] if is_email else [],
                extra=extra,
                source_table="participants",
                source_row=str(pid),
            )


def _body(parts: list[dict[str, Any]]) -> str | None:
    """Text parts in stored order (a part holds text or one attachment, never both)."""
    texts = [p["text"] for p in parts if p.get("text") and not p.get("uri")]
    return "\n".join(texts) or None


def _status_text(status: Any) -> str:
    return f"{STATUS_NAMES[status]} ({status})" if status in STATUS_NAMES else f"unknown ({status})"


def _is_name(p: dict[str, Any]) -> bool:
    """full_name holds a contact name or, failing that, the pretty-printed number: only the first is a name."""
    name = p.get("full_name")
    if not name or name in (p.get("normalized_destination"), p.get("display_destination"), p.get("send_destination")):
        return False
    return any(ch.isalpha() for ch in name)
