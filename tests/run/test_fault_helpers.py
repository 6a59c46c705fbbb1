"""The small helpers behind the fault corpus fixes (tests/run/test_faults.py runs them through `triage run`):
what a file's first bytes say it is, which partitions overlap, and what SQLite will do with a WAL
(made here by SQLite itself: intact, with a damaged frame, and with stale frames after a reset)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from triage.evidence.tsk import overlap_warnings
from triage.parsing.sidecars import sidecar_notes
from triage.parsing.signatures import describe

WAL_HEADER, FRAME_HEADER, PAGE = 32, 24, 4096


@pytest.mark.parametrize(
    "header, what",
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "JPEG image"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "PNG image"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "HEIF image"),
        (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00", "MP4/QuickTime video"),
        (b"PK\x03\x04\x14\x00\x00\x00\x08\x00", "zip archive"),
        (b"bplist00\xd1\x01\x02", "binary property list"),
        (b"  <?xml version='1.0'?><map>", "XML file"),
        (b"not a database\n", "text"),
        ("caf\u00e9 ".encode() + "\u00e9".encode()[:1], "text"),  # a character cut by the header's end
        (bytes(range(0, 64)), None),  # control bytes: nothing known, nothing guessed
        (b"", None),
    ],
)
def test_first_bytes_name_the_format(header, what):
    assert describe(header) == what


def test_overlapping_partitions_are_named_with_the_shared_sectors():
    extents = [(1, 2048, 34815), (2, 30720, 34815), (3, 34816, 40959), (4, 40000, 40100)]
    assert overlap_warnings(extents, "raw d.raw → GPT") == [
        "raw d.raw → GPT: partitions 1 and 2 overlap (sectors 30720-34815); both are examined, so files in the "
        "shared sectors may be listed under both; check the partition table",
        "raw d.raw → GPT: partitions 3 and 4 overlap (sectors 40000-40100); both are examined, so files in the "
        "shared sectors may be listed under both; check the partition table",
    ]
    assert overlap_warnings([(1, 0, 99), (2, 100, 199)], "x") == []  # adjacent is not overlapping


def wal_copy(tmp_path: Path, name: str, reset: bool = False) -> Path:
    """A database whose last transactions are only in its -wal (copied while SQLite holds it open).

    `reset`: checkpoint and restart the log before one more insert, so the new frame 1 (new salts) is
    followed by stale frames of the old log, as SQLite leaves them."""
    live = tmp_path / f"live-{name}"
    live.mkdir()
    db = sqlite3.connect(live / "app.db", isolation_level=None)
    db.execute("PRAGMA page_size = 4096")
    db.execute("PRAGMA journal_mode = wal")
    db.execute("PRAGMA wal_autocheckpoint = 0")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
    for i in range(4):
        db.execute("INSERT INTO t (body) VALUES (?)", ("x" * 3000 + str(i),))
    if reset:
        db.execute("PRAGMA wal_checkpoint(RESTART)")
        db.execute("INSERT INTO t (body) VALUES ('after the reset')")
    copy = tmp_path / name
    copy.mkdir()
    for f in ("app.db", "app.db-wal"):
        shutil.copyfile(live / f, copy / f)
    db.close()
    return copy / "app.db"


def frame_count(wal: Path) -> int:
    return (wal.stat().st_size - WAL_HEADER) // (FRAME_HEADER + PAGE)


def test_an_intact_wal_says_nothing(tmp_path):
    db = wal_copy(tmp_path, "intact")
    assert frame_count(Path(f"{db}-wal")) >= 5
    assert sidecar_notes(db) == []


def test_stale_frames_after_a_reset_are_not_damage(tmp_path):
    db = wal_copy(tmp_path, "reset", reset=True)
    assert frame_count(Path(f"{db}-wal")) >= 5  # the new transaction's frames, then the old log's
    assert sidecar_notes(db) == []
    assert sqlite3.connect(db).execute("SELECT count(*) FROM t").fetchone()[0] == 5


def test_a_damaged_frame_and_everything_after_it_is_said_to_be_ignored(tmp_path):
    db = wal_copy(tmp_path, "damaged")
    wal = Path(f"{db}-wal")
    frames = frame_count(wal)
    data = bytearray(wal.read_bytes())
    data[WAL_HEADER + 2 * (FRAME_HEADER + PAGE) + FRAME_HEADER + 100] ^= 0xFF  # a byte of frame 3's page
    wal.write_bytes(bytes(data))
    committed = sum(
        1 for i in range(frames) if int.from_bytes(data[WAL_HEADER + i * (FRAME_HEADER + PAGE) + 4 :][:4], "big")
    )
    [note] = sidecar_notes(db, "shown.db")
    assert note.startswith(
        f"write-ahead log (shown.db-wal): frame 3 of {frames} has a bad checksum; SQLite ignores "
        f"it and every frame after it ({frames - 2} frame(s), "
    )
    before = sum(1 for i in range(2) if int.from_bytes(data[WAL_HEADER + i * (FRAME_HEADER + PAGE) + 4 :][:4], "big"))
    assert note.endswith(f"the records come from the database file and the {before} transaction(s) in frames 1-2")
    assert f"{committed - before} committed transaction(s) lost" in note


def test_a_wal_shorter_than_its_header_is_said_to_be_ignored(tmp_path):
    (tmp_path / "a.db").write_bytes(b"")
    (tmp_path / "a.db-wal").write_bytes(b"\x37\x7f\x06\x82")
    assert sidecar_notes(tmp_path / "a.db") == [
        "write-ahead log (a.db-wal) of 4 bytes is shorter than its header: ignored by SQLite"
    ]


def test_a_wal_with_an_impossible_page_size_is_said_to_be_ignored(tmp_path):
    """A header whose checksum is right but whose page size SQLite cannot have (it would also make every
    frame gigabytes long): the log is ignored, as SQLite ignores it, and nothing that size is read."""
    import struct

    from triage.parsing.sidecars import _checksum

    head = struct.pack(">6I", 0x377F0682, 3007000, 1 << 30, 0, 1, 2)
    head += struct.pack(">2I", *_checksum(head, 0, 0, False))
    (tmp_path / "a.db").write_bytes(b"")
    (tmp_path / "a.db-wal").write_bytes(head + bytes(4096))
    assert sidecar_notes(tmp_path / "a.db") == [
        "write-ahead log (a.db-wal) declares page size 1073741824, which SQLite does not have: it ignores the whole log"
    ]
