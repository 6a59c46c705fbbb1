#!/usr/bin/env python3
"""How fast the report opens: index.html and the largest page under pages/ in headless Chromium.

    .venv/bin/python bench/report_open.py RUN_FOLDER [--repeat 3]

RUN_FOLDER is a sealed run (its files under data/) or the folder holding index.html. Prints each file's
size and the time from navigation to the load event (best of --repeat, first paint included), in
Debian's /usr/bin/chromium through Playwright, offline. The target (issue 14): index.html under 5 MB
and loaded in under 2 s at every phone size. A measurement, not a test: numbers go in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def load_seconds(page, path: Path, repeat: int) -> float:  # noqa: ANN001 - a Playwright page
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        page.goto(path.as_uri(), wait_until="load")
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => r()))")  # one frame painted
        best = min(best, time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    folder = args.run / "data" if (args.run / "data" / "index.html").is_file() else args.run
    pages = sorted((folder / "pages").glob("*.html"), key=lambda p: p.stat().st_size)
    targets = [folder / "index.html"] + ([pages[-1]] if pages else [])
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        for target in targets:
            seconds = load_seconds(page, target, args.repeat)
            print(f"{target.relative_to(folder)}\t{target.stat().st_size:,} bytes\tloaded in {seconds:.2f} s")
        browser.close()
    print(f"pages/: {len(pages)} files, {sum(p.stat().st_size for p in pages):,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
