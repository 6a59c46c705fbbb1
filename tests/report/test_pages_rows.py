"""The paged listings' fast paths (issue 14): rows read off the DB-API cursor, times kept as the store's text,
rows written in Python. They must give what the slow ways gave, and keep hostile text defused. No timing here:
speed is measured by bench/pages_step.py."""

from __future__ import annotations

import filecmp
from datetime import UTC, datetime, timedelta
from pathlib import Path

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
