"""Issue 13, failure 6 (SQLite): a recursive view named `message` in a 40 KB msgstore.db grew the process
to 15 GB. Views are never followed (the structure check wants real tables) and every read of a
working copy spends the file's time and row budget (triage/limits.py, triage/sqlite_budget.py)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from parsers.base import open_sqlite, table_columns
from parsers.sqlite_query import tables
from triage.evidence import open_evidence
from triage.limits import ParseLimits
from triage.parsing import ParseRunner
from triage.sqlite_budget import SqliteBudget, SqliteBudgetReached, spending

ROOT = Path(__file__).parents[2]
MSGSTORE = "data/data/com.whatsapp/databases/msgstore.db"
SMS = "data/data/com.android.providers.telephony/databases/mmssms.db"
COUNT_FOR_EVER = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n)"


def msgstore_with_recursive_message_view(path: Path) -> Path:
    """chat and jid as WhatsApp has them; `message` a view counting for ever, with every column the
    parser's structure check names (so a check that accepts views lets the parser read it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE jid (_id INTEGER PRIMARY KEY, raw_string TEXT)")
        db.execute("CREATE TABLE chat (_id INTEGER PRIMARY KEY, jid_row_id INTEGER)")
        db.execute("INSERT INTO jid VALUES (1, '447700900123@s.whatsapp.net')")
        db.execute("INSERT INTO chat VALUES (1, 1)")
        db.execute(
            f"CREATE VIEW message AS {COUNT_FOR_EVER} SELECT x AS _id, 1 AS chat_row_id, x % 2 AS from_me, "
            "hex(randomblob(16)) AS key_id, 1747000000000 + x AS timestamp, x AS sort_id FROM n "
            "ORDER BY key_id"
        )
        db.execute("CREATE TABLE padding (data BLOB)")  # the size of the file: ~40 KB
        db.execute("INSERT INTO padding VALUES (zeroblob(32768))")
    return path


def msgstore_with_recursive_app_view(path: Path, messages: int = 3) -> Path:
    """A modern msgstore.db with real rows, whose own `available_message_view` (which the parser reads
    to flag "clear chat") recurses for ever."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE jid (_id INTEGER PRIMARY KEY, raw_string TEXT)")
        db.execute("CREATE TABLE chat (_id INTEGER PRIMARY KEY, jid_row_id INTEGER)")
        db.execute(
            "CREATE TABLE message (_id INTEGER PRIMARY KEY, chat_row_id INTEGER, from_me INTEGER, "
            "key_id TEXT, timestamp INTEGER, text_data TEXT)"
        )
        db.execute("INSERT INTO jid VALUES (1, '447700900123@s.whatsapp.net')")
        db.execute("INSERT INTO chat VALUES (1, 1)")
        db.executemany(
            "INSERT INTO message VALUES (?, 1, 0, ?, ?, 'hello')",
            [(i, f"K{i}", 1747000000000 + i) for i in range(1, messages + 1)],
        )
        # counts for ever before its first row: SQLite works without a pause, Python never sees a row
        db.execute(
            f"CREATE VIEW available_message_view AS {COUNT_FOR_EVER} SELECT message._id AS _id FROM message "
            "WHERE message._id > (SELECT count(*) FROM n)"
        )
    return path


def sms_db(path: Path, rows: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE sms (_id INTEGER PRIMARY KEY, thread_id INTEGER, address TEXT, date INTEGER, "
            "type INTEGER, body TEXT)"
        )
        db.executemany(
            "INSERT INTO sms (thread_id, address, date, type, body) VALUES (1, '+447700900123', ?, 1, ?)",
            [(1747000000000 + i, f"message {i}") for i in range(rows)],
        )
    return path


def parse_folder(folder: Path, limits: ParseLimits = ParseLimits()) -> tuple[list, list, list]:
    """(sources, records, warnings) of the parsers on a folder evidence."""
    sources, records, warnings = [], [], []
    with open_evidence(folder) as ev, tempfile.TemporaryDirectory() as work:
        runner = ParseRunner(
            ev, Path(work), sources.append, lambda r, s: records.append(r), lambda *w: warnings.append(w), limits=limits
        )
        for candidate in runner.select():
            runner.parse(candidate)
    return sources, records, warnings


# -- views are never followed -----------------------------------------------------------------------------
GUARDED_RUN = textwrap.dedent("""
    import json, resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))  # a regression fails here, the machine lives
    from pathlib import Path
    from tests.parsing.test_parse_limits import parse_folder
    sources, records, warnings = parse_folder(Path(sys.argv[1]))
    print(json.dumps({"sources": [(s.path, s.status, s.parser) for s in sources],
                      "records": len(records), "warnings": [w[1:4] for w in warnings]}))
""")


def test_recursive_view_named_message_is_refused_as_a_look_alike(tmp_path):
    db = msgstore_with_recursive_message_view(tmp_path / "phone" / MSGSTORE)
    assert 30_000 < db.stat().st_size < 60_000
    result = subprocess.run(
        [sys.executable, "-c", GUARDED_RUN, str(tmp_path / "phone")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = json.loads(result.stdout)
    assert out["sources"] == [[f"/{MSGSTORE}", "not parsed", "whatsapp_android"]]
    assert out["records"] == 0
    assert out["warnings"] == [
        [
            "whatsapp_android",
            "not parsed",
            "unknown schema: missing table message (there is a view of that name; only tables are read)",
        ]
    ]


def test_views_and_virtual_tables_are_not_tables(tmp_path):
    path = tmp_path / "x.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE real (a, b)")
        db.execute("CREATE VIEW seen AS SELECT a FROM real")
        db.execute("CREATE VIRTUAL TABLE words USING fts4(body)")
    with open_sqlite(path) as db:
        assert table_columns(db, "real") == {"a", "b"} and table_columns(db, "REAL") == {"a", "b"}
        assert table_columns(db, "seen") == set() and table_columns(db, "words") == set()
        assert "seen" not in tables(db) and "words" not in tables(db) and "real" in tables(db)


# -- the budgets -------------------------------------------------------------------------------------------
def test_time_budget_stops_a_recursive_view_of_the_app_and_says_which_option_raises_it(tmp_path):
    msgstore_with_recursive_app_view(tmp_path / "phone" / MSGSTORE)
    limits = ParseLimits(sqlite_seconds_per_file=0.5, sqlite_rows_per_file=10**12)
    sources, records, warnings = parse_folder(tmp_path / "phone", limits)
    assert [(s.path, s.status) for s in sources] == [(f"/{MSGSTORE}", "not parsed")]
    said = [w[3] for w in warnings if w[1] == "whatsapp_android"]
    assert said[0].startswith("available_message_view cannot be read (interrupted)")
    assert said[1].startswith("stopped after 0 record(s): SQLite time budget reached: stopped after ")
    assert said[1].endswith("(limit 0.5 s per file; raise it with --sqlite-seconds)")
    assert not records


def test_row_budget_keeps_the_records_read_before_it(tmp_path):
    sms_db(tmp_path / "phone" / SMS, rows=1000)
    sources, records, warnings = parse_folder(tmp_path / "phone", ParseLimits(sqlite_rows_per_file=100))
    source = sources[0]
    assert source.status == "parsed in part" and 0 < len(records) < 100 and source.record_count == len(records)
    assert [r.body for r in records] == [f"message {i}" for i in range(len(records))]  # kept, in order
    said = [w[3] for w in warnings if w[1] == "android_sms"]
    assert said == [
        f"stopped after {len(records)} record(s): SQLite row budget reached: stopped after 100 row(s) "
        f"in {said[0].split(' in ')[1].split(' s ')[0]} s (limit 100 rows per file; raise it with "
        f"--sqlite-rows)"
    ]
    mms = [w[3] for w in warnings if w[1] == "android_mms"]  # the file's budget was spent: named, not run
    assert mms == ["not run on this file: " + said[0].split(": ", 1)[1]]


def test_budgets_are_per_file_and_do_not_stop_a_phone_with_a_larger_limit(tmp_path):
    sms_db(tmp_path / "phone" / SMS, rows=1000)
    sources, records, warnings = parse_folder(tmp_path / "phone")
    assert sources[0].status == "parsed" and len(records) == 1000 and not warnings


def test_a_parser_opening_the_copy_itself_spends_the_files_budget(tmp_path):
    path = sms_db(tmp_path / "sms.db", rows=10)
    budget = SqliteBudget(ParseLimits(sqlite_rows_per_file=3))
    with spending(budget), open_sqlite(path) as db:  # no budget given: the active one
        with pytest.raises(SqliteBudgetReached, match="SQLite row budget reached: stopped after 3 row"):
            db.execute("SELECT body FROM sms").fetchall()
        with pytest.raises(sqlite3.OperationalError, match="interrupted"):  # spent: every statement stops
            db.execute(f"{COUNT_FOR_EVER} SELECT count(*) FROM n").fetchall()
    assert budget.reached == "rows" and budget.rows == 3
    with open_sqlite(path) as db:  # outside a run: a fresh default budget, never none
        assert len(db.execute("SELECT body FROM sms").fetchall()) == 10


def test_limits_are_checked_and_recorded():
    assert ParseLimits().to_json() == {"sqlite_seconds_per_file": 120.0, "sqlite_rows_per_file": 20_000_000}
    with pytest.raises(ValueError, match="sqlite_seconds_per_file must be > 0"):
        ParseLimits(sqlite_seconds_per_file=0)
    with pytest.raises(ValueError, match="sqlite_rows_per_file must be >= 1"):
        ParseLimits(sqlite_rows_per_file=0)


def test_time_python_spends_on_the_rows_does_not_spend_the_budget(tmp_path):
    path = sms_db(tmp_path / "sms.db", rows=10)
    now = [0.0]

    def clock() -> float:  # each progress call: 1 ms of SQLite work
        now[0] += 0.001
        return now[0]

    budget = SqliteBudget(ParseLimits(sqlite_seconds_per_file=5.0), clock=clock)
    busy = "(WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n LIMIT 300000) SELECT count(*) FROM n)"
    bodies = []
    with open_sqlite(path, budget) as db:
        for row in db.execute(f"SELECT body, {busy} AS work FROM sms ORDER BY _id"):
            bodies.append(row["body"])
            now[0] += 100.0  # a slow parser: 100 s of Python per row
    assert len(bodies) == 10 and budget.reached is None
    assert 0 < budget.seconds < 5.0  # SQLite's own work was counted, Python's 1000 s were not
