"""Telegram for Android cache4.db and userconfing.xml, built by fixtures/build_telegram.py with the app's
table layout and blobs of several layers: every field of every record checked against the builder."""

from __future__ import annotations

import struct
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fixtures.build_telegram import (
    CHANNEL_ID,
    ENC_ID,
    GRAVELINES,
    GROUP_ID,
    KARWAN,
    LIVE,
    OLD_GEO,
    OWNER,
    SECRET_DID,
    T0,
    VENUE,
    build_cache4,
    build_legacy_cache4,
    demo_account,
    userconfig_xml,
)
from tests.bundle_layout import payload
from triage.run.loose_parse import parse_loose_file

K = KARWAN["id"]
USER_K = f"user:{K}"


def at(minutes: float) -> str:
    return datetime.fromtimestamp(T0 + minutes * 60, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def parsed(tmp_path_factory) -> tuple[dict[str, list[dict]], list[str]]:
    folder = tmp_path_factory.mktemp("tg")
    build_cache4(folder / "cache4.db")
    records, warnings = parse_loose_file(folder / "cache4.db")
    out: dict[str, list[dict]] = {}
    for r in records:
        out.setdefault(r["type"], []).append(r)
    return out, warnings


def by_mid(parsed) -> dict[int, dict]:
    return {m["extra"]["message_id"]: m for m in parsed[0]["message"]}


def test_every_row_is_a_message_and_the_counts_are_reported(parsed) -> None:
    records, warnings = parsed
    assert sorted(by_mid(parsed)) == [-5, 7, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 201, 301, 302]
    assert all(m["app"] == "telegram" and m["provenance"]["table"] == "messages_v2" for m in records["message"])
    assert warnings == [
        "telegram_android (warning): messages_v2: 14 of 17 TL blob(s) decoded in full, 2 in part, 1 not decoded "
        "(constructors: 0x555555fa ×1, 0x94345242 ×2)",
        "telegram_android (warning): users: 2 of 3 TL blob(s) decoded in full, 1 in part, 0 not decoded "
        "(constructors: 0x938458c1 ×1)",
    ]


def test_current_layer_text_reply_and_edit(parsed) -> None:
    m = by_mid(parsed)[101]
    assert (m["direction"], m["thread"], m["counterpart"], m["sender"], m["body"]) == (
        "outgoing",
        USER_K,
        USER_K,
        None,
        "Salam, is there space this week?",
    )
    assert (m["time_utc"], m["time_raw"], m["time_encoding"], m["status"]) == (at(0), T0, "unix_s", "send_state 0")
    x = m["extra"]
    assert (x["decoded"], x["constructor"], x["constructor_name"]) == ("full", "0x7600b9d3", "message_current")
    assert x["reply_to"] == {"reply_to_msg_id": 99}
    assert x["edited"] == {"raw": T0 + 120, "utc": at(2), "encoding": "unix_s"}
    assert (x["dialog_id"], x["peer_type"], x["dialog_name"], x["read_state"]) == (
        K,
        "user",
        "Karwan Aziz (@karwan_travel)",
        3,
    )


def test_forward_header_and_sender(parsed) -> None:
    m = by_mid(parsed)[102]
    assert (m["direction"], m["sender"], m["body"]) == ("incoming", USER_K, "Price is 1500 euro per person")
    assert m["extra"]["forwarded"] == {
        "from_id": f"channel:{CHANNEL_ID}",
        "channel_post": 7,
        "date": {"raw": T0 - 3600, "utc": at(-60), "encoding": "unix_s"},
    }
    assert m["extra"]["sender_name"] == "Karwan Aziz (@karwan_travel)"


def test_geo_venue_and_live_locations_longitude_read_before_latitude(parsed) -> None:
    locs = {loc["extra"]["message_id"]: loc for loc in parsed[0]["location"]}
    assert sorted(locs) == [103, 104, 105, 301]
    msgs = by_mid(parsed)
    for mid, (lat, lon), origin in (
        (103, GRAVELINES, "telegram location"),
        (104, VENUE[2], "telegram venue"),
        (105, LIVE, "telegram live location"),
        (301, OLD_GEO, "telegram live location"),
    ):
        loc = locs[mid]
        assert (loc["latitude"], loc["longitude"], loc["origin"]) == (lat, lon, origin)
        assert loc["message_id"] == msgs[mid]["id"]  # linked to its message
        assert loc["time_raw"] == msgs[mid]["time_raw"] and loc["provenance"]["row"] == msgs[mid]["provenance"]["row"]
    assert locs[103]["accuracy_m"] == 12 and locs[103]["extra"]["geo_constructor"] == "0xb2a2f663"
    assert locs[104]["label"] == "Hotel du Port — Quai de la Citadelle, Dunkerque"
    assert {k: locs[104]["extra"][k] for k in ("provider", "venue_id", "venue_type")} == {
        "provider": "foursquare",
        "venue_id": "4b5c",
        "venue_type": "travel/hotel",
    }
    assert (locs[105]["extra"]["heading"], locs[105]["extra"]["period"]) == (270, 900)
    assert (locs[301]["extra"]["media_constructor"], locs[301]["extra"]["geo_constructor"]) == (
        "0x7c3c2609",
        "0x0296f104",
    )
    assert msgs[103]["extra"]["media"]["geo"] == {
        "latitude": GRAVELINES[0],
        "longitude": GRAVELINES[1],
        "accuracy_m": 12,
    }


def test_calls_from_service_messages(parsed) -> None:
    calls = {c["extra"]["message_id"]: c for c in parsed[0]["call"]}
    assert sorted(calls) == [106, 107]
    out, missed = calls[106], calls[107]
    assert (out["direction"], out["counterpart"], out["duration_s"], out["video"], out["time_utc"]) == (
        "outgoing",
        USER_K,
        125.0,
        False,
        at(20),
    )
    assert (out["extra"]["call_id"], out["extra"]["discard_reason"]) == (555001, "hangup")
    assert (missed["direction"], missed["duration_s"], missed["video"], missed["extra"]["discard_reason"]) == (
        "missed",
        None,
        True,
        "missed",
    )
    service = by_mid(parsed)[106]
    assert service["direction"] == "system" and service["extra"]["action"] == {
        "name": "messageActionPhoneCall",
        "constructor": "0x80e11a7f",
        "call_id": 555001,
        "duration": 125,
        "reason": "phoneCallDiscardReasonHangup",
    }


def test_other_service_actions_keep_their_raw_names(parsed) -> None:
    m = by_mid(parsed)
    assert m[201]["extra"]["action"] == {
        "name": "messageActionChatJoinedByLink",
        "constructor": "0x031224c3",
        "inviter_id": K,
    }
    assert (m[201]["thread"], m[201]["sender"], m[201]["extra"]["dialog_name"]) == (
        f"chat:{GROUP_ID}",
        "user:6100000003",
        "Dunkirk camp",
    )
    assert m[110]["extra"]["action"] == {
        "name": "messageActionPaymentSent",
        "constructor": "0x96163f56",
        "currency": "EUR",
        "total_amount": 150000,
    }


def test_shared_contact_and_document_metadata(parsed) -> None:
    shared = [c for c in parsed[0]["contact"] if c["app"] == "telegram shared contact"]
    assert len(shared) == 1
    c = shared[0]
    assert (c["name"], c["phone_numbers"], c["handles"]) == ("Driver Calais", ["33698765432"], ["user:6100000002"])
    assert c["extra"] == {"shared_in": USER_K, "message_id": 108, "user_id": 6100000002, "phone_raw": "33698765432"}
    voice = by_mid(parsed)[109]["extra"]
    assert voice["media"]["document"] == {
        "id": 9001,
        "mime_type": "audio/ogg",
        "size": 48213,
        "date": T0 + 32 * 60,
        "dc_id": 4,
        "duration": 17,
        "voice": True,
        "kind": "audio",
        "file_name": "voice.ogg",
    }
    assert voice["attach_path"].endswith("/Telegram Audio/voice.ogg")


def test_channel_post(parsed) -> None:
    m = by_mid(parsed)[7]
    assert (m["thread"], m["sender"], m["direction"]) == (f"channel:{CHANNEL_ID}", f"channel:{CHANNEL_ID}", "incoming")
    assert m["body"] == "Boat leaves Thursday night. 1500€ / person. DM @karwan_travel"
    x = m["extra"]
    assert (x["views"], x["forwards"], x["post_author"], x["post"], x["peer_type"]) == (
        5321,
        40,
        "Admin",
        True,
        "channel",
    )
    assert x["dialog_name"] == "Safe Crossing UK 🇬🇧 (@safe_crossing_uk)"


def test_unknown_media_is_bounded_and_the_rest_read(parsed) -> None:
    x = by_mid(parsed)[111]["extra"]
    assert (x["decoded"], x["undecoded_fields"], x["views"], x["forwards"]) == ("partial", ["media"], 3, 1)
    assert "unknown constructor 0x8a53b014" in x["decode_problem"]
    assert by_mid(parsed)[111]["body"] == "checklist"


def test_corrupt_blob_is_partial_and_nothing_is_invented(parsed) -> None:
    m = by_mid(parsed)[112]
    assert m["body"] is None and m["extra"]["decoded"] == "partial"
    assert m["extra"]["undecoded_fields"] == ["date", "message"]
    assert "needs 4 byte(s), 0 left" in m["extra"]["decode_problem"]
    assert m["time_utc"] == at(56)  # the row's own date column


def test_secret_chat_dialog_id_and_date_anchor_text(parsed) -> None:
    m = by_mid(parsed)[-5]
    assert m["extra"]["dialog_id"] == SECRET_DID and m["thread"] == f"secret:{ENC_ID}"
    assert (m["counterpart"], m["sender"], m["extra"]["peer_type"]) == (USER_K, USER_K, "secret")
    assert (m["extra"]["decoded"], m["extra"]["constructor"]) == ("none", "0x555555fa")
    assert m["body"] == "Meet at the dunes, come alone" and "date anchor" in m["extra"]["text_source"]
    secret = [c for c in parsed[0]["contact"] if c["provenance"]["table"] == "enc_chats"][0]
    assert (secret["name"], secret["handles"]) == ("Karwan Aziz", [f"secret:{ENC_ID}", USER_K])
    assert {k: secret["extra"][k] for k in ("ttl", "layer", "admin_id", "decoded")} == {
        "ttl": 30,
        "layer": 144,
        "admin_id": K,
        "decoded": "full",
    }


def test_layer_131_blob_with_32_bit_peers(parsed) -> None:
    m = by_mid(parsed)
    assert (m[301]["sender"], m[301]["extra"]["constructor"]) == ("user:123456789", "0xbce383d2")
    assert (m[302]["body"], m[302]["direction"], m[302]["extra"]["via_bot_id"]) == ("ok I see you", "outgoing", 777)


def test_users_chats_and_imported_contacts(parsed) -> None:
    contacts = {c["handles"][0]: c for c in parsed[0]["contact"] if c["app"] == "telegram"}
    owner, karwan, ahmed = contacts[f"user:{OWNER['id']}"], contacts[USER_K], contacts["user:123456789"]
    assert (owner["name"], owner["phone_numbers"], owner["handles"], owner["extra"]["self"]) == (
        "Dilan Rasul",
        ["+447700900123"],
        [f"user:{OWNER['id']}", "@dilan_r"],
        True,
    )
    assert karwan["extra"]["status"] == {"raw": T0 + 3600, "utc": at(60), "encoding": "unix_s"}
    assert karwan["extra"]["dialog"] == {
        "date": {"raw": T0 + 56 * 60, "utc": at(56), "encoding": "unix_s"},
        "unread_count": 2,
        "last_mid": 112,
        "pinned": 1,
        "folder_id": 0,
    }
    assert karwan["extra"]["search_name"] == "karwan aziz;;;karwan_travel"
    assert (ahmed["name"], ahmed["extra"]["decoded"], ahmed["extra"]["undecoded_fields"]) == (
        "Ahmed",
        "partial",
        ["fields after phone"],
    )
    channel = contacts[f"channel:{CHANNEL_ID}"]
    assert (
        channel["name"],
        channel["handles"][1],
        channel["extra"]["peer_type"],
        channel["extra"]["participants_count"],
    ) == ("Safe Crossing UK 🇬🇧", "@safe_crossing_uk", "channel", 5400)
    group = contacts[f"chat:{GROUP_ID}"]
    assert (group["name"], group["extra"]["peer_type"], group["extra"]["participants_count"]) == (
        "Dunkirk camp",
        "group",
        23,
    )
    imported = [c for c in parsed[0]["contact"] if c["app"] == "telegram (imported phone contact)"]
    assert [(c["name"], c["phone_numbers"], c["extra"]["device_contact_id"]) for c in imported] == [
        ("Karwan Boats", ["+9647501234567"], 42)
    ]


def test_legacy_messages_table_and_old_secret_key_form(tmp_path: Path) -> None:
    path = tmp_path / "cache4.db"
    build_legacy_cache4(path)
    records, warnings = parse_loose_file(path)
    msgs = {m["extra"]["message_id"]: m for m in records if m["type"] == "message"}
    assert sorted(msgs) == [1, 2, 3] and all(m["provenance"]["table"] == "messages" for m in msgs.values())
    assert (msgs[1]["sender"], msgs[1]["body"], msgs[1]["extra"]["constructor"]) == (
        "user:123456789",
        "old message, layer 118",
        "0xf52e6b7f",
    )
    assert (msgs[3]["thread"], msgs[3]["extra"]["peer_type"], msgs[3]["counterpart"]) == (
        "secret:9",
        "secret",
        "user:123456789",
    )
    loc = [r for r in records if r["type"] == "location"][0]
    assert (loc["latitude"], loc["longitude"], loc["extra"]["geo_constructor"]) == (50.9, 1.8, "0x2049d70c")
    assert warnings == [
        "telegram_android (warning): users: 0 of 1 TL blob(s) decoded in full, 1 in part, "
        "0 not decoded (constructors: 0x938458c1 ×1)"
    ]


def test_owner_account_from_userconfing_xml(tmp_path: Path) -> None:
    path = tmp_path / "userconfing.xml"
    path.write_text(userconfig_xml(OWNER), encoding="utf-8")
    records, warnings = parse_loose_file(path)
    assert warnings == []
    assert [(r["type"], r["app"], r["identifier"], r["display_name"]) for r in records] == [
        ("account", "telegram", "+447700900123", f"Dilan Rasul @dilan_r [user:{OWNER['id']}]")
    ]


def test_userconfing_without_a_user_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "userconfing.xml"
    path.write_text("<?xml version='1.0' encoding='utf-8' standalone='yes' ?>\n<map>\n</map>\n", encoding="utf-8")
    records, warnings = parse_loose_file(path)
    assert records == [] and warnings == [
        "telegram_android_userconfig (warning): no 'user' entry: the app holds no logged-in account in this slot"
    ]


def test_a_look_alike_database_is_refused(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "cache4.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE messages_v2(mid INTEGER, uid INTEGER, date INTEGER, data BLOB)")
    records, warnings = parse_loose_file(path)
    assert records == [] and warnings == [
        "telegram_android (not parsed): unknown schema: missing table users, table dialogs"
    ]


def test_demo_account_manifest_matches_what_is_parsed(tmp_path: Path) -> None:
    manifest = demo_account(tmp_path)
    db = tmp_path / manifest["cache4_db"]
    assert manifest["cache4_db"] == "data/org.telegram.messenger/files/cache4.db"
    assert manifest["userconfig"] == "data/org.telegram.messenger/shared_prefs/userconfing.xml"
    records, warnings = parse_loose_file(db)
    assert warnings == []
    msgs = {m["extra"]["message_id"]: m for m in records if m["type"] == "message"}
    for expected in manifest["messages"]:
        m = msgs[expected["mid"]]
        assert (m["body"], m["time_utc"], m["time_raw"], m["direction"], m["thread"]) == (
            expected["text"],
            expected["time_utc"],
            expected["time_raw"],
            expected["direction"],
            expected["thread"],
        )
        assert m["extra"]["decoded"] == "full"
    assert "1500 EUR" in msgs[41]["body"] and "بريطانيا" in msgs[41]["body"] and "پەڕینەوە" in msgs[41]["body"]
    locs = sorted(
        (r["extra"]["message_id"], r["latitude"], r["longitude"], r["time_utc"])
        for r in records
        if r["type"] == "location"
    )
    assert locs == [(x["mid"], x["latitude"], x["longitude"], x["time_utc"]) for x in manifest["locations"]]
    assert locs[0][1:3] == (51.00731, 2.10158)
    account, _ = parse_loose_file(tmp_path / manifest["userconfig"])
    assert [(a["identifier"], a["app"]) for a in account] == [(manifest["owner"]["phone"], "telegram")]


def test_blob_bytes_follow_the_published_order(tmp_path: Path) -> None:
    """The builder's encoder against the wire format written out by hand for one message."""
    from fixtures.build_telegram import android_blob, obj, peer_user

    blob = android_blob(obj("message", out=True, id=5, peer_id=peer_user(42), date=T0, message="hi"))
    flags = 1 << 1
    expected = struct.pack("<IIIiIqi", 0x94345242, flags, 0, 5, 0x59511722, 42, T0) + b"\x02hi\x00" + b"\x01 \x00\x00"
    assert blob == expected


def test_run_reports_how_telegram_messages_were_decoded(tmp_path):
    """findings.json counts full / partial / none decodes (issue 6 item 4)."""
    import json
    import shutil
    from collections import Counter

    from triage.cli import main
    from triage.run.loose_parse import parse_loose_file

    source = Path(__file__).parents[2] / "fixtures" / "telegram" / "cache4.db"
    phone = tmp_path / "phone"
    (phone / "data/org.telegram.messenger/files").mkdir(parents=True)
    shutil.copyfile(source, phone / "data/org.telegram.messenger/files/cache4.db")
    records, _ = parse_loose_file(source)
    expected = Counter(r["extra"]["decoded"] for r in records if r["type"] == "message")
    assert main(["run", str(phone), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    decoding = json.loads((payload(tmp_path / "out") / "findings.json").read_text(encoding="utf-8"))["decoding"]
    (app,) = decoding
    assert {k: v for k, v in decoding[app].items() if v} == dict(expected) and expected["partial"] >= 1
