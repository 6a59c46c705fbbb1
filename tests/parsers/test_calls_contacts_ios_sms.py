import json
from pathlib import Path

from parsers.contacts_calls.android_calls import AndroidCallLogParser
from parsers.contacts_calls.android_contacts import AndroidContactsParser
from parsers.sms.android_sms import AndroidSmsParser
from parsers.sms.ios_sms import IosSmsParser, cocoa
from tests.parser_context import parse_file
from triage.model.timeutil import iso

THIRD = Path(__file__).parents[2] / "fixtures" / "third_party"
EXPECTED = json.loads((THIRD / "expected_parsers.json").read_text())


def test_android_calls_in_contacts2(tmp_path, unchanged):
    db = THIRD / "plaso/test_data/android/contacts2.db"
    unchanged(db)
    calls, warnings = parse_file(AndroidCallLogParser(), db, tmp_path)
    expected = EXPECTED["plaso/test_data/android/contacts2.db"]["sqlite"]
    assert len(calls) == expected["main_tables"]["calls"] and warnings == []
    by_row = {c.source_row: c for c in calls}
    for s in expected["samples"]["calls"]["first"]:
        c = by_row[str(s["_id"])]
        assert c.time_raw == s["date"] and c.duration_s == s["duration"]
        assert c.direction == {1: "incoming", 2: "outgoing", 3: "missed"}[s["type"]]
        assert len(c.counterpart) == s["len(number)"]
    assert iso(by_row["715"].time_utc) == "2013-11-06T21:18:53.283Z"
    assert by_row["715"].extra["normalized_number"] == "+15404561685"


def test_android_contacts_structure_check_names_what_is_missing():
    # plaso's contacts2.db is a cut-down copy (calls, contacts, data; no raw_contacts): the
    # pipeline refuses it for contacts with a warning that names the missing table, and reads its calls
    from parsers.base import open_sqlite

    with open_sqlite(THIRD / "plaso/test_data/android/contacts2.db") as db:
        missing = AndroidContactsParser().missing_structure(db)
    assert missing == ["table raw_contacts"]


def test_empty_mmssms_template_gives_no_messages(tmp_path):
    records, warnings = parse_file(AndroidSmsParser(), THIRD / "teleshoes-smsimporter/mmssms.db", tmp_path)
    assert EXPECTED["teleshoes-smsimporter/mmssms.db"]["sqlite"]["main_tables"]["sms"] == 0
    assert records == [] and warnings == []


def test_imessage_chat_db(tmp_path, unchanged):
    db = THIRD / "plaso/test_data/sqlite/imessage_chat.db"
    unchanged(db)
    messages, warnings = parse_file(IosSmsParser(), db, tmp_path)
    expected = EXPECTED["plaso/test_data/sqlite/imessage_chat.db"]["sqlite"]
    assert len(messages) == expected["main_tables"]["message"] and warnings == []
    by_row = {m.source_row: m for m in messages}
    for s in expected["samples"]["message"]["first"] + expected["samples"]["message"]["last"]:
        m = by_row[str(s["ROWID"])]
        assert m.time_raw == s["date"]
        assert m.direction == ("outgoing" if s["is_from_me"] else "incoming")
        assert len(m.body) == s["len(text)"]
    assert by_row["1"].body.startswith("Hey Kenneth, it's Eireanne!")
    assert by_row["1"].app == "imessage"


def test_cocoa_unit_is_chosen_per_value():
    assert iso(cocoa(588813210539788032).utc) == iso(cocoa(588813210.539788032).utc) == "2019-08-29T23:13:30.539Z"
    assert cocoa(588813210).encoding == "cocoa_s" and cocoa(588813210539788032).encoding == "cocoa_ns"
