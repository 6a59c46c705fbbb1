"""Spreadsheet and disclosure exports: records/<type>.csv beside each .jsonl, and CSV schedules of the
material examined (every source file read) and of the findings (CPIA: in the shape of form MG6C, one row each).
Each is written row by row as the store is read (triage/report/store_rows.py), never from a list.

Every cell a spreadsheet would read as a formula is defused (`defuse`, docs/report_safety.md): text
from a phone such as `=HYPERLINK(…)` or `@SUM(…)` must not run in the examiner's or the court's
spreadsheet. The JSON Lines beside each CSV keep the values exactly as read.
"""

from __future__ import annotations

import csv
import gc
import json
import re
from collections.abc import Collection, Iterable
from itertools import repeat
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Row

from triage.integrity.exclusive import create_exclusive
from triage.model.records import EXPORTED_RECORDS, Base, Finding, SourceFile
from triage.report.export import dumps, exported_page, exported_records
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


def defused_cells(row: dict[str, str], columns: list[str]) -> list[str]:
    """What csv.DictWriter(extrasaction="ignore") writes: the columns' values in order, "" for a missing one,
    each defused (`defuse` inline: a call per cell costs more than the test that almost always says "keep it")."""
    return [
        DEFUSE_PREFIX + cell if cell.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(cell) else cell
        for cell in map(row.get, columns, repeat(""))
    ]


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
        self.writer.writerow(defused_cells(row, self.columns))

    def close(self) -> Path:
        if self.columns is None:  # no rows: an empty header line, as before
            self.writer.writerow([])
        self.file.close()
        return self.path

    def __enter__(self) -> CsvTable:
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
    return [
        write_csv(folder / f"{cls.record_type}.csv", (flat(r) for r in exported_records(store, cls)))
        for cls in EXPORTED_RECORDS
    ]


def write_records_and_tables(
    store: CaseStore, folder: Path, types: Collection[str] | None = None
) -> tuple[dict[str, Path], list[Path]]:
    """records/<type>.jsonl and records/<type>.csv in one pass over the store: each record is read and
    made into its exported form once, then written as a JSON line and as a CSV row. The files are those
    `export.write_records` and `write_record_tables` write. `types`: only these record types. On SQLite a
    page of records is made a column at a time (export_columns.py), byte for byte the same."""
    from triage.report import export_columns  # it builds on this module's `defuse`

    folder.mkdir(parents=True, exist_ok=True)
    db = export_columns.sqlite_connection(store.session)
    lines: dict[str, Path] = {}
    tables: list[Path] = []
    for cls in EXPORTED_RECORDS:
        if types is not None and cls.record_type not in types:
            continue
        path = folder / f"{cls.record_type}.jsonl"
        with create_exclusive(path, "w", encoding="utf-8") as f, CsvTable(folder / f"{cls.record_type}.csv") as table:
            if db is not None:
                _write_by_columns(store, db, cls, f, table)
            else:
                for record in exported_records(store, cls):
                    f.write(dumps(record) + "\n")
                    table.write(flat(record))
        lines[cls.record_type] = path
        tables.append(table.path)
    return lines, tables


def _write_by_columns(store: CaseStore, db: Any, cls: type[Base], jsonl: IO[str], table: CsvTable) -> None:
    from triage.report import export_columns

    header = export_columns.plan_of(cls).header

    def slow_page(after: int | None, count: int) -> list[tuple[int, str, list[str]]]:
        """A page of records the old way: (id, JSON line, CSV cells) of each."""
        return [
            (record["id"], dumps(record) + "\n", defused_cells(flat(record), header))
            for record in exported_page(store, cls, after, count)
        ]

    store.flush()  # records still buffered for insertion are part of the store
    # A page makes tens of thousands of tuples, lists and decoded dicts, none in a cycle (reference counting
    # frees them): the cycle collector would walk them over and over (a seventh of the time). Off for the
    # pages, back as it was after.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for lines, csv_lines, rows in export_columns.record_pages(db, cls, slow_page):
            if table.columns is None:
                table.columns = header
                table.writer.writerow(header)
            jsonl.write(lines)
            table.file.write(csv_lines)  # lines as the csv module writes them (export_columns.csv_column)
            table.writer.writerows(rows)
    finally:
        if collecting:
            gc.enable()


# CPIA schedules in the shape of form MG6C (schedule of relevant non-sensitive unused material): each row's
# number, description, relevance and whether it might reasonably be considered capable of undermining the
# prosecution case or assisting the defence, and its location; then the tool's own columns. The tool does not
# apply the disclosure test: the disclosure officer does. It says only what the rules flagged (DISCLOSURE:
# pointing away from the device user; SAFEGUARDING: a possible victim; SPECIAL PROCEDURE: journalistic, privileged
# or research material; content the user only received).
MG6C_COLUMNS = ["number", "description", "relevance", "may_undermine_or_assist", "location"]
EXAMINED_COLUMNS = ["source_file_id", "provenance", "path", "size", "sha256", "parser", "status", "records"]
FINDING_COLUMNS = ["finding_id", "rule_id", "rule_version", "severity", "title", "time_utc", "evidence", "explanation"]
NOT_ASSESSED = "not assessed by the tool: for the disclosure officer"
# CTX-01/02/05 (rules/context.py): material that may be journalistic, legally privileged or confidential
# research material. Excluded or special procedure material under PACE ss.10-14 is reached by another route
# than a search, and the prosecutor must be told before it, or an indicator resting on it, is relied on
# (docs/domain/legal.md "Special procedure material: what the tool does"). The tool does not decide what it is.
SPECIAL_PROCEDURE = "SPECIAL PROCEDURE"
SPECIAL_PROCEDURE_NOTE = (
    "flagged SPECIAL PROCEDURE by its rule: may be journalistic, legally privileged or confidential research "
    "material (excluded or special procedure material, PACE ss.10-14): set aside until the right procedure is "
    "followed, and the prosecutor must be told; whether it is such material is for lawyers; "
)


def examined_row(s: Row[Any]) -> dict[str, str]:
    size = f"{s.size:,} bytes" if s.size is not None else "size not recorded"
    read = (
        f"read by parser {s.parser}: {s.status}, {s.record_count} record(s)"
        if s.parser
        else f"not read by a parser ({s.status})"
    )
    relevance = (
        "examined by the tool: its records are in the exports (records/)"
        if s.record_count
        else "examined by the tool: no record read from it"
    )
    return {
        "number": str(s.id),
        "description": f"file {s.path} ({size}, SHA-256 {s.sha256 or 'not computed'}); {read}",
        "relevance": relevance,
        "may_undermine_or_assist": NOT_ASSESSED,
        "location": s.provenance,
        "source_file_id": str(s.id),
        "provenance": s.provenance,
        "path": s.path,
        "size": str(s.size or ""),
        "sha256": s.sha256 or "",
        "parser": s.parser or "",
        "status": s.status,
        "records": str(s.record_count),
    }


def finding_row(f: Row[Any], number: int | None = None) -> dict[str, str]:
    """`number`: the finding's place in findings.json, from 1 (the statement's F1, F2 …)."""
    extra = f.extra if isinstance(getattr(f, "extra", None), dict) else {}
    cited = "; ".join(f"{e.get('type')} #{e.get('id')}" for e in f.evidence[:20])
    more = f" and {len(f.evidence) - 20} more" if len(f.evidence) > 20 else ""
    return {
        "number": f"F{number}" if number is not None else str(f.id),
        "description": f"finding {f.rule_id} v{f.rule_version} ({f.title}) citing {len(f.evidence)} record(s): "
        f"{cited}{more}",
        "relevance": f"indicator for review, {f.severity}, not a conclusion"
        + (f"; rule's role hint: {extra['role_hint']}" if extra.get("role_hint") else ""),
        "may_undermine_or_assist": may_undermine_or_assist(f.severity, bool(extra.get("received_only"))),
        "location": "; ".join(dict.fromkeys(str(e.get("provenance") or "source not recorded") for e in f.evidence)),
        "finding_id": str(f.id),
        "rule_id": f.rule_id,
        "rule_version": f.rule_version,
        "severity": f.severity,
        "title": f.title,
        "time_utc": f.time_utc.isoformat() if f.time_utc else "",
        "evidence": "; ".join(
            f"{e.get('type')} #{e.get('id')} {e.get('provenance') or ''}".strip() for e in f.evidence
        ),
        "explanation": f.explanation,
    }


def may_undermine_or_assist(severity: str, received_only: bool) -> str:
    """What the rules say towards the disclosure test (CPIA s.3): flags, never a decision."""
    if severity == "DISCLOSURE":
        return "flagged DISCLOSURE by its rule: may point away from the device user; " + NOT_ASSESSED
    if severity == "SAFEGUARDING":
        return "flagged SAFEGUARDING by its rule: the user may be a victim; " + NOT_ASSESSED
    if severity == SPECIAL_PROCEDURE:
        return SPECIAL_PROCEDURE_NOTE + NOT_ASSESSED
    if received_only:
        return "the device user only received the content cited; " + NOT_ASSESSED
    return NOT_ASSESSED


def write_schedules(store: CaseStore, out: Path) -> list[Path]:
    return [
        write_csv(
            out / "schedule_material_examined.csv",
            map(examined_row, records(store, SourceFile)),
            MG6C_COLUMNS + EXAMINED_COLUMNS,
        ),
        write_csv(
            out / "schedule_findings.csv",
            (finding_row(f, n) for n, f in enumerate(records(store, Finding), start=1)),
            MG6C_COLUMNS + FINDING_COLUMNS,
        ),
    ]
