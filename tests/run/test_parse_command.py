"""`triage parse FILE`: every third-party database and photo goes through the parsers *and* the store."""

import json
from pathlib import Path

import pytest

from triage.cli import main

THIRD = Path(__file__).parents[2] / "fixtures" / "third_party"
EXPECTED_COUNTS = {  # parsed records, then what the run's passes derive from them (parties)
    "plaso/test_data/android/mmssms.db": {"message": 9, "party": 1},
    "plaso/test_data/android/contacts2.db": {"call": 3, "party": 1},
    "plaso/test_data/sqlite/imessage_chat.db": {"message": 10, "party": 1},
    "lab-whatsapp/msgstore.db": {"message": 46, "party": 2},
    "lab-whatsapp/wa.db": {"contact": 11, "party": 12},
    "er-simon/msgstore.db": {"message": 19, "contact": 1, "party": 3},  # the contact card shared in message 17
    "ileapp-whatsapp-ios/ChatStorage.sqlite": {"message": 32, "location": 4, "party": 1},
    "ileapp-whatsapp-ios/ContactsV2.sqlite": {"contact": 9, "party": 6},
    "exif-samples/jpg/gps/DSCN0010.jpg": {"media_file": 1, "location": 1},
    "exif-samples/jpg/Canon_40D.jpg": {"media_file": 1},
}
DERIVED = {"party", "payment", "finding"}  # made by the passes from other records: no source row of their own


def run_parse(path: Path, capsys) -> list[dict]:
    assert main(["parse", "--json", str(path)]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


@pytest.mark.parametrize("name", sorted(EXPECTED_COUNTS))
def test_parse_prints_typed_records_with_provenance(name, capsys, unchanged):
    path = THIRD / name
    unchanged(path.parent)
    records = run_parse(path, capsys)
    counts: dict[str, int] = {}
    for r in records:
        counts[r["type"]] = counts.get(r["type"], 0) + 1
        if r["type"] not in DERIVED:
            assert r["provenance"]["sha256"] and r["provenance"]["path"].endswith("/" + path.name)
    assert counts == EXPECTED_COUNTS[name]


def test_photo_location_links_to_its_media_record(capsys):
    records = run_parse(THIRD / "exif-samples/jpg/gps/DSCN0010.jpg", capsys)
    media = next(r for r in records if r["type"] == "media_file")
    location = next(r for r in records if r["type"] == "location")
    assert location["media_file_id"] == media["id"]
    assert location["latitude"] == pytest.approx(43.4674483333333, abs=1e-6)


def test_unrecognised_file_says_so(tmp_path, capsys):
    junk = tmp_path / "notes.txt"
    junk.write_text("hello")
    assert main(["parse", str(junk)]) == 0
    assert "no parser recognised" in capsys.readouterr().out


def test_lookalike_database_is_refused_with_a_warning(tmp_path, capsys):
    import sqlite3

    fake = tmp_path / "com.android.providers.telephony" / "databases"
    fake.mkdir(parents=True)
    db = fake / "mmssms.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE sms (_id INTEGER PRIMARY KEY, address TEXT)")
    assert main(["parse", "--json", str(db)]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "android_sms (not parsed): unknown schema: missing sms.body, sms.date, sms.type" in captured.err


def test_parse_runs_the_passes_of_a_run(tmp_path, capsys):
    """A loose SMS database shows its payments as `triage run` would (the registered passes)."""
    import sqlite3

    db = tmp_path / "mmssms.db"
    with sqlite3.connect(db) as con:
        con.execute(
            "CREATE TABLE sms (_id INTEGER PRIMARY KEY, thread_id INTEGER, address TEXT, date INTEGER, "
            "date_sent INTEGER, type INTEGER, body TEXT, read INTEGER, seen INTEGER)"
        )
        con.execute(
            "INSERT INTO sms (thread_id, address, date, date_sent, type, body, read, seen) VALUES "
            "(1, '+447700900123', 1714000000000, 1714000000000, 1, 'send 2,500 pounds to sort code "
            "08-99-99 account 66374958', 1, 1)"
        )
    con.close()
    records = run_parse(db, capsys)
    payments = [r for r in records if r["type"] == "payment"]
    assert {p["method"] for p in payments} == {"uk_account"}
    assert payments[0]["extra"]["amount_text"] == "2,500 pounds"
    assert [r["type"] for r in records].count("party") == 1
