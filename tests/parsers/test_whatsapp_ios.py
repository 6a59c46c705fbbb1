import json
from pathlib import Path

import pytest

from parsers.whatsapp.ios import WhatsAppIosContactsParser, WhatsAppIosParser
from tests.parser_context import parse_file
from triage.model.records import Location, Message
from triage.model.timeutil import iso

THIRD = Path(__file__).parents[2] / "fixtures" / "third_party"
EXPECTED = json.loads((THIRD / "expected_parsers.json").read_text())
CHAT = THIRD / "ileapp-whatsapp-ios/ChatStorage.sqlite"


def test_every_message_row_with_times(tmp_path, unchanged):
    unchanged(CHAT)
    records, warnings = parse_file(WhatsAppIosParser(), CHAT, tmp_path)
    expected = EXPECTED["ileapp-whatsapp-ios/ChatStorage.sqlite"]["sqlite"]
    messages = [r for r in records if isinstance(r, Message)]
    assert len(messages) == expected["main_tables"]["ZWAMESSAGE"]
    by_row = {m.source_row: m for m in messages}
    for s in expected["samples"]["ZWAMESSAGE"]["first"] + expected["samples"]["ZWAMESSAGE"]["last"]:
        m = by_row[str(s["Z_PK"])]
        assert m.time_raw == s["ZMESSAGEDATE"] and m.time_encoding == "cocoa_s"
        assert m.direction in (("outgoing",) if s["ZISFROMME"] else ("incoming", "system"))
    assert by_row["12"].body == "I’m here!" and by_row["12"].direction == "outgoing"
    assert iso(by_row["13"].time_utc) == "2023-05-02T15:57:30Z"
    assert by_row["13"].sender == "19198887386@s.whatsapp.net"
    assert warnings == []


def test_locations_only_from_location_messages(tmp_path):
    records, _ = parse_file(WhatsAppIosParser(), CHAT, tmp_path)
    locations = [r for r in records if isinstance(r, Location)]
    media = EXPECTED["ileapp-whatsapp-ios/ChatStorage.sqlite"]["sqlite"]["samples"]["ZWAMEDIAITEM"]["last"]
    # photos keep pixel sizes in ZLATITUDE/ZLONGITUDE (452 x 603): they must not become positions
    assert len(locations) == 4 and all(-90 <= x.latitude <= 90 for x in locations)
    got = {x.source_row: x for x in locations}
    for s in media:
        assert got[str(s["Z_PK"])].latitude == pytest.approx(s["ZLATITUDE"], abs=1e-9)
        assert got[str(s["Z_PK"])].longitude == pytest.approx(s["ZLONGITUDE"], abs=1e-9)
    assert all(x.longitude < 0 for x in locations)  # western hemisphere kept
    assert all(x.message.extra["message_type_name"] == "location" for x in locations)


def test_contacts_v2(tmp_path):
    records, _ = parse_file(WhatsAppIosContactsParser(), THIRD / "ileapp-whatsapp-ios/ContactsV2.sqlite", tmp_path)
    tables = EXPECTED["ileapp-whatsapp-ios/ContactsV2.sqlite"]["sqlite"]["main_tables"]
    assert len(records) == tables["ZWAADDRESSBOOKCONTACT"]
    assert all(r.app == "whatsapp" for r in records)


def test_contacts_v2_with_text_stored_as_blob(tmp_path):
    """A ContactsV2 whose text columns have BLOB affinity and hold BLOB values (as in real copies; built by
    fixtures/build_ios_backup.py): still read as text, every row a contact."""
    db = THIRD.parent / "ios_backup_plain/b8/b8548dc30aa1030df0ce18ef08b882cf7ab5212f"
    records, warnings = parse_file(WhatsAppIosContactsParser(), db, tmp_path)
    assert warnings == [] and len(records) == 2  # sqlite3: 2 rows in ZWAADDRESSBOOKCONTACT, typeof(ZFULLNAME) blob
    assert (records[0].name, records[0].phone_numbers) == ("Sam Example", ["+447700900461"])
    assert records[0].handles == ["447700900461@s.whatsapp.net", "100000000000001@lid"]
    assert (records[1].name, records[1].handles) == ("Alex Sample", ["447700900463@s.whatsapp.net"])
