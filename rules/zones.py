"""Geographic zones (GeoJSON), point-in-zone lookups, and how far a position lies from a zone's edge.

Each zone names its source and how exact its edge is (`precision_m`), and a position names its own
uncertainty (the record's accuracy). The coast rule (docs/domain/crossing_indicators.md "Zones"): a zone
marked `clear_of_edge` (the Channel waters) holds a position only when the position is farther from its edge
than the position's uncertainty plus the zone's precision; nearer than that, it is "on the coast", never
"at sea".

Distances are in metres on a local equirectangular plane centred on the position, scaled by the WGS84 radii
of curvature at its latitude: exact at the position, off by at most 0.2 % of the distance for edges within
10 km at these latitudes (the east-west scale drifts by tan(latitude) × the latitude difference).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
from shapely import STRtree
from shapely.geometry import LineString, Point, shape
from shapely.geometry.base import BaseGeometry

DATA = Path(__file__).parent / "data"
LAND_FILE = DATA / "channel_land.geojson"  # Natural Earth 1:10m land of the Channel area (data/README.md)
WGS84_A = 6378137.0
WGS84_E2 = 6.69437999014e-3
OPEN_LIMIT_TOLERANCE_DEG = 1e-5  # about 1 m: the zone's vertices on a limit are rounded to 1e-6°
AT_SEA, ON_THE_COAST = "at sea", "on the coast"


@dataclass(frozen=True)
class Zone:
    kind: str  # embarkation / staging_camps / channel_waters / uk_landing / supply_storage
    name: str
    confidence: str
    geometry: BaseGeometry
    source: str = "not stated"
    precision_m: float | None = None  # how far the drawn edge may lie from the real one
    built_by: str | None = None
    clear_of_edge: bool = False  # the coast rule applies (see the module's docstring)


@dataclass(frozen=True)
class Placement:
    """A position inside a zone, with what a reader needs to weigh it."""

    zone: Zone
    distance_to_edge_m: float  # from the position to the zone's edge, metres
    uncertainty_m: float | None  # the position's own (its recorded accuracy); None: the record states none

    @property
    def margin_m(self) -> float:
        """Position uncertainty plus the edge's precision: nearer the edge than this, the side is not known."""
        return (self.uncertainty_m or 0.0) + (self.zone.precision_m or 0.0)

    @property
    def near_edge(self) -> bool:
        return self.distance_to_edge_m <= self.margin_m

    @property
    def counts(self) -> bool:
        """False when the coast rule keeps the position out of the zone (on the coast, not at sea)."""
        return not (self.zone.clear_of_edge and self.near_edge)

    def as_dict(self) -> dict[str, Any]:
        return {
            "zone": self.zone.kind,
            "zone_name": self.zone.name,
            "zone_source": self.zone.source,
            "zone_precision_m": self.zone.precision_m,
            "distance_to_edge_m": round(self.distance_to_edge_m),
            "uncertainty_m": None if self.uncertainty_m is None else round(self.uncertainty_m, 1),
            "near_edge": self.near_edge,
        }

    def describe(self) -> str:
        """Neutral words: where the zone comes from, how exact it is, and how far inside the position is."""
        zone = self.zone
        precision = "precision not stated" if zone.precision_m is None else f"edge precision ±{zone.precision_m:,.0f} m"
        position = (
            "the record states no accuracy"
            if self.uncertainty_m is None
            else f"recorded accuracy ±{self.uncertainty_m:,.0f} m"
        )
        edge = "the coastline (the zone's edge)" if zone.clear_of_edge else "its edge"
        text = (
            f"inside the {zone.kind} zone '{zone.name}' (zone confidence {zone.confidence}; source: {zone.source}; "
            f"{precision}), {self.distance_to_edge_m:,.0f} m from {edge}; {position}"
        )
        if self.near_edge and zone.clear_of_edge:
            text += (
                f"; that is within the position's uncertainty plus the coastline's precision ({self.margin_m:,.0f} m): "
                "the position is taken as on the coast, not at sea"
            )
        elif self.near_edge:
            text += (
                f"; that is within the position's uncertainty plus the edge's precision ({self.margin_m:,.0f} m): "
                "the position may lie on either side of the edge"
            )
        return text


class ZoneSet:
    """All zones of one GeoJSON file, indexed for fast point lookups."""

    def __init__(self, zones: list[Zone], sha256: str, path: Path, edges: list[BaseGeometry] | None = None) -> None:
        self.zones = zones
        self.sha256 = sha256
        self.path = path
        self._tree = STRtree([z.geometry for z in zones])
        # distances are measured to these: the outline, less a sea zone's open-sea limits (only its coast)
        self._edges = edges or [z.geometry.boundary for z in zones]
        for geometry in (*self._edges, *(z.geometry for z in zones)):
            shapely.prepare(geometry)

    @classmethod
    def load(cls, path: Path) -> ZoneSet:
        data = path.read_bytes()
        features = json.loads(data)["features"]
        zones = [_zone(f["properties"], f["geometry"]) for f in features]
        edges = [_edge(z, f["properties"].get("open_limits")) for z, f in zip(zones, features, strict=True)]
        return cls(zones, hashlib.sha256(data).hexdigest(), path, edges)

    def containing(
        self, latitude: float, longitude: float, kind: str | None = None, accuracy_m: float | None = None
    ) -> list[Zone]:
        """Zones that hold the point (GeoJSON order is lon, lat), optionally of one kind; a `clear_of_edge`
        zone holds it only when it is clear of the edge (the coast rule). Cheap for points on land: a
        distance is measured only for points inside a `clear_of_edge` zone."""
        uncertainty = stated_accuracy(accuracy_m)
        return [
            z
            for i, z in self._inside(latitude, longitude, kind)
            if not z.clear_of_edge or self._placement(i, latitude, longitude, uncertainty).counts
        ]

    def place(
        self, latitude: float, longitude: float, kind: str | None = None, accuracy_m: float | None = None
    ) -> list[Placement]:
        """Every zone (of `kind`) whose area holds the point, with its distance to the edge and the
        position's uncertainty; `Placement.counts` says whether the coast rule lets it count."""
        uncertainty = stated_accuracy(accuracy_m)
        return [
            self._placement(i, latitude, longitude, uncertainty) for i, _ in self._inside(latitude, longitude, kind)
        ]

    def coast(self, latitude: float, longitude: float, accuracy_m: float | None = None) -> str | None:
        """AT_SEA (clear of the coast inside a `clear_of_edge` zone), ON_THE_COAST (within the position's
        uncertainty plus the coastline's precision of that zone's edge, on either side), or None."""
        uncertainty = stated_accuracy(accuracy_m)
        inside = {i for i, _ in self._inside(latitude, longitude, None)}
        sea = [
            (i in inside, self._placement(i, latitude, longitude, uncertainty))
            for i, zone in enumerate(self.zones)
            if zone.clear_of_edge
        ]
        if any(within and placement.counts for within, placement in sea):
            return AT_SEA
        if any(within or placement.near_edge for within, placement in sea):  # near the coast, either side
            return ON_THE_COAST
        return None

    def _inside(self, latitude: float, longitude: float, kind: str | None) -> list[tuple[int, Zone]]:
        hits = self._tree.query(Point(longitude, latitude), predicate="intersects")
        found = [(int(i), self.zones[i]) for i in hits if kind is None or self.zones[i].kind == kind]
        return sorted(found, key=lambda x: (x[1].name, x[0]))

    def _placement(self, index: int, latitude: float, longitude: float, uncertainty: float | None) -> Placement:
        distance = metres_to(self._edges[index], latitude, longitude)
        return Placement(self.zones[index], distance, uncertainty)


def _zone(properties: dict[str, Any], geometry: dict[str, Any]) -> Zone:
    precision = properties.get("precision_m")
    return Zone(
        kind=properties["zone"],
        name=properties.get("name", properties["zone"]),
        confidence=properties.get("confidence", "unknown"),
        geometry=shape(geometry),
        source=properties.get("source", "not stated"),
        precision_m=float(precision) if precision is not None else None,
        built_by=properties.get("built_by"),
        clear_of_edge=bool(properties.get("clear_of_edge", False)),
    )


def _edge(zone: Zone, open_limits: list[list[float]] | None) -> BaseGeometry:
    """The zone's outline, without the parts along `open_limits` (a line drawn across open sea to close the
    zone): a position near such a limit is still at sea, only the coast is an edge that matters."""
    outline = zone.geometry.boundary
    if not open_limits:
        return outline
    return outline.difference(LineString(open_limits).buffer(OPEN_LIMIT_TOLERANCE_DEG))


def stated_accuracy(accuracy_m: float | None) -> float | None:
    """The record's horizontal accuracy in metres, or None when it states none: apps write 0 or a negative
    value for "unknown" (and a parser keeps impossible values raw), so only a finite positive figure counts."""
    if accuracy_m is None or not math.isfinite(accuracy_m) or accuracy_m <= 0:
        return None
    return float(accuracy_m)


def metres_to(geometry: BaseGeometry, latitude: float, longitude: float) -> float:
    """Metres from the point to `geometry` on the local plane described in the module's docstring."""
    kx, ky = metres_per_degree(latitude)
    local = shapely.transform(geometry, lambda c: (c - (longitude, latitude)) * (kx, ky))  # numpy broadcasts
    return float(shapely.distance(local, Point(0.0, 0.0)))


def metres_per_degree(latitude: float) -> tuple[float, float]:
    """(east-west, north-south) metres per degree at `latitude` on the WGS84 ellipsoid."""
    phi = math.radians(latitude)
    w = 1 - WGS84_E2 * math.sin(phi) ** 2
    prime_vertical = WGS84_A / math.sqrt(w)
    meridional = WGS84_A * (1 - WGS84_E2) / w**1.5
    return math.radians(1) * prime_vertical * math.cos(phi), math.radians(1) * meridional
