"""Jobs that read the case store in a forked child (triage/store/forked_reader.py): the child's own connection
sees what the parent committed, its result or its error comes back, and a store no other connection can open
runs the job in this process instead."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.store.test_readers_while_writing import _message, _store_with
from triage.errors import TriageError
from triage.integrity.exclusive import ExistingFileError
from triage.model.records import Message
from triage.store import CaseStore
from triage.store.forked_reader import ForkedReader, fork_url


def _count_and_pid(session: Session) -> tuple[int, int]:
    return session.scalar(select(func.count()).select_from(Message)) or 0, os.getpid()


def test_the_job_runs_in_another_process_on_what_was_committed_while_the_parent_writes(tmp_path: Path) -> None:
    store, source = _store_with(tmp_path, 4)
    store.let_readers_in()
    job = ForkedReader(_count_and_pid, fork_url(store.session), "counting")
    for n in range(4, 8):  # the parent goes on writing while the child reads
        store.insert(_message(source, n))
    store.commit()
    count, pid = job.result(store.session)
    assert pid != os.getpid()
    assert count in (4, 8)  # a snapshot: all committed rows of one moment, never a part of a batch
    assert _count_and_pid(store.session) == (8, os.getpid())
    store.close()


def test_a_store_in_memory_runs_the_job_here_when_its_result_is_asked_for(tmp_path: Path) -> None:
    store = CaseStore("sqlite://")
    assert fork_url(store.session) is None
    job = ForkedReader(_count_and_pid, fork_url(store.session), "counting")
    assert job.result(store.session) == (0, os.getpid())


def test_a_run_in_a_side_thread_runs_the_job_itself(tmp_path: Path) -> None:
    """The kiosk runs `triage run` in a thread of its server: no fork there (a lock another thread holds at the
    moment of a fork stays held in the child)."""
    store, _ = _store_with(tmp_path, 2)
    store.let_readers_in()
    answers: list[tuple[int, int]] = []
    thread = threading.Thread(
        target=lambda: answers.append(ForkedReader(_count_and_pid, fork_url(store.session), "c").result(store.session))
    )
    thread.start()
    thread.join()
    assert answers == [(2, os.getpid())]
    store.close()


def _fails(session: Session) -> None:
    raise ValueError("no such table: elsewhere")


def _refuses(session: Session) -> None:
    raise ExistingFileError("pages/day-2024-01-01-1.html already exists")


def test_the_childs_error_is_raised_here_with_its_kind_and_message(tmp_path: Path) -> None:
    store, _ = _store_with(tmp_path, 1)
    store.let_readers_in()
    with pytest.raises(TriageError, match=r"counting, in a second process: ValueError: no such table: elsewhere"):
        ForkedReader(_fails, fork_url(store.session), "counting").result(store.session)
    with pytest.raises(ExistingFileError, match="day-2024-01-01-1.html already exists"):
        ForkedReader(_refuses, fork_url(store.session), "pages").result(store.session)
    store.close()


def _sleeps(session: Session) -> None:
    time.sleep(60)


def test_stop_ends_a_child_still_at_work(tmp_path: Path) -> None:
    store, _ = _store_with(tmp_path, 1)
    store.let_readers_in()
    job = ForkedReader(_sleeps, fork_url(store.session), "sleeping")
    pid = job.pid
    assert pid is not None
    started = time.monotonic()
    job.stop()
    assert time.monotonic() - started < 10
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reaped: no zombie left behind
    store.close()


def _dies(session: Session) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_job_that_can_be_done_again_is_done_here_when_its_child_fails(tmp_path: Path) -> None:
    """A child that cannot read the store (seen once at N = 1,000,000: "database is locked" on its first read) or
    dies costs time, not the step: `again` removes what it left, the job runs here on this process's session, and
    `fell_back` says why. Without `again` the child's error is the step's; a file already there never counts."""
    store, _ = _store_with(tmp_path, 3)
    store.let_readers_in()
    url, parent = fork_url(store.session), os.getpid()

    def counts_here_only(session: Session) -> tuple[int, int]:
        if os.getpid() != parent:
            raise sqlite3.OperationalError("database is locked")
        return _count_and_pid(session)

    removed: list[str] = []
    job = ForkedReader(counts_here_only, url, "counting", again=lambda: removed.append("the child's file"))
    assert job.pid is not None
    assert job.result(store.session) == (3, parent)
    assert removed == ["the child's file"]
    assert (job.fell_back or "").startswith("counting, in a second process: OperationalError: database is locked")
    dead = ForkedReader(lambda s: os.getpid() if os.getpid() == parent else _dies(s), url, "x", again=lambda: None)
    assert dead.result(store.session) == parent
    assert dead.fell_back == "x, in a second process: TriageError: it stopped without an answer"
    with pytest.raises(TriageError, match="counting, in a second process: OperationalError: database is locked"):
        ForkedReader(counts_here_only, url, "counting").result(store.session)
    with pytest.raises(ExistingFileError):
        ForkedReader(_refuses, url, "pages", again=lambda: removed.append("never")).result(store.session)
    assert removed == ["the child's file"]
    on_time = ForkedReader(_count_and_pid, url, "counting", again=lambda: removed.append("never"))
    assert on_time.result(store.session)[1] != parent and on_time.fell_back is None
    store.close()
