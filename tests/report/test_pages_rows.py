"""The paged listings' fast paths (issue 14): rows read off the DB-API cursor, times kept as the store's text,
rows written in Python. They must give what the slow ways gave, and keep hostile text defused. No timing here:
speed is measured by bench/pages_step.py."""

from __future__ import annotations

import filecmp
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.pages_hostile import write
from triage.model.records import Call, Location, MediaFile, Message, Party, Payment
from triage.model.timeutil import iso
from triage.report import times
from triage.report.cursor_rows import CursorReader
from triage.report.stream import all_of
from triage.report.times import LOCAL_ZONES, StoreTime, as_datetime, local_times, store_time
from triage.store import CaseStore

UTC = UTC


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Path:
    return write(tmp_path_factory.mktemp("hostile") / "out")


def _open(out: Path) -> CaseStore:
    store = CaseStore.__new__(CaseStore)  # a finished store, read only (the constructor refuses a used one)
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    store.engine = create_engine(f"sqlite:///{out / 'case.sqlite'}")
    store.session = Session(store.engine)
    return store


@pytest.mark.parametrize("cls", [Message, Call, Location, MediaFile, Payment, Party])
def test_cursor_rows_hold_the_values_sqlalchemy_reads(hostile: Path, cls: type) -> None:
    store = _open(hostile)
    try:
        reader = CursorReader(store.session)
        table = cls.__table__
        fast = list(reader.rows(select(*reader.columns(table)).order_by(table.c.id)))
        slow = list(all_of(store.session, cls))
        assert len(fast) == len(slow) > 0
        for f, s in zip(fast, slow, strict=True):
            for name in table.c.keys():
                a, b = getattr(f, name), getattr(s, name)
                if isinstance(b, datetime):
                    assert type(a) is StoreTime and as_datetime(a) == b and store_time(b) == a, (name, a, b)
                else:
                    assert a == b and type(a) is type(b), (name, a, b)
    finally:
        store.session.close()


def test_a_time_in_another_text_form_is_read_through_the_column_type(hostile: Path, monkeypatch) -> None:
    """A text SQLAlchemy writes otherwise than the store's usual form is the same instant, not a wrong one."""
    store = _open(hostile)
    try:
        store.session.connection().exec_driver_sql(
            "UPDATE call SET time_utc = '2025-05-14 17:02:11' WHERE id = 2"
        )  # no microseconds
        reader = CursorReader(store.session)
        row = next(r for r in reader.rows(select(Call.__table__.c.id, Call.__table__.c.time_utc)) if r.id == 2)
        assert row.time_utc == "2025-05-14 17:02:11.000000" and type(row.time_utc) is StoreTime
        store.session.connection().exec_driver_sql("UPDATE call SET time_utc = '<b>' WHERE id = 2")
        with pytest.raises(ValueError):  # never shown as it is: SQLAlchemy's own reading refuses it
            list(reader.rows(select(Call.__table__.c.time_utc)))
    finally:
        store.session.rollback()
        store.session.close()


def test_store_time_texts_are_those_of_datetimes_around_every_zone_change() -> None:
    def exact(t: datetime) -> list[str]:
        return [t.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z") for _, zone in LOCAL_ZONES]

    instants = []
    for year in (1911, 1916, 1940, 1941, 1945, 1947, 1968, 1971, 1996, 2025, 2041):
        start = datetime(year, 1, 1, tzinfo=UTC)
        instants += [
            start + timedelta(minutes=53 * n, seconds=n % 60, microseconds=n * 7919 % 10**6)
            for n in range(0, 366 * 24 * 60 // 53)
        ]
    instants += [
        datetime(999, 12, 31, 23, 15, tzinfo=UTC),
        datetime(1000, 1, 1, 0, 30, tzinfo=UTC),
        datetime(2025, 5, 14, 17, 2, 11, 500, tzinfo=UTC),
        datetime(9999, 12, 30, 1, tzinfo=UTC),
    ]
    times.LOCAL_DAYS.days.clear()
    for t in instants:
        text = store_time(t)
        assert local_times(text) == exact(t), t
        assert times.iso_text(text) == iso(t), t
        assert times.day_of(text) == t.strftime("%Y-%m-%d"), t


def test_hostile_text_stays_defused_on_the_listings(hostile: Path) -> None:
    pages = hostile / "pages"
    for name in (
        "people-1",
        "contacts-1",
        "calls-1",
        "accounts-1",
        "locations-1",
        "payments-1",
        "warnings-1",
        "files-1",
        "not-parsed-1",
        "conversation-1-1",
        "day-2025-05-14-1",
    ):
        html = (pages / f"{name}.html").read_text(encoding="utf-8")
        assert "\u202e" not in html and "\x00" not in html and "\ufeff" not in html, name
        assert "<b>&" not in html, name
    calls = (pages / "calls-1.html").read_text(encoding="utf-8")
    assert "⟦RLO⟧exe.jpg" in calls and "&lt;b&gt;&amp;&#39;&#34;&lt;/b&gt;" in calls
    contacts = (pages / "contacts-1.html").read_text(encoding="utf-8")
    assert "more; all are in records/contact.jsonl]" in contacts  # a list past LIST_ITEMS says its cut
    people = (pages / "people-1.html").read_text(encoding="utf-8")
    assert 'href="conversation-' in people and "more; all are in records/party.jsonl]" in people
    warnings = (pages / "warnings-1.html").read_text(encoding="utf-8")
    assert "more characters; the full text is in records/parse_warning.jsonl]" in warnings


def test_pages_read_through_sqlalchemy_are_the_same_bytes(tmp_path: Path, monkeypatch) -> None:
    """Every time forced the slow way (as a driver giving datetimes would): the same pages."""
    fast = write(tmp_path / "fast")
    monkeypatch.setattr("triage.report.cursor_rows.parse_store_time", lambda text: None)
    slow = write(tmp_path / "slow")
    names = sorted(p.name for p in (fast / "pages").iterdir())
    assert names == sorted(p.name for p in (slow / "pages").iterdir()) and len(names) > 30
    differ = [
        n
        for n in names
        if n != "record-1.html"  # the custody log's own times differ between runs
        and not filecmp.cmp(fast / "pages" / n, slow / "pages" / n, shallow=False)
    ]
    assert differ == []


def test_a_position_without_a_time_shows_an_empty_cell_not_none(tmp_path: Path) -> None:
    """Issue 15 item 3: the positions listing printed "None (None)" for a position stored without a time."""
    from tests.report_demo import listing
    from tests.report_store import ReportStore

    rs = ReportStore(tmp_path / "out")
    src = rs.source("/media/0/DCIM/Camera/IMG_1.jpg", parser="photo_exif")
    timed = rs.location(src, "with a time")
    untimed = rs.add(
        Location(origin="exif", latitude=50.96, longitude=1.86, label="no time", source_file_id=src.id, source_offset=0)
    )
    rs.write(files_selected=1)
    page = listing(rs.out, "locations")
    row = page[page.index(f'<tr id="loc-{untimed.id}">') :]
    row = row[: row.index("</tr>")]
    assert "None" not in row and "50.960000" in row
    assert "1747242131530" in page and "(unix_ms)" in page and timed.id != untimed.id


def _conversation_store(out: Path) -> Path:
    """The hostile store, with messages whose `extra` a plain bubble reads through SQLite (time_is, the other
    time) or must not (a key spelt with escapes, a NaN SQLite's JSON refuses, a list, a number as a time)."""
    from sqlalchemy import text

    from tests.pages_hostile import HOSTILE, fill
    from tests.report_store import ReportStore

    rs = ReportStore(out)
    fill(rs)
    src = rs.source("/data/data/com.whatsapp/databases/msgstore.db", parser="whatsapp")
    received = {"raw": 1, "utc": "2025-05-14T17:02:12.001Z"}
    extras: list[Any] = [
        {"generation": "modern", "message_type": 0, "time_is": "sent", "received": received},
        {"time_is": "received", "sent": received, "sub_id": 1},
        {"time_is": "stored", "sent": received, "received": {"utc": "2025-05-14T17:03:00Z"}},
        {"time_is": "received", "sent": {"utc": 12}},
        {"time_is": 1, "sent": received},
        {"time_is": "stored", "d": float("nan")},
        {"generation": "modern", "message_type": True},
        [1, 2],
        {},
        {"note": "café", "time_is": "sent"},
        "ESCAPED",
    ]
    bodies = ["<script>alert(1)</script>", "\u202eexe.jpg\x00", "z" * 5000, *HOSTILE]
    for i in range(40):
        rs.add(
            Message(
                app=["whatsapp", "sms", "telegram"][i % 3],
                thread="plain",
                direction=["incoming", "outgoing"][i % 2],
                counterpart="+447700900123",
                sender=[None, "<i>\u202e"][i % 2],
                body=bodies[i % len(bodies)],
                time_utc=datetime(2025, 3, 30, 0, 30, tzinfo=UTC) + timedelta(minutes=17 * i),
                time_raw=1743294600000 + i,
                time_encoding="unix_ms",
                deleted=False,
                extra=extras[i % len(extras)] if extras[i % len(extras)] != "ESCAPED" else {},
                source_file_id=src.id,
                source_table="message",
                source_row=str(i),
            )
        )
    rs.store.commit()
    ids = [i for (i,) in rs.store.session.execute(text("SELECT id FROM message WHERE thread = 'plain'"))]
    escaped = '{"st\\u0061rred": true, "time_is": "sent"}'  # "starred", as json.dumps never writes it
    for i in ids[9 :: len(extras)]:
        rs.store.session.execute(text("UPDATE message SET extra = :e WHERE id = :i"), {"e": escaped, "i": i})
    rs.store.commit()
    rs.write(files_selected=1)
    return out


def test_plain_bubbles_are_the_bytes_of_described_ones(tmp_path: Path, monkeypatch) -> None:
    """Conversation pages whose plain messages skip decoding their JSON (stream.bubble_rows) are the pages
    written with every message described from its decoded JSON; hostile text stays defused in both."""
    import triage.report.stream as stream_module

    is_plain = stream_module.is_plain
    answers = tmp_path / "is_plain.txt"  # a file: the timeline's fork may write the conversation (fork_share)

    def counted(*args: Any) -> bool:
        plain = is_plain(*args)
        with open(answers, "a", encoding="ascii") as f:
            f.write("1" if plain else "0")
        return plain

    monkeypatch.setattr(stream_module, "is_plain", counted)
    fast = _conversation_store(tmp_path / "fast")
    calls = answers.read_text(encoding="ascii")
    assert calls.count("1") > 20 and calls.count("0") > 20
    monkeypatch.setattr(stream_module, "is_plain", lambda *a: False)
    slow = _conversation_store(tmp_path / "slow")
    names = sorted(p.name for p in (fast / "pages").iterdir())
    assert names == sorted(p.name for p in (slow / "pages").iterdir())
    differ = [
        n for n in names if n != "record-1.html" and not filecmp.cmp(fast / "pages" / n, slow / "pages" / n, False)
    ]
    assert differ == []
    thread = next(
        n for n in names if n.startswith("conversation-") and "&lt;script&gt;alert" in (fast / "pages" / n).read_text()
    )
    html = (fast / "pages" / thread).read_text(encoding="utf-8")
    assert "<script>alert" not in html and "⟦RLO⟧exe.jpg⟦NUL⟧" in html and "\x00" not in html
    assert "more characters; the full text is in records/message.jsonl]" in html
    assert '· received <span class="mono other">2025-05-14T17:02:12.001Z</span>' in html
    assert "starred" in html  # the escaped key was read as the key it spells


def test_days_counted_by_sqlite_are_those_of_the_times_read(tmp_path: Path) -> None:
    """timeline_days counts the days in SQL when every time is in the store's text form, and reads the times
    otherwise: both give the days (and counts) the times read through CursorReader give."""
    from sqlalchemy import text

    from tests.pages_hostile import fill
    from tests.report_store import ReportStore
    from triage.report.stream import TIMED, timeline_days
    from triage.report.times import day_of

    def expected(session: Any) -> dict[str, int]:
        reader, days = CursorReader(session), dict[str, int]()
        for _, cls, column in TIMED:
            col = cls.__table__.c[column]
            for (when,) in reader.rows(select(col).where(col.is_not(None))):
                days[day_of(when)] = days.get(day_of(when), 0) + 1
        return dict(sorted(days.items()))  # by the day's name, as the timeline's index lists them

    rs = ReportStore(tmp_path / "out")
    fill(rs)
    rs.store.commit()
    session = rs.store.session
    days = timeline_days(session)
    assert days == expected(session) and list(days) == list(expected(session)) and "999-12-31" in days
    session.execute(text("UPDATE call SET time_utc = '2025-05-14 17:02:11' WHERE id = 1"))  # another text form
    days = timeline_days(session)
    assert days == expected(session) and sum(days.values()) > 100


def test_bubble_rows_hold_the_values_the_reader_reads(hostile: Path) -> None:
    """stream.bubble_rows gives every message of each conversation, in order, with the values thread_messages
    reads through CursorReader (times as StoreTime, JSON decoded, booleans as bool); a plain message leaves
    its `extra` undecoded (None) and carries what its bubble reads of it instead."""
    from triage.report.stream import bubble_rows, thread_index, thread_messages

    store = _open(hostile)
    try:
        reader, plain = CursorReader(store.session), 0
        for t in thread_index(store.session):
            fast = list(bubble_rows(store.session, t, reader))
            slow = list(thread_messages(store.session, t, bubbles=True, reader=reader))
            assert [m.id for m in fast] == [m.id for m in slow] and len(fast) == t.messages
            for f, s in zip(fast, slow, strict=True):
                for name in s._fields:
                    a, b = getattr(f, name), getattr(s, name)
                    if name == "extra" and f.plain is not None:
                        assert a is None and (b or {}).get("translation") is None
                        continue
                    assert a == b and type(a) is type(b), (name, a, b)
                plain += f.plain is not None
        assert plain > 5
    finally:
        store.session.close()


def test_people_with_refs_sliced_by_the_database_are_the_same_bytes(tmp_path: Path, monkeypatch) -> None:
    """The people pages show a party's first LIST_ITEMS references and how many more it has, both worked out by
    the database (store_rows.json_array_head); with the database made to slice nothing (every row read whole
    and sliced in Python, as a value SQLite cannot read is) the pages are the same bytes."""
    from sqlalchemy import JSON, Integer, null, type_coerce

    sliced = write(tmp_path / "sliced")
    people = listing_of(sliced, "people")
    assert people.count("more; all are in records/party.jsonl]") >= 5  # parties past LIST_ITEMS are there
    monkeypatch.setattr(
        "triage.report.pages.json_array_head",
        lambda column, n, dialect: (type_coerce(null(), Integer()), type_coerce(null(), JSON())),
    )
    whole = write(tmp_path / "whole")
    assert listing_of(whole, "people") == people


def test_a_party_whose_refs_sqlite_cannot_read_is_listed_with_its_first_refs(tmp_path: Path) -> None:
    """A `refs` text SQLite's JSON functions refuse (a NaN Python's json wrote) is sliced in Python instead:
    the party keeps its row, its first LIST_ITEMS references and the count of the rest."""
    from tests.report_store import ReportStore
    from triage.report.display import LIST_ITEMS

    rs = ReportStore(tmp_path / "out")
    refs = [
        {"type": "call", "id": 900 + j, "field": "counterpart", "raw": "+447700900123"} for j in range(LIST_ITEMS + 7)
    ]
    refs[-1]["weight"] = float("nan")

    def party(number: str, refs: list[dict[str, Any]]) -> Party:
        return rs.add(
            Party(
                key=number,
                e164=number,
                region="GB",
                basis="the number itself",
                ambiguous=False,
                candidates=[],
                names=[],
                apps=["calls"],
                raw_forms=[number],
                refs=refs,
            )
        )

    odd, plain = party("+447700900123", refs), party("+447700900124", refs[:3])
    rs.write(files_selected=1)
    with sqlite3.connect(rs.out / "case.sqlite") as db:  # the row the database cannot slice
        assert db.execute("SELECT json_valid(refs) FROM party ORDER BY id").fetchall() == [(0,), (1,)]
    page = listing_of(rs.out, "people")
    odd_row = page[page.index(f'<tr id="party-{odd.id}">') :]
    odd_row = odd_row[: odd_row.index("</tr>")]
    assert "call #900 (counterpart)," in odd_row and f"call #{900 + LIST_ITEMS - 1} (counterpart)" in odd_row
    assert f"call #{900 + LIST_ITEMS} " not in odd_row and "[cut: 7 more; all are in records/party.jsonl]" in odd_row
    plain_row = page[page.index(f'<tr id="party-{plain.id}">') :]
    plain_row = plain_row[: plain_row.index("</tr>")]
    assert "call #902" in plain_row and "cut:" not in plain_row


def listing_of(out: Path, name: str) -> str:
    from tests.report_demo import listing

    return listing(out, name)
