"""The run behind the kiosk's "Run" step: `triage run`'s pipeline (triage/run/pipeline.py) in a process of its own
(triage/run/child.py), watched from a thread, with the case's scope and its steps so far as parameters, and its
progress kept for the progress page."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from triage.bundle.layout import PAYLOAD_DIR
from triage.kiosk.flow import KioskCase, Step
from triage.kiosk.record import bundle_identity
from triage.run.progress import Reporter, Tracker

# the record types an officer recognises, as the result screen counts them
SHOWN_COUNTS = ("message", "call", "contact", "media_file", "location", "payment")
# one run at a time: a kiosk is one machine, and the run's private work folder is per process
_one_run = threading.Lock()


class _CaseTracker(Tracker):
    def __init__(self, case: KioskCase) -> None:
        self.case = case

    def advance(self, n: int = 1) -> None:
        self.case.run.done += n

    def update(self, done: int, total: int | None = None) -> None:
        self.case.run.done = done
        if total is not None:
            self.case.run.total = total


class CaseProgress(Reporter):
    """Keeps the current stage of the run on the case, for the progress page."""

    def __init__(self, case: KioskCase) -> None:
        self.case = case

    @contextmanager
    def stage(self, description: str, total: int | None = None, unit: str = "items") -> Iterator[Tracker]:
        run = self.case.run
        run.stage, run.done, run.total = description, 0, total
        yield _CaseTracker(self.case)
        run.stages_done.append(description)


def start_run(case: KioskCase, intake: Path, signing_key: Path | None) -> threading.Thread:
    """Start the pipeline on the case's evidence; the case's run state says how it goes."""
    from triage.run.pipeline import RunOptions

    assert case.evidence is not None and case.scope is not None and case.legal is not None
    out = case.work / "run" / case.bundle_name()
    out.parent.mkdir(mode=0o700)
    opts = RunOptions(
        evidence=intake / case.evidence.name,
        out=out,
        case=case.details.get("case", ""),
        exhibit=case.details.get("exhibit", ""),
        examiner=case.owner,
        signing_key=signing_key,
        scope=case.scope,
        prior_steps=list(case.prior_steps),
    )
    case.run.status = "running"
    case.record("run started", evidence=case.evidence.to_json(), scope=case.scope.to_json())
    thread = threading.Thread(target=_run, args=(case, opts), name=f"kiosk-run-{case.id[:6]}", daemon=True)
    thread.start()
    return thread


def _run(case: KioskCase, opts) -> None:  # noqa: ANN001 - RunOptions
    # in a process of its own, whose main thread may fork as `triage run` does (triage/run/child.py)
    from triage.run.child import run_in_child

    try:
        with _one_run:
            result = run_in_child(opts, CaseProgress(case))
        findings = json.loads((opts.out / PAYLOAD_DIR / "findings.json").read_text(encoding="utf-8"))
        with case.lock:
            case.findings = findings.get("findings", [])
            case.level = (findings.get("assessment") or {}).get("level", "")
            case.kept = {kind: n for kind, n in (findings.get("record_counts") or {}).items() if kind in SHOWN_COUNTS}
            case.run.bundle_folder, case.run.bundle_zip = opts.out, result.bundle
            case.bundle_identity = bundle_identity(opts.out)
            case.run.status = "finished"
            case.done.add(Step.RUN)
            case.record(
                "run finished",
                bundle=result.bundle.name if result.bundle else None,
                findings=result.findings,
                warnings=result.warnings,
                level=case.level,
                evidence_unchanged=result.unchanged,
                signed=result.signed,
            )
    except BaseException as e:  # noqa: BLE001 - the officer must see that it failed, and why
        with case.lock:
            case.run.status, case.run.error = "failed", f"{type(e).__name__}: {e}"
            case.record("run failed", reason=case.run.error)
