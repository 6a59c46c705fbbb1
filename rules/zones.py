"""Geographic zones (GeoJSON) and point-in-zone lookups with shapely."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from shapely import STRtree
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry


@dataclass(frozen=True)
class Zone:
    kind: str  # embarkation / staging_camps / channel_waters / uk_landing / supply_storage
    name: str
    confidence: str
    geometry: BaseGeometry


class ZoneSet:
    """All zones of one GeoJSON file, indexed for fast point lookups."""

    def __init__(self, zones: list[Zone], sha256: str, path: Path) -> None:
        self.zones = zones
        self.sha256 = sha256
        self.path = path
        self._tree = STRtree([z.geometry for z in zones])

    @classmethod
    def load(cls, path: Path) -> ZoneSet:
        data = path.read_bytes()
        features = json.loads(data)["features"]
        zones = [
            Zone(
                kind=f["properties"]["zone"],
                name=f["properties"].get("name", f["properties"]["zone"]),
                confidence=f["properties"].get("confidence", "unknown"),
                geometry=shape(f["geometry"]),
            )
            for f in features
        ]
        return cls(zones, hashlib.sha256(data).hexdigest(), path)

    def containing(self, latitude: float, longitude: float, kind: str | None = None) -> list[Zone]:
        """Zones that contain the point (GeoJSON order is lon, lat), optionally of one kind."""
        point = Point(longitude, latitude)
        hits = [self.zones[i] for i in self._tree.query(point, predicate="intersects")]
        return sorted((z for z in hits if kind is None or z.kind == kind), key=lambda z: z.name)
