"""`triage worker`: Celery worker processes taking devices from the queue, one device per process at a time.

Each process uses Celery's solo pool: the device is examined in the worker's main thread, as `triage run`
does it (signal handlers, the photo process pool of triage/parsing/parallel.py, the private work folder
all need the main thread of a process that may have children). `--concurrency N` starts N such
processes; a device already uses both cores of a small machine, so 1 is the default.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import uuid

from triage.lab.queue import QUEUE, configure


def run_worker(broker: str | None, concurrency: int = 1, loglevel: str = "INFO") -> int:
    if concurrency <= 1:
        return run_one(broker, loglevel)
    return _run_many(broker, concurrency, loglevel)


def run_one(broker: str | None, loglevel: str = "INFO", node: str | None = None) -> int:
    """One worker process in this process, until it is stopped (SIGTERM: the device in hand is finished first)."""
    import triage.lab.tasks  # noqa: F401 - registers the task with the app

    logging.basicConfig(level=loglevel, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = configure(broker)
    node = node or f"triage-{uuid.uuid4().hex[:8]}@%h"
    app.worker_main(
        [
            "worker",
            "--pool=solo",
            "--concurrency=1",
            f"--hostname={node}",
            f"--loglevel={loglevel}",
            "--without-gossip",
            "--without-mingle",
            "-Q",
            QUEUE,
        ]
    )
    return 0


def _run_many(broker: str | None, concurrency: int, loglevel: str) -> int:
    """N worker processes; a signal to this one is passed on to them, and it waits for all."""
    command = [
        sys.executable,
        "-m",
        "triage.lab.worker",
        "--broker",
        configure(broker).conf.broker_url,
        "--loglevel",
        loglevel,
    ]
    children = [subprocess.Popen(command) for _ in range(concurrency)]

    def pass_on(signum: int, _frame: object) -> None:
        for child in children:
            child.send_signal(signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, pass_on)
    return max(child.wait() for child in children)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="one triage worker process (triage worker --concurrency N starts N)")
    parser.add_argument("--broker")
    parser.add_argument("--loglevel", default="INFO")
    args = parser.parse_args()
    sys.exit(run_one(args.broker, args.loglevel))
