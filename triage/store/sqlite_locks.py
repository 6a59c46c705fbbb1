"""Who holds locks on an SQLite case file right now, in words: said when a second process meets "database is locked".

SQLite locks byte ranges of the database file (a rollback journal's SHARED, RESERVED, PENDING and EXCLUSIVE locks)
and of its -shm file (the write-ahead log's writer, checkpointer, recovery and reader marks) with POSIX advisory
locks, which Linux lists in /proc/locks by process, file (device and inode) and range (a WRITE lock on the SHARED
range is SQLite's EXCLUSIVE lock). The run's forks read the case store while the run writes it, and once in many
runs a fork's first read waited out SQLite's busy timeout (bench/RESULTS.md, 2026-12-07): the fork now does the work
again in the run's process, and this description, added to the fork's error, says in the examination record which
process held what when it happened. Elsewhere than Linux: nothing is said.
"""

from __future__ import annotations

import os
from pathlib import Path

# byte offsets SQLite locks (its os_unix.c and wal.c): in the database file, and in the -shm file
_DATABASE_BYTES = {0x40000000: "PENDING", 0x40000001: "RESERVED"}  # then 510 bytes of SHARED
_SHARED_FIRST, _SHARED_COUNT = 0x40000002, 510
_SHM_BYTES = {120: "WAL writer", 121: "checkpointer", 122: "recovery", 128: "shm in use"}  # 123-127: reader marks
_READ_MARKS = range(123, 128)
PROC_LOCKS = Path("/proc/locks")


def lock_holders(database: Path) -> str | None:
    """The POSIX locks on `database` and its -wal and -shm files, one phrase each (None: none, or no /proc/locks)."""
    files = {}
    for suffix in ("", "-wal", "-shm"):
        path = Path(f"{database}{suffix}")
        try:
            st = os.stat(path)
        except OSError:
            continue
        files[st.st_ino] = path.name  # by inode alone: an overlay file system shows another device there
    try:
        lines = PROC_LOCKS.read_text(encoding="ascii", errors="replace").splitlines()
    except OSError:
        return None
    phrases = [phrase for line in lines if (phrase := _phrase(line, files)) is not None]
    return "locks on the case file then: " + "; ".join(phrases) if phrases else None


def _phrase(line: str, files: dict[int, str]) -> str | None:
    """One /proc/locks line ("1: POSIX ADVISORY WRITE 1234 fd:01:5678 120 120", "->" for a waiter) in words."""
    fields = line.replace("->", " ").split()
    if len(fields) < 8:
        return None
    kind, access, pid, where, start, end = fields[1], fields[3], fields[4], fields[5], fields[6], fields[7]
    try:
        name = files.get(int(where.rsplit(":", 1)[-1]))
    except ValueError:
        return None
    if name is None:
        return None
    waiting = " (waiting)" if "->" in line else ""
    return f"{name} {_what(name, start, end)} {access} by {_who(pid)}{waiting} [{kind}]"


def _what(name: str, start: str, end: str) -> str:
    """The locked range with the SQLite locks it covers (Linux joins a process's neighbouring ranges of one kind:
    PENDING, RESERVED and SHARED held at once show as one range)."""
    if not start.isdigit():
        return f"bytes {start}-{end}"
    first = int(start)
    last = int(end) if end.isdigit() else first + 2**40  # EOF: to the end of the file
    if name.endswith("-shm"):
        covered = [_shm_lock(b) for b in range(max(first, 120), min(last, 128) + 1)]
    else:
        covered = [n for b, n in _DATABASE_BYTES.items() if first <= b <= last]
        if first < _SHARED_FIRST + _SHARED_COUNT and last >= _SHARED_FIRST:
            covered.append("SHARED")
    where = f"byte {first}" if first == last else f"bytes {start}-{end}"
    return f"{where} ({', '.join(covered)})" if covered else where


def _shm_lock(byte: int) -> str:
    if byte in _READ_MARKS:
        return f"reader mark {byte - _READ_MARKS.start}"
    return _SHM_BYTES[byte]


def _who(pid: str) -> str:
    if pid == str(os.getpid()):
        return f"pid {pid} (this process)"
    if pid == str(os.getppid()):
        return f"pid {pid} (its parent)"
    return f"pid {pid}"
