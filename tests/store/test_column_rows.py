"""column_rows: rows of columns whose values SQLite gives as stored (integers, text, reals) come straight off the
driver's cursor; every other column goes through SQLAlchemy's result. Either way a pass sees the same rows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

import triage.store.rows as rows
from triage.model.records import Base, Call, Contact, Location, Message
from triage.store import CaseStore

T0 = datetime(2024, 3, 1, 2, 44, 43, 737000, tzinfo=UTC)


def _store(tmp_path: Path) -> CaseStore:
    store = CaseStore(f"sqlite:///{tmp_path / 'case.sqlite'}")
    bodies = ["ok", "", None, "إن شاء الله 🙂\u202e", "x" * 5000, "0044 7700 900123", "line\nbreak\x00nul"]
    for i, body in enumerate(bodies):
        store.insert(
            Message(
                app="whatsapp" if i % 2 else "sms",
                thread=None if i == 3 else f"t{i % 3}",
                direction=("incoming", "outgoing")[i % 2],
                counterpart=None if i == 4 else f"+44770090{i:04d}",
                sender=None,
                body=body,
                time_utc=T0 if i != 2 else None,
                time_raw=[1709261083737, 2**62, "raw", None][i % 4],
                time_encoding="unix_ms",
                deleted=bool(i % 2),
                extra={"n": i, "text": body},
            )
        )
    store.insert(
        Call(app="phone", direction="missed", counterpart="+33612345678", time_utc=T0, time_raw=1, time_encoding="s")
    )
    store.insert(
        Call(
            app="phone",
            direction="incoming",
            counterpart=None,
            time_utc=None,
            time_raw=None,
            time_encoding="s",
            duration_s=633,
            video=True,
        )
    )
    store.insert(Location(origin="exif", latitude=50.96, longitude=1.85, altitude_m=-0.5, accuracy_m=1e-9))
    store.insert(Location(origin="whatsapp", latitude=-0.0, longitude=180.0))
    store.insert(Contact(app="contacts", name="Layla", phone_numbers=["+33639989618"], emails=[]))
    store.commit()
    return store


def _both_ways(store: CaseStore, cls: type[Base], columns: tuple[str, ...], monkeypatch: pytest.MonkeyPatch) -> tuple:
    where = cls.id.in_([2, 3, 5, 99]) if cls is Message else None
    fast = list(rows.column_rows(store, cls, columns, where))
    with monkeypatch.context() as m:
        m.setattr(rows, "_stored_as_read", lambda *_: False)  # every row through SQLAlchemy's result
        slow = list(rows.column_rows(store, cls, columns, where))
    return fast, slow


def test_every_column_of_every_type_reads_the_same_either_way(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = _store(tmp_path)
    compared = 0
    for mapper in Base.registry.mappers:
        cls = mapper.class_
        for name in cls.__table__.c.keys():
            fast, slow = _both_ways(store, cls, ("id", name) if name != "id" else ("id",), monkeypatch)
            assert fast == slow and [type(v) for r in fast for v in r] == [type(v) for r in slow for v in r], (
                cls.__name__,
                name,
            )
            compared += len(fast)
    store.close()
    assert compared > 50


def test_integers_text_and_reals_come_off_the_cursor_times_json_and_booleans_do_not(tmp_path: Path) -> None:
    store = _store(tmp_path)
    dialect = store.session.get_bind().dialect
    assert rows._stored_as_read(dialect, Message, ("id", "app", "thread", "counterpart", "body"))
    assert rows._stored_as_read(dialect, Location, ("id", "latitude", "longitude"))
    for converted in ("time_utc", "time_raw", "extra", "deleted"):
        assert not rows._stored_as_read(dialect, Message, ("id", converted)), converted
    assert [r.body for r in rows.column_rows(store, Message, ("id", "body"), Message.id.in_([2, 3, 5]))] == [
        "",
        None,
        "x" * 5000,
    ]
    [row] = rows.column_rows(store, Call, ("id", "duration_s"), Call.video.is_(True))
    assert row.duration_s == 633.0 and type(row.duration_s) is float and row.record_type == "call"
    store.close()
