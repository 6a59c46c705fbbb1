"""The map's labels (issue 15 item 3): no two texts overlap, near points share one label, every zone is named,
cluster counts stay readable; checked on the SVG the report writes, at the default zoom and zoomed in."""

from __future__ import annotations

import random
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from rules.pack import load_pack
from triage.report.basemap import MapPoint, Projection, cluster_positions, render_map, short_zone_name
from triage.report.map_labels import Box, group_near, group_text, text_box, text_width

SVG = "{http://www.w3.org/2000/svg}"
DEJAVU = Path("/usr/share/fonts/truetype/dejavu")


def point(i: int, lat: float, lon: float) -> MapPoint:
    return MapPoint(f"L{i}", i, lat, lon, f"position {i}", float(i))


def texts(svg: str) -> list[tuple[str, Box, tuple[float, float]]]:
    """Every <text> of the map as (its text, the box its font gives it, the point it zooms about), with the
    font size and weight it inherits from its groups."""
    found = []

    def walk(el: ET.Element, size: float, bold: bool, anchor: tuple[float, float] | None) -> None:
        size = float(el.get("font-size", size))
        bold = el.get("font-weight", "bold" if bold else "normal") == "bold"
        if el.get("data-ax") is not None:
            anchor = (float(el.get("data-ax")), float(el.get("data-ay")))
        if el.tag == SVG + "text":
            x, y = float(el.get("x")), float(el.get("y"))
            found.append((el.text, text_box(x, y, el.text, size, bold), anchor or (x, y)))
        for child in el:
            walk(child, size, bold, anchor)

    walk(ET.fromstring(svg), 16.0, False, None)
    return found


def overlapping(items: list[tuple[str, Box, tuple[float, float]]], zoom: float = 1.0) -> list[tuple[str, str]]:
    """Pairs of texts whose boxes intersect when the map is zoomed by `zoom` about its origin and each text
    keeps its size about its anchor (as report.js draws it)."""
    boxes = []
    for text, b, (ax, ay) in items:
        dx, dy = ax * (zoom - 1), ay * (zoom - 1)
        boxes.append((text, Box(b.x0 + dx, b.y0 + dy, b.x1 + dx, b.y1 + dy)))
    boxes.sort(key=lambda t: t[1].x0)
    pairs = []
    for i, (text, b) in enumerate(boxes):  # sweep along x: only boxes starting before this one ends
        for other, c in boxes[i + 1 :]:
            if c.x0 >= b.x1:
                break
            if b.overlaps(c):
                pairs.append((text, other))
    return pairs


def gravelines() -> list[MapPoint]:
    """Four positions at Gravelines stacked within metres (the examiner's "four labels stacked"), and L10,
    L11 a few hundred metres apart (printed over each other as "LL01" before)."""
    return [point(i, 51.0 + i * 1e-5, 2.12) for i in (20, 21, 22, 23)] + [
        point(10, 50.9500, 1.8500),
        point(11, 50.9510, 1.8520),
    ]


def test_stacked_points_share_one_label_listed_with_its_members() -> None:
    view = render_map(gravelines(), load_pack().zones)
    assert [(g.text, [p.key for p in g.points]) for g in view.groups] == [
        ("L10–L11 (2)", ["L10", "L11"]),
        ("L20–L23 (4)", ["L20", "L21", "L22", "L23"]),
    ]
    labels = re.findall(r'<text class="pt-label"[^>]*>([^<]*)</text>', view.svg)
    assert labels == ["L10–L11 (2)", "L20–L23 (4)"]  # one label per group, each point still drawn
    assert view.svg.count('class="pt"') == 6
    assert all(g.placed for g in view.groups)
    assert '<a href="#maprow-L10"><text class="pt-label"' in view.svg  # the label leads to its row
    assert overlapping(texts(view.svg)) == []


def test_group_text_names_runs_and_scattered_ids() -> None:
    assert group_text(["L7"], [7]) == "L7"
    assert group_text(["L12", "L10", "L11", "L13"], [12, 10, 11, 13]) == "L10–L13 (4)"
    assert group_text(["L9", "L3"], [9, 3]) == "L3, L9"
    assert group_text(["L1", "L4", "L5", "L7"], [1, 4, 5, 7]) == "L1 +3 (4)"
    # a group never chains: each point joins a group only within reach of its first point
    chain = [(float(x), 0.0) for x in range(0, 60, 5)]
    assert all(max(chain[i][0] for i in g) - chain[g[0]][0] < 9 for g in group_near(chain))


def test_no_two_texts_overlap_on_a_crowded_map_nor_when_zoomed() -> None:
    """300 cited positions around Calais and Dunkirk, 20,000 others clustered, every zone: no two texts of
    the map overlap (labels, zone names, counts, degrees, scale), at the default zoom and zoomed in."""
    rng = random.Random(15)
    cited = [point(100 + i, 50.97 + rng.gauss(0, 0.06), 1.95 + rng.gauss(0, 0.2)) for i in range(300)]
    others = ((1000 + i, 51.0 + rng.gauss(0, 0.25), 1.8 + rng.gauss(0, 0.6)) for i in range(20000))
    clusters, outside = cluster_positions(others)
    view = render_map(cited, load_pack().zones, clusters, outside)
    items = texts(view.svg)
    proj = Projection()
    assert len(items) > 300 and all(b.inside(proj.width, proj.height) for _, b, _ in items)
    for zoom in (1.0, 1.5, 4.0, 16.0):
        assert overlapping(items, zoom) == [], zoom
    assert sum(c.count for c in view.clusters) == 20000 - outside  # merging keeps every position counted
    counts = [t for t, _, _ in items if t.isdigit()]
    assert len(counts) == len(view.clusters) - view.unnumbered > 0
    placed = [g for g in view.groups if g.placed]
    assert sum(len(g.points) for g in view.groups) == 300 and len(placed) >= 0.9 * len(view.groups)
    assert len(view.svg.encode()) < 600_000


def test_every_zone_is_named_on_the_map() -> None:
    zones = load_pack().zones
    view = render_map(gravelines(), zones)
    proj = Projection()
    framed = [z for z in zones.zones if any(proj.contains(x, y) for x, y in _corners(z.geometry.bounds))]
    assert len(view.zone_entries) == len(framed) > 30
    labels = {t for t, _, _ in texts(view.svg)}
    for z in view.zone_entries:
        assert z.shown and z.shown in labels, z
        assert z.shown.startswith(short_zone_name(z.name)) or z.shown == f"Z{z.number}"
        assert f'href="#mapzone-{z.number}"' in view.svg
    # two zones of one short name are told apart by their number
    boulogne = [z.shown for z in view.zone_entries if short_zone_name(z.name) == "Boulogne-sur-Mer"]
    assert len(boulogne) == 2 and len(set(boulogne)) == 2
    assert view.legend and overlapping(texts(view.svg)) == []


def _corners(bounds: tuple[float, float, float, float]) -> list[tuple[float, float]]:
    x0, y0, x1, y1 = bounds
    return [(x0, y0), (x0, y1), (x1, y0), (x1, y1)]


def test_each_text_zooms_about_a_point_inside_it() -> None:
    """report.js keeps a text's size by scaling it about its data-ax/data-ay: a point inside its own box,
    so two boxes apart at the whole map only move apart when zoomed in."""
    rng = random.Random(3)
    cited = [point(i, 50.95 + rng.gauss(0, 0.03), 1.85 + rng.gauss(0, 0.05)) for i in range(60)]
    clusters, _ = cluster_positions((1000 + i, 51.0 + rng.gauss(0, 0.2), 1.8 + rng.gauss(0, 0.4)) for i in range(3000))
    view = render_map(cited, load_pack().zones, clusters)
    for text, b, (ax, ay) in texts(view.svg):
        assert b.x0 <= ax <= b.x1 and b.y0 <= ay <= b.y1, text
    # leader lines end on their label and carry the label's inner point, so the script can keep them there
    for line in re.findall(r'<line class="leader"[^>]*>', view.svg):
        assert 'data-ox="' in line and 'data-oy="' in line


@pytest.mark.skipif(not (DEJAVU / "DejaVuSans-Bold.ttf").exists(), reason="fonts-dejavu-core not installed")
def test_widths_are_those_of_the_font_the_map_uses() -> None:
    from PIL import ImageFont

    for name, bold in (("DejaVuSans.ttf", False), ("DejaVuSans-Bold.ttf", True)):
        font = ImageFont.truetype(str(DEJAVU / name), 1000)
        for text in ("L10–L13 (4)", "Gravelines hinterland", "Équihen-Plage", "51.5° N", "12345"):
            assert text_width(text, 11, bold) == pytest.approx(font.getlength(text) * 11 / 1000, abs=0.02), text
        for text in ("Ηράκλειο", "دنکرک", "Zürich Æ ø"):  # other scripts: never narrower than drawn
            assert text_width(text, 11, bold) >= font.getlength(text) * 11 / 1000, text
