"""Build zones.geojson from its two inputs: the sites list and the coastline. Deterministic: same bytes.

- `zone_sites.yaml`: the published launch, staging, landing and supply sites; each becomes a circle of its
  radius around its centre (24 vertices, flat-earth degrees: 1° latitude = 111.32 km, 1° longitude =
  111.32 km × cos(latitude)).
- `channel_land.geojson`: Natural Earth 1:10m land of the Channel area (rules/data/README.md). The
  `channel_waters` zone is SEA_FRAME minus that land, so land and sea are decided by a published coastline,
  not by hand (docs/domain/crossing_indicators.md "Zones").

Every feature says where it comes from and how exact its edge is (`source`, `precision_m`, `built_by`);
`clear_of_edge` marks the zone a position only counts in when clear of the edge by its own uncertainty
plus `precision_m` (the coast rule: rules/zones.py).

    python rules/data/build_zones.py            # writes rules/data/zones.geojson
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from pathlib import Path
from typing import Any

import yaml
from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from shapely.geometry.base import BaseGeometry

HERE = Path(__file__).parent
SITES_FILE = HERE / "zone_sites.yaml"
LAND_FILE = HERE / "channel_land.geojson"
TARGET = HERE / "zones.geojson"
BUILT_BY = "rules/data/build_zones.py"

CIRCLE_VERTICES = 24
KM_PER_DEG_LAT = 111.32
# Site centres were placed on the shore by hand from gazetteer towns and press reports: ±1–2 km
# (docs/domain/crossing_indicators.md "Zones"), so a circle's edge is no better than the larger figure.
SITE_PRECISION_M = 2000
SITE_SOURCE = "circle around a site named in published reports"  # which ones: each site's note

# The Dover Strait and the eastern Channel, drawn wide over both coasts so that only the land data decides
# where the sea ends: west at 0.6° E (Hastings to the Somme), north-east the line North Foreland – (2.0° E,
# 51.45° N) – De Panne, south 50.2° N off the Baie de Somme. [lon, lat]
SEA_FRAME = [
    (0.6, 50.5),
    (0.6, 51.1),
    (1.45, 51.38),
    (2.0, 51.45),
    (2.65, 51.2),
    (2.65, 50.2),
    (1.5, 50.2),
    (0.6, 50.5),
]
SEA_NAME = "Dover Strait & eastern Channel"
# How far the bundled coastline may lie from the real one. Measured against a finer shoreline (GSHHG full
# resolution refined with OpenStreetMap) every 100 m along both coasts of the strait (check_coastline.py):
# median 323 m, 95 % within 964 m, largest 1,628 m (between Calais and Gravelines), so
# 1,700 m covers every measured point; the foreshore bared at low tide is that wide in places
# (rules/data/README.md).
COAST_PRECISION_M = 1700
COORD_DECIMALS = 6  # 0.1 m: the difference keeps the land's own vertices (4 decimals) and exact crossings
MIN_PIECE_DEG2 = 1e-6  # slivers of sea (about 0.07 km²) enclosed by the land's simplification are dropped


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def circle(lon: float, lat: float, radius_km: float) -> list[list[float]]:
    """A closed ring of CIRCLE_VERTICES points, counter-clockwise from due east."""
    dlon = radius_km / (KM_PER_DEG_LAT * math.cos(math.radians(lat)))
    dlat = radius_km / KM_PER_DEG_LAT
    ring = [
        [round(lon + dlon * math.cos(a), 5), round(lat + dlat * math.sin(a), 5)]
        for a in (2 * math.pi * i / CIRCLE_VERTICES for i in range(CIRCLE_VERTICES))
    ]
    return [*ring, ring[0]]


def site_feature(site: dict[str, Any]) -> dict[str, Any]:
    lon, lat = site["center"]
    properties = {
        **site,
        "source": SITE_SOURCE,
        "precision_m": SITE_PRECISION_M,
        "built_by": BUILT_BY,
        "clear_of_edge": False,
    }
    return {
        "type": "Feature",
        "properties": properties,
        "geometry": {"type": "Polygon", "coordinates": [circle(lon, lat, site["radius_km"])]},
    }


def land() -> BaseGeometry:
    return shape(json.loads(LAND_FILE.read_text(encoding="utf-8"))["features"][0]["geometry"])


def sea_geometry() -> BaseGeometry:
    """SEA_FRAME minus the land, pieces largest first, coordinates rounded (and the result still valid)."""
    water = Polygon(SEA_FRAME).difference(land())
    pieces = [p for p in getattr(water, "geoms", [water]) if isinstance(p, Polygon) and p.area > MIN_PIECE_DEG2]
    pieces.sort(key=lambda p: (-p.area, p.bounds))
    rounded = shape(_rounded(mapping(MultiPolygon(pieces))))
    if not rounded.is_valid:
        raise SystemExit("the rounded sea polygon is not valid: change COORD_DECIMALS or the sea frame")
    return rounded


def _rounded(geojson: dict[str, Any]) -> dict[str, Any]:
    def walk(coords: Any) -> Any:  # noqa: ANN401 - nested GeoJSON coordinate lists
        if isinstance(coords[0], (int, float)):
            return [round(coords[0], COORD_DECIMALS), round(coords[1], COORD_DECIMALS)]
        return [walk(c) for c in coords]

    return {"type": geojson["type"], "coordinates": walk(geojson["coordinates"])}


def sea_feature() -> dict[str, Any]:
    land_doc = json.loads(LAND_FILE.read_text(encoding="utf-8"))["features"][0]["properties"]
    properties = {
        "zone": "channel_waters",
        "name": SEA_NAME,
        "confidence": "high",
        "note": "the sea is decided by the coastline; open-sea limits of the frame are conventional",
        "source": f"{land_doc['source']}, subtracted from a sea frame",
        "source_file": "rules/data/channel_land.geojson",
        "source_sha256": sha256(LAND_FILE),
        "precision_m": COAST_PRECISION_M,
        "built_by": BUILT_BY,
        "clear_of_edge": True,
        "open_limits": [list(p) for p in SEA_FRAME],  # the frame's lines across open sea are not coast
    }
    return {"type": "Feature", "properties": properties, "geometry": mapping(sea_geometry())}


def build() -> bytes:
    sites = yaml.safe_load(SITES_FILE.read_text(encoding="utf-8"))["sites"]
    features = [site_feature(s) for s in sites] + [sea_feature()]
    doc = {"type": "FeatureCollection", "features": features}
    return (json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8")


def main(argv: list[str]) -> int:
    target = Path(argv[0]) if argv else TARGET
    target.write_bytes(build())
    print(f"{target}: sha256 {sha256(target)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
