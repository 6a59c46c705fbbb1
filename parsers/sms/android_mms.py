"""Android MMS from mmssms.db: `pdu` (one row per message), `part` (text and attachments), `addr`
(senders and recipients) — docs/formats/sms_mms.md "Android mmssms.db".

Dates in `pdu` are Unix *seconds* (SMS use milliseconds). Text is the `text/plain` parts in `seq`
order; the `application/smil` layout part is skipped; attachments are listed with their content type,
name and the provider's file path (`_data`, under …/app_parts/), so the media can be found.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from parsers.base import ParseContext, Schema, SqliteParser
from parsers.sqlite_query import present
from triage.model.records import Base, Message, build, times
from triage.model.timeutil import decode, iso

MSG_BOX = {
    1: ("incoming", "inbox"),
    2: ("outgoing", "sent"),
    3: ("draft", "draft"),
    4: ("outgoing", "outbox"),
    5: ("outgoing", "failed"),
}
ADDR_FROM, ADDR_TO, ADDR_CC, ADDR_BCC = 137, 151, 130, 129
OWN_NUMBER_TOKEN = "insert-address-token"  # written in place of the phone's own number
SMIL = "application/smil"
PDU_OPTIONAL = [
    "thread_id",
    "date_sent",
    "read",
    "sub",
    "m_type",
    "ct_t",
    "m_size",
    "locked",
    "seen",
    "sub_id",
    "text_only",
    "creator",
]
PART_OPTIONAL = ["seq", "ct", "name", "fn", "cl", "_data", "text", "chset"]


class AndroidMmsParser(SqliteParser):
    name = "android_mms"
    description = "Android MMS (telephony provider mmssms.db pdu/part/addr)"
    app = "SMS/MMS (telephony provider)"
    platform = "Android"
    produces = (Message,)
    order = 20
    path_patterns = ("*/com.android.providers.telephony/databases/mmssms.db", "*/mmssms.db")
    schemas = (
        Schema(
            "pdu/part/addr tables",
            {"pdu": {"_id", "date", "msg_box"}, "part": {"_id", "mid", "ct"}, "addr": {"msg_id", "address", "type"}},
            "fixtures/third_party/plaso/test_data/android/mmssms.db",
        ),
    )

    def parse_db(self, db: sqlite3.Connection, ctx: ParseContext) -> Iterator[Base]:
        parts = self._parts(db)
        addresses = self._addresses(db)
        cols = present(db, "pdu", PDU_OPTIONAL)
        for row in db.execute(f"SELECT _id, date, msg_box{''.join(', ' + c for c in cols)} FROM pdu ORDER BY _id"):
            yield self._message(dict(row), parts.get(row["_id"], []), addresses.get(row["_id"], {}), ctx)

    def _parts(self, db: sqlite3.Connection) -> dict[int, list[dict[str, Any]]]:
        cols = present(db, "part", PART_OPTIONAL)
        order = "mid, seq, _id" if "seq" in cols else "mid, _id"
        found: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in db.execute(
            f"SELECT _id, mid{''.join(', ' + c for c in cols if c != 'ct')}, ct FROM part ORDER BY {order}"
        ):
            found[row["mid"]].append(dict(row))
        return found

    def _addresses(self, db: sqlite3.Connection) -> dict[int, dict[int, list[str]]]:
        found: dict[int, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
        for row in db.execute("SELECT msg_id, address, type FROM addr ORDER BY msg_id, _id"):
            if row["address"]:
                found[row["msg_id"]][row["type"]].append(row["address"])
        return found

    def _message(
        self, row: dict[str, Any], parts: list[dict[str, Any]], addresses: dict[int, list[str]], ctx: ParseContext
    ) -> Message:
        direction, status = MSG_BOX.get(row["msg_box"], ("unknown", f"msg_box {row['msg_box']}"))
        if row["msg_box"] not in MSG_BOX:
            ctx.warn(f"pdu._id={row['_id']}: unknown msg_box {row['msg_box']!r}, direction left unknown")
        sender = next((a for a in addresses.get(ADDR_FROM, []) if a != OWN_NUMBER_TOKEN), None)
        recipients = [a for t in (ADDR_TO, ADDR_CC, ADDR_BCC) for a in addresses.get(t, []) if a != OWN_NUMBER_TOKEN]
        texts = [p["text"] for p in parts if p["ct"] == "text/plain" and p.get("text")]
        attachments = [
            {k: p.get(k) for k in ("ct", "name", "fn", "cl", "_data") if p.get(k)}
            for p in parts
            if p["ct"] not in ("text/plain", SMIL)
        ]
        extra: dict[str, Any] = {
            k: row[k]
            for k in ("sub", "m_type", "ct_t", "m_size", "locked", "sub_id", "creator")
            if row.get(k) not in (None, "")
        }
        if recipients:
            extra["recipients"] = recipients
        if attachments:
            extra["attachments"] = attachments
        sent = decode(row.get("date_sent") or None, "unix_s")
        # as for SMS: `date` is when the provider stored the PDU (on download for a received MMS), `date_sent`
        # the sender's time the MMSC passed on
        extra["time_is"] = "received" if direction == "incoming" else "stored"
        if sent.utc:
            extra["sent"] = {"raw": sent.raw, "utc": iso(sent.utc)}
        counterpart = sender if direction == "incoming" else (recipients[0] if recipients else None)
        return build(
            Message,
            app="mms",
            thread=None if row.get("thread_id") is None else str(row["thread_id"]),
            direction=direction,
            counterpart=counterpart,
            sender=sender if direction == "incoming" else None,
            body="\n".join(texts) or None,
            **times("time", decode(row["date"], "unix_s")),
            **(times("sent", sent) if sent.utc else {}),
            status=status,
            read=None if row.get("read") is None else bool(row["read"]),
            extra=extra,
            source_table="pdu",
            source_row=str(row["_id"]),
        )
