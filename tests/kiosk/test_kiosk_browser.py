"""The kiosk end to end in Debian's Chromium against a real server: an operator signs in, records a legal basis,
limits the scope to two categories and a date window, runs the demo evidence, tags a finding, exports and
closes. The exported bundle verifies, holds only in-scope records, and its examination record (the bundle's
custody log and the kiosk record sealed beside it) holds every step; the kiosk keeps nothing."""

from __future__ import annotations

import json
import socket
import threading
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.kiosk_setup import LEGAL_FORM, OPERATOR, PIN, SCOPE_CATEGORIES, SCOPE_FROM, SCOPE_TO, kiosk_setup
from tests.offline_browser import CHROMIUM, offline_page
from triage.cli import main
from triage.integrity.custody import verify_chain_lines

playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[test]'")
uvicorn = pytest.importorskip("uvicorn", reason="pip install uvicorn")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed: apt-get install chromium")

IN_SCOPE_TYPES = {"message": "time_utc", "location": "time_utc"}
NEVER_IN_THIS_SCOPE = ("call", "contact", "media_file", "payment")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def served(tmp_path: Path, evidence_guard):  # noqa: ANN201 - (base url, setup)
    from tests.report_demo import DEMO_E01
    from triage.kiosk.app import create_app

    evidence_guard(DEMO_E01)
    port = free_port()
    setup = kiosk_setup(tmp_path, hosts=["127.0.0.1", f"127.0.0.1:{port}"])
    server = uvicorn.Server(uvicorn.Config(create_app(setup.config), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the kiosk server did not start"
    try:
        yield f"http://127.0.0.1:{port}", setup
    finally:
        server.should_exit = True
        thread.join(30)


def test_a_kiosk_case_from_sign_in_to_close_in_chromium(served, tmp_path: Path) -> None:
    base, setup = served
    # served on loopback: not offline, but only the kiosk itself may be reached
    with offline_page(tmp_path / "profile", local=(base + "/",), offline=False) as (page, requests, errors):
        walk_the_flow(page, base)
        assert errors == []  # no CSP violation, no failed request
        # the Back button brings nothing of the case back: its pages are not cached, and gone for this sign-in
        page.go_back()
        assert "OP-2026-17" not in page.content() and "no such page or case" in page.content()
    assert requests and all(u.startswith(base + "/") for u in requests), requests

    outbox = setup.config.outbox
    bundles = sorted(p for p in outbox.glob("*.zip") if not p.name.endswith("-kiosk-record.zip"))
    records = sorted(outbox.glob("*-kiosk-record.zip"))
    assert len(bundles) == 1 and len(records) == 1
    bundle, record = bundles[0], records[0]
    assert main(["verify", str(bundle), "--trust", setup.fingerprint, "--addendum", str(record)]) == 0

    with zipfile.ZipFile(bundle) as z:
        top = bundle.stem
        jsonl = {
            Path(n).stem: z.read(n).decode("utf-8").splitlines()
            for n in z.namelist()
            if n.startswith(f"{top}/data/records/") and n.endswith(".jsonl")
        }
        custody = z.read(f"{top}/data/custody.jsonl").decode("utf-8").splitlines()
    assert_only_in_scope(jsonl)
    actions = [json.loads(line)["action"] for line in custody]
    for step in (
        "kiosk case opened",
        "case and exhibit recorded",
        "legal basis recorded",
        "scope recorded",
        "evidence chosen",
        "scope applied",
        "run finished",
    ):
        assert step in actions, step
    assert actions.index("legal basis recorded") < actions.index("evidence opened")  # recorded before the run
    started = json.loads(custody[0])["details"]
    assert started["operator"] == OPERATOR and started["case"] == "OP-2026-17"
    assert started["scope_filter"]["categories"] == sorted(SCOPE_CATEGORIES)
    legal = next(
        json.loads(line)["details"] for line in custody if json.loads(line)["action"] == "legal basis recorded"
    )
    assert legal["power"] == LEGAL_FORM["power"] and legal["s37"]["written_notice"] == LEGAL_FORM["notice_ref"]
    assert legal["line_of_enquiry"] == LEGAL_FORM["line_of_enquiry"] and legal["by"] == OPERATOR

    with zipfile.ZipFile(record) as z:
        log = z.read(f"{record.stem}/data/kiosk-log.jsonl").decode("utf-8").splitlines()
        summary = json.loads(z.read(f"{record.stem}/data/kiosk-record.json"))
    assert verify_chain_lines(log, require_closed=False).ok
    entries = [json.loads(line) for line in log]
    kiosk_actions = [e["action"] for e in entries]
    assert kiosk_actions[:5] == [
        "kiosk case opened",
        "case and exhibit recorded",
        "legal basis recorded",
        "scope recorded",
        "evidence chosen",
    ]
    assert kiosk_actions.count("step out of order refused") == 1
    for step in (
        "run started",
        "run finished",
        "result viewed",
        "finding tagged",
        "bundle exported",
        "kiosk working files wiped",
        "kiosk case closed",
    ):
        assert step in kiosk_actions, step
    assert kiosk_actions[-2:] == ["kiosk working files wiped", "kiosk case closed"]
    assert all(e["actor"] == OPERATOR for e in entries)
    tagged = next(e["details"] for e in entries if e["action"] == "finding tagged")
    assert tagged["tag"] == "relevant" and tagged["why"] == "Matches the account of the crossing"
    exported = next(e["details"] for e in entries if e["action"] == "bundle exported")
    assert exported["file"] == bundle.name and exported["why"] == "Referral to the digital forensic unit"
    import hashlib

    assert exported["sha256"] == hashlib.sha256(bundle.read_bytes()).hexdigest()
    wiped = next(e["details"] for e in entries if e["action"] == "kiosk working files wiped")
    assert wiped["files"] > 10 and wiped["remaining"] == ["record/kiosk-log.jsonl"]
    assert summary["tags"][0]["tag"] == "relevant" and summary["bundle"]["Addendum-To-Bundle"] == bundle.stem

    assert list(setup.config.work.iterdir()) == []  # nothing of the case is left on the kiosk


def walk_the_flow(page, base: str) -> None:  # noqa: ANN001 - playwright Page
    page.goto(base + "/")
    page.get_by_label("Name").fill(OPERATOR)
    page.get_by_label("PIN").fill(PIN)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Start a new case").click()

    page.get_by_label("Case reference").fill("OP-2026-17")
    page.get_by_label("Exhibit reference of the device").fill("EX-17")
    page.get_by_role("button", name="Next: legal power").click()

    page.get_by_label(LEGAL_FORM["power"]).check()
    page.get_by_label("Reference of the written notice given to the user").fill(LEGAL_FORM["notice_ref"])
    page.get_by_label("Reference of the user's recorded agreement").fill(LEGAL_FORM["agreement_ref"])
    page.get_by_label("No undue pressure was put on the user to agree").check()
    page.get_by_label("The user was told they may refuse").check()
    page.get_by_label("Reasonable line of enquiry").fill(LEGAL_FORM["line_of_enquiry"])
    page.get_by_label("Why the examination is necessary").fill(LEGAL_FORM["necessity"])
    page.get_by_label("Why it is proportionate").fill(LEGAL_FORM["proportionality"])
    assert_usable_by_touch_and_keyboard(page)
    page.get_by_role("button", name="Next: scope").click()

    page.get_by_label("Messages (SMS, MMS, chat apps)").check()
    page.get_by_label("Locations (GPS, shared places, photo positions)").check()
    page.get_by_label("From").fill(SCOPE_FROM)
    page.get_by_label("To", exact=True).fill(SCOPE_TO)
    page.get_by_label("Why this scope").fill("The week around the crossing of 15 May 2025")
    page.get_by_role("button", name="Next: evidence").click()

    assert page.get_by_label("notes.txt").count() == 1  # every intake entry is listed, by name only
    page.get_by_label("demo.E01").check()
    page.get_by_role("button", name="Next: run").click()
    page.get_by_role("button", name="Start the examination").click()
    # the progress page, refreshing itself while it works (or the result already, on a fast machine)
    # (read from the HTML as loaded: the page reloads itself every 2 s, so a locator may meet it mid-reload)
    shown = page.content()
    assert 'role="status"' in shown and ("<strong>Working:</strong>" in shown or "level-" in shown), shown
    try:
        page.wait_for_url("**/result", timeout=120_000)  # the progress page refreshes itself until the result
    except playwright_api.TimeoutError:
        pytest.fail(f"no result page: {page.locator('main').inner_text()}")

    assert_usable_by_touch_and_keyboard(page)
    result_url = page.url
    kept = page.locator("main").inner_text()
    assert "messages" in kept and "positions" in kept and "calls" not in kept and "contacts" not in kept
    page.goto(result_url.replace("/result", "/legal"))  # the legal basis is fixed once the run has started
    assert page.url == result_url
    level = page.locator("p.level").inner_text()
    assert level.startswith(("RED", "AMBER", "GREEN"))
    first = page.locator("fieldset.finding").first
    first.get_by_label("Relevant", exact=True).check()
    first.get_by_label("Note (why)").fill("Matches the account of the crossing")
    page.get_by_role("button", name="Save tags and go to export").click()

    page.get_by_label("Why it is exported, and for whom").fill("Referral to the digital forensic unit")
    page.get_by_role("button", name="Export to the outbox").click()
    page.get_by_role("button", name="Close and wipe").click()
    assert "Case closed" in page.locator("h1").inner_text()


def assert_only_in_scope(jsonl: dict[str, list[str]]) -> None:
    low = datetime.fromisoformat(SCOPE_FROM + "T00:00:00+00:00")
    high = datetime.fromisoformat(SCOPE_TO + "T23:59:59.999999+00:00")
    for kind in NEVER_IN_THIS_SCOPE:
        assert jsonl.get(kind, []) == [], kind
    for kind, attr in IN_SCOPE_TYPES.items():
        rows = [json.loads(line) for line in jsonl[kind]]
        assert rows, kind  # the window keeps some of the demo's messages and positions
        for row in rows:
            when = datetime.fromisoformat(row[attr].replace("Z", "+00:00"))
            assert low <= when <= high and when.tzinfo == UTC or low <= when <= high, (kind, row[attr])


# every visible form control has a label a screen reader reads; every button is a large touch target; the text
# is large enough to read at arm's length; the first thing Tab reaches is the skip link, then the page's form
_PAGE_FACTS = """() => {
  const controls = [...document.querySelectorAll('input:not([type=hidden]), textarea, select')];
  const unlabelled = controls.filter(c => !(c.labels && c.labels.length) && !c.getAttribute('aria-label'))
                             .map(c => c.name);
  const small = [...document.querySelectorAll('button, a.button')]
      .map(b => [b.textContent.trim(), b.getBoundingClientRect().height]).filter(([, h]) => h < 44);
  const bodyPx = parseFloat(getComputedStyle(document.body).fontSize);
  const radios = [...document.querySelectorAll('input[type=radio], input[type=checkbox]')]
      .map(r => r.closest('label')).filter(l => l && l.getBoundingClientRect().height < 44).length;
  return {unlabelled, small, bodyPx, radios, h1: document.querySelectorAll('h1').length};
}"""


def assert_usable_by_touch_and_keyboard(page) -> None:  # noqa: ANN001 - playwright Page
    facts = page.evaluate(_PAGE_FACTS)
    assert facts["unlabelled"] == [] and facts["small"] == [] and facts["radios"] == 0, facts
    assert facts["bodyPx"] >= 20 and facts["h1"] == 1, facts
    page.keyboard.press("Tab")
    focused = page.evaluate("() => document.activeElement.className || document.activeElement.tagName")
    assert focused in ("skip", "INPUT", "TEXTAREA", "BUTTON"), focused
