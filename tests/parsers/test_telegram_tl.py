"""The TL decoder on byte vectors assembled by hand (struct.pack in the published field order, not the
fixture encoder), on damaged blobs, and on random input (hypothesis): it never raises, never invents."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.telegram.android_tail import read_tail, tail_ok
from parsers.telegram.tl import decode
from parsers.telegram.tl_schema import CONSTRUCTORS


def u32(v: int) -> bytes:
    return struct.pack("<I", v)


def i32(v: int) -> bytes:
    return struct.pack("<i", v)


def i64(v: int) -> bytes:
    return struct.pack("<q", v)


def f64(v: float) -> bytes:
    return struct.pack("<d", v)


def s(text: str) -> bytes:
    raw = text.encode()
    head = bytes([len(raw)]) if len(raw) <= 253 else b"\xfe" + len(raw).to_bytes(3, "little")
    return head + raw + b"\x00" * (-(len(head) + len(raw)) % 4)


def bit(*n: int) -> int:
    return sum(1 << x for x in n)


PEER_USER = u32(0x59511722) + i64(5012345678)
PEER_USER_32 = u32(0x9DB1BC6D) + i32(123456789)
DATE = 1747051200


# -- strings and primitives ----------------------------------------------------------------------


def test_string_lengths_and_padding_follow_the_wire_rules() -> None:
    assert s("hi") == b"\x02hi\x00" and len(s("x" * 300)) == 304  # measured: docs/formats/telegram.md "TL encoding"
    assert s("x" * 300)[:4] == b"\xfe\x2c\x01\x00"
    blob = u32(0x3F7EE58B) + i32(6) + s("x" * 300)  # messageMediaDice value:int emoticon:string
    got = decode(blob, "MessageMedia")
    assert got.status == "full" and got.value["emoticon"] == "x" * 300 and got.end == len(blob)


def test_non_zero_padding_is_a_reported_misread() -> None:
    blob = u32(0x3F7EE58B) + i32(6) + b"\x02hi\x01"
    got = decode(blob, "MessageMedia")
    assert got.status == "partial" and got.undecoded == ["emoticon"] and "padding" in got.problem


# -- peers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cid,payload,key,value",
    [
        (0x59511722, i64(7_000_000_001), "user_id", 7_000_000_001),
        (0x36C6019A, i64(4000001), "chat_id", 4000001),
        (0xA2A5371E, i64(1987654321), "channel_id", 1987654321),
        (0x9DB1BC6D, i32(123456789), "user_id", 123456789),
        (0xBAD0E5BB, i32(-5), "chat_id", -5),
        (0xBDDDE532, i32(1001234567), "channel_id", 1001234567),
    ],
)
def test_every_peer_constructor(cid: int, payload: bytes, key: str, value: int) -> None:
    got = decode(u32(cid) + payload, "Peer")
    assert (got.status, got.value[key], got.end) == ("full", value, 4 + len(payload))


# -- messages: each supported Message constructor, hand-assembled --------------------------------


def message_bytes(cid: int, layer: int) -> tuple[bytes, dict]:
    """A message of `layer`'s layout with a sender, text, ttl/views and the layer's newest field."""
    flags = bit(8, 10, 1)  # from_id, views+forwards, out
    flags2 = 0
    head, tail, expect = b"", b"", {"id": 77, "date": DATE, "message": "Salam", "views": 12, "forwards": 3, "out": True}
    if layer >= 131:
        flags |= bit(25)
        expect["ttl_period"] = 86400
    if layer <= 118:
        sender = i32(123456789)  # bare int32 from_id, `to_id` Peer
        expect["from_id"] = 123456789
    elif layer <= 131:
        sender = PEER_USER_32
        expect["from_id"] = {"user_id": 123456789}
    else:
        sender = PEER_USER
        expect["from_id"] = {"user_id": 5012345678}
    if layer >= 199:
        flags2 |= bit(5)
        tail += i32(DATE + 600)
        expect["report_delivery_until_date"] = DATE + 600
    if layer >= 205:
        flags2 |= bit(6)
        tail += i64(25)
        expect["paid_message_stars"] = 25
    if layer >= 224:
        flags2 |= bit(12)
        head += s("boss")
        expect["from_rank"] = "boss"
    guest = b""
    if layer >= 226:
        flags2 |= bit(19)
        guest = PEER_USER
        expect["guestchat_via_from"] = {"user_id": 5012345678}
    words = u32(flags) + (u32(flags2) if layer >= 179 else b"")
    body = words + i32(77) + sender + head + PEER_USER + guest + i32(DATE) + s("Salam") + i32(12) + i32(3)
    ttl = i32(86400) if layer >= 131 else b""
    return u32(cid) + body + ttl + tail, expect


MESSAGE_LAYERS = [
    (0x7600B9D3, 227),
    (0x95EF6F2B, 226),
    (0x3AE56482, 224),
    (0x9CB490E9, 222),
    (0xB92F76CF, 220),
    (0x9815CEC8, 216),
    (0xEABCDD4D, 205),
    (0x96FDBBE9, 199),
    (0x94345242, 195),
    (0xBDE09C2E, 180),
    (0x2357BF25, 179),
    (0xA66C7EFC, 176),
    (0x1E4C8A69, 175),
    (0x76BEC211, 173),
    (0x38116EE0, 169),
    (0x85D6CBE2, 135),
    (0xBCE383D2, 131),
    (0x58AE39C9, 123),
    (0xF52E6B7F, 118),
]


@pytest.mark.parametrize("cid,layer", MESSAGE_LAYERS)
def test_every_message_constructor_from_hand_assembled_bytes(cid: int, layer: int) -> None:
    blob, expect = message_bytes(cid, layer)
    got = decode(blob + s(" "), "Message", tail_ok)
    assert got.status == "full", got.problem
    assert got.constructor == cid and got.end == len(blob)
    for key, value in expect.items():
        actual = got.value[key]
        if isinstance(value, dict):
            actual = {k: actual[k] for k in value}
        assert actual == value, key
    assert read_tail(blob[got.end :] + s(" "), got.value).problem is None


def test_message_empty_constructors() -> None:
    assert decode(u32(0x83E5DE54) + i32(9), "Message").value["id"] == 9
    got = decode(u32(0x90A6CA84) + u32(1) + i32(9) + PEER_USER, "Message")
    assert got.status == "full" and got.value["peer_id"]["user_id"] == 5012345678


# -- service messages -------------------------------------------------------------------------------

CALL = u32(0x80E11A7F) + u32(bit(0, 1)) + i64(555001) + u32(0x57ADC690) + i32(125)


@pytest.mark.parametrize(
    "cid,pieces",
    [
        (0x2B085862, [u32(bit(8)), i32(5), PEER_USER, PEER_USER, i32(DATE), CALL]),
        (0x7A800E0A, [u32(bit(8)), i32(5), PEER_USER, PEER_USER, i32(DATE), CALL]),
        (0xD3D28540, [u32(bit(8)), i32(5), PEER_USER, PEER_USER, i32(DATE), CALL]),
        (0x286FA604, [u32(bit(8)), i32(5), PEER_USER_32, PEER_USER_32, i32(DATE), CALL]),
        (0x9E19A1F6, [u32(bit(8)), i32(5), i32(123456789), PEER_USER_32, i32(DATE), CALL]),
    ],
)
def test_every_service_constructor_with_a_phone_call(cid: int, pieces: list[bytes]) -> None:
    got = decode(u32(cid) + b"".join(pieces), "Message")
    assert got.status == "full", got.problem
    action = got.value["action"]
    assert (action["_"], action["call_id"], action["duration"], action["reason"]["_"]) == (
        "messageActionPhoneCall",
        555001,
        125,
        "phoneCallDiscardReasonHangup",
    )
    assert got.value["date"] == DATE


def test_legacy_actions_with_32_bit_user_ids() -> None:
    vec = u32(0x1CB5C415) + i32(2) + i32(11) + i32(12)
    got = decode(u32(0xA6638B9A) + s("Camp") + vec, "MessageAction")
    assert got.value["users"] == [11, 12] and got.value["title"] == "Camp"
    assert decode(u32(0xF89CF5E8) + i32(99), "MessageAction").value["inviter_id"] == 99


# -- media -------------------------------------------------------------------------------------------

GEO = u32(0xB2A2F663) + u32(bit(0)) + f64(2.10158) + f64(51.00731) + i64(1) + i32(12)  # long, then lat


@pytest.mark.parametrize(
    "blob,check",
    [
        (u32(0x56E0D474) + GEO, {"geo": {"lat": 51.00731, "long": 2.10158, "accuracy_radius": 12}}),
        (
            u32(0xB940C666) + u32(bit(0, 1)) + GEO + i32(90) + i32(900) + i32(500),
            {"heading": 90, "period": 900, "proximity_notification_radius": 500, "geo": {"lat": 51.00731}},
        ),
        (
            u32(0x7C3C2609) + u32(0x0296F104) + f64(1.8486) + f64(50.956) + i64(9) + i32(3600),
            {"period": 3600, "geo": {"lat": 50.956, "long": 1.8486}},
        ),
        (
            u32(0x2EC0533F) + GEO + s("Hotel") + s("Quai") + s("foursquare") + s("4b5c") + s("travel"),
            {"title": "Hotel", "address": "Quai", "provider": "foursquare", "venue_id": "4b5c", "venue_type": "travel"},
        ),
        (
            u32(0x7912B71F) + u32(0x2049D70C) + f64(1.8) + f64(50.9) + s("Hotel") + s("Quai") + s("fsq") + s("1"),
            {"title": "Hotel", "geo": {"lat": 50.9, "long": 1.8}},
        ),
        (
            u32(0x70322949) + s("33698765432") + s("Driver") + s("Calais") + s("") + i64(6100000002),
            {"phone_number": "33698765432", "first_name": "Driver", "user_id": 6100000002},
        ),
        (u32(0xCBF24940) + s("336") + s("A") + s("B") + s("") + i32(42), {"user_id": 42}),
        (u32(0x5E7D2F39) + s("336") + s("A") + s("B") + i32(43), {"user_id": 43}),
        (u32(0x3DED6320), {"_": "messageMediaEmpty"}),
        (u32(0x3F7EE58B) + i32(4) + s("🎲"), {"value": 4, "emoticon": "🎲"}),
        (
            u32(0x695150D7)
            + u32(bit(0))
            + u32(0xFB197A65)
            + u32(0)
            + i64(3)
            + i64(4)
            + s("\x01")
            + i32(DATE)
            + u32(0x1CB5C415)
            + i32(1)
            + u32(0x75C78E60)
            + s("x")
            + i32(800)
            + i32(600)
            + i32(51234)
            + i32(2),
            {"photo": {"id": 3, "date": DATE, "dc_id": 2, "sizes": [{"type": "x", "w": 800, "h": 600, "size": 51234}]}},
        ),
        (
            u32(0xDD570BD5)
            + u32(bit(0, 8))
            + u32(0x8FD4C4D8)
            + u32(0)
            + i64(9001)
            + i64(1)
            + s("")
            + i32(DATE)
            + s("audio/ogg")
            + i64(48213)
            + i32(4)
            + u32(0x1CB5C415)
            + i32(1)
            + u32(0x15590068)
            + s("voice.ogg"),
            {
                "voice": True,
                "document": {
                    "id": 9001,
                    "mime_type": "audio/ogg",
                    "size": 48213,
                    "attributes": [{"file_name": "voice.ogg"}],
                },
            },
        ),
        (u32(0x52D8CCD9) + u32(bit(2)) + i32(30), {"ttl_seconds": 30}),
        (u32(0xB5223B0F) + u32(bit(1)) + s("caption"), {"caption": "caption"}),
    ],
)
def test_every_supported_media_constructor(blob: bytes, check: dict) -> None:
    got = decode(blob, "MessageMedia")
    assert got.status == "full" and got.end == len(blob), got.problem
    assert _contains(got.value, check)


def _contains(actual, expected) -> bool:
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(_contains(actual.get(k), v) for k, v in expected.items())
    if isinstance(expected, list):
        return isinstance(actual, list) and len(actual) == len(expected) and all(map(_contains, actual, expected))
    return actual == expected


# -- users -------------------------------------------------------------------------------------------


def test_current_user_is_decoded_in_full() -> None:
    flags = bit(0, 1, 2, 3, 4, 10)
    blob = (
        u32(0x83314FCA)
        + u32(flags)
        + u32(0)
        + i64(5012345678)
        + i64(77)
        + s("Dilan")
        + s("Rasul")
        + s("dilan_r")
        + s("447700900123")
    )
    got = decode(blob, "User")
    assert got.status == "full" and got.end == len(blob)
    assert {k: got.value[k] for k in ("id", "first_name", "last_name", "username", "phone", "self")} == {
        "id": 5012345678,
        "first_name": "Dilan",
        "last_name": "Rasul",
        "username": "dilan_r",
        "phone": "447700900123",
        "self": True,
    }


@pytest.mark.parametrize(
    "cid,flags2,width",
    [
        (0x31774388, True, 8),
        (0x020B1422, True, 8),
        (0x4B46C37E, True, 8),
        (0x215C4438, True, 8),
        (0xEB602F25, True, 8),
        (0xABB5F120, True, 8),
        (0x8F97C628, True, 8),
        (0x5D99ADEE, False, 8),
        (0x3FF6ECB0, False, 8),
        (0x938458C1, False, 4),
        (0x2E13F4C3, False, 4),
        (0xD10D979A, False, 4),
        (0x603539B4, False, 4),
        (0x22E49072, False, 4),
    ],
)
def test_older_users_up_to_the_phone_number(cid: int, flags2: bool, width: int) -> None:
    ident = i64(6100000001) if width == 8 else i32(123456789)
    blob = (
        u32(cid)
        + u32(bit(1, 4, 5))
        + (u32(0) if flags2 else b"")
        + ident
        + s("Karwan")
        + s("9647501234567")
        + b"\xde\xad\xbe\xef" * 4
    )  # the photo and status that follow are not walked
    got = decode(blob, "User")
    assert got.status == "partial" and got.undecoded == ["fields after phone"]
    assert (got.value["first_name"], got.value["phone"]) == ("Karwan", "9647501234567")
    assert got.value["id"] == (6100000001 if width == 8 else 123456789)


@pytest.mark.parametrize(
    "cid,fields",
    [
        (0x1C60E608, s("A") + s("B") + s("ab") + s("447")),
        (0xCAB35E18, s("A") + s("B") + s("ab") + i64(1) + s("447")),
        (0xD9CCC4EF, s("A") + s("B") + s("ab") + i64(1) + s("447")),
    ],
)
def test_pre_flags_users(cid: int, fields: bytes) -> None:
    got = decode(u32(cid) + i32(42) + fields + b"\x00" * 8, "User")
    assert (got.status, got.value["id"], got.value["phone"]) == ("partial", 42, "447")


def test_empty_users() -> None:
    assert decode(u32(0xD3BC4B7A) + i64(7), "User").value["id"] == 7
    assert decode(u32(0x200250BA) + i32(7), "User").value["id"] == 7


# -- failures are reported, never guessed --------------------------------------------------------


def test_unknown_top_level_constructor_is_none_with_its_id() -> None:
    got = decode(u32(0xDEADBEEF) + b"\x00" * 12, "Message")
    assert (got.status, got.hex, got.value) == ("none", "0xdeadbeef", None)


def test_unknown_media_is_skipped_only_when_bounded() -> None:
    base = u32(0x94345242) + u32(bit(9, 10)) + u32(0) + i32(5) + PEER_USER + i32(DATE) + s("hi")
    unknown = u32(0x8A53B014) + u32(0) + s("Bring jackets") + i32(0)
    blob = base + unknown + i32(3) + i32(1) + s(" ")
    got = decode(blob, "Message", tail_ok)
    assert got.status == "partial" and got.undecoded == ["media"] and got.walked_to_end
    assert (got.value["message"], got.value["views"], got.value["forwards"]) == ("hi", 3, 1)
    assert "skipped 28 byte(s) of unknown constructor 0x8a53b014" in got.notes[0]
    # without a tail to bound it, decoding stops at the media and lists what was not read
    got = decode(base + unknown + i32(3) + i32(1), "Message")
    assert got.status == "partial" and got.undecoded == ["media", "views", "forwards"]
    assert "unknown constructor 0x8a53b014" in got.problem and not got.walked_to_end


def test_truncated_blob_keeps_what_was_read() -> None:
    blob, _ = message_bytes(0x94345242, 195)
    got = decode(blob[:36], "Message")
    assert got.status == "partial" and got.value["id"] == 77 and "date" in got.undecoded
    assert "message" in got.undecoded and "message" not in got.value


def test_invalid_utf8_is_noted() -> None:
    got = decode(u32(0x3F7EE58B) + i32(1) + b"\x02\xff\xfe\x00", "MessageMedia")
    assert got.status == "full" and got.value["emoticon"] == "\ufffd\ufffd" and "not valid UTF-8" in got.notes[0]


def test_the_table_holds_published_and_legacy_constructors() -> None:
    assert CONSTRUCTORS[0x94345242].layer == "190" and CONSTRUCTORS[0xBCE383D2].layer == "131"
    assert len(CONSTRUCTORS) > 1400


# -- property-based: random and truncated input never raises ---------------------------------------

EXPECTED = st.sampled_from(["Message", "User", "Chat", "MessageMedia", "Peer", "EncryptedChat"])


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=400), EXPECTED)
def test_random_bytes_never_raise(data: bytes, expected: str) -> None:
    got = decode(data, expected, tail_ok)
    assert got.status in ("full", "partial", "none")
    if got.status != "full":
        assert got.problem  # every failure says why
    if got.status == "partial":
        assert got.undecoded


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(MESSAGE_LAYERS), st.integers(min_value=0, max_value=200), st.binary(max_size=8))
def test_truncated_and_damaged_messages_never_raise(layer: tuple[int, int], cut: int, junk: bytes) -> None:
    blob, _ = message_bytes(*layer)
    data = blob[:cut] + junk
    got = decode(data, "Message", tail_ok)
    assert got.status in ("full", "partial", "none")
    if got.status != "full":
        assert got.problem
    else:
        assert got.end <= len(data)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64))
def test_random_tails_are_judged_not_raised(data: bytes) -> None:
    assert read_tail(data, {"flags": 4, "id": -3}).problem is None or True
