"""Reading the case store for the passes: the columns a pass needs, streamed in chunks.

Building an ORM object per record costs ~15 µs; a phone holds hundreds of thousands of messages and every
pass used to build all of them again. A pass reads plain rows of the columns it uses instead
(`column_rows`), and ORM objects only for the few records it keeps (`load_by_id`: findings cite them,
and positions follow their message through the relationship). What a pass marks on many records (media
grouping, a media watch-list) it writes back by id, a batch at a time (`rewrite_extra`).

A row is a named tuple with the record's column names and its `record_type`, so code written for records
(`row.counterpart`, `row.record_type`) reads it unchanged.
"""

from __future__ import annotations

import functools
from collections import namedtuple
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from sqlalchemy import Connection, Dialect, Select, select, update
from sqlalchemy.sql import ColumnElement

from triage.model.records import Base

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from triage.store import CaseStore

R = TypeVar("R", bound=Base)
CHUNK = 5000  # rows fetched at a time: memory stays flat whatever the phone's size
ID_BATCH = 500  # ids per `IN (…)`: well under SQLite's limit on bound parameters


class StoreReader(Protocol):
    """What reading rows needs of a store: its session, and `flush` (records it still buffers are part of the
    case). The case store is one; so is a forked reader's own session (triage/store/forked_reader.py)."""

    session: Session

    def flush(self) -> None: ...

    def all(self, cls: type[R]) -> Iterator[R]: ...


@functools.cache
def row_type(cls: type[Base], columns: tuple[str, ...]) -> type:
    """A named tuple type for these columns of `cls`, carrying the record type as a default field."""
    return namedtuple(f"{cls.__name__}Row", (*columns, "record_type"), defaults=(cls.record_type,))


def column_rows(
    store: StoreReader, cls: type[Base], columns: Sequence[str], where: ColumnElement[bool] | None = None
) -> Iterator[Any]:
    """`columns` of every record of `cls` (optionally only those meeting `where`), in id order."""
    make = row_type(cls, tuple(columns))
    statement = select(*(getattr(cls, c) for c in columns)).order_by(cls.id)
    if where is not None:
        statement = statement.where(where)
    store.flush()  # records still buffered by the store are part of the case
    connection = store.session.connection()
    if _stored_as_read(connection.dialect, cls, tuple(columns)):
        yield from _driver_rows(connection, statement, make)
        return
    for row in connection.execute(statement.execution_options(yield_per=CHUNK)):
        yield make(*row)


@functools.lru_cache(maxsize=256)  # keyed by dialect: one per store opened, and a kiosk or lab opens many
def _stored_as_read(dialect: Dialect, cls: type[Base], columns: tuple[str, ...]) -> bool:
    """Whether SQLite gives each of these columns' values as the column's type has them: no type converts them
    (integers and text do not; times, JSON and booleans do). Their rows can then come straight off the driver's
    cursor, without a result object per row (N = 1,000,000 messages: id and body 0.99 -> 0.63 s)."""
    if dialect.name != "sqlite":
        return False
    table = cls.__table__
    return all(table.c[name].type.dialect_impl(dialect).result_processor(dialect, None) is None for name in columns)


def _driver_rows(connection: Connection, statement: Select[Any], make: Callable[..., Any]) -> Iterator[Any]:
    """The statement's rows, fetched CHUNK at a time from the DB-API cursor under its result, as the report's
    CursorReader reads them (triage/report/cursor_rows.py): SQLAlchemy compiles and binds, the rows skip it."""
    result = connection.execute(statement)
    try:
        while batch := result.cursor.fetchmany(CHUNK):
            for row in batch:
                yield make(*row)
    finally:
        result.close()


def column_rows_by_id(store: CaseStore, cls: type[Base], columns: Sequence[str], ids: Iterable[int]) -> Iterator[Any]:
    """`columns` of the records of `cls` with these ids, in id order."""
    for batch in _batches(sorted(ids)):
        yield from column_rows(store, cls, columns, cls.id.in_(batch))


def rewrite_extra(
    store: CaseStore, cls: type[Base], ids: Iterable[int], rewrite: Callable[[int, dict[str, Any]], dict[str, Any]]
) -> None:
    """Replace the `extra` of each record of `cls` with these ids by `rewrite(id, its extra)`, ID_BATCH rows at
    a time: read as plain rows, written by one UPDATE per row (executemany), never an ORM object per record
    (one near-duplicate group of a phone's photos held 30,000 files: 120 MB as ORM objects)."""
    changed = set(ids)
    for batch in _batches(sorted(changed)):
        changes = [
            {"id": r.id, "extra": rewrite(r.id, dict(r.extra or {}))}
            for r in list(column_rows(store, cls, ("id", "extra"), cls.id.in_(batch)))
        ]
        if changes:
            store.session.execute(update(cls), changes)
    # a record of these already in the session must not keep (or later write back) its old `extra`
    for obj in list(store.session.identity_map.values()):
        if isinstance(obj, cls) and obj.id in changed:
            store.session.expire(obj, ["extra"])


def load_by_id(store: CaseStore, cls: type[R], ids: Iterable[int], options: Sequence[Any] = ()) -> Iterator[R]:
    """ORM records of `cls` with these ids, in id order."""
    store.flush()
    for batch in _batches(sorted(ids)):
        statement = select(cls).where(cls.id.in_(batch)).order_by(cls.id).options(*options)
        yield from store.session.scalars(statement)


def _batches(ids: Iterable[int]) -> Iterator[list[int]]:
    batch: list[int] = []
    for id_ in ids:
        batch.append(id_)
        if len(batch) == ID_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch
