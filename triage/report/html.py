"""index.html: the report's front page, small whatever the phone's size, and the content it shares with report.pdf.

`build_report` gathers what both documents show — case header, device, evidence, assessment (with what
could be read), findings with their evidence cards (and seen by time and by conversation: finding_views.py),
the map of the cited positions and the others (clustered past basemap.MAX_POINTS), record counts — into one
context. Every part of it is sized by the findings, not by the phone: the cited records are read by id, the map
and the counts by SQL. The full listings (each conversation, the timeline by day, people, media, payments,
positions, warnings, files, the examination record) are static pages under pages/ (`triage.report.pages`),
linked from here.

`write_html` renders the page (inline CSS and a small inline script for filtering findings; readable
without it), `triage.report.pdf` the statement for print. No network: styles and script are inline, the
map is inline SVG, thumbnails are local files under out/thumbs/. Deterministic: records in store order,
anchors from record ids; only the run times differ between two runs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from sqlalchemy import select

from triage.enrich.thumbnails import Thumbnails
from triage.identifiers.payment_ids import mask_card
from triage.integrity.custody import verify_chain
from triage.integrity.exclusive import write_text_exclusive
from triage.model.records import (
    Account,
    Base,
    Call,
    Contact,
    Device,
    Location,
    MediaFile,
    Message,
    ParseWarning,
    Party,
    Payment,
    SourceFile,
)
from triage.model.timeutil import iso
from triage.report.basemap import MAX_POINTS, MapPoint, MapView, cluster_positions, render_map
from triage.report.bidi import evidence_block
from triage.report.device_header import device_facts
from triage.report.display import display_text, finalize, isolated, left_to_right, listed, shown
from triage.report.finding_views import cited_records, index_views
from triage.report.rows import bubble_html, bubbles_html, source_html, when_html
from triage.report.stream import all_of, by_ids, count, ensure_indexes, rows, thread_count, untimed
from triage.report.times import LOCAL_ZONES, local_times, utc_text
from triage.store import CaseStore

if TYPE_CHECKING:
    from rules.zones import ZoneSet
    from triage.report.pages import Links

# SPECIAL PROCEDURE: journalistic or legal material (rules/context.py); listed so the filter has its box
SEVERITY_ORDER = ("SAFEGUARDING", "DISCLOSURE", "SPECIAL PROCEDURE", "HIGH", "MEDIUM", "LOW", "INFO")
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
WARNINGS_ON_INDEX = 20  # the first parse warnings shown on the front page; all are on pages/warnings-*.html
CARDS_PER_FINDING = 100  # evidence cards per finding on the front page; every item is in findings.json and the PDF
# record types a finding may cite, by the `type` its evidence items carry
CITABLE: dict[str, type[Base]] = {
    cls.record_type: cls
    for cls in (Message, Location, MediaFile, Payment, Contact, Call, Party, Account, Device, SourceFile)
}
CLUSTER_NOTE = "; every position is listed on pages/locations-*.html"


def shown_identifier(payment: Any) -> str:
    """The identifier as the report shows it: card numbers masked (first 6 and last 4 digits)."""
    if payment.identifier and payment.method == "card":
        return mask_card(payment.identifier)
    return payment.identifier or ""


def record_json(details: Any) -> Markup:
    """Custody details as compact JSON (non-ASCII escaped, so no control acts), capped for display."""
    return shown(json.dumps(details, sort_keys=True, ensure_ascii=True, default=str), "record_json", "custody.jsonl")


# finalize: every {{ … }} that no display filter shaped is capped and its controls made visible (display.py).
# auto_reload off: the templates are the package's own and do not change during a run; on, every page's imports and
# includes asked the file system whether they had (N = 200,000: 22,000 of the pages' 63,000 stat calls).
_env = Environment(
    loader=PackageLoader("triage.report", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    finalize=finalize,
    auto_reload=False,
)
_env.filters["shown"] = shown
_env.filters["bdi"] = isolated
_env.filters["ltr"] = left_to_right
_env.filters["listed"] = listed
_env.filters["record_json"] = record_json
_env.filters["iso"] = iso
_env.filters["shown_identifier"] = shown_identifier
_env.filters["local_times"] = local_times
_env.filters["utc_text"] = utc_text
_env.filters["evidence"] = evidence_block  # a block of evidence text with its own direction (bidi.py)


def _as_markup(render: Callable[..., str]) -> Callable[..., Markup]:
    """A renderer of rows.py for the templates: its text is already capped, marked and escaped."""
    return lambda *args: Markup(render(*args))


for _render in (when_html, source_html, bubble_html, bubbles_html):
    _env.globals[_render.__name__] = _as_markup(_render)


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
class Report:
    context: dict[str, Any]
    out: Path
    files: list[Path]  # files written besides the pages (thumbnails)
    declarations: dict[str, Any] | None = None  # given at the run (LoadedDeclarations.view()), None: a blank form


@dataclass
class Cited:
    """The records the findings cite, read by id (with the photos of cited positions and the positions of
    cited photos): all the front page and the PDF show of the phone's records, besides counts and the map."""

    records: dict[str, dict[int, Any]]
    location_of_media: dict[int, Location]

    def get(self, kind: str, record_id: int) -> Any:
        return self.records.get(kind, {}).get(record_id)


def build_report(
    store: CaseStore,
    findings: dict[str, Any],
    custody_path: Path,
    out: Path,
    zones: ZoneSet | None = None,
    thumbnails: Thumbnails | None = None,
    exports: dict[str, str] | None = None,
) -> Report:
    """The context of index.html and report.pdf. `thumbnails`: the pictures the run made of the evidence's
    photos (triage/enrich/thumbnails.py; None: none made). `exports`: the bundle's export files (relative path →
    SHA-256), written before, which the PDF names."""
    store.flush()
    session = store.session
    ensure_indexes(session)
    cited = _cited(session, findings)
    thumbs = thumbnails if thumbnails is not None else Thumbnails(note="thumbnails not made for this report")
    # entries end at "\n" only: splitlines() would also cut at a U+2028 inside a value
    custody = [json.loads(line) for line in custody_path.read_text(encoding="utf-8").split("\n") if line]
    map_view = index_map(session, zones, _cited_locations(findings, cited))
    keys = {p.location_id: p.key for p in map_view.drawn + map_view.outside}
    sources = _sources_of_cited(session, cited)
    devices = list(store.all(Device))  # one per file that names the device: a handful
    accounts = list(store.all(Account))  # the phone's own app accounts: a handful
    not_parsed = count(session, SourceFile, SourceFile.status != "parsed")
    context = {
        "f": findings,
        "header": _header(findings, custody),
        "device_facts": device_facts(
            devices, by_ids(session, SourceFile, (r.source_file_id for r in _own_records(devices, accounts))), accounts
        ),
        "flags": findings["assessment"].get("flags", []),
        "severities": [s for s in SEVERITY_ORDER if any(x["severity"] == s for x in findings["findings"])],
        "finding_views": [_finding_view(x, cited, thumbs, keys, zones) for x in findings["findings"]],
        # each cited record once, in time order, with the findings citing it (finding_views.py)
        "cited_records": cited_records(findings["findings"], cited.get),
        "cards_per_finding": CARDS_PER_FINDING,
        "map": map_view,
        "map_keys": keys,
        "map_max_points": MAX_POINTS,
        "counts": findings["record_counts"],
        "thread_count": thread_count(session),
        "untimed_count": sum(1 for _ in untimed(session)),
        "thumbs": thumbs,
        "sources": sources,
        "warning_count": count(session, ParseWarning),
        "warnings_head": list(
            rows(session, select(ParseWarning.__table__).order_by(ParseWarning.id).limit(WARNINGS_ON_INDEX))
        ),
        "source_count": count(session, SourceFile),
        "not_parsed_count": not_parsed,
        "custody": custody,
        "chain": verify_chain(custody_path, require_closed=False),  # the run is still writing it
        "exports": exports or {},
        "links": None,  # the pages' links (triage.report.pages.Links), once they are written
        "not_translated": NOT_TRANSLATED,
        "local_zone_names": [name for name, _ in LOCAL_ZONES],
        "up": "",  # from the front page: thumbnails at thumbs/, the map at #map-…
        "index_href": "",
    }
    return Report(context, out, [out / name for name in thumbs.files])


def write_html(report: Report, target: Path, links: Links | None = None) -> Path:
    """index.html; `links` leads to the paged listings (None: written without them, e.g. a report test)."""
    moved = links.at("pages/") if links is not None else None
    # the views by time and by conversation: their first rows, linked to the pages (written before this page)
    views = index_views(report.context["cited_records"], report.context["sources"], moved)
    context = dict(report.context, links=moved, cited_views=views)
    page = _env.get_template("index.html.j2").render(print=False, **context)
    write_text_exclusive(target, page)
    return target


# -- the cited records ------------------------------------------------------------------------------


def _cited(session: Any, findings: dict[str, Any]) -> Cited:
    wanted: dict[str, set[int]] = {}
    for finding in findings["findings"]:
        for ref in finding["evidence"]:
            if ref["type"] in CITABLE and isinstance(ref.get("id"), int):
                wanted.setdefault(ref["type"], set()).add(ref["id"])
    records = {kind: _orm_by_ids(session, CITABLE[kind], ids) for kind, ids in wanted.items()}
    # the photo of a cited position, and the position of a cited photo (its first, by id)
    media_ids = {loc.media_file_id for loc in records.get("location", {}).values() if loc.media_file_id is not None}
    records.setdefault("media_file", {}).update(_orm_by_ids(session, MediaFile, media_ids - set(records["media_file"])))
    located: dict[int, Location] = {}
    photo_ids = sorted(records["media_file"])
    for start in range(0, len(photo_ids), 500):
        statement = (
            select(Location).where(Location.media_file_id.in_(photo_ids[start : start + 500])).order_by(Location.id)
        )
        for loc in session.scalars(statement):
            located.setdefault(loc.media_file_id, loc)
    records.setdefault("location", {}).update({loc.id: loc for loc in located.values()})
    return Cited(records, located)


def _orm_by_ids(session: Any, cls: type[Base], ids: Iterable[int]) -> dict[int, Any]:
    wanted = sorted(set(ids))
    found: dict[int, Any] = {}
    for start in range(0, len(wanted), 500):
        found.update({r.id: r for r in session.scalars(select(cls).where(cls.id.in_(wanted[start : start + 500])))})
    return found


def _cited_locations(findings: dict[str, Any], cited: Cited) -> list[int]:
    """Positions a finding cites, directly or as the position of a cited photo: always drawn one by one."""
    ids = []
    for finding in findings["findings"]:
        for ref in finding["evidence"]:
            if ref["type"] == "location":
                ids.append(ref["id"])
            elif ref["type"] == "media_file" and ref["id"] in cited.location_of_media:
                ids.append(cited.location_of_media[ref["id"]].id)
    return list(dict.fromkeys(ids))


def _sources_of_cited(session: Any, cited: Cited) -> dict[int, Any]:
    ids = {getattr(r, "source_file_id", None) for group in cited.records.values() for r in group.values()}
    return by_ids(session, SourceFile, ids)


# -- header ------------------------------------------------------------------------------------------


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
                return {
                    "signed": False,
                    "fingerprint": None,
                    "basis": "no examiner signing key: the bundle is not signed",
                }
            return {
                "signed": True,
                "fingerprint": details.get("key_fingerprint"),
                "basis": f"custody entry {entry.get('seq')} 'bundle to be sealed' (examiner_public_key.pem "
                f"in the bundle)",
            }
    return {"signed": None, "fingerprint": None, "basis": "not known when this page was written"}


# -- findings ----------------------------------------------------------------------------------------


def _finding_view(
    finding: dict[str, Any], cited: Cited, thumbs: Thumbnails, keys: dict[int, str], zones: ZoneSet | None
) -> dict[str, Any]:
    cards = [_card(ref, cited, thumbs, keys, zones) for ref in finding["evidence"]]
    return {"f": finding, "anchor": f"finding-{finding['id']}", "cards": cards}


def _card(ref: dict[str, Any], cited: Cited, thumbs: Thumbnails, keys: dict[int, str], zones: ZoneSet | None) -> Card:
    kind = ref["type"] if ref["type"] in ("message", "location", "media_file", "payment") else "record"
    record = cited.get(ref["type"], ref["id"])
    card = Card(ref=ref, kind=kind, record=record)
    if record is None:
        return card
    location = record if isinstance(record, Location) else None
    media = record if isinstance(record, MediaFile) else None
    if location is not None and location.media_file_id is not None:
        media = cited.get("media_file", location.media_file_id)
    if media is not None and location is None:
        location = cited.location_of_media.get(media.id)
    card.media, card.location = media, location
    card.thumb = thumbs.made.get(media.id) if media is not None else None
    if location is not None:
        card.map_key = keys.get(location.id)
        if zones is not None:
            # with the position's own accuracy, as the rules place it: a fix within it of the coast is not "at sea"
            # (the coast rule, rules/zones.py); each placement's distances are in the finding's explanation
            inside = zones.containing(location.latitude, location.longitude, accuracy_m=location.accuracy_m)
            card.zones = [f"{z.kind}: {z.name}" for z in inside]
    return card


# -- map ---------------------------------------------------------------------------------------------


def index_map(session: Any, zones: ZoneSet | None, cited_locations: list[int]) -> MapView:
    """Every position when there are at most MAX_POINTS; otherwise the cited ones one by one and the
    others in clusters (read once, streamed): the number of marks is bounded whatever the phone holds."""
    total = count(session, Location)
    if total <= MAX_POINTS:
        return render_map(map_points(session, all_of(session, Location)), zones)
    individual = by_ids(session, Location, cited_locations)
    table = Location.__table__
    others = (
        (r.id, r.latitude, r.longitude)
        for r in rows(session, select(table.c.id, table.c.latitude, table.c.longitude).order_by(table.c.id))
        if r.id not in individual
    )
    clusters, outside = cluster_positions(others)
    return render_map(
        map_points(session, (individual[i] for i in cited_locations if i in individual)),
        zones,
        clusters,
        outside,
        CLUSTER_NOTE,
    )


def map_points(session: Any, locations: Iterable[Any]) -> list[MapPoint]:
    locations = list(locations)  # at most MAX_POINTS, or the cited ones
    sources = by_ids(session, SourceFile, (loc.source_file_id for loc in locations))
    points = []
    for loc in locations:
        source = sources.get(loc.source_file_id)
        where = display_text(source.path, "path") if source else "source not recorded"
        when = utc_text(loc.time_utc) or "time unknown"
        # the SVG title is plain text: evidence parts capped, their controls made visible (display.py)
        label = display_text(loc.label or loc.origin, "name")
        points.append(
            MapPoint(
                key=f"L{loc.id}",
                location_id=loc.id,
                latitude=loc.latitude,
                longitude=loc.longitude,
                title=f"{label} ({display_text(loc.origin, 'name')}), {when}, {where}",
                time_sort=loc.time_utc.timestamp() if loc.time_utc else None,
                origin=display_text(loc.origin, "name"),
                when=utc_text(loc.time_utc) or "",
            )
        )
    return points


def _own_records(devices: list[Device], accounts: list[Account]) -> list[Device | Account]:
    return [*devices, *accounts]
