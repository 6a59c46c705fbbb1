"""A worker of a process pool dies while the pool's pipe to it is full: the pool breaks, its shutdown ends.

Each case runs in a process of its own, given a time limit: on an interpreter without the fix (triage/process_pool.py)
the shutdown never returns, and the test then fails instead of hanging the suite.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

LIMIT = 60  # seconds; the case takes about one


def _run(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code), *args],
            capture_output=True,
            text=True,
            timeout=LIMIT,
            cwd=Path(__file__).resolve().parents[2],
        )
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"the pool's shutdown did not end in {LIMIT} s (stderr: {e.stderr!r})")


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_a_worker_killed_with_its_pipe_full_breaks_the_pool_and_shutdown_ends(method):
    done = _run(
        """
        import multiprocessing, os, signal, sys, time
        from concurrent.futures.process import BrokenProcessPool
        from triage.process_pool import process_pool

        pool = process_pool(1, multiprocessing.get_context(sys.argv[1]))
        pid = pool.submit(os.getpid).result()
        busy = pool.submit(time.sleep, 30)  # the worker reads nothing more meanwhile
        payloads = [pool.submit(len, bytes(1 << 20)) for _ in range(4)]  # 4 MiB: far more than the pipe holds
        time.sleep(0.5)  # the feeder thread is now blocked writing
        os.kill(pid, signal.SIGKILL)
        broken = 0
        for future in [busy, *payloads]:
            try:
                future.result(timeout=30)
            except BrokenProcessPool:
                broken += 1
        pool.shutdown()
        print("ended", broken)
        """,
        method,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["ended", "5"]
    assert "Traceback" not in done.stderr  # the sentinels the dead worker cannot read are not reported as errors


def test_the_evidence_hashing_process_killed_mid_listing_costs_only_time(tmp_path):
    """As `triage run` hashes a folder's files beside the listing (pipeline.HashedBeside): 500 long paths a batch
    fill the pipe; the process killed, the run hashes the rest itself, the same hashes, and the pool closes."""
    folder = tmp_path / ("d" * 120)
    folder.mkdir()
    expected = {}
    for n in range(3000):
        path = folder / f"{'f' * 100}-{n}"
        path.write_bytes(n.to_bytes(2, "big"))
        expected[str(path)] = hashlib.sha256(n.to_bytes(2, "big")).hexdigest()
    listing = tmp_path / "files.txt"
    listing.write_text("\n".join(expected))
    done = _run(
        """
        import json, os, signal, sys
        from triage.integrity.file_hashes import hashing_pool
        from triage.run.pipeline import HashedBeside
        from triage.run.progress import Tracker

        files = open(sys.argv[1]).read().split("\\n")
        with hashing_pool(files) as pool:
            os.kill(pool.submit(os.getpid).result(), signal.SIGKILL)
            hashes = HashedBeside(pool, files).result(Tracker(), 0)
        print(json.dumps(hashes))
        """,
        str(listing),
    )
    assert done.returncode == 0, done.stderr
    import json

    assert json.loads(done.stdout) == expected
