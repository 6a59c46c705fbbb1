"""Measure how far the bundled coastline (channel_land.geojson) lies from a finer one, along the Channel coasts.

The reference is the land mask of the PyPI package roaring-landmask (GSHHG full resolution refined with
OpenStreetMap land polygons); it is only needed for this check, never by the rules:

    pip install --target /tmp/landmask roaring-landmask==0.11.0
    PYTHONPATH=/tmp/landmask python rules/data/check_coastline.py

Method: the reference's shoreline is found on a 20 m grid (cells whose neighbour is on the other side);
every 100 m along the bundled coastline, the distance to the nearest reference shoreline cell is taken.
The figures printed are the ones rules/data/README.md quotes for COAST_PRECISION_M in build_zones.py.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import box, shape
from shapely.geometry.base import BaseGeometry

LAND_FILE = Path(__file__).parent / "channel_land.geojson"
GRID_M = 20.0
ALONG_M = 100.0
LAT_REF = 50.8  # the plane's scale is taken here: the stretches span 1.2° of latitude (about 1 % scale drift)
COASTS = {  # lon min, lat min, lon max, lat max
    "French and Belgian coast, Baie de Somme to De Panne": (1.45, 50.2, 2.65, 51.12),
    "English coast, Rye to Ramsgate": (0.7, 50.88, 1.5, 51.4),
}


def reference_shoreline(bounds: tuple[float, float, float, float], mx: float, my: float) -> np.ndarray:
    from roaring_landmask import RoaringLandmask  # type: ignore[import-not-found]  # the check's own

    lons = np.arange(bounds[0] - 0.05, bounds[2] + 0.05, GRID_M / mx)
    lats = np.arange(bounds[1] - 0.05, bounds[3] + 0.05, GRID_M / my)
    grid_lon, grid_lat = np.meshgrid(lons, lats)
    land = RoaringLandmask.new().contains_many(grid_lon.ravel(), grid_lat.ravel()).reshape(grid_lon.shape)
    edge = np.zeros_like(land)
    edge[:-1, :] |= land[:-1, :] != land[1:, :]
    edge[:, :-1] |= land[:, :-1] != land[:, 1:]
    rows, cols = np.nonzero(edge)
    return np.asarray(shapely.points(lons[cols] * mx, lats[rows] * my))


def bundled_samples(land: BaseGeometry, region: BaseGeometry, mx: float, my: float) -> np.ndarray:
    outline = land.boundary.intersection(region)
    lines = list(getattr(outline, "geoms", [outline]))
    samples: list[np.ndarray] = []
    for line in lines:
        plane = shapely.transform(line, lambda c: c * np.array([mx, my]))
        samples.append(shapely.line_interpolate_point(plane, np.arange(0.0, plane.length, ALONG_M)))
    return np.concatenate(samples)


def main() -> None:
    land = shape(json.loads(LAND_FILE.read_text(encoding="utf-8"))["features"][0]["geometry"])
    mx, my = 111320 * math.cos(math.radians(LAT_REF)), 111132.0
    everything = []
    for name, bounds in COASTS.items():
        shoreline = reference_shoreline(bounds, mx, my)
        samples = bundled_samples(land, box(*bounds), mx, my)
        nearest = shapely.STRtree(shoreline).nearest(samples)
        distances = shapely.distance(samples, shoreline[nearest])
        everything.append(distances)
        print(name, _figures(distances))
    print("both coasts", _figures(np.concatenate(everything)))


def _figures(distances: np.ndarray) -> str:
    within = {m: float(np.mean(distances <= m)) * 100 for m in (500, 1000)}
    quantiles = ", ".join(f"p{q} {np.percentile(distances, q):.0f} m" for q in (50, 90, 95, 99))
    return f"{len(distances)} samples: {quantiles}, max {distances.max():.0f} m; " + ", ".join(
        f"{share:.1f} % within {m} m" for m, share in within.items()
    )


if __name__ == "__main__":
    main()
