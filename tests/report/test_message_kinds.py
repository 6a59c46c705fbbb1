"""What a message is, in words (triage/report/message_kinds.py), on records the real parsers make from the
fixtures: WhatsApp Android (modern and legacy), WhatsApp iOS, Telegram, Google Messages and SMS read with
their -wal; and the bubbles rows.py writes from them, with the linked positions and cards of a real store."""

from __future__ import annotations

import re
from datetime import UTC
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

from fixtures.build_bugle_db import build_bugle_db
from fixtures.build_whatsapp_android import LIVE_END, LIVE_START, STATIC_LOCATION, build_msgstore
from parsers.telegram.android import TelegramAndroidParser
from parsers.whatsapp.android import WhatsAppMsgstoreParser
from parsers.whatsapp.ios import WhatsAppIosParser
from tests.parser_context import parse_file
from tests.report_store import ReportStore
from triage.model.records import Base, Message
from triage.report.cursor_rows import CursorReader
from triage.report.message_kinds import (
    CLEAR_CHAT,
    LINKED_KINDS,
    WAL_ONLY,
    Link,
    PageLinks,
    describe,
    other_times,
    time_label,
)
from triage.report.rows import Bubbles
from triage.run.loose_parse import parse_loose_file

ROOT = Path(__file__).parents[2]
THIRD = ROOT / "fixtures" / "third_party"
WAL_SMS = ROOT / "fixtures/faults/sqlite/wal_bad_checksum/data/com.android.providers.telephony/databases/mmssms.db"


def by_row(records: list[Base]) -> dict[str, Message]:
    return {m.source_row: m for m in records if isinstance(m, Message)}


@pytest.fixture(scope="module")
def msgstore(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("wa") / "msgstore.db"
    build_msgstore(path)
    return path


@pytest.fixture(scope="module")
def whatsapp(msgstore: Path, tmp_path_factory) -> list[Base]:
    records, warnings = parse_file(WhatsAppMsgstoreParser(), msgstore, tmp_path_factory.mktemp("copy"))
    assert warnings == []
    return records


def test_whatsapp_android_kinds_and_statuses(whatsapp) -> None:
    m = by_row(whatsapp)
    photo = describe(m["7"])
    assert (photo.what, photo.values, photo.statuses) == (
        "Photo",
        ["IMG-20250512-WA0003.jpg", "32 bytes", "image/jpeg"],
        ["forwarded"],
    )
    deleted = describe(m["8"])
    assert deleted.deleted == "deleted by sender" and deleted.what.startswith("Message deleted by its sender")
    card = describe(m["10"])  # the passenger's chat was cleared: the card is hidden by the app
    assert card.what == "Contact card" and card.statuses == [CLEAR_CHAT]
    assert card.values == [LINKED_KINDS["Contact card"]]  # without the page's lookup: where the card is
    system = describe(m["12"])
    assert system.what == "System event"
    assert system.values == ["action code 12 (raw; its meaning differs between sources)"]
    assert describe(m["9"]).statuses == ["edited at 2025-05-12T13:22:00Z"]
    assert describe(m["5"]).statuses == ["reply to: Yes. 1500 euro per person, cash or hawala"]
    plain = describe(m["3"])
    assert (plain.what, plain.values, plain.statuses, plain.deleted) == ("", [], [], "")
    for row in ("4", "6"):
        assert describe(m[row]).what == {"4": "Shared location", "6": "Live location"}[row]


def test_whatsapp_times_are_labelled_with_the_other_time_kept(whatsapp) -> None:
    received = by_row(whatsapp)["4"]
    assert time_label(received.extra) == "sent"
    assert other_times(received.extra) == [("received", received.extra["received"]["utc"])]
    assert received.extra["received"]["utc"] == "2025-05-12T12:06:01.500Z"
    assert other_times(by_row(whatsapp)["2"].extra) == []  # the phone's own message: no receipt time


def test_whatsapp_legacy_card_system_event_and_call(tmp_path: Path) -> None:
    (tmp_path / "simon").mkdir(), (tmp_path / "lab").mkdir()  # each its own copy: both files are msgstore.db
    simon = by_row(parse_file(WhatsAppMsgstoreParser(), THIRD / "er-simon/msgstore.db", tmp_path / "simon")[0])
    assert (describe(simon["17"]).what, describe(simon["17"]).values) == (
        "Contact card",
        ["Tizio Caio WhatsApp Root Tesi"],
    )
    assert describe(simon["9"]).values == ["action code 67 (raw; its meaning differs between sources)"]
    lab = by_row(parse_file(WhatsAppMsgstoreParser(), THIRD / "lab-whatsapp/msgstore.db", tmp_path / "lab")[0])
    call = describe(lab["29"])
    assert (call.what, call.values) == ("Call logged in the chat", ["duration 0m 05s"])
    voice = describe(lab["33"])
    assert voice.what == "Audio or voice note" and voice.values[0] == "PTT-20180517-WA0003.opus"


def test_whatsapp_ios_system_events_and_locations(tmp_path: Path) -> None:
    m = by_row(parse_file(WhatsAppIosParser(), THIRD / "ileapp-whatsapp-ios/ChatStorage.sqlite", tmp_path)[0])
    assert (describe(m["2"]).what, describe(m["2"]).values) == ("System event", ["group event code 12 (raw)"])
    assert describe(m["30"]).what == "Shared location"
    assert time_label(m["30"].extra) == "stored on the phone"
    assert other_times(m["30"].extra) == [("sent", "2023-05-17T14:22:17.395Z")]
    photo = describe(m["21"])
    assert photo.what == "Photo" and photo.values == ["d041d159-fd7d-4abb-9192-0e97c10ddb00.jpg", "42.1 kB"]


def test_telegram_locations_calls_cards_and_service_messages(tmp_path: Path) -> None:
    m = by_row(parse_file(TelegramAndroidParser(), ROOT / "fixtures/telegram/cache4.db", tmp_path)[0])
    shown = {row: describe(m[row]) for row in ("3", "4", "5", "6", "7", "8", "9", "11")}
    assert (shown["3"].what, shown["3"].values) == ("Shared location", ["51.007310, 2.101580"])
    assert shown["4"].values == ["51.040000, 2.370000", "Hotel du Port", "Quai de la Citadelle, Dunkerque"]
    assert (shown["5"].what, shown["5"].values) == ("Live location", ["50.962110, 1.853010", "shared for 15m 00s"])
    assert (shown["6"].what, shown["6"].values) == ("Call logged in the chat", ["voice", "hangup", "2m 05s"])
    assert shown["7"].values == ["video", "missed"]
    assert (shown["8"].what, shown["8"].values) == ("Contact card", ["Driver Calais", "33698765432"])
    assert (shown["9"].what, shown["9"].values) == ("Voice note", ["voice.ogg", "48.2 kB", "audio/ogg", "0m 17s"])
    assert (shown["11"].what, shown["11"].values) == (
        "System event",
        ["messageActionChatJoinedByLink (member joined by link)", "inviter_id: 6100000001"],
    )
    assert describe(m["2"]).statuses == ["forwarded from channel:1987654321"]
    assert time_label(m["3"].extra) == "sent"


def test_google_messages_attachment_and_sent_time(tmp_path: Path) -> None:
    records, _ = parse_loose_file(build_bugle_db(tmp_path / "bugle_db"))
    messages = {r["provenance"]["row"]: SimpleNamespace(**r) for r in records if r["type"] == "message"}
    photo = describe(messages["8"])
    assert (photo.what, photo.values) == ("Attachment", ["image/jpeg IMG_20250512_101957.jpg 48.2 kB"])
    first = messages["1"]
    assert time_label(first.extra) == "received" and other_times(first.extra) == [("sent", "2025-05-12T09:59:56Z")]
    assert time_label(messages["2"].extra) == "stored on the phone"


def test_a_row_read_only_from_the_wal_says_so() -> None:
    records, _ = parse_loose_file(WAL_SMS)
    messages = [SimpleNamespace(**r) for r in records if r["type"] == "message"]
    from_wal = [m for m in messages if WAL_ONLY in describe(m).statuses]
    assert from_wal and len(from_wal) == sum(1 for m in messages if m.extra.get("wal_only"))
    assert all(WAL_ONLY not in describe(m).statuses for m in messages if not m.extra.get("wal_only"))


# -- bubbles of a real store, with the positions and cards linked to their messages --------------------------


@pytest.fixture(scope="module")
def stored(whatsapp, tmp_path_factory) -> ReportStore:
    store = ReportStore(tmp_path_factory.mktemp("store") / "out")
    source = store.source(
        "/data/data/com.whatsapp/databases/msgstore.db", parser="whatsapp_msgstore", records=len(whatsapp)
    )
    for record in whatsapp:
        record.source_file_id = source.id
        store.store.add(record)
    store.store.flush()
    return store


def bubble_rows(stored: ReportStore) -> list:
    reader = CursorReader(stored.store.session)
    table = Message.__table__
    return list(reader.rows(select(*reader.columns(table)).order_by(table.c.id), bubble_extra_of="extra"))


def test_a_page_links_positions_and_cards_to_their_bubbles(stored) -> None:
    rows = bubble_rows(stored)
    PageLinks(stored.store.session, 1000, {}).attach(rows)
    m = {r.source_row: r for r in rows}
    lat, lon, name, _ = STATIC_LOCATION
    pin = describe(m["4"])
    (position,) = [v for v in pin.values if isinstance(v, Link)]
    assert pin.what == "Shared location" and pin.values == [f"{lat:.6f}, {lon:.6f}", name, position]
    assert re.fullmatch(r"locations-1\.html#loc-\d+", position.href) and position.words.startswith("position #")
    live = describe(m["6"])
    assert live.what == "Live location"
    assert [v if isinstance(v, str) else "link" for v in live.values] == [  # each position, then its row's link
        f"{LIVE_START[0]:.6f}, {LIVE_START[1]:.6f}",
        "shared for 15m 00s",
        "link",
        "last position",
        f"{LIVE_END[0]:.6f}, {LIVE_END[1]:.6f}",
        "link",
    ]
    card = describe(m["10"])
    assert card.values == ["Abu Jamal, +33 6 12 34 56 78, +33612345678"]
    html = Bubbles({}, "not translated").bubble(m["4"], "thread")
    kind = re.search(r'<div class="kind" dir="auto">(.*?)</div>', html).group(1)
    assert kind.startswith("Shared location · <bdi>51.007310, 2.101580</bdi> · <bdi>Gravelines</bdi>")
    assert re.search(r'<a href="locations-1\.html#loc-\d+">position #\d+</a>', kind)
    assert "sent <span" in html and '· received <span class="mono other">2025-05-12T12:06:01.500Z</span>' in html
    assert "(listed by its sent time)" in html


def test_plain_text_bubble_keeps_its_bytes_without_time_is() -> None:
    """A store written before `time_is` (or a message with text and nothing else) shows as it always did."""
    from datetime import datetime

    m = SimpleNamespace(
        id=3,
        app="sms",
        direction="incoming",
        counterpart="+447700900123",
        sender="+447700900123",
        body="hello",
        time_utc=datetime(2025, 5, 12, 10, 0, tzinfo=UTC),
        time_raw=1,
        time_encoding="unix_ms",
        deleted=False,
        extra={},
        source_file_id=None,
        source_table="sms",
        source_row="3",
        source_offset=None,
    )
    html = Bubbles({}, "not translated").bubble(m, "")
    assert '<div class="kind"' not in html and "listed by" not in html
    assert '<div class="text" dir="auto">hello</div>' in html


def test_stored_codes_in_a_bubble_are_capped_and_escaped(whatsapp) -> None:
    """A type name or quoted text taken from a phone is evidence: escaped, its controls shown, its length capped."""
    m = by_row(whatsapp)["4"]
    hostile = SimpleNamespace(
        **{
            k: getattr(m, k)
            for k in (
                "app",
                "direction",
                "counterpart",
                "sender",
                "time_utc",
                "time_raw",
                "time_encoding",
                "source_table",
                "source_row",
                "source_offset",
                "source_file_id",
            )
        },
        id=1,
        body=None,
        deleted=False,
        extra={
            "generation": "modern",
            "message_type": 9999,
            "message_type_name": "<script>\u202e" + "x" * 5000,
            "quoted": {"text": "<b>quoted</b>"},
        },
    )
    html = Bubbles({}, "").bubble(hostile, "")
    kind = re.search(r'<div class="kind" dir="auto">(.*?)</div>', html, re.S).group(1)
    assert kind.startswith("message type 9999 (&lt;script&gt;⟦RLO⟧xxx") and "[cut: " in kind and len(kind) < 2300
    assert "<script>" not in html and "<b>quoted</b>" not in html and "reply to: &lt;b&gt;quoted&lt;/b&gt;" in html


def test_a_positions_link_names_the_page_that_lists_it_and_its_map_point(stored) -> None:
    from triage.model.records import Location

    ids = [loc.id for loc in stored.store.session.query(Location).order_by(Location.id)]
    assert len(ids) == 3  # the pin, the live location's start and its last position
    rows = bubble_rows(stored)
    PageLinks(stored.store.session, 1, {ids[2]: "L9"}).attach(rows)  # one position a page
    m = {r.source_row: r for r in rows}
    links = [v for row in ("4", "6") for v in describe(m[row]).values if isinstance(v, Link)]
    assert links == [
        Link(f"locations-1.html#loc-{ids[0]}", f"position #{ids[0]}"),
        Link(f"locations-2.html#loc-{ids[1]}", f"position #{ids[1]}"),
        Link(f"locations-3.html#loc-{ids[2]}", f"position #{ids[2]}"),
        Link("../index.html#map-L9", "L9 on the map"),
    ]


# -- plain messages (is_plain): the bubble of one whose JSON is not decoded must say what describe() says --------


def _extracted(extra_text: str) -> tuple[Any, ...]:
    """What stream.bubble_rows reads of `extra` with SQLite's JSON functions (the same SQL, a real SQLite)."""
    import sqlite3

    from triage.report.stream import _EXTRACTED

    with sqlite3.connect(":memory:") as db:
        row = db.execute(
            "SELECT json_valid(?1), "
            + ", ".join(f"CASE WHEN json_valid(?1) THEN json_extract(?1, '{p}') END" for p in _EXTRACTED),
            (extra_text,),
        ).fetchone()
    return row


def _module_words() -> set[str]:
    """Every word in quotes in message_kinds.py: the keys it reads are among them."""
    source = (ROOT / "triage/report/message_kinds.py").read_text(encoding="utf-8")
    return set(re.findall(r'"([a-z_A-Z]+)"', source))


VALUES: tuple[Any, ...] = (
    True,
    1,
    7,
    "x",
    "sent",
    {"utc": "2025-05-12T12:06:01.500Z", "name": "n", "type": "messageMediaPhoto"},
    [{}],
)


@pytest.mark.parametrize("app", ["whatsapp", "telegram", "sms", "imessage"])
def test_a_message_called_plain_is_one_describe_says_nothing_of(app: str) -> None:
    """For every key the module names, with values of each kind, alone or beside WhatsApp's generation: a
    message is_plain calls plain has no kind, value or status, no translation, and the times the bubble
    shows from the extracted values are those it shows from the decoded JSON."""
    import json

    from triage.report.message_kinds import TIME_WORDS, is_plain

    checked = plain = 0
    for key in sorted(_module_words()):
        for value in VALUES:
            for extra in ({key: value}, {"generation": "modern", key: value}, {"time_is": "sent", key: value}):
                text = json.dumps(extra)
                valid, time_is, sent, received, code = _extracted(text)
                m = SimpleNamespace(app=app, direction="incoming", body="hi", deleted=False, extra=extra)
                checked += 1
                if not (valid == 1 and is_plain("hi", False, text, code, sent, received)):
                    continue
                plain += 1
                assert describe(m) == describe(SimpleNamespace(**{**vars(m), "extra": {}})), (app, extra)
                assert not extra.get("translation"), extra
                label = TIME_WORDS.get(time_is) if type(time_is) is str else None
                assert label == time_label(extra), extra
                others = [(TIME_WORDS[k], v) for k, v in (("sent", sent), ("received", received)) if v and k != time_is]
                assert others == other_times(extra), extra
    assert checked > 1000 and 0 < plain < checked


def test_a_key_spelt_with_escapes_or_a_json_sqlite_refuses_is_not_plain() -> None:
    from triage.report.message_kinds import KIND_KEYS, is_plain

    assert not is_plain("hi", False, '{"st\\u0061rred": true}', None, None, None)  # "starred", escaped
    assert not is_plain("hi", False, '{"note": "caf\\u00e9"}', None, None, None)
    assert _extracted('{"x": NaN, "time_is": "sent"}')[0] == 0  # decoded in Python, never an error of the query
    for key in KIND_KEYS:
        assert not is_plain("hi", False, f'{{"{key}": 0}}', None, None, None), key
        assert is_plain("hi", False, f'{{"{key}x": 0, "x{key}": 1}}', None, None, None), key
    assert not is_plain("", False, "{}", None, None, None) and not is_plain("hi", True, "{}", None, None, None)
    assert not is_plain("hi", False, "{}", 1, None, None) and not is_plain("hi", False, "{}", None, 5, None)
