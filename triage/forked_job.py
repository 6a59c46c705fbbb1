"""A job run by a forked copy of this process while this one goes on, its result (or its error) sent back.

On two cores a step hands one of its jobs to the other core without encoding what the job needs: the fork holds
this process's state as it is. The job's result must pickle (a list of files, a digest, counts); whatever files it
writes it creates exclusively, as everywhere else. Jobs that read the case store are built on this
(triage/store/forked_reader.py); so is the acquisition hash of an image, read beside the listing and the parsing
(triage/run/media_hash.py).

A fork is made only from the process's main thread: a fork copies only the thread that forks, and a lock another
thread held at that moment stays held in the child. When the run is the main thread (`triage run`, a lab worker,
the kiosk's run process: triage/run/child.py) the other threads are the run's own helpers (progress display,
heartbeat), which the child never touches. `ForkedJob.possible()` says whether a fork may be made here.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, Generic, NoReturn, TypeVar

from triage.errors import TriageError
from triage.integrity.exclusive import ExistingFileError
from triage.lifeline import exit_with

T = TypeVar("T")


class ForkedJob(Generic[T]):
    """`job()` run in a forked child from now on; `what` names the job in an error. Make it only where
    `possible()` says so."""

    def __init__(self, job: Callable[[], T], what: str) -> None:
        self.what = what
        self.answers, sending = multiprocessing.Pipe(duplex=False)
        parent = os.getpid()
        try:
            pid = os.fork()
        except OSError:  # no process to be had (a process limit, no memory): nothing left open
            self.answers.close()
            sending.close()
            raise
        if pid == 0:
            exit_with(parent)  # a run killed outright takes its job with it (triage/lifeline.py)
            _child(job, sending)  # never returns
        self.pid: int | None = pid
        sending.close()  # the child's end: this process only reads

    @staticmethod
    def possible() -> bool:
        """Whether a fork may be made here: the platform has one and this is the process's main thread."""
        return hasattr(os, "fork") and threading.current_thread() is threading.main_thread()

    def result(self) -> T:
        """The job's result once it is done, or its error raised here (as a TriageError naming the job, but for
        an existing file, raised as itself)."""
        try:
            answer = self.answers.recv()
        except EOFError:
            answer = ("error", "TriageError", "it stopped without an answer")
        finally:
            self.answers.close()
            self._reap()
        if answer[0] == "done":
            return answer[1]
        _, kind, message = answer
        if kind == "ExistingFileError":
            raise ExistingFileError(message)
        raise TriageError(f"{self.what}, in a second process: {kind}: {message}")

    def stop(self) -> None:
        """Ends the child if it still runs (the step failed in this process before asking for the result)."""
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass  # it had ended already
            self._reap()
            self.answers.close()

    def _reap(self) -> None:
        if self.pid is not None:
            os.waitpid(self.pid, 0)
            self.pid = None


def _child(job: Callable[[], Any], answers: Connection) -> NoReturn:
    """The forked child: the job, its answer sent, then an immediate exit. It takes no lock another thread might
    have held (it writes nothing to stdout or stderr) and leaves by os._exit: no exit handler, stream flush or
    finaliser of the parent's runs."""
    try:
        gc.freeze()  # the parent's objects are never collected here: no finaliser of theirs runs in the child
        answer: tuple[Any, ...] = ("done", job())
    except BaseException as e:  # noqa: BLE001 - every failure is told to the parent, which raises it
        answer = ("error", type(e).__name__, "; ".join([str(e), *getattr(e, "__notes__", ())]))
    try:
        answers.send(answer)
    finally:
        os._exit(0)
