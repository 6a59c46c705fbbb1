"""The case store's fast SQLite path writes exactly the rows the ORM would, and numbers them itself."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert, inspect
from sqlalchemy.orm import Session

from triage.model.records import Base, Call, Location, Message, SourceFile, build
from triage.store import CaseStore, _row_of, _sqlite_json, _sqlite_plan

PARIS = timezone(timedelta(hours=2))


def _records() -> list[Base]:
    """Every kind of value the columns hold: aware times in other zones, whole seconds, year 1, JSON of
    every shape (unicode, nested, a bare number, a boolean, a list), None in JSON and text columns, booleans, links."""
    source = SourceFile(path="/data/msgstore.db", layers=[{"kind": "folder", "name": "x"}], provenance="p")
    first = Message(
        app="whatsapp",
        thread="447700900123@s.whatsapp.net",
        direction="incoming",
        counterpart="+447700900123",
        sender="+447700900123",
        body="Rendez-vous à Gravelines ☎",
        time_utc=datetime(2024, 6, 1, 23, 59, 59, 999999, tzinfo=PARIS),
        time_raw=1717279199999,
        time_encoding="unix_ms",
        read=True,
        extra={"key_id": "3EB0", "nested": {"a": [1, None, "é"]}},
        source_table="messages",
        source_row=7,
    )
    second = build(
        Message,
        app="sms",
        thread=None,
        direction="outgoing",
        counterpart=None,
        sender=None,
        body=None,
        time_utc=datetime(1, 1, 1, tzinfo=UTC),
        time_raw="0001-01-01",
        time_encoding="iso",
        sent_utc=datetime(2024, 1, 1, 12, tzinfo=UTC),
        sent_raw=[1, 2],
        deleted=True,
    )
    call = Call(
        app="phone",
        direction="missed",
        counterpart="+33612345678",
        time_utc=None,
        time_raw=False,
        time_encoding="none",
        duration_s=12.5,
        video=False,
    )
    pin = Location(
        origin="whatsapp message",
        latitude=50.9870,
        longitude=2.1280,
        time_utc=datetime(2024, 6, 1, 21, 0, tzinfo=UTC),
        time_encoding="unix_ms",
        message=first,
    )
    return [source, first, second, call, pin]


def _rows(path: Path, table: str) -> list[tuple]:
    with sqlite3.connect(path) as db:
        columns = [row[1] for row in db.execute(f'PRAGMA table_info("{table}")')]
        typed = ", ".join(f'"{c}", typeof("{c}")' for c in columns)
        return db.execute(f'SELECT {typed} FROM "{table}" ORDER BY id').fetchall()


def test_fast_sqlite_rows_equal_the_sqlalchemy_rows(tmp_path: Path) -> None:
    """Reference: SQLAlchemy Core binding the same rows (the store's path on other databases)."""
    by_core = tmp_path / "core.sqlite"
    engine = create_engine(f"sqlite:///{by_core}")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        records = _records()
        session.add(records[0])
        session.flush()
        next_id: dict[str, int] = {}
        for record in records[1:]:  # ids as the store gives them: 1, 2 … per table
            record.source_file_id = records[0].id
            table = type(record).__table__
            record.__dict__["id"] = next_id[table.name] = next_id.get(table.name, 0) + 1
            session.execute(insert(table), [{**_row_of(record), "id": record.id}])
        session.commit()
    engine.dispose()

    store = CaseStore(f"sqlite:///{tmp_path / 'store.sqlite'}")
    records = _records()
    store.add(records[0])
    for record in records[1:]:
        record.source_file_id = records[0].id  # known at once: the store numbered the source when it was added
        store.insert(record)
    store.commit()
    store.close()

    assert records[0].id == 1 and records[4].message_id is None and records[4].message.id == 1
    for table in ("source_file", "message", "call", "location"):
        assert _rows(tmp_path / "store.sqlite", table) == _rows(by_core, table), table
    assert _rows(by_core, "message")[1][_column(by_core, "message", "time_utc") * 2] == "0001-01-01 00:00:00.000000"


def _column(path: Path, table: str, name: str) -> int:
    with sqlite3.connect(path) as db:
        return [row[1] for row in db.execute(f'PRAGMA table_info("{table}")')].index(name)


def test_store_numbers_rows_across_batches_and_orm_cascades(tmp_path: Path) -> None:
    """Ids are given as records are stored; a record the ORM brings in through a link gets the next number
    too, so a later insert never collides with it."""
    store = CaseStore(f"sqlite:///{tmp_path / 'c.sqlite'}")
    messages = [
        build(
            Message,
            app="sms",
            thread="t",
            direction="incoming",
            counterpart="+1",
            sender="+1",
            body=f"m{i}",
            time_utc=None,
            time_raw=None,
            time_encoding="none",
        )
        for i in range(12_001)
    ]
    for message in messages[:6000]:
        store.insert(message)
    store.flush()
    cascaded = Message(
        app="sms",
        thread="t",
        direction="incoming",
        counterpart="+2",
        sender="+2",
        body="linked",
        time_utc=None,
        time_raw=None,
        time_encoding="none",
    )
    store.add(Location(origin="whatsapp message", latitude=1.0, longitude=2.0, message=cascaded))
    for message in messages[6000:]:
        store.insert(message)
    store.commit()
    ids = [m.id for m in messages]
    assert ids == list(range(1, 6001)) + list(range(6002, 12003)) and cascaded.id == 6001
    with sqlite3.connect(tmp_path / "c.sqlite") as db:
        assert db.execute("SELECT count(*), max(id) FROM message").fetchone() == (12_002, 12_002)
        assert db.execute("SELECT body FROM message WHERE id = 6001").fetchone() == ("linked",)
    store.close()


HI = {  # a plain message, every required field given
    "app": "sms",
    "thread": "t",
    "direction": "incoming",
    "counterpart": "+1",
    "sender": None,
    "body": "hi",
    "time_utc": None,
    "time_raw": 5,
    "time_encoding": "unix_s",
}


def test_build_is_the_constructor_without_bookkeeping() -> None:
    made = build(Message, **HI)
    usual = Message(**HI)
    names = [c.key for c in Message.__table__.columns]
    assert [getattr(made, n) for n in names] == [getattr(usual, n) for n in names]
    assert (
        made.extra == {}
        and made.extra
        is not build(
            Message,
            **{
                k: getattr(usual, k)
                for k in (
                    "app",
                    "thread",
                    "direction",
                    "counterpart",
                    "sender",
                    "body",
                    "time_utc",
                    "time_raw",
                    "time_encoding",
                )
            },
        ).extra
    )
    with pytest.raises(TypeError, match="bodyy"):
        build(
            Message,
            app="sms",
            thread="t",
            direction="incoming",
            counterpart="+1",
            sender=None,
            bodyy="hi",
            body="x",
            time_utc=None,
            time_raw=5,
            time_encoding="unix_s",
        )
    with pytest.raises(TypeError, match="time_encoding"):
        build(
            Message,
            app="sms",
            thread="t",
            direction="incoming",
            counterpart="+1",
            sender=None,
            body="hi",
            time_utc=None,
            time_raw=5,
        )


def test_a_record_that_leaves_a_value_unset_gets_the_same_row_as_one_holding_them_all(tmp_path: Path) -> None:
    """The store reads a built record's values in one go; a record missing one (never set) takes the
    column-by-column path with the column's default: both give the row SQLAlchemy would."""
    full, partial, constructed = _records()[2], _records()[2], _records()[1]  # built, built, constructed
    for record in (full, partial, constructed):
        record.__dict__["id"] = 1
    del partial.__dict__["status"], partial.__dict__["read"]  # as if never set: their defaults (None)
    assert "status" not in constructed.__dict__  # the constructor leaves defaults unset too
    sql, values_of = _sqlite_plan(Message)
    row = values_of(full)
    assert values_of(partial) == row and row[0] == 1 and row[_names(sql).index("deleted")] is True
    assert row[_names(sql).index("time_utc")] == "0001-01-01 00:00:00.000000"
    made = values_of(constructed)
    assert (
        made[_names(sql).index("status")] is None and json.loads(made[_names(sql).index("extra")])["key_id"] == "3EB0"
    )


def _names(sql: str) -> list[str]:
    return [name.strip(' "') for name in sql.split("(", 1)[1].split(")", 1)[0].split(",")]


def test_built_records_get_the_orm_state_only_when_the_orm_needs_it() -> None:
    """build leaves out SQLAlchemy's per-record state (the store never needs it); assigning an attribute or
    linking the record makes it then, and the record behaves as a constructed one."""
    message = build(Message, **HI)
    assert "_sa_instance_state" not in message.__dict__
    pin = build(Location, origin="whatsapp message", latitude=1.0, longitude=2.0, message=message)
    assert pin.message is message and inspect(pin).transient and inspect(message).transient
    message.source_file_id = 4
    assert message.source_file_id == 4 and inspect(message).attrs.source_file_id.value == 4
    usual = Message(**HI)
    assert inspect(usual).transient and "_sa_instance_state" in usual.__dict__


def test_json_columns_hold_the_text_json_dumps_gives() -> None:
    """The store's one C encoder writes what SQLAlchemy's serialiser (json.dumps, default arguments) would."""
    values: list[object] = [
        {"a": [1, None, "é", 1.5, float("nan"), float("inf"), -float("inf"), True, False, 10**30, 1e16, 0.1]},
        '☎ \udc80 \x00\n"',
        [{"k": {"z": ["🚤", -0.0]}}],
        {3: 2, 2.5: 3, True: 4, None: 5},
        ("t", 1),
        {},
        [],
        None,
        False,
        7,
        2.0,
    ]
    assert [_sqlite_json(v) for v in values] == [json.dumps(v) for v in values]
    with pytest.raises(TypeError, match="not JSON serializable"):
        _sqlite_json({"x": object()})


def test_a_case_file_appended_goes_on_from_the_stores_ids_with_its_links(tmp_path: Path) -> None:
    """`append_case_file` (a fork's parse joining the store): ids move on per table, links move with their table,
    and the store numbers its next records after the rows appended."""

    def stored(store: CaseStore, body: str) -> Location:
        source = SourceFile(path=f"/{body}.db", layers=[], provenance=f"/{body}.db", volume="", inode=None, size=1)
        store.add_numbered(source)
        message = Message(**{**HI, "body": body, "source_file_id": source.id})
        position = Location(origin="whatsapp message", latitude=1.0, longitude=2.0, message=message)
        position.source_file_id = source.id
        store.insert(position)
        return position

    case = CaseStore(f"sqlite:///{tmp_path / 'case.sqlite'}")
    part = CaseStore(f"sqlite:///{tmp_path / 'part.sqlite'}")
    for n in range(3):
        stored(case, f"case-{n}")
    for n in range(2):
        stored(part, f"part-{n}")
    part.commit()
    part.close()
    assert case.append_case_file(tmp_path / "part.sqlite") == {"source_file": 2, "message": 2, "location": 2}
    after = stored(case, "after")
    case.commit()
    assert after.id == 6 and after.message.id == 6 and after.source_file_id == 6
    with sqlite3.connect(tmp_path / "case.sqlite") as db:
        rows = db.execute(
            "SELECT l.id, m.id, m.body, s.path FROM location l JOIN message m ON m.id = l.message_id "
            "JOIN source_file s ON s.id = l.source_file_id AND s.id = m.source_file_id ORDER BY l.id"
        ).fetchall()
    case.close()
    bodies = ["case-0", "case-1", "case-2", "part-0", "part-1", "after"]
    assert rows == [(n, n, body, f"/{body}.db") for n, body in enumerate(bodies, start=1)]


def test_rewrite_extra_changes_only_the_records_named_across_batches(tmp_path: Path) -> None:
    """A pass's marks on many records (one near-duplicate group can hold a phone's photos) are written back by
    id a batch at a time: every record named gets its new `extra`, the others keep theirs, and a record the
    session already holds reads the new value, not its old one."""
    from triage.model.records import MediaFile
    from triage.store.rows import ID_BATCH, rewrite_extra

    store = CaseStore(f"sqlite:///{tmp_path / 'case.sqlite'}")
    source = SourceFile(path="/media/0/DCIM", layers=[], provenance="p")
    store.add(source)
    store.flush()
    total = 2 * ID_BATCH + 37
    for i in range(total):
        store.add(
            MediaFile(
                path=f"/media/0/DCIM/{i}.jpg",
                name=f"{i}.jpg",
                size=i,
                sha256=None,
                extra={"n": i},
                source_file_id=source.id,
            )
        )
    store.flush()
    held = store.session.get(MediaFile, 3)
    assert held is not None and held.extra == {"n": 2}
    named = [i for i in range(1, total + 1) if i % 3 == 0]
    rewrite_extra(store, MediaFile, iter(named), lambda media_id, extra: {**extra, "group": f"g{media_id % 7}"})
    assert held.extra == {"n": 2, "group": "g3"}  # before any commit expires the session's records
    store.commit()
    with sqlite3.connect(tmp_path / "case.sqlite") as db:
        rows = dict(db.execute("SELECT id, extra FROM media_file ORDER BY id"))
    assert len(rows) == total
    for media_id, text in rows.items():
        expected = {"n": media_id - 1, **({"group": f"g{media_id % 7}"} if media_id % 3 == 0 else {})}
        assert json.loads(text) == expected, media_id
    store.close()


def test_every_connection_sorts_in_files_with_a_bounded_page_cache(tmp_path: Path) -> None:
    """Sorts larger than the page cache (the report's indexes over a phone's messages) spill to temporary
    files instead of the process's memory, on the run's connection and on every other one the engine opens."""
    store = CaseStore(f"sqlite:///{tmp_path / 'case.sqlite'}")
    try:
        first = store.session.connection().exec_driver_sql
        assert first("PRAGMA temp_store").scalar() == 1  # FILE
        assert first("PRAGMA cache_size").scalar() == -16384  # KiB
        with store.engine.connect() as other:
            assert other.exec_driver_sql("PRAGMA temp_store").scalar() == 1
    finally:
        store.close()


def test_an_announced_source_has_its_id_at_once_and_its_row_as_it_was_when_settled(tmp_path: Path) -> None:
    """A file's SourceFile is announced before its records (they point at it) and settled once its parse is done:
    the row holds what it was then (status, count, parsers), under the id it had from the start; nothing of it is
    written before (a run stopped mid-file still settles it: triage/parsing/__init__.py)."""
    store = CaseStore(f"sqlite:///{tmp_path / 'case.sqlite'}")
    first = SourceFile(path="/a.db", layers=[], provenance="/a.db", volume="", inode=None, size=1)
    second = SourceFile(path="/b.db", layers=[], provenance="/b.db", volume="", inode=None, size=1)
    store.announce(first)
    store.announce(second)
    assert (first.id, second.id) == (1, 2)
    store.insert(Message(**{**HI, "source_file_id": first.id}))
    store.flush()
    assert store.count(SourceFile) == 0 and store.count(Message) == 1
    first.status, first.record_count, first.parser = "parsed with warnings", 1, "android_sms"
    store.settle(first)
    second.status = "not parsed"
    store.settle(second)
    store.commit()
    rows = sqlite3.connect(tmp_path / "case.sqlite").execute(
        "SELECT id, status, record_count, parser FROM source_file ORDER BY id"
    )
    assert list(rows) == [(1, "parsed with warnings", 1, "android_sms"), (2, "not parsed", 0, None)]
    store.close()
