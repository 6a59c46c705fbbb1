"""The case store: SQLAlchemy over SQLite (default, a file in the output folder) or any URL."""

from __future__ import annotations

import functools
import json
import operator
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from json.encoder import JSONEncoder, c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    ColumnElement,
    FromClause,
    Table,
    create_engine,
    event,
    func,
    insert,
    inspect,
    null,
    select,
    text,
)
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from triage.errors import TriageError
from triage.model.records import Base, SourceFile, UTCDateTime, unset_values

R = TypeVar("R", bound=Base)
FLUSH_EVERY = 2000  # ORM objects: flush in batches, never hold a whole database in memory
INSERT_BATCH = 5000  # bulk rows: one executemany per table and batch
# A case file is written once by one process and sealed after: no rollback journal on disk and no fsync
# per transaction (a run that dies is recorded as failed and its store is not evidence of anything).
SQLITE_JOURNAL = "PRAGMA journal_mode=MEMORY"  # not set on a file already in WAL (_write_once_pragmas)
SQLITE_PRAGMAS = (
    "PRAGMA synchronous=OFF",
    # sorts too large for the page cache (CREATE INDEX over the messages, GROUP BY and ORDER BY of the
    # report's queries) spill to temporary files, which the system's file cache holds, instead of growing the
    # process: at 1,000,000 messages they raised the run's peak by ~80 MB (bench/RESULTS.md,
    # session of 2026-12-06, afternoon), at 200,000 the same time either way
    "PRAGMA temp_store=FILE",
    # 16 MiB of pages per connection: the case file's pages stay in the system's file cache, and at 200,000 and
    # 1,000,000 messages a 64 MiB cache took 50 MB more of every process's memory for the same run time
    # (bench/RESULTS.md, session of 2026-12-06, late morning)
    "PRAGMA cache_size=-16384",
)


class CaseStore:
    def __init__(self, url: str, finished: bool = False) -> None:
        """A new run's store; `finished`: a finished run's store opened again to read it (tests, benchmarks)."""
        self.url = url
        self.engine = create_engine(url)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _write_once_pragmas)
        if not finished:
            self._refuse_used_database()
        Base.metadata.create_all(self.engine)
        self.session = Session(self.engine, expire_on_commit=False, autoflush=False)
        self._pending = 0
        self._objects: dict[type[Base], list[Base]] = {}  # records not yet inserted, per record type
        self._buffered_ids: set[int] = set()
        # SQLite: the store numbers the rows itself (one writer per case file, see _refuse_used_database), so a
        # record has its id the moment it is stored and nobody waits for a flush to point at it
        # PostgreSQL too: one writer per case schema (the lab's claim on a job; `--db` refuses a used database)
        self._numbers = self.engine.dialect.name in ("sqlite", "postgresql")
        self._next_id: dict[FromClause, int] = {}
        self._shared = False  # SQLite in WAL mode for a reader in another process (let_readers_in)

    @classmethod
    def in_folder(cls, folder: Path, finished: bool = False) -> CaseStore:
        return cls(f"sqlite:///{(folder / 'case.sqlite').resolve()}", finished)

    def _refuse_used_database(self) -> None:
        """One run, one store: mixing two examinations in one database would corrupt both records."""
        names = set(inspect(self.engine).get_table_names())
        if SourceFile.__tablename__ in names:
            with self.engine.connect() as c:
                used = c.execute(select(func.count()).select_from(SourceFile.__table__)).scalar()
            if used:
                raise TriageError(
                    f"the database {self.engine.url.render_as_string(hide_password=True)} already holds "
                    "a run; give a new, empty database with --db"
                )

    def add(self, record: Base) -> None:
        """Store a record through the ORM (records that change after they are stored: sources, items)."""
        if self._numbers:
            for target in (*_related(record), record):
                self._number(target)
        self.session.add(record)
        self._pending += 1
        if self._pending >= FLUSH_EVERY:
            self.flush()

    def add_numbered(self, record: Base) -> None:
        """`add`, and the record has its id when this returns (others point at it): on SQLite the store's
        own number, elsewhere the database's after a flush."""
        self.add(record)
        if record.id is None or self.engine.dialect.name != "sqlite":
            self.flush()  # PostgreSQL checks foreign keys: the row must be in before rows pointing at it

    def announce(self, record: Base) -> None:
        """A record others point at before it is final (a SourceFile while its file is parsed): its id now, its row
        with `settle`. On SQLite the row is then inserted as `insert` inserts records, without the ORM's bookkeeping
        of every change (~70 us a file, 50,000 files on a phone); elsewhere (PostgreSQL checks foreign keys as each
        row goes in) it is stored through the ORM now, which writes its later changes."""
        if self.engine.dialect.name == "sqlite":
            self._number(record)
        else:
            self.add_numbered(record)

    def settle(self, record: Base) -> None:
        """An announced record, final: nothing about it changes any more."""
        if self.engine.dialect.name == "sqlite":
            self.insert(record)

    def insert(self, record: Base) -> None:
        """Store a record nobody will change afterwards (parser output, pass results): buffered and
        inserted with one multi-row INSERT per table and batch instead of one ORM object each. Records
        it points at (a Location's message or photo) are inserted first, as the ORM would cascade."""
        cls = type(record)
        if _layout(cls)[1]:  # only records that can link to others (a Location's message) look for targets
            for target in _related(record):
                if getattr(target, "id", None) is None and id(target) not in self._buffered_ids:
                    self.insert(target)
        if self._numbers:
            self._number(record)
        buffered = self._objects.get(cls)
        if buffered is None:
            buffered = self._objects[cls] = []
        buffered.append(record)
        self._buffered_ids.add(id(record))
        if len(self._buffered_ids) >= INSERT_BATCH:
            self.flush()

    def append_case_file(self, database: Path) -> dict[str, int]:
        """Every row of the SQLite case file `database` (made by a new CaseStore: the same tables, values as this
        store converts them, ids from 1) appended to this store as if stored here now: each table's ids go on from
        this store's, and every foreign key moves with the table it points at (a position's message, a record's
        source file). Returns the rows appended by table name."""
        if self.engine.dialect.name != "sqlite":
            raise TriageError("append_case_file: an SQLite case store only")
        self.commit()  # SQLite attaches a database only outside a transaction
        connection = self.session.connection()
        connection.exec_driver_sql("ATTACH DATABASE ? AS part", (str(database),))
        try:
            appended = self._append_attached(connection)
            self.session.commit()
        finally:
            self.session.rollback()  # nothing left open: DETACH too needs no transaction
            self.session.connection().exec_driver_sql("DETACH DATABASE part")
        return appended

    def _append_attached(self, connection: Any) -> dict[str, int]:
        tables = Base.metadata.sorted_tables  # targets before the rows pointing at them
        counts = {t: connection.exec_driver_sql(f'SELECT count(*), max(id) FROM part."{t.name}"').one() for t in tables}
        offsets = {t: self._next_number(t) - 1 for t in tables}
        appended: dict[str, int] = {}
        for table in tables:
            count, last = counts[table]
            if not count:
                continue
            values = []
            for column in table.c:
                moved = offsets[table] if column.primary_key else None
                for key in column.foreign_keys:
                    moved = offsets[key.column.table]
                values.append(f'"{column.name}" + {moved}' if moved else f'"{column.name}"')
            names = ", ".join(f'"{c.name}"' for c in table.c)
            connection.exec_driver_sql(
                f'INSERT INTO main."{table.name}" ({names}) SELECT {", ".join(values)} FROM part."{table.name}" '
                "ORDER BY id"
            )
            self._next_id[table] = offsets[table] + last + 1
            appended[table.name] = count
        return appended

    def _next_number(self, table: FromClause) -> int:
        number = self._next_id.get(table)
        if number is None:
            number = (self.session.scalar(select(func.max(table.c.id))) or 0) + 1
        return number

    def _number(self, record: Base) -> None:
        state = record.__dict__
        if state.get("id") is not None:
            return
        table = type(record).__table__
        number = self._next_number(table)
        state["id"] = number  # no ORM bookkeeping: an insert reads the value from here
        self._next_id[table] = number + 1

    def flush(self) -> None:
        if self._numbers:  # anything the ORM cascades in (a record's target) gets the store's next number too
            for pending in list(self.session.new):
                self._number(pending)
        self.session.flush()  # ORM objects first: bulk rows may refer to them (source_file_id)
        if self._objects:
            self._insert_buffered()
        self._pending = 0

    def _insert_buffered(self) -> None:
        """Tables in dependency order, so a row's foreign keys point at rows that already have ids."""
        by_table = {cls.__table__: objects for cls, objects in self._objects.items()}
        self._objects, self._buffered_ids = {}, set()
        for table in Base.metadata.sorted_tables:
            objects = by_table.get(table)
            if objects:
                self._insert_rows(table, objects)

    def _insert_rows(self, table: Table, objects: list[Base]) -> None:
        if self._numbers:
            # ids given already (_number): the rows go in as plain tuples through the driver's executemany, the
            # fastest path SQLite has (PostgreSQL: psycopg's, no RETURNING); values are turned into what
            # SQLAlchemy itself would store
            plan = _sqlite_plan if self.engine.dialect.name == "sqlite" else _postgres_plan
            sql, values_of = plan(type(objects[0]))
            self.session.connection().exec_driver_sql(sql, [values_of(record) for record in objects])
            return
        statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        ids = self.session.execute(statement, [_row_of(o) for o in objects]).scalars().all()
        for record, new_id in zip(objects, ids, strict=True):
            record.id = new_id

    def commit(self) -> None:
        self.flush()
        self._advance_sequences()
        self.session.commit()
        self._pending = 0

    def _advance_sequences(self) -> None:
        """PostgreSQL: each table's id sequence past the ids the store gave, so a later writer (a reviewer's
        tool) that lets the database number its rows never collides with them."""
        if not self._numbers or self.engine.dialect.name != "postgresql":
            return
        for table, next_id in self._next_id.items():
            if next_id > 1 and isinstance(table, Table):
                self.session.execute(
                    text("SELECT setval(pg_get_serial_sequence(:t, 'id'), :n)"), {"t": table.name, "n": next_id - 1}
                )

    def all(self, cls: type[R]) -> Iterator[R]:
        """Records of one type in insertion (id) order: deterministic for rules and reports."""
        self.flush()
        yield from self.session.scalars(select(cls).order_by(cls.id)).yield_per(1000)

    def counts(self) -> dict[str, int]:
        """Records of every exported type, by its record type (the counts every output gives)."""
        from triage.model.records import EXPORTED_RECORDS

        return {cls.record_type: self.count(cls) for cls in EXPORTED_RECORDS}

    def count(self, cls: type[Base]) -> int:
        self.flush()
        return self.session.scalar(select(func.count()).select_from(cls)) or 0

    def get(self, cls: type[R], id_: int) -> R | None:
        return self.session.get(cls, id_)

    def let_readers_in(self) -> None:
        """Commit, and let another process read the store while this one goes on writing (SQLite: the
        write-ahead log, whose readers neither block the writer nor see its uncommitted rows; the
        report's second process reads the messages while the passes write). `close` makes the case file
        one file again."""
        self.commit()
        if self.engine.dialect.name == "sqlite":
            mode = self.session.connection().exec_driver_sql("PRAGMA journal_mode=WAL").scalar()
            if mode == "wal":
                self._shared = True
            elif not sqlite_in_memory(self.engine.url):  # in memory: no other process reads it
                raise TriageError(
                    f"the case store could not take a write-ahead log (journal mode {mode}): no other process "
                    "could read it while this one writes"
                )

    def close(self) -> None:
        if self._shared:
            # back to a rollback journal: the log folded into case.sqlite and removed, so the sealed case
            # file opens on read-only media (a database in WAL mode needs to write its -shm file)
            self._shared = False
            self.session.rollback()  # what was not committed is dropped, as a plain close drops it
            mode = self.session.connection().exec_driver_sql("PRAGMA journal_mode=DELETE").scalar()
            self.session.commit()
            if mode != "delete":
                self.session.close()
                self.engine.dispose()
                raise TriageError(f"the case store could not leave its write-ahead log (journal mode {mode})")
        self.session.close()
        self.engine.dispose()


def sqlite_in_memory(url: URL) -> bool:
    """An SQLite store in this connection's memory: no other connection or process can open it."""
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def _write_once_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # a store already in WAL mode (let_readers_in: other processes are reading it) keeps it: setting the journal
    # mode on a later connection of this process would take the file out of WAL without waiting for its readers,
    # and their next read would wait on this process's writes (tests/store/test_readers_while_writing.py)
    if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        cursor.execute(SQLITE_JOURNAL)
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


def _row_of(record: Base) -> dict[str, Any]:
    """Column values of a record, keyed as the table's columns (the primary key left to the database);
    a relationship's target fills its foreign key."""
    columns, relations = _layout(type(record))
    state = record.__dict__  # the values themselves: going through the ORM's descriptors costs more than the insert
    row = {}
    for attr_key, column_key, is_json in columns:
        value = state[attr_key] if attr_key in state else getattr(record, attr_key)
        # None in a JSON column is SQL NULL, as the ORM stores it, not the JSON text 'null'
        row[column_key] = null() if value is None and is_json else value
    for relation_key, pairs in relations:
        target = getattr(record, relation_key)
        if target is not None:
            for local_key, remote_key in pairs:
                row[local_key] = getattr(target, remote_key)
    return row


Columns = tuple[tuple[str, str, bool], ...]  # (attribute, column, is JSON) per non-key column
Relations = tuple[tuple[str, tuple[tuple[str, str], ...]], ...]  # (relationship, its (local, remote) key pairs)


@functools.cache
def _layout(cls: type[Base]) -> tuple[Columns, Relations]:
    """Per record type, once: (attribute, column, is JSON) for each non-key column, and each relationship's
    foreign-key pairs (looked up for every one of a phone's million records otherwise)."""
    mapper = inspect(cls)
    columns = tuple(
        (attr.key, attr.columns[0].key, isinstance(attr.columns[0].type, JSON))
        for attr in mapper.column_attrs
        if not attr.columns[0].primary_key
    )
    relations = tuple(
        (rel.key, tuple((_key(local), _key(remote)) for local, remote in rel.local_remote_pairs))
        for rel in mapper.relationships
    )
    return columns, relations


def _key(column: ColumnElement[Any]) -> str:
    assert column.key is not None  # a table's columns always have one
    return column.key


@functools.cache
def _sqlite_plan(cls: type[Base]) -> tuple[str, Callable[[Base], tuple[Any, ...]]]:
    """Per record type, once: the INSERT statement with the id first, and a function giving a record's
    values in its column order, converted as SQLAlchemy binds them on SQLite (UTC datetimes as
    'YYYY-MM-DD HH:MM:SS.ffffff' text, JSON as json.dumps text, None as NULL). tests/store/test_store.py checks
    the rows are the same as SQLAlchemy's own binding of them."""
    return _insert_plan(cls, "?", _sqlite_converter)


@functools.cache
def _postgres_plan(cls: type[Base]) -> tuple[str, Callable[[Base], tuple[Any, ...]]]:
    """_sqlite_plan for PostgreSQL (psycopg): %s placeholders; JSON as the same json.dumps text (the server
    reads it as json); a UTC datetime as itself (timestamptz), a naive one refused as on SQLite."""
    return _insert_plan(cls, "%s", _postgres_converter)


def _insert_plan(
    cls: type[Base], placeholder: str, converter: Callable[[Any], Callable[[Any], Any] | None]
) -> tuple[str, Callable[[Base], tuple[Any, ...]]]:
    table = cls.__table__
    assert isinstance(table, Table)  # every record type maps one table
    columns, relations = _layout(cls)
    converters = {column_key: converter(table.c[column_key].type) for _, column_key, _ in columns}
    fields = [(attr_key, column_key, converters[column_key]) for attr_key, column_key, _ in columns]
    foreign = [
        (relation_key, local_key, remote_key) for relation_key, pairs in relations for local_key, remote_key in pairs
    ]
    names = ["id"] + [column_key for _, column_key, _ in fields]
    quoted = ", ".join(f'"{name}"' for name in names)
    sql = f'INSERT INTO "{table.name}" ({quoted}) VALUES ({", ".join(placeholder for _ in names)})'
    return sql, _values_function(cls, fields, foreign)


def _postgres_converter(column_type: Any) -> Callable[[Any], Any] | None:
    if isinstance(column_type, UTCDateTime):
        return _aware
    if isinstance(column_type, JSON):
        return _sqlite_json
    return None


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value


def _values_function(
    cls: type[Base], fields: list[tuple[str, str, Callable[[Any], Any] | None]], foreign: list[tuple[str, str, str]]
) -> Callable[[Base], tuple[Any, ...]]:
    """The function giving a record's row: one tuple expression generated for the record type (as dataclasses
    and namedtuple generate their methods), about twice as fast as a loop over the columns for each of a
    phone's million records. Each column is the record's value (its default when unset) converted, except a
    foreign key whose relationship holds a target: then the target's key, as the ORM would fill it."""
    unset = unset_values(cls)
    links = {local_key: (relation_key, remote_key) for relation_key, local_key, remote_key in foreign}
    # every value at once (one C call, operator.itemgetter) when the record holds them all, as built records
    # do; a record that leaves one unset takes the column-by-column path with the defaults
    names: dict[str, Any] = {"every": operator.itemgetter("id", *(attr_key for attr_key, _, _ in fields))}
    parts, fast = ['d["id"]'], ["a[0]"]
    for n, (attr_key, column_key, convert) in enumerate(fields):
        names[f"u{n}"], value, held = unset[attr_key], f"d.get({attr_key!r}, u{n})", f"a[{n + 1}]"
        if convert is not None:
            names[f"c{n}"] = convert
            value = f"(None if (v := {value}) is None else c{n}(v))"
            held = f"(None if (v := {held}) is None else c{n}(v))"
        if column_key in links:
            relation_key, remote_key = links[column_key]
            value = f"(t.{remote_key} if (t := d.get({relation_key!r})) is not None else {value})"
            held = f"(t.{remote_key} if (t := d.get({relation_key!r})) is not None else {held})"
        parts.append(value)
        fast.append(held)
    source = (
        "def values_unset(d):\n    return (" + ",\n            ".join(parts) + ",)\n"
        "def values_of(record):\n    d = record.__dict__\n    try:\n        a = every(d)\n"
        "    except KeyError:\n        return values_unset(d)\n    return (" + ",\n            ".join(fast) + ",)\n"
    )
    exec(compile(source, f"<row of {cls.__name__}>", "exec"), names)  # noqa: S102 - our own column names only
    return names["values_of"]


def _sqlite_converter(column_type: Any) -> Callable[[Any], Any] | None:
    if isinstance(column_type, UTCDateTime):
        return _sqlite_datetime
    if isinstance(column_type, JSON):
        return _sqlite_json
    return None  # text, numbers and booleans: the driver binds them as SQLAlchemy would


def _json_encoder() -> Callable[[Any], str]:
    """json.dumps with its default arguments, as one C encoder made once: json.dumps builds a new encoder for
    every value, which costs more than encoding a record's small `extra`. Circular values are not looked for
    (records hold data read from files, never a value that contains itself); without the C accelerator,
    json.dumps itself."""
    if c_make_encoder is None:
        return json.dumps
    chunks = c_make_encoder(None, JSONEncoder().default, encode_basestring_ascii, None, ": ", ", ", False, False, True)
    return lambda value: "".join(chunks(value, 0))


_dumps = _json_encoder()


def _sqlite_json(value: Any) -> str:
    """json.dumps with default arguments (SQLAlchemy's JSON serialiser); a raw time is most often an integer,
    whose JSON text is its decimal digits (bool is a subclass, not this type: it stays json's true/false)."""
    return str(value) if type(value) is int else _dumps(value)


def _sqlite_datetime(value: datetime) -> str:
    if value.tzinfo is UTC:  # what the parsers give: no conversion needed
        return value.isoformat(" ", "microseconds")[:26]
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value.astimezone(UTC).isoformat(" ", "microseconds")[:26]


def _related(record: Base) -> Iterator[Base]:
    for relation_key, _ in _layout(type(record))[1]:
        target = getattr(record, relation_key)
        if target is not None:
            yield target
