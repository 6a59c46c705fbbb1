"""The report's offline map: an inline SVG of the Channel area drawn from shipped data (no tile server).

Land (its outline is the coastline) comes from `data/channel_land.geojson` (Natural Earth 1:10m, see
data/README.md); zones from the rule pack's own zones file, so the map shows the areas the rules tested.
Positions are drawn from the records' coordinates: each one as its own point while there are few; past
MAX_POINTS the positions no finding cites are gathered into grid clusters (one mark per CLUSTER_PX cell with
its count), so the map keeps a bounded number of marks whatever the phone holds. Colours are SVG
presentation attributes (not CSS classes) so the browser and WeasyPrint draw the same picture. Output is
deterministic: fixed frame, fixed rounding, records in the order given.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from markupsafe import Markup, escape
from shapely.geometry import box, shape
from shapely.geometry.base import BaseGeometry

if TYPE_CHECKING:
    from rules.zones import ZoneSet

LAND_FILE = Path(__file__).parent / "data" / "channel_land.geojson"
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


@dataclass(frozen=True)
class MapPoint:
    key: str  # the label on the map and in the report ("L3" = location record 3)
    location_id: int
    latitude: float
    longitude: float
    title: str  # hover text: origin, time, source file
    time_sort: float | None = None  # UTC seconds, None when unknown: the track joins timed points in this order
    origin: str = ""  # the Location record's origin ("photo EXIF GPS", "whatsapp shared location" …)


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


def cluster_positions(positions: Iterable[tuple[int, float, float]],
                      cell_px: float = CLUSTER_PX) -> tuple[list[Cluster], int]:
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
    clusters = [Cluster(cell, int(n), round(sum_lat / n, 6), round(sum_lon / n, 6), int(first))
                for cell, (n, sum_lat, sum_lon, first) in sorted(cells.items())]
    return clusters, outside


def render_map(points: Iterable[MapPoint], zones: "ZoneSet | None", clusters: Iterable[Cluster] = (),
               clustered_outside: int = 0, cluster_note: str = "") -> MapView:
    """The map of `points` (each drawn as its own labelled point) and `clusters` (one counted mark each).
    The time-order track joins the points only when nothing is clustered: it would omit the clustered ones."""
    proj = Projection()
    points = list(points)
    clusters = list(clusters)
    drawn = [p for p in points if proj.contains(p.longitude, p.latitude)]
    outside = [p for p in points if not proj.contains(p.longitude, p.latitude)]
    zone_svg, legend = _zones(proj, zones)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="map" viewBox="0 0 {proj.width:g} {proj.height:g}" '
        f'width="100%" role="img" aria-label="Map of the Channel area with '
        f'{len(drawn) + sum(c.count for c in clusters)} positions">',
        f'<rect x="0" y="0" width="{proj.width:g}" height="{proj.height:g}" fill="#dceefb"/>',
        f'<path class="land" d="{_path(land(), proj)}" fill="#f3efe3" stroke="#8d8069" stroke-width="0.8" '
        'fill-rule="evenodd"/>',
        _graticule(proj),
        zone_svg,
        "" if clusters else _track(proj, drawn),
        _clusters(proj, clusters, cluster_note),
        _points(proj, drawn),
        _scale_bar(proj),
        "</svg>",
    ]
    return MapView(Markup("\n".join(p for p in parts if p)), drawn, outside, legend, clusters, clustered_outside)


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


def _zones(proj: Projection, zones: "ZoneSet | None") -> tuple[str, list[tuple[str, str]]]:
    if zones is None:
        return "", []
    frame = box(proj.lon0, proj.lat0, proj.lon1, proj.lat1)
    out, kinds = ['<g class="zones">'], []
    # wide areas first so the small beach zones stay on top and can be hovered
    for zone in sorted(zones.zones, key=lambda z: (-z.geometry.area, z.kind, z.name)):
        if not zone.geometry.intersects(frame):
            continue
        fill, stroke, label = ZONE_STYLE.get(zone.kind, OTHER_ZONE)
        opacity = "0.18" if zone.kind == "channel_waters" else "0.45"
        d = _path(zone.geometry.intersection(frame), proj)
        out.append(f'<path class="zone" data-kind="{escape(zone.kind)}" d="{d}" fill="{fill}" fill-opacity="{opacity}" '
                   f'stroke="{stroke}" stroke-width="0.8"><title>{escape(label)}: {escape(zone.name)}</title></path>')
        if (fill, label) not in kinds:
            kinds.append((fill, label))
    out.append("</g>")
    return "\n".join(out), sorted(kinds, key=lambda k: k[1])


def _graticule(proj: Projection) -> str:
    lines = ['<g class="graticule" stroke="#9fb7c9" stroke-width="0.4" fill="#4a6478" font-size="11" '
             'font-family="DejaVu Sans, Arial, sans-serif">']
    steps = int(round((proj.lon1 - proj.lon0) / GRATICULE_DEG))
    for i in range(1, steps):
        lon = proj.lon0 + i * GRATICULE_DEG
        x, _ = proj.xy(lon, proj.lat0)
        lines.append(f'<line x1="{x:g}" y1="0" x2="{x:g}" y2="{proj.height:g}"/>'
                     f'<text x="{x + 2:g}" y="{proj.height - 4:g}" stroke="none">{_deg(lon, "E", "W")}</text>')
    steps = int(round((proj.lat1 - proj.lat0) / GRATICULE_DEG))
    for i in range(1, steps):
        lat = proj.lat0 + i * GRATICULE_DEG
        _, y = proj.xy(proj.lon0, lat)
        lines.append(f'<line x1="0" y1="{y:g}" x2="{proj.width:g}" y2="{y:g}"/>'
                     f'<text x="3" y="{y - 3:g}" stroke="none">{_deg(lat, "N", "S")}</text>')
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
    return (f'<polyline class="track" points="{xy}" fill="none" stroke="#6a1b9a" stroke-width="1.2" '
            'stroke-dasharray="5,4" stroke-opacity="0.8"><title>positions in time order (straight lines between '
            'fixes, not a route)</title></polyline>')


def _points(proj: Projection, points: list[MapPoint]) -> str:
    out = ['<g class="points" font-family="DejaVu Sans, Arial, sans-serif" font-size="12" font-weight="bold">']
    for p in points:
        x, y = proj.xy(p.longitude, p.latitude)
        out.append(f'<circle class="pt" id="map-{escape(p.key)}" data-location="{p.location_id}" data-origin="{escape(p.origin)}" '
                   f'cx="{x:g}" cy="{y:g}" '
                   f'r="5" fill="#c62828" stroke="#ffffff" stroke-width="1.5"><title>{escape(p.key)}: '
                   f'{escape(p.title)}</title></circle>'
                   f'<text class="pt-label" x="{x + 7:g}" y="{y - 6:g}" fill="#7f0000">{escape(p.key)}</text>')
    out.append("</g>")
    return "".join(out)


def _clusters(proj: Projection, clusters: list[Cluster], note: str) -> str:
    """One grey disc per cell, its area growing with the log of its count, the count written on it."""
    if not clusters:
        return ""
    out = ['<g class="clusters" font-family="DejaVu Sans, Arial, sans-serif" font-size="10" font-weight="bold" '
           'text-anchor="middle">']
    for c in clusters:
        x, y = proj.xy(c.longitude, c.latitude)
        r = round(5 + 3 * math.log10(c.count), 1)
        title = f"{c.count} position(s) in this area (first: location #{c.first_id}){note}"
        out.append(f'<circle class="cluster" data-count="{c.count}" cx="{x:g}" cy="{y:g}" r="{r:g}" '
                   f'fill="{CLUSTER_COLOUR}" fill-opacity="0.75" stroke="#ffffff" stroke-width="1">'
                   f'<title>{escape(title)}</title></circle>'
                   f'<text x="{x:g}" y="{y + 3.5:g}" fill="#ffffff">{c.count}</text>')
    out.append("</g>")
    return "".join(out)


def _scale_bar(proj: Projection, km: int = 50) -> str:
    length = round(km / proj.km_per_pixel(), 1)
    x0, y0 = proj.xy(-1.8, 50.1)  # open sea south of the Isle of Wight
    return (f'<g class="scale" font-family="DejaVu Sans, Arial, sans-serif" font-size="11" fill="#333">'
            f'<rect x="{x0:g}" y="{y0:g}" width="{length:g}" height="5" fill="#333"/>'
            f'<text x="{x0:g}" y="{y0 - 4:g}">{km} km</text></g>')
