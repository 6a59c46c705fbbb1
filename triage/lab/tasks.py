"""The queue's tasks: examine a submitted device (triage/lab/examine.py), and do one chunk of a device's
per-file media work (triage/lab/media.py)."""

from __future__ import annotations

from pathlib import Path

from celery import Task

from triage.lab.examine import Busy, examine_job, worker_name
from triage.lab.media import ChunkJob, do_chunk
from triage.lab.queue import app

EXAMINE = "triage.lab.examine"
MEDIA_CHUNK = "triage.lab.media_chunk"


@app.task(bind=True, name=EXAMINE, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def examine(self: Task, job_id: str, db_url: str, out_root: str) -> str:
    try:
        return examine_job(job_id, db_url, out_root)
    except Busy as busy:  # another worker holds the device and is alive: look again later
        raise self.retry(countdown=busy.wait, max_retries=None) from None


# late acknowledgement as for a device: a worker lost mid-chunk leaves the message to another; a chunk that
# fails or whose worker died is also taken over by the device's own worker once its claim is stale
@app.task(name=MEDIA_CHUNK, acks_late=True, reject_on_worker_lost=True)
def media_chunk(job_id: str, attempt: int, chunk_no: int, db_url: str, staging: str) -> str:
    return do_chunk(ChunkJob(job_id, attempt, db_url, Path(staging)), chunk_no, worker_name())


def send_chunk(job_: ChunkJob, chunk_no: int) -> None:
    """Queue one chunk for any worker (SpreadMedia calls this when the chunk is staged)."""
    media_chunk.apply_async(args=(job_.job_id, job_.attempt, chunk_no, job_.db_url, str(job_.staging)), retry=False)
