"""The report that scales (issue 14): a small front page, every record on paged static pages, a clustered map.

Fast tests fill a real case store by hand (tests/report_store.py); the acceptance test (slow) triages a
generated 50,000-message phone and follows the links in Chromium until it has seen every message.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from tests.offline_browser import CHROMIUM, offline_page
from tests.report_demo import Elements, Text, listing, listing_pages, read_jsonl, section
from tests.report_store import WHEN, ReportStore
from triage.integrity.exclusive import write_bytes_exclusive
from triage.model.records import Message, SourceFile
from triage.report.basemap import MAX_POINTS
from triage.report.cursor_rows import CursorReader
from triage.report.pages import (
    MESSAGE_US,
    OTHER_ROW_US,
    PAGE_US,
    PER_PAGE,
    TIMELINE_ROW_US,
    PageWriter,
    conversation_cost,
    fork_share,
    link_plan,
    listings_cost,
    planned_links,
    timeline_cost,
)
from triage.report.stream import ThreadInfo
from triage.store import CaseStore
from triage.store.forked_reader import SECOND_PROCESS_FAILED

INDEX_LIMIT = 5 * 1024 * 1024  # bytes: the front page stays under this whatever the phone holds
MSG_ID = re.compile(r'<div class="bubble (?:in|out)" id="msg-(\d+)">')


def add_messages(
    rs: ReportStore, source: SourceFile, n: int, thread: str, counterpart: str, start: int = 0
) -> list[Message]:
    """n messages of one thread, one a minute, stored in bulk as a parser's would be."""
    made = []
    for i in range(n):
        m = Message(
            app="sms",
            thread=thread,
            direction="incoming" if i % 3 else "outgoing",
            counterpart=counterpart,
            sender=counterpart,
            body=f"message {start + i} of thread {thread}",
            time_utc=WHEN + timedelta(minutes=start + i),
            time_raw=start + i,
            time_encoding="unix_ms",
            source_file_id=source.id,
            source_table="sms",
            source_row=str(start + i + 1),
        )
        rs.store.insert(m)
        made.append(m)
    rs.store.flush()
    return made


def untimed_message(source: SourceFile) -> Message:
    """A message of thread 2 whose time could not be read: listed last in its conversation."""
    return Message(
        app="sms",
        thread="2",
        direction="incoming",
        counterpart="+447700900456",
        sender=None,
        body="no time",
        time_utc=None,
        time_raw=None,
        time_encoding="unknown",
        source_file_id=source.id,
        source_table="sms",
        source_row="9999",
    )


@pytest.fixture(scope="module")
def paged(tmp_path_factory) -> tuple[Path, dict]:
    """1,203 messages in two threads (one takes three pages), one untimed, a finding citing a late message."""
    rs = ReportStore(tmp_path_factory.mktemp("paged") / "out")
    src = rs.source("/data/data/com.android.providers.telephony/databases/mmssms.db", records=1204)
    long = add_messages(rs, src, 1203, "1", "+447700900123")
    add_messages(rs, src, 1, "2", "+447700900456", start=5000)
    untimed = rs.add(untimed_message(src))
    rs.cite(long[1100], src)
    rs.write(files_selected=1)
    return rs.out, {"long": [m.id for m in long], "untimed": untimed.id, "cited": long[1100].id}


def test_each_conversation_is_paged_with_prev_next_and_an_index(paged) -> None:
    out, ids = paged
    pages = listing_pages(out, "conversation-1")
    assert len(pages) == 3 == -(-1203 // PER_PAGE["conversation"])
    seen = []
    for n, page in enumerate(pages, start=1):
        html = page.read_text(encoding="utf-8")
        seen += [int(i) for i in MSG_ID.findall(html)]
        links = {a.get("rel"): a["href"] for a in Elements(html).select("a") if a.get("rel")}
        assert links.get("prev") == (f"conversation-1-{n - 1}.html" if n > 1 else None)
        assert links.get("next") == (f"conversation-1-{n + 1}.html" if n < 3 else None)
        assert f"page {n} of 3" in Text(html).text
        assert 'href="conversations-1.html#thread-1"' in html  # back to the conversation index
    assert seen == ids["long"]  # every message once, in time order, across the pages
    assert len(MSG_ID.findall(listing(out, "conversation-1"))) == 1203
    # the untimed message comes last in its thread
    assert [int(i) for i in MSG_ID.findall(listing(out, "conversation-2"))][-1] == ids["untimed"]
    index = Text(listing(out, "conversations")).text
    assert "2 conversation(s), 1205 message(s)" in index


def test_a_cited_message_links_to_its_page(paged) -> None:
    out, ids = paged
    page = (out / "index.html").read_text(encoding="utf-8")
    target = f"pages/conversation-1-3.html#msg-{ids['cited']}"  # message 1101 of 1203: the third page
    assert f'href="{target}"' in page
    assert f'id="msg-{ids["cited"]}"' in (out / target.split("#")[0]).read_text(encoding="utf-8")


def test_front_page_has_counts_and_links_not_listings(paged) -> None:
    out, _ = paged
    page = (out / "index.html").read_text(encoding="utf-8")
    assert page.count('<div class="bubble ') == 1  # the cited message's card only
    counts = Text(section(page, "counts")).text
    assert "message 1205 2 conversation(s)" in counts
    assert 'href="pages/conversations-1.html"' in page and 'href="pages/timeline-1.html"' in page
    assert (
        "What could be read: 1 file(s) selected for parsing, 1 opened by a parser, 1 parsed"
        in Text(section(page, "assessment")).text
    )


def test_timeline_by_day_and_untimed(paged) -> None:
    out, ids = paged
    days = Text(listing(out, "timeline")).text
    # 1,203 messages one a minute from 17:02 UTC run over midnight; thread 2's timed one is days later
    assert "1204 record(s) with a time placed in UTC, on 3 day(s)" in days
    first_day = listing(out, "day-2025-05-14")
    assert first_day.count('<tr><td class="mono">') == 24 * 60 - (17 * 60 + 2) == 418
    assert listing(out, "day-2025-05-15").count('<tr><td class="mono">') == 1203 - 418
    assert f"message #{ids['untimed']}" not in listing(out, "day-2025-05-14", "day-2025-05-15", "day-2025-05-18")
    # a row links to the message on its conversation page
    assert f'href="conversation-1-1.html#msg-{ids["long"][0]}"' in first_day
    # the timeline is written by a fork that plans the conversations' pages itself (pages.planned_links): a late
    # message is linked to the third page, where the run's own process wrote it
    late = ids["long"][1100]
    assert f'href="conversation-1-3.html#msg-{late}"' in listing(out, "day-2025-05-15")
    assert f'id="msg-{late}"' in (out / "pages" / "conversation-1-3.html").read_text(encoding="utf-8")


def test_planned_links_start_each_page_where_the_pages_written_start(paged) -> None:
    out, ids = paged
    store = CaseStore.in_folder(out, finished=True)
    links = planned_links(store.session, CursorReader(store.session))
    firsts = [int(MSG_ID.findall(page.read_text(encoding="utf-8"))[0]) for page in listing_pages(out, "conversation-1")]
    assert (
        [key[2] for key in links.series["conversation-1"].starts] == firsts == [ids["long"][i] for i in (0, 500, 1000)]
    )
    planned = link_plan(links)
    links.series["conversation-1"].starts[1] = links.series["conversation-1"].starts[2]  # one page start moved
    assert link_plan(links) != planned  # the run checks the fork's plan against its pages with this digest
    store.close()


def threads_of(*sizes: int) -> list[ThreadInfo]:
    return [ThreadInfo(n, "sms", str(n), None, size, None, None) for n, size in enumerate(sizes, start=1)]


def test_the_timelines_fork_takes_the_last_conversations_up_to_a_balance() -> None:
    threads = threads_of(3000, 40, 600, 10, 20)
    costs = [conversation_cost(t) for t in threads]
    # this process: the conversations it keeps and 2,000 us of other listings; the fork: 60,000 us of timeline
    share = fork_share(threads, 60_000, 2_000)
    assert share == {3, 4, 5}  # a suffix in the report's order
    kept, moved = sum(costs[:2]), sum(costs[2:])
    assert abs((kept + 2_000) - (moved + 60_000)) < costs[2]
    assert fork_share(threads, 60_000, 2_000 + 4 * costs[1]) == {2, 3, 4, 5}  # more for this process to do
    assert fork_share(threads, 60_000, 2_000 + 2 * costs[0]) == {1, 2, 3, 4, 5}
    assert fork_share(threads, 200_000, 2_000) == frozenset()  # the timeline alone outweighs the rest
    assert fork_share(threads_of(), 0, 0) == frozenset()


def test_the_cost_of_pages_counts_rows_by_kind_and_each_page() -> None:
    """Measured series by series (bench/RESULTS.md): a media file's row costs several times a call's, and a page
    has a fixed cost, so a hundred conversations of ten messages cost more than one of a thousand."""
    assert conversation_cost(threads_of(10)[0]) == MESSAGE_US * 10 + PAGE_US
    assert conversation_cost(threads_of(1001)[0]) == MESSAGE_US * 1001 + 3 * PAGE_US
    assert 100 * conversation_cost(threads_of(10)[0]) > conversation_cost(threads_of(1000)[0])
    assert listings_cost({"media": 200, "calls": 1000}) == 70 * 200 + PAGE_US + OTHER_ROW_US * 1000 + PAGE_US
    assert listings_cost({"media": 1000}) > 4 * listings_cost({"calls": 1000})
    assert timeline_cost({"2024-01-01": 1500, "2024-01-02": 1}) == TIMELINE_ROW_US * 1501 + 3 * PAGE_US


def late_thread_store(out: Path) -> ReportStore:
    """A long conversation, then a later one of two pages and an untimed message (the timeline's fork writes it)."""
    rs = ReportStore(out)
    src = rs.source("/data/data/com.android.providers.telephony/databases/mmssms.db", records=3601)
    add_messages(rs, src, 3000, "1", "+447700900123")
    late = add_messages(rs, src, 600, "2", "+447700900456", start=4000)
    rs.add(untimed_message(src))
    rs.contact(rs.source("/data/data/com.android.providers.contacts/databases/contacts2.db"), "Amir", ["+447700900456"])
    rs.cite(late[550], src)
    return rs


def pages_and_hashes(out: Path) -> tuple[dict[str, bytes], dict[str, str]]:
    """Every page but the examination record's (it shows the run's own times), and the pages' SHA-256 as the
    custody log records them (every page written, wherever it was written)."""
    files = {p.name: p.read_bytes() for p in (out / "pages").iterdir() if not p.name.startswith("record-")}
    written = [e for e in read_jsonl(out / "custody.jsonl") if e["action"] == "report written"]
    hashes = written[0]["details"]["files"]
    return files, {name: hashes[name] for name in hashes if name.startswith("pages/") and "/record-" not in name}


def test_pages_written_with_the_fork_are_those_of_one_process(tmp_path: Path) -> None:
    """The timeline's fork writes the last conversation (fork_share) while this process writes the first; a report
    written off the main thread (the kiosk's) forks nothing and writes every page itself: the same bytes, the same
    order."""
    forked = late_thread_store(tmp_path / "forked")
    assert fork_share(threads_of(3000, 601), timeline_cost({"d1": 1440, "d2": 1440, "d3": 720}), 2_600) == {2}
    forked.write(files_selected=1)
    alone = late_thread_store(tmp_path / "alone")
    thread = threading.Thread(target=alone.write, kwargs={"files_selected": 1})
    thread.start()
    thread.join()
    assert pages_and_hashes(tmp_path / "forked") == pages_and_hashes(tmp_path / "alone")
    pages, hashes = pages_and_hashes(tmp_path / "forked")
    assert {name.removeprefix("pages/") for name in hashes} == set(pages)
    assert hashes["pages/conversation-2-2.html"] == hashlib.sha256(pages["conversation-2-2.html"]).hexdigest()
    late = pages["conversation-2-2.html"].decode("utf-8")
    assert len(MSG_ID.findall(late)) == 101 and "no time" in late  # 600 + 1 messages: 500, then 101, untimed last
    assert "<bdi>Amir</bdi>" in late  # named before the fork, which shows the name
    # the front page links the cited message to the second page of the forked conversation
    assert 'href="pages/conversation-2-2.html#msg-' in (tmp_path / "forked" / "index.html").read_text(encoding="utf-8")


def test_a_timeline_fork_that_dies_costs_time_not_the_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The timeline's fork dies with its first day page cut short (as when the system kills it, or it cannot read
    the store): the files it left are removed, this process writes its pages, and the report is the one a fork
    that lived would have written, byte for byte; the examination record says the second process failed."""
    lived = late_thread_store(tmp_path / "lived")
    lived.write(files_selected=1)
    parent, original = os.getpid(), PageWriter.write_file

    def dies_at_its_first_day(self: PageWriter, path: Path, page: str) -> None:
        if os.getpid() != parent and path.name.startswith("day-"):
            write_bytes_exclusive(path, page.encode("utf-8")[:100])  # a page cut short
            os.kill(os.getpid(), signal.SIGKILL)
        original(self, path, page)

    monkeypatch.setattr(PageWriter, "write_file", dies_at_its_first_day)
    died = late_thread_store(tmp_path / "died")
    died.write(files_selected=1)
    assert pages_and_hashes(tmp_path / "died") == pages_and_hashes(tmp_path / "lived")
    written = [e for e in read_jsonl(tmp_path / "died" / "custody.jsonl") if e["action"] == "report written"]
    assert written[0]["details"][SECOND_PROCESS_FAILED] == (
        "the report's timeline pages, in a second process: TriageError: it stopped without an answer; "
        "written here instead"
    )
    lived_written = [e for e in read_jsonl(tmp_path / "lived" / "custody.jsonl") if e["action"] == "report written"]
    assert SECOND_PROCESS_FAILED not in lived_written[0]["details"]


def test_map_clusters_positions_past_the_limit(tmp_path: Path) -> None:
    rs = ReportStore(tmp_path / "out")
    src = rs.source("/data/data/com.whatsapp/databases/msgstore.db", parser="whatsapp")
    positions = [
        rs.location(src, f"pin {i}", 50.8 + (i % 40) * 0.01, 1.5 + (i // 40) * 0.02) for i in range(MAX_POINTS + 20)
    ]
    rs.location(src, "Baghdad", 33.3, 44.4)  # outside the frame: counted, not drawn
    rs.cite(positions[7], src)
    rs.write(files_selected=1)
    page = (rs.out / "index.html").read_text(encoding="utf-8")
    tags = Elements(section(page, "map"))
    assert [p["id"] for p in tags.select("circle", "pt")] == [f"map-L{positions[7].id}"]  # the cited one
    clusters = tags.select("circle", "cluster")
    assert sum(int(c["data-count"]) for c in clusters) == len(positions) - 1
    assert 0 < len(clusters) < len(positions) // 2 and not tags.select("polyline", "track")
    text = Text(section(page, "map")).text
    assert f"the other {len(positions) - 1} are grouped by area" in text and "1 position(s) lie outside" in text
    assert listing(rs.out, "locations").count('<tr id="loc-') == len(positions) + 1  # every one listed


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed: apt-get install chromium")
def test_every_message_of_a_50k_phone_is_reached_by_following_the_links(tmp_path: Path) -> None:
    pytest.importorskip("playwright.sync_api", reason="python package playwright not installed")
    from fixtures.build_large_phone import build_large_phone
    from triage.bundle.keys import init_key
    from triage.cli import main

    phone = build_large_phone(tmp_path / "phone", messages=50_000, threads=300, photos=400)
    key, _ = init_key(tmp_path / "keys")
    out = tmp_path / "EXH-LARGE"
    assert (
        main(
            [
                "run",
                str(tmp_path / "phone"),
                "--out",
                str(out),
                "--quiet",
                "--case",
                "LARGE-1",
                "--exhibit",
                "EXH-LARGE",
                "--examiner",
                "Acceptance Test",
                "--signing-key",
                str(key),
            ]
        )
        == 0
    )
    data = out / "data"
    assert len(read_jsonl(data / "records" / "message.jsonl")) == phone["messages"]
    index = data / "index.html"
    assert index.stat().st_size < INDEX_LIMIT
    assert len(Elements(index.read_text(encoding="utf-8")).select("circle")) <= MAX_POINTS + 1200  # bounded marks

    reached: set[str] = set()
    visited: list[str] = []
    with offline_page(tmp_path / "profile", local=("file:",)) as (page, requests, errors):

        def visit(url: str) -> None:
            page.goto(url, wait_until="load")
            visited.append(page.url)

        def follow(rel: str) -> str | None:
            href = page.locator(f"nav.pager a[rel={rel}]").first
            return page.url.rsplit("/", 1)[0] + "/" + href.get_attribute("href") if href.count() else None

        visit(index.as_uri())
        conversations = page.locator("ul.listings a", has_text="Conversations").first.get_attribute("href")
        visit(index.parent.joinpath(conversations).as_uri())
        threads: list[str] = []
        while True:  # the conversation index, page by page
            base = page.url.rsplit("/", 1)[0]
            threads += [
                f"{base}/{h}"
                for h in page.eval_on_selector_all(
                    "table a[href^='conversation-']", "els => els.map(e => e.getAttribute('href'))"
                )
            ]
            following = follow("next")
            if following is None:
                break
            visit(following)
        assert len(threads) == phone["threads"]
        headers: dict[str, str] = {}  # each conversation's header, as Chromium shows it
        for first in threads:  # each conversation, page after page
            url: str | None = first
            while url is not None:
                visit(url)
                headers.setdefault(first, page.locator(".thread h3").first.inner_text())
                reached.update(page.eval_on_selector_all(".bubble[id^='msg-']", "els => els.map(e => e.id)"))
                url = follow("next")
        named_thread = next(u for u in threads if any(n in headers[u] for n in phone["names"]))
        visit(named_thread)  # the page's filter finds messages by the name the contacts give the number
        name = next(phone["names"][n] for n in phone["names"] if n in headers[named_thread])
        total = page.locator(".bubble").count()
        page.fill("#message-text", name.lower())
        assert page.locator(".bubble:visible").count() == total > 0  # each bubble names its counterpart
        page.fill("#message-text", "no such name anywhere")
        assert page.locator(".bubble:visible").count() == 0 and total > 0
    assert len(reached) == phone["messages"]
    # the thread headers name the numbers the phone's contacts name, beside the number, and no others
    for header in headers.values():
        number = next((n for n in phone["names"] if n in header), None)
        assert (number is not None) == any(name in header for name in phone["names"].values()), header
        if number is not None:
            assert phone["names"][number] in header, header
    assert sum(any(n in h for n in phone["names"]) for h in headers.values()) == len(phone["names"])
    assert [u for u in requests if not u.startswith("file:")] == [] and errors == []
    assert len(visited) > phone["threads"]

    # the statement is sized by the findings, not by the phone
    if shutil.which("pdfinfo") and (data / "report.pdf").exists():
        info = subprocess.run(["pdfinfo", str(data / "report.pdf")], check=True, capture_output=True, text=True).stdout
        findings = json.loads((data / "findings.json").read_text(encoding="utf-8"))["findings"]
        pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
        assert pages <= 20 + 2 * sum(len(f["evidence"]) for f in findings), pages
    # the sealed bundle verifies: intact (3 = the signer not checked against a trusted key; 0 = trusted)
    assert main(["verify", str(out)]) in (0, 3)
    print(
        f"index.html {index.stat().st_size:,} bytes; {len(list((data / 'pages').iterdir()))} pages; "
        f"{len(visited)} visited in Chromium"
    )
