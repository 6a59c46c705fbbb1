"""The run's outputs in the --out folder: findings.json, the exports (records/, schedules, KML/GeoJSON,
case.jsonld), then index.html with its paged listings under pages/, then report.pdf, which names the
exports with their SHA-256 (so they are written, and hashed, before it)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

from triage.exclusive import write_text_exclusive
from triage.report.display import DISPLAY_LIMITS
from triage.report.export import write_records
from triage.report.findings import build_findings
from triage.report.case_export import case_records_path, write_case
from triage.report.geo_export import write_geo
from triage.report.html import build_report, write_html
from triage.report.pages import write_pages
from triage.report.pdf import note_if_unavailable, write_pdf
from triage.report.tables import write_record_tables, write_schedules
from triage.timeutil import iso, now_utc

if TYPE_CHECKING:
    from rules.engine import RulePack
    from triage.custody import CustodyLog
    from triage.pipeline import RunOptions
    from triage.store import CaseStore


def write_report(store: "CaseStore", opts: "RunOptions", pack: "RulePack", custody: "CustodyLog") -> Path:
    """Write every output of the report step into opts.out, each file created exclusively (an existing
    file is never replaced: ExistingFileError), and record their SHA-256 and the display limits."""
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
    records = write_records(store, out / "records")
    tables = write_record_tables(store, out / "records") + write_schedules(store, out)
    geo = write_geo(store, out)
    case_graph = write_case(store, case, out / "case.jsonld")
    written = [findings_path, *records.values(), *tables, *geo, case_graph, case_records_path(case_graph)]
    exports = {p: _sha256(p) for p in written if p.is_file()}
    report = build_report(store, findings, custody.path, out, pack.zones, opts,
                          exports={str(p.relative_to(out)): digest for p, digest in exports.items()})
    pages, links = write_pages(store, report)
    index = write_html(report, out / "index.html", links)
    shown = [index, *pages, *report.files, *write_pdf(report, store, custody)]
    hashes = {str(p.relative_to(out)): digest for p, digest in exports.items()}
    hashes.update({str(p.relative_to(out)): _sha256(p) for p in shown})
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


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:  # streamed: record exports can be large
        return hashlib.file_digest(f, "sha256").hexdigest()
