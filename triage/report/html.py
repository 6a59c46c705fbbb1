"""index.html: the self-contained report page, and the content it shares with report.pdf.

`build_report` gathers everything both documents show (header, assessment, findings with their evidence
cards, timeline, map, people, conversations, media, payments, warnings, examination record) into one
context; `write_html` renders it for the screen (inline CSS and a small inline script for filtering;
readable without it), `triage.report.pdf` for print. No network: styles and script are inline, the map
is inline SVG, thumbnails are local files under out/thumbs/. Deterministic: records in store order,
groups in sorted order, anchors from record ids; only the run times differ between two runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from triage.custody import verify_chain
from triage.exclusive import write_text_exclusive
from triage.payment_ids import mask_card
from triage.records import (Account, Call, Contact, Device, Location, MediaFile, Message, ParseWarning, Party,
                            Payment, SourceFile)
from triage.report.basemap import MapPoint, render_map
from triage.report.device_header import device_facts
from triage.report.display import display_text, finalize, isolated, left_to_right, listed, shown
from triage.report.thumbs import Thumbnails, make_thumbnails
from triage.store import CaseStore
from triage.timeutil import iso

if TYPE_CHECKING:
    from rules.zones import ZoneSet
    from triage.pipeline import RunOptions

LOCAL_ZONES = (("London", ZoneInfo("Europe/London")), ("Paris", ZoneInfo("Europe/Paris")))
SEVERITY_ORDER = ("SAFEGUARDING", "DISCLOSURE", "HIGH", "MEDIUM", "LOW", "INFO")
EXTRACTION_TYPES = {  # what the container says about how the data was acquired
    "ewf": "disk or partition image in EWF/E01 format (physical or file-system level)",
    "raw": "raw (dd) disk or partition image (physical or file-system level)",
    "split-raw": "split raw (dd) image (physical or file-system level)",
    "android-sparse": "Android sparse image of a partition (file-system level)",
    "directory": "folder of files (file-system or logical extraction)",
    "itunes-backup": "iTunes/Finder backup (logical extraction)",
    "android-backup": "Android adb backup (logical extraction)",
    "android-backup-folder": "unpacked Android adb backup (logical extraction)",
    "zip": "zip archive of an extraction (file-system or logical)",
    "tar": "tar archive of an extraction (file-system or logical)",
    "tar.gz": "gzip-compressed tar archive of an extraction (file-system or logical)",
    "file": "a single file",
}
NOT_TRANSLATED = "original language — not translated (no machine or certified translation made)"


def _utc(value: datetime | str | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def local_times(value: datetime | str | None) -> list[str]:
    """The instant in each local zone of the report, e.g. ['2025-05-14 18:02:11 BST', '… 19:02:11 CEST']."""
    t = _utc(value)
    if t is None:
        return []
    return [t.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z") for _, zone in LOCAL_ZONES]


def utc_text(value: datetime | str | None) -> str:
    t = _utc(value)
    return "" if t is None else t.strftime("%Y-%m-%d %H:%M:%S UTC")


def shown_identifier(payment: Payment) -> str:
    """The identifier as the report shows it: card numbers masked (first 6 and last 4 digits)."""
    if payment.identifier and payment.method == "card":
        return mask_card(payment.identifier)
    return payment.identifier or ""


def record_json(details: Any) -> Markup:
    """Custody details as compact JSON (non-ASCII escaped, so no control acts), capped for display."""
    return shown(json.dumps(details, sort_keys=True, ensure_ascii=True, default=str), "record_json", "custody.jsonl")


# finalize: every {{ … }} that no display filter shaped is capped and its controls made visible (display.py)
_env = Environment(loader=PackageLoader("triage.report", "templates"), autoescape=select_autoescape(["html", "j2"]),
                   finalize=finalize)
_env.filters["shown"] = shown
_env.filters["bdi"] = isolated
_env.filters["ltr"] = left_to_right
_env.filters["listed"] = listed
_env.filters["record_json"] = record_json
_env.filters["iso"] = iso
_env.filters["shown_identifier"] = shown_identifier
_env.filters["local_times"] = local_times
_env.filters["utc_text"] = utc_text


def environment() -> Environment:
    return _env


@dataclass
class Card:
    """One piece of evidence a finding cites, with what the report can show of it."""

    ref: dict[str, Any]  # the finding's evidence item {type, id, provenance, sha256, table, row, offset}
    kind: str  # message / location / media_file / payment / record
    record: Any = None  # None when the cited record is not in the store
    media: MediaFile | None = None  # the photo a position or a card is about
    location: Location | None = None
    thumb: str | None = None
    map_key: str | None = None  # the point's label on the map
    zones: list[str] = field(default_factory=list)  # zones of the rule pack containing the position


@dataclass
class Thread:
    key: str  # anchor id
    app: str
    thread: str
    counterparts: list[str]
    messages: list[Message]


@dataclass
class Report:
    context: dict[str, Any]
    out: Path
    files: list[Path]  # files written besides the pages (thumbnails)


def build_report(store: CaseStore, findings: dict[str, Any], custody_path: Path, out: Path,
                 zones: "ZoneSet | None" = None, run_options: "RunOptions | None" = None) -> Report:
    sources = {s.id: s for s in store.all(SourceFile)}
    records = _records(store)
    cited_media = _cited_media(findings, records)
    thumbs = make_thumbnails(records["media_file"].values(), sources,
                             run_options.evidence if run_options else None,
                             run_options.open_options if run_options else None, out, first=cited_media)
    # entries end at "\n" only: splitlines() would also cut at a U+2028 inside a value
    custody = [json.loads(line) for line in custody_path.read_text(encoding="utf-8").split("\n") if line]
    map_view = render_map(_map_points(records, sources), zones)
    keys = {p.location_id: p.key for p in map_view.drawn + map_view.outside}
    context = {
        "f": findings,
        "header": _header(findings, custody),
        "device_facts": device_facts(store.all(Device), sources),
        "flags": findings["assessment"].get("flags", []),
        "severities": [s for s in SEVERITY_ORDER if any(x["severity"] == s for x in findings["findings"])],
        "finding_views": [_finding_view(x, records, thumbs, keys, zones) for x in findings["findings"]],
        "timeline": _timeline(records, sources),
        "untimed": _untimed(records),
        "map": map_view,
        "map_keys": keys,
        "locations": list(records["location"].values()),
        "parties": list(records["party"].values()),
        "contacts": list(records["contact"].values()),
        "accounts": list(records["account"].values()),
        "calls": list(records["call"].values()),
        "threads": _threads(records["message"].values()),
        "media": list(records["media_file"].values()),
        "media_locations": {loc.media_file_id: loc for loc in records["location"].values() if loc.media_file_id},
        "thumbs": thumbs,
        "payments": list(records["payment"].values()),
        "warnings": list(store.all(ParseWarning)),
        "sources": sources,
        "not_parsed": [s for s in sources.values() if s.status != "parsed"],
        "custody": custody,
        "chain": verify_chain(custody_path, require_closed=False),  # the run is still writing it
        "not_translated": NOT_TRANSLATED,
        "local_zone_names": [name for name, _ in LOCAL_ZONES],
    }
    return Report(context, out, [out / name for name in thumbs.files])


def write_html(report: Report, target: Path) -> Path:
    page = _env.get_template("index.html.j2").render(print=False, **report.context)
    write_text_exclusive(target, page)
    return target


# -- gathering -----------------------------------------------------------------------------------

def _records(store: CaseStore) -> dict[str, dict[int, Any]]:
    classes = (Message, Location, MediaFile, Payment, Contact, Call, Party, Account, Device)
    return {cls.record_type: {r.id: r for r in store.all(cls)} for cls in classes}


def _cited_media(findings: dict[str, Any], records: dict[str, dict[int, Any]]) -> list[int]:
    """Photos a finding cites (directly or through their position): pictured before the thumbnail cap."""
    ids = []
    for finding in findings["findings"]:
        for ref in finding["evidence"]:
            if ref["type"] == "media_file":
                ids.append(ref["id"])
            elif ref["type"] == "location" and ref["id"] in records["location"]:
                media_id = records["location"][ref["id"]].media_file_id
                if media_id is not None:
                    ids.append(media_id)
    return list(dict.fromkeys(ids))


def _header(findings: dict[str, Any], custody: list[dict]) -> dict[str, Any]:
    started = custody[0] if custody else {}
    params = started.get("details", {}) if started.get("action") == "run started" else {}
    return {
        "extraction": [EXTRACTION_TYPES.get(e["kind"], e["kind"]) for e in findings["evidence"]],
        "local_offset": started.get("local_offset", ""),
        "params": params,
        "key": _examiner_key(custody),
    }


def _examiner_key(custody: list[dict]) -> dict[str, Any]:
    """The key that seals the bundle, from the custody entry the run writes before the report."""
    for entry in reversed(custody):
        if entry.get("action") == "bundle to be sealed":
            details = entry.get("details", {})
            if not details.get("signed"):
                return {"signed": False, "fingerprint": None,
                        "basis": "no examiner signing key: the bundle is not signed"}
            return {"signed": True, "fingerprint": details.get("key_fingerprint"),
                    "basis": f"custody entry {entry.get('seq')} 'bundle to be sealed' (examiner_public_key.pem "
                             f"in the bundle)"}
    return {"signed": None, "fingerprint": None, "basis": "not known when this page was written"}


def _finding_view(finding: dict[str, Any], records: dict[str, dict[int, Any]], thumbs: Thumbnails,
                  keys: dict[int, str], zones: "ZoneSet | None") -> dict[str, Any]:
    cards = [_card(ref, records, thumbs, keys, zones) for ref in finding["evidence"]]
    return {"f": finding, "anchor": f"finding-{finding['id']}", "cards": cards}


def _card(ref: dict[str, Any], records: dict[str, dict[int, Any]], thumbs: Thumbnails, keys: dict[int, str],
          zones: "ZoneSet | None") -> Card:
    kind = ref["type"] if ref["type"] in ("message", "location", "media_file", "payment") else "record"
    record = records.get(ref["type"], {}).get(ref["id"])
    card = Card(ref=ref, kind=kind, record=record)
    if record is None:
        return card
    location = record if isinstance(record, Location) else None
    media = record if isinstance(record, MediaFile) else None
    if location is not None and location.media_file_id is not None:
        media = records["media_file"].get(location.media_file_id)
    if media is not None and location is None:
        location = next((loc for loc in records["location"].values() if loc.media_file_id == media.id), None)
    card.media, card.location = media, location
    card.thumb = thumbs.made.get(media.id) if media is not None else None
    if location is not None:
        card.map_key = keys.get(location.id)
        if zones is not None:
            card.zones = [f"{z.kind}: {z.name}" for z in zones.containing(location.latitude, location.longitude)]
    return card


def _map_points(records: dict[str, dict[int, Any]], sources: dict[int, SourceFile]) -> list[MapPoint]:
    points = []
    for loc in records["location"].values():
        source = sources.get(loc.source_file_id)
        where = display_text(source.path, "path") if source else "source not recorded"
        when = utc_text(loc.time_utc) or "time unknown"
        # the SVG title is plain text: evidence parts capped, their controls made visible (display.py)
        label = display_text(loc.label or loc.origin, "name")
        points.append(MapPoint(key=f"L{loc.id}", location_id=loc.id, latitude=loc.latitude, longitude=loc.longitude,
                               title=f"{label} ({display_text(loc.origin, 'name')}), {when}, {where}",
                               time_sort=loc.time_utc.timestamp() if loc.time_utc else None,
                               origin=display_text(loc.origin, "name")))
    return points


def _timeline(records: dict[str, dict[int, Any]], sources: dict[int, SourceFile]) -> list[dict[str, Any]]:
    """Every record placed in UTC, in time order (ties: type, then id).

    `what`, `detail` and `where` are markup made here: evidence text in them is capped and isolated."""
    rows = []
    for m in records["message"].values():
        verb = "from" if m.direction == "incoming" else "to"
        what = _words(m.app, m.direction, verb) + isolated(m.counterpart or "?", "name", "records/message.jsonl")
        rows.append(_row(m.time_utc, "message", m.id, what, shown(m.body or "", "text", "records/message.jsonl"),
                         m, sources, f"msg-{m.id}"))
    for c in records["call"].values():
        what = _words(c.app, c.direction, "call") + left_to_right(c.counterpart or "?", "name")
        rows.append(_row(c.time_utc, "call", c.id, what,
                         shown(f"{c.duration_s:g} s" if c.duration_s is not None else ""), c, sources, None))
    for loc in records["location"].values():
        detail = (left_to_right(f"{loc.latitude:.6f}, {loc.longitude:.6f}") + Markup(" ")
                  + isolated(loc.label, "name", "records/location.jsonl"))
        rows.append(_row(loc.time_utc, "location", loc.id, _words(f"position L{loc.id}", f"({loc.origin})"),
                         detail, loc, sources, f"loc-{loc.id}"))
    for m in records["media_file"].values():
        what = Markup("photo/video taken: ") + isolated(m.name, "name", "records/media_file.jsonl")
        detail = _words(*(x for x in (m.make, m.model) if x)) if (m.make or m.model) else Markup("")
        rows.append(_row(m.taken_utc, "media_file", m.id, what, detail, m, sources, f"media-{m.id}"))
    for p in records["payment"].values():
        amount = Markup("")
        if p.amount is not None:
            amount = left_to_right(f"{p.amount:,.2f}") + Markup(" ") + shown(p.currency or "")
        rows.append(_row(p.time_utc, "payment", p.id, _words("payment detail", f"({p.method})", p.direction or ""),
                         amount, p, sources, f"pay-{p.id}"))
    timed = [r for r in rows if r["utc"] is not None]
    return sorted(timed, key=lambda r: (r["utc"], r["type"], r["id"]))


def _words(*parts: str) -> Markup:
    """Words of the report around evidence values, each capped like a name, joined by spaces."""
    return Markup(" ").join(shown(p, "name") for p in parts) + Markup(" ")


def _row(t: datetime | None, kind: str, rid: int, what: Markup, detail: Markup, record: Any,
         sources: dict[int, SourceFile], anchor: str | None) -> dict[str, Any]:
    source = sources.get(getattr(record, "source_file_id", None))
    where = isolated(source.path, "path", "records/source_file.jsonl") if source else Markup("")
    if getattr(record, "source_table", None):
        where += Markup(" {}#{}").format(shown(record.source_table, "name"), left_to_right(record.source_row, "name"))
    return {"utc": t, "type": kind, "id": rid, "what": what, "detail": detail, "where": where, "anchor": anchor}


def _untimed(records: dict[str, dict[int, Any]]) -> list[dict[str, Any]]:
    """Times kept raw because they cannot be placed in UTC (e.g. camera time without an offset)."""
    rows = []
    for kind, attr in (("message", "time"), ("call", "time"), ("location", "time"), ("media_file", "taken"),
                       ("payment", "time")):
        for r in records[kind].values():
            raw = getattr(r, f"{attr}_raw", None)
            if getattr(r, f"{attr}_utc", None) is None and raw not in (None, "", 0):
                rows.append({"type": kind, "id": r.id, "raw": raw, "encoding": getattr(r, f"{attr}_encoding", None)})
    return rows


def _threads(messages: Iterable[Message]) -> list[Thread]:
    """Messages grouped by app and thread (or counterpart when the app has no thread id), in time order."""
    groups: dict[tuple[str, str], list[Message]] = {}
    for m in messages:
        groups.setdefault((m.app, m.thread or f"with {m.counterpart or 'unknown'}"), []).append(m)
    threads = []
    for (app, thread), items in groups.items():
        items.sort(key=lambda m: (m.time_utc is None, m.time_utc.timestamp() if m.time_utc else 0.0, m.id))
        counterparts = sorted({m.counterpart for m in items if m.counterpart})
        threads.append(Thread(key="", app=app, thread=thread, counterparts=counterparts, messages=items))
    threads.sort(key=lambda t: (_first_time(t), t.app, t.thread))
    for i, t in enumerate(threads, start=1):
        t.key = f"thread-{i}"
    return threads


def _first_time(thread: Thread) -> tuple[bool, float]:
    first = next((m.time_utc for m in thread.messages if m.time_utc is not None), None)
    return (first is None, first.timestamp() if first else 0.0)  # untimed threads last
