"""The report's second process reads the store while the passes write to it (CaseStore.let_readers_in), and
the sealed case file is one file again, readable where nothing can be written."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

from triage.model.records import Message, SourceFile
from triage.store import CaseStore, _write_once_pragmas


def _message(source: SourceFile, n: int) -> Message:
    return Message(
        app="sms",
        thread=None,
        direction="incoming",
        counterpart="+447700900123",
        sender="+447700900123",
        body=f"message {n}",
        time_utc=None,
        time_raw=None,
        time_encoding="none",
        source_file_id=source.id,
    )


def _store_with(folder: Path, messages: int) -> tuple[CaseStore, SourceFile]:
    store = CaseStore.in_folder(folder)
    source = SourceFile(path="/data/mmssms.db", layers=[], provenance="p")
    store.insert(source)
    for n in range(messages):
        store.insert(_message(source, n))
    return store, source


def test_a_reader_in_another_connection_neither_blocks_the_writer_nor_sees_later_rows(tmp_path: Path) -> None:
    store, source = _store_with(tmp_path, 3)
    store.let_readers_in()
    reader = sqlite3.connect(tmp_path / "case.sqlite", timeout=0.1)  # would raise "locked" if it blocked
    cursor = reader.execute("SELECT body FROM message ORDER BY id")
    first = cursor.fetchone()  # the reader's snapshot is open from here until the cursor is done
    for n in range(3, 6):
        store.insert(_message(source, n))
    store.commit()  # a rollback journal would wait for the reader and fail here
    rest = cursor.fetchall()
    assert [first[0], *[r[0] for r in rest]] == ["message 0", "message 1", "message 2"]
    assert reader.execute("SELECT count(*) FROM message").fetchone()[0] == 6  # a new read sees the new rows
    reader.close()
    store.close()


def test_the_closed_case_file_is_one_file_that_opens_read_only(tmp_path: Path) -> None:
    store, source = _store_with(tmp_path, 2)
    store.let_readers_in()
    store.insert(_message(source, 2))
    store.commit()
    store.insert(_message(source, 3))  # never committed: dropped, as by a store that stays in one file
    store.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case.sqlite"]  # no -wal or -shm left beside it
    header = (tmp_path / "case.sqlite").read_bytes()[18:20]
    assert header == b"\x01\x01"  # rollback journal again (2, 2 would be WAL)
    tmp_path.chmod(stat.S_IRUSR | stat.S_IXUSR)  # a read-only folder: no -shm could be made in it
    try:
        ro = sqlite3.connect(f"file:{tmp_path / 'case.sqlite'}?mode=ro", uri=True)
        assert ro.execute("SELECT count(*) FROM message").fetchone()[0] == 3
        ro.close()
    finally:
        tmp_path.chmod(stat.S_IRWXU)


def test_a_later_connection_of_the_writer_keeps_the_write_ahead_log(tmp_path: Path) -> None:
    """The store's connect-time pragmas set a rollback journal in memory. Set again on a later connection of the
    writing process (a pool's second connection) they took the shared file out of WAL at once, and the readers'
    next reads waited on the writer's transactions ("database is locked")."""
    store, source = _store_with(tmp_path, 3)
    store.let_readers_in()
    later = sqlite3.connect(tmp_path / "case.sqlite")
    _write_once_pragmas(later, None)  # what the store's engine runs on each new connection
    assert later.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert later.execute("PRAGMA synchronous").fetchone()[0] == 0  # the other pragmas still set
    later.close()
    reader = sqlite3.connect(tmp_path / "case.sqlite", timeout=0.1)
    assert reader.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    cursor = reader.execute("SELECT body FROM message ORDER BY id")
    cursor.fetchone()  # a read open while the writer commits
    for n in range(3, 6):
        store.insert(_message(source, n))
    store.commit()  # with the file out of WAL this waits for the reader and fails
    assert len(cursor.fetchall()) == 2
    assert reader.execute("SELECT count(*) FROM message").fetchone()[0] == 6
    reader.close()
    store.close()


def test_a_store_in_memory_lets_readers_in_without_a_log() -> None:
    store = CaseStore("sqlite://")
    store.let_readers_in()  # nothing else can open it: its journal mode stays "memory", and that is no error
    store.close()
