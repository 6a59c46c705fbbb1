"""A run killed outright takes its second processes with it (triage/lifeline.py): its forks, the workers of its
process pools (spawned, and made by a fork server, which then ends too) and the report's second process.

Before, the pools' workers waited forever on their queues, keeping the fork server and the resource tracker alive,
and a fork went on with its job (writing pages into the dead run's folder) until the job was done."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# a stand-in for the run: the same kinds of second processes, each then busy or waiting, their pids printed
RUN = textwrap.dedent(
    """
    import json, multiprocessing, os, subprocess, sys, time
    from triage.forked_job import ForkedJob
    from triage.process_pool import process_pool
    from triage.report.worker import SECOND_PROCESS_COMMAND

    if __name__ == "__main__":
        forked = ForkedJob(lambda: time.sleep(120), "a long job")
        spawned = process_pool(1, multiprocessing.get_context("spawn"))
        served = process_pool(1, multiprocessing.get_context("forkserver"))
        pids = {
            "fork": forked.pid,
            "spawned worker": spawned.submit(os.getpid).result(),
            "fork server worker": served.submit(os.getpid).result(),
        }
        pids["fork server"] = int(open(f"/proc/{pids['fork server worker']}/stat").read().split(") ")[1].split()[1])
        # the report's second process, as ReportWorker starts it (its stdin kept open: it waits for requests)
        second = subprocess.Popen([sys.executable, "-c", SECOND_PROCESS_COMMAND], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE)
        second.stdout.readline()  # it has started (its first line)
        pids["report's second process"] = second.pid
        print(json.dumps(pids), flush=True)
        time.sleep(120)
    """
)


def ended(pid: int) -> bool:
    """Gone, or a zombie its new parent has not reaped yet (it runs nothing)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def test_every_second_process_ends_when_the_run_is_killed(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(RUN)
    run = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    pids: dict[str, int] = {}
    try:
        pids = json.loads(run.stdout.readline())
        assert len(pids) == 5 and not any(ended(pid) for pid in pids.values())
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not all(ended(pid) for pid in pids.values()):
            time.sleep(0.1)
        assert [what for what, pid in pids.items() if not ended(pid)] == []
    finally:
        run.kill()
        for pid in pids.values():  # left by a failure: not to outlive the test
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
