"""index.html and its pages in Debian's Chromium (Playwright, no browser download): offline, no errors, map,
cards open, the conversations reached by following the links, filters as a progressive enhancement."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.bundle_layout import payload
from tests.offline_browser import CHROMIUM, offline_page
from tests.report_demo import ROOT, conversation_numbers, demo_bundle, gps_photos, positions_on_map, read_jsonl

ARTIFACTS = ROOT / "out" / "test-artifacts"

playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="python package playwright not installed (pip install -e '.[test]')"
)
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed: apt-get install chromium")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory, evidence_guard) -> tuple[Path, Path, str]:
    return demo_bundle(tmp_path_factory, evidence_guard)


def messages(bundle) -> list[dict]:  # noqa: ANN001
    return read_jsonl(payload(bundle[0]) / "records" / "message.jsonl")


@pytest.fixture()
def browser_page(tmp_path: Path):  # noqa: ANN201 - (page, requests, errors)
    with offline_page(tmp_path / "profile") as opened:
        yield opened


def test_report_page_in_chromium(bundle, browser_page, tmp_path: Path) -> None:
    page, requests, errors = browser_page
    index = payload(bundle[0]) / "index.html"
    page.goto(index.as_uri(), wait_until="load")

    # offline: nothing but the page itself and its local thumbnails, and nothing went wrong
    assert requests and requests[0] == index.as_uri()
    assert all(u.startswith(("file:", "data:")) for u in requests), requests
    assert all(u.startswith((payload(bundle[0]) / "thumbs").as_uri()) for u in requests[1:]), requests
    assert errors == []

    # the map shows the demo's positions, one point each, the photos with GPS among them
    assert page.locator("svg.map circle.pt").count() == len(positions_on_map(payload(bundle[0])))
    assert page.locator('svg.map circle.pt[data-origin="photo EXIF GPS"]').count() == len(gps_photos()) == 6
    assert page.locator("svg.map path.land").count() == 1

    # a finding opens on click and shows its evidence cards, a photo's thumbnail loaded
    finding = page.locator("details.finding", has=page.locator(".card img")).first
    assert finding.get_attribute("open") is None and not finding.locator(".card").first.is_visible()
    finding.locator("summary").click()
    assert finding.get_attribute("open") is not None
    card = finding.locator(".card", has=page.locator("img")).first
    assert card.is_visible() and "position" in card.inner_text()
    assert card.locator("img").first.evaluate("img => img.complete && img.naturalWidth > 0")

    # the script filters: findings by severity, messages by text
    page.locator('#finding-filter input[data-severity="LOW"]').uncheck()
    assert page.locator('details.finding[data-severity="LOW"]:visible').count() == 0
    assert page.locator('details.finding[data-severity="MEDIUM"]:visible').count() > 0
    shot = tmp_path / "index.png"
    finding.scroll_into_view_if_needed()
    page.screenshot(path=str(shot), full_page=True)

    # the conversations, reached by following the links: the message filter works on each page
    # a message is found by what its bubble shows: its text, or the place of the position it shared
    shared = {
        loc["message_id"]
        for loc in read_jsonl(payload(bundle[0]) / "records" / "location.jsonl")
        if loc.get("message_id") and "gravelines" in (loc.get("label") or "").lower()
    }
    hits = sum("gravelines" in (m["body"] or "").lower() or m["id"] in shared for m in messages(bundle))
    page.locator("ul.listings a", has_text="Conversations").first.click()
    page.wait_for_load_state("load")
    threads = page.locator("table a[href^='conversation-']")
    hrefs = [threads.nth(i).get_attribute("href") for i in range(threads.count())]
    assert len(hrefs) == len(conversation_numbers(payload(bundle[0])))
    base = page.url.rsplit("/", 1)[0]
    shown = counted = by_name = 0
    for href in hrefs:
        page.goto(f"{base}/{href}", wait_until="load")
        page.locator("#message-text").fill("Gravelines")
        counted += int(page.locator("#message-count").inner_text())
        shown += page.locator(".thread .bubble:visible").count()
        page.locator("#message-text").fill("abu jamal")  # a contact's name, never in the raw identifiers
        by_name += page.locator(".thread .bubble:visible").count()
    assert hits >= 1 and counted == shown == hits
    assert by_name >= 1  # the filter finds messages by the name the phone gives their sender (issue 15 item 1)
    assert all(u.startswith(payload(bundle[0]).as_uri()) for u in requests), requests
    assert errors == []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, ARTIFACTS / "report_index.png")
    print(f"screenshot: {shot} (copy: {ARTIFACTS / 'report_index.png'})")


def test_report_page_reads_without_javascript(bundle, tmp_path: Path) -> None:
    with offline_page(tmp_path / "profile", java_script_enabled=False) as (page, _requests, _errors):
        page.goto((payload(bundle[0]) / "index.html").as_uri())
        assert not page.locator("#finding-filter").is_visible()  # filters only appear with the script
        finding = page.locator("details.finding").first
        finding.locator("summary").click()  # <details> opens without script
        assert finding.locator(".card").first.is_visible()
        visible = 0  # every message is shown on its conversation page, without script
        for n in conversation_numbers(payload(bundle[0])):
            page.goto((payload(bundle[0]) / "pages" / f"conversation-{n}-1.html").as_uri())
            assert not page.locator("#message-filter").is_visible()
            visible += page.locator(".thread .bubble:visible").count()
        assert visible == len(messages(bundle))
