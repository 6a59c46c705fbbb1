"""Build channel_land.geojson (land of the Channel area for the report map) from Natural Earth.

Input: `land-10m.json` from the npm package world-atlas 2.0.2 (Natural Earth 4.1.0 1:10m land, public
domain, as quantised TopoJSON). Output: the land polygons clipped to lon -2..4, lat 49.5..52, lightly
simplified, coordinates rounded to 4 decimals. Deterministic: the same input gives the same bytes.

    python triage/report/data/build_coastline.py /path/to/world-atlas/land-10m.json
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from shapely.geometry import MultiPolygon, Polygon, box, mapping
from shapely.ops import unary_union

BBOX = (-2.0, 49.5, 4.0, 52.0)  # lon min, lat min, lon max, lat max
SIMPLIFY_DEG = 0.002  # below the source's quantisation step (0.0036° lon, 0.0017° lat)
TARGET = Path(__file__).resolve().parents[3] / "rules" / "data" / "channel_land.geojson"  # the rules read it too


def decode_arcs(topo: dict) -> list[list[tuple[float, float]]]:
    """TopoJSON arcs are delta-encoded integers; the transform maps them to degrees."""
    (sx, sy), (tx, ty) = topo["transform"]["scale"], topo["transform"]["translate"]
    arcs = []
    for arc in topo["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def ring(indexes: list[int], arcs: list[list[tuple[float, float]]]) -> list[tuple[float, float]]:
    points: list[tuple[float, float]] = []
    for i in indexes:
        arc = arcs[i] if i >= 0 else arcs[~i][::-1]  # a negative index is the arc reversed
        points.extend(arc if not points else arc[1:])  # consecutive arcs share their joining point
    return points


def land_polygons(topo: dict) -> list[Polygon]:
    arcs = decode_arcs(topo)
    polygons = []
    for geometry in topo["objects"]["land"]["geometries"]:
        shapes = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
        for rings in shapes:
            outer, *holes = (ring(r, arcs) for r in rings)
            polygons.append(Polygon(outer, holes))
    return polygons


def clipped(polygons: list[Polygon]) -> MultiPolygon:
    frame = box(*BBOX)
    parts = [
        p.buffer(0).intersection(frame)
        for p in polygons
        if p.bounds[0] < BBOX[2] and p.bounds[2] > BBOX[0] and p.bounds[1] < BBOX[3] and p.bounds[3] > BBOX[1]
    ]
    land = unary_union([p for p in parts if not p.is_empty]).simplify(SIMPLIFY_DEG, preserve_topology=True)
    geoms = list(land.geoms) if hasattr(land, "geoms") else [land]
    pieces = [p for p in geoms if isinstance(p, Polygon) and p.area > 1e-6]
    largest_first = sorted(pieces, key=lambda p: (-p.area, p.bounds))
    return MultiPolygon(largest_first)


def rounded(coords):  # noqa: ANN001, ANN201 - nested GeoJSON coordinate lists
    if isinstance(coords[0], (int, float)):
        return [round(coords[0], 4), round(coords[1], 4)]
    return [rounded(c) for c in coords]


def main(source: Path) -> None:
    raw = source.read_bytes()
    land = clipped(land_polygons(json.loads(raw)))
    geometry = mapping(land)
    feature = {
        "type": "Feature",
        "properties": {
            "name": "land, Channel area",
            "source": "Natural Earth 4.1.0 1:10m land via world-atlas 2.0.2 land-10m.json",
            "source_sha256": hashlib.sha256(raw).hexdigest(),
            "bbox_clip": list(BBOX),
            "simplify_deg": SIMPLIFY_DEG,
        },
        "geometry": {"type": "MultiPolygon", "coordinates": rounded(geometry["coordinates"])},
    }
    doc = {"type": "FeatureCollection", "features": [feature]}
    TARGET.write_text(json.dumps(doc, separators=(",", ":"), sort_keys=True) + "\n", encoding="utf-8")
    print(f"{TARGET}: {len(land.geoms)} polygons, {TARGET.stat().st_size} bytes")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
