"""One series of report pages written by a forked copy of this process while this one writes the others.

On two cores the report step has three large jobs: the second process's exports and statement (worker.py),
the conversation pages and the timeline. Once the conversations and the by-id listings are written, the timeline
needs nothing more from this process than what it already holds (the report's context, every link to the
series before it), so a fork of this process writes it on a connection of its own while this one goes on with
the listings after it. A fork shares that state without copying or encoding it; the child only reads the store
(SQLite's write-ahead log lets a reader in beside the writer) and writes its own files, each created
exclusively.

The child tells which files it wrote, in order, or the error that stopped it; `ForkedPages.files` raises that
error here. Where no fork can be made (no os.fork; a store no other connection can open: SQLite in memory) the
job runs in this process when it is asked for, so the files and their order are the same either way.
"""

from __future__ import annotations

import multiprocessing
import os
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from triage.errors import TriageError
from triage.integrity.exclusive import ExistingFileError

# a job: given a session of its own, writes its pages and returns the files in writing order
PageJob = Callable[[Session], list[Path]]


def fork_url(session: Session) -> str | None:
    """The URL a forked child opens the store by; None when another connection would not see the same data."""
    url = session.get_bind().engine.url
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        return None
    return url.render_as_string(hide_password=False)


class ForkedPages:
    """`job` run in a forked child on its own connection to the store at `url` (None: later, in this process)."""

    def __init__(self, job: PageJob, url: str | None) -> None:
        self.job, self.url = job, url
        self.child: Any = None
        self.answers: Connection | None = None
        if url is not None and hasattr(os, "fork"):
            context = multiprocessing.get_context("fork")
            self.answers, sending = context.Pipe(duplex=False)
            self.child = context.Process(target=_child, args=(job, url, sending), name="report-pages", daemon=True)
            self.child.start()
            sending.close()  # the child's end: this process only reads

    def files(self, session: Session) -> list[Path]:
        """The job's files in writing order, once it is done (`session`: this process's, when it runs here)."""
        if self.child is None:
            return self.job(session)
        assert self.answers is not None
        try:
            answer = self.answers.recv()
        except EOFError:
            answer = ("error", "TriageError", f"it stopped without an answer (exit code {self.child.exitcode})")
        finally:
            self.child.join()
            self.answers.close()
        if answer[0] == "files":
            return [Path(p) for p in answer[1]]
        _, kind, message = answer
        if kind == "ExistingFileError":
            raise ExistingFileError(message)
        raise TriageError(f"report pages written in a second process: {kind}: {message}")

    def stop(self) -> None:
        """Ends the child if it still runs (the report step failed in this process)."""
        if self.child is not None and self.child.is_alive():
            self.child.kill()
            self.child.join()


def _child(job: PageJob, url: str, answers: Connection) -> None:
    engine = create_engine(url)
    try:
        with Session(engine, autoflush=False) as session:
            answers.send(("files", [str(p) for p in job(session)]))
    except BaseException as e:  # noqa: BLE001 - every failure is told to the parent, which raises it
        traceback.print_exc()
        answers.send(("error", type(e).__name__, str(e)))
    finally:
        engine.dispose()
        answers.close()
