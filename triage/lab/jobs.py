"""The queue's job table: one row per submitted device, what `triage status` shows and what makes a retry safe.

It lives in the lab database's own schema (triage_lab), beside the cases' schemas. The broker (Redis)
only carries the job's id; everything an examiner needs to know about a device's examination (who
submitted it, which schema holds its records, which output folder each attempt wrote, why it
failed) is here, in the same database as the records, so it survives a restart of the broker.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection

LAB_SCHEMA = "triage_lab"
LAB_METADATA = MetaData()

# queued → running → finished | failed; a worker that died leaves "running" with an old heartbeat
QUEUED, RUNNING, FINISHED, FAILED = "queued", "running", "finished", "failed"

JOBS = Table(
    "job",
    LAB_METADATA,
    Column("id", Integer, primary_key=True),
    Column("job_id", String(64), nullable=False, unique=True),  # the broker message's task id
    Column("case_ref", Text, nullable=False),
    Column("exhibit", Text, nullable=False),
    Column("examiner", Text, nullable=False),
    Column("evidence", Text, nullable=False),
    Column("case_schema", String(63), nullable=False, unique=True),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("outputs", JSON, nullable=False, default=list),  # every attempt's output folder, in order
    Column("worker", Text),  # host:pid of the attempt running or last run
    Column("submitted_utc", DateTime(timezone=True), nullable=False),
    Column("started_utc", DateTime(timezone=True)),
    Column("heartbeat_utc", DateTime(timezone=True)),
    Column("finished_utc", DateTime(timezone=True)),
    Column("bundle", Text),
    Column("error", Text),
)

# A device's per-file media work in chunks any worker can take (triage/lab/media.py): working state of a
# running job, kept beside the job row and deleted when the device's parsing ends. Not in the case's
# schema: that holds exactly the examination's records, as case.sqlite does.
CHUNK_QUEUED, CHUNK_TAKEN, CHUNK_DONE = "queued", "taken", "done"

MEDIA_CHUNKS = Table(
    "media_chunk",
    LAB_METADATA,
    Column("id", Integer, primary_key=True),
    Column("job_id", String(64), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("chunk_no", Integer, nullable=False),
    Column("files", Integer, nullable=False),
    Column("staged", Text, nullable=False),  # the chunk's files, staged under the shared output root
    Column("state", String(16), nullable=False),
    Column("worker", Text),  # host:pid holding or having done it
    Column("taken_utc", DateTime(timezone=True)),  # refreshed while it is worked on: older than stale = dead
    UniqueConstraint("job_id", "attempt", "chunk_no"),
)

# one row per file of a chunk: keyed, so a chunk done twice (a retry, two workers) stores each result once
MEDIA_RESULTS = Table(
    "media_result",
    LAB_METADATA,
    Column("job_id", String(64), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("chunk_no", Integer, nullable=False),
    Column("position", Integer, nullable=False),
    Column("prepared", LargeBinary, nullable=False),  # the file's PreparedFile (triage/lab/media.py)
    PrimaryKeyConstraint("job_id", "attempt", "chunk_no", "position"),
)


def now() -> datetime:
    return datetime.now(UTC)


def add_job(c: Connection, **values: Any) -> None:
    c.execute(insert(JOBS).values(state=QUEUED, attempts=0, outputs=[], submitted_utc=now(), **values))


def job(c: Connection, job_id: str, lock: bool = False) -> dict[str, Any] | None:
    """The job's row; `lock`: held (FOR UPDATE) until the transaction ends, so two deliveries of one job
    never both start it."""
    query = select(JOBS).where(JOBS.c.job_id == job_id)
    row = c.execute(query.with_for_update() if lock else query).mappings().first()
    return dict(row) if row else None


def set_job(c: Connection, job_id: str, **values: Any) -> None:
    c.execute(update(JOBS).where(JOBS.c.job_id == job_id).values(**values))


def all_jobs(c: Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in c.execute(select(JOBS).order_by(JOBS.c.id)).mappings()]
