"""One kiosk case: its steps in order, what each recorded, and who owns it.

The server enforces the order: no extraction without a recorded power, line of enquiry, necessity and
proportionality, and scope (docs/domain/legal.md, "PCSC Act 2022 s.37 code (extraction of information)").
A step can be seen only once every step before it is done, and the steps before the run are fixed once
the run has started, because the run's examination record holds them as they were.
"""

from __future__ import annotations

import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from pathlib import Path
from typing import Any

from triage.integrity.custody import CustodyLog
from triage.kiosk.intake import IntakeEntry
from triage.model.timeutil import iso, now_utc
from triage.run.scope import Scope


class Step(IntEnum):
    CASE = 0
    LEGAL = 1
    SCOPE = 2
    EVIDENCE = 3
    RUN = 4
    RESULT = 5
    EXPORT = 6
    CLOSE = 7


STEP_SLUGS = {s: s.name.lower() for s in Step}
STEP_TITLES = {
    Step.CASE: "Case and exhibit",
    Step.LEGAL: "Legal power",
    Step.SCOPE: "Scope",
    Step.EVIDENCE: "Evidence",
    Step.RUN: "Run",
    Step.RESULT: "Result and tags",
    Step.EXPORT: "Export",
    Step.CLOSE: "Close",
}
BEFORE_RUN = (Step.CASE, Step.LEGAL, Step.SCOPE, Step.EVIDENCE)
TAGS = {"relevant": "Relevant", "not-relevant": "Not relevant", "specialist": "Needs specialist"}
# the legal powers (the same words as the statement's legal-power box, triage/addenda/declarations.py)
PCSC_S37 = "PCSC Act 2022 s.37 agreement"
POWERS = (PCSC_S37, "PACE seizure", "warrant", "other")


@dataclass
class RunState:
    status: str = "not started"  # not started / running / finished / failed
    stage: str = ""
    done: int = 0
    total: int | None = None
    stages_done: list[str] = field(default_factory=list)
    error: str = ""
    bundle_folder: Path | None = None
    bundle_zip: Path | None = None


@dataclass
class KioskCase:
    id: str
    owner: str
    role: str
    work: Path  # this case's folder inside the kiosk's work folder
    opened: datetime = field(default_factory=now_utc)
    details: dict[str, str] = field(default_factory=dict)
    legal: dict[str, Any] | None = None
    scope: Scope | None = None
    scope_why: str = ""
    evidence: IntakeEntry | None = None
    done: set[Step] = field(default_factory=set)
    run: RunState = field(default_factory=RunState)
    findings: list[dict] = field(default_factory=list)
    level: str = ""  # red / amber / green (findings.json "assessment")
    kept: dict[str, int] = field(default_factory=dict)  # records kept by the scope, by type (findings.json)
    tags: dict[int, str] = field(default_factory=dict)
    exported: list[str] = field(default_factory=list)  # names written to the outbox
    bundle_identity: dict[str, str] | None = None  # the sealed bundle's name and manifest hashes
    log: CustodyLog | None = None  # the kiosk record of this case (triage/kiosk/record.py)
    prior_steps: list[tuple[str, dict]] = field(default_factory=list)  # into the run's custody log
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    @classmethod
    def open(cls, owner: str, role: str, work_root: Path) -> KioskCase:
        case_id = secrets.token_urlsafe(16)  # unguessable: an id in a URL grants nothing by itself anyway
        work = work_root / case_id
        work.mkdir(mode=0o700, parents=True)
        case = cls(case_id, owner, role, work)
        case.log = CustodyLog(work / "record" / "kiosk-log.jsonl", actor=owner)
        return case

    # -- order ---------------------------------------------------------------------------------
    @property
    def started(self) -> bool:
        return self.run.status != "not started"

    def next_step(self) -> Step:
        """The first step not done yet: where the officer is."""
        for step in Step:
            if step not in self.done:
                return step
        return Step.CLOSE

    def may_open(self, step: Step) -> bool:
        """Every step before it is done; steps before the run are fixed once it has started."""
        if step in BEFORE_RUN and self.started:
            return False
        if step == Step.CLOSE:
            return True  # a case can always be closed (and wiped), whatever step it is at
        return all(s in self.done for s in Step if s < step)

    # -- recording -----------------------------------------------------------------------------
    def record_step(self, action: str, **details: Any) -> None:
        """A step before the run: into this case's kiosk record now, and into the run's custody log later
        (as a parameter of the run, with the time it was taken)."""
        assert self.log is not None
        entry = self.log.record(action, **details)
        self.prior_steps.append((action, {**details, "taken_utc": entry["time_utc"], "by": self.owner}))

    def record(self, action: str, **details: Any) -> None:
        """A step during or after the run: into this case's kiosk record."""
        if self.log is not None:
            self.log.record(action, **details)

    def bundle_name(self) -> str:
        stamp = self.opened.strftime("%Y%m%dT%H%M%SZ")
        parts = [_safe(self.details.get("case", "")), _safe(self.details.get("exhibit", "")), stamp]
        return "_".join(p for p in parts if p)


def _safe(text: str) -> str:
    """A file-name part from a reference typed by an officer: letters, digits, - and . only."""
    return re.sub(r"[^A-Za-z0-9.-]+", "-", text).strip(".-")[:40]


def now_iso() -> str:
    return iso(now_utc())
