"""Every message of the demo phone has visible content on its conversation page (issue 15: a shared pin, a
live location, a contact card, a system event, a deleted message each say what they are), read from the
HTML of every conversation page and, for one bubble of each kind, as Chromium shows it."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.bundle_layout import payload
from tests.offline_browser import offline_page
from tests.report_demo import conversation_numbers, demo_bundle, listing_pages, read_jsonl


@pytest.fixture(scope="module")
def bundle(tmp_path_factory, evidence_guard) -> tuple[Path, Path, str]:
    return demo_bundle(tmp_path_factory, evidence_guard)


class Bubbles(HTMLParser):
    """Each div.bubble of a page: its id and the text of its .text and .kind divs."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.bubbles: list[dict[str, str]] = []
        self.stack: list[str] = []  # the class of each open div
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "div":
            return
        a = {k: v or "" for k, v in attrs}
        classes = a.get("class", "").split()
        if "bubble" in classes:
            self.bubbles.append({"id": a.get("id", ""), "text": "", "kind": "", "status": ""})
        self.stack.append(next((c for c in ("bubble", "text", "kind", "status", "meta") if c in classes), ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "div" and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.bubbles and self.stack and self.stack[-1] in ("text", "kind", "status"):
            self.bubbles[-1][self.stack[-1]] += data


def demo_bubbles(out: Path) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for n in conversation_numbers(out):
        for page in listing_pages(out, f"conversation-{n}"):
            for b in Bubbles(page.read_text(encoding="utf-8")).bubbles:
                found[b["id"]] = b
    return found


def test_no_conversation_bubble_is_empty(bundle) -> None:
    out = payload(bundle[0])
    bubbles = demo_bubbles(out)
    messages = read_jsonl(out / "records" / "message.jsonl")
    assert len(bubbles) == len(messages) and len(messages) > 20
    empty = [b["id"] for b in bubbles.values() if not (b["text"].strip() or b["kind"].strip())]
    assert empty == []
    no_text = [m for m in messages if not m.get("body")]
    assert len(no_text) >= 5  # the demo has a pin, a live location, a card, a system event, a deleted message
    assert all(bubbles[f"msg-{m['id']}"]["kind"].strip() for m in no_text)


def kinds_of(out: Path) -> dict[str, str]:
    """The id of one demo message of each kind a test looks for, from the exported records."""
    by_kind = {}
    for m in read_jsonl(out / "records" / "message.jsonl"):
        code = (m.get("extra") or {}).get("message_type")
        if m["app"] == "whatsapp" and "generation" in m["extra"]:
            kind = {5: "location", 4: "vcard", 7: "system", 15: "deleted"}.get(code)
            if kind:
                by_kind.setdefault(kind, f"msg-{m['id']}")
    return by_kind


def test_kinds_read_as_words_with_their_values(bundle) -> None:
    out = payload(bundle[0])
    bubbles, ids = demo_bubbles(out), kinds_of(out)
    assert set(ids) == {"location", "vcard", "system", "deleted"}
    location = " ".join(bubbles[ids["location"]]["kind"].split())
    assert location.startswith("Shared location · 51.007310, 2.101580 · Gravelines · position #")
    assert (
        " ".join(bubbles[ids["vcard"]]["kind"].split()) == "Contact card · Abu Jamal, +33 6 12 34 56 78, +33612345678"
    )
    assert "hidden in the app by 'clear chat' (still in the database)" in bubbles[ids["vcard"]]["status"]
    assert bubbles[ids["system"]]["kind"].startswith("System event · action code 12")
    assert "deleted by sender" in bubbles[ids["deleted"]]["status"]


def test_bubbles_of_each_kind_show_visible_text_in_chromium(bundle, tmp_path: Path) -> None:
    out = payload(bundle[0])
    ids = kinds_of(out)
    pages = {
        anchor: page
        for n in conversation_numbers(out)
        for page in listing_pages(out, f"conversation-{n}")
        for anchor in ids.values()
        if f'id="{anchor}"' in page.read_text(encoding="utf-8")
    }
    expected = {
        "location": "Shared location",
        "vcard": "Contact card",
        "system": "System event",
        "deleted": "deleted by sender",
    }
    with offline_page(tmp_path / "profile") as (page, _requests, _errors):
        for kind, anchor in ids.items():
            page.goto(pages[anchor].as_uri() + "#" + anchor)
            bubble = page.locator(f"#{anchor}")
            assert bubble.is_visible()
            shown = bubble.inner_text()  # what a reader sees: rendered, visible text only
            assert expected[kind] in shown, (kind, shown)
            content = bubble.locator(".kind")
            assert content.is_visible() and content.inner_text().strip(), kind
            box = content.bounding_box()
            assert box is not None and box["height"] > 0 and box["width"] > 0


def test_the_timeline_says_what_a_message_without_text_is(bundle) -> None:
    from tests.report_demo import Text, timeline

    days = Text(timeline(payload(bundle[0]))).text
    # the position is a record of its own, listed beside the message at the same time
    assert "Shared location · coordinates in the position record linked to this message" in days
    assert "Message deleted by its sender — no text kept · deleted by sender" in days
    assert "System event · action code 12" in days
