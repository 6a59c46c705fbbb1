"""`triage submit`: a device into the lab database's job table and its id onto the queue."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.engine import make_url

from triage.errors import TriageError
from triage.lab.examine import lab_engine
from triage.lab.jobs import FAILED, JOBS, QUEUED, add_job, set_job
from triage.lab.migrate import upgrade_lab
from triage.lab.queue import configure
from triage.lab.schemas import case_schema


@dataclass
class Submitted:
    job_id: str
    case_schema: str


def submit(
    evidence: Path, case: str, exhibit: str, examiner: str, db_url: str, out_root: Path, broker: str | None = None
) -> Submitted:
    """Queue one device. Refused before anything is queued: no case or exhibit reference, a store that is
    not PostgreSQL, or an exhibit of the case that is being or has been examined. An exhibit whose job is
    still queued (its message lost with a restarted Redis) or failed is queued again, as the same job: a
    second message for it is harmless (the claim in triage/lab/examine.py runs a job once)."""
    if not case.strip() or not exhibit.strip():
        raise TriageError("--case and --exhibit are needed: they name the device's schema and output folder")
    if not make_url(db_url).drivername.startswith("postgresql"):
        raise TriageError(
            f"--db {make_url(db_url).render_as_string()} is not PostgreSQL: the lab's shared case "
            "store is a PostgreSQL database (`triage run --db` takes any other)"
        )
    evidence, out_root = evidence.resolve(), out_root.resolve()
    upgrade_lab(db_url)
    schema, job_id = case_schema(case, exhibit), str(uuid.uuid4())
    lab = lab_engine(db_url)
    try:
        with lab.begin() as c:
            earlier = c.execute(
                select(JOBS.c.job_id, JOBS.c.state).where(JOBS.c.case_schema == schema).with_for_update()
            ).first()
            if earlier is None:
                add_job(
                    c,
                    job_id=job_id,
                    case_ref=case,
                    exhibit=exhibit,
                    examiner=examiner,
                    evidence=str(evidence),
                    case_schema=schema,
                )
            elif earlier.state in (QUEUED, FAILED):
                job_id = earlier.job_id
                set_job(c, job_id, state=QUEUED, examiner=examiner, evidence=str(evidence), error=None)
            else:
                raise TriageError(
                    f"exhibit {exhibit!r} of case {case!r} was submitted already (job {earlier.job_id}, "
                    f"{earlier.state}); `triage status` shows it. A second examination of the same "
                    "device needs its own exhibit reference"
                )
        _send(lab, job_id, db_url, out_root, broker, keep_job=earlier is not None)
    finally:
        lab.dispose()
    return Submitted(job_id, schema)


def _send(
    lab,
    job_id: str,
    db_url: str,
    out_root: Path,
    broker: str | None,  # noqa: ANN001 - Engine
    keep_job: bool,
) -> None:
    from triage.lab.tasks import examine

    app = configure(broker)
    try:
        with app.connection_for_write() as connection:  # this broker, not a connection pooled for another one
            examine.apply_async(
                args=(job_id, db_url, str(out_root)), task_id=job_id, retry=False, connection=connection
            )
    except Exception as e:
        if not keep_job:
            with lab.begin() as c:  # not queued: no new job row left waiting for a message that never came
                c.execute(delete(JOBS).where(JOBS.c.job_id == job_id))
        raise TriageError(
            f"the queue at {configure(broker).conf.broker_url} did not take the job ({e}); "
            "is Redis running? (--broker or $TRIAGE_BROKER)"
        ) from e
