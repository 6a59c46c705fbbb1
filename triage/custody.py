"""Chain of custody: an append-only JSON Lines log in which every entry carries the SHA-256 of
the previous entry's line, so any edit, insertion or deletion breaks the chain at that point.

Entry fields: seq, time_utc, local_offset, actor, action, details, prev_sha256.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from triage.timeutil import iso, now_utc

GENESIS = "0" * 64


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
    """Appends hash-chained entries to a JSONL file; resumes the chain of an existing file."""

    def __init__(self, path: Path, actor: str, on_entry: Callable[[dict, str], None] | None = None) -> None:
        self.path = path
        self.actor = actor
        self.on_entry = on_entry  # e.g. mirror into the case store
        self._seq, self._prev = self._tail(path)

    @staticmethod
    def _tail(path: Path) -> tuple[int, str]:
        if not path.exists() or path.stat().st_size == 0:
            return 0, GENESIS
        last = path.read_text(encoding="utf-8").splitlines()[-1]
        return json.loads(last)["seq"], line_sha256(last)

    def record(self, action: str, **details: Any) -> dict:
        t = now_utc()
        entry = {
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
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())
        self._seq, self._prev = entry["seq"], line_sha256(line)
        if self.on_entry:
            self.on_entry(entry, self._prev)
        return entry


@dataclass
class ChainCheck:
    ok: bool
    entries: int
    broken_line: int | None = None  # 1-based line number of the first bad entry
    reason: str = ""


def verify_chain(path: Path) -> ChainCheck:
    """Walk the log; report the first entry whose link to its predecessor does not hold."""
    return verify_chain_lines(path.read_text(encoding="utf-8").splitlines())


def verify_chain_lines(lines: list[str]) -> ChainCheck:
    """The same check on lines already read (a log inside a zip)."""
    prev, expected_seq = GENESIS, 1
    for number, line in enumerate(lines, start=1):
        problem = _check_entry(line, prev, expected_seq)
        if problem:
            return ChainCheck(False, number - 1, number, problem)
        prev, expected_seq = line_sha256(line), expected_seq + 1
    return ChainCheck(True, len(lines))


def _check_entry(line: str, prev: str, expected_seq: int) -> str:
    try:
        entry = json.loads(line)
    except json.JSONDecodeError as e:
        return f"not valid JSON ({e.msg})"
    if not isinstance(entry, dict):
        return "not a JSON object"
    if entry.get("prev_sha256") != prev:
        return "prev_sha256 does not match the SHA-256 of the previous entry (edited, inserted or removed entry)"
    if entry.get("seq") != expected_seq:
        return f"sequence number {entry.get('seq')} where {expected_seq} was expected"
    if canonical_json(entry) != line:
        return "entry is not in canonical form (it was re-serialised or edited)"
    return ""
