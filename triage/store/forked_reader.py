"""A job that only reads the case store, run by a forked copy of this process while this one goes on.

On two cores a step can hand one of its jobs to the other core without encoding what the job needs: a fork
holds this process's state as it is (the report's context, the run's pack). The child opens the store on a
connection of its own (SQLite's write-ahead log lets a reader in beside the writer: `CaseStore.let_readers_in`),
runs the job, and sends back its result, which must pickle (a list of files, a digest, counts); whatever
files it writes it creates exclusively, as everywhere else. The report's timeline is written this way
(triage/report/pages.py), and the parties are linked this way into a file of their own (triage/run/passes.py).

`ForkedReader.result` waits for the child and returns its result, or raises the error that stopped it.
Where no fork can be made (no os.fork; a store no other connection can open: SQLite in memory) the job runs
in this process when its result is asked for, on this process's session, so the result is the same either way.
So it does when the caller is not the process's main thread: a fork copies only the thread that forks, and a
lock another thread held at that moment stays held in the child. When the run is the main thread (`triage
run`, a lab worker) the other threads are the run's own helpers (progress display, heartbeat), which the child
never touches; a run in a server's thread would share the process with threads doing anything at all (the kiosk
therefore makes its runs in a process of their own: triage/run/child.py).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from typing import Any, Generic, NoReturn, TypeVar

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from triage.errors import TriageError
from triage.integrity.exclusive import ExistingFileError
from triage.model.records import Base

T = TypeVar("T")
R = TypeVar("R", bound=Base)


class ReadingSession:
    """A session dressed as the case store for code that reads through one (triage/store/rows.py): the child's
    own, with nothing buffered to flush."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def flush(self) -> None:
        """Nothing to write: the job only reads what the parent committed."""

    def all(self, cls: type[R]) -> Iterator[R]:
        """Records of one type in id order, as CaseStore.all reads them."""
        yield from self.session.scalars(select(cls).order_by(cls.id)).yield_per(1000)


def fork_url(session: Session) -> str | None:
    """The URL another process (a fork, the report's second process) opens the store by, password included; None
    when another connection would not see the same data (SQLite in memory)."""
    url = session.get_bind().engine.url
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        return None
    return url.render_as_string(hide_password=False)


class ForkedReader(Generic[T]):
    """`job(session)` run in a forked child on its own session of the store at `url` (None: later, here).
    `what` names the job in an error."""

    def __init__(self, job: Callable[[Session], T], url: str | None, what: str) -> None:
        self.job, self.what = job, what
        self.pid: int | None = None
        self.answers: Connection | None = None
        if url is not None and hasattr(os, "fork") and threading.current_thread() is threading.main_thread():
            self.answers, sending = multiprocessing.Pipe(duplex=False)
            pid = os.fork()
            if pid == 0:
                _child(job, url, sending)  # never returns
            self.pid = pid
            sending.close()  # the child's end: this process only reads

    def result(self, session: Session) -> T:
        """The job's result once it is done (`session`: this process's, used when the job runs here)."""
        if self.pid is None:
            return self.job(session)
        assert self.answers is not None
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

    def _reap(self) -> None:
        assert self.pid is not None
        os.waitpid(self.pid, 0)
        self.pid = None


def _child(job: Callable[[Session], Any], url: str, answers: Connection) -> NoReturn:
    """The forked child: the job on a new connection, its answer sent, then an immediate exit. Only the thread
    that forked is copied, so the child takes no lock another thread might have held (it writes nothing to
    stdout or stderr) and leaves by os._exit: no exit handler, stream flush or finaliser of the parent's runs."""
    try:
        gc.freeze()  # the parent's objects are never collected here: no finaliser of theirs runs in the child
        engine = create_engine(url)
        try:
            with Session(engine, autoflush=False) as session:
                answer: tuple[Any, ...] = ("done", job(session))
        finally:
            engine.dispose()
    except BaseException as e:  # noqa: BLE001 - every failure is told to the parent, which raises it
        answer = ("error", type(e).__name__, str(e))
    try:
        answers.send(answer)
    finally:
        os._exit(0)
