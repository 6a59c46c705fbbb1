"""Telegram for Android: cache4.db (every account slot) and the owner account in userconfing.xml.

cache4.db keeps each message, user and chat as a TL-serialised blob (docs/formats/telegram.md). Messages come
from `messages_v2` (older databases: `messages`) and `scheduled_messages_v2`; users, chats and
channels, secret chats and the phone contacts the app imported are read too. Every message says how
its blob was decoded (`extra["decoded"]`: full / partial with `undecoded_fields` / none with
`constructor`); shared locations, venues and live locations become Location records linked to their
message, shared contacts become Contacts and call service messages become Calls.
"""

from __future__ import annotations

import base64
import binascii
import sqlite3
import struct
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from typing import Any

from parsers.base import ParseContext, Parser, Schema, SqliteParser, table_columns
from parsers.sqlite_query import tables
from parsers.telegram.android_tail import read_tail, tail_ok
from parsers.telegram.peers import dialog_key, peer_key
from parsers.telegram.summary import (
    CONTACT_MEDIA,
    DISCARD_REASONS,
    GEO_MEDIA,
    action_summary,
    base_name,
    forward_summary,
    jsonable,
    media_summary,
    reply_summary,
)
from parsers.telegram.tl import Decoded, Reader, TLError, decode
from triage.model.records import Account, Base, Call, Contact, Location, Message, build, times
from triage.model.timeutil import decode as decode_time
from triage.model.timeutil import iso

APP = "telegram"
MESSAGE_TABLES = ("messages_v2", "messages", "scheduled_messages_v2")
MESSAGE_COLUMNS = {"mid", "uid", "date", "data"}
PEER_TABLES = {"users": {"uid", "data"}, "dialogs": {"did"}}
OPTIONAL_COLUMNS = ("read_state", "send_state", "out", "ttl", "media", "group_id", "reply_to_message_id")
KEPT_FLAGS = (
    "pinned",
    "silent",
    "post",
    "noforwards",
    "mentioned",
    "media_unread",
    "from_scheduled",
    "edit_hide",
    "legacy",
    "offline",
    "invert_media",
)


class TelegramAndroidParser(SqliteParser):
    name = "telegram_android"
    description = "Telegram for Android cache4.db (messages_v2/messages, users, chats, secret chats)"
    app = "Telegram"
    platform = "Android"
    produces = (Message, Contact, Call, Location)
    order = 140
    path_patterns = (
        "*/org.telegram.messenger*/files/cache4.db",
        "*/org.telegram.messenger*/files/account*/cache4.db",
        "*/cache4.db",
    )

    schemas = (
        Schema("messages_v2 (current)", {"messages_v2": MESSAGE_COLUMNS, **PEER_TABLES}, "fixtures/telegram/cache4.db"),
        Schema(
            "messages (older versions)",
            {"messages": MESSAGE_COLUMNS, **PEER_TABLES},
            "fixtures/telegram/cache4_legacy.db",
        ),
    )

    def parse_db(self, db: sqlite3.Connection, ctx: ParseContext) -> Iterator[Base]:
        store = Cache4(db, ctx)
        yield from store.users()
        yield from store.chats()
        yield from store.secret_chats()
        yield from store.phone_contacts()
        for table in MESSAGE_TABLES:
            if MESSAGE_COLUMNS <= table_columns(db, table):
                yield from store.messages(table)
        store.report_counts()


class Cache4:
    """One opened cache4.db: the peer caches first (names for threads and senders), then messages."""

    def __init__(self, db: sqlite3.Connection, ctx: ParseContext) -> None:
        self.db, self.ctx = db, ctx
        self.names = tables(db)
        self.version = db.execute("PRAGMA user_version").fetchone()[0]
        self.people: dict[int, dict[str, Any]] = {}  # user id → names, username, phone
        self.groups: dict[int, dict[str, Any]] = {}  # chat/channel id → title, kind
        self.secret: dict[int, dict[str, Any]] = {}  # enc chat id → user id, name
        self.dialogs = self._dialogs()
        self.counts: Counter[tuple[str, str]] = Counter()
        self.unknown: Counter[tuple[str, str]] = Counter()

    # -- peers -------------------------------------------------------------------------------------

    def _dialogs(self) -> dict[int, dict[str, Any]]:
        cols = [
            c
            for c in ("date", "unread_count", "last_mid", "pinned", "folder_id")
            if c in table_columns(self.db, "dialogs")
        ]
        out: dict[int, dict[str, Any]] = {}
        for row in self.db.execute(f"SELECT did, {', '.join(cols) or 'NULL'} FROM dialogs ORDER BY did"):
            info: dict[str, Any] = {c: row[c] for c in cols if row[c] is not None}
            if "date" in info:
                info["date"] = _time_json(info["date"])
            out[row["did"]] = info
        return out

    def users(self) -> Iterator[Base]:
        status = "status" in table_columns(self.db, "users")
        name_column = "name" if "name" in table_columns(self.db, "users") else "NULL"
        sql = (
            f"SELECT rowid AS row_id, uid, {name_column} AS name, "
            f"{'status' if status else 'NULL'} AS status, data FROM users ORDER BY rowid"
        )
        for row in self.db.execute(sql):
            decoded = _decode_blob(row["data"], "User")
            user = decoded.value or {}
            uid = row["uid"]
            first, last = user.get("first_name"), user.get("last_name")
            name = " ".join(x for x in (first, last) if x) or None
            phone = user.get("phone")
            self.people[uid] = {"name": name, "username": user.get("username"), "phone": phone}
            self._count("users", decoded)
            extra: dict[str, Any] = {"user_id": uid, **_decode_state(decoded)}
            extra.update(
                {k: True for k in ("self", "contact", "mutual_contact", "deleted", "bot", "verified") if user.get(k)}
            )
            if row["name"]:
                extra["search_name"] = row["name"]  # the app's lower-cased search key, not the real name
            if row["status"]:
                extra["status"] = _status(row["status"])
            if phone:
                extra["phone_raw"] = phone
            if uid in self.dialogs:
                extra["dialog"] = self.dialogs[uid]
            yield build(
                Contact,
                app=APP,
                name=name,
                phone_numbers=[_phone(phone)] if phone else [],
                handles=_handles(f"user:{uid}", user.get("username")),
                extra=jsonable(extra),
                source_table="users",
                source_row=str(row["row_id"]),
            )

    def chats(self) -> Iterator[Base]:
        if "chats" not in self.names or not {"uid", "data"} <= table_columns(self.db, "chats"):
            return
        has_name = "name" in table_columns(self.db, "chats")
        for row in self.db.execute(
            f"SELECT rowid AS row_id, uid, {'name' if has_name else 'NULL'} AS name, data FROM chats ORDER BY rowid"
        ):
            decoded = _decode_blob(row["data"], "Chat")
            chat = decoded.value or {}
            self._count("chats", decoded)
            kind = _chat_kind(chat)
            title = chat.get("title")
            cid = row["uid"]
            self.groups[cid] = {"title": title or row["name"], "kind": kind, "username": chat.get("username")}
            extra: dict[str, Any] = {"peer_type": kind, "chat_id": cid, **_decode_state(decoded)}
            extra.update(
                {
                    k: chat[k]
                    for k in (
                        "participants_count",
                        "date",
                        "creator",
                        "left",
                        "broadcast",
                        "megagroup",
                        "verified",
                        "scam",
                        "fake",
                    )
                    if k in chat
                }
            )
            if "date" in extra:
                extra["date"] = _time_json(extra["date"])
            if decoded.value:  # the user's own role (APP-01): docs/formats/telegram.md "Group and channel roles"
                extra["own_role"] = own_role(chat)
            if not title and row["name"]:
                extra["title_from_search_key"] = True  # lower-cased by the app: the blob was not read
            dialog = self.dialogs.get(-cid)
            if dialog:
                extra["dialog"] = dialog
            prefix = "channel" if kind in ("channel", "megagroup") else "chat"
            yield build(
                Contact,
                app=APP,
                name=title or row["name"],
                handles=_handles(f"{prefix}:{cid}", chat.get("username")),
                extra=jsonable(extra),
                source_table="chats",
                source_row=str(row["row_id"]),
            )

    def secret_chats(self) -> Iterator[Base]:
        if "enc_chats" not in self.names:
            return
        have = table_columns(self.db, "enc_chats")
        cols = [c for c in ("user", "name", "ttl", "layer", "admin_id", "data") if c in have]
        for row in self.db.execute(f"SELECT rowid AS row_id, uid, {', '.join(cols)} FROM enc_chats ORDER BY rowid"):
            row = dict(row)
            decoded = _decode_blob(row.get("data"), "EncryptedChat")
            if row.get("data"):  # older databases keep the chat in columns only: nothing to decode
                self._count("enc_chats", decoded)
            chat = decoded.value or {}
            user = row.get("user") or chat.get("participant_id")
            self.secret[row["uid"]] = {"user": user, "name": row.get("name")}
            person = self.people.get(user or 0, {})
            extra = {
                "peer_type": "secret chat",
                "enc_chat_id": row["uid"],
                "user_id": user,
                **{k: row[k] for k in ("ttl", "layer", "admin_id") if row.get(k) is not None},
                **_decode_state(decoded),
            }
            if "date" in chat:
                extra["date"] = _time_json(chat["date"])
            yield build(
                Contact,
                app=APP,
                name=row.get("name") or person.get("name"),
                handles=[f"secret:{row['uid']}"] + ([f"user:{user}"] if user else []),
                extra=jsonable(extra),
                source_table="enc_chats",
                source_row=str(row["row_id"]),
            )

    def phone_contacts(self) -> Iterator[Base]:
        """The address-book entries the app imported (`user_contacts_v7` + `user_phones_v7`)."""
        if not {"user_contacts_v7", "user_phones_v7"} <= self.names:
            return
        phones: dict[str, list[str]] = {}
        for row in self.db.execute("SELECT key, phone, deleted FROM user_phones_v7 ORDER BY key, phone"):
            if not row["deleted"]:
                phones.setdefault(row["key"], []).append(row["phone"])
        for row in self.db.execute(
            "SELECT rowid AS row_id, key, uid, fname, sname, imported FROM user_contacts_v7 ORDER BY rowid"
        ):
            name = " ".join(x for x in (row["fname"], row["sname"]) if x) or None
            yield build(
                Contact,
                app="telegram (imported phone contact)",
                name=name,
                phone_numbers=phones.get(row["key"], []),
                extra={"key": row["key"], "device_contact_id": row["uid"], "imported": row["imported"]},
                source_table="user_contacts_v7",
                source_row=str(row["row_id"]),
            )

    # -- messages ----------------------------------------------------------------------------------

    def messages(self, table: str) -> Iterator[Base]:
        cols = [c for c in OPTIONAL_COLUMNS if c in table_columns(self.db, table)]
        optional = "".join(", " + c for c in cols)
        sql = f"SELECT rowid AS row_id, mid, uid, date, data{optional} FROM {table} ORDER BY rowid"
        for row in self.db.execute(sql):
            yield from self._message_records(table, dict(row))

    def _message_records(self, table: str, row: dict[str, Any]) -> Iterator[Base]:
        blob = row["data"] if isinstance(row["data"], bytes) else b""
        decoded = _decode_blob(blob, "Message", tail=True)
        msg = decoded.value or {}
        self._count(table, decoded)
        kind, pid = dialog_key(row["uid"], self.version)
        thread = self._thread(kind, pid, msg)
        counterpart = self._counterpart(kind, pid, thread)
        out = bool(row["out"]) if row.get("out") is not None else bool(msg.get("out"))
        service = "action" in msg or base_name(msg) == "messageService"
        sender = None if out else self._sender(msg, kind, pid, thread, counterpart)
        extra = self._extra(table, row, decoded, msg, kind, thread, sender)
        body = msg.get("message") or None
        media = msg.get("media") if isinstance(msg.get("media"), dict) else None
        if body is None and media and media.get("caption"):
            body = media["caption"]  # ≤ layer 74: the caption lived in the media
        if body is None and not service and "message" not in msg:
            body = _text_by_date_anchor(blob, row["date"], extra)  # the walk stopped before the text
        message = build(
            Message,
            app=APP,
            thread=thread,
            direction="system" if service else ("outgoing" if out else "incoming"),
            counterpart=counterpart,
            sender=sender,
            body=body,
            **times("time", decode_time(row["date"], "unix_s")),
            status=None if row.get("send_state") is None else f"send_state {row['send_state']}",
            extra=jsonable(extra),
            source_table=table,
            source_row=str(row["row_id"]),
        )
        yield message
        yield from self._media_records(message, media, table, row)
        if service:
            yield from self._call_record(message, msg.get("action"), out, counterpart, table, row)

    def _thread(self, kind: str, pid: int, msg: dict[str, Any]) -> str:
        if kind == "chat":
            peer = peer_key(msg.get("peer_id") or msg.get("to_id")) or ""
            info = self.groups.get(pid, {})
            if peer.startswith("channel:") or info.get("kind") in ("channel", "megagroup"):
                return f"channel:{pid}"
        return f"{kind}:{pid}"

    def _counterpart(self, kind: str, pid: int, thread: str) -> str:
        if kind == "secret":
            user = self.secret.get(pid, {}).get("user")
            return f"user:{user}" if user else thread
        return thread

    def _sender(self, msg: dict[str, Any], kind: str, pid: int, thread: str, counterpart: str) -> str | None:
        if isinstance(msg.get("from_id"), int):
            return f"user:{msg['from_id']}"  # ≤ layer 118: a bare user id
        found = peer_key(msg.get("from_id"))
        if found:
            return found
        if kind in ("user", "secret"):
            return counterpart  # private chats: the other party is the only possible sender
        if thread.startswith("channel:") and (msg.get("post") or self.groups.get(pid, {}).get("kind") == "channel"):
            return thread  # channel posts are signed by the channel itself
        return None  # not decoded, and a group: the sender is not guessed

    def _display(self, key: str | None) -> str | None:
        if not key:
            return None
        kind, _, raw = key.partition(":")
        try:
            ident = int(raw)
        except ValueError:
            return None
        if kind == "user":
            p = self.people.get(ident)
            return None if not p else _label(p.get("name"), p.get("username"))
        if kind in ("chat", "channel"):
            g = self.groups.get(ident)
            return None if not g else _label(g.get("title"), g.get("username"))
        if kind == "secret":
            s = self.secret.get(ident, {})
            return s.get("name") or self._display(f"user:{s.get('user')}")
        return None

    def _extra(
        self,
        table: str,
        row: dict[str, Any],
        decoded: Decoded,
        msg: dict[str, Any],
        kind: str,
        thread: str,
        sender: str | None,
    ) -> dict[str, Any]:
        extra: dict[str, Any] = {
            "message_id": row["mid"],
            "dialog_id": row["uid"],
            "peer_type": thread.split(":")[0],
            **_decode_state(decoded),
        }
        extra["time_is"] = "sent"  # the row's `date` is the message's date, set by Telegram's server when it was sent
        if table == "scheduled_messages_v2":
            extra["scheduled"] = True
        for key in ("read_state", "ttl", "media", "group_id"):
            if row.get(key) not in (None, 0):
                extra[key] = row[key]
        extra["dialog_name"] = self._display(thread) or self._display(
            self._counterpart(kind, int(thread.split(":")[1]), thread)
        )
        if sender:
            extra["sender_name"] = self._display(sender)
        extra.update({k: True for k in KEPT_FLAGS if msg.get(k) is True})
        if "date" in msg and msg["date"] != row["date"]:
            extra["blob_date"] = msg["date"]  # the walk may have drifted: the row's date column is used
            decoded.notes.append(f"date in the blob ({msg['date']}) differs from the row's date ({row['date']})")
        for key in (
            "views",
            "forwards",
            "post_author",
            "grouped_id",
            "via_bot_id",
            "ttl_period",
            "from_boosts_applied",
        ):
            if key in msg:
                extra[key] = msg[key]
        if "edit_date" in msg:
            extra["edited"] = _time_json(msg["edit_date"])
        reply, fwd = reply_summary(msg), forward_summary(msg.get("fwd_from"))
        if reply:
            extra["reply_to"] = reply
        if fwd:
            extra["forwarded"] = {**fwd, **({"date": _time_json(fwd["date"])} if "date" in fwd else {})}
        media = media_summary(msg.get("media"))
        if media and media.get("type") != "messageMediaEmpty":
            extra["media"] = media
        action = action_summary(msg.get("action"))
        if action:
            extra["action"] = action
        if isinstance(msg.get("entities"), list):
            extra["entities"] = len(msg["entities"])
        if decoded.walked_to_end:
            tail = read_tail(row["data"][decoded.end :], msg)
            if tail.attach_path and tail.attach_path.strip():
                extra["attach_path"] = tail.attach_path
            if tail.fwd_msg_id is not None:
                extra["fwd_msg_id"] = tail.fwd_msg_id
            if tail.problem:
                decoded.notes.append(tail.problem)
        if decoded.notes:
            extra["decode_notes"] = list(decoded.notes)
        return {k: v for k, v in extra.items() if v is not None}

    def _media_records(
        self, message: Message, media: dict[str, Any] | None, table: str, row: dict[str, Any]
    ) -> Iterator[Base]:
        if not media:
            return
        name = base_name(media)
        summary = media_summary(media) or {}
        if media.get("_") in GEO_MEDIA:
            geo = summary.get("geo")
            if geo is None:
                self.ctx.warn(f"{table} row {row['row_id']}: {media.get('_')} without usable coordinates")
                return
            kind = GEO_MEDIA[media["_"]]
            label = " — ".join(x for x in (media.get("title"), media.get("address")) if x) or None
            extra: dict[str, Any] = {
                k: summary[k]
                for k in (
                    "title",
                    "address",
                    "provider",
                    "venue_id",
                    "venue_type",
                    "period",
                    "heading",
                    "proximity_notification_radius",
                )
                if k in summary
            }
            extra.update(
                {
                    "media_constructor": media.get("_id"),
                    "geo_constructor": (media.get("geo") or {}).get("_id"),
                    "thread": message.thread,
                    "message_id": row["mid"],
                }
            )
            yield build(
                Location,
                origin=f"telegram {kind}",
                latitude=geo["latitude"],
                longitude=geo["longitude"],
                accuracy_m=geo.get("accuracy_m"),
                **times("time", decode_time(row["date"], "unix_s")),
                label=label,
                message=message,
                extra=jsonable(extra),
                source_table=table,
                source_row=str(row["row_id"]),
            )
        elif media.get("_") in CONTACT_MEDIA or name == "messageMediaContact":
            name_text = " ".join(x for x in (media.get("first_name"), media.get("last_name")) if x) or None
            phone = media.get("phone_number")
            extra = {
                "shared_in": message.thread,
                "message_id": row["mid"],
                "user_id": media.get("user_id"),
                "vcard": media.get("vcard") or None,
                "phone_raw": phone,
            }
            yield build(
                Contact,
                app="telegram shared contact",
                name=name_text,
                phone_numbers=[phone] if phone else [],
                handles=[f"user:{media['user_id']}"] if media.get("user_id") else [],
                extra={k: v for k, v in extra.items() if v is not None},
                source_table=table,
                source_row=str(row["row_id"]),
            )

    def _call_record(
        self, message: Message, action: Any, out: bool, counterpart: str, table: str, row: dict[str, Any]
    ) -> Iterator[Base]:
        if not isinstance(action, dict) or base_name(action) != "messageActionPhoneCall":
            return
        reason = DISCARD_REASONS.get(base_name(action.get("reason")))
        direction = "outgoing" if out else ("missed" if reason == "missed" else "incoming")
        yield build(
            Call,
            app=APP,
            direction=direction,
            counterpart=counterpart,
            **times("time", decode_time(row["date"], "unix_s")),
            duration_s=action.get("duration"),
            video=bool(action.get("video")),
            extra={
                "call_id": action.get("call_id"),
                "discard_reason": reason,
                "message_id": row["mid"],
                "thread": message.thread,
            },
            source_table=table,
            source_row=str(row["row_id"]),
        )

    # -- reporting ---------------------------------------------------------------------------------

    def _count(self, table: str, decoded: Decoded) -> None:
        self.counts[(table, decoded.status)] += 1
        if decoded.status != "full":
            self.unknown[(table, decoded.hex or "no constructor")] += 1

    def report_counts(self) -> None:
        """One warning per table whose blobs were not all decoded, with the counts and constructors."""
        for table in sorted({t for t, _ in self.counts}):
            partial, none = self.counts[(table, "partial")], self.counts[(table, "none")]
            if not partial and not none:
                continue
            total = sum(n for (t, _), n in self.counts.items() if t == table)
            which = ", ".join(f"{c} ×{n}" for (t, c), n in sorted(self.unknown.items()) if t == table)
            self.ctx.warn(
                f"{table}: {total - partial - none} of {total} TL blob(s) decoded in full, "
                f"{partial} in part, "
                f"{none} not decoded (constructors: {which})"
            )


class TelegramUserConfigParser(Parser):
    """The account owner: `shared_prefs/userconfing.xml` (sic; slot 0) or `userconfig1..3.xml`, key `user`."""

    name = "telegram_android_userconfig"
    description = "Telegram for Android account owner (shared_prefs/userconfing.xml)"
    app = "Telegram"
    platform = "Android"
    produces = (Account,)
    order = 150
    fixtures = ("fixtures/telegram/userconfing.xml",)
    path_patterns = (
        "*/org.telegram.messenger*/shared_prefs/userconfing.xml",
        "*/org.telegram.messenger*/shared_prefs/userconfig[0-9].xml",
        "*/userconfing.xml",
    )

    def parse(self, ctx: ParseContext) -> Iterator[Base]:
        with ctx.open() as f:
            text = f.read(4 << 20)
        try:
            root = ET.fromstring(text)
        except ET.ParseError as e:
            ctx.warn(f"not a shared-preferences XML file: {e}")
            return
        node = next((n for n in root if n.tag == "string" and n.get("name") == "user"), None)
        if node is None or not (node.text or "").strip():
            ctx.warn("no 'user' entry: the app holds no logged-in account in this slot")
            return
        try:
            blob = base64.b64decode("".join((node.text or "").split()), validate=True)
        except (binascii.Error, ValueError) as e:
            ctx.warn(f"'user' entry is not base64: {e}")
            return
        decoded = decode(blob, "User")
        user = decoded.value or {}
        if decoded.status == "none" or "id" not in user:
            ctx.warn(f"'user' entry not decoded: {decoded.problem}")
            return
        name = " ".join(x for x in (user.get("first_name"), user.get("last_name")) if x) or None
        phone = user.get("phone")
        label = " ".join(
            x for x in (name, f"@{user['username']}" if user.get("username") else None, f"[user:{user['id']}]") if x
        )
        yield Account(
            app=APP,
            identifier=_phone(phone) if phone else f"user:{user['id']}",
            display_name=label,
            source_table="shared_prefs",
            source_row="user",
        )


# -- helpers ---------------------------------------------------------------------------------------


def _decode_blob(blob: Any, expected: str, tail: bool = False) -> Decoded:
    if not isinstance(blob, bytes) or not blob:
        return Decoded(None, "none", problem="no blob in the row")
    return decode(blob, expected, tail_ok if tail else None)


def _decode_state(decoded: Decoded) -> dict[str, Any]:
    """How a blob was decoded: full / partial (which fields) / none (which constructor)."""
    out: dict[str, Any] = {"decoded": decoded.status, "constructor": decoded.hex, "constructor_name": decoded.name}
    if decoded.status == "partial":
        out["undecoded_fields"] = list(decoded.undecoded)
    if decoded.problem:
        out["decode_problem"] = decoded.problem
    return {k: v for k, v in out.items() if v is not None}


def _text_by_date_anchor(blob: bytes, date: Any, extra: dict[str, Any]) -> str | None:
    """ALEAPP's fallback for blobs whose walk stopped before the text: the TL string right after the
    row's date (int32 LE). Used only when exactly one occurrence gives strict UTF-8; flagged as such."""
    if not isinstance(date, int) or not -(1 << 31) <= date < (1 << 31):
        return None
    needle = struct.pack("<i", date)
    found: list[str] = []
    start = blob.find(needle)
    while start >= 0:
        reader = Reader(blob, start + 4)
        try:
            found.append(reader.raw_bytes().decode("utf-8"))
        except (TLError, UnicodeDecodeError):
            pass
        start = blob.find(needle, start + 1)
    if len(set(found)) != 1 or not found[0]:
        return None
    extra["text_source"] = "date anchor (heuristic: the TL string after the row's date in the blob)"
    return found[0]


def own_role(chat: dict[str, Any]) -> str:
    """The device user's role in a group or channel, from the flags of its Chat object: the creator is the
    owner, `admin_rights` are given only to administrators; a chat the user left says so."""
    if base_name(chat).endswith("Forbidden"):  # chatForbidden / channelForbidden: the user was removed or banned
        return "removed"
    if chat.get("left"):
        return "left"
    if chat.get("creator"):
        return "owner"
    return "admin" if chat.get("admin_rights") else "member"


def _chat_kind(chat: dict[str, Any]) -> str:
    name = base_name(chat)
    if name.startswith("channel"):
        return "megagroup" if chat.get("megagroup") else "channel"
    return "group" if chat else "unknown"


def _status(value: int) -> Any:
    # > 0: last seen (Unix s); small negative values encode hidden/bucketed presence: raw only
    return _time_json(value) if value > 0 else {"raw": value}


def _time_json(value: Any) -> dict[str, Any]:
    ts = decode_time(value, "unix_s")
    return {"raw": ts.raw, "utc": iso(ts.utc) if ts.utc else None, "encoding": "unix_s"}


def _phone(raw: str) -> str:
    """Telegram stores numbers in international format without '+'; the raw form is kept in extra."""
    digits = raw.strip()
    return digits if digits.startswith("+") or not digits.isdigit() else "+" + digits


def _handles(key: str, username: str | None) -> list[str]:
    return [key] + ([f"@{username}"] if username else [])


def _label(name: str | None, username: str | None) -> str | None:
    return " ".join(x for x in (name, f"(@{username})" if username else None) if x) or None
