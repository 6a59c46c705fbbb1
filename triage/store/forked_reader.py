"""A job that only reads the case store, run by a forked copy of this process while this one goes on
(triage/forked_job.py: the fork, the answer, the error, when a fork may be made).

The fork holds this process's state as it is (the report's context, the run's pack). The child opens the store on
a connection of its own (SQLite's write-ahead log lets a reader in beside the writer: `CaseStore.let_readers_in`),
runs the job and sends back its result. The report's timeline is written this way (triage/report/pages.py), and
the parties are linked this way into a file of their own (triage/run/passes.py).

`ForkedReader.result` waits for the child and returns its result, or raises the error that stopped it. A job
that can be done again (`again`: what removes the child's own output) is not lost with its child: when the child
fails (it could not read the store, it died) the job runs in this process, and `fell_back` says why, for the
examination record; a job that writes files removes, in `again`, those its child wrote (the report's timeline
pages: triage/report/pages.py), so that each file is still created once, exclusively.
Where no fork can be made (no os.fork; not the process's main thread; a store no other connection can open:
SQLite in memory) the job runs in this process when its result is asked for, on this process's session, so the
result is the same either way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Generic, TypeVar

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from triage.errors import TriageError
from triage.forked_job import ForkedJob
from triage.integrity.exclusive import ExistingFileError
from triage.model.records import Base
from triage.store import sqlite_in_memory
from triage.store.sqlite_locks import lock_holders

T = TypeVar("T")
R = TypeVar("R", bound=Base)

# the custody detail of a step whose second process failed and whose work this process did instead (same result)
SECOND_PROCESS_FAILED = "second_process_failed"


def failure_details(why: str | None, instead: str | None = None) -> dict[str, str]:
    """The custody entry's `second_process_failed`: why a second process failed and (`instead`) what the run did in
    its place; nothing when it did not fail (`why` None)."""
    if why is None:
        return {}
    return {SECOND_PROCESS_FAILED: f"{why}; {instead}" if instead else why}


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
    if sqlite_in_memory(url):
        return None
    return url.render_as_string(hide_password=False)


class ForkedReader(Generic[T]):
    """`job(session)` run in a forked child on its own session of the store at `url` (None: later, here).
    `what` names the job in an error. `again`: the job may be done again here when the child fails, after
    `again()` has removed what the child left (None: the child's error is raised)."""

    def __init__(
        self, job: Callable[[Session], T], url: str | None, what: str, again: Callable[[], None] | None = None
    ) -> None:
        self.job, self.again = job, again
        self.fell_back: str | None = None  # why the job was done in this process after its child failed
        self.forked: ForkedJob[T] | None = None
        if url is not None and ForkedJob.possible():
            self.forked = ForkedJob(partial(_on_own_session, job, url), what)

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs (None: the job runs here, or has ended)."""
        return self.forked.pid if self.forked is not None else None

    def result(self, session: Session) -> T:
        """The job's result once it is done (`session`: this process's, used when the job runs here)."""
        if self.forked is None:
            return self.job(session)
        try:
            return self.forked.result()
        except ExistingFileError:
            raise  # a file already there: nothing to do again, nothing of it to remove
        except TriageError as e:
            if self.again is None:
                raise
            self.again()
            self.forked, self.fell_back = None, str(e)
            return self.job(session)

    def stop(self) -> None:
        """Ends the child if it still runs (the step failed in this process before asking for the result)."""
        if self.forked is not None:
            self.forked.stop()


def _on_own_session(job: Callable[[Session], T], url: str) -> T:
    """In the child: the job on a new connection to the store (the parent's is never used there). A lock it waited
    out is told with who held which locks at that moment (sqlite_locks.py), for the examination record."""
    engine = create_engine(url)
    try:
        with Session(engine, autoflush=False) as session:
            return job(session)
    except Exception as e:
        database = engine.url.database
        if "database is locked" in str(e) and engine.dialect.name == "sqlite" and database:
            if (held := lock_holders(Path(database))) is not None:
                e.add_note(held)
        raise
    finally:
        engine.dispose()
