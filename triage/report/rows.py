"""The rows of the report's largest pages, written in Python: message bubbles (conversation pages, and the
cards of index.html and report.pdf), times with their local zones, a record's source, and timeline rows.

A phone's conversations and timeline are hundreds of thousands of rows. Rendered by template macros, each
field of each row is a filter call and a Markup object; here a row is one string built from plain text
helpers (display.py's `*_html`: the same caps, control markers, isolation and escaping as the template
filters), and a page's rows become one Markup. The macros of _macros.html.j2 call these functions, so
there is one definition of each row, and the bytes are those the macros wrote.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from triage.model.timeutil import iso
from triage.report.display import isolated_html, ltr_html, shown_html, text_html
from triage.report.message_kinds import TIME_WORDS, Link, Shown, describe, other_times, time_label
from triage.report.times import LOCAL_DAYS, StoreTime, iso_text, local_times

IN_MESSAGES = "records/message.jsonl"  # where the full text of a cut value is (display.py's cut marker)
IN_SOURCES = "records/source_file.jsonl"
IN_POSITIONS = "records/location.jsonl"
IN_MEDIA = "records/media_file.jsonl"
_PROVENANCE = ("source_file_id", "source_table", "source_row", "source_offset")
# the columns a timeline row shows, per record type, with those its link needs (a message's conversation)
TIMELINE_COLUMNS = {
    "call": ("id", "time_utc", "app", "direction", "counterpart", "duration_s", *_PROVENANCE),
    "location": ("id", "time_utc", "origin", "latitude", "longitude", "label", *_PROVENANCE),
    "media_file": ("id", "taken_utc", "name", "make", "model", *_PROVENANCE),
    "message": (
        "id",
        "time_utc",
        "app",
        "thread",
        "direction",
        "counterpart",
        "body",
        "deleted",
        "extra",
        *_PROVENANCE,
    ),
    "payment": ("id", "time_utc", "amount", "currency", "method", "direction", *_PROVENANCE),
}


def iso_z(t: datetime | StoreTime) -> str:
    """timeutil.iso for the aware UTC times the store gives (its shortcut: no conversion, no search)."""
    if isinstance(t, StoreTime):
        return iso_text(t)
    if t.tzinfo is UTC:
        return t.isoformat(timespec="milliseconds" if t.microsecond else "seconds")[:-6] + "Z"
    return iso(t)


class Memo:
    """A text helper that shapes each distinct string once: on a page, most fields repeat from row to row (a
    thread's counterpart, its app, the file the rows were read from). Other values are shaped each time
    (1, 1.0 and True are equal keys but different text). Made per page: it holds at most a page's values."""

    def __init__(self, shape: Callable[[Any], str]) -> None:
        self.shape = shape
        self.done: dict[str, str] = {}

    def __call__(self, value: Any) -> str:
        if type(value) is not str:
            return self.shape(value)
        text = self.done.get(value)
        if text is None:
            text = self.done[value] = self.shape(value)
        return text


def when_html(t: datetime | str | None) -> str:
    """A time in UTC, then in each local zone; 'time unknown' without one. Times the report formats (digits,
    separators, a zone's abbreviation) need no escaping; a time given as text is shown like any text."""
    if not t:
        return "time unknown"
    if type(t) is StoreTime:
        return '<span class="mono">' + iso_text(t) + "</span>" + LOCAL_DAYS.around(t, " · ", "")
    if isinstance(t, str):
        return '<span class="mono">' + text_html(t) + "</span>" + "".join(" · " + text_html(x) for x in local_times(t))
    return '<span class="mono">' + iso_z(t) + "</span>" + "".join([" · " + local for local in local_times(t)])


def source_html(record: Any, sources: dict[int, Any]) -> str:
    """Where a record was read: its source file's provenance, then table and row (or byte offset)."""
    return Bubbles(sources, "").source(record)


def _translation(extra: Any) -> Any:
    return extra.get("translation") if isinstance(extra, dict) else None


class Bubbles:
    """Message bubbles for one page (or one card): received on the left, sent on the right."""

    def __init__(self, sources: dict[int, Any], not_translated: str, names: dict[str, Any] | None = None) -> None:
        self.sources = sources
        self.names = names or {}
        self.not_translated = text_html(not_translated)
        self.text = Memo(text_html)
        self.name = Memo(lambda value: isolated_html(value, "name", IN_MESSAGES))
        self.row_text = Memo(lambda value: shown_html(value, "name"))
        self.kind_words = Memo(lambda value: shown_html(value, "text", IN_MESSAGES))  # may quote a stored code
        self.provenance: dict[Any, str] = {}
        self.heads: dict[tuple[Any, ...], tuple[str, str]] = {}
        self.tails: dict[tuple[Any, ...], str] = {}

    def source(self, record: Any) -> str:
        """Where a record was read: its source file's provenance, then table and row (or byte offset). Table
        names and row ids are the parser's, digits and ASCII: capped and marked like any text, not isolated."""
        text = self._provenance(record.source_file_id)
        if record.source_table:
            text += ", table " + self.row_text(record.source_table) + " row " + shown_html(record.source_row, "name")
        elif record.source_offset is not None:
            text += ", offset " + text_html(record.source_offset)
        return text

    def _provenance(self, source_id: Any) -> str:
        text = self.provenance.get(source_id)
        if text is None:
            text = self.provenance[source_id] = (
                isolated_html(self.sources[source_id].provenance, "path", IN_SOURCES)
                if source_id in self.sources
                else ""
            )
        return text

    def bubble(self, m: Any, thread_key: str) -> str:
        """One message; `thread_key` (on a conversation page) gives it the anchor msg-<id> links point at."""
        plain = getattr(m, "plain", None)  # stream.BubbleRow of a plain message: nothing to describe
        if plain is not None:
            return self._frame(m, thread_key, self._plain_times(m.time_utc, *plain), "", self.not_translated, "")
        translation = _translation(m.extra) if m.extra else None
        status = (
            "translation: " + isolated_html(translation, "message_body", IN_MESSAGES)
            if translation
            else self.not_translated
        )
        shown = describe(m)
        # statuses in words: a deletion, then the others (some quote the record: capped and isolated)
        flags = f' · <span class="deleted">{text_html(shown.deleted)}</span>' if shown.deleted else ""
        flags += "".join(
            [' · <span class="flag">' + isolated_html(s, "name", IN_MESSAGES) + "</span>" for s in shown.statuses]
        )
        return self._frame(m, thread_key, self.times(m), self.kind(shown), status, flags)

    def _frame(self, m: Any, thread_key: str, times: str, kind: str, status: str, flags: str) -> str:
        """A bubble around what the message is (`kind`), its times, translation status and flags. What repeats
        from bubble to bubble of a page (its sender's line, its source file) is shaped once (`_head`, `_tail`)."""
        head = self.heads.get((m.app, m.direction, m.counterpart, m.sender))
        if head is None:
            head = self._head(m)
        tail = self.tails.get((m.source_file_id, m.source_table, m.time_encoding))
        if tail is None:
            tail = self._tail(m)
        number = str(m.id) if type(m.id) is int else text_html(m.id)
        anchor = ' id="msg-' + number + '"' if thread_key else ""
        if m.source_table:
            row = shown_html(m.source_row, "name")
        else:
            row = "" if m.source_offset is None else ", offset " + text_html(m.source_offset)
        return (
            f"{head[0]}{anchor}{head[1]}{times}</div>\n{kind}"
            f'<div class="text" dir="auto">{shown_html(m.body, "message_body", IN_MESSAGES)}</div>\n'
            f'<div class="status">{status}\n · message #{number}{flags}\n · raw time {ltr_html(m.time_raw, "name")}'
            f"{tail}{row}"
            "</span></div>\n</div>"
        )

    def _head(self, m: Any) -> tuple[str, str]:
        """A bubble's opening tag (to its anchor), then its meta line to the times: who, the app, the direction."""
        outgoing = m.direction == "outgoing"
        party = m.counterpart if outgoing else (m.sender or m.counterpart)
        who = (
            "device user → " + self.name(m.counterpart or "?")
            if outgoing
            else self.name(m.sender or m.counterpart or "unknown sender")
        )
        named = self.names.get(party) if party else None
        if named is not None:
            who += f' <span class="name" title="{text_html(named.source)}">({self.name(named.text)})</span>'
        head = (
            f'<div class="bubble {"out" if outgoing else "in"}"',
            f'>\n<div class="meta"><b>{who}</b>\n · {self.text(m.app)} · {self.text(m.direction)} · ',
        )
        key = (m.app, m.direction, m.counterpart, m.sender)
        if all(part is None or type(part) is str for part in key):  # text never equals another type's value
            self.heads[key] = head
        return head

    def _tail(self, m: Any) -> str:
        """The raw time's encoding and the source file, to the row (see `source`)."""
        table = m.source_table
        tail = f' ({self.text(m.time_encoding)})\n · <span class="mono">{self._provenance(m.source_file_id)}' + (
            ", table " + self.row_text(table) + " row " if table else ""
        )
        key = (m.source_file_id, table, m.time_encoding)
        if type(key[0]) is int and all(part is None or type(part) is str for part in key[1:]):
            self.tails[key] = tail
        return tail

    def _plain_times(self, utc: Any, time_is: Any, sent: str | None, received: str | None) -> str:
        """`times` of a plain message from its extracted time_is and other times (text or None)."""
        label = TIME_WORDS.get(time_is) if type(time_is) is str else None
        if label is None:
            return when_html(utc)
        others = "".join(
            [
                f' · {TIME_WORDS[key]} <span class="mono other">{text_html(other)}</span>'
                for key, other in (("sent", sent), ("received", received))
                if other and key != time_is
            ]
        )
        order = f' <span class="order">(listed by its {label} time)</span>' if others else ""
        return f"{label} {when_html(utc)}{others}{order}"

    def kind(self, shown: Shown) -> str:
        """What a message that is not plain text is, in words, with the values its record holds (each
        capped and isolated: evidence) and its links (a shared position's row and map point); nothing for a
        plain text message, whose bubble keeps its bytes."""
        if not (shown.what or shown.values):
            return ""
        parts = [self.kind_words(shown.what)] if shown.what else []
        parts += [
            f'<a href="{text_html(v.href)}">{text_html(v.words)}</a>'
            if type(v) is Link
            else isolated_html(v, "name", IN_MESSAGES)
            for v in shown.values
        ]
        return '<div class="kind" dir="auto">' + " · ".join(parts) + "</div>\n"

    def times(self, m: Any) -> str:
        """The message's time, labelled with the moment it is when the parser said (docs/times.md), and
        the other times its record keeps; `when_html` alone for a record that does not say."""
        label = time_label(m.extra) if m.extra else None
        if label is None:
            return when_html(m.time_utc)
        others = "".join(
            [f' · {words} <span class="mono other">{text_html(utc)}</span>' for words, utc in other_times(m.extra)]
        )
        order = f' <span class="order">(listed by its {label} time)</span>' if others else ""
        return f"{label} {when_html(m.time_utc)}{others}{order}"


def bubble_html(m: Any, thread_key: str, sources: dict[int, Any], not_translated: str) -> str:
    """One message as a bubble (a finding's card)."""
    return Bubbles(sources, not_translated).bubble(m, thread_key)


def bubbles_html(
    messages: Iterable[Any],
    thread_key: str,
    sources: dict[int, Any],
    not_translated: str,
    names: dict[str, Any] | None = None,
) -> str:
    """A page of a conversation; `names`: raw number → report.names.Named, shown beside it."""
    bubbles = Bubbles(sources, not_translated, names)
    return "".join(bubbles.bubble(m, thread_key) for m in messages)


# -- the timeline ------------------------------------------------------------------------------------


def _words(*parts: Any) -> str:
    """Words of the report around evidence values, each capped like a name, joined by spaces."""
    return " ".join(shown_html(p, "name") for p in parts) + " "


class TimelineRows:
    """The rows of one day page: UTC and local times, the record (linked to where it is listed), what it is,
    its detail and its source. Evidence text in them is capped and isolated (display.py)."""

    def __init__(self, sources: dict[int, Any]) -> None:
        self.sources = sources
        self.text = Memo(text_html)
        self.counterpart = Memo(lambda value: isolated_html(value, "name", IN_MESSAGES))
        self.number = Memo(lambda value: ltr_html(value, "name"))
        self.words: dict[tuple, str] = {}  # (app, direction, verb): text columns, so no 1/True key clash
        self.files: dict[Any, str] = {}
        self.tables: dict[tuple[Any, Any], str] = {}  # (source file, table) → the cell to the row
        self.whats: dict[tuple[Any, ...], str] = {}  # a message's (app, direction, counterpart) → its "what"

    def _words(self, *parts: Any) -> str:
        try:
            return self.words[parts]
        except KeyError:
            text = self.words[parts] = _words(*parts)
            return text
        except TypeError:  # a value that cannot be a key
            return _words(*parts)

    def _where(self, record: Any) -> str:
        source_id = getattr(record, "source_file_id", None)
        table = getattr(record, "source_table", None)
        key = (source_id, table)
        where = self.tables.get(key)
        if where is None:
            where = self._file(source_id)
            if table:
                where += " " + shown_html(table, "name") + "#"
            if type(source_id) in (int, type(None)) and type(table) in (str, type(None)):  # no 1/True key clash
                self.tables[key] = where
        return where + ltr_html(record.source_row, "name") if table else where

    def _file(self, source_id: Any) -> str:
        where = self.files.get(source_id)
        if where is None:
            source = self.sources.get(source_id) if source_id is not None else None
            where = self.files[source_id] = isolated_html(source.path, "path", IN_SOURCES) if source else ""
        return where

    def _kind(self, r: Any) -> str:
        """A message without text, in words (message_kinds.py): what it is and its first values."""
        shown = describe(r)
        words = [shown.what, *[v for v in shown.values[:3] if type(v) is str], shown.deleted]
        return shown_html(" · ".join(w for w in words if w), "text", IN_MESSAGES)

    def cells(self, kind: str, r: Any) -> tuple[str, str]:
        """(what, detail) of one timed record."""
        if kind == "message":
            key = (r.app, r.direction, r.counterpart)
            what = self.whats.get(key)
            if what is None:
                verb = "from" if r.direction == "incoming" else "to"
                what = self._words(r.app, r.direction, verb) + self.counterpart(r.counterpart or "?")
                if all(part is None or type(part) is str for part in key):  # no 1/True key clash
                    self.whats[key] = what
            return what, shown_html(r.body, "text", IN_MESSAGES) if r.body else self._kind(r)
        if kind == "call":
            return (
                self._words(r.app, r.direction, "call") + self.number(r.counterpart or "?"),
                shown_html(f"{r.duration_s:g} s" if r.duration_s is not None else ""),
            )
        if kind == "location":
            return (
                _words(f"position L{r.id}", f"({r.origin})"),
                ltr_html(f"{r.latitude:.6f}, {r.longitude:.6f}") + " " + isolated_html(r.label, "name", IN_POSITIONS),
            )
        if kind == "media_file":
            detail = _words(*(x for x in (r.make, r.model) if x)) if (r.make or r.model) else ""
            return "photo/video taken: " + isolated_html(r.name, "name", IN_MEDIA), detail
        detail = ""
        if r.amount is not None:
            detail = ltr_html(f"{r.amount:,.2f}") + " " + shown_html(r.currency or "")
        return _words("payment detail", f"({r.method})", r.direction or ""), detail

    def row(self, utc: datetime | StoreTime, kind: str, record_id: int, r: Any, href: str | None) -> str:
        what, detail = self.cells(kind, r)
        label = self.text(kind) + " #" + (str(record_id) if type(record_id) is int else text_html(record_id))
        if href:
            label = '<a href="' + text_html(href) + '">' + label + "</a>"
        # times the report formats need no escaping (when_html)
        if type(utc) is StoreTime:
            local = LOCAL_DAYS.around(utc, '<td class="mono">', "</td>")
        else:
            local = "".join(['<td class="mono">' + text + "</td>" for text in local_times(utc)])
        return (
            f'<tr><td class="mono">{iso_z(utc)}</td>{local}\n<td>{label}</td><td>{what}</td><td dir="auto">{detail}'
            f'</td><td class="mono">{self._where(r)}</td></tr>'
        )
