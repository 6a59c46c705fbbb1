"""WhatsApp Android legacy (`messages`) and transitional (`message` + `messages`) msgstore.db and an older
wa.db, built by fixtures/build_whatsapp_android_legacy.py with the layouts and kinds measured on the real
databases they stand in for (no licence upstream: fixtures/third_party/ATTRIBUTION.md "Licence review").
Counts were measured on the built files with the sqlite3 CLI (`SELECT count(*) FROM messages`: 11 and 6)."""

from __future__ import annotations

import io
import shutil
import sqlite3
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from fixtures.deterministic import read_sums
from parsers.whatsapp.android import WhatsAppContactsParser, WhatsAppMsgstoreParser
from tests.parser_context import parse_file
from triage.model.records import Contact, Location, Message
from triage.model.timeutil import iso
from triage.report.message_kinds import describe

ROOT = Path(__file__).resolve().parents[2]
OLD = ROOT / "fixtures" / "whatsapp_android_old"
PLACEHOLDER_ROWS = 1  # every msgstore has a row with key_remote_jid/key_id '-1' that is not a message
SAM, ALEX = "447700900461@s.whatsapp.net", "447700900463@s.whatsapp.net"


def messages_by_row(records: list) -> dict[str, Message]:
    return {r.source_row: r for r in records if isinstance(r, Message)}


@pytest.fixture(scope="module")
def legacy(tmp_path_factory) -> list:
    records, warnings = parse_file(WhatsAppMsgstoreParser(), OLD / "legacy/msgstore.db", tmp_path_factory.mktemp("l"))
    assert warnings == []
    return records


def test_legacy_every_row_but_the_placeholder_is_a_message(legacy, unchanged):
    unchanged(OLD)
    messages = messages_by_row(legacy)
    rows = (
        sqlite3.connect(f"file:{OLD / 'legacy/msgstore.db'}?mode=ro", uri=True)
        .execute("SELECT count(*) FROM messages")
        .fetchone()[0]
    )
    assert rows == 11 and len(messages) == rows - PLACEHOLDER_ROWS
    assert all(m.source_table == "messages" and m.extra["generation"] == "legacy" for m in messages.values())
    first = messages["2"]
    assert (first.direction, first.sender, first.body) == ("incoming", SAM, "Is the boat still going tonight?")
    assert (first.time_raw, iso(first.time_utc)) == (1526500000000, "2018-05-16T19:46:40Z")
    assert first.extra["received"]["raw"] == 1526500001500
    assert (messages["3"].direction, messages["3"].sender, messages["3"].status) == ("outgoing", None, "status 13")
    assert "received" not in messages["3"].extra  # the phone's own message: no receipt time
    group = messages["5"]
    assert (group.thread, group.sender, group.extra["group_subject"]) == (
        "447700900461-1526400000@g.us",
        ALEX,
        "Beach trip",
    )  # the author from remote_resource


def test_legacy_kinds_are_described(legacy):
    m = messages_by_row(legacy)
    shown = {row: describe(m[row]) for row in ("4", "6", "7", "8", "9", "10", "11")}
    assert (shown["4"].what, shown["4"].values) == (
        "System event",
        ["action code 19 (raw; its meaning differs between sources)"],
    )
    assert (shown["6"].what, shown["6"].values) == ("Call logged in the chat", ["duration 0m 05s"])
    assert shown["7"].what == "Audio or voice note" and shown["7"].values[0] == "PTT-20180516-WA0001.opus"
    assert shown["8"].what == "Shared location"
    assert (shown["9"].what, shown["9"].values) == ("Contact card", ["Driver Calais"])
    assert m["10"].deleted is True and shown["10"].what.startswith("Message deleted by its sender")
    assert (shown["11"].what, m["11"].body) == ("Photo", "the boat")  # the caption is the text
    (where,) = [r for r in legacy if isinstance(r, Location)]
    assert (where.latitude, where.longitude, where.source_row) == (pytest.approx(50.96211), pytest.approx(1.85301), "8")
    (card,) = [r for r in legacy if isinstance(r, Contact)]
    assert (card.app, card.name, card.phone_numbers) == (
        "whatsapp vcard",
        "Driver Calais",
        ["+33 6 98 76 54 32", "+33698765432"],
    )
    assert (card.source_table, card.source_row) == ("messages", "9")


def test_transitional_reads_a_migrated_message_once(tmp_path):
    records, warnings = parse_file(WhatsAppMsgstoreParser(), OLD / "transitional/msgstore.db", tmp_path)
    assert warnings == []
    messages = [r for r in records if isinstance(r, Message)]
    # `messages` holds the placeholder and 5 messages; `message` holds the placeholder and a copy of row 2
    assert len(messages) == 5 and len({m.extra["key_id"] for m in messages}) == 5
    assert [(m.source_table, m.source_row) for m in messages] == [
        ("message", "2"),
        ("messages", "3"),
        ("messages", "4"),
        ("messages", "5"),
        ("messages", "6"),
    ]
    assert messages[0].extra["generation"] == "modern" and messages[0].body == "Is the boat still going tonight?"


def test_cleared_chat_rows_are_reported_and_flagged_by_the_apps_own_view(tmp_path):
    db = tmp_path / "copy" / "msgstore.db"
    db.parent.mkdir()
    shutil.copyfile(OLD / "transitional/msgstore.db", db)
    con = sqlite3.connect(db)  # chat 2 = Sam, cleared up to legacy row 3
    con.execute("INSERT INTO deleted_chat_job (chat_row_id, deleted_message_row_id) VALUES (2, 3)")
    con.commit()
    con.close()
    records, _ = parse_file(WhatsAppMsgstoreParser(), db, tmp_path)
    messages = messages_by_row(records)
    assert {row for row, m in messages.items() if m.extra.get("hidden_by_app")} == {"3"}
    assert len(messages) == 5  # the cleared one is still reported


def test_older_wa_db_contacts(tmp_path):
    records, warnings = parse_file(WhatsAppContactsParser(), OLD / "legacy/wa.db", tmp_path)
    assert warnings == [] and len(records) == 5
    first = records[0]
    assert (first.name, first.phone_numbers, first.handles) == (
        "Sam Example",
        ["+447700900461", "+44 7700 900461"],
        [SAM],
    )
    assert records[2].name == "Driver"  # no phone-book name: the WhatsApp name
    assert records[3].extra["is_whatsapp_user"] == 0 and records[3].name == "Plumber"


def test_builder_gives_the_same_bytes_as_committed(tmp_path):
    from fixtures.build_whatsapp_android_legacy import main as build

    with redirect_stdout(io.StringIO()):
        assert build([str(tmp_path)]) == 0
    sums = read_sums(OLD)
    assert sorted(sums) == ["legacy/msgstore.db", "legacy/wa.db", "transitional/msgstore.db"]
    for name in sums:
        assert (tmp_path / "whatsapp_android_old" / name).read_bytes() == (OLD / name).read_bytes(), name
    assert read_sums(tmp_path / "whatsapp_android_old") == sums
