"""The run's outputs in the --out folder: findings.json; the exports (records/, schedules, KML/GeoJSON,
case.jsonld), written by a second process while this one writes index.html with its paged listings under
pages/; then report.pdf, which names the exports with their SHA-256 (so they are written, and hashed,
before it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from triage.exclusive import write_text_exclusive
from triage.report.display import DISPLAY_LIMITS
from triage.report.findings import build_findings
from triage.report.html import build_report, write_html
from triage.report.pages import write_pages
from triage.report.pdf import note_if_unavailable, record_outcome, statement_html
from triage.report.stream import ensure_indexes
from triage.report.worker import ReportWorker, record_exports_here, sha256_of, write_other_exports
from triage.timeutil import iso, now_utc

if TYPE_CHECKING:
    from rules.engine import RulePack
    from triage.custody import CustodyLog
    from triage.pipeline import RunOptions
    from triage.store import CaseStore


def write_report(store: "CaseStore", opts: "RunOptions", pack: "RulePack", custody: "CustodyLog") -> Path:
    """Write every output of the report step into opts.out, each file created exclusively (an existing
    file is never replaced: ExistingFileError), and record their SHA-256 and the display limits.

    A second process writes the record exports, then report.pdf (which names every export with its
    SHA-256), while this one writes the other exports and the pages (worker.py): both only read the
    store, committed here first."""
    from triage.pipeline import report_counts

    out = opts.out
    note_if_unavailable(store)  # a missing PDF engine is a warning every output lists
    counts = report_counts(store)
    case = {"case": opts.case, "exhibit": opts.exhibit, "examiner": opts.examiner}
    entries = _custody_entries(custody.path)
    run = {"started_utc": entries[0]["time_utc"], "report_utc": iso(now_utc())}
    findings = build_findings(store, case, pack, run, counts, files_selected=_files_selected(entries))
    findings_path = out / "findings.json"
    write_text_exclusive(findings_path, json.dumps(findings, ensure_ascii=False, indent=2, sort_keys=True) + "\n")
    ensure_indexes(store.session)  # the pages' reading order, made before another process reads the store
    store.commit()  # what the second process reads: every record, and the warnings of this step
    worker = ReportWorker(store, out)  # the record exports, then report.pdf (worker.py)
    try:
        report = build_report(store, findings, custody.path, out, pack.zones, opts)
        mine = [*write_other_exports(store, case, out, opts.case_records), *record_exports_here(store, out)]
        worker.hand_over(findings_path, mine, statement_html(report))
        pages, links = write_pages(store, report)
        index = write_html(report, out / "index.html", links)
        done = worker.finish()
    finally:
        worker.close()  # stops it when something above failed
    report.context["exports"] = dict(done.hashes)  # what report.pdf names
    shown = [index, *pages, *report.files, *record_outcome(done.pdf, out, store, custody)]
    hashes = {**done.hashes, **{str(p.relative_to(out)): sha256_of(p) for p in shown}}
    custody.record("report written", files=hashes, display_limits=dict(DISPLAY_LIMITS),
                   assessment=findings["assessment"]["level"])
    return index


def _custody_entries(path: Path) -> list[dict]:
    # entries end at "\n" only: splitlines() would also cut at a U+2028 inside a value
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line]


def _files_selected(entries: list[dict]) -> int | None:
    """How many files the run chose for parsing, as its custody entry says (None when not recorded)."""
    for entry in entries:
        if entry.get("action") == "files selected for parsing":
            return entry.get("details", {}).get("files")
    return None

