"""Large databases parsed in forks (triage/run/database_forks.py): the case store holds exactly what a run that
parsed every file in turn holds, on a folder and on an E01, and a fork that fails costs only time."""

from __future__ import annotations

import io
import json
import os
import sqlite3
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from fixtures.build_ios_dbs import WAL_ONLY_CALLS, build_callhistory
from fixtures.build_large_phone import build_large_phone
from fixtures.build_whatsapp_android import build_msgstore, build_wa
from tests.bundle_layout import payload
from triage.cli import main
from triage.errors import TriageError
from triage.evidence import FileEntry
from triage.run import database_forks

ROOT = Path(__file__).parents[2]
DEMO_E01 = ROOT / "fixtures" / "demo" / "demo.E01"
NEVER = 1 << 62  # a database size no file reaches: every file parsed in turn


@pytest.fixture(scope="module")
def phone(tmp_path_factory) -> Path:
    """SMS and contacts (fixtures/build_large_phone.py), WhatsApp with shared positions, an iOS call history
    with rows only in its -wal: every kind of link a parsed record has (source file, message, photo)."""
    root = tmp_path_factory.mktemp("forks") / "phone"
    build_large_phone(root, messages=1500, threads=12, photos=3)
    whatsapp = root / "data/data/com.whatsapp/databases"
    whatsapp.mkdir(parents=True)
    build_msgstore(whatsapp / "msgstore.db")
    build_wa(whatsapp / "wa.db")
    calls = root / "mobile/Library/CallHistoryDB/CallHistory.storedata"
    calls.parent.mkdir(parents=True)
    build_callhistory(calls, wal=True)
    return root


def triage_run(evidence: Path, out: Path, monkeypatch: pytest.MonkeyPatch, min_bytes: int, *options: str) -> Path:
    """`triage run` with databases of at least `min_bytes` parsed in forks (two, as on two cores)."""
    monkeypatch.setattr(database_forks, "FORK_MIN_BYTES", min_bytes)
    monkeypatch.setattr(database_forks, "_usable_cores", lambda: 2)
    with redirect_stdout(io.StringIO()):
        assert main(["run", str(evidence), "--out", str(out), "--quiet", *options]) == 0
    return payload(out)


def rows(case: Path) -> dict[str, list[tuple]]:
    """Every row of every table but the custody log's mirror (its times differ between runs)."""
    db = sqlite3.connect(f"file:{case}?mode=ro", uri=True)
    try:
        names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {n: db.execute(f'SELECT * FROM "{n}" ORDER BY id').fetchall() for n in names if n != "custody_event"}
    finally:
        db.close()


def custody_details(folder: Path, action: str) -> dict:
    entries = [json.loads(line) for line in (folder / "custody.jsonl").read_text().splitlines()]
    return next(e["details"] for e in entries if e["action"] == action)


def parsing_finished(folder: Path) -> dict:
    return custody_details(folder, "parsing finished")


@pytest.mark.parametrize("evidence", ["folder", "e01"])
def test_forked_databases_give_the_store_a_run_in_turn_gives(
    evidence: str, phone: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = phone if evidence == "folder" else DEMO_E01
    forked = triage_run(source, tmp_path / "forked", monkeypatch, min_bytes=1)
    in_turn = triage_run(source, tmp_path / "in-turn", monkeypatch, min_bytes=NEVER)
    databases = parsing_finished(forked)["databases_parsed_in_forks"]
    assert databases >= (5 if evidence == "folder" else 3)
    assert "databases_parsed_in_forks" not in parsing_finished(in_turn)
    got, expected = rows(forked / "case.sqlite"), rows(in_turn / "case.sqlite")
    assert got.keys() == expected.keys()
    for table in expected:
        assert got[table] == expected[table], table
    assert len(expected["message"]) > (1500 if evidence == "folder" else 10)
    # the links moved with their tables: positions point at their messages, records at their files
    db = sqlite3.connect(forked / "case.sqlite")
    linked = (
        "SELECT count(*) FROM location l JOIN message m ON m.id = l.message_id AND m.source_file_id = l.source_file_id"
    )
    assert db.execute(linked).fetchone()[0] > 0
    orphans = "SELECT count(*) FROM message m LEFT JOIN source_file s ON s.id = m.source_file_id WHERE s.id IS NULL"
    assert db.execute(orphans).fetchone()[0] == 0
    if evidence == "folder":
        flagged = db.execute("SELECT count(*) FROM call WHERE json_extract(extra, '$.wal_only')").fetchone()[0]
        assert flagged == len(WAL_ONLY_CALLS)  # read from the database alone, copied before the fork
    db.close()
    assert not list((tmp_path / "forked").rglob("fork-*.sqlite"))  # the forks' case files are gone


def test_a_fork_that_dies_leaves_its_databases_to_the_run(
    phone: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = database_forks._parse_into_own_file

    def dies_on_whatsapp(runner, cand, copy, retarget, folder, number):  # noqa: ANN001, ANN202 - as the real one
        if cand.entry.name == "msgstore.db":
            os._exit(3)  # killed mid-file: no answer at all
        return real(runner, cand, copy, retarget, folder, number)

    monkeypatch.setattr(database_forks, "_parse_into_own_file", dies_on_whatsapp)
    forked = triage_run(phone, tmp_path / "forked", monkeypatch, min_bytes=1)
    monkeypatch.setattr(database_forks, "_parse_into_own_file", real)
    in_turn = triage_run(phone, tmp_path / "in-turn", monkeypatch, min_bytes=NEVER)
    got, expected = rows(forked / "case.sqlite"), rows(in_turn / "case.sqlite")
    said = [w for w in got.pop("parse_warning") if "parsed in turn" in w[4]]
    assert len(said) == 1 and "msgstore.db" in said[0][4] and "stopped without an answer" in said[0][4]
    expected.pop("parse_warning")
    messages = {r[0] for r in expected["message"]}
    assert {r[0] for r in got["message"]} == messages  # every message stored, with the same ids
    for table in ("message", "location", "call", "contact", "media_file"):
        assert got[table] == expected[table], table


def test_a_fork_that_fails_says_why(phone: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fails(*args: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(database_forks, "_parse_into_own_file", fails)
    out = triage_run(phone, tmp_path / "out", monkeypatch, min_bytes=1)
    db = sqlite3.connect(out / "case.sqlite")
    said = [m for (m,) in db.execute("SELECT message FROM parse_warning") if "parsed in turn" in m]
    messages = db.execute("SELECT count(*) FROM message").fetchone()[0]
    db.close()
    assert len(said) == 2  # one per fork: each stops at its first file, the run parses the rest
    assert all("OperationalError: disk I/O error" in m for m in said)
    assert "databases_parsed_in_forks" not in parsing_finished(out)
    assert messages > 1500


def test_a_fork_never_reads_the_evidence() -> None:
    entry = FileEntry(path="/data/msgstore.db", layers=(), type="file", size=1, inode=None)
    with pytest.raises(TriageError, match="read by the run's main process only"):
        database_forks._EvidenceLeftBehind().open(entry)


def test_shares_balance_bytes_and_keep_listing_order() -> None:
    class Cand:
        def __init__(self, name: str, size: int) -> None:
            self.entry = FileEntry(path=f"/{name}", layers=(), type="file", size=size, inode=None)

    files = [Cand("a", 5), Cand("b", 30), Cand("c", 20), Cand("d", 6)]
    shares = database_forks._shares(files, 2)  # type: ignore[arg-type]
    assert [[c.entry.name for c in s.files] for s in shares] == [["b"], ["a", "c", "d"]]
    assert len(database_forks._shares(files[:1], 2)) == 1  # type: ignore[arg-type]


def test_a_scope_leaves_out_in_a_fork_what_it_leaves_out_in_turn(
    phone: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scope is applied in the fork as the records are stored there, and what it left out is counted in the
    examination record as if the run had parsed the database itself."""
    scope = ("--scope-categories", "messages,locations", "--scope-from", "2025-05-12", "--scope-to", "2025-05-12")
    forked = triage_run(phone, tmp_path / "forked", monkeypatch, 1, *scope)
    in_turn = triage_run(phone, tmp_path / "in-turn", monkeypatch, NEVER, *scope)
    assert parsing_finished(forked)["databases_parsed_in_forks"] >= 5
    applied = custody_details(forked, "scope applied")
    assert applied == custody_details(in_turn, "scope applied")
    assert applied["left_out"]["message"] >= 1500 and applied["left_out"]["call"] > 0
    got, expected = rows(forked / "case.sqlite"), rows(in_turn / "case.sqlite")
    assert got == expected
    assert got["message"] and not got["call"]
    assert parsing_finished(forked)["warnings"] == parsing_finished(in_turn)["warnings"]


@pytest.mark.parametrize("min_bytes", [1, 64 << 10])
def test_files_parsed_while_waiting_for_a_fork_keep_their_place(
    min_bytes: int, phone: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run parses the files after a database whose fork has not answered into a case file of its own, and
    appends it after the database's: the store is the one a run in turn makes. The forks are made to look
    never ready, so the run goes behind at every forked database (the photos in a worker, as on a phone)."""
    in_turn = triage_run(phone, tmp_path / "in-turn", monkeypatch, min_bytes=NEVER)
    monkeypatch.setattr(database_forks.DatabaseForks, "ready", lambda self, cand: False)
    made: list[Path] = []
    real_behind = database_forks.DatabaseForks.behind

    def behind(self: database_forks.DatabaseForks) -> database_forks.Behind:
        made.append((got := real_behind(self)).case_file)
        return got

    monkeypatch.setattr(database_forks.DatabaseForks, "behind", behind)
    forked = triage_run(phone, tmp_path / "forked", monkeypatch, min_bytes=min_bytes)
    assert made and not any(path.exists() for path in made)  # it went behind, and its case files are gone
    assert parsing_finished(forked)["databases_parsed_in_forks"] >= 1
    got, expected = rows(forked / "case.sqlite"), rows(in_turn / "case.sqlite")
    assert got.keys() == expected.keys()
    for table in expected:
        assert got[table] == expected[table], table
    assert parsing_finished(forked)["warnings"] == parsing_finished(in_turn)["warnings"]
    assert len(expected["media_file"]) >= 3 and len(expected["message"]) > 1500
