"""Telegram for iOS: the Postbox key-value store `telegram-data/account-*/postbox/db/db_sqlite`.

Postbox keeps every table as `t<N>(key, value)`. The peer table (`t2`: int64 peer id → encoded
TelegramUser/Group/Channel object) and the message-history table (`t7`: 20-byte keys) are read as
far as their layout is known (`postbox.py`): text, timestamps, peer and author ids, forward info,
user/group names and phone numbers, and map media (an embedded object with `la`/`lo` doubles).
Message attributes and other media are counted and reported as not decoded. On a real phone the
database is encrypted with SQLCipher (key in `.tempkeyEncrypted`); such a file is reported, not read.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterator
from typing import Any

from parsers.base import SQLITE_MAGIC, ParseContext, Parser, open_sqlite, table_columns
from parsers.sqlite_query import tables
from parsers.telegram.postbox import PostboxError, peer_from_int64, read_entry, read_key, read_object
from parsers.telegram.summary import jsonable
from triage.model.records import Base, Contact, Location, Message, build, times
from triage.model.timeutil import decode as decode_time

APP = "telegram"
PEER_TABLE, HISTORY_TABLE = "t2", "t7"  # table numbers as used by public tools (iLEAPP); checked by shape


class TelegramIosPostboxParser(Parser):
    name = "telegram_ios"
    description = "Telegram for iOS Postbox db_sqlite (peers and message history)"
    app = "Telegram"
    platform = "iOS"
    produces = (Message, Contact, Location)
    order = 160
    fixtures = ("fixtures/telegram/db_sqlite",)
    path_patterns = ("*/telegram-data/account-*/postbox/db/db_sqlite", "*/db_sqlite")

    def parse(self, ctx: ParseContext) -> Iterator[Base]:
        if not ctx.header.startswith(SQLITE_MAGIC):
            ctx.warn(
                "db_sqlite is not a plain SQLite file: Telegram for iOS encrypts it with SQLCipher; decrypt it "
                "with the key from telegram-data/.tempkeyEncrypted, then parse the decrypted copy"
            )
            return
        assert ctx.sqlite_copy is not None
        with open_sqlite(ctx.sqlite_copy()) as db:
            names = tables(db)
            kv = sorted(
                t for t in names if t[:1] == "t" and t[1:].isdigit() and {"key", "value"} <= table_columns(db, t)
            )
            if HISTORY_TABLE not in kv:
                ctx.warn(
                    f"no Postbox message-history table {HISTORY_TABLE} (key-value tables: {', '.join(kv) or 'none'})"
                )
                return
            reader = PostboxReader(db, ctx)
            if PEER_TABLE in kv:
                yield from reader.peers()
            yield from reader.messages()
            reader.report(len(kv))


class PostboxReader:
    def __init__(self, db: Any, ctx: ParseContext) -> None:
        self.db, self.ctx = db, ctx
        self.names: dict[str, str] = {}
        self.counts: Counter[str] = Counter()

    def _rows(self, table: str) -> Iterator[dict[str, Any]]:
        """Rows with a row label: the rowid, or for WITHOUT ROWID tables the key in hex."""
        try:
            rows = self.db.execute(f"SELECT rowid AS row_id, key, value FROM {table} ORDER BY key").fetchall()
        except sqlite3.OperationalError:
            rows = self.db.execute(f"SELECT key, value FROM {table} ORDER BY key").fetchall()
            for row in rows:
                key = row["key"]
                yield {
                    "row_id": f"key {key.hex() if isinstance(key, bytes) else key}",
                    "key": key,
                    "value": row["value"],
                }
            return
        yield from (dict(r) for r in rows)

    def peers(self) -> Iterator[Base]:
        for row in self._rows(PEER_TABLE):
            if not isinstance(row["key"], int) or not isinstance(row["value"], bytes):
                self.counts["peer rows of another shape"] += 1
                continue
            peer = peer_from_int64(row["key"])
            try:
                obj = read_object(row["value"])
            except PostboxError as e:
                self.counts["peer objects not decoded"] += 1
                self.ctx.warn(f"{PEER_TABLE} key {row['key']}: peer object not decoded ({e})")
                continue
            name = " ".join(x for x in (obj.get("fn"), obj.get("ln")) if isinstance(x, str) and x) or (
                obj.get("t") if isinstance(obj.get("t"), str) else None
            )
            self.names[peer] = name or peer
            phone = obj.get("p") if isinstance(obj.get("p"), str) else None
            username = obj.get("un") if isinstance(obj.get("un"), str) else None
            self.counts["peers"] += 1
            yield build(
                Contact,
                app=APP,
                name=name,
                phone_numbers=[("+" + phone) if phone and phone.isdigit() else phone] if phone else [],
                handles=[peer] + ([f"@{username}"] if username else []),
                extra=jsonable(
                    {
                        "peer_type": peer.split(":")[0],
                        "peer_id_raw": row["key"],
                        "type_hash": obj.get("_type_hash"),
                        "phone_raw": phone,
                        "fields": sorted(k for k in obj if not k.startswith("_")),
                    }
                ),
                source_table=PEER_TABLE,
                source_row=str(row["row_id"]),
            )

    def messages(self) -> Iterator[Base]:
        for row in self._rows(HISTORY_TABLE):
            key = read_key(row["key"])
            if key is None or not isinstance(row["value"], bytes):
                self.counts["history rows of another shape"] += 1
                continue
            entry = read_entry(row["value"])
            if entry.fields.get("hole"):
                self.counts["history holes"] += 1
                continue
            self.counts[f"messages decoded {entry.status}"] += 1
            yield from self._records(row, key, entry)

    def _records(self, row: Any, key: Any, entry: Any) -> Iterator[Base]:
        f = entry.fields
        incoming = bool(f["flags"] & 0x4) if "flags" in f else None  # MessageFlags.Incoming = 4
        direction = "unknown" if incoming is None else ("incoming" if incoming else "outgoing")
        maps, media_kinds = self._media(entry)
        extra: dict[str, Any] = {
            "decoded": entry.status,
            "message_id": key.id,
            "namespace": key.namespace,
            "peer_id_raw": key.peer_raw,
            "dialog_name": self.names.get(key.peer),
            "attributes_not_decoded": len(entry.attributes),
            "time_is": "sent",
        }  # the key's timestamp: the message's date, set when it was sent
        if entry.status != "full":
            extra["undecoded_fields"] = entry.undecoded
            extra["decode_problem"] = entry.problem
        if media_kinds:
            extra["media"] = media_kinds
        for name in ("forward", "flags", "tags", "globally_unique_id", "grouping_key"):
            if name in f:
                extra[name] = f[name]
        author = f.get("author")
        message = build(
            Message,
            app=APP,
            thread=key.peer,
            direction=direction,
            counterpart=key.peer,
            sender=None if direction == "outgoing" else (author or None),
            body=f.get("text") or None,
            **times("time", decode_time(key.timestamp, "unix_s")),
            extra=jsonable(extra),
            source_table=HISTORY_TABLE,
            source_row=str(row["row_id"]),
        )
        yield message
        for lat, lon, obj in maps:
            yield build(
                Location,
                origin="telegram location (iOS)",
                latitude=lat,
                longitude=lon,
                **times("time", decode_time(key.timestamp, "unix_s")),
                message=message,
                extra=jsonable(
                    {
                        "thread": key.peer,
                        "message_id": key.id,
                        "type_hash": obj.get("_type_hash"),
                        "venue": obj.get("v") is not None,
                    }
                ),
                source_table=HISTORY_TABLE,
                source_row=str(row["row_id"]),
            )

    def _media(self, entry: Any) -> tuple[list[tuple[float, float, dict]], list[dict[str, Any]]]:
        maps: list[tuple[float, float, dict]] = []
        kinds: list[dict[str, Any]] = []
        for blob in entry.media:
            try:
                obj = read_object(blob)
            except PostboxError as e:
                kinds.append({"decoded": "none", "problem": str(e)})
                self.counts["media objects not decoded"] += 1
                continue
            lat, lon = obj.get("la"), obj.get("lo")
            if isinstance(lat, float) and isinstance(lon, float) and -90 <= lat <= 90 and -180 <= lon <= 180:
                maps.append((lat, lon, obj))
                kinds.append({"type": "map", "type_hash": obj.get("_type_hash")})
            else:
                kinds.append(
                    {
                        "type": "not interpreted",
                        "type_hash": obj.get("_type_hash"),
                        "fields": sorted(k for k in obj if not k.startswith("_")),
                    }
                )
                self.counts["media objects not interpreted"] += 1
        return maps, kinds

    def report(self, kv_tables: int) -> None:
        partial = self.counts["messages decoded partial"] + self.counts["messages decoded none"]
        attrs = "attributes (replies, edits, entities …) are counted per message, not interpreted"
        problem_kinds = ("media objects", "peer objects", "history rows", "peer rows")
        problems = {k: v for k, v in self.counts.items() if k.startswith(problem_kinds) and v}
        if partial or problems:
            self.ctx.warn(
                f"Postbox: {self.counts['messages decoded full']} message(s) decoded in full, "
                f"{self.counts['messages decoded partial']} in part, {self.counts['messages decoded none']} "
                f"not; {', '.join(f'{k}: {v}' for k, v in sorted(problems.items())) or 'no media problems'}; "
                f"{attrs}; {kv_tables} key-value tables present, 2 read"
            )
