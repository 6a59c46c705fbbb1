"""Reading the case store for the exports, in bounded memory: one record type in id order, page by page.

A phone holds hundreds of thousands of messages; an export must not hold them. Each page is a fresh
query `WHERE id > <last id of the previous page> ORDER BY id LIMIT n` (keyset paging): only one page is
in memory, no cursor stays open between pages, and the same SQL runs on SQLite and PostgreSQL. Rows are
SQLAlchemy Core rows (column values, typed as the records declare them: aware UTC datetimes, JSON
decoded), not ORM objects: no identity map, a fraction of the cost per record.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Connection,
    Integer,
    Row,
    Select,
    Text,
    TypeDecorator,
    literal_column,
    select,
    type_coerce,
)
from sqlalchemy import inspect as sa_inspect

from triage.model.records import Base, SourceFile
from triage.store import CaseStore

PAGE_ROWS = 2000
IN_LIST_ROWS = 500  # ids per `IN (…)` query: far below every backend's limit on bound parameters
# The source file's provenance and hash joined to each record, under names no record column uses.
SOURCE_PATH = "_source_provenance"
SOURCE_SHA256 = "_source_sha256"


def connection(store: CaseStore) -> Connection:
    """The session's own connection (same transaction, so it sees what the run stored), used at the Core
    level: rows as they are, without the ORM's per-row bookkeeping."""
    return store.session.connection()


class StoredJSON(TypeDecorator[Any]):
    """A JSON column as SQLite hands it to the report: text decoded, numbers as they are (SQLite's numeric
    affinity stores a JSON number as one). The values SQLAlchemy's JSON type gives, at a fraction of its cost
    per value (no exception per number; no parser for an empty object, the `extra` of most records): a
    phone's exports and pages decode a million of them."""

    impl = Text
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if isinstance(value, (str, bytes)):
            return {} if value == "{}" else json.loads(value)
        return value


def readable(column: Any, dialect: str | None) -> Any:
    """The column to select: a JSON one read through StoredJSON on SQLite (PostgreSQL's driver decodes JSON
    itself), labelled with its own name; the others as they are."""
    if dialect == "sqlite" and isinstance(column.type, JSON):
        return type_coerce(column, StoredJSON()).label(column.key)
    return column


def json_array_head(column: Any, n: int, dialect: str) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """How many elements a JSON array column holds and its first `n` (a JSON array), both worked out by the
    database, for a page that shows a few of a list that can be long: a party's `refs` name every record it
    is linked from, tens of thousands on a real phone, and decoding them all for a page of 500 parties held
    100 MB. Both are NULL where the database cannot read the value as an array (on SQLite, a text Python's
    json wrote that is not strict JSON, such as NaN): the caller then decodes that row's whole value itself.
    `column` must belong to a table named in the statement's FROM (the subquery refers to it by name)."""
    name = f"{column.table.name}.{column.name}"
    if dialect == "postgresql":
        is_array = f"json_typeof({name}) = 'array'"
        count = f"CASE WHEN {is_array} THEN json_array_length({name}) END"
        head = (
            f"CASE WHEN {is_array} THEN COALESCE((SELECT json_agg(e.value ORDER BY e.i) FROM "
            f"json_array_elements({name}) WITH ORDINALITY AS e(value, i) WHERE e.i <= {int(n)}), '[]'::json) END"
        )
    else:
        # CASE evaluates its THEN only when the WHEN holds: json_type and json_each never see a malformed text
        is_array = f"(CASE WHEN json_valid({name}) THEN json_type({name}) = 'array' END)"
        count = f"CASE WHEN {is_array} THEN json_array_length({name}) END"
        head = (
            f"CASE WHEN {is_array} THEN (SELECT json_group_array(CASE WHEN type IN ('object', 'array') "
            f"THEN json(value) ELSE value END) FROM (SELECT value, type FROM json_each({name}) ORDER BY key "
            f"LIMIT {int(n)})) END"
        )
    return literal_column(count, Integer()), literal_column(head, JSON())


def dialect_of(store: CaseStore) -> str:
    return store.session.get_bind().dialect.name


def record_columns(cls: type[Base]) -> list[tuple[str, ColumnElement[Any]]]:
    """(attribute name, column) of each column a record type maps, in mapping order."""
    return [(attr.key, attr.columns[0]) for attr in sa_inspect(cls).column_attrs]


def has_source(cls: type[Base]) -> bool:
    return any(key == "source_file_id" for key, _ in record_columns(cls))


def record_select(
    cls: type[Base], with_source: bool = False, only: Sequence[str] | None = None, dialect: str | None = None
) -> Select[Any]:
    """Every column of a record type (or those named in `only`, in their mapping order), labelled by attribute
    name; with its source file's provenance and SHA-256 (outer join: a record whose source is unknown keeps
    null ones) when asked and it has one. `dialect`: the store's, for the fastest way to read JSON columns."""
    columns = [(key, column) for key, column in record_columns(cls) if only is None or key in only]
    statement = select(*(readable(column, dialect).label(key) for key, column in columns))
    if with_source and has_source(cls):
        table = cls.__table__
        statement = statement.add_columns(
            SourceFile.provenance.label(SOURCE_PATH), SourceFile.sha256.label(SOURCE_SHA256)
        )
        statement = statement.select_from(table).outerjoin(SourceFile, table.c.source_file_id == SourceFile.id)
    return statement


def paged(
    store: CaseStore,
    statement: Select[Any],
    id_column: ColumnElement[Any],
    page: int | None = None,
    fetch: Callable[[Select[Any]], Sequence[Any]] | None = None,
) -> Iterator[Row[Any]]:
    """The rows of `statement` in `id_column` order, read one keyset page (PAGE_ROWS rows) at a time. The
    statement must select `id_column` labelled `id` (record_select does). `fetch`: how a page's query is
    read (default: Core rows on the session's connection)."""
    page = page or PAGE_ROWS
    read_page: Callable[[Select[Any]], Sequence[Any]] = fetch or (lambda query: connection(store).execute(query).all())
    store.flush()  # records still buffered for insertion are part of the store
    last: Any = None
    while True:
        query = statement if last is None else statement.where(id_column > last)
        rows = read_page(query.order_by(id_column).limit(page))
        yield from rows
        if len(rows) < page:
            return
        last = rows[-1].id


def records(
    store: CaseStore, cls: type[Base], with_source: bool = False, only: Sequence[str] | None = None
) -> Iterator[Row[Any]]:
    """Every record of one type, as rows, in id (insertion) order: the order of store.all(cls). `only`: the
    columns wanted (with "id"), when a reader needs a few: JSON and time columns cost most to read."""
    return paged(store, record_select(cls, with_source, only, dialect_of(store)), cls.__table__.c.id)


def record_ids(store: CaseStore, cls: type[Base]) -> Iterator[int]:
    id_column = cls.__table__.c.id
    return (row.id for row in paged(store, select(id_column.label("id")), id_column))


def records_by_id(store: CaseStore, cls: type[Base], ids: Iterable[int]) -> Iterator[Row[Any]]:
    """The records of one type with the given ids, in id order (ids that name no record are skipped)."""
    wanted: Sequence[int] = sorted(set(ids))
    id_column = cls.__table__.c.id
    store.flush()
    for start in range(0, len(wanted), IN_LIST_ROWS):
        batch = wanted[start : start + IN_LIST_ROWS]
        yield from (
            connection(store)
            .execute(record_select(cls, dialect=dialect_of(store)).where(id_column.in_(batch)).order_by(id_column))
            .all()
        )
