"""WhatsApp Android modern / LID-era msgstore.db and wa.db, built by fixtures/build_whatsapp_android.py:
every field of every record checked against the builder's values."""

from __future__ import annotations

from datetime import UTC

import pytest

from fixtures.build_whatsapp_android import (
    IMAGE_BYTES,
    LIVE_END,
    LIVE_START,
    STATIC_LOCATION,
    T0,
    build_msgstore,
    build_wa,
    file_hash,
)
from triage.run.loose_parse import parse_loose_file

ORGANISER, PASSENGER = "33612345678@s.whatsapp.net", "9647501234567@s.whatsapp.net"
GROUP, MEMBER = "120363025246125486@g.us", "447400123456@s.whatsapp.net"


def at(minutes: float) -> str:
    from datetime import datetime

    return datetime.fromtimestamp((T0 + minutes * 60_000) / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def records(tmp_path_factory) -> dict[str, list[dict]]:
    folder = tmp_path_factory.mktemp("wa")
    build_msgstore(folder / "msgstore.db")
    build_wa(folder / "wa.db")
    out: dict[str, list[dict]] = {}
    for name in ("msgstore.db", "wa.db"):
        found, warnings = parse_loose_file(folder / name)
        assert warnings == []
        for record in found:
            out.setdefault(f"{name}:{record['type']}", []).append(record)
    return out


def messages(records: dict) -> dict[int, dict]:
    return {int(m["provenance"]["row"]): m for m in records["msgstore.db:message"]}


def test_every_message_row_but_the_placeholder(records) -> None:
    assert sorted(messages(records)) == list(range(2, 14))
    assert all(m["extra"]["generation"] == "modern" for m in messages(records).values())


def test_text_direction_time_and_status(records) -> None:
    m = messages(records)
    assert (m[2]["direction"], m[2]["counterpart"], m[2]["sender"], m[2]["body"]) == (
        "outgoing",
        ORGANISER,
        None,
        "Salam, is there space on the boat this week?",
    )
    assert (m[2]["time_utc"], m[2]["time_raw"], m[2]["time_encoding"]) == (at(0), T0, "unix_ms")
    assert m[2]["status"] == "status 13" and m[2]["thread"] == ORGANISER
    assert (m[3]["direction"], m[3]["sender"]) == ("incoming", ORGANISER)
    assert m[3]["extra"]["received"] == {"raw": T0 + 5 * 60_000 + 1500, "utc": "2025-05-12T12:05:01.500Z"}


def test_quoted_forwarded_media_revoked_edited_starred(records) -> None:
    m = messages(records)
    assert m[5]["extra"]["quoted"] == {
        "key_id": "3EB0A2",
        "text": "Yes. 1500 euro per person, cash or hawala",
        "from_me": False,
    }
    media = m[7]["extra"]["media"]
    assert media == {
        "file_path": "Media/WhatsApp Images/IMG-20250512-WA0003.jpg",
        "file_size": len(IMAGE_BYTES),
        "mime_type": "image/jpeg",
        "file_hash": file_hash(IMAGE_BYTES),
        "width": 1280,
        "height": 960,
        "transferred": 1,
    }
    assert m[7]["body"] == "the boat" and m[7]["extra"]["forwarded"] and m[7]["extra"]["forward_score"] == 5
    assert m[8]["deleted"] and m[8]["extra"]["revoked"] and m[8]["extra"]["message_type_name"] == "deleted by sender"
    assert m[9]["extra"]["edited"] == {"raw": T0 + 82 * 60_000, "utc": at(82)}
    assert m[13]["extra"]["starred"] is True


def test_group_sender_resolved_from_lid_and_system_message(records) -> None:
    m = messages(records)
    assert (m[11]["counterpart"], m[11]["sender"], m[11]["extra"]["group_subject"]) == (GROUP, MEMBER, "Dunkirk May")
    assert m[12]["direction"] == "system" and m[12]["extra"]["system_action_type"] == 12


def test_cleared_chat_is_reported_and_flagged(records) -> None:
    m = messages(records)
    assert {row for row, msg in m.items() if msg["extra"].get("hidden_by_app")} == {10}  # chat 2 cleared to 10
    assert m[10]["extra"]["message_type_name"] == "vcard"


def test_static_and_live_locations_linked_to_their_messages(records) -> None:
    locations = records["msgstore.db:location"]
    by_origin = {loc["origin"]: loc for loc in locations}
    static = by_origin["whatsapp shared location"]
    lat, lon, name, address = STATIC_LOCATION
    assert (static["latitude"], static["longitude"], static["label"]) == (lat, lon, name)
    assert static["extra"]["place_address"] == address and static["time_utc"] == at(6)
    start, last = by_origin["whatsapp live location (start)"], by_origin["whatsapp live location (last position)"]
    assert (start["latitude"], start["longitude"], start["extra"]["live_location_share_duration"]) == (*LIVE_START, 900)
    assert (last["latitude"], last["longitude"], last["time_utc"]) == (*LIVE_END, at(75))
    ids = {m["id"]: int(m["provenance"]["row"]) for m in records["msgstore.db:message"]}
    assert [ids[loc["message_id"]] for loc in locations] == [4, 6, 6]


def test_shared_vcard_becomes_a_contact(records) -> None:
    (card,) = records["msgstore.db:contact"]
    assert (card["app"], card["name"], card["phone_numbers"]) == (
        "whatsapp vcard",
        "Abu Jamal",
        ["+33 6 12 34 56 78", "+33612345678"],
    )
    assert card["extra"] == {"shared_in_chat": PASSENGER, "message_row_id": 10, "message_key_id": "3EB0B1"}
    assert (card["provenance"]["table"], card["provenance"]["row"]) == ("message_vcard", "1")


def test_calls_with_duration_video_and_result(records) -> None:
    calls = records["msgstore.db:call"]
    assert [
        (c["direction"], c["counterpart"], c["duration_s"], c["video"], c["extra"]["call_result_name"], c["time_utc"])
        for c in calls
    ] == [
        ("incoming", ORGANISER, 120.0, False, "answered", at(30)),
        ("outgoing", PASSENGER, 30.0, True, "answered", at(100)),
        ("missed", ORGANISER, 0.0, False, "missed", at(140)),
    ]


def test_wa_contacts_with_numbers_from_jids(records) -> None:
    contacts = records["wa.db:contact"]
    assert [(c["name"], c["phone_numbers"], c["handles"]) for c in contacts] == [
        ("Abu Jamal", ["+33612345678", "+33 6 12 34 56 78"], [ORGANISER]),
        ("Karwan", ["+9647501234567", "07501234567"], [PASSENGER]),
        ("Dunkirk May", [], [GROUP]),
        ("Rebar", ["+447400123456", "+44 7400 123456"], [MEMBER]),
    ]
