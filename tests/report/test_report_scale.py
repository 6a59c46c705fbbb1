"""The report step at a phone's size (issue 14): the shortcuts that make it fast give the bytes the slow way
gave, the record exports and report.pdf are made by a second process, and the statement lists a finding's
cited records as compact rows. No timing here: speed is measured in bench/ (bench/report_step.py)."""

from __future__ import annotations

import hashlib
import json
import random
import re
import shutil
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from markupsafe import Markup, escape

from tests.report.test_exports_streaming import small_store
from tests.report_demo import Elements, Text, listing
from tests.report_store import WHEN, ReportStore
from triage.integrity.custody import CustodyLog
from triage.integrity.exclusive import ExistingFileError
from triage.model.records import EvidenceItem, Finding, Message, SourceFile
from triage.model.timeutil import iso
from triage.report import display
from triage.report.case_export import Graph
from triage.report.export import write_records
from triage.report.findings import coverage, decoding_summary
from triage.report.html import build_report
from triage.report.pdf import PDF_NAME, pdf_unavailable, render_print_html
from triage.report.rows import iso_z
from triage.report.tables import write_record_tables, write_records_and_tables
from triage.report.times import LOCAL_ZONES, local_times
from triage.report.worker import (
    SECOND_PROCESS_TYPES,
    ReadStore,
    ReportWorker,
    RestOfExports,
    write_other_exports,
    write_record_exports,
)
from triage.store import CaseStore
from triage.store.forked_reader import SECOND_PROCESS_FAILED

HOSTILE = [
    "plain",
    "",
    "a" * 199,
    "a" * 200,
    "a" * 201,
    "x" * 2500,
    "<b>&'\"",
    "\u202eexe.jpg",
    "nul\x00",
    "e\u0301" * 120,
    "\udcff bytes",
    "line\nbreak\ttab",
    "café ☕",
    "١٢٣ عربى",
]


# -- the text shortcuts give the filters' bytes ---------------------------------------------------------------


@pytest.mark.parametrize("kind", ["name", "text", "path", "message_body", "record_json"])
def test_plain_text_shortcuts_write_what_the_template_filters_write(kind: str) -> None:
    rng = random.Random(14)
    alphabet = "ab <>&'\"\u202e\u2066\x00\x85\u0301é" + "x" * 30
    values = HOSTILE + ["".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 4100))) for _ in range(300)]
    values += [0, -7, 10**250, 1.5, True, None, Markup("<b>made by the report</b>")]
    for value in values:
        where = "records/message.jsonl"
        assert display.shown_html(value, kind, where) == str(display.shown(value, kind, where)), value
        assert display.isolated_html(value, kind, where) == str(display.isolated(value, kind, where)), value
        assert display.ltr_html(value, kind, where) == str(display.left_to_right(value, kind, where)), value
        assert display.text_html(value) == str(escape(display.finalize(value))), value
    with pytest.raises(ValueError, match="unknown display kind"):
        display.shown_html("short and plain", "nonsense")  # the shortcut still knows the kinds


def test_html_escape_is_markupsafe_escape() -> None:
    for text in ["", "plain", "<script>alert('x' & \"y\")</script>", "&amp;", "\udcff<"]:
        assert display.html_escape(text) == str(escape(text))


def test_local_times_are_those_of_strftime_across_zone_changes() -> None:
    def expected(t: datetime) -> list[str]:
        return [t.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z") for _, zone in LOCAL_ZONES]

    utc = UTC
    instants = [
        datetime(2025, 3, 30, 0, 59, 59, 999999, tzinfo=utc),
        datetime(2025, 3, 30, 1, tzinfo=utc),
        datetime(2025, 10, 26, 0, 59, tzinfo=utc),
        datetime(2025, 10, 26, 1, tzinfo=utc),
        datetime(1911, 3, 10, 23, 59, tzinfo=utc),
        datetime(999, 12, 31, 23, tzinfo=utc),
        datetime(1, 1, 2, tzinfo=utc),
        datetime(2025, 5, 14, 17, 2, 11, 530000, tzinfo=utc),
    ]
    instants += [datetime(2024, 1, 1, tzinfo=utc) + timedelta(minutes=37 * n) for n in range(0, 30000, 7)]
    for t in instants:
        assert local_times(t) == expected(t), t
    assert local_times("2025-05-14T17:02:11.530Z") == ["2025-05-14 18:02:11 BST", "2025-05-14 19:02:11 CEST"]
    for t in instants:
        assert iso_z(t) == iso(t)


def test_case_node_identifiers_are_uuid5() -> None:
    g = Graph("ab" * 32, lambda node: None)
    for kind, key in [("message", 1), ("account", "+44 7700 900123"), ("hash", "kb:x/sha256"), ("contact", "é☕")]:
        name = f"mobile-triage/{g.seed}/{kind}/{key}"
        assert g.iri(kind, key) == f"kb:{kind}-{uuid.uuid5(uuid.NAMESPACE_URL, name)}"


# -- reading the store for the report -------------------------------------------------------------------------


def test_decoding_summary_and_coverage_are_counted_in_sql(tmp_path: Path) -> None:
    store = CaseStore.in_folder(tmp_path)
    src = SourceFile(path="/data/cache4.db", layers=[], provenance="p", parser="telegram_android", record_count=5)
    store.add(src)
    store.add(SourceFile(path="/data/x.db", layers=[], provenance="q", status="not parsed", record_count=0))
    store.flush()
    extras = [
        {"decoded": "full"},
        {"decoded": "partial"},
        {"decoded": "partial"},
        {"decoded": None},
        {"note": "the word decoded in a value"},
        {},
    ]
    for n, extra in enumerate(extras):
        store.insert(
            Message(
                app="telegram",
                thread="1",
                direction="incoming",
                counterpart="1",
                sender=None,
                body="decoded" if n == 5 else "x",
                time_utc=WHEN,
                time_raw=n,
                time_encoding="unix",
                extra=extra,
                source_file_id=src.id,
            )
        )
    store.commit()
    assert decoding_summary(store) == {"telegram": {"full": 1, "partial": 2, "none": 0}}
    read = coverage(store, selected=3)
    assert (read.selected, read.sources, read.parsed, read.records, read.warnings) == (3, 2, 1, 5, 0)
    store.close()


def test_records_jsonl_and_csv_in_one_pass_equal_the_separate_writers(tmp_path: Path) -> None:
    store = small_store(tmp_path / "store")
    lines, tables = write_records_and_tables(store, tmp_path / "one-pass")
    (tmp_path / "separate").mkdir()
    write_records(store, tmp_path / "separate")
    write_record_tables(store, tmp_path / "separate")
    store.close()
    assert [p.name for p in tables] == [p.name.replace(".jsonl", ".csv") for p in lines.values()]
    for path in [*lines.values(), *tables]:
        assert path.read_bytes() == (tmp_path / "separate" / path.name).read_bytes(), path.name


def test_a_translation_is_shown_on_the_conversation_page_and_the_card(tmp_path: Path) -> None:
    rs = ReportStore(tmp_path / "out")
    src = rs.source("/data/data/com.whatsapp/databases/msgstore.db", parser="whatsapp")
    translated = rs.add(
        Message(
            app="whatsapp",
            thread="t1",
            direction="incoming",
            counterpart="+447700900123",
            sender="+447700900123",
            body="مرحبا",
            time_utc=WHEN,
            time_raw=1,
            time_encoding="unix_ms",
            extra={"translation": "Hello <b>", "other": 1},
            source_file_id=src.id,
            source_table="message",
            source_row="1",
        )
    )
    rs.add(
        Message(
            app="whatsapp",
            thread="t1",
            direction="outgoing",
            counterpart="+447700900123",
            sender=None,
            body="the word translation",
            time_utc=WHEN + timedelta(minutes=1),
            time_raw=2,
            time_encoding="unix_ms",
            extra={"note": 'no "translation" key here'},
            source_file_id=src.id,
            source_table="message",
            source_row="2",
        )
    )
    rs.cite(translated, src)
    rs.write(files_selected=1)
    page = listing(rs.out, "conversation-1")
    assert page.count("translation: <bdi>Hello &lt;b&gt;</bdi>") == 1
    assert page.count('<div class="status">original language — not translated') == 1
    card = (rs.out / "index.html").read_text(encoding="utf-8")
    assert "translation: <bdi>Hello &lt;b&gt;</bdi>" in card


# -- the second process ---------------------------------------------------------------------------------------


def test_exports_of_the_second_process_equal_those_written_here(tmp_path: Path) -> None:
    rs = ReportStore(tmp_path / "out")
    src = rs.source("/data/mmssms.db")
    for n, text in enumerate(t for t in HOSTILE if "\udcff" not in t):  # the store keeps text as UTF-8
        rs.message(src, text, row=n + 1)
    rs.cite(rs.location(src, "pin <1>"), src)
    rs.write(files_selected=1)
    custody = [json.loads(line) for line in (rs.out / "custody.jsonl").read_text(encoding="utf-8").splitlines()]
    written = custody[-1]["details"]["files"]
    store = ReadStore(f"sqlite:///{rs.out / 'case.sqlite'}")
    here = tmp_path / "here"
    here.mkdir()
    files = write_record_exports(store, here) + write_other_exports(
        store, {"case": "CASE-H", "exhibit": "EXH-H", "examiner": rs.custody.actor}, here, case_records=False
    )
    store.close()
    assert len(files) == 2 * 13 + 5  # case-records.jsonld only with --case-records
    for path in files:
        name = str(path.relative_to(here))
        assert path.read_bytes() == (rs.out / name).read_bytes(), name
        assert name in written  # hashed in the custody log
    if pdf_unavailable() is None:
        assert PDF_NAME in written
        text = pdftotext(rs.out / PDF_NAME)
        for path in files:  # the statement names every export with its SHA-256
            assert re.sub(r"\s+", " ", f"{path.relative_to(here)} {written[str(path.relative_to(here))]}") in text


def test_a_failure_in_the_second_process_costs_time_not_the_report(tmp_path: Path) -> None:
    """The second process cannot open the store (its folder moved after this process opened it): what it created
    is removed, this process writes the exports itself (the same files), and `fell_back` says what went wrong."""
    (tmp_path / "a").mkdir()
    store = CaseStore(f"sqlite:///{tmp_path / 'a' / 'case.sqlite'}")
    store.commit()
    (tmp_path / "a").rename(tmp_path / "b")  # this process's connection stays open; a new one finds nothing
    out = tmp_path / "out"
    out.mkdir()
    worker = ReportWorker(store, out)
    try:
        worker.hand_over(out / "findings.json", None)
        done = worker.finish()
    finally:
        worker.close()
        store.close()
    assert re.fullmatch(
        r"the report's second process failed \(OperationalError: .*unable to open.*\); its work done here instead",
        done.fell_back or "",
        re.DOTALL,  # SQLAlchemy's message runs on to a second line
    )
    expected = {f"records/{t}.{kind}" for t in SECOND_PROCESS_TYPES for kind in ("jsonl", "csv")}
    assert set(done.hashes) == expected and done.pdf is None
    for name, digest in done.hashes.items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest, name


def test_no_second_process_to_be_had_leaves_no_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    def refused(*_args: object, **_kwargs: object) -> None:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    store = CaseStore(f"sqlite:///{tmp_path / 'case.sqlite'}")
    store.commit()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # this test's own temporary folder
    monkeypatch.setattr(subprocess, "Popen", refused)
    with pytest.raises(BlockingIOError):
        ReportWorker(store, tmp_path)
    store.close()
    assert not list(tmp_path.glob("triage-created-*"))


def _exports_of(out: Path) -> dict[str, bytes]:
    """Every export of a report step (records/, schedules, positions, CASE) by its name: custody's own records
    (records/custody_event.*) left out, as they hold the run's times."""
    names = [p for p in out.rglob("*") if p.is_file() and (p.parent.name == "records" or p.parent == out)]
    kept = [p for p in names if p.suffix in (".jsonl", ".csv", ".geojson", ".kml", ".jsonld")]
    return {str(p.relative_to(out)): p.read_bytes() for p in kept if "custody" not in p.name}


def _written(out: Path) -> dict:
    return [json.loads(line) for line in (out / "custody.jsonl").read_text(encoding="utf-8").splitlines()][-1]


def _messages_store(out: Path) -> ReportStore:
    rs = ReportStore(out)
    src = rs.source("/data/mmssms.db")
    for n in range(300):
        rs.message(src, f"message {n}", row=n + 1)
    rs.cite(rs.location(src, "pin"), src)
    return rs


def test_a_second_process_that_dies_half_way_costs_time_not_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed once it has created its first exports (the system's out-of-memory killer, say): the files it made are
    removed, this process writes every export and report.pdf, byte for byte what the second process writes, and
    the examination record says why."""
    lived = _messages_store(tmp_path / "lived")
    lived.write(files_selected=1)
    hand_over = ReportWorker.hand_over

    def killed_after_its_first_exports(self: ReportWorker, first: Path, rest: RestOfExports | None = None) -> None:
        hand_over(self, first, rest)
        deadline = time.monotonic() + 60
        while not (self.out / "records" / "message.csv").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert self.child is not None
        self.child.kill()

    monkeypatch.setattr(ReportWorker, "hand_over", killed_after_its_first_exports)
    died = _messages_store(tmp_path / "died")
    died.write(files_selected=1)
    assert _exports_of(died.out) == _exports_of(lived.out)
    written = _written(died.out)
    assert written["action"] == "report written"
    assert written["details"][SECOND_PROCESS_FAILED] == (
        "the report's second process ended with code -9 (it said nothing); its work done here instead"
    )
    assert SECOND_PROCESS_FAILED not in _written(lived.out)["details"]
    for name, data in _exports_of(died.out).items():
        assert written["details"]["files"][name] == hashlib.sha256(data).hexdigest(), name
    if pdf_unavailable() is None:
        assert PDF_NAME in written["details"]["files"]


def test_a_second_process_that_dies_laying_out_the_pdf_leaves_its_final_exports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed after it said its exports were final (the run zips them meanwhile): they are kept as written, and
    only report.pdf is made here."""
    exports_written = ReportWorker.exports_written
    final: list[tuple[Path, int]] = []

    def killed_once_final(self: ReportWorker) -> list[Path]:
        files = exports_written(self)
        final.extend((p, p.stat().st_ino) for p in files)
        assert self.child is not None
        self.child.kill()
        return files

    monkeypatch.setattr(ReportWorker, "exports_written", killed_once_final)
    rs = _messages_store(tmp_path / "out")
    handed: list[Path] = []
    rs.write(files_selected=1, finished=handed.extend)
    assert final and all(path.stat().st_ino == inode for path, inode in final)  # the same files, not made again
    assert {p for p, _ in final} <= set(handed)
    written = _written(rs.out)
    assert written["details"][SECOND_PROCESS_FAILED].startswith("the report's second process ended with code -9")
    for path, _ in final:
        assert (
            written["details"]["files"][str(path.relative_to(rs.out))] == hashlib.sha256(path.read_bytes()).hexdigest()
        )
    if pdf_unavailable() is None:
        assert (rs.out / PDF_NAME).is_file() and PDF_NAME in written["details"]["files"]


def _one_message_and_its_worker(tmp_path: Path) -> tuple[ReportStore, ReportWorker]:
    """A committed store with one message, findings.json written, and the report's second process on it."""
    rs = ReportStore(tmp_path / "out")
    rs.message(rs.source("/data/mmssms.db"), "hello")
    rs.store.commit()
    (rs.out / "findings.json").write_text("{}\n", encoding="utf-8")
    return rs, ReportWorker(rs.store, rs.out)


def test_the_second_process_writes_the_other_exports_before_the_statement_is_asked_for(tmp_path: Path) -> None:
    """At the hand-over the second process writes the other exports at once (the report step builds the report
    meanwhile); the statement's HTML comes last. Without it (print_from never called) it hashes every export and
    makes no PDF."""
    rs, worker = _one_message_and_its_worker(tmp_path)
    out = rs.out
    try:
        worker.hand_over(out / "findings.json", RestOfExports({"case": "C", "exhibit": "E"}, False))
        deadline = time.monotonic() + 60
        while not (out / "schedule_findings.csv").exists() and time.monotonic() < deadline:
            time.sleep(0.05)  # written before anything more is asked of it
        assert (out / "schedule_findings.csv").exists() and not (out / "report.pdf").exists()
        done = worker.finish()
    finally:
        worker.close()
        rs.store.close()
    assert done.pdf is None and "schedule_findings.csv" in done.hashes and "records/message.jsonl" in done.hashes
    assert done.hashes["findings.json"] == hashlib.sha256(b"{}\n").hexdigest()


def test_a_second_process_started_early_reads_nothing_until_it_may_begin(tmp_path: Path) -> None:
    """`begin=False` (triage run starts it with the run): the process is up and has loaded the PDF engine, but
    opens no store and writes nothing until `begin`; then its exports are those of one that began at once."""
    rs = ReportStore(tmp_path / "out")
    rs.message(rs.source("/data/mmssms.db"), "hello")
    rs.store.commit()
    (rs.out / "findings.json").write_text("{}\n", encoding="utf-8")
    worker = ReportWorker(rs.store, rs.out, begin=False)
    try:
        assert worker.child is not None
        worker.pdf_unavailable()  # its first line: said once its modules and the engine are loaded
        time.sleep(0.5)  # time enough to start on the exports, had it been asked
        assert worker.child.poll() is None and not (rs.out / "records").exists()
        assert worker.journal is not None and worker.journal.read_text(encoding="utf-8") == ""
        worker.begin()
        worker.begin()  # once only: a second request would be read as the hand-over
        worker.hand_over(rs.out / "findings.json", None)
        done = worker.finish()
    finally:
        worker.close()
    at_once = tmp_path / "at-once"
    at_once.mkdir()
    (at_once / "findings.json").write_text("{}\n", encoding="utf-8")
    with ReportWorker(rs.store, at_once) as other:
        other.hand_over(at_once / "findings.json", None)
        expected = other.finish()
    rs.store.close()
    assert done.fell_back is None and done.hashes == expected.hashes
    assert "records/message.jsonl" in done.hashes


def test_the_second_process_says_which_exports_are_final_before_it_lays_out_the_pdf(tmp_path: Path) -> None:
    """Once asked for the statement, the second process hashes every export and says which before report.pdf is
    laid out (the run zips them meanwhile: seal.py BundleZip); its answer then gives the same files' hashes."""
    rs, worker = _one_message_and_its_worker(tmp_path)
    out = rs.out
    try:
        assert worker.exports_written() == []  # not asked for the statement yet: it would wait for it
        worker.hand_over(out / "findings.json", RestOfExports({"case": "C", "exhibit": "E"}, False))
        worker.print_from(None)
        written = worker.exports_written()
        done = worker.finish()
    finally:
        worker.close()
        rs.store.close()
    assert {str(p.relative_to(out)) for p in written} == set(done.hashes)
    assert {"findings.json", "schedule_findings.csv", "records/message.jsonl"} <= set(done.hashes)
    assert all(p.is_file() for p in written)


def test_an_existing_export_stops_the_second_process_and_is_kept(tmp_path: Path) -> None:
    rs = ReportStore(tmp_path / "out")
    rs.message(rs.source("/data/mmssms.db"), "hello")
    (rs.out / "records").mkdir()
    (rs.out / "records" / "message.jsonl").write_bytes(b"planted")  # written by the second process
    with pytest.raises(ExistingFileError, match="message.jsonl"):
        rs.write(files_selected=1)
    assert (rs.out / "records" / "message.jsonl").read_bytes() == b"planted"


def test_a_store_in_memory_is_reported_in_this_process(tmp_path: Path) -> None:
    from rules.engine import load_pack
    from triage.report import write_report
    from triage.report.context import ReportContext

    out = tmp_path / "out"
    out.mkdir()
    store = CaseStore("sqlite://")
    custody = CustodyLog(out / "custody.jsonl", actor="Memory Test")
    custody.record("run started")
    src = SourceFile(
        path="/data/mmssms.db",
        layers=[],
        provenance="zip → /data/mmssms.db",
        sha256="ab" * 32,
        parser="android_sms",
        record_count=1,
    )
    store.add(src)
    store.flush()
    store.add(
        Message(
            app="sms",
            thread="1",
            direction="incoming",
            counterpart="+447700900123",
            sender=None,
            body="hello from memory",
            time_utc=WHEN,
            time_raw=1,
            time_encoding="unix_ms",
            source_file_id=src.id,
            source_table="sms",
            source_row="1",
        )
    )
    store.add(
        EvidenceItem(
            source="/evidence/phone.zip",
            kind="zip",
            container_files=[],
            files_sha256_before={},
            media={
                "size": 1,
                "md5": "0" * 32,
                "sha1": "1" * 40,
                "sha256": "ab" * 32,
                "stored": {},
                "headers": {},
                "read_errors": [],
                "verified": None,
            },
        )
    )
    store.commit()
    write_report(store, ReportContext(out=out, examiner="Memory Test", case_records=True), load_pack(), custody)
    store.close()
    assert json.loads((out / "records" / "message.jsonl").read_text(encoding="utf-8"))["body"] == "hello from memory"
    written = json.loads((out / "custody.jsonl").read_text(encoding="utf-8").splitlines()[-1])["details"]["files"]
    assert {"records/message.jsonl", "records/message.csv", "case-records.jsonld", "index.html"} <= set(written)
    assert (PDF_NAME in written) == (pdf_unavailable() is None)


# -- the statement: a row per cited record ---------------------------------------------------------------------


def pdftotext(pdf: Path) -> str:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    return " ".join(text.split())


def test_the_statement_states_each_cited_record_once_as_one_block(tmp_path: Path, monkeypatch) -> None:
    import triage.report

    reports = []
    monkeypatch.setattr(
        triage.report, "build_report", lambda *a, **k: reports.append(build_report(*a, **k)) or reports[-1]
    )
    rs = ReportStore(tmp_path / "out")
    src = rs.source("/data/data/com.whatsapp/databases/msgstore.db", parser="whatsapp")
    positions = [rs.location(src, f"pin {n}", 50.9 + n / 1000, 1.8) for n in range(60)]
    rs.add(
        Finding(
            rule_id="TST-60",
            rule_version="1",
            severity="LOW",
            title="Many positions",
            family="test",
            explanation="60 positions",
            time_utc=WHEN,
            evidence=[
                {
                    "type": "location",
                    "id": p.id,
                    "provenance": src.provenance,
                    "sha256": src.sha256,
                    "table": "message_location",
                    "row": "1",
                    "offset": None,
                }
                for p in positions
            ],
        )
    )
    rs.write(files_selected=1)
    page = render_print_html(reports[0])
    statement, full = page.split("<h1>Full report</h1>", 1)
    facts = [b for b in Elements(statement).select("div") if b.get("class") == "fact"]
    assert len(facts) == len(positions)  # Part 1: one block each, no table row (a cell costs a line)
    part_1 = statement.split('<h2 id="facts">', 1)[1].split('<h2 id="identifiers">', 1)[0]
    assert "<tr" not in part_1
    assert 'class="card' not in page  # no card per record in print: the cards are on index.html
    text = Text(statement).text
    for n, p in enumerate(positions):
        assert f"{n + 1}. Position #{p.id}: latitude, longitude {50.9 + n / 1000:.6f}, 1.800000" in text
    # the full report's finding names Part 1's numbers: no record of it a second time
    finding = Text(full[: full.index("</details>")]).text
    assert "The 60 record(s) it cites are stated once in Part 1 (numbers 1–60)." in finding
    assert not any(f"#{p.id}" in finding for p in positions)
    # the positions named on the map: a line each under its label, in aligned columns, not a table row
    named = page[page.index('<div class="map-rows">') :]
    named = Text(named[: named.index('<h3 id="map-zones">') if '<h3 id="map-zones">' in named else None]).text
    assert '<table class="map-rows">' not in page
    for n, p in enumerate(positions):
        line = rf"\bL{p.id} +{50.9 + n / 1000:.6f} +1\.800000 +whatsapp shared location +\d{{4}}-"
        assert re.search(line, named), p.id
    assert len(Elements((rs.out / "index.html").read_text(encoding="utf-8")).select("div", "card")) == 60
    assert len(Elements((rs.out / "index.html").read_text(encoding="utf-8")).select("tr", id="maprow-L1")) == 1
    if pdf_unavailable() is None and shutil.which("pdftotext"):
        text = pdftotext(rs.out / PDF_NAME)
        assert all(f"Position #{p.id}: latitude" in text for p in positions)
