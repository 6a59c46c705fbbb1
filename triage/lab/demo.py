"""`make lab-demo`: PostgreSQL, Redis and one worker on this machine, the demo phone through the queue.

Everything lives under a new folder of out/lab (the servers' data, the shared output root) and the
servers stop at the end; the bundle stays. It shows the lab's moving parts in one command; a real
lab runs the services once for all (README "Lab deployment").
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from triage.errors import TriageError

ROOT = Path(__file__).resolve().parents[2]
DEMO_E01 = ROOT / "fixtures" / "demo" / "demo.E01"
WAIT_SECONDS = 600


def start_worker(broker: str, log: Path, env: dict[str, str] | None = None, cpu: int | None = None) -> subprocess.Popen:
    """`triage worker` as a process of its own session (so it and its children can be stopped together);
    `cpu`: kept on that core (a benchmark's one-core machine)."""
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "triage.cli", "worker", "--broker", broker],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **(env or {})},
            preexec_fn=(lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None,
        )


def stop_worker(worker: subprocess.Popen) -> None:
    """SIGTERM: Celery's warm shutdown (the device in hand is finished first; the demo waits for none)."""
    if worker.poll() is None:
        worker.terminate()
        try:
            worker.wait(60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def wait_for(db_url: str, job_ids: list[str], seconds: float = WAIT_SECONDS) -> list[dict]:
    """The jobs' rows once every one is finished or failed."""
    from triage.lab.jobs import FAILED, FINISHED
    from triage.lab.status import jobs

    deadline = time.monotonic() + seconds
    while True:
        rows = [r for r in jobs(db_url) if r["job_id"] in job_ids]
        if len(rows) == len(job_ids) and all(r["state"] in (FINISHED, FAILED) for r in rows):
            return rows
        if time.monotonic() > deadline:
            raise TriageError(f"jobs not done after {seconds:.0f} s: {[(r['exhibit'], r['state']) for r in rows]}")
        time.sleep(0.5)


def main() -> int:
    from triage.lab.services import lab_services
    from triage.lab.submit import submit

    folder = ROOT / "out" / "lab" / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out_root = folder / "bundles"
    with lab_services(folder / "services") as (postgres, redis):
        print(f"PostgreSQL: {postgres.url}\nRedis: {redis.url}")
        worker = start_worker(redis.url, folder / "worker.log")
        try:
            done = submit(
                DEMO_E01, "DEMO-CASE-001", "EXH-DEMO-1", "Lab Demo Examiner", postgres.url, out_root, redis.url
            )
            print(f"submitted: job {done.job_id} (schema {done.case_schema}); worker log {folder / 'worker.log'}")
            row = wait_for(postgres.url, [done.job_id])[0]
        finally:
            stop_worker(worker)
    shutil.rmtree(folder / "services", ignore_errors=True)  # the throwaway servers' data: the bundle is the result
    if row["state"] != "finished":
        print(f"the demo job failed: {row['error']}", file=sys.stderr)
        return 1
    print(f"bundle: {row['bundle']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
