"""pages/: the report's full listings as static, paged, offline pages linked from index.html.

Each conversation is paged (PER_PAGE messages a page), and so are the conversation index, the timeline
(an index of days, then each day), people, contacts, calls, accounts, the media gallery, payments,
positions, times not placed in UTC, parse warnings, files not parsed, files parsed and the examination
record. Every page has the case line, previous / next links, a window of page numbers and a link back
to its index; links are relative within the report's folder (`../index.html`, `../thumbs/…`,
`conversation-3-2.html#msg-17`), so they work from the folder, from the sealed bag's data/ and from
the unpacked zip. Pages are self-contained (inline CSS), load nothing from the network and read
without JavaScript; conversation pages carry the message filter as a progressive enhancement.

Pages are written as the store is read (triage.report.stream): one chunk of rows at a time, one page
per chunk, each file created exclusively. A record's page is found again, for a link, by bisecting the
first keys of its series' pages: memory grows with the number of pages, not of records. A fork of the report's
process writes the timeline and the last conversations (`fork_share`: about half the work between them) while the
process writes the rest; a report written off the main thread (the kiosk's) writes them all itself, the same bytes.
A fork that fails or dies costs time, not the report: the files it left in pages/ (a folder this step made, so every
file there is its own) are removed and this process writes its share, and `WrittenPages.fell_back` says why.
"""

from __future__ import annotations

import hashlib
import itertools
import os
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from triage.integrity.exclusive import ExistingFileError, WriterThread
from triage.model.records import (
    Account,
    Base,
    Call,
    Contact,
    Location,
    MediaFile,
    Message,
    ParseWarning,
    Party,
    Payment,
    SourceFile,
)
from triage.report.cursor_rows import CursorReader
from triage.report.display import LIST_ITEMS
from triage.report.html import Report, environment, shown_identifier
from triage.report.message_kinds import PageLinks
from triage.report.names import Names
from triage.report.page_rows import (
    accounts_rows,
    calls_rows,
    contacts_rows,
    locations_rows,
    payments_rows,
    people_rows,
    source_rows,
    warnings_rows,
)
from triage.report.rows import TIMELINE_COLUMNS, TimelineRows
from triage.report.store_rows import json_array_head
from triage.report.stream import (
    PageSources,
    ThreadInfo,
    Timed,
    all_of,
    bubble_rows,
    message_keys,
    message_order,
    rows,
    thread_index,
    thread_of,
    timeline,
    timeline_days,
    untimed,
)
from triage.report.times import day_of
from triage.store import CaseStore
from triage.store.forked_reader import ForkedReader, fork_url

PAGES_DIR = "pages"
PER_PAGE = {  # rows a page, per kind of page: a page stays a few hundred kB whatever the phone holds
    "conversation": 500,
    "conversations": 500,
    "timeline": 500,
    "day": 1000,
    "untimed": 1000,
    "people": 500,
    "contacts": 1000,
    "accounts": 1000,
    "calls": 1000,
    "media": 200,
    "payments": 500,
    "locations": 1000,
    "warnings": 1000,
    "not-parsed": 1000,
    "files": 1000,
    "record": 500,
}
LINK_COLUMNS = ("id", "app", "thread", "counterpart", "time_utc")  # what a link to a message needs (Links.message)
WINDOW = 10  # page numbers linked either side of the current one (plus the first and the last)
SECTIONS = (  # the pages' navigation bar: series name, label
    ("findings-time", "Findings by time"),
    ("findings-conversation", "Findings by conversation"),
    ("conversations", "Conversations"),
    ("timeline", "Timeline"),
    ("people", "People"),
    ("contacts", "Contacts"),
    ("calls", "Calls"),
    ("accounts", "Accounts"),
    ("media", "Media"),
    ("payments", "Payments"),
    ("locations", "Positions"),
    ("untimed", "Untimed"),
    ("warnings", "Warnings"),
    ("not-parsed", "Files not parsed"),
    ("files", "Files parsed"),
    ("record", "Examination record"),
)


def pages_of(rows: int, per_page: int) -> int:
    """Pages a series of `rows` rows takes: at least one (an empty listing still has its page)."""
    return max(1, -(-rows // per_page))


@dataclass
class Series:
    """A run of pages: `name`-1.html … `name`-N.html, `per_page` rows each."""

    name: str
    title: str
    total: int
    per_page: int
    up: tuple[str, str] | None = None  # (href, label) of the index that lists this series
    starts: list[Any] = field(default_factory=list)  # order key of each page's first row

    @property
    def pages(self) -> int:
        return pages_of(self.total, self.per_page)

    def file(self, n: int) -> str:
        return f"{self.name}-{n}.html"

    def page_of(self, key: Any) -> int:
        return max(1, bisect_right(self.starts, key))


class Links:
    """Where a record is shown on the pages, as a relative link from the folder `prefix` is relative to."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.series: dict[str, Series] = {}
        self.conversations: dict[tuple[str, str | None, str | None], Series] = {}  # thread key → its pages
        self.threads: dict[tuple[str, str | None, str | None], ThreadInfo] = {}  # thread key → its number, name

    def at(self, prefix: str) -> Links:
        moved = Links(prefix)
        moved.series, moved.conversations, moved.threads = self.series, self.conversations, self.threads
        return moved

    def first(self, name: str) -> str | None:
        series = self.series.get(name)
        return self.prefix + series.file(1) if series else None

    def total(self, name: str) -> int:
        series = self.series.get(name)
        return series.total if series else 0

    def message(self, m: Any) -> str | None:
        series = self.conversations.get(thread_of(m))
        if series is None:
            return None
        page = series.page_of(message_order(m)) if len(series.starts) > 1 else 1  # most conversations: one page
        return f"{self.prefix}{series.name}-{page}.html#msg-{m.id}"

    def thread(self, t: ThreadInfo) -> str:
        return f"{self.prefix}conversation-{t.number}-1.html"

    def by_id(self, name: str, record_id: int, anchor: str) -> str | None:
        series = self.series.get(name)
        if series is None:
            return None
        return f"{self.prefix}{series.file(series.page_of(record_id))}#{anchor}-{record_id}"

    def location(self, record_id: int) -> str | None:
        return self.by_id("locations", record_id, "loc")

    def media(self, record_id: int) -> str | None:
        return self.by_id("media", record_id, "media")

    def payment(self, record_id: int) -> str | None:
        return self.by_id("payments", record_id, "pay")


class WrittenPages(NamedTuple):
    files: dict[Path, str]  # every page, in writing order, with the SHA-256 of the bytes written
    links: Links
    fell_back: str | None  # why the timeline's fork failed and this process wrote its pages (None: it did not)


def write_pages(store: CaseStore, report: Report) -> WrittenPages:
    """Write every paged listing under out/pages/: the files, their links, and whether the timeline's fork
    failed (its pages then written here)."""
    folder = report.out / PAGES_DIR
    _new_folder(folder)
    writer = PageWriter(store, report, folder)
    writer.write_all()
    return WrittenPages({path: writer.sha256[path] for path in writer.files}, writer.links, writer.fell_back)


# the series the timeline links into (Timed types other than messages: PageWriter._href)
LINKED_BY_ID = (("media", MediaFile), ("payments", Payment), ("locations", Location))


def planned_links(session: Session, reader: CursorReader) -> Links:
    """Where each conversation's pages and the LINKED_BY_ID series' pages start, read from the store alone (only
    ids and times), as PageWriter pages them: each series' `starts` as writing its pages would fill them."""
    links = Links()
    for t in thread_index(session):
        series = Series(f"conversation-{t.number}", "", t.messages, PER_PAGE["conversation"])
        series.starts = planned_starts(series, t, reader)
        links.series[series.name] = links.conversations[(t.app, t.thread, t.who)] = series
    for name, cls in LINKED_BY_ID:
        table = cls.__table__
        ids = [row.id for row in reader.rows(select(table.c.id).order_by(table.c.id))]
        series = links.series[name] = Series(name, "", len(ids), PER_PAGE[name])
        series.starts = ids[:: series.per_page]
    return links


def planned_starts(series: Series, t: ThreadInfo, reader: CursorReader) -> list[Any]:
    """Where the conversation's pages start, as writing them fills `series.starts`; nothing for a conversation of
    one page (a first page's start never decides a page: Series.page_of), whose messages are then not read."""
    if series.pages == 1:
        return []
    return list(itertools.islice(message_keys(t, reader), 0, None, series.per_page))


# What writing the pages costs the process that writes them, in microseconds of CPU, measured series by series
# (bench/RESULTS.md, 2026-12-07: the 200,000 tree and the 4 GiB E01's 856,684 messages): a conversation's message,
# a row of the timeline, a row of each other listing (a media file's row shows its groups and its thumbnail, a
# person's row their numbers and names: several times a call's), and a page's fixed part (a conversation of ten
# messages is still a page, with its header, pager and file)
MESSAGE_US = 23
TIMELINE_ROW_US = 14
LISTING_ROW_US = {"media": 70, "people": 110, "contacts": 20}
OTHER_ROW_US = 15
PAGE_US = 200


def conversation_cost(t: ThreadInfo) -> int:
    return MESSAGE_US * t.messages + PAGE_US * pages_of(t.messages, PER_PAGE["conversation"])


def listings_cost(totals: dict[str, int]) -> int:
    """The listings other than the conversations and the timeline, by their row counts."""
    return sum(
        LISTING_ROW_US.get(name, OTHER_ROW_US) * rows + PAGE_US * pages_of(rows, PER_PAGE[name])
        for name, rows in totals.items()
    )


def timeline_cost(days: dict[str, int]) -> int:
    return sum(TIMELINE_ROW_US * rows + PAGE_US * pages_of(rows, PER_PAGE["day"]) for rows in days.values())


def fork_share(threads: list[ThreadInfo], timeline_us: int, listings_us: int) -> frozenset[int]:
    """The numbers of the last conversations (in the report's order) the timeline's fork writes too, so that it
    and the report's process have about as much to do: the process the other conversations and the listings
    (`listings_us`), the fork the timeline (`timeline_us`) and these. A conversation goes to the fork while at
    least half of it fits under the balance; none when the timeline alone is as large as the rest."""
    costs = [conversation_cost(t) for t in threads]
    goal = (sum(costs) + listings_us - timeline_us) / 2  # what the fork's conversations should cost
    moved, share = 0, []
    for t, cost in zip(reversed(threads), reversed(costs), strict=True):
        if moved + cost / 2 > goal:
            break
        moved += cost
        share.append(t.number)
    return frozenset(share)


@dataclass
class Elsewhere:
    """The timeline's fork (PageWriter.timeline) and the conversations it writes besides (their numbers)."""

    fork: ForkedReader[tuple[list[Path], list[Path], str, dict[Path, str]]]
    share: frozenset[int]

    def result(self, session: Session) -> tuple[list[Path], list[Path], str, dict[Path, str]]:
        return self.fork.result(session)

    def stop(self) -> None:
        self.fork.stop()


def link_plan(links: Links) -> str:
    """A digest of where the conversations and the LINKED_BY_ID series start their pages: equal for two Links
    that send every record to the same page."""
    # a series' first start never decides a page (Series.page_of): planned_starts leaves it out
    plan: list[Any] = [(key, s.name, s.starts[1:]) for key, s in links.conversations.items()]
    plan += [(name, links.series[name].starts[1:]) for name, _ in LINKED_BY_ID if name in links.series]
    return hashlib.sha256(repr(plan).encode("utf-8")).hexdigest()


def _new_folder(folder: Path) -> None:
    """The pages' folder, new: a folder or link already there (planted, or an earlier run's) stops the run."""
    try:
        os.mkdir(folder)
    except FileExistsError:
        raise ExistingFileError(
            f"{folder} already exists; mobile-triage never replaces a file (choose a new output location)"
        ) from None


class PageWriter:
    def __init__(self, store: CaseStore, report: Report, folder: Path) -> None:
        self.context = report.context
        self._read_with(store.session)
        self.names = Names(self.session)
        self.folder = folder
        self.files: list[Path] = []
        self.sha256: dict[Path, str] = {}  # each page's SHA-256, as its writer thread wrote it
        self.output: WriterThread | None = None  # writes the pages while the next one is made (write_all)
        self.timeline_at = 0  # where the timeline's files go in the list of files
        self.conversations_at = 0  # where the forked conversations' files go (fork_share)
        self.fell_back: str | None = None  # why the timeline's fork failed, its pages then written here
        self.links = Links()
        self.template = environment().get_template("page.html.j2")
        counts = self.context["counts"]
        self.base = {
            "f": self.context["f"],
            "thumbs": self.context["thumbs"],
            "map_keys": self.context["map_keys"],
            "not_translated": self.context["not_translated"],
            "local_zone_names": self.context["local_zone_names"],
            "links": self.links,
            "sections": SECTIONS,
            "up": "../",
            "index_href": "../index.html",
            "print": False,
        }
        self.totals = {
            "people": counts.get("party", 0),
            "contacts": counts.get("contact", 0),
            "calls": counts.get("call", 0),
            "accounts": counts.get("account", 0),
            "media": counts.get("media_file", 0),
            "payments": counts.get("payment", 0),
            "locations": counts.get("location", 0),
            "untimed": self.context["untimed_count"],
            "warnings": self.context["warning_count"],
            "not-parsed": self.context["not_parsed_count"],
            "files": self.context["source_count"],
            "record": len(self.context["custody"]),
        }

    # -- the order matters: a page links to records on series written before it ----------------------

    def write_all(self) -> None:
        # nothing links to the timeline's rows or into a conversation's pages from another page written before the
        # conversations: a fork of this process writes the timeline and the last conversations (`fork_share`) from
        # the start, planning for itself where the records it links to are paged (forked_reader.py); this process
        # writes the rest, checks that plan against the pages it writes, and the fork's files take their place in
        # the list (its conversations after the others, the timeline after accounts)
        threads = thread_index(self.session)
        self.names.of_threads(threads)  # before the fork, which shows the names of the conversations it writes
        index = Series("conversations", "Conversations", len(threads), PER_PAGE["conversations"])
        self.links.series["conversations"] = index
        elsewhere = self.timeline(threads, index)
        try:
            with WriterThread() as self.output:  # after the fork: the thread is this process's own
                self._write_series(threads, index, elsewhere.share)
            self.sha256.update(self.output.sha256)
            conversations, days, plan, sha256 = elsewhere.result(self.session)
            self.fell_back = elsewhere.fork.fell_back
            if plan != link_plan(self.links):
                raise RuntimeError("timeline: its links do not match the pages written; report not written")
            self.files[self.timeline_at : self.timeline_at] = days
            self.files[self.conversations_at : self.conversations_at] = conversations  # before the timeline's place
            self.sha256.update(sha256)
        finally:
            self.output = None
            elsewhere.stop()

    def _write_series(self, threads: list[ThreadInfo], index: Series, forked: frozenset[int]) -> None:
        self.conversations(threads, index, forked)
        self.listing("media", "Media", all_of(self.session, MediaFile), self._media_context)
        self.listing("payments", "Payments", self._records(Payment), self._rows(self._payments))
        self.listing("locations", "Positions", self._records(Location), self._rows(self._locations))
        self.listing("people", "People (numbers linked across sources)", self._parties(), self._people)
        self.listing("contacts", "Contacts", self._records(Contact), self._rows(contacts_rows))
        self.listing("calls", "Calls", self._records(Call), self._rows(calls_rows))
        self.listing("accounts", "Accounts", self._records(Account), self._rows(accounts_rows))
        self.timeline_at = len(self.files)
        self._after_timeline()

    def _after_timeline(self) -> None:
        self.listing("untimed", "Times not placed in UTC", untimed(self.session), by_id=False)
        self.listing(
            "warnings",
            "Parse warnings",
            self._records(ParseWarning),
            lambda chunk: {"rows": Markup(warnings_rows(chunk))},
        )
        self.listing(
            "not-parsed",
            "Files not parsed, or parsed with warnings",
            self._records(SourceFile, SourceFile.status != "parsed"),
            lambda chunk: {"rows": Markup(source_rows(chunk, strong=True))},
        )
        self.listing(
            "files",
            "Files parsed",
            self._records(SourceFile),
            lambda chunk: {"rows": Markup(source_rows(chunk, strong=False))},
        )
        self.listing(
            "record",
            "Examination record",
            iter(self.context["custody"]),
            lambda _: {"chain": self.context["chain"]},
            by_id=False,
        )
        # findings by time and by conversation (finding_views.py imports this module: imported here)
        from triage.report.finding_views import write_finding_pages

        write_finding_pages(self)

    def _records(self, cls: type[Base], *where: Any) -> Iterable[Any]:
        """Every record of a type (that match `where`), in id order, off the cursor (cursor_rows.py)."""
        table = cls.__table__
        return self.reader.rows(select(*self.reader.columns(table)).where(*where).order_by(table.c.id))

    def _rows(self, render: Callable[..., str]) -> Callable[[list[Any]], dict[str, Any]]:
        """A page's context for a listing of records with sources: its rows, written by `render` (page_rows.py)."""

        def prepare(chunk: list[Any]) -> dict[str, Any]:
            sources = self.sources.of(chunk)
            return {"sources": sources, "rows": Markup(render(chunk, sources))}

        return prepare

    def _payments(self, chunk: list[Any], sources: dict[int, Any]) -> str:
        return payments_rows(chunk, sources, shown_identifier)

    def _locations(self, chunk: list[Any], sources: dict[int, Any]) -> str:
        return locations_rows(chunk, sources, self.context["map_keys"])

    def listing(
        self,
        name: str,
        title: str,
        items: Iterable[Any],
        prepare: Callable[[list[Any]], dict[str, Any]] | None = None,
        by_id: bool = True,
    ) -> Series:
        """A series of store rows in id order (`by_id`: a record's page is then found by its id)."""
        series = Series(name, title, self.totals[name], PER_PAGE[name])
        self.links.series[name] = series
        self.write(series, name, items, key=(lambda r: r.id) if by_id else None, prepare=prepare)
        return series

    def conversations(self, threads: list[ThreadInfo], index: Series, forked: frozenset[int]) -> None:
        """Every conversation's pages but those of `forked` (numbers), written by the timeline's fork: their series
        are planned here as it pages them (`planned_links`); then the index of conversations."""
        for position, t in enumerate(threads):
            series = self._conversation_series(index, position, t)
            if t.number in forked:
                series.starts = planned_starts(series, t, self.reader)
            else:
                self._write_conversation(series, t)
        self.conversations_at = len(self.files)
        self.write(index, "conversations", iter(threads), extra={"message_total": sum(t.messages for t in threads)})

    def _conversation_series(self, index: Series, position: int, t: ThreadInfo) -> Series:
        up = (f"{index.file(position // index.per_page + 1)}#{t.key}", "all conversations")
        series = Series(
            f"conversation-{t.number}", f"{t.app} · thread {t.label}", t.messages, PER_PAGE["conversation"], up
        )
        self.links.series[series.name] = series
        self.links.conversations[(t.app, t.thread, t.who)] = series
        self.links.threads[(t.app, t.thread, t.who)] = t
        return series

    def _write_conversation(self, series: Series, t: ThreadInfo) -> None:
        self.write(
            series,
            "conversation",
            bubble_rows(self.session, t, self.reader),
            key=message_order,
            prepare=self._conversation_context,
            thread=t,
            script=True,
        )

    def timeline(self, threads: list[ThreadInfo], index: Series) -> Elsewhere:
        """The timeline's series, named here (index.html and the other pages link to its first page); its pages,
        and those of the last conversations (`fork_share`), are written by a fork of this process on its own
        connection, or by this one when asked for them."""
        days = timeline_days(self.session)
        days_index = Series("timeline", "Timeline", len(days), PER_PAGE["timeline"])
        self.links.series["timeline"] = days_index
        day_series = {}
        for position, (day, n) in enumerate(days.items()):
            up = (f"{days_index.file(position // days_index.per_page + 1)}#day-{day}", "all days")
            day_series[day] = Series(f"day-{day}", f"Timeline: {day} (UTC)", n, PER_PAGE["day"], up)
        listings = {name: n for name, n in self.totals.items() if name != "record"}
        share = fork_share(threads, timeline_cost(days), listings_cost(listings))
        forked = [(position, t) for position, t in enumerate(threads) if t.number in share]
        write = lambda session: self._write_elsewhere(session, index, forked, days, days_index, day_series)  # noqa: E731
        fork = ForkedReader(write, fork_url(self.session), "the report's timeline pages", again=self._remove_fork_pages)
        return Elsewhere(fork, share)

    def _remove_fork_pages(self) -> None:
        """What a failed timeline fork left: every file in the pages' folder that this process did not write.
        The folder is this step's own (`_new_folder`), so nothing else can be there; asked for once this process
        has written its share and its writer thread has ended."""
        own = set(self.files)
        with os.scandir(self.folder) as entries:
            for entry in entries:
                path = self.folder / entry.name
                if path not in own and entry.is_file(follow_symlinks=False):
                    path.unlink()

    def _write_elsewhere(
        self,
        session: Session,
        index: Series,
        forked: list[tuple[int, ThreadInfo]],
        days: dict[str, int],
        days_index: Series,
        day_series: dict[str, Series],
    ) -> tuple[list[Path], list[Path], str, dict[Path, str]]:
        """The pages of the `forked` conversations ((place in the report's order, conversation)), then every day's
        pages and the index of days, read on `session`, linking to where `planned_links` says the records are; the
        conversations' files and the timeline's, each in writing order, the digest (`link_plan`) of the plan with
        the forked conversations' series as written, and each file's SHA-256."""
        self._read_on(session)
        links = planned_links(session, self.reader)
        links.series["timeline"] = days_index
        kept = self.files, self.links, self.base["links"], self.output
        self.files, self.links, self.base["links"] = [], links, links
        try:
            with WriterThread() as self.output:  # a thread of the process that writes the timeline
                for position, t in forked:
                    self._write_conversation(self._conversation_series(index, position, t), t)
                written = len(self.files)
                self._write_days(session, days, days_index, day_series)
            return self.files[:written], self.files[written:], link_plan(links), self.output.sha256
        finally:
            self.files, self.links, self.base["links"], self.output = kept

    def _write_days(self, session: Session, days: dict[str, int], index: Series, day_series: dict[str, Series]) -> None:
        for day, records in itertools.groupby(timeline(session, TIMELINE_COLUMNS), key=lambda t: day_of(t.utc)):
            if day not in day_series:
                raise RuntimeError(f"timeline: records on {day}, a day the count did not find; report not written")
            self.write(day_series.pop(day), "day", records, prepare=self._timeline_rows)
        if day_series:
            raise RuntimeError(f"timeline: no records read for {', '.join(day_series)}; report not written")
        summary = [{"day": day, "count": n, "pages": pages_of(n, PER_PAGE["day"])} for day, n in days.items()]
        self.write(index, "timeline", iter(summary), extra={"record_total": sum(days.values())})

    def _read_on(self, session: Session) -> None:
        """Read the store on `session` from now on (a forked child's own connection)."""
        if session is not self.session:
            self._read_with(session)
            self.names = self.names.on(session)

    def _read_with(self, session: Session) -> None:
        """What reads the store for the pages, on `session`: the rows, their sources, the bubbles' linked records."""
        self.session = session
        self.reader = CursorReader(session)
        self.sources = PageSources(self.reader)
        self.linked = PageLinks(session, PER_PAGE["locations"], self.context["map_keys"])

    # -- one series ---------------------------------------------------------------------------------

    def write(
        self,
        series: Series,
        kind: str,
        items: Iterable[Any],
        key: Callable[[Any], Any] | None = None,
        prepare: Callable[[list[Any]], dict[str, Any]] | None = None,
        extra: dict[str, Any] | None = None,
        **more: Any,
    ) -> None:
        """Pages of `series`, one chunk of `items` each, in order; the count must match the items read."""
        items = iter(items)
        written = 0
        for n in range(1, series.pages + 1):
            chunk = list(itertools.islice(items, series.per_page))
            written += len(chunk)
            if key is not None and chunk:
                series.starts.append(key(chunk[0]))
            context = dict(self.base, **(prepare(chunk) if prepare else {}), **(extra or {}), **more)
            self._render(series, n, kind, chunk, context)
        if written != series.total or next(items, None) is not None:
            raise RuntimeError(
                f"{series.name}: {series.total} record(s) counted but a different number read; "
                "the store changed while the report was written"
            )

    def _render(self, series: Series, n: int, kind: str, items: list[Any], context: dict[str, Any]) -> None:
        page = self.template.render(
            kind=kind, series=series, page=n, pager=pager(series, n), items=items, title=series.title, **context
        )
        self.write_file(self.folder / series.file(n), page)

    def write_file(self, path: Path, page: str) -> None:
        """One page into the folder, by the writer thread of the process writing it (its SHA-256 kept)."""
        if self.output is None:
            raise RuntimeError("a page written outside write_all or the timeline's writing")
        self.output.write_text(path, page)
        self.files.append(path)

    # -- what a page needs besides its rows ------------------------------------------------------------

    def _sources(self, chunk: list[Any]) -> dict[str, Any]:
        return {"sources": self.sources.of(chunk)}

    def _conversation_context(self, chunk: list[Any]) -> dict[str, Any]:
        """Sources, and the names of the numbers the bubbles show (the filter finds messages by them)."""
        raws = {raw for m in chunk for raw in (m.sender, m.counterpart) if raw}
        names = {raw: named for raw in raws if (named := self.names.of_number(raw)) is not None}
        # shared positions and contact cards are records of their own: read once for the page's bubbles
        self.linked.attach(chunk)
        return {"sources": self.sources.of(chunk), "names": names}

    def _media_context(self, chunk: list[Any]) -> dict[str, Any]:
        ids = [m.id for m in chunk]
        located: dict[int, Any] = {}
        if ids:
            table = Location.__table__
            for loc in rows(self.session, select(table).where(table.c.media_file_id.in_(ids)).order_by(table.c.id)):
                located.setdefault(loc.media_file_id, loc)
        return {"sources": self.sources.of(chunk), "media_locations": located}

    def _parties(self) -> Iterable[Any]:
        """The parties in id order, each with how many references it has (`refs_total`) and its first LIST_ITEMS
        (`refs_shown`) in place of the whole list, which the database slices (store_rows.json_array_head)."""
        table = Party.__table__
        total, head = json_array_head(table.c.refs, LIST_ITEMS, self.reader.dialect.name)
        columns = [c for c in self.reader.columns(table) if c.key != "refs"]
        return self.reader.rows(
            select(*columns, total.label("refs_total"), head.label("refs_shown")).order_by(table.c.id)
        )

    def _people(self, chunk: list[Any]) -> dict[str, Any]:
        """Each party's first LIST_ITEMS references, messages linked to their conversation page."""
        unsliced = [p.id for p in chunk if p.refs_total is None]  # refs the database could not read as an array
        whole = self.reader.by_ids(Party.__table__, unsliced, only=("id", "refs")) if unsliced else {}
        refs: dict[int, tuple[list[Any], int]] = {}
        for p in chunk:
            if p.refs_total is None:
                listed = list(whole[p.id].refs or [])
                refs[p.id] = (listed[:LIST_ITEMS], len(listed))
            else:
                refs[p.id] = (list(p.refs_shown or []), p.refs_total)
        message_ids = {r.get("id") for shown, _ in refs.values() for r in shown if r.get("type") == "message"}
        messages = self.reader.by_ids(Message.__table__, message_ids, only=LINK_COLUMNS)
        hrefs = {i: self.links.message(m) for i, m in messages.items()}
        return {"rows": Markup(people_rows(chunk, refs, hrefs))}

    def _timeline_rows(self, chunk: list[Timed]) -> dict[str, Any]:
        rows = TimelineRows(self.sources.of(t.row for t in chunk))
        return {"rows": Markup("".join(rows.row(t.utc, t.type, t.id, t.row, self._href(t)) for t in chunk))}

    def _href(self, t: Timed) -> str | None:
        """Where a timed record is listed: a message on its conversation page, the others on their series."""
        if t.type == "message":
            return self.links.message(t.row)
        if t.type == "location":
            return self.links.location(t.id)
        if t.type == "media_file":
            return self.links.media(t.id)
        if t.type == "payment":
            return self.links.payment(t.id)
        return None


def pager(series: Series, n: int) -> dict[str, Any]:
    pages = series.pages
    window = sorted({1, pages, *range(max(1, n - WINDOW), min(pages, n + WINDOW) + 1)})
    return {
        "n": n,
        "pages": pages,
        "prev": series.file(n - 1) if n > 1 else None,
        "next": series.file(n + 1) if n < pages else None,
        "window": [(i, series.file(i)) for i in window],
        "up": series.up,
    }
