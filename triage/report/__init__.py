"""The run's outputs in the --out folder: findings.json, records/*.jsonl, index.html."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

from triage.report.export import write_records
from triage.report.findings import build_findings
from triage.report.html import write_html
from triage.timeutil import iso, now_utc

if TYPE_CHECKING:
    from rules.engine import RulePack
    from triage.custody import CustodyLog
    from triage.pipeline import RunOptions
    from triage.store import CaseStore


def write_report(store: "CaseStore", opts: "RunOptions", pack: "RulePack", custody: "CustodyLog") -> Path:
    from triage.pipeline import report_counts

    out = opts.out
    counts = report_counts(store)
    records = write_records(store, out / "records")
    case = {"case": opts.case, "exhibit": opts.exhibit, "examiner": opts.examiner}
    started = json.loads(custody.path.read_text(encoding="utf-8").splitlines()[0])["time_utc"]
    run = {"started_utc": started, "report_utc": iso(now_utc())}
    findings = build_findings(store, case, pack, run, counts)
    findings_path = out / "findings.json"
    findings_path.write_text(json.dumps(findings, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    index = write_html(store, findings, custody.path, out / "index.html")
    outputs = [findings_path, index, *records.values()]
    custody.record("report written", files={str(p.relative_to(out)): _sha256(p) for p in outputs})
    return index


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
