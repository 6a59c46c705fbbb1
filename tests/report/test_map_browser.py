"""The demo's map as readers get it (issue 15 item 3): in Chromium no two texts of the map touch, before and
after zooming; zoom and pan work offline with buttons, wheel, drag and keys, and the page reads without
script; each label leads to its row under the map; report.pdf draws the same layout (pdftotext word boxes)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.bundle_layout import payload
from tests.offline_browser import CHROMIUM, offline_page
from tests.report_demo import Elements, Text, demo_bundle, positions_on_map, section

pytest.importorskip("playwright.sync_api", reason="python package playwright not installed")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed: apt-get install chromium")

TEXT_BOXES = """() => Array.from(document.querySelectorAll('svg.map text')).map(t => {
  const r = t.getBoundingClientRect(); return [t.textContent, r.left, r.top, r.right, r.bottom]; })"""
VIEW = """() => { const s = document.querySelector('svg.map'), r = s.getBoundingClientRect();
  return [r.left, r.top, r.right, r.bottom]; }"""
WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>')


@pytest.fixture(scope="module")
def bundle(tmp_path_factory, evidence_guard) -> tuple[Path, Path, str]:
    return demo_bundle(tmp_path_factory, evidence_guard)


def intersecting(boxes: list[list]) -> list[tuple[str, str]]:
    """Pairs of (text, left, top, right, bottom) whose rectangles share any area."""
    return [
        (a[0], b[0])
        for i, a in enumerate(boxes)
        for b in boxes[i + 1 :]
        if a[1] < b[3] and b[1] < a[3] and a[2] < b[4] and b[2] < a[4]
    ]


def test_intersecting_finds_a_touching_pair() -> None:  # the check below can fail
    assert intersecting([["a", 0, 0, 10, 10], ["b", 9, 9, 20, 20], ["c", 10, 0, 12, 5]]) == [("a", "b")]


def visible(boxes: list[list], view: list[float]) -> list[list]:
    return [b for b in boxes if b[3] > view[0] and b[1] < view[2] and b[4] > view[1] and b[2] < view[3]]


def test_map_texts_never_overlap_and_zoom_works_offline(bundle, tmp_path: Path) -> None:
    index = payload(bundle[0]) / "index.html"
    page_html = index.read_text(encoding="utf-8")
    svg = section(page_html, "map").split("</svg>", 1)[0]
    with offline_page(tmp_path / "profile", local=("file:",)) as (page, requests, errors):
        page.goto(index.as_uri(), wait_until="load")
        page.locator("#map-box").scroll_into_view_if_needed()
        boxes = page.evaluate(TEXT_BOXES)
        # every text of the map: the labels of the demo's positions, every zone's name, the degrees, the scale
        assert len(boxes) == svg.count("<text ") > 40
        labels = [b for b in boxes if re.fullmatch(r"L\d+.*", b[0])]
        assert len(labels) < len(positions_on_map(payload(bundle[0])))  # stacked points share a label
        assert intersecting(boxes) == []
        height = labels[0][4] - labels[0][2]

        full = page.locator("svg.map").get_attribute("viewBox")
        zoom_in = page.get_by_role("button", name="Zoom in on the map")
        for _ in range(3):
            zoom_in.click()
        width = float(page.locator("svg.map").get_attribute("viewBox").split()[2])
        assert width == pytest.approx(float(full.split()[2]) / 1.5**3, rel=1e-3)
        zoomed = page.evaluate(TEXT_BOXES)
        shown = visible(zoomed, page.evaluate(VIEW))
        assert shown and intersecting(shown) == []
        label = next(b for b in zoomed if b[0] == labels[0][0])
        assert label[4] - label[2] == pytest.approx(height, abs=0.5)  # labels keep their size

        before = page.locator("svg.map").get_attribute("viewBox")  # drag moves the view
        box = page.locator("svg.map").bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] / 2 + 120, box["y"] + box["height"] / 2 + 40, steps=4)
        page.mouse.up()
        assert page.locator("svg.map").get_attribute("viewBox") != before
        page.get_by_role("button", name="Show the whole map").click()
        assert page.locator("svg.map").get_attribute("viewBox") == full
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.wheel(0, -300)  # the wheel zooms in about the pointer
        assert float(page.locator("svg.map").get_attribute("viewBox").split()[2]) < float(full.split()[2])
        page.locator("svg.map").focus()  # keys: 0 back to the whole map, + and arrows
        page.keyboard.press("0")
        assert page.locator("svg.map").get_attribute("viewBox") == full
        page.keyboard.press("+")
        after_plus = page.locator("svg.map").get_attribute("viewBox")
        page.keyboard.press("ArrowRight")
        assert after_plus != full and page.locator("svg.map").get_attribute("viewBox") != after_plus
        assert intersecting(visible(page.evaluate(TEXT_BOXES), page.evaluate(VIEW))) == []
        assert errors == [] and all(u.startswith("file:") for u in requests), (errors, requests)


def test_map_reads_without_script(bundle, tmp_path: Path) -> None:
    with offline_page(tmp_path / "profile", java_script_enabled=False) as (page, _requests, _errors):
        page.goto((payload(bundle[0]) / "index.html").as_uri())
        assert not page.locator("#map-tools").is_visible()  # the zoom buttons come with the script
        assert page.locator("svg.map").is_visible()
        boxes = page.evaluate(TEXT_BOXES)
        assert len(boxes) > 40 and intersecting(boxes) == []


def test_each_label_leads_to_its_row_and_the_table_has_no_none(bundle) -> None:
    page = (payload(bundle[0]) / "index.html").read_text(encoding="utf-8")
    part = section(page, "map")
    svg, tables = part.split("</svg>", 1)
    hrefs = re.findall(r'<a href="#(maprow-L\d+)"><text class="pt-label"', svg)
    rows = {r["id"] for r in Elements(tables).select("tr") if r.get("id", "").startswith("maprow-")}
    assert hrefs and set(hrefs) <= rows
    assert len(rows) == len(positions_on_map(payload(bundle[0])))  # one row per position drawn
    for row_id in rows:  # and each row leads back to its point
        assert f'<circle class="pt" id="map-{row_id.removeprefix("maprow-")}"' in svg
    zones = re.findall(r'<a href="#(mapzone-\d+)"><text class="zone-label"', svg)
    assert len(zones) == len(re.findall(r'<tr id="mapzone-\d+">', tables)) > 30
    assert not re.search(r"\bNone\b", Text(part).text)


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_pdf_map_draws_the_same_labels_apart(bundle) -> None:
    """report.pdf: the words drawn inside the map (between its heading and the legend) do not overlap, and
    they are the labels of index.html's map."""
    xml = subprocess.run(
        ["pdftotext", "-bbox", str(payload(bundle[0]) / "report.pdf"), "-"], check=True, capture_output=True, text=True
    ).stdout
    for page in xml.split("<page ")[1:]:
        words = [[t, float(a), float(b), float(c), float(d)] for a, b, c, d, t in WORD.findall(page)]
        heading = [i for i, w in enumerate(words[:-1]) if w[0] == "Map" and words[i + 1][0].startswith("(")]
        if heading:
            break
    else:
        pytest.fail("no page of report.pdf has the map's heading")
    top = words[heading[0]][4]
    legend = next(w for w in words if w[0] == "position" and w[2] > top + 100)
    inside = [w for w in words if top + 5 < w[2] and w[4] < legend[2] - 2]
    assert intersecting(inside) == []
    drawn = " ".join(w[0] for w in inside)
    svg = section((payload(bundle[0]) / "index.html").read_text(encoding="utf-8"), "map").split("</svg>", 1)[0]
    for label in re.findall(r'<text class="(?:pt|zone)-label"[^>]*>([^<]*)</text>', svg):
        for word in label.replace("&#39;", "'").replace("&amp;", "&").split():
            assert word.replace("&", "&amp;").replace("'", "&apos;") in drawn, label
