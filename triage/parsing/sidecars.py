"""What SQLite will do with the -journal or -wal beside a database, said before it opens the copy.

Opening a copy replays its sidecar silently: a hot rollback journal is rolled back (the interrupted
transaction's changes disappear), a WAL is read up to the first frame whose salt or checksum does
not match (later frames, committed or not, are ignored). Both decide which records exist, so the
examination record must say so. Formats: https://www.sqlite.org/fileformat.html §4 (journal, WAL).
"""

from __future__ import annotations

import struct
from pathlib import Path

JOURNAL_MAGIC = bytes.fromhex("d9d505f920a163d7")
WAL_MAGICS = (0x377F0682, 0x377F0683)
VALID_PAGE_SIZES = frozenset(1 << n for n in range(9, 17))  # 512 … 65536 bytes


def sidecar_notes(db: Path, shown_as: str | None = None) -> list[str]:
    """Notes on `db`'s -journal and -wal (empty list: nothing that changes what is read).

    `shown_as`: the database's name in the evidence, when `db` is a working copy named otherwise."""
    notes = []
    name = shown_as or db.name
    journal = Path(f"{db}-journal")
    if journal.is_file():
        notes += journal_notes(journal, f"{name}-journal")
    wal = Path(f"{db}-wal")
    if wal.is_file():
        notes += wal_notes(wal, f"{name}-wal")
    return notes


def journal_notes(path: Path, name: str) -> list[str]:
    with open(path, "rb") as f:
        head = f.read(28)
    if len(head) < 28 or head[:8] != JOURNAL_MAGIC:
        return []  # zeroed or truncated header: a finished transaction, nothing is rolled back
    records, _, original_pages, _, page_size = struct.unpack(">IIIII", head[8:28])
    if records == 0:
        return []
    count = "an unknown number of" if records == 0xFFFFFFFF else str(records)
    return [
        f"hot rollback journal ({name}): an interrupted transaction changed {count} page(s) of "
        f"{page_size} bytes; SQLite rolls them back to the last committed state ({original_pages} pages), "
        "so the records are that state and the uncommitted changes are not among them"
    ]


def wal_notes(path: Path, name: str) -> list[str]:
    """Read frame by frame (a WAL can hold hundreds of MB), checking salts and the running checksum."""
    with open(path, "rb") as f:
        head = f.read(32)
        if len(head) < 32:
            return [f"write-ahead log ({name}) of {len(head)} bytes is shorter than its header: ignored by SQLite"]
        magic, _, page_size, _, salt1, salt2, c0, c1 = struct.unpack(">8I", head)
        if magic not in WAL_MAGICS:
            return [f"write-ahead log ({name}) has no WAL signature: ignored by SQLite"]
        big = magic == WAL_MAGICS[1]
        s0, s1 = _checksum(head[:24], 0, 0, big)
        if (s0, s1) != (c0, c1):
            return [f"write-ahead log ({name}) header checksum does not match: SQLite ignores the whole log"]
        if page_size not in VALID_PAGE_SIZES:
            return [
                f"write-ahead log ({name}) declares page size {page_size}, which SQLite does not have: it "
                "ignores the whole log"
            ]
        size = 24 + page_size
        frames = (path.stat().st_size - 32) // size
        commits_before = commits_after = 0
        bad = None
        for i in range(frames):
            frame = f.read(size)
            _page, commit, fs1, fs2, f0, f1 = struct.unpack(">6I", frame[:24])
            if bad is None:
                if (fs1, fs2) != (salt1, salt2):
                    break  # an old frame left from before the log was reset: normal, not damage
                s0, s1 = _checksum(frame[:8], s0, s1, big)
                s0, s1 = _checksum(frame[24:], s0, s1, big)
                if (s0, s1) != (f0, f1):
                    bad = i
                elif commit:
                    commits_before += 1
            if bad is not None and commit:
                commits_after += 1
    if bad is None:
        return []
    return [
        f"write-ahead log ({name}): frame {bad + 1} of {frames} has a bad checksum; SQLite ignores it and "
        f"every frame after it ({frames - bad} frame(s), {commits_after} committed transaction(s) lost), the "
        f"records come from the database file and the {commits_before} transaction(s) in frames 1-{bad}"
    ]


def _checksum(data: bytes, s0: int, s1: int, big_endian: bool) -> tuple[int, int]:
    words = struct.unpack(f"{'>' if big_endian else '<'}{len(data) // 4}I", data)
    for i in range(0, len(words), 2):
        s0 = (s0 + words[i] + s1) & 0xFFFFFFFF
        s1 = (s1 + words[i + 1] + s0) & 0xFFFFFFFF
    return s0, s1
