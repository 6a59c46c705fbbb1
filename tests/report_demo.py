"""The demo phone triaged once per test session, signed, for the report tests (HTML, PDF, browser)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest

from triage.bundle.keys import init_key
from triage.cli import main

ROOT = Path(__file__).parent.parent
DEMO = ROOT / "fixtures" / "demo"
DEMO_E01 = DEMO / "demo.E01"
DEMO_MANIFEST = json.loads((DEMO / "demo.json").read_text(encoding="utf-8"))
CASE, EXHIBIT, EXAMINER = "DEMO-CASE-001", "EXH-DEMO-1", "Report Test Examiner"

_runs: dict[str, tuple[Path, Path, str]] = {}


def run_demo(folder: Path, key: Path) -> Path:
    out = folder / EXHIBIT
    assert (
        main(
            [
                "run",
                str(DEMO_E01),
                "--out",
                str(out),
                "--quiet",
                "--case",
                CASE,
                "--exhibit",
                EXHIBIT,
                "--examiner",
                EXAMINER,
                "--signing-key",
                str(key),
            ]
        )
        == 0
    )
    return out


def demo_bundle(factory: pytest.TempPathFactory, guard: Callable[..., None]) -> tuple[Path, Path, str]:
    """(out folder, signing key, its fingerprint) of the session's demo run, made on first use.

    `guard` is the session's evidence guard: the demo image must be unchanged at the end."""
    guard(DEMO_E01)
    if "demo" not in _runs:
        base = factory.mktemp("report-demo")
        key, fp = init_key(base / "keys")
        _runs["demo"] = (run_demo(base, key), key, fp)
    return _runs["demo"]


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def gps_photos() -> list[dict]:
    return [p for p in DEMO_MANIFEST["photos"] if p["gps"] == "fix"]


def positions_on_map(out: Path) -> list[dict]:
    """The run's location records inside the map frame (the Channel area; all of the demo's)."""
    from triage.report.basemap import FRAME

    return [
        loc
        for loc in read_jsonl(out / "records" / "location.jsonl")
        if FRAME[0] <= loc["longitude"] <= FRAME[2] and FRAME[1] <= loc["latitude"] <= FRAME[3]
    ]


class Elements(HTMLParser):
    """Start tags with their attributes, in document order (enough to count and find elements)."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict[str, str]]] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, {k: v or "" for k, v in attrs}))

    def select(self, tag: str, cls: str | None = None, **attrs: str) -> list[dict[str, str]]:
        return [
            a
            for t, a in self.found
            if t == tag
            and (cls is None or cls in a.get("class", "").split())
            and all(a.get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]


class Text(HTMLParser):
    """The page's text as a reader sees it (entities decoded, tags dropped)."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.feed(page)

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.parts).split())


def section(page: str, anchor: str) -> str:
    """The HTML of one <h2 id=anchor> section, up to the next <h2."""
    start = page.index(f'<h2 id="{anchor}"')
    end = page.find("<h2", start + 4)
    return page[start : end if end != -1 else len(page)]


# -- the paged listings under pages/ (triage/report/pages.py) -----------------------------------------


def listing_pages(out: Path, name: str) -> list[Path]:
    """The pages of one listing in page order: pages/<name>-1.html, <name>-2.html …"""
    found = [
        (int(m.group(1)), p)
        for p in (out / "pages").iterdir()
        if (m := re.fullmatch(rf"{re.escape(name)}-(\d+)\.html", p.name))
    ]
    numbers = sorted(n for n, _ in found)
    assert numbers == list(range(1, len(numbers) + 1)), f"{name}: pages {numbers}"
    return [p for _, p in sorted(found)]


def listing(out: Path, *names: str) -> str:
    """The HTML of every page of the named listings, one after the other."""
    return "\n".join(p.read_text(encoding="utf-8") for name in names for p in listing_pages(out, name))


def conversation_numbers(out: Path) -> list[int]:
    return sorted(
        {
            int(m.group(1))
            for p in (out / "pages").iterdir()
            if (m := re.fullmatch(r"conversation-(\d+)-\d+\.html", p.name))
        }
    )


def conversations(out: Path) -> list[str]:
    """Each conversation's HTML (all its pages), in the report's thread order."""
    return [listing(out, f"conversation-{n}") for n in conversation_numbers(out)]


def day_names(out: Path) -> list[str]:
    return sorted(
        {
            m.group(1)
            for p in (out / "pages").iterdir()
            if (m := re.fullmatch(r"(day-\d{4}-\d\d-\d\d)-\d+\.html", p.name))
        }
    )


def timeline(out: Path) -> str:
    """Every day page of the timeline, days in order."""
    return listing(out, *day_names(out))
