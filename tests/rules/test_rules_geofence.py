from pathlib import Path

import pytest

from rules.engine import DEFAULT_PACK, escalated_severity, geofence_hits, load_pack
from triage.model.records import Location
from triage.model.timeutil import decode

PACK = load_pack(DEFAULT_PACK)
GEO01 = next(r for r in PACK.rules if r.id == "GEO-01")


def as_location(example: dict) -> Location:
    fields = {k: v for k, v in example.items() if k != "type"}
    return Location(**fields)


@pytest.mark.parametrize("example", GEO01.examples["positive"])
def test_positive_examples_fire(example):
    assert len(geofence_hits(GEO01, PACK.zones, [as_location(example)])) == 1


@pytest.mark.parametrize("example", [e for e in GEO01.examples["negative"] if "records" not in e])
def test_negative_examples_do_not_fire(example):
    assert geofence_hits(GEO01, PACK.zones, [as_location(example)]) == []


def test_night_or_second_day_raises_severity():
    day = decode(1746270000, "unix_s").utc  # 2025-05-03 11:00 UTC = 13:00 Paris
    night = decode(1746234000, "unix_s").utc  # 2025-05-03 01:00 UTC = 03:00 Paris
    assert escalated_severity(GEO01, [day]) == ("LOW", [])
    severity, why = escalated_severity(GEO01, [night])
    assert severity == "MEDIUM" and len(why) == 1 and "local time (Europe/Paris)" in why[0]
    assert escalated_severity(GEO01, [day, decode(1746356400, "unix_s").utc])[0] == "MEDIUM"


def test_pack_identity_names_data_hashes():
    ident = PACK.identity()
    assert ident["rules"]["GEO-01"] == "1.2" and len(ident["data"]["zones.geojson"]) == 64
    lexicon = Path(DEFAULT_PACK).parent.parent / "data" / "lexicon.yaml"
    assert ident["data"]["lexicon.yaml"] == __import__("hashlib").sha256(lexicon.read_bytes()).hexdigest()
    assert ident["sha256"] == __import__("hashlib").sha256(Path(DEFAULT_PACK).read_bytes()).hexdigest()


def test_escalated_severity_gives_a_list_of_notes_with_or_without_records():
    night = decode(1746234000, "unix_s").utc
    with_records, without = escalated_severity(GEO01, [night], []), escalated_severity(GEO01, [night])
    assert with_records == without and isinstance(without[1], list) and len(without[1]) == 1
    assert escalated_severity(GEO01, [], []) == escalated_severity(GEO01, []) == ("LOW", [])


# -- zones that hold up in court (issue 18 item 5): coastline, precision, the coast rule ---------------
# The distances below are checked against an independent computation: Vincenty's inverse formula on the
# WGS84 ellipsoid to the nearest point of each edge segment, found by golden-section search.
import importlib.util  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402

from rules.engine import GeofenceHit, geofence_extra  # noqa: E402
from rules.zones import AT_SEA, LAND_FILE, ON_THE_COAST, stated_accuracy  # noqa: E402

MED01 = next(r for r in PACK.rules if r.id == "MED-01")
DATA = Path(DEFAULT_PACK).parent.parent / "data"
EQUIHEN_PHOTO = (50.67488, 1.56942)  # the demo's beach photo (fixtures/build_demo.py)
# a straight stretch of the bundled coastline between Berck and Le Touquet, land to the east
COAST_A, COAST_B = (1.575, 50.4451), (1.5786, 50.5329)  # [lon, lat]
SEA = next(z for z in PACK.zones.zones if z.kind == "channel_waters")


def vincenty_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Geodesic distance on WGS84 (Vincenty 1975, inverse)."""
    a, f = 6378137.0, 1 / 298.257223563
    b = a * (1 - f)
    u1, u2 = math.atan((1 - f) * math.tan(math.radians(lat1))), math.atan((1 - f) * math.tan(math.radians(lat2)))
    big_l = math.radians(lon2 - lon1)
    lam = big_l
    for _ in range(200):
        sin_l, cos_l = math.sin(lam), math.cos(lam)
        sin_s = math.hypot(math.cos(u2) * sin_l, math.cos(u1) * math.sin(u2) - math.sin(u1) * math.cos(u2) * cos_l)
        if sin_s == 0:
            return 0.0
        cos_s = math.sin(u1) * math.sin(u2) + math.cos(u1) * math.cos(u2) * cos_l
        sigma = math.atan2(sin_s, cos_s)
        sin_a = math.cos(u1) * math.cos(u2) * sin_l / sin_s
        cos2_a = 1 - sin_a**2
        cos_2sm = cos_s - 2 * math.sin(u1) * math.sin(u2) / cos2_a if cos2_a else 0.0
        c = f / 16 * cos2_a * (4 + f * (4 - 3 * cos2_a))
        previous = lam
        lam = big_l + (1 - c) * f * sin_a * (sigma + c * sin_s * (cos_2sm + c * cos_s * (-1 + 2 * cos_2sm**2)))
        if abs(lam - previous) < 1e-12:
            break
    u_sq = cos2_a * (a**2 - b**2) / b**2
    big_a = 1 + u_sq / 16384 * (4096 + u_sq * (-768 + u_sq * (320 - 175 * u_sq)))
    big_b = u_sq / 1024 * (256 + u_sq * (-128 + u_sq * (74 - 47 * u_sq)))
    d_sigma = big_b * sin_s * (cos_2sm + big_b / 4 * (cos_s * (-1 + 2 * cos_2sm**2)))
    return b * big_a * (sigma - d_sigma)


def to_segment_m(lat: float, lon: float, a: tuple[float, float], b: tuple[float, float]) -> float:
    """Geodesic distance from the point to the segment a-b as drawn (straight in lon/lat)."""

    def at(t: float) -> float:
        return vincenty_m(lat, lon, a[1] + t * (b[1] - a[1]), a[0] + t * (b[0] - a[0]))

    lo, hi, g = 0.0, 1.0, (math.sqrt(5) - 1) / 2
    for _ in range(80):
        m1, m2 = hi - g * (hi - lo), lo + g * (hi - lo)
        lo, hi = (lo, m2) if at(m1) < at(m2) else (m1, hi)
    return min(at(0.0), at(1.0), at((lo + hi) / 2))


def to_rings_m(lat: float, lon: float, rings: list[list[list[float]]], within_deg: float = 0.15) -> float:
    segments = [
        (tuple(r[i]), tuple(r[i + 1]))
        for r in rings
        for i in range(len(r) - 1)
        if min(r[i][0], r[i + 1][0]) - within_deg < lon < max(r[i][0], r[i + 1][0]) + within_deg
        and min(r[i][1], r[i + 1][1]) - within_deg < lat < max(r[i][1], r[i + 1][1]) + within_deg
    ]
    return min(to_segment_m(lat, lon, a, b) for a, b in segments)  # type: ignore[arg-type]


def coast_m(lat: float, lon: float) -> float:
    """Independent distance to the coastline: the land file's own rings, not the zone built from them."""
    land = json.loads(LAND_FILE.read_text())["features"][0]["geometry"]["coordinates"]
    return to_rings_m(lat, lon, [ring for polygon in land for ring in polygon])


def offshore(metres: float) -> tuple[float, float]:
    """(lat, lon) `metres` west (seaward) of the middle of COAST_A-COAST_B, square to it."""
    mid_lon, mid_lat = (COAST_A[0] + COAST_B[0]) / 2, (COAST_A[1] + COAST_B[1]) / 2
    kx, ky = 111320 * math.cos(math.radians(mid_lat)), 111132.0  # rough: the result is measured again below
    dx, dy = (COAST_B[0] - COAST_A[0]) * kx, (COAST_B[1] - COAST_A[1]) * ky
    norm = math.hypot(dx, dy)
    return mid_lat + metres * (dx / norm) / ky, mid_lon - metres * (dy / norm) / kx


def location(lat: float, lon: float, accuracy_m: float | None = None) -> Location:
    return Location(latitude=lat, longitude=lon, accuracy_m=accuracy_m, origin="photo EXIF GPS")


def placed_m(hit: GeofenceHit) -> float:
    assert hit.distance_to_edge_m is not None  # geofence_hits always measures it
    return hit.distance_to_edge_m


def test_every_zone_names_its_source_precision_and_builder():
    for zone in PACK.zones.zones:
        assert zone.source != "not stated" and zone.precision_m and zone.precision_m > 0, zone.name
        assert zone.built_by == "rules/data/build_zones.py", zone.name
    assert SEA.clear_of_edge and "Natural Earth" in SEA.source and SEA.precision_m == 1700
    assert [z.name for z in PACK.zones.zones if z.clear_of_edge] == [SEA.name]


def test_equihen_beach_photo_is_in_the_embarkation_zone_and_not_at_sea():
    lat, lon = EQUIHEN_PHOTO
    held = [(z.kind, z.name) for z in PACK.zones.containing(lat, lon)]
    assert held == [("embarkation", "Équihen-Plage")]
    assert PACK.zones.coast(lat, lon) == ON_THE_COAST  # on the land side, within the coastline's precision
    assert geofence_hits(MED01, PACK.zones, [location(lat, lon)]) == []
    [hit] = geofence_hits(GEO01, PACK.zones, [location(lat, lon)])
    assert hit.zone.name == "Équihen-Plage" and hit.uncertainty_m is None
    assert "site named in published reports" in (hit.zone_source or "")
    circle = json.loads((DATA / "zones.geojson").read_text())["features"]
    ring = next(f for f in circle if f["properties"]["name"] == "Équihen-Plage")["geometry"]["coordinates"]
    expected = to_rings_m(lat, lon, ring, within_deg=1.0)
    assert hit.distance_to_edge_m == pytest.approx(expected, rel=0.002, abs=1.0)
    assert "the record states no accuracy" in hit.describe() and "edge precision ±2,000 m" in hit.describe()


def test_three_km_offshore_is_at_sea_with_the_distance_to_the_coast():
    lat, lon = offshore(3000)
    independent = coast_m(lat, lon)
    assert independent == pytest.approx(3000, abs=15)  # the construction is right
    assert PACK.zones.coast(lat, lon, 10) == AT_SEA
    [hit] = geofence_hits(MED01, PACK.zones, [location(lat, lon, 10)])
    assert hit.zone is SEA and hit.uncertainty_m == 10 and hit.zone_source == SEA.source
    assert hit.distance_to_edge_m == pytest.approx(independent, rel=0.002, abs=1.0)
    words = hit.describe()
    assert f"{round(placed_m(hit)):,} m from the coastline (the zone's edge)" in words
    assert "recorded accuracy ±10 m" in words and "edge precision ±1,700 m" in words and "Natural Earth" in words


def test_a_hundred_metres_offshore_with_fifty_metres_accuracy_is_on_the_coast():
    lat, lon = offshore(100)
    assert coast_m(lat, lon) == pytest.approx(100, abs=2)
    [placed] = PACK.zones.place(lat, lon, "channel_waters", 50)
    assert placed.distance_to_edge_m == pytest.approx(coast_m(lat, lon), rel=0.002, abs=1.0)
    assert placed.near_edge and not placed.counts and placed.margin_m == 50 + (SEA.precision_m or 0)
    assert "taken as on the coast, not at sea" in placed.describe()
    assert PACK.zones.containing(lat, lon, "channel_waters", 50) == []
    assert PACK.zones.coast(lat, lon, 50) == ON_THE_COAST
    assert geofence_hits(MED01, PACK.zones, [location(lat, lon, 50)]) == []


def test_the_coast_rule_adds_the_positions_uncertainty_to_the_coastlines_precision():
    assert SEA.precision_m is not None
    lat, lon = offshore(SEA.precision_m + 200)  # clear of the coastline's precision, not of a poor fix as well
    assert (
        PACK.zones.coast(lat, lon, 50) == AT_SEA
        and len(geofence_hits(MED01, PACK.zones, [location(lat, lon, 50)])) == 1
    )
    assert PACK.zones.coast(lat, lon, 400) == ON_THE_COAST
    assert geofence_hits(MED01, PACK.zones, [location(lat, lon, 400)]) == []
    assert PACK.zones.coast(lat, lon, None) == AT_SEA  # no stated accuracy: the coastline's precision alone
    assert PACK.zones.coast(51.5007, -0.1246, 10) is None  # London: neither at sea nor on the coast


def test_an_accuracy_the_record_cannot_mean_is_not_stated():
    assert [stated_accuracy(x) for x in (None, 0, -1, float("nan"), float("inf"), 35)] == [None] * 5 + [35.0]


def test_open_sea_limits_of_the_frame_are_not_coast():
    lat, lon = 50.7, 0.605  # 350 m east of the frame's western limit, far out at sea
    [placed] = PACK.zones.place(lat, lon, "channel_waters", 10)
    # the nearest coast inside the frame (Hastings to Rye) is 17 km away; the nearest anywhere, 17.0 km
    assert placed.counts and not placed.near_edge and 17000 < placed.distance_to_edge_m < 17400
    assert coast_m(lat, lon) == pytest.approx(17006, abs=20)


def test_geofence_extra_gives_each_cited_position_its_distances_and_source():
    sea = location(*offshore(3000), 10)
    sea.id = 7
    [extra] = geofence_extra(MED01, PACK.zones, [sea, location(*EQUIHEN_PHOTO)])
    assert extra["record"] == {"type": "location", "id": 7} and extra["zone"] == "channel_waters"
    assert extra["uncertainty_m"] == 10 and extra["zone_source"] == SEA.source and extra["zone_precision_m"] == 1700
    assert extra["distance_to_edge_m"] == pytest.approx(coast_m(*offshore(3000)), abs=2)


def _builder():  # rules/data is data, not a package: load the builder from its file
    spec = importlib.util.spec_from_file_location("build_zones", DATA / "build_zones.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_zones_file_is_what_the_builder_makes_byte_for_byte():
    builder = _builder()
    first, second = builder.build(), builder.build()
    assert first == second == (DATA / "zones.geojson").read_bytes()


def test_the_report_map_and_the_rules_read_one_land_file():
    from triage.report.basemap import LAND_FILE as MAP_LAND

    assert MAP_LAND.resolve() == LAND_FILE.resolve() and LAND_FILE.parent == DATA.resolve()
    sea = json.loads((DATA / "zones.geojson").read_text())["features"][-1]["properties"]
    assert sea["source_sha256"] == __import__("hashlib").sha256(LAND_FILE.read_bytes()).hexdigest()


def _photo_at(lat: float, lon: float, accuracy_m: float | None) -> list[dict]:
    return [
        {"type": "media_file", "ref": "p", "path": "/DCIM/Camera/IMG_1.jpg", "name": "IMG_1.jpg"},
        {"type": "location", "latitude": lat, "longitude": lon, "accuracy_m": accuracy_m, "media_file": "p"},
    ]


def _beach_then(lat: float, lon: float, accuracy_m: float | None) -> list[dict]:
    beach = {"type": "location", "latitude": 50.8872, "longitude": 1.6573, "time": "2025-05-18T01:30:00Z"}
    later = {"type": "location", "latitude": lat, "longitude": lon, "time": "2025-05-18T04:10:00Z"}
    return [beach, later | {"accuracy_m": accuracy_m}]


@pytest.mark.parametrize(("metres", "accuracy_m", "at_sea"), [(3000, 10, True), (100, 50, False), (100, None, False)])
def test_the_run_counts_a_position_at_sea_only_clear_of_the_coast(metres, accuracy_m, at_sea):
    """Through the run's own passes: MED-01 and GEO-03 read the Channel waters with the coast rule."""
    from rules.testing import run_pack

    lat, lon = offshore(metres)
    med01 = [f.rule_id for f in run_pack(PACK, _photo_at(lat, lon, accuracy_m))].count("MED-01")
    geo03 = [f.rule_id for f in run_pack(PACK, _beach_then(lat, lon, accuracy_m))].count("GEO-03")
    assert (med01, geo03) == ((1, 1) if at_sea else (0, 0))
