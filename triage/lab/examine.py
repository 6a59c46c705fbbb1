"""One delivery of a job: claim the device, (re)make its schema, `run()` it, record the outcome.

The examination itself is triage.run.pipeline.run, the same as `triage run`; this module only makes a
delivery safe to repeat:
- the claim takes the job's row under a lock, so two deliveries never both start a device;
- a device whose worker is alive (heartbeat younger than STALE_SECONDS) is left to it (Busy: the task
  looks again later); a finished or failed job is not run again (a redelivery after the end);
- a retry drops the schema the interrupted attempt half-wrote and makes it anew, so no record is ever
  stored twice, and writes a new output folder (outputs are never replaced); the interrupted attempt's
  folder is kept as it was left, and the new run's custody log names it.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from triage.errors import TriageError
from triage.lab.beat import Beat
from triage.lab.jobs import FAILED, FINISHED, LAB_SCHEMA, RUNNING, job, now, set_job
from triage.lab.migrate import upgrade_case
from triage.lab.schemas import drop_schema, store_url

log = logging.getLogger("triage.lab")

# a running job whose heartbeat is older than this is taken to be a dead worker's
STALE_SECONDS = float(os.environ.get("TRIAGE_LAB_STALE_SECONDS", 120))
MEDIA_STAGING = "media-chunks"  # beside the attempts' folders: a device's staged media chunks (triage/lab/media.py)
STARTED_ACTION = "lab job started"
RETRIED_ACTION = "lab job retried"  # the custody entry of an attempt after an interrupted one


class Busy(Exception):
    """The device is being examined by a live worker."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"job is running elsewhere; look again in {wait:.0f} s")
        self.wait = wait


@dataclass
class Claim:
    job: dict[str, Any]
    attempt: int
    out: Path
    worker: str


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def lab_engine(db_url: str) -> Engine:
    return create_engine(db_url, connect_args={"options": f"-csearch_path={LAB_SCHEMA}"}, pool_pre_ping=True)


def examine_job(job_id: str, db_url: str, out_root: str | Path) -> str:
    """Run the job's device once; returns the job's state afterwards (finished, failed, or what it was)."""
    lab = lab_engine(db_url)
    try:
        claim = claim_job(lab, job_id, Path(out_root))
        if claim is None:
            return _state(lab, job_id)
        return _examine(lab, claim, db_url)
    finally:
        lab.dispose()


def claim_job(lab: Engine, job_id: str, out_root: Path) -> Claim | None:
    """This worker's attempt at the job, or None when there is nothing to do (already finished or failed)."""
    with lab.begin() as c:
        row = job(c, job_id, lock=True)
        if row is None:
            raise TriageError(
                f"job {job_id} is not in the lab database's job table: was it submitted with another --db?"
            )
        if row["state"] in (FINISHED, FAILED):
            log.info("job %s is %s already: nothing to do", job_id, row["state"])
            return None
        if row["state"] == RUNNING and row["heartbeat_utc"] is not None:
            age = (now() - row["heartbeat_utc"]).total_seconds()
            if age < STALE_SECONDS:
                raise Busy(STALE_SECONDS - age + 1)
        attempt = row["attempts"] + 1
        out = out_root / row["case_schema"] / f"attempt-{attempt}"
        worker = worker_name()
        set_job(
            c,
            job_id,
            state=RUNNING,
            attempts=attempt,
            outputs=[*row["outputs"], str(out)],
            worker=worker,
            started_utc=now(),
            heartbeat_utc=now(),
            error=None,
        )
    return Claim(row, attempt, out, worker)


def _examine(lab: Engine, claim: Claim, db_url: str) -> str:
    from triage.run.pipeline import RunOptions, _reason, run

    row, job_id = claim.job, claim.job["job_id"]
    schema = row["case_schema"]
    if claim.attempt > 1:
        drop_schema(db_url, schema)  # what the interrupted attempt stored: gone, the retry stores it all again
        shutil.rmtree(claim.out.parent / MEDIA_STAGING, ignore_errors=True)  # its staged media chunks too
    upgrade_case(db_url, schema)
    opts = RunOptions(
        evidence=Path(row["evidence"]),
        out=claim.out,
        case=row["case_ref"],
        exhibit=row["exhibit"],
        examiner=row["examiner"],
        db_url=store_url(db_url, schema),
        prior_steps=[_custody_step(claim)],
        media_pool=_media_pool(claim, db_url),
    )
    log.info(
        "job %s: %s exhibit %s, attempt %d, into %s", job_id, row["case_ref"], row["exhibit"], claim.attempt, claim.out
    )
    with heartbeat(lab, job_id):
        try:
            result = run(opts)
        except Exception as e:  # noqa: BLE001 - recorded in the job table and the run's own custody log
            with lab.begin() as c:
                set_job(c, job_id, state=FAILED, finished_utc=now(), error=_reason(e))
            log.error("job %s failed: %s", job_id, _reason(e))
            return FAILED
    with lab.begin() as c:
        set_job(c, job_id, state=FINISHED, finished_utc=now(), bundle=str(result.bundle))
    log.info("job %s finished: bundle %s", job_id, result.bundle)
    return FINISHED


def _media_pool(claim: Claim, db_url: str) -> Callable[[], Executor] | None:
    """The device's per-file media work in chunks any worker can take (triage/lab/media.py); None when
    $TRIAGE_LAB_MEDIA_CHUNK_FILES is 0 (this worker's own process pool, as `triage run`)."""
    from triage.lab.media import ChunkJob, SpreadMedia, files_per_chunk
    from triage.lab.tasks import send_chunk

    if files_per_chunk() <= 0:
        return None
    staging = claim.out.parent / MEDIA_STAGING / f"attempt-{claim.attempt}"
    chunks = ChunkJob(claim.job["job_id"], claim.attempt, db_url, staging)
    return lambda: SpreadMedia(chunks, send_chunk)


def _custody_step(claim: Claim) -> tuple[str, dict[str, Any]]:
    """The run's record of the queue: which job, which attempt, on which worker, and after a retry what
    happened to the attempts before it."""
    row = claim.job
    details: dict[str, Any] = {
        "job_id": row["job_id"],
        "attempt": claim.attempt,
        "worker": claim.worker,
        "submitted_utc": row["submitted_utc"].isoformat(),
        "case_schema": row["case_schema"],
    }
    if claim.attempt == 1:
        return STARTED_ACTION, details
    details.update(
        previous_outputs=row["outputs"],
        previous_worker=row["worker"],
        why=f"the previous attempt's worker sent no heartbeat for {STALE_SECONDS:.0f} s (it stopped "
        "without finishing); its output folder is kept as it was left and is not a result",
        schema_recreated="the records the previous attempt stored were dropped; every record of "
        "this case store comes from this attempt",
    )
    return RETRIED_ACTION, details


def _state(lab: Engine, job_id: str) -> str:
    with lab.connect() as c:
        row = job(c, job_id)
    return row["state"] if row else "unknown"


def heartbeat(lab: Engine, job_id: str) -> Beat:
    """The job's heartbeat_utc refreshed while the device is examined, from a thread of its own."""

    def write() -> None:
        with lab.begin() as c:
            set_job(c, job_id, heartbeat_utc=now())

    return Beat(write, max(STALE_SECONDS / 4, 0.2), f"job {job_id}: heartbeat not written", "lab-heartbeat")
