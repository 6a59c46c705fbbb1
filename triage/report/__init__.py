"""The run's outputs in the --out folder: findings.json; the exports (records/, schedules, KML/GeoJSON,
case.jsonld), written by a second process while this one writes index.html with its paged listings under
pages/; then report.pdf, which names the exports with their SHA-256 (so they are written, and hashed,
before it)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from triage.integrity.exclusive import write_text_exclusive
from triage.integrity.file_hashes import sha256_of
from triage.model.timeutil import iso, now_utc
from triage.report.context import ReportContext
from triage.report.display import DISPLAY_LIMITS
from triage.report.findings import build_findings
from triage.report.html import build_report, write_html
from triage.report.pages import write_pages
from triage.report.pdf import record_outcome, statement_html
from triage.report.statement import rule_texts
from triage.report.stream import ensure_indexes
from triage.report.worker import ReportWorker, RestOfExports
from triage.store.forked_reader import failure_details

if TYPE_CHECKING:
    from collections.abc import Callable

    from rules.engine import RulePack
    from triage.integrity.custody import CustodyLog
    from triage.store import CaseStore


@dataclass
class ReportWritten:
    index: Path  # index.html
    problems: list[str] = field(default_factory=list)  # errors for the run to record as warnings


def write_report(
    store: CaseStore,
    ctx: ReportContext,
    pack: RulePack,
    custody: CustodyLog,
    worker: ReportWorker | None = None,
    finished: Callable[[list[Path]], None] | None = None,
) -> ReportWritten:
    """Write every output of the report step into ctx.out, each file created exclusively (an existing
    file is never replaced: ExistingFileError), and record their SHA-256 and the display limits.

    A second process writes the record exports, then report.pdf (which names every export with its
    SHA-256), while this one writes the other exports and the pages (worker.py): both only read the
    store, committed here first. `worker`: that process, started earlier on the store's final messages
    (`triage run` starts it before the passes; None: started here). The report reads the store and `ctx`,
    never the evidence, and writes no warning itself: what went wrong is returned for the run to record.
    `finished` is handed the files this step will not write again while the second process lays out
    report.pdf (`triage run` zips them meanwhile: triage/bundle/seal.py BundleZip)."""
    out = ctx.out
    counts = store.counts()
    entries = _custody_entries(custody.path)
    run = {"started_utc": entries[0]["time_utc"], "report_utc": iso(now_utc())}
    findings = build_findings(store, ctx.case_names, pack, run, counts, files_selected=_files_selected(entries))
    findings_path = out / "findings.json"
    write_text_exclusive(findings_path, json.dumps(findings, ensure_ascii=False, indent=2, sort_keys=True) + "\n")
    ensure_indexes(store.session)  # the pages' reading order
    store.commit()  # every record and the warnings of this step, before the exports read them
    worker = worker or ReportWorker(store, out)  # the messages' exports, then report.pdf (worker.py)
    try:
        unavailable = worker.pdf_unavailable()  # the second process loads the PDF engine, this one never does
        # the second process writes the other exports while this one builds the report and the statement's HTML
        worker.hand_over(findings_path, RestOfExports(ctx.case_names, ctx.case_records))
        report = build_report(store, findings, custody.path, out, pack.zones, ctx.thumbnails)
        report.declarations = ctx.declarations.view() if ctx.declarations is not None else None
        report.context["declarations"] = report.declarations  # the statement's declarations block
        report.context["rule_texts"] = rule_texts(pack)  # Annex A: each rule's definition, from the run's own pack
        worker.print_from(statement_html(report, unavailable))  # report.pdf there while the pages are written here
        with _exports_zipped_meanwhile(finished, worker):
            pages, links, pages_fell_back = write_pages(store, report)
        index = write_html(report, out / "index.html", links)
        # while the second process lays out report.pdf; the pages as their writer hashed them
        shown = {str(p.relative_to(out)): digest for p, digest in pages.items()} | _hashes(out, [index, *report.files])
        if finished is not None:  # on this core, which would otherwise wait for report.pdf
            finished([*pages, index, *report.files])
        done = worker.finish()
    finally:
        worker.close()  # stops it when something above failed
    report.context["exports"] = dict(done.hashes)  # what report.pdf names
    pdf, problem = record_outcome(done.pdf, out, custody, unavailable)
    hashes = {**done.hashes, **shown, **_hashes(out, pdf)}
    fell_back = [f"{pages_fell_back}; written here instead"] if pages_fell_back is not None else []
    fell_back += [done.fell_back] if done.fell_back is not None else []
    custody.record(
        "report written",
        files=hashes,
        display_limits=dict(DISPLAY_LIMITS),
        assessment=findings["assessment"]["level"],
        **failure_details(" / ".join(fell_back) or None),
    )
    return ReportWritten(index, [problem] if problem else [])


@contextmanager
def _exports_zipped_meanwhile(finished: Callable[[list[Path]], None] | None, worker: ReportWorker) -> Iterator[None]:
    """Hand the exports to `finished` on a thread of this process as soon as the second process has written them,
    while this one writes the pages: at 1,000,000 messages they are 2 GB to deflate, which waited for the last page
    and then ran with the other core idle (bench/RESULTS.md). Joined when the block ends, before anything else is
    handed over, so the zip's order is the same every time: the exports, then the pages."""
    if finished is None:
        yield
        return
    with ThreadPoolExecutor(1, thread_name_prefix="zip-exports") as zipping:
        zipped = zipping.submit(lambda: finished(worker.exports_written()))
        yield
        zipped.result()  # its error, if any, raised here


def _hashes(out: Path, files: list[Path]) -> dict[str, str]:
    """Each file's SHA-256 by its name relative to the output folder."""
    return {str(p.relative_to(out)): sha256_of(p) for p in files}


def _custody_entries(path: Path) -> list[dict]:
    # entries end at "\n" only: splitlines() would also cut at a U+2028 inside a value
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line]


def _files_selected(entries: list[dict]) -> int | None:
    """How many files the run chose for parsing, as its custody entry says (None when not recorded)."""
    for entry in entries:
        if entry.get("action") == "files selected for parsing":
            return entry.get("details", {}).get("files")
    return None
