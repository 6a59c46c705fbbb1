"""Spreadsheet and disclosure exports: records/<type>.csv beside each .jsonl, and CSV schedules of the
material examined (every source file read) and of the findings (CPIA-friendly: one row each)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Iterable

from triage.records import EXPORTED_RECORDS, Finding, SourceFile
from triage.report.export import record_json
from triage.store import CaseStore


def flat(record: dict[str, Any]) -> dict[str, str]:
    """Nested values (provenance, extra, lists) as compact JSON text in one cell."""
    row: dict[str, str] = {}
    for key, value in record.items():
        if key == "provenance" and isinstance(value, dict):
            for k, v in value.items():
                row[f"provenance_{k}"] = "" if v is None else str(v)
        elif isinstance(value, (dict, list)):
            row[key] = json.dumps(value, ensure_ascii=False, sort_keys=True)
        else:
            row[key] = "" if value is None else str(value)
    return row


def write_csv(path: Path, rows: Iterable[dict[str, str]], columns: list[str] | None = None) -> Path:
    rows = list(rows)
    columns = columns or sorted({k for row in rows for k in row})
    with open(path, "w", encoding="utf-8-sig", newline="") as f:  # BOM: spreadsheet programs read UTF-8
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_record_tables(store: CaseStore, folder: Path) -> list[Path]:
    sources = {s.id: s for s in store.all(SourceFile)}
    written = []
    for cls in EXPORTED_RECORDS:
        rows = [flat(record_json(r, sources)) for r in store.all(cls)]
        written.append(write_csv(folder / f"{cls.record_type}.csv", rows))
    return written


def write_schedules(store: CaseStore, out: Path) -> list[Path]:
    examined = [{"source_file_id": str(s.id), "provenance": s.provenance, "path": s.path, "size": str(s.size or ""),
                 "sha256": s.sha256 or "", "parser": s.parser or "", "status": s.status,
                 "records": str(s.record_count)} for s in store.all(SourceFile)]
    findings = [{"finding_id": str(f.id), "rule_id": f.rule_id, "rule_version": f.rule_version,
                 "severity": f.severity, "title": f.title, "time_utc": f.time_utc.isoformat() if f.time_utc else "",
                 "evidence": "; ".join(f"{e.get('type')} #{e.get('id')} {e.get('provenance') or ''}".strip()
                                       for e in f.evidence),
                 "explanation": f.explanation} for f in store.all(Finding)]
    return [
        write_csv(out / "schedule_material_examined.csv", examined,
                  ["source_file_id", "provenance", "path", "size", "sha256", "parser", "status", "records"]),
        write_csv(out / "schedule_findings.csv", findings,
                  ["finding_id", "rule_id", "rule_version", "severity", "title", "time_utc", "evidence",
                   "explanation"]),
    ]
