"""iOS call history: CallHistory.storedata `ZCALLRECORD` (docs/formats/contacts_calls.md "iOS CallHistory").

Phone calls, FaceTime and CallKit calls of third-party apps (WhatsApp, Telegram …) are all here;
`ZSERVICE_PROVIDER` names the app. `ZADDRESS` may be TEXT or a BLOB of UTF-8 bytes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

from parsers.base import ParseContext, Schema, SqliteParser
from parsers.sqlite_query import present
from triage.model.records import Base, Call, build, times
from triage.model.timeutil import decode

CALL_TYPES = {0: "third-party app", 1: "phone", 8: "FaceTime video", 16: "FaceTime audio"}
VIDEO_TYPES = {8}
PROVIDER_APPS = {
    "com.apple.Telephony": "phone",
    "com.apple.FaceTime": "facetime",
    "net.whatsapp.WhatsApp": "whatsapp",
    "ph.telegra.Telegraph": "telegram",
    "com.viber": "viber",
    "org.whispersystems.signal": "signal",
}
OPTIONAL = [
    "ZANSWERED",
    "ZCALLTYPE",
    "ZSERVICE_PROVIDER",
    "ZDISCONNECTED_CAUSE",
    "ZISO_COUNTRY_CODE",
    "ZLOCATION",
    "ZNAME",
    "ZUNIQUE_ID",
    "ZREAD",
]


class IosCallHistoryParser(SqliteParser):
    name = "ios_calls"
    description = "iOS call history CallHistory.storedata"
    app = "Phone (call history)"
    platform = "iOS"
    produces = (Call,)
    order = 90
    path_patterns = ("*/Library/CallHistoryDB/CallHistory.storedata", "*/5a4935c78a5255723f707230a451d79c540d2741")
    schemas = (
        Schema(
            "CallHistory.storedata (ZCALLRECORD)",
            {"ZCALLRECORD": {"Z_PK", "ZDATE", "ZDURATION", "ZADDRESS", "ZORIGINATED"}},
            "fixtures/build_ios_dbs.py",
        ),
    )

    def parse_db(self, db: sqlite3.Connection, ctx: ParseContext) -> Iterator[Base]:
        cols = present(db, "ZCALLRECORD", OPTIONAL)
        for row in db.execute(
            f"SELECT Z_PK, ZDATE, ZDURATION, ZADDRESS, ZORIGINATED"
            f"{''.join(', ' + c for c in cols)} FROM ZCALLRECORD ORDER BY Z_PK"
        ):
            row = dict(row)
            call_type = row.get("ZCALLTYPE")
            yield build(
                Call,
                app=self._app(row),
                direction=direction(row),
                counterpart=address(row["ZADDRESS"]),
                **times("time", decode(row["ZDATE"], "cocoa_s")),
                duration_s=row["ZDURATION"],
                video=None if call_type is None else call_type in VIDEO_TYPES,
                extra=self._extra(row),
                source_table="ZCALLRECORD",
                source_row=str(row["Z_PK"]),
            )

    def _app(self, row: dict[str, Any]) -> str:
        provider = row.get("ZSERVICE_PROVIDER")
        if provider:
            return PROVIDER_APPS.get(provider, provider)
        return "facetime" if row.get("ZCALLTYPE") in (8, 16) else "phone"

    def _extra(self, row: dict[str, Any]) -> dict[str, Any]:
        extra = {
            k: row[k]
            for k in (
                "ZSERVICE_PROVIDER",
                "ZDISCONNECTED_CAUSE",
                "ZISO_COUNTRY_CODE",
                "ZLOCATION",
                "ZNAME",
                "ZUNIQUE_ID",
                "ZANSWERED",
            )
            if row.get(k) not in (None, "")
        }
        if row.get("ZCALLTYPE") is not None:
            extra["call_type"] = CALL_TYPES.get(row["ZCALLTYPE"], f"type {row['ZCALLTYPE']}")
        return extra


def direction(row: dict[str, Any]) -> str:
    if row["ZORIGINATED"]:
        return "outgoing"
    answered = row.get("ZANSWERED")
    if answered is None:
        return "incoming"
    return "incoming" if answered else "missed"


def address(value: Any) -> str | None:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", errors="replace")
    return None if value is None else str(value)
