"""Findings by time and by conversation: the same findings as the by-rule list, seen from the records they cite.

A message cited by four rules appears four times in the by-rule list (once in each finding's cards). Here each
cited record appears once, with links to every finding citing it:

- by time: every cited record once, in time order (records without a UTC time last), as the timeline orders
  them — (time, type, id);
- by conversation: the cited messages grouped by their conversation (app and thread, with the name the phone
  gives it, report/names.py), each linked to its bubble on the conversation's pages (`#msg-<id>`), and each
  conversation to the findings that cite its messages.

Both views are sized by the findings, not by the phone: their rows are the cited records, which build_report
has already read by id (html.Cited). A rule may still cite 10,000 messages on a big phone, so index.html shows
the first ON_INDEX rows of each view and links to the full views, paged static pages under pages/
(findings-time-N.html, findings-conversation-N.html) written with the other listings. Rows are built as
strings (rows.py's helpers: the same caps, isolation and escaping as the other pages), not a macro per row.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from triage.report.display import isolated_html, shown_html, text_html
from triage.report.rows import IN_MESSAGES, TIMELINE_COLUMNS, TimelineRows, iso_z
from triage.report.stream import ThreadInfo, message_order, thread_of
from triage.report.times import local_times

if TYPE_CHECKING:
    from triage.report.pages import Links, PageWriter

BY_TIME, BY_CONVERSATION = "findings-time", "findings-conversation"  # the views' page series under pages/
PER_PAGE = 500  # rows of a view's page
ON_INDEX = 100  # rows of each view on index.html; the rest are on the pages
# the time a record is placed at, by the `type` of a finding's evidence item (the timeline's time columns)
TIME_OF = {
    "message": "time_utc",
    "call": "time_utc",
    "location": "time_utc",
    "media_file": "taken_utc",
    "payment": "time_utc",
}
TIME_HEAD = (
    '<tr><th>UTC</th><th>Local</th><th>Record</th><th>What</th><th class="wide">Detail</th><th>Cited by</th></tr>'
)


@dataclass(frozen=True)
class Citation:
    """One finding citing a record: what a link to its card shows."""

    finding_id: int
    number: int  # the finding's place in the by-rule list (findings.json order), from 1
    rule_id: str
    severity: str

    @property
    def anchor(self) -> str:
        return f"finding-{self.finding_id}"  # the card's id on index.html (html._finding_view)


@dataclass
class CitedRecord:
    """A record one or more findings cite, once, with every finding citing it (in finding order)."""

    type: str
    id: int
    record: Any  # the ORM record (None: not in the case store)
    citations: list[Citation] = field(default_factory=list)

    @property
    def time(self) -> datetime | None:
        column = TIME_OF.get(self.type)
        return getattr(self.record, column, None) if column and self.record is not None else None

    def order(self) -> tuple:
        """The timeline's order: (time, type, id), untimed records last."""
        t = self.time
        return (t is None, t.timestamp() if t is not None else 0.0, self.type, self.id)


@dataclass
class Conversation:
    """The cited messages of one conversation, in conversation order, and the findings citing them."""

    key: tuple[str, str | None, str | None]  # stream.thread_of
    info: ThreadInfo | None  # None when the pages were not written (a report without its listings)
    messages: list[CitedRecord] = field(default_factory=list)

    @property
    def citations(self) -> list[Citation]:
        """Each finding once, in finding order."""
        seen = {c.finding_id: c for m in self.messages for c in m.citations}
        return sorted(seen.values(), key=lambda c: c.number)

    def order(self) -> tuple:
        if self.info is not None:
            return (0, self.info.number, "", "")
        return (1, 0, self.key[0] or "", self.key[1] or self.key[2] or "")


def cited_records(findings: list[dict[str, Any]], get: Callable[[str, int], Any]) -> list[CitedRecord]:
    """Every record the findings cite, once, in time order; `get(type, id)` gives the record read by id."""
    found: dict[tuple[str, int], CitedRecord] = {}
    for number, finding in enumerate(findings, start=1):
        citation = Citation(finding["id"], number, finding["rule_id"], finding["severity"])
        for ref in finding["evidence"]:
            key = (ref["type"], ref["id"])
            cited = found.get(key)
            if cited is None:
                cited = found[key] = CitedRecord(ref["type"], ref["id"], get(ref["type"], ref["id"]))
            if not cited.citations or cited.citations[-1].finding_id != citation.finding_id:
                cited.citations.append(citation)  # a finding citing one record twice links once
    return sorted(found.values(), key=CitedRecord.order)


def conversations(records: Iterable[CitedRecord], threads: dict[tuple, ThreadInfo] | None) -> list[Conversation]:
    """The cited messages grouped by conversation, conversations in the report's thread order."""
    groups: dict[tuple, Conversation] = {}
    for r in records:
        if r.type != "message" or r.record is None:
            continue
        key = thread_of(r.record)
        group = groups.get(key)
        if group is None:
            group = groups[key] = Conversation(key, (threads or {}).get(key))
        group.messages.append(r)
    for group in groups.values():
        group.messages.sort(key=lambda r: message_order(r.record))
    return sorted(groups.values(), key=Conversation.order)


def conversation_entries(groups: list[Conversation]) -> Iterator[tuple[Conversation, CitedRecord]]:
    """(conversation, message) pairs: the rows of the by-conversation view, paged like any listing."""
    for group in groups:
        for message in group.messages:
            yield group, message


# -- rows ------------------------------------------------------------------------------------------


class ViewRows:
    """The rows of the two views, for index.html (`index_href` "") or a page under pages/ ("../index.html").
    `links`: where each record is listed on the pages, relative to the page written (None: no pages)."""

    def __init__(self, sources: dict[int, Any], links: Links | None, index_href: str) -> None:
        self.cells = TimelineRows(sources)
        self.links = links
        self.index_href = index_href

    def findings(self, citations: list[Citation]) -> str:
        return ", ".join(
            f'<a class="cites" href="{self.index_href}#{c.anchor}">#{c.number} {text_html(c.rule_id)} '
            f'<span class="badge {text_html(c.severity)}">{text_html(c.severity)}</span></a>'
            for c in citations
        )

    def href(self, r: CitedRecord) -> str | None:
        """Where the record is listed: a message at its bubble on its conversation's page, the others on theirs."""
        if self.links is None or r.record is None:
            return None
        if r.type == "message":
            return self.links.message(r.record)
        if r.type == "location":
            return self.links.location(r.id)
        if r.type == "media_file":
            return self.links.media(r.id)
        if r.type == "payment":
            return self.links.payment(r.id)
        return None

    def label(self, r: CitedRecord) -> str:
        label = text_html(r.type) + " #" + text_html(r.id)
        href = self.href(r)
        return f'<a href="{text_html(href)}">{label}</a>' if href else label

    def what(self, r: CitedRecord) -> tuple[str, str]:
        if r.record is None:
            return '<span class="bad">record not found in the case store</span>', ""
        if r.type in TIMELINE_COLUMNS:
            return self.cells.cells(r.type, r.record)
        return text_html(r.type) + " record", ""

    def times(self, r: CitedRecord) -> tuple[str, str]:
        t = r.time
        if t is None:
            return "time unknown", ""
        return iso_z(t), "<br>".join(local_times(t))  # times the report formats need no escaping (rows.py)

    def time_row(self, r: CitedRecord) -> str:
        utc, local = self.times(r)
        what, detail = self.what(r)
        return (
            f'<tr class="cited" data-record="{text_html(r.type)}-{text_html(r.id)}"><td class="mono">{utc}</td>'
            f'<td class="mono">{local}</td><td>{self.label(r)}</td><td>{what}</td><td dir="auto">{detail}</td>'
            f"<td>{self.findings(r.citations)}</td></tr>"
        )

    def conversation_head(self, group: Conversation, continued: bool) -> str:
        info = group.info
        app, thread, who = group.key
        title = f"thread {thread}" if thread is not None else f"with {who or 'unknown'}"
        head = text_html(app) + " · " + shown_html(title, "name", IN_MESSAGES)
        if info is not None:
            if info.name:
                head = (
                    f'<span class="name" title="{text_html(info.name_source)}">'
                    f"{isolated_html(info.name, 'name', IN_MESSAGES)}</span> · {head}"
                )
            if self.links is not None:
                head = f'conversation {info.number}: <a href="{text_html(self.links.thread(info))}">{head}</a>'
        more = " (continued)" if continued else ""
        return (
            f'<tr class="conversation"><th colspan="6">{head}{more} · {len(group.messages)} cited message(s) · '
            f"cited by {self.findings(group.citations)}</th></tr>"
        )

    def conversation_rows(self, entries: Iterable[tuple[Conversation, CitedRecord]]) -> str:
        """The rows of a page of the by-conversation view: a heading row where a conversation starts (or
        goes on from the page before), then its cited messages."""
        parts: list[str] = []
        last: Conversation | None = None
        for group, message in entries:
            if group is not last:
                parts.append(self.conversation_head(group, continued=message is not group.messages[0]))
                last = group
            parts.append(self.time_row(message))
        return "".join(parts)


# -- index.html and the pages ----------------------------------------------------------------------


def index_views(records: list[CitedRecord], sources: dict[int, Any], links: Links | None) -> dict[str, Any]:
    """What index.html shows of the two views: their first ON_INDEX rows and the links to all of them."""
    rows = ViewRows(sources, links, "")
    groups = conversations(records, links.threads if links is not None else None)
    entries = list(itertools.islice(conversation_entries(groups), ON_INDEX))
    messages = sum(len(g.messages) for g in groups)
    return {
        "records": len(records),
        "time_rows": Markup("".join(rows.time_row(r) for r in records[:ON_INDEX])),
        "conversations": len(groups),
        "messages": messages,
        "others": len(records) - messages,
        "conversation_rows": Markup(rows.conversation_rows(entries)),
        "on_index": ON_INDEX,
        "time_href": links.first(BY_TIME) if links is not None else None,
        "conversation_href": links.first(BY_CONVERSATION) if links is not None else None,
        "head": Markup(TIME_HEAD),
    }


def write_finding_pages(writer: PageWriter) -> None:
    """pages/findings-time-N.html and pages/findings-conversation-N.html: the two views in full. Written after
    the conversations (their links point at messages' pages), with the writer's series, files and links."""
    from triage.report.pages import Series

    records: list[CitedRecord] = writer.context["cited_records"]
    rows = ViewRows(writer.context["sources"], writer.links, "../index.html")
    template = writer.template.environment.get_template("finding_views.html.j2")
    groups = conversations(records, writer.links.threads)
    entries = list(conversation_entries(groups))
    by_time = Series(
        BY_TIME,
        "Findings by time",
        len(records),
        PER_PAGE,
        ("../index.html#findings-by-time", "findings on the report summary"),
    )
    by_conversation = Series(
        BY_CONVERSATION,
        "Findings by conversation",
        len(entries),
        PER_PAGE,
        ("../index.html#findings-by-conversation", "findings on the report summary"),
    )
    writer.links.series[BY_TIME] = by_time
    writer.links.series[BY_CONVERSATION] = by_conversation
    notes = {
        "records": len(records),
        "conversations": len(groups),
        "messages": len(entries),
        "others": len(records) - len(entries),
    }
    for series, items, render in (
        (by_time, records, lambda chunk: "".join(rows.time_row(r) for r in chunk)),
        (by_conversation, entries, rows.conversation_rows),
    ):
        _write_series(writer, template, series, items, render, notes)


def _write_series(
    writer: PageWriter,
    template: Any,
    series: Any,
    items: list[Any],
    render: Callable[[list[Any]], str],
    notes: dict[str, int],
) -> None:
    from triage.report.pages import pager

    for n in range(1, series.pages + 1):
        chunk = items[(n - 1) * series.per_page : n * series.per_page]
        page = template.render(
            f=writer.context["f"],
            series=series,
            view=series.name,
            pager=pager(series, n),
            title=series.title,
            rows=Markup(render(chunk)),
            head=Markup(TIME_HEAD),
            first=(n - 1) * series.per_page + 1,
            count=len(chunk),
            **notes,
        )
        writer.write_file(writer.folder / series.file(n), page)
