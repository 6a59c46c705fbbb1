"""`triage run`'s pipeline in a process of its own, for a caller that is not its process's main thread (the kiosk).

The pipeline spreads a large phone over the machine's cores with forks: the large databases are parsed in forks
(database_forks.py), a fork scans the message text and another links the parties (passes.py), a fork writes the
report's timeline pages (triage/store/forked_reader.py). It forks only from a process's main thread: a fork copies
the locks other threads hold (a web server's), and a child that needs one of them waits for ever. The kiosk runs a
case from a thread of its server, so its runs made no fork at all: on the 200,000-message bench phone 35.9 s against
28.4 s in a process of their own (bench/RESULTS.md).

`run_in_child` makes the run in a new interpreter ("spawn": none of the caller's threads or locks come with it),
in whose main thread the pipeline forks as `triage run` does. The options go over pickled; the progress comes back
as messages, replayed on the caller's Reporter as the stages open, advance and close; then the RunResult, or the
error that stopped the run, raised in the caller as the same exception (or, when it cannot be sent, as a
TriageError that names it). The run writes the same files either way: only the processes differ.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from multiprocessing.connection import Connection, wait
from typing import Any

from triage.errors import TriageError
from triage.run.pipeline import RunOptions, RunResult, run
from triage.run.progress import Reporter, Tracker

PROGRESS_EVERY = 0.2  # seconds: a stage's progress is sent at most this often (a tracker can advance per file)
STOP_WAIT = 60.0  # seconds the run is given to record its failure and clean up after it is told to stop


def run_in_child(opts: RunOptions, progress: Reporter | None = None) -> RunResult:
    """`run(opts, progress)` in a spawned process; returns its RunResult or raises its error here. If this side
    stops waiting (an exception in the caller's thread), the run is stopped as SIGTERM stops `triage run`: it
    records that it failed, and removes its unfinished bundle and work folder."""
    progress = progress or Reporter()
    spawn = multiprocessing.get_context("spawn")
    receive, send = spawn.Pipe(duplex=False)
    child = spawn.Process(target=_child_main, args=(opts, send), name="triage-run")
    child.start()
    send.close()  # the child holds the only sending end: its exit ends the pipe
    try:
        answer = _replay(receive, progress)
    except BaseException:  # the child died, or this side failed: the run must not go on unwatched
        _stop(child)
        raise
    finally:
        receive.close()
    child.join()  # it has answered: its own cleanup is all that is left
    if isinstance(answer, BaseException):
        raise answer
    return answer


def _stop(child: Any) -> None:
    """Stop the run as SIGTERM stops `triage run` (it records that it failed and removes what it left
    unfinished); killed if it has not ended within STOP_WAIT seconds."""
    if child.is_alive():
        child.terminate()
        child.join(STOP_WAIT)
    if child.is_alive():
        child.kill()
    child.join()


def _replay(receive: Connection, progress: Reporter) -> RunResult | BaseException:
    """Play the child's messages on `progress` until its answer: the RunResult, or the error to raise."""
    opened: dict[int, tuple[AbstractContextManager[Tracker], Tracker]] = {}
    try:
        while True:
            try:
                kind, *values = receive.recv()
            except EOFError:
                raise TriageError("the run's process ended without an answer (killed, or out of memory?)") from None
            if kind == "stage":
                number, description, total, unit = values
                opening = progress.stage(description, total, unit)
                opened[number] = (opening, opening.__enter__())
            elif kind == "update":  # a tracker advanced by a thread of the run after its stage ended: dropped
                number, done, total = values
                if number in opened:
                    opened[number][1].update(done, total)
            elif kind == "end":
                if values[0] in opened:
                    ended, _ = opened.pop(values[0])
                    ended.__exit__(None, None, None)
            elif kind == "result":
                return values[0]
            else:  # "error": the exception itself, or its type's name and text when it could not come over
                error, name, text = values
                return error if error is not None else TriageError(f"the run stopped: {name}: {text}")
    finally:
        for left, _ in reversed(opened.values()):  # stages the child never closed (it died)
            left.__exit__(None, None, None)


def _child_main(opts: RunOptions, send: Connection) -> None:
    """The spawned process: the run in its main thread, which may fork; its answer on `send`."""
    _stop_with_parent()
    reporter = _PipeReporter(send)
    try:
        result = run(opts, reporter)
    except BaseException as e:  # noqa: BLE001 - every failure is the caller's to see, SIGTERM's too
        reporter.send("error", *_sendable(e))
    else:
        reporter.send("result", result)
    finally:
        send.close()


def _stop_with_parent() -> None:
    """If the caller's process ends before the run (the kiosk's server killed), the run stops as SIGTERM stops
    `triage run`: it records that it failed and removes its unfinished bundle and work folder, rather than go on
    writing into a case folder the kiosk wipes when it starts again. A thread that only waits for the parent's
    end; the run's forks do not copy it."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        wait([parent.sentinel])
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="triage-run-parent-watch", daemon=True).start()


def _sendable(error: BaseException) -> tuple[BaseException | None, str, str]:
    """(the exception, if it survives pickling as the same thing, its type's name, its text)."""
    try:
        copy = pickle.loads(pickle.dumps(error))
        same = type(copy) is type(error) and str(copy) == str(error)
    except Exception:  # noqa: BLE001 - an exception whose arguments do not rebuild it (Terminated)
        same = False
    return (error if same else None), type(error).__name__, str(error)


class _PipeReporter(Reporter):
    """The child's Reporter: each stage and its progress as messages (sent under a lock: a tracker may be
    advanced from a thread of the run). Once the caller is gone nothing is sent: the run goes on to be stopped
    (`_stop_with_parent`), it does not fail on the closed pipe."""

    def __init__(self, send: Connection) -> None:
        self._send = send
        self._lock = threading.Lock()
        self._stages = 0
        self._gone = False

    def send(self, *message: Any) -> None:
        with self._lock:
            if self._gone:
                return
            try:
                self._send.send(message)
            except OSError:  # the caller's end is closed (BrokenPipeError): it has died or stopped listening
                self._gone = True

    @contextmanager
    def stage(self, description: str, total: int | None = None, unit: str = "items") -> Iterator[Tracker]:
        with self._lock:
            self._stages += 1
            number = self._stages
        self.send("stage", number, description, total, unit)
        tracker = _PipeTracker(self, number, total)
        try:
            yield tracker
        finally:
            tracker.flush()
            self.send("end", number)


class _PipeTracker(Tracker):
    """Counts here; sends where the stage is now at most every PROGRESS_EVERY seconds, and when it ends."""

    def __init__(self, reporter: _PipeReporter, number: int, total: int | None) -> None:
        self.reporter, self.number = reporter, number
        self.done, self.total = 0, total
        self.sent_at = 0.0
        self.unsent = False

    def advance(self, n: int = 1) -> None:
        self.done += n
        self._maybe_send()

    def update(self, done: int, total: int | None = None) -> None:
        self.done = done
        if total is not None:
            self.total = total
        self._maybe_send()

    def _maybe_send(self) -> None:
        self.unsent = True
        if time.monotonic() - self.sent_at >= PROGRESS_EVERY:
            self.flush()

    def flush(self) -> None:
        if self.unsent:
            self.reporter.send("update", self.number, self.done, self.total)
            self.sent_at, self.unsent = time.monotonic(), False
