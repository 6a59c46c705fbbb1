"""The kiosk's own audit log: sign-ins, lock-outs, refusals and the opening and closing of cases.

DPA 2018 s.62 asks that consultation, disclosure and erasure be logged with who, when and why
(docs/domain/legal.md, "Data Protection Act 2018, Part 3"). What happens inside a case goes into that
case's examination record (triage/kiosk/record.py); what happens around cases (who signed in, who was
refused what) goes here: a hash-chained JSON Lines file like the custody log (triage/integrity/custody.py), checked
with `triage custody verify` (it has no run, so it has no closing entry: use require_closed=False).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from triage.integrity.custody import CustodyLog

KIOSK = "kiosk"  # the actor of entries no operator caused (start, stop, expiry)


class AuditLog:
    def __init__(self, path: Path) -> None:
        self._log = CustodyLog(path, actor=KIOSK)
        self._lock = threading.Lock()
        self.path = path

    def record(self, actor: str | None, action: str, **details: Any) -> dict:
        with self._lock:  # one actor per entry: the shared log's actor is set and used under the lock
            self._log.actor = actor or KIOSK
            return self._log.record(action, **details)
