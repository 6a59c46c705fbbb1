"""`triage run` in a process of its own (triage/run/child.py), as the kiosk runs a case from a thread of its server:
the run forks there as `triage run` does, its progress reaches the caller's Reporter, its errors are raised in the
caller, and a run the caller stops records that it failed and leaves no bundle."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from fixtures.build_large_phone import SMS_DB, build_large_phone
from tests.bundle_layout import payload
from triage.errors import TriageError
from triage.run import database_forks
from triage.run.child import _replay, _sendable, run_in_child
from triage.run.pipeline import RunOptions, RunResult, run
from triage.run.progress import Reporter, Tracker
from triage.run.workdir import Terminated


class Recorder(Reporter):
    """Every stage opened and closed, and the last progress each stage was told, in order."""

    def __init__(self, on_open: Callable[[str], None] | None = None) -> None:
        self.events: list[tuple[str, str]] = []
        self.progress: dict[str, tuple[int, int | None]] = {}
        self.on_open = on_open

    @contextmanager
    def stage(self, description: str, total: int | None = None, unit: str = "items") -> Iterator[Tracker]:
        self.events.append(("open", description))
        if self.on_open is not None:
            self.on_open(description)
        recorder = self

        class Told(Tracker):
            def update(self, done: int, total: int | None = None) -> None:
                recorder.progress[description] = (done, total)

        yield Told()
        self.events.append(("close", description))


def in_side_thread(job: Callable[[], RunResult]) -> RunResult:
    """`job` on a thread that is not the main thread, as the kiosk's run is; its result, or its error raised."""
    answer: dict[str, Any] = {}

    def work() -> None:
        try:
            answer["result"] = job()
        except BaseException as e:  # noqa: BLE001 - raised again below, on the test's thread
            answer["error"] = e

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    if "error" in answer:
        raise answer["error"]
    return answer["result"]


def custody(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "custody.jsonl").read_text(encoding="utf-8").splitlines()]


@pytest.mark.skipif(database_forks._usable_cores() < 2, reason="forks are made only on two cores or more")
def test_a_run_from_a_side_thread_forks_and_reports_its_progress(tmp_path: Path) -> None:
    phone = tmp_path / "phone"
    build_large_phone(phone, messages=60_000, threads=12, photos=2)
    assert (phone / SMS_DB).stat().st_size >= database_forks.FORK_MIN_BYTES  # large enough to be parsed in a fork
    progress = Recorder()
    out = tmp_path / "out"
    result = in_side_thread(lambda: run_in_child(RunOptions(evidence=phone, out=out, examiner="kiosk"), progress))

    assert result.records["message"] == 60_000 and result.unchanged and result.bundle == out.with_suffix(".zip")
    assert result.bundle.is_file()
    parsed = next(e for e in custody(payload(out)) if e["action"] == "parsing finished")
    assert parsed["details"]["databases_parsed_in_forks"] == 1  # in a thread of this process it would be none
    # every stage the run opened reached this side, in order, each closed before the next opened
    opened = [name for kind, name in progress.events if kind == "open"]
    assert opened[:2] == ["Listing files", "SHA-256 of evidence files (before)"] and "Parsing" in opened
    assert opened[-2:] == ["Writing the report (pages, exports, report.pdf)", "Sealing the bundle"]
    assert progress.events == [event for name in opened for event in (("open", name), ("close", name))]
    evidence = [p for p in phone.rglob("*") if p.is_file()]
    assert progress.progress["SHA-256 of evidence files (before)"][0] == sum(p.stat().st_size for p in evidence)
    done, total = progress.progress["Parsing"]
    assert done == total and 0 < total <= len(evidence)


def test_a_refused_run_raises_here_what_triage_run_raises(tmp_path: Path) -> None:
    phone = tmp_path / "phone"
    build_large_phone(phone, messages=20, threads=2, photos=0)
    out = tmp_path / "out"
    out.mkdir()
    (out / "kept.txt").write_text("an earlier run's file\n", encoding="utf-8")
    for evidence, used in ((phone, out), (tmp_path / "none", None)):  # an output folder in use; no such evidence
        answers = []
        for how, new in ((run, tmp_path / "direct"), (run_in_child, tmp_path / "child")):
            opts = RunOptions(evidence=evidence, out=used or new, examiner="kiosk")
            with pytest.raises(TriageError) as refused:
                in_side_thread(lambda how=how, opts=opts: how(opts))
            answers.append((type(refused.value), str(refused.value).replace(str(new), "OUT")))
        assert answers[0] == answers[1]
    assert sorted(p.name for p in out.iterdir()) == ["kept.txt"]  # nothing written, nothing replaced


def test_a_run_this_side_stops_records_that_it_failed(tmp_path: Path) -> None:
    phone = tmp_path / "phone"
    build_large_phone(phone, messages=2_000, threads=4, photos=2)
    out = tmp_path / "out"

    def give_up(stage: str) -> None:
        if stage == "Parsing":
            raise RuntimeError("the officer closed the case")

    with pytest.raises(RuntimeError, match="closed the case"):
        in_side_thread(lambda: run_in_child(RunOptions(evidence=phone, out=out, examiner="kiosk"), Recorder(give_up)))
    last = custody(out)[-1]  # a run that did not finish is not sealed: its log stays in the output folder
    assert last["action"] == "run failed" and last["details"]["reason"] == "Terminated: stopped by SIGTERM"
    assert not out.with_suffix(".zip").exists()  # an unfinished bundle is never left


def test_an_error_that_cannot_be_sent_is_named() -> None:
    assert _sendable(Terminated(15)) == (None, "Terminated", "stopped by SIGTERM")
    error = TriageError("disk full")
    assert _sendable(error) == (error, "TriageError", "disk full")


CALLER = """
import sys, threading
from contextlib import contextmanager
from pathlib import Path

from triage.run.child import run_in_child
from triage.run.pipeline import RunOptions
from triage.run.progress import Reporter, Tracker


class Tell(Reporter):
    @contextmanager
    def stage(self, description, total=None, unit="items"):
        print(description, flush=True)
        yield Tracker()


if __name__ == "__main__":
    opts = RunOptions(evidence=Path(sys.argv[1]), out=Path(sys.argv[2]), examiner="kiosk")
    threading.Thread(target=run_in_child, args=(opts, Tell())).start()
"""


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] == "Z"  # a zombie has ended
    except (FileNotFoundError, IndexError):
        return True


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="finds the run's process through /proc")
def test_a_run_whose_caller_is_killed_stops_and_leaves_no_bundle(tmp_path: Path) -> None:
    """The kiosk's server killed mid-run: the run's process does not go on alone, it records that it failed."""
    phone = tmp_path / "phone"
    build_large_phone(phone, messages=60_000, threads=12, photos=2)
    (tmp_path / "caller.py").write_text(CALLER, encoding="utf-8")
    out = tmp_path / "out"
    root = Path(__file__).parents[2]
    caller = subprocess.Popen(
        [sys.executable, str(tmp_path / "caller.py"), str(phone), str(out)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    try:
        assert caller.stdout is not None
        for line in caller.stdout:
            if line.strip() == "Parsing":
                break
        tasks = Path(f"/proc/{caller.pid}/task").iterdir()  # the run's process is a child of the caller's thread
        children = [int(pid) for task in tasks for pid in (task / "children").read_text().split()]
        runs = [pid for pid in children if _spawned(pid)]
        assert len(runs) == 1, children
        caller.kill()
        caller.wait()
        deadline = time.monotonic() + 60
        while not _gone(runs[0]) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _gone(runs[0])
    finally:
        if caller.poll() is None:
            caller.kill()
            caller.wait()
    last = custody(out)[-1]
    assert last["action"] == "run failed" and last["details"]["reason"] == "Terminated: stopped by SIGTERM"
    assert not out.with_suffix(".zip").exists()


def _spawned(pid: int) -> bool:
    """A process multiprocessing spawned (its command line runs multiprocessing.spawn), not the resource tracker."""
    command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    return b"multiprocessing.spawn" in command


def test_progress_after_its_stage_ended_is_dropped_not_fatal() -> None:
    """A tracker advanced by a thread of the run after its stage closed must not stop the caller's watch."""
    receive, send = multiprocessing.Pipe(duplex=False)
    for message in (("stage", 1, "Copying", 10, "bytes"), ("end", 1), ("update", 1, 10, 10), ("end", 1), ("result", 7)):
        send.send(message)
    progress = Recorder()
    assert _replay(receive, progress) == 7
    assert progress.events == [("open", "Copying"), ("close", "Copying")] and progress.progress == {}
