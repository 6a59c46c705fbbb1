"""Chain of custody: an append-only JSON Lines log in which every entry carries the SHA-256 of
the previous entry's line, so any edit, insertion or deletion breaks the chain at that point.

Entry fields: seq, time_utc, local_offset, actor, action, details, prev_sha256.

A complete examination record ends with a closing entry, "run finished" or "run failed" (with its
reason), and a finished run records "seal" (signing key, report hashes) before "run finished". A cut
tail leaves every remaining link intact, so `verify_chain` also requires that end.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from triage.model.timeutil import iso, now_utc

GENESIS = "0" * 64
RUN_FINISHED, RUN_FAILED = "run finished", "run failed"
CLOSING_ACTIONS = (RUN_FINISHED, RUN_FAILED)  # the last entry of a complete examination record
SEAL_ACTION = "seal"  # names the signing key and the report hashes; comes before "run finished"


def canonical_json(obj: Any) -> str:
    """One stable text form (sorted keys, no spaces) so hashes are reproducible."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def line_sha256(line: str) -> str:
    return hashlib.sha256(line.encode("utf-8")).hexdigest()


def local_offset(t: datetime) -> str:
    """The examiner's local UTC offset at time t, e.g. '+01:00' (the record needs UTC and local)."""
    offset = t.astimezone().utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


class CustodyLog:
    """Appends hash-chained entries to a JSONL file; resumes the chain of an existing file. Each entry is
    written whole or not at all, with room kept on the disk for the next ones until a closing entry
    (_append_whole): a full disk cannot leave half an entry, nor stop the run from saying it failed."""

    def __init__(self, path: Path, actor: str, on_entry: Callable[[dict, str], None] | None = None) -> None:
        self.path = path
        self.actor = actor
        self.on_entry = on_entry  # e.g. mirror into the case store
        self._seq, self._prev = self._tail(path)

    @staticmethod
    def _tail(path: Path) -> tuple[int, str]:
        if not path.exists() or path.stat().st_size == 0:
            return 0, GENESIS
        with open(path, "rb") as f:  # entries end at b"\n" only (a U+2028 in a value is not an end)
            last = (deque(f, maxlen=1) or [b""])[0]
        text = last.decode("utf-8").removesuffix("\n")
        return json.loads(text)["seq"], line_sha256(text)

    def record(self, action: str, **details: Any) -> dict:
        t = now_utc()
        entry: dict[str, Any] = {
            "seq": self._seq + 1,
            "time_utc": iso(t),
            "local_offset": local_offset(t),
            "actor": self.actor,
            "action": action,
            "details": details,
            "prev_sha256": self._prev,
        }
        line = canonical_json(entry)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _append_whole(self.path, (line + "\n").encode("utf-8"), keep_room=action not in CLOSING_ACTIONS)
        self._seq, self._prev = entry["seq"], line_sha256(line)
        if self.on_entry:
            self.on_entry(entry, self._prev)
        return entry


# Room kept on the disk for the entries still to come: a run that fills the disk must still be able to say so
# in its closing entry ("run failed: No space left on device"), which is far shorter than this.
RESERVED_BYTES = 64 * 1024
_FALLOC_FL_KEEP_SIZE = 1  # linux/falloc.h: allocate blocks past the end without changing the file's size


def _append_whole(path: Path, data: bytes, keep_room: bool) -> None:
    """Append one entry and make it durable, or leave the log as it was: a write cut short (a full disk) is
    cut off again, so the log never ends in half an entry. `keep_room`: reserve RESERVED_BYTES of blocks past
    the end for the next entries (Linux; elsewhere nothing is reserved); without it (the closing entry) the
    reserve is given back."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        try:
            written = 0
            while written < len(data):
                written += os.write(fd, data[written:])
            os.fsync(fd)
        except BaseException:
            os.ftruncate(fd, size)
            raise
        if keep_room:
            _reserve(fd, size + len(data), RESERVED_BYTES)
        else:
            os.ftruncate(fd, size + len(data))  # same size: frees the blocks reserved past the end
    finally:
        os.close(fd)


def _reserve(fd: int, offset: int, length: int) -> None:
    """Allocate disk blocks past the end of the file without changing its size or content (fallocate with
    FALLOC_FL_KEEP_SIZE): appends into them cannot fail for want of space. Best effort: a file system or
    system without it keeps no reserve, and the log stays whole either way (_append_whole)."""
    if _fallocate is None:
        return
    _fallocate(fd, _FALLOC_FL_KEEP_SIZE, offset, length)  # -1 (no space, not supported): no reserve


def _libc_fallocate() -> Callable[[int, int, int, int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        fallocate = ctypes.CDLL(None, use_errno=True).fallocate
    except (OSError, AttributeError):
        return None
    fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
    fallocate.restype = ctypes.c_int
    return cast(Callable[[int, int, int, int], int], fallocate)


_fallocate = _libc_fallocate()


@dataclass
class ChainCheck:
    ok: bool
    entries: int
    broken_line: int | None = None  # 1-based line number of the first bad entry (or where the missing one belongs)
    reason: str = ""
    linked: bool = True  # every entry carries the SHA-256 of the one before (no edit, insertion or removal)
    closed: bool = False  # the last entry is a closing one ("run finished" / "run failed")
    outcome: str = ""  # that closing action, "" when the log is not closed
    failure: str = ""  # the reason a "run failed" entry gives
    seal: dict | None = None  # details of the last "seal" entry: signing key and report hashes


def verify_chain(path: Path, require_closed: bool = True) -> ChainCheck:
    """Walk the log; report the first entry whose link to its predecessor does not hold, and (with
    require_closed, the default) a log that does not end with its closing entry: a tail cut off an
    append-only log leaves every remaining link intact, so only the missing end shows it."""
    with open(path, "rb") as f:  # split on b"\n" only: U+2028 inside a value is not a line end
        return verify_chain_lines(f, require_closed)


def verify_chain_lines(lines: Iterable[str | bytes], require_closed: bool = True) -> ChainCheck:
    """The same check on lines already read or streamed (a log inside a zip); a trailing newline is ignored.

    require_closed=False is for a log still being written (the report's "chain check when this page was
    written") or a log of another kind; `triage custody verify` and `triage verify` keep the default."""
    prev, seq, last, seal = GENESIS, 0, None, None
    for number, raw in enumerate(lines, start=1):
        text, problem = _decoded(raw)
        entry, problem = (None, problem) if problem else _check_entry(text, prev, seq + 1)
        if problem:
            return ChainCheck(False, number - 1, number, problem, linked=False)
        assert entry is not None  # _check_entry gives the entry whenever it finds no problem
        prev, seq, last = line_sha256(text), seq + 1, entry
        if entry.get("action") == SEAL_ACTION:
            seal = entry.get("details")
    check = _closing(seq, last, seal)
    problem = _closing_problem(check, last)
    if require_closed and problem:
        check.ok, check.broken_line, check.reason = False, seq + 1, problem
    return check


def _decoded(raw: str | bytes) -> tuple[str, str]:
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            return "", f"not valid UTF-8 ({e.reason} at byte {e.start})"
    return raw.removesuffix("\n"), ""


def _closing(entries: int, last: dict | None, seal: dict | None) -> ChainCheck:
    action = (last or {}).get("action")
    closed = action in CLOSING_ACTIONS
    details = (last or {}).get("details") if closed else None
    failure = str(details.get("reason", "")) if isinstance(details, dict) and action == RUN_FAILED else ""
    return ChainCheck(
        True,
        entries,
        closed=closed,
        outcome=str(action) if closed else "",
        failure=failure,
        seal=seal if isinstance(seal, dict) else None,
    )


def _closing_problem(check: ChainCheck, last: dict | None) -> str:
    if last is None:
        return "the log is empty: an examination record has at least its opening and closing entries"
    if not check.closed:
        return (
            f"the log ends at entry {check.entries} ('{last.get('action')}') without a closing entry "
            f"('{RUN_FINISHED}' or '{RUN_FAILED}'): its tail was cut off, or the run never finished"
        )
    if check.outcome == RUN_FINISHED and check.seal is None:
        return (
            f"'{RUN_FINISHED}' without a '{SEAL_ACTION}' entry before it: the entry naming the signing key "
            "and the report hashes is missing"
        )
    return ""


def _check_entry(line: str, prev: str, expected_seq: int) -> tuple[dict | None, str]:
    try:
        entry = json.loads(line)
    except json.JSONDecodeError as e:
        return None, f"not valid JSON ({e.msg})"
    if not isinstance(entry, dict):
        return None, "not a JSON object"
    if entry.get("prev_sha256") != prev:
        return None, "prev_sha256 does not match the SHA-256 of the previous entry (edited, inserted or removed entry)"
    if entry.get("seq") != expected_seq:
        return None, f"sequence number {entry.get('seq')} where {expected_seq} was expected"
    if canonical_json(entry) != line:
        return None, "entry is not in canonical form (it was re-serialised or edited)"
    return entry, ""
