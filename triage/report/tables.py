"""Spreadsheet and disclosure exports: records/<type>.csv beside each .jsonl, and CSV schedules of the
material examined (every source file read) and of the findings (CPIA-friendly: one row each).
Each is written row by row as the store is read (triage/report/store_rows.py), never from a list.

Every cell a spreadsheet would read as a formula is defused (`defuse`, docs/report_safety.md): text
from a phone such as `=HYPERLINK(…)` or `@SUM(…)` must not run in the examiner's or the court's
spreadsheet. The JSON Lines beside each CSV keep the values exactly as read.
"""

from __future__ import annotations

import csv
import json
import re
from itertools import repeat
from pathlib import Path
from typing import Any, Collection, Iterable

from sqlalchemy import Row

from triage.exclusive import create_exclusive
from triage.records import EXPORTED_RECORDS, Finding, SourceFile
from triage.report.export import dumps, exported_records
from triage.report.store_rows import records
from triage.store import CaseStore


# OWASP "CSV Injection": a cell starting with one of these is read as a formula by Excel, LibreOffice or
# Google Sheets (TAB and CR because some programs skip them before looking; LF likewise, as a precaution).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
# A number or a phone number: digits, spaces, dots, brackets and hyphens, one leading sign. Without a letter,
# `!`, `|`, `:` or a quote no function, cell reference, external link or DDE call can be written in it: at
# worst a spreadsheet reads it as a number (+447700900123, -12.5), which is what it is. It stays as stored.
PLAIN_NUMBER = re.compile(r"[+-]?[0-9 ().-]*[0-9][0-9 ().-]*")
DEFUSE_PREFIX = "'"  # what OWASP advises: shown as text, the apostrophe visible in some programs


def defuse(cell: str) -> str:
    """The cell as written to CSV: a would-be formula gets a leading apostrophe; numbers stay as they are."""
    if cell.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(cell):
        return DEFUSE_PREFIX + cell
    return cell


_NESTED = json.JSONEncoder(ensure_ascii=False, sort_keys=True)  # json.dumps with these options, made once


def flat(record: dict[str, Any]) -> dict[str, str]:
    """Nested values (provenance, extra, lists) as compact JSON text in one cell."""
    row: dict[str, str] = {}
    for key, value in record.items():
        if value is None:
            row[key] = ""
        elif type(value) is str:  # most cells: as they are
            row[key] = value
        elif key == "provenance" and isinstance(value, dict):
            for k, v in value.items():
                row[f"provenance_{k}"] = "" if v is None else str(v)
        elif isinstance(value, (dict, list)):
            row[key] = _NESTED.encode(value)
        else:
            row[key] = "" if value is None else str(value)
    return row


class CsvTable:
    """One CSV file written row by row as the rows come (never from a list). Without `columns`, the first
    row's keys, sorted, are the header: the rows of one table share their keys. Every cell is defused."""

    def __init__(self, path: Path, columns: list[str] | None = None) -> None:
        self.path = path
        self.columns = columns
        self.file = create_exclusive(path, "w", encoding="utf-8-sig", newline="")  # BOM: spreadsheets read UTF-8
        self.writer = csv.writer(self.file)
        if columns is not None:
            self.writer.writerow(columns)

    def write(self, row: dict[str, str]) -> None:
        if self.columns is None:
            self.columns = sorted(row)
            self.writer.writerow(self.columns)
        # what csv.DictWriter(extrasaction="ignore") writes: the header's keys in order, "" for a missing one;
        # `defuse` inline (a call per cell costs more than the test that almost always says "keep it")
        self.writer.writerow([DEFUSE_PREFIX + cell if cell.startswith(FORMULA_STARTS)
                              and not PLAIN_NUMBER.fullmatch(cell) else cell
                              for cell in map(row.get, self.columns, repeat(""))])

    def close(self) -> Path:
        if self.columns is None:  # no rows: an empty header line, as before
            self.writer.writerow([])
        self.file.close()
        return self.path

    def __enter__(self) -> "CsvTable":
        return self

    def __exit__(self, error: type[BaseException] | None, *_: object) -> None:
        if self.file.closed:
            return
        if error is None:
            self.close()
        else:  # the rows stop here: the file is closed as it is (the run records the failure)
            self.file.close()


def write_csv(path: Path, rows: Iterable[dict[str, str]], columns: list[str] | None = None) -> Path:
    """Rows written one by one as they come (a generator is never turned into a list). Without `columns`,
    the first row's keys, sorted, are the header: the rows of one table share their keys."""
    with CsvTable(path, columns) as table:
        for row in rows:
            table.write(row)
    return path


def write_record_tables(store: CaseStore, folder: Path) -> list[Path]:
    return [write_csv(folder / f"{cls.record_type}.csv", (flat(r) for r in exported_records(store, cls)))
            for cls in EXPORTED_RECORDS]


def write_records_and_tables(store: CaseStore, folder: Path, types: Collection[str] | None = None
                             ) -> tuple[dict[str, Path], list[Path]]:
    """records/<type>.jsonl and records/<type>.csv in one pass over the store: each record is read and
    made into its exported form once, then written as a JSON line and as a CSV row. The files are those
    `export.write_records` and `write_record_tables` write. `types`: only these record types."""
    folder.mkdir(parents=True, exist_ok=True)
    lines: dict[str, Path] = {}
    tables: list[Path] = []
    for cls in EXPORTED_RECORDS:
        if types is not None and cls.record_type not in types:
            continue
        path = folder / f"{cls.record_type}.jsonl"
        with create_exclusive(path, "w", encoding="utf-8") as f, \
                CsvTable(folder / f"{cls.record_type}.csv") as table:
            for record in exported_records(store, cls):
                f.write(dumps(record) + "\n")
                table.write(flat(record))
        lines[cls.record_type] = path
        tables.append(table.path)
    return lines, tables


def examined_row(s: Row[Any]) -> dict[str, str]:
    return {"source_file_id": str(s.id), "provenance": s.provenance, "path": s.path, "size": str(s.size or ""),
            "sha256": s.sha256 or "", "parser": s.parser or "", "status": s.status, "records": str(s.record_count)}


def finding_row(f: Row[Any]) -> dict[str, str]:
    return {"finding_id": str(f.id), "rule_id": f.rule_id, "rule_version": f.rule_version, "severity": f.severity,
            "title": f.title, "time_utc": f.time_utc.isoformat() if f.time_utc else "",
            "evidence": "; ".join(f"{e.get('type')} #{e.get('id')} {e.get('provenance') or ''}".strip()
                                  for e in f.evidence),
            "explanation": f.explanation}


def write_schedules(store: CaseStore, out: Path) -> list[Path]:
    return [
        write_csv(out / "schedule_material_examined.csv", map(examined_row, records(store, SourceFile)),
                  ["source_file_id", "provenance", "path", "size", "sha256", "parser", "status", "records"]),
        write_csv(out / "schedule_findings.csv", map(finding_row, records(store, Finding)),
                  ["finding_id", "rule_id", "rule_version", "severity", "title", "time_utc", "evidence",
                   "explanation"]),
    ]
