"""iOS call history before iOS 8: call_history.db, its `call` table.

The format: docs/formats/contacts_calls.md "iOS call_history.db (before iOS 8)" and its "flags".

`date` is Unix seconds (not Cocoa, as CallHistory.storedata's is). Of `flags` only bit 0 is read as fact
(set: the call was made from the phone), because the database's own triggers count it that way; the
other bits are kept raw and named, never guessed at. FaceTime entries are told by their `face_time_data`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

from parsers.base import ParseContext, Schema, SqliteParser
from parsers.contacts_calls.ios_calls import address
from parsers.sqlite_query import present
from triage.model.records import Base, Call, build, times
from triage.model.timeutil import decode

OUTGOING_BIT = 0x1  # certain: the database's own triggers count minutes by it
USUAL_VOICE_BIT = 0x4  # set on ordinary cellular calls in published examples; says nothing of direction
KNOWN_BITS = OUTGOING_BIT | USUAL_VOICE_BIT
OPTIONAL = ["name", "country_code", "network_code", "read", "assisted", "face_time_data", "originalAddress"]
FIXTURE = "fixtures/ios7_calls/private/var/wireless/Library/CallHistory/call_history.db"


class Ios7CallHistoryParser(SqliteParser):
    name = "ios7_calls"
    description = "iOS call history call_history.db (iOS 7 and earlier, `call` table)"
    app = "Phone (call history)"
    platform = "iOS"
    produces = (Call,)
    path_patterns = (
        "*/wireless/Library/CallHistory/call_history.db",
        "*/2b2b0084a1bc3a5ac8c27afdf14afb42c61a19ca",  # its iTunes-backup file id
        "*/call_history.db",  # a copy taken out of its folder: a damaged one must still be said to be unread
    )
    schemas = (
        Schema(
            "before iOS 8 (call table, Unix seconds)",
            # Apple's key/value table as well: a bare `call` table with these columns could be any app's
            {"call": {"ROWID", "address", "date", "duration", "flags", "id"}, "_SqliteDatabaseProperties": {"key"}},
            FIXTURE,
        ),
    )

    def parse_db(self, db: sqlite3.Connection, ctx: ParseContext) -> Iterator[Base]:
        cols = present(db, "call", OPTIONAL)
        select = ", ".join(["ROWID", "address", "date", "duration", "flags", "id", *cols])
        for row in db.execute(f"SELECT {select} FROM call ORDER BY ROWID"):
            yield self._call(dict(row))

    def _call(self, row: dict[str, Any]) -> Call:
        flags = row["flags"] if isinstance(row["flags"], int) else 0
        facetime = bool(row.get("face_time_data"))
        outgoing = bool(flags & OUTGOING_BIT)
        return build(
            Call,
            app="facetime" if facetime else "phone",
            direction="outgoing" if outgoing else "incoming",
            counterpart=address(row["address"]),
            **times("time", decode(row["date"], "unix_s")),
            duration_s=row["duration"],
            video=None,  # FaceTime audio and video share this table; nothing in it tells them apart
            extra=extra(row, flags, outgoing),
            source_table="call",
            source_row=str(row["ROWID"]),
        )


def extra(row: dict[str, Any], flags: int, outgoing: bool) -> dict[str, Any]:
    """What the row says beyond the Call columns: the raw flags and the bits not interpreted, the network
    (MCC/MNC) the call was on, the AddressBook person, the number as dialled."""
    out: dict[str, Any] = {"flags": row["flags"]}
    unread = flags & ~KNOWN_BITS
    if unread:
        out["flags_not_interpreted"] = f"0x{unread:x}"
    if not outgoing and row["duration"] == 0:
        out["not_connected"] = "duration 0: missed or declined; the database does not say which"
    if isinstance(row["id"], int) and row["id"] >= 0:
        out["addressbook_rowid"] = row["id"]
    for key in ("name", "country_code", "network_code", "originalAddress"):
        if row.get(key) not in (None, ""):
            out[key] = row[key]
    if row.get("read") is not None:
        out["read"] = row["read"]
    return out
