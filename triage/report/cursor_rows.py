"""Store rows for the paged listings, read off the DB-API cursor: a phone's pages read a million values.

SQLAlchemy still builds and runs each query (so its SQL and bound parameters are those of every other reader,
on SQLite and PostgreSQL alike), but the rows are taken from the statement's DB-API cursor
(`CursorResult.cursor`) and only the columns that need it are converted, the ways the report reads them:

- times (UTCDateTime columns) become `StoreTime`, the store's own UTC text, checked digit by digit; a value
  in any other form (a PostgreSQL datetime, a text SQLAlchemy writes otherwise) goes through the column
  type's own result processing first, so it is the same instant;
- JSON columns are decoded as `store_rows.StoredJSON` decodes them (a driver that decodes JSON itself, as
  PostgreSQL's does, hands them over decoded); a message's `extra` for a bubble (`bubble_extra_of`) as a fresh
  dict of its own (`bubble_extra`): the bubble reads its kind, statuses and times there (message_kinds.py)
  and the page adds the records linked to it;
- booleans become bool (SQLite hands 0 and 1).

Each row is a named tuple of the columns asked for: attribute access, as Core rows have it.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import cache
from typing import Any

from sqlalchemy import JSON, Boolean, Select, select
from sqlalchemy.orm import Session

from triage.model.records import Base, UTCDateTime
from triage.report.store_rows import StoredJSON, paged, record_select
from triage.report.times import StoreTime, parse_store_time, store_time

FETCH = 1000  # rows taken from the cursor at a time
_JSON = StoredJSON()


@cache
def _row_class(names: tuple[str, ...]) -> Any:
    return namedtuple("StoreRow", names, rename=True)  # "_source_…" labels: by position


class CursorReader:
    """Reads chosen columns of the store's tables for the pages, converted as the module says."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect

    def columns(self, table: Any, only: Iterable[str] | None = None) -> list[Any]:
        """The table's columns, or those named in `only`, in table order."""
        wanted = None if only is None else set(only)
        return [c for c in table.c if wanted is None or c.name in wanted]

    def rows(self, statement: Select, bubble_extra_of: str | None = None) -> Iterator[Any]:
        """The statement's rows (its selected columns must be plain table columns, or labelled ones whose
        type says how to read them). `bubble_extra_of`: a message's JSON `extra` read for its bubble
        (`bubble_extra`)."""
        columns = list(statement.selected_columns)
        names = tuple(c.key for c in columns)
        make = _row_class(names)._make
        convert = [
            (i, f) for i, c in enumerate(columns) if (f := self._converter(c, c.key == bubble_extra_of)) is not None
        ]
        result = self.session.connection().execute(statement)
        try:
            cursor = result.cursor
            while True:
                batch = cursor.fetchmany(FETCH)
                if not batch:
                    return
                if not convert:
                    yield from map(make, batch)
                    continue
                for raw in batch:
                    values = list(raw)
                    for i, f in convert:
                        value = values[i]
                        if value is not None or f is bubble_extra:
                            values[i] = f(value)
                    yield make(values)
        finally:
            result.close()

    def _converter(self, column: Any, for_bubble: bool) -> Callable[[Any], Any] | None:
        kind = column.type
        if isinstance(kind, UTCDateTime):
            return self._time_reader(column)
        if isinstance(kind, JSON):
            if self.dialect.name != "sqlite":
                return None  # PostgreSQL's driver decodes JSON itself: a JSON string is already a str
            return bubble_extra if for_bubble else _json
        if isinstance(kind, Boolean):
            return bool
        return None

    def _time_reader(self, column: Any) -> Callable[[Any], StoreTime]:
        process = column.type.dialect_impl(self.dialect).result_processor(self.dialect, None)

        def read(value: Any) -> StoreTime:
            if type(value) is str:
                t = parse_store_time(value)
                if t is not None:
                    return t
            aware = process(value) if process is not None else value
            return store_time(aware)

        return read

    def by_ids(
        self, table: Any, ids: Iterable[int | None], only: Sequence[str] | None = None, chunk: int = 500
    ) -> dict[int, Any]:
        """Rows of one table by id, fetched in batches; `only`: the columns wanted (with "id")."""
        wanted = sorted({i for i in ids if i is not None})
        columns = self.columns(table, only)
        found: dict[int, Any] = {}
        for start in range(0, len(wanted), chunk):
            for row in self.rows(select(*columns).where(table.c.id.in_(wanted[start : start + chunk]))):
                found[row.id] = row
        return found


def _json(value: Any) -> Any:
    return _JSON.process_result_value(value, None)


def bubble_extra(value: Any) -> dict[str, Any]:
    """A message's `extra` as a bubble reads it: the whole object (kind, statuses, other time, translation:
    message_kinds.py), a dict of the row's own that the page may add linked records to; {} for none."""
    if isinstance(value, dict):  # decoded by the driver
        return dict(value)
    decoded = _json(value) if value is not None else None
    return decoded if isinstance(decoded, dict) else {}


def record_rows(store: Any, cls: type[Base], with_source: bool = False) -> Iterator[Any]:
    """Every record of one type, in id order, read one keyset page at a time through the cursor (the exports
    read a phone's every record): the columns of store_rows.record_select, times as StoreTime."""
    reader = CursorReader(store.session)
    # no dialect: plain columns, decoded by the reader
    return paged(store, record_select(cls, with_source), cls.__table__.c.id, fetch=lambda q: list(reader.rows(q)))
