"""iOS AddressBook contacts and CallHistory calls, and rows that live only in a database's -wal."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from fixtures.build_ios_dbs import CALLS, WAL_ONLY_CALLS, build_addressbook, build_callhistory
from triage.run.loose_parse import parse_loose_file


@pytest.fixture()
def addressbook(tmp_path: Path) -> Path:
    path = tmp_path / "AddressBook.sqlitedb"
    build_addressbook(path)
    return path


def test_addressbook_people_with_numbers_labels_and_dates(addressbook: Path) -> None:
    records, warnings = parse_loose_file(addressbook)
    contacts = [r for r in records if r["type"] == "contact"]
    assert warnings == []
    assert [c["name"] for c in contacts] == ["Karwan Aziz", "Ahmed", "Boat Repairs Dunkerque"]
    karwan, ahmed, garage = contacts
    assert karwan["phone_numbers"] == ["+964 750 123 4567", "07501234567"]
    assert karwan["extra"]["phone_labels"] == ["Mobile", "Home"]
    assert karwan["extra"]["CreationDate"] == {"raw": 768700800 - 86400 * 30, "utc": "2025-04-12T00:00:00Z"}
    assert ahmed["emails"] == ["ahmed@example.org"] and ahmed["extra"]["phone_labels"] == ["iPhone"]
    assert garage["extra"]["Organization"] == "Boat Repairs Dunkerque"
    assert [(c["provenance"]["table"], c["provenance"]["row"]) for c in contacts] == [
        ("ABPerson", "1"),
        ("ABPerson", "2"),
        ("ABPerson", "3"),
    ]


def test_call_history_directions_apps_and_durations(tmp_path: Path) -> None:
    path = tmp_path / "CallHistory.storedata"
    build_callhistory(path)
    records, warnings = parse_loose_file(path)
    calls = [r for r in records if r["type"] == "call"]
    assert warnings == [] and len(calls) == len(CALLS)
    assert [(c["direction"], c["app"], c["counterpart"], c["duration_s"], c["video"]) for c in calls] == [
        ("incoming", "phone", "+9647501234567", 62.0, False),
        ("missed", "phone", "+33612345678", 0.0, False),
        ("outgoing", "whatsapp", "+447400123456", 305.5, False),  # ZADDRESS stored as a BLOB
        ("outgoing", "facetime", "+33612345678", 41.0, True),
    ]
    assert calls[0]["time_utc"] == "2025-05-12T01:00:00Z" and calls[0]["time_raw"] == 768700800 + 3600
    assert calls[0]["time_encoding"] == "cocoa_s"
    assert calls[0]["extra"]["ZISO_COUNTRY_CODE"] == "iq" and calls[0]["extra"]["call_type"] == "phone"
    assert not any(c["extra"].get("wal_only") for c in calls)


def test_rows_only_in_the_wal_are_read_and_flagged(tmp_path: Path) -> None:
    path = tmp_path / "CallHistory.storedata"
    build_callhistory(path, wal=True)
    wal = path.with_name(path.name + "-wal")
    assert wal.stat().st_size > 0
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in (path, wal)}
    records, _ = parse_loose_file(path)
    calls = {int(r["provenance"]["row"]): r for r in records if r["type"] == "call"}
    assert sorted(calls) == [c[0] for c in CALLS + WAL_ONLY_CALLS]
    assert {pk for pk, c in calls.items() if c["extra"].get("wal_only")} == {c[0] for c in WAL_ONLY_CALLS}
    assert calls[6]["direction"] == "missed" and calls[6]["time_utc"] == "2025-05-14T00:01:00Z"
    assert before == {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in (path, wal)}  # never written
