"""The case store read for the report in bounded chunks: SQL groups and orders, Python holds one chunk.

Nothing here loads "all records of a type": conversations are found with one GROUP BY, each one read
in time order with a streamed query, the timeline is a merge of five streams ordered by the database,
and records named by id (a finding's evidence, a page's source files) are fetched in batches. Memory
depends on the chunk size and on the number of threads and pages, not on the number of messages.

Rows are SQLAlchemy Core rows (attribute access by column name, typed as the ORM types them: aware UTC
datetimes, decoded JSON): the same fields the ORM records have, without building an object per record.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Select, String, case, distinct, func, null, select, text, type_coerce
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from triage.model.records import Base, Call, Location, MediaFile, Message, Payment, SourceFile
from triage.report.cursor_rows import CursorReader, bubble_extra
from triage.report.display import LIST_ITEMS
from triage.report.message_kinds import is_plain
from triage.report.store_rows import StoredJSON, readable
from triage.report.times import StoreTime, day_of, parse_store_time, store_time

CHUNK = 1000  # rows fetched from the database at a time
_JSON = StoredJSON()
SOURCES_KEPT = 4096  # source files remembered across pages (path and provenance): most pages cite the same few
# Indexes the paged report reads by (created if absent, on SQLite and PostgreSQL alike): a thread read in
# time order and the timeline's five streams are then index scans, not sorts of the whole table.
REPORT_INDEXES = (
    # counterpart last: the grouping of messages into conversations (thread_index, thread_count) reads the index
    # alone, never the table; the first four still give a conversation its messages in order
    "CREATE INDEX IF NOT EXISTS ix_report_message_thread ON message (app, thread, time_utc, id, counterpart)",
    "CREATE INDEX IF NOT EXISTS ix_report_message_time ON message (time_utc, id)",
    "CREATE INDEX IF NOT EXISTS ix_report_call_time ON call (time_utc, id)",
    "CREATE INDEX IF NOT EXISTS ix_report_location_time ON location (time_utc, id)",
    "CREATE INDEX IF NOT EXISTS ix_report_location_media ON location (media_file_id)",
    # a conversation page's shared positions (message_kinds.PageLinks): made here, before other processes read
    # the store, not at the first such message while they do
    "CREATE INDEX IF NOT EXISTS ix_report_location_message ON location (message_id)",
    "CREATE INDEX IF NOT EXISTS ix_report_media_taken ON media_file (taken_utc, id)",
    "CREATE INDEX IF NOT EXISTS ix_report_payment_time ON payment (time_utc, id)",
)
# times.StoreTime's form as a GLOB pattern (a time SQLite matches with it is one CursorReader reads as a StoreTime)
STORE_GLOB = (
    "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]"
)
# timeline streams: (record type, table, time column); ties at one instant are broken by type, then id
TIMED = (
    ("call", Call, "time_utc"),
    ("location", Location, "time_utc"),
    ("media_file", MediaFile, "taken_utc"),
    ("message", Message, "time_utc"),
    ("payment", Payment, "time_utc"),
)
UNTIMED = (
    ("message", Message, "time"),
    ("call", Call, "time"),
    ("location", Location, "time"),
    ("media_file", MediaFile, "taken"),
    ("payment", Payment, "time"),
)


def ensure_indexes(session: Session) -> None:
    for statement in REPORT_INDEXES:
        session.execute(text(statement))


def rows(session: Session, statement: Select, chunk: int = CHUNK) -> Iterator[Row]:
    """The statement's rows, fetched `chunk` at a time from an open cursor."""
    result = session.execute(statement.execution_options(yield_per=chunk))
    for part in result.partitions():
        yield from part


# what a message bubble shows (rows.Bubbles): conversation pages read only these
BUBBLE_COLUMNS = (
    "id",
    "app",
    "thread",
    "direction",
    "counterpart",
    "sender",
    "body",
    "time_utc",
    "time_raw",
    "time_encoding",
    "deleted",
    "extra",
    "source_file_id",
    "source_table",
    "source_row",
    "source_offset",
)


def _columns(table: Any, only: Iterable[str] | None, session: Session | None = None) -> list[Any]:
    """The table's columns, or those named in `only` (in table order): JSON and time columns cost most to read.
    With the session, JSON columns are read the fastest way its database allows (store_rows.readable)."""
    dialect = session.get_bind().dialect.name if session is not None else None
    wanted = None if only is None else set(only)
    return [readable(c, dialect) for c in table.c if wanted is None or c.name in wanted]


def by_ids(
    session: Session, cls: type[Base], ids: Iterable[int | None], chunk: int = 500, only: Iterable[str] | None = None
) -> dict[int, Row]:
    """Rows of one table by id (a page's worth or a finding's evidence), fetched in batches; `only`: the
    columns wanted (with "id"; all by default)."""
    wanted = sorted({i for i in ids if i is not None})
    found: dict[int, Row] = {}
    table = cls.__table__
    columns = _columns(table, only, session)
    for start in range(0, len(wanted), chunk):
        for row in session.execute(select(*columns).where(table.c.id.in_(wanted[start : start + chunk]))):
            found[row.id] = row
    return found


def sources_of(session: Session, records: Iterable[Any]) -> dict[int, Row]:
    """The SourceFile rows the given records cite (a page's sources, not the whole evidence's)."""
    return by_ids(session, SourceFile, (getattr(r, "source_file_id", None) for r in records))


class PageSources:
    """The source files a page's records cite, as the pages show them (id, path, provenance). A phone's records
    come from a few database files, so each is read once and kept (at most SOURCES_KEPT at a time)."""

    COLUMNS = ("id", "path", "provenance")

    def __init__(self, reader: CursorReader) -> None:
        self.reader = reader
        self.kept: dict[int, Any] = {}

    def of(self, records: Iterable[Any]) -> dict[int, Any]:
        wanted = {getattr(r, "source_file_id", None) for r in records} - {None}
        missing = wanted - self.kept.keys()
        if missing:
            if len(self.kept) + len(missing) > SOURCES_KEPT:
                self.kept.clear()
                missing = wanted
            self.kept.update(self.reader.by_ids(SourceFile.__table__, missing, self.COLUMNS))
        kept = self.kept
        return {i: kept[i] for i in wanted if i in kept}


def count(session: Session, cls: type[Base], *where: Any) -> int:
    return session.scalar(select(func.count()).select_from(cls.__table__).where(*where)) or 0


def all_of(session: Session, cls: type[Base], *where: Any, order: tuple = ()) -> Iterator[Row]:
    table = cls.__table__
    return rows(session, select(*_columns(table, None, session)).where(*where).order_by(*(order or (table.c.id,))))


# -- conversations --------------------------------------------------------------------------------


@dataclass
class ThreadInfo:
    """One conversation: messages of one app and thread (or one counterpart, when the app has no thread id)."""

    number: int  # position in the report's order, from 1
    app: str
    thread: str | None
    who: str | None  # the counterpart that groups messages without a thread id
    messages: int
    first: datetime | None
    last: datetime | None
    counterparts: list[str] = field(default_factory=list)  # the first LIST_ITEMS, sorted
    counterpart_count: int = 0
    page_starts: list[tuple] = field(default_factory=list)  # order key of each page's first message
    name: str | None = None  # what the phone calls it (report/names.py), shown beside the identifier
    name_source: str = ""

    @property
    def label(self) -> str:
        return self.thread if self.thread is not None else f"with {self.who or 'unknown'}"

    @property
    def key(self) -> str:
        return f"thread-{self.number}"


def _conversation_kinds() -> list[tuple[Any, Any, Any, tuple[Any, ...]]]:
    """(thread, who, where, grouping) of the two kinds of conversation: messages with a thread, by app and thread
    (who: NULL), and those without one, by app and counterpart (who: the counterpart). Grouped each kind apart, the
    database reads them in the thread index's order instead of sorting every message by a computed key (1,000,000
    messages: thread_index 0.97 -> 0.38 s, thread_count 0.35 -> 0.10 s, bench/RESULTS.md)."""
    return [
        (Message.thread, null(), Message.thread.is_not(None), (Message.app, Message.thread)),
        (null(), Message.counterpart, Message.thread.is_(None), (Message.app, Message.counterpart)),
    ]


def thread_index(session: Session) -> list[ThreadInfo]:
    """Every conversation with its counts, times and first counterparts (one GROUP BY per kind of conversation),
    in report order: first message time (untimed threads last), then app, then thread."""
    threads: dict[tuple[Any, Any, Any], ThreadInfo] = {}
    kinds = _conversation_kinds()
    for thread, who, where, grouping in kinds:
        grouped = (
            select(
                Message.app,
                thread,
                who,
                func.count(),
                func.min(Message.time_utc),
                func.max(Message.time_utc),
                func.count(distinct(Message.counterpart)),
            )
            .where(where)
            .group_by(*grouping)
        )
        for r in session.execute(grouped):
            threads[(r[0], r[1], r[2])] = ThreadInfo(0, r[0], r[1], r[2], r[3], r[4], r[5], counterpart_count=r[6])
    for thread, who, where, grouping in kinds:
        pairs = (
            select(Message.app, thread, who, Message.counterpart)
            .distinct()
            .where(where, Message.counterpart.is_not(None))
            .order_by(*grouping, Message.counterpart)
        )
        for app, thread_id, whom, counterpart in rows(session, pairs):
            info = threads[(app, thread_id, whom)]
            if len(info.counterparts) < LIST_ITEMS:
                info.counterparts.append(counterpart)
    ordered = sorted(
        threads.values(), key=lambda t: (t.first is None, t.first.timestamp() if t.first else 0.0, t.app, t.label)
    )
    for number, info in enumerate(ordered, start=1):
        info.number = number
    return ordered


def thread_count(session: Session) -> int:
    total = 0
    for _, _, where, grouping in _conversation_kinds():
        groups = select(*grouping).where(where).group_by(*grouping).subquery()
        total += session.scalar(select(func.count()).select_from(groups)) or 0
    return total


def time_key(t: datetime | StoreTime) -> StoreTime:
    """An instant as text that sorts in time order (the store's own UTC text), from either form of it."""
    return t if isinstance(t, StoreTime) else store_time(t)


def message_order(m: Any) -> tuple:
    """A message's place in its conversation: timed ones by time then id, untimed ones last by id. The
    time is compared as the store's UTC text, the order the database sorts it in."""
    return (m.time_utc is None, time_key(m.time_utc) if m.time_utc else "", m.id)


def thread_messages(
    session: Session,
    t: ThreadInfo,
    bubbles: bool = False,
    reader: CursorReader | None = None,
    only: tuple[str, ...] | None = None,
) -> Iterator[Any]:
    """The conversation's messages in `message_order`: two index-ordered streams (timed, then untimed).
    `bubbles`: only what a bubble shows (BUBBLE_COLUMNS, `extra` whole: a bubble says what a message is from
    it, report/message_kinds.py). With a `reader`, rows come off its cursor (times as StoreTime, cursor_rows.py),
    only the columns named in `only` when given."""
    table = Message.__table__
    where = _thread_where(table, t)
    if reader is not None:
        columns = reader.columns(table, BUBBLE_COLUMNS if bubbles else only)
        extra = "extra" if bubbles else None
        yield from reader.rows(
            select(*columns).where(*where, table.c.time_utc.is_not(None)).order_by(table.c.time_utc, table.c.id),
            bubble_extra_of=extra,
        )
        yield from reader.rows(
            select(*columns).where(*where, table.c.time_utc.is_(None)).order_by(table.c.id), bubble_extra_of=extra
        )
        return
    columns = _columns(table, BUBBLE_COLUMNS if bubbles else None, session)
    yield from rows(
        session, select(*columns).where(*where, table.c.time_utc.is_not(None)).order_by(table.c.time_utc, table.c.id)
    )
    yield from rows(session, select(*columns).where(*where, table.c.time_utc.is_(None)).order_by(table.c.id))


def message_keys(t: ThreadInfo, reader: CursorReader) -> Iterator[tuple]:
    """The `message_order` key of each of the conversation's messages, in that order (only id and time read):
    where its pages start, without reading what they show."""
    for row in thread_messages(reader.session, t, reader=reader, only=("id", "time_utc")):
        yield message_order(row)


# what a plain message's bubble reads of `extra` (message_kinds.is_plain), extracted by SQLite: its JSON is
# then decoded only for the messages that are not plain (json_valid first: a text SQLite's JSON does not
# accept, such as NaN, is decoded in Python as before, never an error of the query)
_EXTRACTED = ("$.time_is", "$.sent.utc", "$.received.utc", "$.message_type")


class BubbleRow(NamedTuple):
    """A conversation page's message: BUBBLE_COLUMNS (times as StoreTime, `extra` decoded as the bubble's own
    dict, or None for a plain message) and `plain`: (time_is, sent utc, received utc) of a plain message."""

    id: int
    app: str
    thread: str | None
    direction: str
    counterpart: str | None
    sender: str | None
    body: str | None
    time_utc: StoreTime | None
    time_raw: Any
    time_encoding: str
    deleted: bool
    extra: dict[str, Any] | None
    source_table: str | None
    source_row: str | None
    source_offset: int | None
    source_file_id: int | None
    plain: tuple[Any, Any, Any] | None = None


def bubble_rows(session: Session, t: ThreadInfo, reader: CursorReader) -> Iterator[BubbleRow]:
    """`thread_messages(bubbles=True)` as BubbleRows: the same messages, in the same order, with the same
    values. On SQLite the rows come off the DB-API cursor of the session's own connection (one SQL text per
    kind of thread, prepared once) and a plain message (message_kinds.is_plain: nine in ten) keeps its JSON
    undecoded: SQLite's JSON functions read the four values its bubble needs. The other messages are
    converted as cursor_rows.CursorReader converts them. On other databases every row is read through
    `reader`."""
    if session.get_bind().dialect.name != "sqlite":
        for row in thread_messages(session, t, bubbles=True, reader=reader):
            yield BubbleRow(*row)
        return
    params: tuple[str, ...]
    if t.thread is not None:
        where, params = "app = ? AND thread = ?", (t.app, t.thread)
    elif t.who is None:
        where, params = "app = ? AND thread IS NULL AND counterpart IS NULL", (t.app,)
    else:
        where, params = "app = ? AND thread IS NULL AND counterpart = ?", (t.app, t.who)
    cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        for order in ("time_utc IS NOT NULL ORDER BY time_utc, id", "time_utc IS NULL ORDER BY id"):
            cursor.execute(f"{_BUBBLE_SELECT} WHERE {where} AND {order}", params)
            while batch := cursor.fetchmany(CHUNK):
                yield from _bubble_batch(batch, reader)
    finally:
        cursor.close()


_BUBBLE_SELECT = (
    f"SELECT {', '.join(BubbleRow._fields[:-1])}, json_valid(extra), "
    + ", ".join(f"CASE WHEN json_valid(extra) THEN json_extract(extra, '{path}') END" for path in _EXTRACTED)
    + " FROM message"
)
_TIME, _RAW, _DELETED, _EXTRA, _VALID = 7, 8, 10, 11, 16  # places in a bubble query's row


def _bubble_batch(batch: Sequence[Any], reader: CursorReader) -> list[BubbleRow]:
    """One fetch of a bubble query as BubbleRows. Values are converted as CursorReader converts them (times
    as StoreTime, JSON decoded, booleans as bool); a time stored in another form is read again through it."""
    out: list[Any] = []
    odd: list[int] = []
    make = BubbleRow._make
    for raw in batch:
        when = raw[_TIME]
        if when is not None:
            when = parse_store_time(when) if type(when) is str else None
            if when is None:  # read through the column type (cursor_rows.py)
                odd.append(raw[0])
                out.append(raw[0])
                continue
        stored = raw[_RAW]
        time_raw = _JSON.process_result_value(stored, None) if type(stored) is str else stored
        time_is, sent, received, code = raw[_VALID + 1 :]
        deleted = raw[_DELETED] if raw[_DELETED] is None else bool(raw[_DELETED])
        if raw[_VALID] == 1 and is_plain(raw[6], deleted, raw[_EXTRA], code, sent, received):
            extra, plain = None, (time_is, sent, received)
        else:
            extra, plain = bubble_extra(raw[_EXTRA]), None
        out.append(make((*raw[:_TIME], when, time_raw, raw[9], deleted, extra, *raw[_EXTRA + 1 : _VALID], plain)))
    if odd:
        read = reader.by_ids(Message.__table__, odd, BUBBLE_COLUMNS)
        out = [
            m if type(m) is BubbleRow else BubbleRow(*read[m]._replace(extra=bubble_extra(read[m].extra))) for m in out
        ]
    return out


def _thread_where(table: Any, t: ThreadInfo) -> list[Any]:
    where = [table.c.app == t.app]
    if t.thread is not None:
        where.append(table.c.thread == t.thread)
    else:
        where += [
            table.c.thread.is_(None),
            table.c.counterpart.is_(None) if t.who is None else table.c.counterpart == t.who,
        ]
    return where


def thread_of(m: Any) -> tuple[str, str | None, str | None]:
    """The conversation key of a message row, as `thread_index` groups them."""
    return (m.app, m.thread, m.counterpart if m.thread is None else None)


# -- timeline --------------------------------------------------------------------------------------


class Timed(NamedTuple):
    """A timed record; ordered as the timeline lists them, by (time, type, id) (a tuple: no key to compute).
    The time is the store's UTC text (StoreTime): text order is time order."""

    utc: StoreTime
    type: str
    id: int
    row: Any


def timeline(session: Session, only: Mapping[str, Iterable[str]] | None = None) -> Iterator[Timed]:
    """Every record with a UTC time, in (time, type, id) order: a merge of one ordered stream per table.
    `only`: per record type, the columns wanted (with its id and time; all by default)."""
    reader = CursorReader(session)

    def stream(kind: str, cls: type[Base], column: str) -> Iterator[Timed]:
        table = cls.__table__
        col = table.c[column]
        columns = reader.columns(table, (only or {}).get(kind))
        if kind == "message":  # a row shows the text; what the message is (from extra) only when it has none
            columns = [_extra_of_textless(table) if c.key == "extra" else c for c in columns]
        statement = select(*columns).where(col.is_not(None)).order_by(col, table.c.id)
        for row in reader.rows(statement):
            yield Timed(getattr(row, column), kind, row.id, row)

    return heapq.merge(*(stream(*spec) for spec in TIMED))  # (type, id) is unique: rows are never compared


def _extra_of_textless(table: Any) -> Any:
    """A message's `extra` when it has no text, else NULL: most messages have text, and their JSON is not read."""
    return case((func.coalesce(table.c.body, "") == "", table.c.extra), else_=null()).label("extra")


def timeline_days(session: Session) -> dict[str, int]:
    """Timed records per UTC day ('YYYY-MM-DD' → count), in day order, reading only the time columns."""
    reader = CursorReader(session)
    dates: dict[str, int] = {}
    sqlite = session.get_bind().dialect.name == "sqlite"
    for _, cls, column in TIMED:
        col = cls.__table__.c[column]
        text_col = type_coerce(col, String)
        odd = select(func.count()).where(col.is_not(None), text_col.op("NOT GLOB")(STORE_GLOB))
        if sqlite and not session.scalar(odd):
            # every time is in the store's text form (what CursorReader reads as a StoreTime): SQLite counts
            day_col = func.substr(text_col, 1, 10)
            for day, n in session.execute(select(day_col, func.count()).where(col.is_not(None)).group_by(day_col)):
                dates[day] = dates.get(day, 0) + n
            continue
        for (when,) in reader.rows(select(col).where(col.is_not(None))):
            day = when[:10]  # the UTC day as the store writes it: sorts as the days do
            dates[day] = dates.get(day, 0) + 1
    # sorted by the name the pages give the day (a year before 1000 unpadded, as strftime writes it)
    return dict(sorted((day_of(StoreTime(day + " 00:00:00.000000")), n) for day, n in dates.items()))


def untimed(session: Session) -> Iterator[dict[str, Any]]:
    """Times kept raw because they cannot be placed in UTC (e.g. camera time without an offset)."""
    for kind, cls, attr in UNTIMED:
        table = cls.__table__
        statement = (
            select(table.c.id, table.c[f"{attr}_raw"], table.c[f"{attr}_encoding"])
            .where(table.c[f"{attr}_utc"].is_(None))
            .order_by(table.c.id)
        )
        for rid, raw, encoding in rows(session, statement):
            if raw not in (None, "", 0):
                yield {"type": kind, "id": rid, "raw": raw, "encoding": encoding}
