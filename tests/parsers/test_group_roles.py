"""The device user's role in WhatsApp groups and Telegram groups and channels (for rule APP-01)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from fixtures.build_telegram import build_cache4, channel, encode, obj
from fixtures.build_whatsapp_android import build_msgstore
from rules.pack import DEFAULT_PACK, load_pack
from rules.testing import run_pack
from rules.watchlist import Watchlists
from triage.run.loose_parse import parse_loose_file

ROOT = Path(__file__).parents[2]
LEGACY = ROOT / "fixtures" / "whatsapp_android_old" / "legacy" / "msgstore.db"


def groups(path: Path) -> list[tuple[str, str | None, str, str, str]]:
    """(app, name, handle, own role, source table) of every group or channel contact, and no warning."""
    records, warnings = parse_loose_file(path)
    assert warnings == [] or all("TL blob" in w for w in warnings)
    return [
        (r["app"], r["name"], r["handles"][0], r["extra"]["own_role"], r["provenance"]["table"])
        for r in records
        if r["type"] == "contact" and r["extra"].get("own_role")
    ]


def test_whatsapp_modern_rank_of_the_users_own_row(tmp_path: Path) -> None:
    path = tmp_path / "msgstore.db"
    build_msgstore(path)
    with sqlite3.connect(path) as db:
        db.executemany(
            "INSERT INTO jid (_id, user, server, type, raw_string) VALUES (?, ?, 'g.us', 1, ?)",
            [
                (40, "447700900461-1526400000", "447700900461-1526400000@g.us"),
                (41, "120363000000000001", "120363000000000001@g.us"),
            ],
        )
        db.execute("INSERT INTO jid (_id, user, server, type, raw_string) VALUES (42, '', '', 0, '')")  # the user
        db.executemany(
            "INSERT INTO chat (jid_row_id, subject, group_type) VALUES (?, ?, 0)",
            [(40, "Boat to England"), (41, "Family")],
        )
        db.execute(
            "CREATE TABLE group_participant_user (_id INTEGER PRIMARY KEY AUTOINCREMENT, "
            "group_jid_row_id INTEGER NOT NULL, user_jid_row_id INTEGER NOT NULL, rank INTEGER, pending INTEGER)"
        )
        db.executemany(
            "INSERT INTO group_participant_user (group_jid_row_id, user_jid_row_id, rank, pending) VALUES (?, ?, ?, 0)",
            [
                (40, 2, 0),  # another member of the group: not read
                (40, 42, 2),  # the user created it
                (41, 42, 0),  # the user is a member
                (3, 2, 1),  # "Dunkirk May": only someone else's row, so no role for the user
            ],
        )
    db.close()
    assert groups(path) == [
        ("whatsapp", "Boat to England", "447700900461-1526400000@g.us", "owner", "group_participant_user"),
        ("whatsapp", "Family", "120363000000000001@g.us", "member", "group_participant_user"),
    ]


def test_whatsapp_legacy_admin_column_of_the_empty_jid_row(tmp_path: Path) -> None:
    path = tmp_path / "msgstore.db"
    shutil.copyfile(LEGACY, path)
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE group_participants (_id INTEGER PRIMARY KEY AUTOINCREMENT, gjid TEXT NOT NULL, "
            "jid TEXT NOT NULL, admin INTEGER, pending INTEGER, sent_sender_key INTEGER)"
        )
        db.executemany(
            "INSERT INTO group_participants (gjid, jid, admin, pending) VALUES (?, ?, ?, 0)",
            [
                ("447700900461-1526400000@g.us", "447700900461@s.whatsapp.net", 2),
                ("447700900461-1526400000@g.us", "", 1),  # the user: an admin
            ],
        )
    db.close()
    assert groups(path) == [("whatsapp", "Beach trip", "447700900461-1526400000@g.us", "admin", "group_participants")]


def test_whatsapp_without_participant_tables_gives_no_group_records() -> None:
    assert groups(ROOT / "fixtures" / "whatsapp_android_old" / "transitional" / "msgstore.db") == []


def test_telegram_creator_admin_rights_and_left_flags(tmp_path: Path) -> None:
    path = tmp_path / "cache4.db"
    build_cache4(path)
    rights = obj("chatAdminRights", post_messages=True, invite_users=True)
    chats = [
        (1500000001, channel(1500000001, "Boats to UK", None, 1715000000, 900, broadcast=True, creator=True)),
        (1500000002, channel(1500000002, "Calais news", None, 1715000000, 90, megagroup=True, admin_rights=rights)),
        (1500000003, channel(1500000003, "Old crossing group", None, 1715000000, 40, megagroup=True, left=True)),
    ]
    with sqlite3.connect(path) as db:
        db.executemany("INSERT INTO chats VALUES (?, ?, ?)", [(cid, None, encode(ch)) for cid, ch in chats])
    db.close()
    assert groups(path) == [  # in rowid order, which is the chat id
        ("telegram", "Dunkirk camp", "chat:4000001", "member", "chats"),  # the fixture's own two: joined
        ("telegram", "Boats to UK", "channel:1500000001", "owner", "chats"),
        ("telegram", "Calais news", "channel:1500000002", "admin", "chats"),
        ("telegram", "Old crossing group", "channel:1500000003", "left", "chats"),
        ("telegram", "Safe Crossing UK 🇬🇧", "channel:1987654321", "member", "chats"),
    ]


def test_app01_finds_the_owned_channel_high_and_the_joined_one_low(tmp_path: Path) -> None:
    path = tmp_path / "cache4.db"
    build_cache4(path)
    owned = channel(1500000001, "Boats to UK", None, 1715000000, 900, broadcast=True, creator=True)
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO chats VALUES (?, ?, ?)", (1500000001, None, encode(owned)))
    db.close()
    records, _ = parse_loose_file(path)
    contacts = [  # the parsed contacts, given to the default rule pack as records
        {"type": "contact", **{k: r[k] for k in ("app", "name", "phone_numbers", "handles", "extra")}}
        for r in records
        if r["type"] == "contact"
    ]
    findings = [f for f in run_pack(load_pack(DEFAULT_PACK), contacts, Watchlists()) if f.rule_id == "APP-01"]
    assert sorted((f.severity, len(f.evidence)) for f in findings) == [("HIGH", 1), ("LOW", 1)]  # one per group
    high, low = sorted(findings, key=lambda f: f.severity)
    assert "channel 'Boats to UK': the device user is owner of it" in high.explanation
    assert "Severity raised to HIGH: the device user is owner of the group or channel" in high.explanation
    assert "channel 'Safe Crossing UK 🇬🇧': the device user is a member of it" in low.explanation
    assert "Severity raised" not in low.explanation
    assert "'Dunkirk camp'" not in " ".join(f.explanation for f in findings)  # no crossing words in its name
