"""records/<type>.jsonl and .csv made a page and a column at a time (triage/report/export_columns.py) are the
bytes the old way writes (export.write_records, tables.write_record_tables), whatever the store holds: hostile
text, values stored with a type their column does not declare, times not in the store's form, pages of
every size. No timing here: bench/exports_step.py measures."""

from __future__ import annotations

import csv
import gc
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from triage.model.records import (
    EXPORTED_RECORDS,
    Call,
    CustodyEvent,
    Location,
    Message,
    ParseWarning,
    Party,
    SourceFile,
)
from triage.report import export_columns
from triage.report.export import write_records
from triage.report.tables import defuse, write_record_tables, write_records_and_tables
from triage.store import CaseStore

WHEN = datetime(2025, 5, 14, 17, 2, 11, 530000, tzinfo=UTC)
ON_THE_SECOND = datetime(2025, 5, 14, 17, 2, 11, tzinfo=UTC)
TEXTS = [
    "plain",
    "",
    'say "hi", then go',
    "two\nlines\r\nand CR\r",
    '=HYPERLINK("http://evil.example/")',
    "+447700900123",
    "+44 (0) 7700-900.123",
    "-12.5",
    "-inf",
    "+",
    "-",
    "@SUM(A1)",
    "\tTAB",
    "+44abc",
    "+1\x1f2",  # the separator the column checks use, inside a would-be formula
    "unit\x1fseparator",
    "nul\x00inside",
    "line\u2028separator\u2029",
    "pay \u202e0021\u202c now",
    "back\\slash \\u0000 \\u001f",
    "café 😀 \ufeff باشم، سوپاس",
    "%s %d %% {0}",
    "x" * 5000,
]


def hostile_store(folder: Path) -> CaseStore:
    """Records of several types with every text of TEXTS in every kind of text column, odd JSON and floats,
    records with and without a source file (and one naming a source file that is not there)."""
    folder.mkdir(parents=True)
    store = CaseStore.in_folder(folder)
    src = SourceFile(
        path="/data/msgstore.db",
        layers=["raw phone.img"],
        provenance='raw phone.img → /data/"msg",store.db',
        sha256="cd" * 32,
        parser="whatsapp",
        record_count=len(TEXTS),
        size=8192,
        mtime=WHEN,
    )
    store.add(src)
    store.flush()
    extras: list[object] = [
        {},
        {"z": 1, "a": {"y": [3, 1.5, None, True], "b": "ü\u2028\x00"}, "m": "=1"},
        {"text": "=cmd", "n": -0.0, "big": 2**70, "e": 1e-7, "f": 1e16},
        {"nested": {"list": [{"b": 2, "a": 1}]}, "quote": '"', "sep": "\x1f"},
    ]
    raws: list[object] = [1747242131530, None, "raw text", 1.5, -(2**63), 2**63 - 1, [1, 2], {"b": 1, "a": 2}]
    for n, body in enumerate(TEXTS):
        store.insert(
            Message(
                app="whatsapp" if n % 2 else "sms",
                thread=TEXTS[(n + 3) % len(TEXTS)],
                direction="incoming" if n % 2 else "outgoing",
                counterpart=TEXTS[(n + 5) % len(TEXTS)] if n % 4 else None,
                sender=TEXTS[(n + 7) % len(TEXTS)] if n % 3 else None,
                body=body,
                time_utc=WHEN if n % 2 else ON_THE_SECOND,
                time_raw=raws[n % len(raws)],
                time_encoding="unix_ms",
                sent_utc=WHEN if n % 3 == 0 else None,
                sent_raw=raws[(n + 1) % len(raws)],
                read=None if n % 5 == 0 else bool(n % 2),
                deleted=bool(n % 3),
                extra=extras[n % len(extras)],  # type: ignore[arg-type]
                source_file_id=src.id if n % 6 else (None if n % 12 else 999),
                source_table="messages",
                source_row=TEXTS[n] if n % 2 else str(n),
                source_offset=None if n % 2 else n * 1000,
                source_row_sha256="ef" * 32,
            )
        )
        store.insert(
            Call(
                app="phone",
                direction="missed",
                counterpart=body,
                time_utc=WHEN,
                time_raw=n,
                time_encoding="unix_ms",
                duration_s=[0.1 + 0.2, float("inf"), -float("inf"), 1e16, -0.0, None, 3.0, 12.5][n % 8],
                video=None if n % 3 == 0 else bool(n % 2),
                extra={"text": body},
                source_file_id=src.id,
            )
        )
        store.insert(
            Location(
                origin="exif",
                latitude=50.9 + n / 100,
                longitude=-1.8 - n / 7,
                altitude_m=None if n % 2 else 1e-5 * n,
                time_utc=None if n % 3 else WHEN,
                label=body,
                source_file_id=src.id,
            )
        )
        store.insert(ParseWarning(stage="parser", component="whatsapp", level="warning", message=body))
        store.insert(
            Party(
                key=f"+4477009001{n:02d}",
                e164=body,
                region="GB",
                basis=None,
                ambiguous=bool(n % 2),
                candidates=[body],
                names=[body, "b", "a"],
                apps=["sms"],
                raw_forms=[],
                refs=[{"type": "message", "id": n}],
            )
        )
    store.insert(
        CustodyEvent(
            seq=1,
            time_utc=WHEN,
            actor="examiner",
            action="run",
            details={"b": 1, "a": [TEXTS[4]]},
            prev_sha256="0" * 64,
            sha256="1" * 64,
        )
    )
    store.commit()
    return store


def plant(store: CaseStore, statement: str) -> None:
    """A value written straight into the store, as no writer of ours writes it (a foreign or damaged store)."""
    store.session.execute(text(statement))
    store.commit()


def old_way(store: CaseStore, folder: Path) -> Path:
    folder.mkdir()
    write_records(store, folder)
    write_record_tables(store, folder)
    return folder


def assert_same_files(store: CaseStore, tmp_path: Path, page: int, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = old_way(store, tmp_path / "old")
    monkeypatch.setattr(export_columns, "PAGE", page)
    lines, tables = write_records_and_tables(store, tmp_path / f"columns-{page}")
    assert [p.name for p in lines.values()] == [f"{cls.record_type}.jsonl" for cls in EXPORTED_RECORDS]
    for path in [*lines.values(), *tables]:
        assert path.read_bytes() == (expected / path.name).read_bytes(), path.name


@pytest.mark.parametrize("page", [1, 3, 7, 2000])
def test_hostile_records_give_the_old_way_s_bytes(tmp_path: Path, page: int, monkeypatch: pytest.MonkeyPatch) -> None:
    store = hostile_store(tmp_path / "store")
    assert_same_files(store, tmp_path, page, monkeypatch)
    message = (tmp_path / f"columns-{page}" / "message.csv").read_text(encoding="utf-8-sig")
    assert '"\'=HYPERLINK(""http://evil.example/"")"' in message  # defused, then quoted
    assert ",'+1\x1f2," in message and ",+44 (0) 7700-900.123," in message  # not a number; a number
    store.close()


def test_a_page_is_made_in_parts_of_bounded_json_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A party's refs name every record it is linked from (4 MB of JSON for one number on a large phone): a page
    is decoded in parts of about PART_JSON_CHARS of stored JSON, one record alone when it holds more; the
    files stay the old way's bytes."""
    store = hostile_store(tmp_path / "store")
    for n in range(12):  # the numbers a phone's calls name most often: many refs each
        raw = f"+44 20 7946 00{n:02d}"
        refs = [{"type": "call", "id": i, "field": "counterpart", "raw": raw} for i in range(n * 40)]
        store.insert(Party(key=raw, e164=None, region="GB", basis=None, ambiguous=False,
                           candidates=[], names=[], apps=["phone"], raw_forms=[], refs=refs))  # fmt: skip
    store.commit()
    db = export_columns.sqlite_connection(store.session)
    assert db is not None
    parties = len(TEXTS) + 12

    def parts(chars: int) -> list[int]:
        """How many records each part a page of 7 was made in holds."""
        monkeypatch.setattr(export_columns, "PART_JSON_CHARS", chars)
        made = export_columns.record_pages(db, Party, lambda after, count: pytest.fail("made the old way"), 7)
        return [lines.count("\n") for lines, _, _ in made]

    assert parts(10**6) == [7, 7, 7, 7, 7]  # a page's whole text is under the bound: one part
    assert parts(1) == [1] * parties  # each record's text is over it: a part each
    middle = parts(3000)  # a few of the short ones together, the long ones alone
    assert sum(middle) == parties and 5 < len(middle) < parties and middle[-1] == 1
    for chars in (1, 3000):
        monkeypatch.setattr(export_columns, "PART_JSON_CHARS", chars)
        (tmp_path / str(chars)).mkdir()
        assert_same_files(store, tmp_path / str(chars), 7, monkeypatch)
    store.close()


@pytest.mark.parametrize(
    "statement",
    [
        # a time SQLAlchemy wrote otherwise (no microseconds): its page is made the old way
        "UPDATE message SET time_utc = '2025-05-14 17:02:11' WHERE id = 5",
        "UPDATE message SET sent_utc = '2025-05-14 17:02:11.530000+00:00' WHERE id = 2",
        # booleans other than 0 and 1
        "UPDATE message SET read = 2 WHERE id = 3",
        "UPDATE message SET read = 'yes' WHERE id = 4",
        "UPDATE message SET deleted = '' WHERE id = 6",
        "UPDATE call SET video = 0.5 WHERE id = 1",
        # numbers where text is declared and the other way round, a BLOB
        "UPDATE message SET source_offset = 1.25 WHERE id = 2",
        "UPDATE message SET source_offset = 'not a number' WHERE id = 7",
        "UPDATE message SET body = x'00ff41' WHERE id = 8",
        "UPDATE message SET source_file_id = 'x' WHERE id = 9",
        "UPDATE message SET source_file_id = '1 ' WHERE id = 10",
        "UPDATE message SET source_file_id = 1.0 WHERE id = 11",
        # stored JSON as no serializer of ours writes it
        'UPDATE message SET extra = \'  {"b": 1, "a": 2}  \' WHERE id = 10',
        "UPDATE message SET extra = '\"=text\"' WHERE id = 11",
        "UPDATE message SET extra = '[3, 1]' WHERE id = 12",
        "UPDATE message SET extra = 'null' WHERE id = 13",
        'UPDATE message SET extra = \'{"a": NaN, "b": Infinity, "a": 2}\' WHERE id = 14',
        "UPDATE message SET extra = x'7b7d' WHERE id = 15",
        "UPDATE message SET time_raw = 12345678901234567890 WHERE id = 16",
        "UPDATE call SET duration_s = 'long' WHERE id = 2",
        "UPDATE source_file SET sha256 = NULL, provenance = x'41'",
    ],
)
@pytest.mark.parametrize("chars", [export_columns.PART_JSON_CHARS, 1])  # a page whole, or a part per record
def test_values_stored_otherwise_give_the_old_way_s_bytes(
    tmp_path: Path, statement: str, chars: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = hostile_store(tmp_path / "store")
    plant(store, statement)
    monkeypatch.setattr(export_columns, "PART_JSON_CHARS", chars)
    assert_same_files(store, tmp_path, 4, monkeypatch)
    store.close()


def test_a_time_in_another_form_is_read_as_the_old_way_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = hostile_store(tmp_path / "store")
    plant(store, "UPDATE message SET time_utc = '2025-05-14 18:02:11' WHERE id = 5")
    monkeypatch.setattr(export_columns, "PAGE", 4)
    lines, _ = write_records_and_tables(store, tmp_path / "records", ["message"])
    fifth = lines["message"].read_text(encoding="utf-8").split("\n")[4]
    assert '"id": 5,' in fifth and '"time_utc": "2025-05-14T18:02:11Z"' in fifth
    store.close()


def test_an_empty_store_writes_empty_files_and_bare_headers(tmp_path: Path) -> None:
    store = CaseStore.in_folder(tmp_path)
    lines, tables = write_records_and_tables(store, tmp_path / "records")
    assert all(p.read_bytes() == b"" for p in lines.values())
    assert all(p.read_bytes() == "\ufeff\r\n".encode() for p in tables)
    store.close()


def test_the_collector_is_back_as_it_was(tmp_path: Path) -> None:
    store = hostile_store(tmp_path / "store")
    assert gc.isenabled()
    write_records_and_tables(store, tmp_path / "on", ["message"])
    assert gc.isenabled()
    gc.disable()
    try:
        write_records_and_tables(store, tmp_path / "off", ["message"])
        assert not gc.isenabled()
    finally:
        gc.enable()
    store.close()


def test_every_record_type_has_a_plan_whose_header_is_its_flat_keys() -> None:
    for cls in EXPORTED_RECORDS:
        plan = export_columns.plan_for(cls)
        assert plan.header == sorted(plan.header) and "type" in plan.header and "id" in plan.header
        assert ("provenance_path" in plan.header) == ("source_file_id" in cls.__table__.c)
        assert plan.json_format.count("%s") == len(plan.json_keys)
        assert plan.csv_format.count("%s") == len(plan.keys) + (2 if plan.source is not None else 0)


@pytest.mark.parametrize(
    "cells",
    [
        ["+447700900123", "+44 7700", "-5", "(0) 12"],  # would-be formulas that are numbers: kept
        ["+447700900123", "=1+1", "plain"],
        ["+1\x1f2", "+3"],  # the separator inside a cell
        ["a,b", 'q"q', "cr\r", "lf\n", "plain", ""],
        ["\x1f=x", "y"],
        ["@", "-", "+", "\t", "\r\n", "\n=x"],
        ["", "", ""],
        ['{"a": 1, "b": "x,y"}', '{"c": "\n"}', '"', '=""'],  # a quote in every cell
        ['{"a": "\x1f"}', '"\x1f"'],  # ... and the separator too
    ],
)
def test_a_column_s_cells_are_those_csv_writes_of_the_defused_cells(cells: list[str]) -> None:
    expected = io.StringIO(newline="")
    csv.writer(expected).writerows([[defuse(cell), "x"] for cell in cells])
    made = "".join(f"{cell},x\r\n" for cell in export_columns.csv_column(list(cells)))
    assert made == expected.getvalue()


def test_the_store_s_own_connection_is_used_on_sqlite(tmp_path: Path) -> None:
    store = CaseStore.in_folder(tmp_path)
    db = export_columns.sqlite_connection(store.session)
    assert db is not None and db.execute("SELECT 1").fetchone() == (1,)
    store.close()
