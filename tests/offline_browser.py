"""Debian's Chromium through Playwright, offline: the one way the tests open a page (report, map, kiosk).

Every request is recorded; only local ones (file:, data:) proceed, so a page that reaches for the network
fails its test. Console errors, page errors and failed requests are collected for the test to assert on.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def playwright_api() -> Any:
    """The sync API, or the test is skipped with how to install what is missing."""
    api = pytest.importorskip(
        "playwright.sync_api", reason="python package playwright not installed (pip install -e '.[test]')"
    )
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium not installed: apt-get install chromium")
    return api


@contextmanager
def offline_page(
    profile: Path, local: tuple[str, ...] = ("file:", "data:"), **options: Any
) -> Iterator[tuple[Any, list[str], list[str]]]:
    """(page, requests, errors) in a fresh offline Chromium profile; `local`: the URL prefixes let through.

    `options` go to Playwright's context (java_script_enabled=False to read a page without its script;
    offline=False for a page served on loopback, the kiosk: `local` still stops every other address)."""
    settings: dict[str, Any] = {"viewport": {"width": 1280, "height": 900}, "offline": True, **options}
    with playwright_api().sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True, args=ARGS, **settings
        )
        requests: list[str] = []
        errors: list[str] = []

        def route(r: Any) -> None:
            requests.append(r.request.url)
            if r.request.url.startswith(local):
                r.continue_()
            else:
                r.abort()

        context.route("**/*", route)
        page = context.new_page()
        page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
        try:
            yield page, requests, errors
        finally:
            context.close()
