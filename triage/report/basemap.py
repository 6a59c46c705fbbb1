"""The report's offline map: an inline SVG of the Channel area drawn from shipped data (no tile server).

Land (its outline is the coastline) comes from `data/channel_land.geojson` (Natural Earth 1:10m, see
data/README.md); zones from the rule pack's own zones file, so the map shows the areas the rules tested.
Positions are drawn from the records' coordinates: each one as its own point while there are few; past
MAX_POINTS the positions no finding cites are gathered into grid clusters (one mark per CLUSTER_PX cell with
its count), so the map keeps a bounded number of marks whatever the phone holds. Colours are SVG
presentation attributes (not CSS classes) so the browser and WeasyPrint draw the same picture. Output is
deterministic: fixed frame, fixed rounding, records in the order given.

No two texts on the map overlap (map_labels.py): points nearer than map_labels.GROUP_PX share one label
("L10–L13 (4)"), each label sits beside its point or on a leader line, each zone is named (its short name,
or its number in the zone table when the map has no room), cluster counts whose texts would touch are
merged. Marks and labels carry their anchor (data-ax/data-ay) so report.js can zoom the viewBox while they
keep their size on screen (each about a point inside its own box, so labels apart stay apart).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from markupsafe import Markup, escape
from shapely.geometry import box, shape
from shapely.geometry.base import BaseGeometry

from triage.report.map_labels import (
    Box,
    Label,
    Layout,
    Placed,
    group_near,
    group_text,
    leader_start,
    text_box,
    text_width,
)

if TYPE_CHECKING:
    from rules.zones import ZoneSet

LAND_FILE = Path(__file__).resolve().parents[2] / "rules" / "data" / "channel_land.geojson"  # shared with the rules
FRAME = (-2.0, 49.5, 4.0, 52.0)  # lon min, lat min, lon max, lat max: the land data covers exactly this
WIDTH = 960.0
GRATICULE_DEG = 0.5
ZONE_STYLE = {  # kind: (fill, stroke, label for the legend)
    "embarkation": ("#f4a261", "#b4541a", "embarkation area"),
    "staging_camps": ("#b39ddb", "#5e35b1", "staging area / camp"),
    "uk_landing": ("#81c784", "#2e7d32", "UK landing area"),
    "channel_waters": ("#90caf9", "#1e88e5", "Channel waters"),
    "supply_storage": ("#bcaaa4", "#6d4c41", "supply / storage"),
}
OTHER_ZONE = ("#e0e0e0", "#757575", "other zone")
MAX_POINTS = 300  # positions drawn one by one; past this, those no finding cites are clustered
CLUSTER_PX = 24  # cluster cell side in map pixels: at most (960/24) x (632/24) ~ 1,100 cluster marks
CLUSTER_COLOUR = "#37474f"
FONT = 'font-family="DejaVu Sans, sans-serif"'  # the font map_labels.py measures (Debian: fonts-dejavu-core)
POINT_R = 5.0
POINT_LABEL_PX = 11.0
ZONE_LABEL_PX = 9.0
CLUSTER_LABEL_PX = 10.0
GRATICULE_PX = 11.0


@dataclass(frozen=True)
class MapPoint:
    key: str  # the label on the map and in the report ("L3" = location record 3)
    location_id: int
    latitude: float
    longitude: float
    title: str  # hover text: origin, time, source file
    time_sort: float | None = None  # UTC seconds, None when unknown: the track joins timed points in this order
    origin: str = ""  # the Location record's origin ("photo EXIF GPS", "whatsapp shared location" …)
    when: str = ""  # its UTC time as the report writes it, "" when unknown


@dataclass(frozen=True)
class PointGroup:
    """Drawn points close enough to share one label on the map; `placed` is False when no slot was free."""

    text: str
    anchor: str  # id of the group's first row in the table under the map
    points: tuple[MapPoint, ...]
    placed: bool = True


@dataclass(frozen=True)
class ZoneEntry:
    """A zone drawn on the map, numbered for the zone table, with the text its label shows."""

    number: int
    kind: str
    kind_label: str
    name: str
    colour: str
    shown: str  # the label on the map: its short name, or "Z<number>" when only that found room


@dataclass(frozen=True)
class Cluster:
    """Positions that fall in one grid cell of the map, drawn as one mark with their count."""

    cell: tuple[int, int]
    count: int
    latitude: float  # mean of the positions in the cell: where the mark is drawn
    longitude: float
    first_id: int  # lowest location id in the cell (the cell's positions are listed by id on the pages)


@dataclass
class MapView:
    svg: Markup
    drawn: list[MapPoint] = field(default_factory=list)
    outside: list[MapPoint] = field(default_factory=list)  # positions outside the frame (listed, not drawn)
    legend: list[tuple[str, str]] = field(default_factory=list)  # (colour, label) of zone kinds drawn
    clusters: list[Cluster] = field(default_factory=list)
    clustered_outside: int = 0  # positions not drawn one by one that lie outside the frame
    groups: list[PointGroup] = field(default_factory=list)  # the point labels, in the table's order
    zone_entries: list[ZoneEntry] = field(default_factory=list)
    unnumbered: int = 0  # clusters whose count found no room beside the labels (the count is in their tooltip)

    @property
    def clustered(self) -> int:
        return sum(c.count for c in self.clusters)


class Projection:
    """Equirectangular, x scaled by cos(mid latitude): true shape near 50.75° N, the frame's middle."""

    def __init__(self, frame: tuple[float, float, float, float] = FRAME, width: float = WIDTH) -> None:
        self.lon0, self.lat0, self.lon1, self.lat1 = frame
        k = math.cos(math.radians((self.lat0 + self.lat1) / 2))
        self.scale = width / ((self.lon1 - self.lon0) * k)  # pixels per degree of latitude
        self.kx = self.scale * k
        self.width = width
        self.height = round((self.lat1 - self.lat0) * self.scale, 1)

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        return round((lon - self.lon0) * self.kx, 1), round((self.lat1 - lat) * self.scale, 1)

    def contains(self, lon: float, lat: float) -> bool:
        return self.lon0 <= lon <= self.lon1 and self.lat0 <= lat <= self.lat1

    def km_per_pixel(self) -> float:
        return 111.32 / self.scale  # one degree of latitude is ~111.32 km


@lru_cache(maxsize=1)
def land() -> BaseGeometry:
    doc = json.loads(LAND_FILE.read_text(encoding="utf-8"))
    return shape(doc["features"][0]["geometry"])


def cluster_positions(
    positions: Iterable[tuple[int, float, float]], cell_px: float = CLUSTER_PX
) -> tuple[list[Cluster], int]:
    """(clusters in cell order, count outside the frame) of (location id, latitude, longitude) positions,
    read once as they stream: memory grows with the number of cells, not of positions."""
    proj = Projection()
    cells: dict[tuple[int, int], list[float]] = {}  # cell -> [count, sum lat, sum lon, first id]
    outside = 0
    for location_id, lat, lon in positions:
        if not proj.contains(lon, lat):
            outside += 1
            continue
        x, y = proj.xy(lon, lat)
        cell = (int(x // cell_px), int(y // cell_px))
        acc = cells.setdefault(cell, [0, 0.0, 0.0, location_id])
        acc[0] += 1
        acc[1] += lat
        acc[2] += lon
        acc[3] = min(acc[3], location_id)
    clusters = [
        Cluster(cell, int(n), round(sum_lat / n, 6), round(sum_lon / n, 6), int(first))
        for cell, (n, sum_lat, sum_lon, first) in sorted(cells.items())
    ]
    return clusters, outside


def render_map(
    points: Iterable[MapPoint],
    zones: ZoneSet | None,
    clusters: Iterable[Cluster] = (),
    clustered_outside: int = 0,
    cluster_note: str = "",
) -> MapView:
    """The map of `points` (each drawn as its own point, near ones sharing a label) and `clusters` (one counted
    mark each). The time-order track joins the points only when nothing is clustered: it would omit the
    clustered ones."""
    proj = Projection()
    points = list(points)
    drawn = [p for p in points if proj.contains(p.longitude, p.latitude)]
    outside = [p for p in points if not proj.contains(p.longitude, p.latitude)]
    layout = Layout(proj.width, proj.height)
    clusters = merge_touching(proj, list(clusters))
    for c in clusters:
        layout.add_mark(*proj.xy(c.longitude, c.latitude), _cluster_r(c.count))
    for p in drawn:
        layout.add_mark(*proj.xy(p.longitude, p.latitude), POINT_R)
    # what matters most is placed first: the points' labels, the zones' names, the counts, then the frame's
    groups, point_labels = _point_labels(proj, drawn, layout)
    zone_svg, legend, entries, zone_labels = _zones(proj, zones, layout)
    numbered = _number_clusters(proj, clusters, layout)
    scale = _scale_bar(proj, layout)
    graticule = _graticule(proj, layout)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="map" viewBox="0 0 {proj.width:g} {proj.height:g}" '
        f'width="100%" role="img" aria-label="Map of the Channel area with '
        f'{len(drawn) + sum(c.count for c in clusters)} positions">',
        f'<rect x="0" y="0" width="{proj.width:g}" height="{proj.height:g}" fill="#dceefb"/>',
        f'<path class="land" d="{_path(land(), proj)}" fill="#f3efe3" stroke="#8d8069" stroke-width="0.8" '
        'fill-rule="evenodd"/>',
        graticule,
        zone_svg,
        "" if clusters else _track(proj, drawn),
        _clusters(proj, clusters, cluster_note, numbered),
        _points(proj, drawn),
        zone_labels,
        point_labels,
        scale,
        "</svg>",
    ]
    return MapView(
        Markup("\n".join(p for p in parts if p)),
        drawn,
        outside,
        legend,
        clusters,
        clustered_outside,
        groups,
        entries,
        len(clusters) - len(numbered),
    )


def merge_touching(proj: Projection, clusters: list[Cluster]) -> list[Cluster]:
    """Clusters whose count texts would overlap, merged into the larger (its position kept): a count is
    always readable. Repeated until none touch, as a merged count's text is wider; each pass removes one
    cluster at least or ends."""
    while True:
        layout = Layout(proj.width, proj.height)
        kept: list[Cluster] = []
        owner: dict[int, int] = {}  # id() of a placed box -> index in kept
        merged = False
        for c in sorted(clusters, key=lambda c: (-c.count, c.cell)):
            x, y = proj.xy(c.longitude, c.latitude)
            _, box = _cluster_text(x, y, c.count)
            clash = layout.first_clash(box)
            if clash is None:
                owner[id(layout.add_text(box))] = len(kept)
                kept.append(c)
                continue
            i = owner[id(clash)]
            big = kept[i]
            kept[i] = Cluster(big.cell, big.count + c.count, big.latitude, big.longitude, min(big.first_id, c.first_id))
            merged = True
        clusters = sorted(kept, key=lambda c: c.cell)
        if not merged:
            return clusters


def _number_clusters(proj: Projection, clusters: list[Cluster], layout: Layout) -> set[tuple[int, int]]:
    """Cells of the clusters whose count is written on their disc: all but those whose count would touch a
    point's or a zone's label (merge_touching already keeps the counts apart from one another)."""
    numbered = set()
    for c in sorted(clusters, key=lambda c: (-c.count, c.cell)):
        x, y = proj.xy(c.longitude, c.latitude)
        _, box = _cluster_text(x, y, c.count)
        if layout.text_free(box):
            layout.add_text(box)
            numbered.add(c.cell)
    return numbered


def _point_labels(proj: Projection, drawn: list[MapPoint], layout: Layout) -> tuple[list[PointGroup], str]:
    """One label per group of near points, placed where it overlaps no other text; groups in id order."""
    xy = [proj.xy(p.longitude, p.latitude) for p in drawn]
    order = sorted(range(len(drawn)), key=lambda i: drawn[i].location_id)
    groups = group_near([xy[i] for i in order])
    out = [f'<g class="labels point-labels" {FONT} font-size="{POINT_LABEL_PX:g}" font-weight="bold">']
    views = []
    for members in groups:
        pts = [drawn[order[i]] for i in members]
        text = group_text([p.key for p in pts], [p.location_id for p in pts])
        ax, ay = xy[order[members[0]]]
        placed = layout.place(Label(text, ax, ay, POINT_LABEL_PX, bold=True, clear=POINT_R))
        if placed is None:  # no room even on the farthest ring: allowed over other points' discs
            placed = layout.place(Label(text, ax, ay, POINT_LABEL_PX, bold=True, clear=POINT_R), avoid_marks=False)
        anchor = f"maprow-{pts[0].key}"
        views.append(PointGroup(text, anchor, tuple(pts), placed is not None))
        if placed is not None:
            out.append(_label_svg(placed, "pt-label", "#7f0000", f"#{anchor}"))
    out.append("</g>")
    return views, "".join(out)


def _label_svg(placed: Placed, cls: str, colour: str, href: str = "") -> str:
    """A label on a pale ground (readable over land, sea and zones), with its leader line. It zooms about
    where its text starts (data-ax/data-ay, inside its box); the leader line stays with the map, its end at
    the label (data-ox/data-oy: report.js moves that end as the label keeps its size)."""
    lab, box = placed.label, placed.box
    parts = []
    if placed.leader is not None:
        x0, y0 = leader_start(lab, placed.leader)
        parts.append(
            f'<line class="leader" x1="{x0:g}" y1="{y0:g}" x2="{placed.leader[0]:g}" '
            f'y2="{placed.leader[1]:g}" data-ox="{placed.x:g}" data-oy="{placed.y:g}" stroke="{colour}" '
            'stroke-width="0.8"/>'
        )
    parts.append(f'<g class="lbl" data-ax="{placed.x:g}" data-ay="{placed.y:g}">')
    parts.append(
        f'<rect x="{box.x0 + 0.5:.1f}" y="{box.y0 + 0.5:.1f}" width="{box.x1 - box.x0 - 1:.1f}" '
        f'height="{box.y1 - box.y0 - 1:.1f}" fill="#ffffff" fill-opacity="0.75" rx="2"/>'
    )
    text = f'<text class="{cls}" x="{placed.x:g}" y="{placed.y:g}" fill="{colour}">{escape(lab.text)}</text>'
    parts.append(f'<a href="{href}">{text}</a>' if href else text)
    parts.append("</g>")
    return "".join(parts)


def _path(geometry: BaseGeometry, proj: Projection) -> str:
    polygons = getattr(geometry, "geoms", [geometry])
    rings = []
    for polygon in polygons:
        if polygon.is_empty or polygon.geom_type != "Polygon":
            continue
        for ring in (polygon.exterior, *polygon.interiors):
            xy = [proj.xy(x, y) for x, y in ring.coords]
            rings.append("M" + " L".join(f"{x:g},{y:g}" for x, y in xy) + " Z")
    return " ".join(rings)


def _zones(
    proj: Projection, zones: ZoneSet | None, layout: Layout
) -> tuple[str, list[tuple[str, str]], list[ZoneEntry], str]:
    """(zone shapes, legend of kinds, zone table, zone labels). Each zone is labelled with its short name
    where a free slot exists, else with its number in the zone table."""
    if zones is None:
        return "", [], [], ""
    frame = box(proj.lon0, proj.lat0, proj.lon1, proj.lat1)
    out, kinds = ['<g class="zones">'], []
    inside = [z for z in zones.zones if z.geometry.intersects(frame)]
    # wide areas first so the small beach zones stay on top and can be hovered
    for zone in sorted(inside, key=lambda z: (-z.geometry.area, z.kind, z.name)):
        fill, stroke, label = ZONE_STYLE.get(zone.kind, OTHER_ZONE)
        opacity = "0.18" if zone.kind == "channel_waters" else "0.45"
        d = _path(zone.geometry.intersection(frame), proj)
        out.append(
            f'<path class="zone" data-kind="{escape(zone.kind)}" d="{d}" fill="{fill}" fill-opacity="{opacity}" '
            f'stroke="{stroke}" stroke-width="0.8"><title>{escape(label)}: {escape(zone.name)}</title></path>'
        )
        if (fill, label) not in kinds:
            kinds.append((fill, label))
    out.append("</g>")
    entries, labels = _zone_labels(proj, inside, frame, layout)
    return "\n".join(out), sorted(kinds, key=lambda k: k[1]), entries, labels


def short_zone_name(name: str) -> str:
    """The first part of a zone's name ("Gravelines" of "Gravelines / Aa estuary / …"): the map's label."""
    for cut in (" / ", " (", " [", ": "):
        name = name.split(cut, 1)[0]
    return name.strip()


def _zone_labels(proj: Projection, inside: list, frame: BaseGeometry, layout: Layout) -> tuple[list[ZoneEntry], str]:
    # small zones first: they have the fewest slots near them; numbered in that order, west to east
    ordered = sorted(inside, key=lambda z: (z.geometry.area, z.geometry.centroid.x, z.name))
    out = [f'<g class="labels zone-labels" {FONT} font-size="{ZONE_LABEL_PX:g}">']
    entries = []
    shared: dict[str, int] = {}
    for zone in ordered:
        shared[short_zone_name(zone.name)] = shared.get(short_zone_name(zone.name), 0) + 1
    for number, zone in enumerate(ordered, 1):
        _, stroke, kind_label = ZONE_STYLE.get(zone.kind, OTHER_ZONE)
        spot = zone.geometry.intersection(frame).representative_point()
        ax, ay = proj.xy(spot.x, spot.y)
        shown = short_zone_name(zone.name) or f"Z{number}"
        if shared.get(shown, 0) > 1:  # two zones called "Boulogne-sur-Mer": the number tells them apart
            shown = f"{shown} Z{number}"
        placed = None
        tries = [(text, avoid) for avoid in (True, False) for text in dict.fromkeys((shown, f"Z{number}"))]
        for text, avoid in tries:  # over a disc only when nothing else is free
            placed = layout.place(Label(text, ax, ay, ZONE_LABEL_PX, clear=0.0), avoid_marks=avoid)
            if placed is not None:
                shown = text
                break
        if placed is None:  # tried beside and on every ring: the table names it
            shown = ""
        else:
            out.append(_label_svg(placed, "zone-label", stroke, f"#mapzone-{number}"))
        entries.append(ZoneEntry(number, zone.kind, kind_label, zone.name, stroke, shown))
    out.append("</g>")
    return entries, "".join(out)


def _graticule(proj: Projection, layout: Layout) -> str:
    """Lines every GRATICULE_DEG with their degrees; the texts are reserved in `layout` first."""
    lines = [
        f'<g class="graticule" stroke="#9fb7c9" stroke-width="0.4" fill="#4a6478" font-size="{GRATICULE_PX:g}" {FONT}>'
    ]

    def degree(x: float, y: float, text: str) -> str:  # written where no label or count is
        box = text_box(x, y, text, GRATICULE_PX, False)
        if not layout.text_free(box):
            return ""
        layout.add_text(box)
        return f'<text x="{x:g}" y="{y:g}" data-ax="{x:g}" data-ay="{y:g}" stroke="none">{text}</text>'

    steps = int(round((proj.lon1 - proj.lon0) / GRATICULE_DEG))
    for i in range(1, steps):
        lon = proj.lon0 + i * GRATICULE_DEG
        x, _ = proj.xy(lon, proj.lat0)
        lines.append(
            f'<line x1="{x:g}" y1="0" x2="{x:g}" y2="{proj.height:g}"/>'
            + degree(round(x + 2, 1), round(proj.height - 5, 1), _deg(lon, "E", "W"))
        )
    steps = int(round((proj.lat1 - proj.lat0) / GRATICULE_DEG))
    for i in range(1, steps):
        lat = proj.lat0 + i * GRATICULE_DEG
        _, y = proj.xy(proj.lon0, lat)
        lines.append(
            f'<line x1="0" y1="{y:g}" x2="{proj.width:g}" y2="{y:g}"/>'
            + degree(3, round(y - 3, 1), _deg(lat, "N", "S"))
        )
    lines.append("</g>")
    return "".join(lines)


def _deg(value: float, positive: str, negative: str) -> str:
    return f"{abs(value):g}° {positive if value >= 0 else negative}"


def _track(proj: Projection, points: list[MapPoint]) -> str:
    """Timed positions joined in time order: straight lines between fixes, not a route travelled."""
    timed = sorted((p for p in points if p.time_sort is not None), key=lambda p: (p.time_sort, p.location_id))
    if len(timed) < 2:
        return ""
    xy = " ".join("{:g},{:g}".format(*proj.xy(p.longitude, p.latitude)) for p in timed)
    return (
        f'<polyline class="track" points="{xy}" fill="none" stroke="#6a1b9a" stroke-width="1.2" '
        'stroke-dasharray="5,4" stroke-opacity="0.8"><title>positions in time order (straight lines between '
        "fixes, not a route)</title></polyline>"
    )


def _points(proj: Projection, points: list[MapPoint]) -> str:
    """Each point's disc (its label is drawn by _point_labels, shared with the points near it)."""
    out = ['<g class="points">']
    for p in points:
        x, y = proj.xy(p.longitude, p.latitude)
        out.append(
            f'<circle class="pt" id="map-{escape(p.key)}" data-location="{p.location_id}" '
            f'data-origin="{escape(p.origin)}" cx="{x:g}" cy="{y:g}" '
            f'r="{POINT_R:g}" fill="#c62828" stroke="#ffffff" stroke-width="1.5"><title>{escape(p.key)}: '
            f"{escape(p.title)}</title></circle>"
        )
    out.append("</g>")
    return "".join(out)


def _cluster_r(count: int) -> float:
    return round(5 + 3 * math.log10(count), 1)


def _cluster_text(x: float, y: float, count: int) -> tuple[tuple[float, float], Box]:
    """(start, baseline) of a cluster's count, centred on its disc, and the box the text takes."""
    w = text_width(str(count), CLUSTER_LABEL_PX, True)
    start = (round(x - w / 2, 1), round(y + 3.5, 1))
    return start, text_box(start[0], start[1], str(count), CLUSTER_LABEL_PX, True)


def _clusters(proj: Projection, clusters: list[Cluster], note: str, numbered: set[tuple[int, int]]) -> str:
    """One grey disc per cell, its area growing with the log of its count, the count written on it."""
    if not clusters:
        return ""
    out = [f'<g class="clusters" {FONT} font-size="{CLUSTER_LABEL_PX:g}" font-weight="bold">']
    for c in clusters:
        x, y = proj.xy(c.longitude, c.latitude)
        (tx, ty), _ = _cluster_text(x, y, c.count)
        title = f"{c.count} position(s) in this area (first: location #{c.first_id}){note}"
        count = f'<text x="{tx:g}" y="{ty:g}" fill="#ffffff">{c.count}</text>' if c.cell in numbered else ""
        out.append(
            f'<g data-ax="{x:g}" data-ay="{y:g}"><circle class="cluster" data-count="{c.count}" cx="{x:g}" '
            f'cy="{y:g}" r="{_cluster_r(c.count):g}" fill="{CLUSTER_COLOUR}" fill-opacity="0.75" '
            f'stroke="#ffffff" stroke-width="1"><title>{escape(title)}</title></circle>{count}</g>'
        )
    out.append("</g>")
    return "".join(out)


def _scale_bar(proj: Projection, layout: Layout, km: int = 50) -> str:
    """A bar of `km` in open sea south of the Isle of Wight, its text where no label is."""
    length = round(km / proj.km_per_pixel(), 1)
    x0, y0 = proj.xy(-1.8, 50.1)
    label = Label(f"{km} km", x0, y0, 11, clear=0.0)
    above = round(y0 - 4, 1)
    box = text_box(x0, above, label.text, 11, False)  # above the bar's left end, else wherever is free
    if layout.text_free(box):
        layout.add_text(box)
        placed: Placed | None = Placed(label, x0, above, box)
    else:
        placed = layout.place(label, avoid_marks=False)
    text = (
        ""
        if placed is None
        else f'<text x="{placed.x:g}" y="{placed.y:g}" data-ax="{placed.x:g}" data-ay="{placed.y:g}">{km} km</text>'
    )
    return (
        f'<g class="scale" {FONT} font-size="11" fill="#333">'
        f'<rect x="{x0:g}" y="{y0:g}" width="{length:g}" height="5" fill="#333"/>{text}</g>'
    )
