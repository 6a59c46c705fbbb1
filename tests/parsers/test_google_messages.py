"""Google Messages bugle_db: every message and contact field, across the AOSP, Google and LineageOS-RCS layouts,
and the warnings for codes and schemas the parser does not know."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fixtures.build_bugle_db import build_bugle_db
from triage.run.loose_parse import parse_loose_file

KARWAN, FR, AHMED, OWN = "+9647501234567", "+33612345678", "+447400123456", "+447700900123"
SELF = {"normalized_destination": OWN, "sub_id": 1, "subscription_name": "EE"}
GROUP = [FR, KARWAN, AHMED]
IMAGE = {"content_type": "image/jpeg", "uri": "content://mms/part/31", "width": 1280, "height": 960}
IMAGE_GOOGLE = IMAGE | {
    "file_size_bytes": 48213,
    "local_cache_path": "/data/user/0/com.google.android.apps.messaging/cache/parts/IMG_20250512_101957.jpg",
}
UNKNOWN_STATUS_WARNING = (
    "google_messages (warning): messages._id=10: unknown message_status 999 (not in AOSP "
    "MessageData); direction 'incoming' taken from the sender participant's sub_id"
)


T0 = datetime(2025, 5, 12, 10, 0, tzinfo=UTC)  # the fixture's first message, computed here


def ms(seconds: int) -> int:
    return int((T0 + timedelta(seconds=seconds)).timestamp() * 1000)


def utc(seconds: int) -> str:
    return (T0 + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def message(
    row: int,
    thread: str,
    direction: str,
    counterpart: str | None,
    sender: str | None,
    body: str,
    received: int,
    sent: int | None,
    status: str,
    read: bool,
    extra: dict[str, Any],
) -> dict[str, Any]:
    """One expected record; `received`/`sent` are seconds after 10:00:00Z (None = no send time)."""
    return {
        "app": "google messages",
        "thread": thread,
        "direction": direction,
        "counterpart": counterpart,
        "sender": sender,
        "body": body,
        "time_utc": utc(received),
        "time_raw": ms(received),
        "time_encoding": "unix_ms",
        "sent_utc": None if sent is None else utc(sent),
        "sent_raw": None if sent is None else ms(sent),
        "sent_encoding": None if sent is None else "unix_ms",
        "status": status,
        "read": read,
        "deleted": False,
        "extra": extra | moments(direction, sent),
        "row": str(row),
    }


def moments(direction: str, sent: int | None) -> dict[str, Any]:
    """extra["time_is"] (the received time for a received message, else the stored one) and the sent time."""
    return {
        "time_is": "received" if direction == "incoming" else "stored",
        **({} if sent is None else {"sent": {"raw": ms(sent), "utc": utc(sent)}}),
    }


def sms_extra(status: int, uri: str | None, conversation: str, **more: Any) -> dict[str, Any]:
    extra = {
        "message_status": status,
        "protocol": "SMS",
        "message_protocol": 0,
        "seen": 1,
        "conversation_name": conversation,
        "self": SELF,
        **more,
    }
    if uri:
        extra["sms_message_uri"] = uri
    return extra


def group_extra(status: int, **more: Any) -> dict[str, Any]:
    return {
        "message_status": status,
        "protocol": "MMS",
        "message_protocol": 1,
        "seen": 1,
        "conversation_name": "Dunkerque crew",
        "group_members": GROUP,
        "self": SELF,
        **more,
    }


def expected_messages() -> list[dict[str, Any]]:
    """The google layout, row by row."""
    return [
        message(
            1,
            "1",
            "incoming",
            KARWAN,
            KARWAN,
            "Price is 1500 euros each, cash. Half before, half on the beach.",
            0,
            -4,
            "INCOMING_COMPLETE (100)",
            True,
            sms_extra(100, "content://sms/41", "Karwan Aziz", sender_name="Karwan Aziz"),
        ),
        message(
            2,
            "1",
            "outgoing",
            KARWAN,
            None,
            "OK. Where do we meet?",
            60,
            60,
            "OUTGOING_DELIVERED (2)",
            True,
            sms_extra(2, "content://sms/42", "Karwan Aziz"),
        ),
        message(
            3,
            "1",
            "incoming",
            KARWAN,
            KARWAN,
            "Car park by the dunes near Gravelines, Thursday 2am. Bring the money.",
            120,
            117,
            "INCOMING_COMPLETE (100)",
            False,
            sms_extra(100, "content://sms/43", "Karwan Aziz", sender_name="Karwan Aziz"),
        ),
        message(
            4,
            "1",
            "outgoing",
            KARWAN,
            None,
            "Can you bring life jackets for the kids?",
            180,
            None,
            "OUTGOING_FAILED (8)",
            True,
            sms_extra(8, "content://sms/44", "Karwan Aziz"),
        ),
        message(
            5,
            "2",
            "incoming",
            FR,
            FR,
            "Boat leaves Thursday if the wind drops.\nEveryone at the meeting point by 1am.",
            600,
            598,
            "INCOMING_COMPLETE (100)",
            True,
            group_extra(100, sender_blocked=True),
        ),
        message(
            6,
            "2",
            "outgoing",
            None,
            None,
            "I will send the money tonight",
            660,
            660,
            "OUTGOING_COMPLETE (1)",
            True,
            group_extra(1),
        ),
        message(
            7,
            "2",
            "incoming",
            AHMED,
            AHMED,
            "Price now 1200 € each for the group",
            720,
            719,
            "INCOMING_COMPLETE (100)",
            False,
            group_extra(100, sender_name="Ahmed"),
        ),
        message(
            8,
            "3",
            "incoming",
            FR,
            FR,
            "Photo of the boat",
            1200,
            1191,
            "INCOMING_COMPLETE (100)",
            True,
            {
                "message_status": 100,
                "protocol": "MMS",
                "message_protocol": 1,
                "seen": 1,
                "sms_message_uri": "content://mms/12",
                "conversation_name": "+33 6 12 34 56 78",
                "self": SELF,
                "sender_blocked": True,
                "attachments": [IMAGE_GOOGLE],
            },
        ),
        message(
            9,
            "3",
            "draft",
            FR,
            None,
            "3 adults 2 children",
            1260,
            None,
            "OUTGOING_DRAFT (3)",
            True,
            sms_extra(3, None, "+33 6 12 34 56 78"),
        ),
        message(
            10,
            "1",
            "incoming",
            KARWAN,
            KARWAN,
            "Weather is good. Be ready.",
            1800,
            1798,
            "unknown (999)",
            False,
            sms_extra(999, "content://sms/45", "Karwan Aziz", sender_name="Karwan Aziz"),
        ),
    ]


def messages_of(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for r in records:
        if r["type"] != "message":
            continue
        assert r["provenance"]["table"] == "messages"
        out.append(
            {k: v for k, v in r.items() if k not in ("type", "id", "provenance")} | {"row": r["provenance"]["row"]}
        )
    return out


def build(tmp_path: Path, layout: str, change: Callable[[sqlite3.Connection], None] | None = None) -> Path:
    (tmp_path / layout).mkdir()
    path = build_bugle_db(tmp_path / layout / "bugle_db", layout)
    if change is not None:
        db = sqlite3.connect(path)
        change(db)
        db.commit()
        db.close()
    return path


def test_google_layout_every_message_field(tmp_path: Path) -> None:
    path = build(tmp_path, "google")
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    records, warnings = parse_loose_file(path)
    assert warnings == [UNKNOWN_STATUS_WARNING]
    got = messages_of(records)
    for g, e in zip(got, expected_messages(), strict=True):
        assert g == e, f"messages._id={e['row']}"
    assert {r["provenance"]["sha256"] for r in records} == {before}
    assert {r["provenance"]["path"] for r in records} == {"file bugle_db → /bugle_db"}
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before  # read from a copy, never written


def test_participant_names_become_contacts(tmp_path: Path) -> None:
    records, _ = parse_loose_file(build(tmp_path, "google"))
    contacts = [
        {k: v for k, v in r.items() if k not in ("id", "provenance")} | {"row": r["provenance"]["row"]}
        for r in records
        if r["type"] == "contact"
    ]
    # the own SIM participant and the number whose full_name is only the formatted number are not contacts
    assert contacts == [
        {
            "type": "contact",
            "app": "google messages",
            "name": "Karwan Aziz",
            "phone_numbers": [KARWAN],
            "emails": [],
            "handles": [],
            "extra": {
                "first_name": "Karwan",
                "display_destination": "+964 750 123 4567",
                "send_destination": "+964 750 123 4567",
                "contact_id": 12,
            },
            "row": "2",
        },
        {
            "type": "contact",
            "app": "google messages",
            "name": "Ahmed",
            "phone_numbers": [AHMED],
            "emails": [],
            "handles": [],
            "extra": {
                "first_name": "Ahmed",
                "display_destination": "07400 123456",
                "send_destination": "07400 123456",
                "contact_id": 15,
            },
            "row": "4",
        },
    ]
    assert {r["provenance"]["table"] for r in records if r["type"] == "contact"} == {"participants"}


def test_aosp_layout_reads_alike_without_the_newer_part_columns(tmp_path: Path) -> None:
    records, warnings = parse_loose_file(build(tmp_path, "aosp"))
    assert warnings == [UNKNOWN_STATUS_WARNING]
    expected = expected_messages()
    expected[7]["extra"]["attachments"] = [IMAGE]  # no file_size_bytes / local_cache_path before Google added them
    assert messages_of(records) == expected


def test_lineage_rcs_layout_marks_the_group_chat_as_rcs(tmp_path: Path) -> None:
    records, warnings = parse_loose_file(build(tmp_path, "lineage-rcs"))
    assert warnings == [UNKNOWN_STATUS_WARNING]
    expected = expected_messages()
    expected[7]["extra"]["attachments"] = [IMAGE]
    rcs_ids = {5: "Mr5x9GkQ2aYtW1", 6: "Mr7b2LpC8dZuV3", 7: "Mr9c4NqE6fXsT5"}
    for e in expected:
        row = int(e["row"])
        e["extra"]["transport_type"] = 1 if row in rcs_ids else 0  # raw value, 0 = SMS/MMS by protocol
        e["extra"]["rcs_status"] = 0
        if row in rcs_ids:
            e["extra"] |= {"protocol": "RCS", "rcs_message_id": rcs_ids[row]}
    assert messages_of(records) == expected


def test_unknown_status_keeps_the_raw_code_and_warns(tmp_path: Path) -> None:
    records, warnings = parse_loose_file(build(tmp_path, "google"))
    (row10,) = [m for m in messages_of(records) if m["row"] == "10"]
    assert row10["status"] == "unknown (999)" and row10["extra"]["message_status"] == 999
    assert row10["direction"] == "incoming"  # from the sender participant (sub_id -2 = not the phone's own)
    assert warnings == [UNKNOWN_STATUS_WARNING]


def test_protocol_code_outside_aosp_is_kept_raw_and_reported_once(tmp_path: Path) -> None:
    path = build(
        tmp_path, "google", lambda db: db.execute("UPDATE messages SET message_protocol = 3 WHERE conversation_id = 2")
    )
    records, warnings = parse_loose_file(path)
    group = [m for m in messages_of(records) if m["thread"] == "2"]
    assert [(m["extra"]["protocol"], m["extra"]["message_protocol"]) for m in group] == [("protocol 3", 3)] * 3
    protocol_warning = (
        "google_messages (warning): messages.message_protocol 3 is not an AOSP protocol code "
        "(first at messages._id=5); kept raw as 'protocol 3'"
    )
    assert warnings == [protocol_warning, UNKNOWN_STATUS_WARNING]  # in row order


def test_database_without_parts_is_an_unknown_schema_not_an_empty_result(tmp_path: Path) -> None:
    def drop_parts(db: sqlite3.Connection) -> None:
        db.execute("DROP VIEW draft_parts_view")
        db.execute("DROP TABLE parts")

    records, warnings = parse_loose_file(build(tmp_path, "google", drop_parts))
    assert records == []
    assert warnings == ["google_messages (not parsed): unknown schema: missing table parts"]


def test_renamed_copy_is_recognised_by_structure(tmp_path: Path) -> None:
    path = build(tmp_path, "google")
    renamed = path.rename(path.with_name("exhibit_7_messages.sqlite"))
    records, warnings = parse_loose_file(renamed)
    assert warnings == [UNKNOWN_STATUS_WARNING]
    assert len([r for r in records if r["type"] == "message"]) == 10
