"""The one task of the queue: examine a submitted device (triage/lab/examine.py does the work)."""

from __future__ import annotations

from celery import Task

from triage.lab.examine import Busy, examine_job
from triage.lab.queue import app

EXAMINE = "triage.lab.examine"


@app.task(bind=True, name=EXAMINE, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def examine(self: Task, job_id: str, db_url: str, out_root: str) -> str:
    try:
        return examine_job(job_id, db_url, out_root)
    except Busy as busy:  # another worker holds the device and is alive: look again later
        raise self.retry(countdown=busy.wait, max_retries=None) from None
