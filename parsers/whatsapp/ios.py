"""WhatsApp for iOS: ChatStorage.sqlite (Core Data) messages and locations, ContactsV2.sqlite contacts.

Core Data times are Cocoa seconds (REAL). ZWAMEDIAITEM.ZLATITUDE/ZLONGITUDE hold a position only for
location messages (type 5): for photos and videos the same columns hold pixel sizes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from parsers.base import ParseContext, Schema, SqliteParser
from parsers.sqlite_query import present, select_list, tables
from parsers.whatsapp.codes import is_group, jid_phone
from triage.model.records import Base, Contact, Location, Message, build, times
from triage.model.timeutil import decode, iso

APP = "whatsapp"
# iOS codes differ from Android (2 = video, 3 = audio); looked up with ZMESSAGETYPE, which may be NULL
IOS_MESSAGE_TYPES: dict[int | None, str] = {
    0: "text",
    1: "image",
    2: "video",
    3: "audio",
    4: "contact",
    5: "location",
    6: "group event",
    7: "url",
    8: "document",
    10: "system",
    11: "gif",
    14: "deleted",
    15: "sticker",
    28: "ephemeral change",
    38: "view-once image",
    39: "view-once video",
    46: "poll",
    53: "view-once voice",
    54: "video note",
    59: "call",
    63: "event",
    66: "album",
    68: "status mention",
}
LOCATION_TYPE = 5
SYSTEM_TYPES = {6, 10}
DELETED_TYPE = 14
MESSAGE_COLUMNS = [
    "ZMESSAGETYPE",
    "ZISFROMME",
    "ZFROMJID",
    "ZTOJID",
    "ZTEXT",
    "ZMESSAGEDATE",
    "ZSENTDATE",
    "ZMESSAGESTATUS",
    "ZSTARRED",
    "ZGROUPEVENTTYPE",
    "ZPUSHNAME",
    "ZSTANZAID",
    "ZCHATSESSION",
    "ZGROUPMEMBER",
    "ZMEDIAITEM",
]
MEDIA_COLUMNS = [
    "ZLATITUDE",
    "ZLONGITUDE",
    "ZHACCURACY",
    "ZMEDIALOCALPATH",
    "ZTITLE",
    "ZFILESIZE",
    "ZVCARDNAME",
    "ZVCARDSTRING",
    "ZMOVIEDURATION",
]


class WhatsAppIosParser(SqliteParser):
    name = "whatsapp_ios"
    description = "WhatsApp iOS ChatStorage.sqlite"
    app = "WhatsApp"
    platform = "iOS"
    produces = (Message, Location)
    order = 120
    path_patterns = (
        "*/ChatStorage.sqlite",
        "*/7c7fba66680ef796b916b067077cc246adacf01d",
        "*/724bd3b98b18518b455a87c1f3ac3a0d189c4466",
    )
    schemas = (
        Schema(
            "ChatStorage.sqlite (ZWAMESSAGE + ZWACHATSESSION)",
            {
                "ZWAMESSAGE": {"Z_PK", "ZISFROMME", "ZMESSAGEDATE", "ZCHATSESSION"},
                "ZWACHATSESSION": {"Z_PK", "ZCONTACTJID"},
            },
            "fixtures/third_party/ileapp-whatsapp-ios/ChatStorage.sqlite",
        ),
    )

    def parse_db(self, db: sqlite3.Connection, ctx: ParseContext) -> Iterator[Base]:
        sessions = {
            r[0]: (r[1], r[2])
            for r in db.execute(
                "SELECT Z_PK, ZCONTACTJID, "
                + ("ZPARTNERNAME" if present(db, "ZWACHATSESSION", ["ZPARTNERNAME"]) else "NULL")
                + " FROM ZWACHATSESSION"
            )
        }
        members = {}
        if "ZWAGROUPMEMBER" in tables(db):
            members = dict(db.execute("SELECT Z_PK, ZMEMBERJID FROM ZWAGROUPMEMBER"))
        cols = present(db, "ZWAMESSAGE", MESSAGE_COLUMNS)
        media_items, join = [], ""
        if "ZWAMEDIAITEM" in tables(db) and "ZMEDIAITEM" in cols:
            media_items = select_list("i", present(db, "ZWAMEDIAITEM", MEDIA_COLUMNS), "media_")
            join = "LEFT JOIN ZWAMEDIAITEM i ON i.Z_PK = m.ZMEDIAITEM"
        columns = select_list("m", ["Z_PK"] + cols) + media_items
        sql = f"SELECT {', '.join(columns)} FROM ZWAMESSAGE m {join} ORDER BY m.Z_PK"
        for row in db.execute(sql):
            row = dict(row)
            chat_jid, partner = sessions.get(row.get("ZCHATSESSION"), (None, None))
            message = self._message(row, chat_jid, partner, members)
            yield message
            location = self._location(row, message, ctx)
            if location:
                yield location

    def _message(self, row: dict, chat_jid: str | None, partner: str | None, members: dict) -> Message:
        code = row.get("ZMESSAGETYPE")
        from_me = bool(row.get("ZISFROMME"))
        if from_me:
            sender = None
        elif is_group(chat_jid):
            sender = members.get(row.get("ZGROUPMEMBER")) or row.get("ZFROMJID")
        else:
            sender = row.get("ZFROMJID") or chat_jid
        direction = "system" if code in SYSTEM_TYPES else "outgoing" if from_me else "incoming"
        extra = {
            "message_type": code,
            "message_type_name": IOS_MESSAGE_TYPES.get(code, f"type {code}"),
            "stanza_id": row.get("ZSTANZAID"),
            "push_name": row.get("ZPUSHNAME"),
            "group_subject": partner if is_group(chat_jid) else None,
            "contact_name": partner if not is_group(chat_jid) else None,
            "starred": bool(row.get("ZSTARRED")) or None,
            "group_event_type": row.get("ZGROUPEVENTTYPE"),
            "media": {
                k[len("media_") :]: v
                for k, v in row.items()
                if k.startswith("media_") and v not in (None, "") and code != LOCATION_TYPE
            }
            or None,
        }
        sent = decode(row.get("ZSENTDATE"), "cocoa_s")
        # ZMESSAGEDATE is the time the app files and orders the message by, written when this phone stored it
        # (sent or received); ZSENTDATE, when set, the time the message was sent: kept as extra["sent"]
        extra["time_is"] = "stored"
        if sent.utc:
            extra["sent"] = {"raw": sent.raw, "utc": iso(sent.utc)}
        return build(
            Message,
            app=APP,
            thread=chat_jid,
            direction=direction,
            counterpart=chat_jid,
            sender=sender,
            body=row.get("ZTEXT") or row.get("media_ZTITLE"),
            **times("time", decode(row.get("ZMESSAGEDATE"), "cocoa_s")),
            **(times("sent", sent) if sent.utc else {}),
            status=None if row.get("ZMESSAGESTATUS") is None else f"status {row['ZMESSAGESTATUS']}",
            deleted=code == DELETED_TYPE,
            extra={k: v for k, v in extra.items() if v is not None},
            source_table="ZWAMESSAGE",
            source_row=str(row["Z_PK"]),
        )

    def _location(self, row: dict, message: Message, ctx: ParseContext) -> Location | None:
        if row.get("ZMESSAGETYPE") != LOCATION_TYPE:
            return None  # ZLATITUDE/ZLONGITUDE are pixel sizes for other media
        lat, lon = row.get("media_ZLATITUDE"), row.get("media_ZLONGITUDE")
        if lat is None or lon is None or (lat == 0 and lon == 0) or not (-90 <= lat <= 90 and -180 <= lon <= 180):
            ctx.warn(f"ZWAMESSAGE Z_PK={row['Z_PK']}: location message without a usable position ({lat}, {lon})")
            return None
        return build(
            Location,
            origin="whatsapp shared location",
            latitude=float(lat),
            longitude=float(lon),
            accuracy_m=row.get("media_ZHACCURACY") or None,
            **times("time", decode(message.time_raw, "cocoa_s")),
            label=row.get("media_ZTITLE"),
            message=message,
            source_table="ZWAMEDIAITEM",
            source_row=str(row.get("ZMEDIAITEM")),
        )


class WhatsAppIosContactsParser(SqliteParser):
    name = "whatsapp_ios_contacts"
    description = "WhatsApp iOS ContactsV2.sqlite"
    app = "WhatsApp"
    platform = "iOS"
    produces = (Contact,)
    order = 130
    path_patterns = ("*/ContactsV2.sqlite", "*/b8548dc30aa1030df0ce18ef08b882cf7ab5212f")
    schemas = (
        Schema(
            "ContactsV2.sqlite (ZWAADDRESSBOOKCONTACT)",
            {"ZWAADDRESSBOOKCONTACT": {"Z_PK", "ZFULLNAME", "ZPHONENUMBER"}},
            "fixtures/third_party/ileapp-whatsapp-ios/ContactsV2.sqlite",
        ),
    )

    def parse_db(self, db: sqlite3.Connection, ctx: ParseContext) -> Iterator[Base]:
        cols = present(
            db, "ZWAADDRESSBOOKCONTACT", ["ZWHATSAPPID", "ZPHONENUMBERLABEL", "ZABOUTTEXT", "ZLID", "ZIDENTIFIER"]
        )
        for row in db.execute(
            f"SELECT Z_PK, ZFULLNAME, ZPHONENUMBER{''.join(', ' + c for c in cols)} "
            "FROM ZWAADDRESSBOOKCONTACT ORDER BY Z_PK"
        ):
            row = {k: text_value(v) for k, v in dict(row).items()}  # some stores keep text as BLOB
            jid = row.get("ZWHATSAPPID")
            numbers = [n for n in dict.fromkeys([row.get("ZPHONENUMBER"), jid_phone(jid)]) if n]
            yield build(
                Contact,
                app=APP,
                name=row.get("ZFULLNAME"),
                phone_numbers=numbers,
                handles=[h for h in (jid, row.get("ZLID")) if h],
                extra={k: row[k] for k in ("ZPHONENUMBERLABEL", "ZABOUTTEXT", "ZIDENTIFIER") if row.get(k)},
                source_table="ZWAADDRESSBOOKCONTACT",
                source_row=str(row["Z_PK"]),
            )


def text_value(value: object) -> object:
    """Text columns stored with BLOB affinity (seen in real ContactsV2 copies) read as UTF-8 text."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", errors="replace")
    return value
