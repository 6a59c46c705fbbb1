"""The rows of the paged listings with the most rows (people, contacts, calls, accounts, positions, payments,
parse warnings, files), written in Python as rows.py writes bubbles and timeline rows.

A listing page is up to a thousand rows of a few evidence fields each; through a template every field is a
filter call and a Markup object. Here each row is one string made from display.py's plain-text helpers (the
same caps, control markers, isolation and escaping as the template filters: docs/report_safety.md), in the
characters the templates of _pages.html.j2 wrote for it, and a page's rows become one Markup there.

Each `*_rows` function takes a page's rows (cursor_rows.py: times as StoreTime) and what the page knows
(its source files, links), and returns the rows' HTML. The template conventions they keep: `{{ value }}`
is `text_html(value)` (None shows as "None"); a key missing from a record's JSON shows as nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from triage.report.display import FULL_TEXT_IN, LIST_ITEMS, html_escape, isolated_html, ltr_html, shown_html, text_html
from triage.report.rows import Bubbles, Memo, iso_z, when_html
from triage.report.times import local_times

IN_CONTACTS = "records/contact.jsonl"
IN_ACCOUNTS = "records/account.jsonl"
IN_PARTIES = "records/party.jsonl"
IN_POSITIONS = "records/location.jsonl"
IN_PAYMENTS = "records/payment.jsonl"
IN_WARNINGS = "records/parse_warning.jsonl"
IN_SOURCES = "records/source_file.jsonl"


def listed_html(values: Any, kind: str = "name", where: str | None = None, ltr: bool = False) -> str:
    """display.listed as a plain str: at most LIST_ITEMS values, each capped and isolated, the cut said."""
    items = [v for v in (values or []) if v not in (None, "")]
    wrap = ltr_html if ltr else isolated_html
    text = ", ".join([wrap(v, kind, where) for v in items[:LIST_ITEMS]])
    if len(items) > LIST_ITEMS:
        text += html_escape(f" … [cut: {len(items) - LIST_ITEMS:,} more; all are in {where or FULL_TEXT_IN}]")
    return text


def _key(record_json: Any, name: str) -> Any:
    """`{{ json.name }}` of a template: the key's value, None when the JSON is no object or lacks it."""
    return record_json.get(name) if isinstance(record_json, dict) else None


def _iso(t: Any) -> str:
    """A UTC time as a cell shows it; an empty cell when the record has none (never the word None)."""
    return "" if t is None else iso_z(t)


def _source_cell(sources: dict[int, Any]) -> Callable[[Any], str]:
    return Bubbles(sources, "").source  # ui.source_of: provenance, table and row (or offset)


def calls_rows(items: Iterable[Any], sources: dict[int, Any]) -> str:
    text, source = Memo(text_html), _source_cell(sources)
    number = Memo(lambda v: ltr_html(v, "name"))
    return "".join(
        [
            f'<tr><td>{c.id}</td><td>{text(c.app)}</td><td>{text(c.direction)}</td><td class="mono">'
            f"{number(c.counterpart)}</td><td>{when_html(c.time_utc)}</td><td>"
            f'{text_html(c.duration_s) if c.duration_s is not None else ""}</td><td class="mono">{source(c)}</td></tr>'
            for c in items
        ]
    )


def contacts_rows(items: Iterable[Any], sources: dict[int, Any]) -> str:
    text, source = Memo(text_html), _source_cell(sources)
    return "".join(
        [
            f'<tr><td>{c.id}</td><td>{text(c.app)}</td><td dir="auto">{shown_html(c.name, "name", IN_CONTACTS)}</td>'
            f'<td class="mono">{listed_html(c.phone_numbers, "name", IN_CONTACTS, True)}</td>'
            f'<td class="mono">{listed_html(c.emails, "name", IN_CONTACTS, True)}</td>'
            f'<td class="mono">{listed_html(c.handles, "name", IN_CONTACTS, True)}</td>'
            f'<td class="mono">{source(c)}</td></tr>'
            for c in items
        ]
    )


def accounts_rows(items: Iterable[Any], sources: dict[int, Any]) -> str:
    text, source = Memo(text_html), _source_cell(sources)
    return "".join(
        [
            f'<tr><td>{a.id}</td><td>{text(a.app)}</td><td class="mono">{ltr_html(a.identifier, "name")}</td>'
            f'<td dir="auto">{shown_html(a.display_name, "name", IN_ACCOUNTS)}</td>'
            f'<td class="mono">{source(a)}</td></tr>'
            for a in items
        ]
    )


def warnings_rows(items: Iterable[Any]) -> str:
    text = Memo(text_html)
    return "".join(
        [
            f"<tr><td>{w.id}</td><td>{text(w.stage)}</td><td>{text(w.component)}</td><td>{text(w.level)}</td>"
            f"<td>{shown_html(w.message, 'text', IN_WARNINGS)}</td>"
            f'<td class="mono">{isolated_html(w.provenance, "path", IN_WARNINGS)}</td></tr>'
            for w in items
        ]
    )


def source_rows(items: Iterable[Any], strong: bool) -> str:
    text = Memo(text_html)
    rows = []
    for s in items:
        status = f"<b>{text(s.status)}</b>" if strong else text(s.status)
        rows.append(
            f'<tr><td>{s.id}</td><td class="mono">{isolated_html(s.provenance, "path", IN_SOURCES)}</td>'
            f'<td class="mono">{ltr_html(s.sha256)}</td><td>{text(s.parser)}</td><td>{status}</td>'
            f"<td>{text_html(s.record_count)}</td></tr>"
        )
    return "".join(rows)


def people_rows(
    items: Iterable[Any], refs_of: dict[int, tuple[list[Any], int]], message_hrefs: dict[Any, str | None]
) -> str:
    """One row a party; `refs_of`: party id → (the references shown, how many it has in all)."""
    rows = []
    for p in items:
        ambiguity = (
            f'<span class="bad">ambiguous</span>: {listed_html(p.candidates, "name", IN_PARTIES, True)}'
            if p.ambiguous
            else "—"
        )
        refs, total = refs_of[p.id]
        more = total - len(refs)
        cut = f" … [cut: {more} more; all are in records/party.jsonl]" if more > 0 else ""
        rows.append(
            f'<tr id="party-{text_html(p.id)}"><td>{text_html(p.id)}</td><td class="mono">'
            f'{ltr_html(p.e164 or p.key, "name")}</td><td>{text_html(p.region or "unknown")}<br><span class="note">'
            f"{text_html(p.basis or '')}</span></td>\n"
            f"<td>{listed_html(p.names, 'name', IN_PARTIES)}</td><td>{listed_html(p.apps, 'name', IN_PARTIES)}</td>"
            f'<td class="mono">{listed_html(p.raw_forms, "name", IN_PARTIES, True)}</td>\n'
            f"<td>{ambiguity}</td>\n<td>{', '.join([_ref(r, message_hrefs) for r in refs])}{cut}</td></tr>"
        )
    return "".join(rows)


def _ref(r: Any, message_hrefs: dict[Any, str | None]) -> str:
    """One of a party's references: a message linked to its conversation page, others named."""
    kind, record_id = _key(r, "type"), _key(r, "id")
    href = message_hrefs.get(record_id) if kind == "message" else None
    label = (
        f'<a href="{text_html(href)}">message #{_shown_key(r, "id")}</a>'
        if href
        else f"{_shown_key(r, 'type')} #{_shown_key(r, 'id')}"
    )
    return f"{label} ({_shown_key(r, 'field')})"


def _shown_key(r: Any, name: str) -> str:
    """`{{ r.name }}` of a template for a key of a JSON object: nothing when it is missing."""
    return text_html(r[name]) if isinstance(r, dict) and name in r else ""


def _raw_time(loc: Any) -> str:
    """The stored time and its encoding; nothing for a position stored without one (never the word None)."""
    if loc.time_raw is None:
        return ""
    encoding = f" ({text_html(loc.time_encoding)})" if loc.time_encoding else ""
    return f"{ltr_html(loc.time_raw, 'name')}{encoding}"


def locations_rows(items: Iterable[Any], sources: dict[int, Any], map_keys: dict[int, str]) -> str:
    name = Memo(lambda v: isolated_html(v, "name", IN_POSITIONS))
    rows = []
    for loc in items:
        key = map_keys.get(loc.id) if loc.id in map_keys else None
        mapped = f'<a href="../index.html#map-{text_html(key)}">{text_html(key)}</a>' if loc.id in map_keys else ""
        altitude = text_html(f"{loc.altitude_m:.2f}") if loc.altitude_m is not None else ""
        source = sources.get(loc.source_file_id) if loc.source_file_id in sources else None
        where = isolated_html(source.provenance, "path", IN_SOURCES) if source is not None else ""
        rows.append(
            f'<tr id="loc-{text_html(loc.id)}"><td>{text_html(loc.id)}</td><td>{mapped}</td><td>{name(loc.origin)}</td>'
            f"<td>{isolated_html(loc.label, 'name', IN_POSITIONS)}</td><td>{text_html(f'{loc.latitude:.6f}')}</td>"
            f"<td>{text_html(f'{loc.longitude:.6f}')}</td>\n<td>{altitude}</td><td>{_iso(loc.time_utc)}</td>"
            f'<td>{"<br>".join(local_times(loc.time_utc))}</td><td class="mono">{_raw_time(loc)}</td>\n'
            f'<td class="mono">{where}</td></tr>'
        )
    return "".join(rows)


def payments_rows(items: Iterable[Any], sources: dict[int, Any], identifier: Callable[[Any], str]) -> str:
    rows = []
    for p in items:
        amount = ltr_html(f"{p.amount:,.2f}" if p.amount is not None else "")
        high = _key(p.extra, "amount_high")
        if high:
            amount += " – " + ltr_html(f"{high:,.2f}")
        source = sources.get(p.source_file_id) if p.source_file_id in sources else None
        where = isolated_html(source.path, "path", IN_SOURCES) if source is not None else ""
        rows.append(
            f'<tr id="pay-{text_html(p.id)}"><td>{text_html(p.id)}</td><td>{text_html(p.method)}</td>'
            f'<td class="mono">{ltr_html(identifier(p), "name")}</td>\n<td>{amount}</td>'
            f"<td>{text_html(p.currency or '')}</td><td>{text_html(p.direction or '')}</td>"
            f"<td>{isolated_html(p.counterpart, 'name', IN_PAYMENTS)}</td>\n<td>{_iso(p.time_utc)}</td>"
            f'<td dir="auto">{shown_html(p.context, "text", IN_PAYMENTS)}</td>'
            f'<td>{text_html(_key(p.extra, "validation") or "")}</td>\n<td class="mono">{where} '
            f"{text_html(p.source_table or '')}#{ltr_html(p.source_row or p.source_offset, 'name')}</td></tr>"
        )
    return "".join(rows)
