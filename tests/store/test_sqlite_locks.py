"""Who holds the case file's locks, said when a fork of the run meets "database is locked"
(triage/store/sqlite_locks.py): real locks taken by another process with sqlite3, read back from /proc/locks."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from triage.errors import TriageError
from triage.store.forked_reader import ForkedReader
from triage.store.sqlite_locks import PROC_LOCKS, lock_holders

pytestmark = pytest.mark.skipif(not PROC_LOCKS.exists(), reason="no /proc/locks on this system")

# another process: the statements run on the database (each one's rows fetched), its transaction then left open
HOLDER = (
    "import sqlite3, sys; c = sqlite3.connect(sys.argv[1], isolation_level=None); "
    "[c.execute(s).fetchall() for s in sys.argv[2:]]; print('held', flush=True); sys.stdin.read()"
)


def _database(folder: Path, journal: str) -> Path:
    db = folder / "case.sqlite"
    with sqlite3.connect(db) as c:
        c.execute(f"PRAGMA journal_mode={journal}")
        c.execute("CREATE TABLE message (id INTEGER PRIMARY KEY, body TEXT)")
        c.executemany("INSERT INTO message (body) VALUES (?)", [("hello",), ("again",)])
    c.close()
    return db


@contextmanager
def _held(db: Path, *statements: str) -> Iterator[int]:
    """The pid of a process holding what `statements` leave locked on `db`, until the block ends."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db), *statements], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        yield holder.pid
    finally:
        holder.communicate("")


def test_a_writer_holding_the_file_is_named_with_its_locks(tmp_path: Path) -> None:
    db = _database(tmp_path, "DELETE")
    assert lock_holders(db) is None  # nobody holds anything
    with _held(db, "BEGIN EXCLUSIVE") as pid:
        said = lock_holders(db)
    assert said is not None and said.startswith("locks on the case file then: ")
    # the three locks of an exclusive transaction, one range in /proc/locks
    assert f"case.sqlite bytes 1073741824-1073742335 (PENDING, RESERVED, SHARED) WRITE by pid {pid} [POSIX]" in said


def test_a_reader_of_the_write_ahead_log_is_named_with_its_mark(tmp_path: Path) -> None:
    db = _database(tmp_path, "WAL")
    with _held(db, "BEGIN", "SELECT count(*) FROM message") as pid:
        said = lock_holders(db)
    assert said is not None
    assert f"case.sqlite-shm byte 128 (shm in use) READ by pid {pid}" in said
    assert f"(reader mark 0) READ by pid {pid}" in said or f"(reader mark 1) READ by pid {pid}" in said


def test_a_fork_that_waits_out_a_lock_says_who_held_it(tmp_path: Path) -> None:
    """The fork's error (and so the examination record's `second_process_failed`) names the process holding the
    lock it could not get."""
    db = _database(tmp_path, "DELETE")

    def count(session: Session) -> int:
        return session.connection().exec_driver_sql("SELECT count(*) FROM message").scalar_one()

    with _held(db, "BEGIN EXCLUSIVE") as pid:
        job = ForkedReader(count, f"sqlite:///{db}?timeout=0.2", "counting")
        assert job.pid is not None
        with pytest.raises(TriageError) as raised:
            job.result(Session())
    message = str(raised.value)
    assert message.startswith("counting, in a second process: OperationalError: ")
    assert "database is locked" in message
    assert (
        "; locks on the case file then: case.sqlite bytes 1073741824-1073742335 (PENDING, RESERVED, SHARED) " in message
    )
    assert f"WRITE by pid {pid} [POSIX]" in message
