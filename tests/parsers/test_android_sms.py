import json
import sqlite3
from pathlib import Path

from parsers.base import open_sqlite
from parsers.sms.android_sms import AndroidSmsParser
from tests.parser_context import parse_file
from triage.model.timeutil import iso

THIRD = Path(__file__).parents[2] / "fixtures" / "third_party"
PLASO_SMS = THIRD / "plaso/test_data/android/mmssms.db"
EXPECTED = json.loads((THIRD / "expected_parsers.json").read_text())


def test_plaso_mmssms_all_rows_with_provenance_and_times(tmp_path, unchanged):
    unchanged(PLASO_SMS)
    records, warnings = parse_file(AndroidSmsParser(), PLASO_SMS, tmp_path)
    expected = EXPECTED["plaso/test_data/android/mmssms.db"]["sqlite"]
    assert len(records) == expected["main_tables"]["sms"] == 9
    assert warnings == []
    by_row = {r.source_row: r for r in records}
    for sample in expected["samples"]["sms"]["first"] + expected["samples"]["sms"]["last"]:
        m = by_row[str(sample["_id"])]
        assert m.time_raw == sample["date"] and m.time_encoding == "unix_ms"
        assert m.direction == {1: "incoming", 2: "outgoing"}[sample["type"]]
        assert len(m.body) == sample["len(body)"] and len(m.counterpart) == sample["len(address)"]
        assert m.read == bool(sample["read"])
        assert m.source_table == "sms"
    first = by_row["1"]
    assert iso(first.time_utc) == "2013-10-29T16:56:28.038Z"
    assert first.body == "Yo Fred this is my new number." and first.sender is None
    third = by_row["3"]
    assert third.sender == "15555215554" and third.sent_raw == 1383066340000
    assert iso(third.sent_utc) == "2013-10-29T17:05:40Z"


def test_missing_columns_are_named(tmp_path):
    db_path = tmp_path / "mmssms.db"
    with sqlite3.connect(db_path) as db:
        db.execute("CREATE TABLE sms (_id INTEGER PRIMARY KEY, address TEXT, date INTEGER, type INTEGER)")
    with open_sqlite(db_path) as db:
        assert AndroidSmsParser().missing_structure(db) == ["sms.body"]


def test_unknown_type_code_is_a_warning_not_a_guess(tmp_path):
    db_path = tmp_path / "mmssms.db"
    with sqlite3.connect(db_path) as db:
        db.execute("CREATE TABLE sms (_id INTEGER PRIMARY KEY, address TEXT, date INTEGER, type INTEGER, body TEXT)")
        db.execute("INSERT INTO sms VALUES (1, '+447911123456', 1746238440000, 19, 'alert')")
    records, warnings = parse_file(AndroidSmsParser(), db_path, tmp_path)
    assert records[0].direction == "unknown" and records[0].status == "type 19"
    assert warnings and "unknown type code 19" in warnings[0]
