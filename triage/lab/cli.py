"""The lab's commands: `triage submit`, `triage worker`, `triage status`, `triage lab migrate`."""

from __future__ import annotations

import getpass
import os
from pathlib import Path

import click

from triage.errors import TriageError

BROKER_HELP = "Redis URL of the queue (default: $TRIAGE_BROKER, else redis://127.0.0.1:6379/0)."
DB_HELP = "SQLAlchemy URL of the lab's PostgreSQL database (default: $TRIAGE_DB)."


def _db(given: str | None) -> str:
    url = given or os.environ.get("TRIAGE_DB")
    if not url:
        raise TriageError("no lab database: give --db postgresql+psycopg://USER@HOST/DB or set $TRIAGE_DB")
    return url


@click.command("submit")
@click.argument("evidence", type=click.Path(exists=True, path_type=Path))
@click.option("--case", required=True, help="Case reference.")
@click.option("--exhibit", required=True, help="Exhibit reference of the device (one submit per exhibit).")
@click.option("--examiner", default=None, help="Operator name for the examination record (default: login name).")
@click.option("--broker", default=None, help=BROKER_HELP)
@click.option("--db", "db_url", default=None, help=DB_HELP)
@click.option(
    "--out-root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Shared folder every worker sees at the same path; each device's bundle is written under it "
    "(default: $TRIAGE_OUT_ROOT).",
)
def submit_command(
    evidence: Path,
    case: str,
    exhibit: str,
    examiner: str | None,
    broker: str | None,
    db_url: str | None,
    out_root: Path | None,
) -> None:
    """Queue EVIDENCE (a path every worker sees) for examination by a `triage worker`."""
    from triage.lab.submit import submit

    root = out_root or (Path(os.environ["TRIAGE_OUT_ROOT"]) if os.environ.get("TRIAGE_OUT_ROOT") else None)
    if root is None:
        raise TriageError(
            "no output root: give --out-root DIR (a folder shared by every worker) or set $TRIAGE_OUT_ROOT"
        )
    done = submit(evidence, case, exhibit, examiner or getpass.getuser(), _db(db_url), root, broker)
    click.echo(f"queued: job {done.job_id}, case schema {done.case_schema}")


@click.command("worker")
@click.option("--broker", default=None, help=BROKER_HELP)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Worker processes, each examining one device at a time.",
)
@click.option("--loglevel", default="INFO", show_default=True, help="Celery log level.")
def worker_command(broker: str | None, concurrency: int, loglevel: str) -> int:
    """Examine devices from the queue until stopped (SIGTERM lets the device in hand finish)."""
    from triage.lab.worker import run_worker

    return run_worker(broker, concurrency, loglevel)


@click.command("status")
@click.option("--broker", default=None, help=BROKER_HELP)
@click.option("--db", "db_url", default=None, help=DB_HELP)
def status_command(broker: str | None, db_url: str | None) -> None:
    """The queue's depth and each submitted device's state."""
    from triage.lab.status import job_lines, jobs, queue_depth

    depth = queue_depth(broker)
    click.echo(f"queue: {depth.waiting} waiting, {depth.taken} taken by workers")
    rows = jobs(_db(db_url))
    for line in job_lines(rows) or ["no devices submitted"]:
        click.echo(line)


@click.group("lab")
def lab() -> None:
    """The lab database (PostgreSQL shared by submit, workers and reviewers)."""


@lab.command("migrate")
@click.option("--db", "db_url", default=None, help=DB_HELP)
def migrate_command(db_url: str | None) -> None:
    """Bring the job table and every case schema up to the current schema (Alembic)."""
    from triage.lab.migrate import migrate

    schemas = migrate(_db(db_url))
    click.echo(f"up to date: job table and {len(schemas)} case schema(s)")


COMMANDS = (submit_command, worker_command, status_command, lab)
