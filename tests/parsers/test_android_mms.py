"""Android MMS (pdu/part/addr) and Samsung spam_sms, in a database with the real AOSP mmssms.db schema."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from fixtures.build_demo import TEMPLATE_DB, created_by_sqlite, template_schema
from triage.run.loose_parse import parse_loose_file

T0 = 1747044000  # 2025-05-12T10:00:00Z


def schema_copy(path: Path) -> sqlite3.Connection:
    """An empty mmssms.db with every table, index and trigger of a real one."""
    schema, user_version, _ = template_schema(TEMPLATE_DB)
    db = sqlite3.connect(path)
    virtual = {name for _, name, _, sql in schema if sql and sql.upper().startswith("CREATE VIRTUAL TABLE")}
    for _, name, _, sql in schema:
        if not created_by_sqlite(name, sql, virtual):
            db.execute(sql)
    db.execute(f"PRAGMA user_version = {user_version}")
    return db


@pytest.fixture()
def mmssms(tmp_path: Path) -> Path:
    path = tmp_path / "mmssms.db"
    db = schema_copy(path)
    db.execute(
        "INSERT INTO pdu (_id, thread_id, date, date_sent, msg_box, read, sub, m_type, ct_t) VALUES "
        "(1, 7, ?, ?, 1, 1, NULL, 132, 'application/vnd.wap.multipart.related')",
        (T0, T0 - 5),
    )
    db.execute("INSERT INTO pdu (_id, thread_id, date, msg_box, read, m_type) VALUES (2, 7, ?, 2, 1, 128)", (T0 + 60,))
    parts = [
        (1, 1, -1, "application/smil", None, "<smil>…</smil>", None),
        (
            2,
            1,
            0,
            "image/jpeg",
            "IMG_0001.jpg",
            None,
            "/data/user_de/0/com.android.providers.telephony/app_parts/PART_1747044000_IMG_0001.jpg",
        ),
        (3, 1, 1, "text/plain", "text_0.txt", "Photo of the beach at Gravelines", None),
        (4, 2, 0, "text/plain", "text_0.txt", "Got it. Tomorrow 3am", None),
    ]
    db.executemany("INSERT INTO part (_id, mid, seq, ct, cl, text, _data) VALUES (?, ?, ?, ?, ?, ?, ?)", parts)
    addrs = [
        (1, 1, "+33612345678", 137),
        (2, 1, "insert-address-token", 151),
        (3, 2, "insert-address-token", 137),
        (4, 2, "+33612345678", 151),
        (5, 2, "+9647501234567", 130),
    ]
    db.executemany("INSERT INTO addr (_id, msg_id, address, type, charset) VALUES (?, ?, ?, ?, 106)", addrs)
    db.execute(
        "CREATE TABLE spam_sms (_id INTEGER PRIMARY KEY, address TEXT, date INTEGER, type INTEGER, body TEXT, "
        "read INTEGER)"
    )
    db.execute("INSERT INTO spam_sms VALUES (1, '+447400123456', ?, 1, 'Crossing tonight 1500 euro', 0)", (T0 * 1000,))
    db.commit()
    db.close()
    return path


def test_mms_text_attachments_addresses_and_second_dates(mmssms: Path) -> None:
    records, warnings = parse_loose_file(mmssms)
    assert warnings == []
    mms = [r for r in records if r["type"] == "message" and r["app"] == "mms"]
    assert [m["provenance"]["row"] for m in mms] == ["1", "2"]
    incoming, outgoing = mms
    assert (incoming["direction"], incoming["counterpart"], incoming["sender"]) == (
        "incoming",
        "+33612345678",
        "+33612345678",
    )
    assert incoming["body"] == "Photo of the beach at Gravelines"  # SMIL layout skipped
    assert incoming["time_utc"] == "2025-05-12T10:00:00Z" and incoming["time_encoding"] == "unix_s"
    assert incoming["sent_utc"] == "2025-05-12T09:59:55Z"
    assert incoming["extra"]["attachments"] == [
        {
            "ct": "image/jpeg",
            "cl": "IMG_0001.jpg",
            "_data": "/data/user_de/0/com.android.providers.telephony/app_parts/PART_1747044000_IMG_0001.jpg",
        }
    ]
    assert "recipients" not in incoming["extra"]  # the phone's own number token is not a party
    assert (outgoing["direction"], outgoing["counterpart"], outgoing["sender"]) == ("outgoing", "+33612345678", None)
    assert outgoing["extra"]["recipients"] == ["+33612345678", "+9647501234567"]  # TO then CC
    assert outgoing["body"] == "Got it. Tomorrow 3am" and outgoing["provenance"]["table"] == "pdu"


def test_spam_filtered_sms_are_reported_and_flagged(mmssms: Path) -> None:
    records, _ = parse_loose_file(mmssms)
    (spam,) = [r for r in records if r["type"] == "message" and r["provenance"]["table"] == "spam_sms"]
    assert spam["body"] == "Crossing tonight 1500 euro" and spam["extra"]["filtered_as_spam"] is True
    assert spam["time_utc"] == "2025-05-12T10:00:00Z" and spam["direction"] == "incoming"
