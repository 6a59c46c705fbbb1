"""Telegram for iOS Postbox (decrypted db_sqlite), built by fixtures/build_telegram.py: peers, messages,
a map, and what is not decoded is counted; an encrypted file is reported, not guessed at."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fixtures.build_telegram import GRAVELINES, T0, build_postbox, pb_peer
from parsers.telegram.postbox import PostboxError, peer_from_int64, read_entry, read_key, read_object
from triage.run.loose_parse import parse_loose_file


@pytest.fixture(scope="module")
def parsed(tmp_path_factory) -> tuple[list[dict], list[str]]:
    path = tmp_path_factory.mktemp("pb") / "db_sqlite"
    build_postbox(path)
    return parse_loose_file(path)


def test_peers_with_names_phone_and_username(parsed) -> None:
    contacts = {c["handles"][0]: c for c in parsed[0] if c["type"] == "contact"}
    karwan, channel = contacts["user:6100000001"], contacts["channel:1987654321"]
    assert (karwan["name"], karwan["phone_numbers"], karwan["handles"]) == (
        "Karwan Aziz",
        ["+9647501234567"],
        ["user:6100000001", "@karwan_travel"],
    )
    assert karwan["extra"]["fields"] == ["fn", "i", "ln", "p", "un"] and karwan["provenance"]["table"] == "t2"
    assert (channel["name"], channel["extra"]["peer_type"]) == ("Safe Crossing UK", "channel")


def test_messages_text_time_direction_and_author(parsed) -> None:
    msgs = {m["extra"]["message_id"]: m for m in parsed[0] if m["type"] == "message"}
    assert sorted(msgs) == [1, 2, 3, 4, 7]
    assert (msgs[1]["body"], msgs[1]["direction"], msgs[1]["sender"], msgs[1]["thread"]) == (
        "Salam, is there space?",
        "outgoing",
        None,
        "user:6100000001",
    )
    assert (msgs[1]["time_utc"], msgs[1]["time_raw"], msgs[1]["time_encoding"]) == (
        "2025-05-12T12:00:00Z",
        T0,
        "unix_s",
    )
    assert (msgs[2]["body"], msgs[2]["direction"], msgs[2]["sender"]) == (
        "Yes, 1500 euro",
        "incoming",
        "user:6100000001",
    )
    assert msgs[2]["extra"]["dialog_name"] == "Karwan Aziz" and msgs[2]["extra"]["decoded"] == "full"
    assert msgs[7]["extra"]["forward"] == {"author": "channel:1987654321", "date": T0 - 7200}
    assert msgs[7]["extra"]["attributes_not_decoded"] == 1


def test_map_media_is_a_location_linked_to_its_message(parsed) -> None:
    locs = [r for r in parsed[0] if r["type"] == "location"]
    msgs = {m["extra"]["message_id"]: m for m in parsed[0] if m["type"] == "message"}
    assert [(loc["latitude"], loc["longitude"], loc["message_id"]) for loc in locs] == [
        (GRAVELINES[0], GRAVELINES[1], msgs[3]["id"])
    ]
    assert msgs[3]["extra"]["media"] == [{"type": "map", "type_hash": 0x1D2E3F4A}]


def test_unknown_layout_bits_stop_and_are_reported(parsed) -> None:
    records, warnings = parsed
    m = [r for r in records if r["type"] == "message" and r["extra"]["message_id"] == 4][0]
    assert m["extra"]["decoded"] == "none" and m["body"] is None and m["direction"] == "unknown"
    assert "data flags 0x40" in m["extra"]["decode_problem"]
    assert warnings == [
        "telegram_ios (warning): Postbox: 4 message(s) decoded in full, 0 in part, 1 not; "
        "no media problems; attributes (replies, edits, entities …) are counted per message, "
        "not interpreted; 3 key-value tables present, 2 read"
    ]


def test_encrypted_database_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "db_sqlite"
    path.write_bytes(bytes(range(256)) * 16)  # SQLCipher pages look like noise
    records, warnings = parse_loose_file(path)
    assert records == [] and len(warnings) == 1 and "SQLCipher" in warnings[0]


def test_peer_ids_old_and_64_bit_forms() -> None:
    assert peer_from_int64((2 << 32) | 1001) == "channel:1001"
    assert peer_from_int64(pb_peer(0, 6100000001)) == "user:6100000001"
    assert peer_from_int64(pb_peer(3, 17)) == "secret:17"
    key = read_key(struct.pack(">qiii", pb_peer(1, 4000001), T0, 0, 9))
    assert (key.peer, key.timestamp, key.namespace, key.id) == ("chat:4000001", T0, 0, 9)
    assert read_key(b"\x00" * 19) is None


def test_hand_assembled_history_value() -> None:
    value = (
        struct.pack("<bIIB", 0, 1, 1, 0b101)
        + struct.pack("<q", 99)
        + struct.pack("<q", 7)
        + struct.pack("<II", 4, 0)
        + b"\x00"
        + struct.pack("<bq", 1, 5)
        + struct.pack("<i", 2)
        + b"hi"
        + struct.pack("<i", 0)
        + struct.pack("<i", 0)
        + struct.pack("<i", 1)
        + struct.pack("<iq", 1, 77)
    )
    entry = read_entry(value)
    assert entry.status == "full" and entry.fields["text"] == "hi" and entry.fields["author"] == "user:5"
    assert (entry.fields["globally_unique_id"], entry.fields["grouping_key"]) == (99, 7)
    assert entry.fields["referenced_media"] == [(1, 77)]
    assert read_entry(struct.pack("<bIii", 1, 3, 5, 0)).fields == {"hole": True}


def test_hand_assembled_postbox_object() -> None:
    inner = (
        b"\x02la\x03"
        + struct.pack("<d", 51.0)
        + b"\x02lo\x03"
        + struct.pack("<d", 2.1)
        + b"\x01t\x04"
        + struct.pack("<i", 3)
        + b"abc"
    )
    blob = b"\x01_\x05" + struct.pack("<ii", 1234, len(inner)) + inner
    assert read_object(blob) == {"_type_hash": 1234, "la": 51.0, "lo": 2.1, "t": "abc"}
    with pytest.raises(PostboxError):
        read_object(blob[:-1])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_values_never_raise(data: bytes) -> None:
    entry = read_entry(data)
    assert entry.status in ("full", "partial", "none")
    if entry.status != "full":
        assert entry.problem
    try:
        read_object(data)
    except PostboxError:
        pass
