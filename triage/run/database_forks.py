"""Large databases parsed ahead in forks of the run, their rows taken into the case store at each file's turn.

On a phone's tree nearly all the parse time goes to two or three databases (WhatsApp's msgstore.db, the SMS
store), parsed one after another by the run's process while the other core has little to do. Before parsing
starts, the run copies each large database out of the evidence (hashing the bytes as they are copied) and forks:
each fork parses its share of those copies, each file into an SQLite case file of its own, and never reads the
evidence (readers such as pytsk3's share a file offset with the run, which goes on reading). When the run
reaches such a file in listing order it appends the fork's case file to the case store
(`CaseStore.append_case_file`): ids go on from the store's, so records, ids, warnings and the report are those of
a run that parsed every file in turn. If the fork has not answered yet, the run does not sit idle: it parses the
files listed after that database (up to the next one parsed in a fork) into a case file of its own (`behind`),
and appends that one after the database's.

A fork that fails or dies costs nothing but time: the run parses the file itself at its turn (and the rest of
that fork's files), and the examination record says so. No fork is made where it cannot pay or cannot be made
safely: one core, no os.fork, a run outside the process's main thread (the kiosk's runs are made in a process of
their own for this: triage/run/child.py), a case store not in SQLite (PostgreSQL: the files are parsed in turn,
with the same result).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, NoReturn

from parsers import SqliteParser
from triage.errors import TriageError
from triage.lifeline import exit_with
from triage.parsing import Candidate, ParseRunner, SqliteCopy
from triage.run.progress import Reporter
from triage.store import CaseStore

# a database at least this large (with its -wal) is parsed in a fork; the many small ones a phone holds are parsed
# in turn, each of which would otherwise cost a case file and an append (the 200,000-message tree forks three:
# msgstore.db 33 MB, mmssms.db 20 MB, calllog.db 6 MB; bench/RESULTS.md)
FORK_MIN_BYTES = 4 << 20

# Point the run's record, source and warning sinks at this case store (in a fork; or in the run, for the files it
# parses while it waits for a fork); returns what to tell the run afterwards (its warning count, what its scope
# left out: picklable), which the run gives to its `Absorb`, and what points the sinks back (used in the run)
Retarget = Callable[[CaseStore], tuple[Callable[[], Any], Callable[[], None]]]
Absorb = Callable[[Any], None]


@dataclass
class _Share:
    """One fork and the databases it parses, in listing order; its answers arrive in that order."""

    files: list[Candidate]
    answers: Connection | None = None
    pid: int | None = None


@dataclass
class ForkedFile:
    """A database's parse done in a fork: its case file, and what the fork's sinks said of it."""

    case_file: Path
    tally: Any
    recognised: list[tuple[str, list[str]]]  # (path, schemas) read at a path no parser names


@dataclass
class DatabaseForks:
    """The forks parsing the large databases of one run, and the copies they parse; `take` at each file's turn."""

    runner: ParseRunner
    store: CaseStore
    absorb: Absorb
    shares: list[_Share]
    copies: dict[int, SqliteCopy]  # by id() of the candidate
    folder: Path
    retarget: Retarget
    failures: list[str] = field(default_factory=list)  # why a fork's file was parsed in turn instead
    forked_files: int = 0
    behind_files: int = 0  # case files of the files parsed while waiting for a fork (see `behind`)

    @classmethod
    def start(
        cls,
        runner: ParseRunner,
        candidates: list[Candidate],
        store: CaseStore,
        sinks: tuple[Retarget, Absorb],
        folder: Path,
        progress: Reporter | None = None,
    ) -> DatabaseForks | None:
        """Copy the large databases among `candidates` and fork to parse them; None when none is large or no
        fork can be made here (the caller parses every file in turn). The copying shows on `progress`; the
        forks are made once its display (a thread of its own) has stopped."""
        if store.engine.dialect.name != "sqlite":  # the rows join the store through SQLite's ATTACH
            return None
        large = [c for c in candidates if _forkable(c, runner)]
        forks = _usable_cores()
        if not large or forks < 2 or not _can_fork():  # on one core a fork only adds its own costs
            return None
        copies = {id(c): runner.sqlite_copy(c.entry) for c in large}
        ready = []
        total = sum(c.entry.size or 0 for c in large)
        with (progress or Reporter()).stage("Copying the large databases out of the evidence", total, "bytes") as bar:
            for cand in large:
                try:
                    copies[id(cand)].fetch()  # read here, not in the fork (see the module's docstring)
                    ready.append(cand)
                except Exception:  # noqa: BLE001 - unreadable: parsed in turn, where the failure is reported as usual
                    copies.pop(id(cand)).remove()
                bar.advance(cand.entry.size or 0)
        if not ready:
            return None
        folder.mkdir(parents=True, exist_ok=True)
        # nothing of the store's left uncommitted: a fork holds a copy of its connection (which it never uses)
        store.commit()
        retarget, absorb = sinks
        made = cls(runner, store, absorb, _shares(ready, forks), copies, folder, retarget)
        for share in made.shares:
            made._fork(share)
        return made

    def has(self, cand: Candidate) -> bool:
        return id(cand) in self.copies

    def ready(self, cand: Candidate) -> bool:
        """Whether the fork's answer for `cand` (the next file of its share not yet taken) has arrived."""
        share = self._share_of(cand)
        return share.answers is None or share.answers.poll()

    def take(self, cand: Candidate) -> None:
        """At `cand`'s turn: its rows appended to the case store and the fork's tally absorbed; or, when its
        fork failed, the file parsed here as if no fork had been made."""
        share = self._share_of(cand)
        copy = self.copies.pop(id(cand))
        share.files.pop(0)  # `cand`: the head of its share
        done = self._answer(share, cand)
        if done is None:
            copy.remove()
            self.runner.parse(cand)
            return
        self._append(done)
        self.forked_files += 1

    def behind(self) -> Behind:
        """While the run waits for a fork's database at its turn: the files listed after it, parsed meanwhile into
        a case file of their own (`Behind.close`), whose rows join the store after the database's (`Behind.join`),
        so ids and order are those of a run that parsed every file in turn."""
        case_file = self.folder / f"behind-{self.behind_files}.sqlite"
        self.behind_files += 1
        return Behind(self, case_file, CaseStore(f"sqlite:///{case_file}"))

    def _append(self, done: ForkedFile) -> None:
        """A case file parsed apart (by a fork, or by the run while it waited) appended to the store, its tally
        absorbed and its databases recognised by schema noted, in that order."""
        self.store.append_case_file(done.case_file)
        done.case_file.unlink()
        self.absorb(done.tally)
        self.runner.recognised_by_schema += done.recognised

    def stop(self) -> None:
        """End every fork still running (the run failed or was interrupted) and remove the copies left."""
        for share in self.shares:
            if share.pid is not None:
                try:
                    os.kill(share.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self._reap(share)
        for copy in self.copies.values():
            copy.remove()
        self.copies.clear()

    # -- inside -------------------------------------------------------------------------------------------
    def _share_of(self, cand: Candidate) -> _Share:
        return next(share for share in self.shares if share.files and share.files[0] is cand)

    def _answer(self, share: _Share, cand: Candidate) -> ForkedFile | None:
        """The fork's answer for `cand`, or None (and why, in `failures`) when the file must be parsed here."""
        if share.answers is None:
            return None  # the fork failed earlier: its failure is said already
        try:
            answer = share.answers.recv()
        except (EOFError, OSError):
            answer = ("error", "it stopped without an answer")
        if answer[0] == "done":
            return answer[1]
        self.failures.append(
            f"{cand.entry.provenance}: the process parsing it apart failed ({answer[1]}); it and that process's "
            "later databases were parsed in turn"
        )
        share.answers.close()
        share.answers = None
        self._reap(share)
        return None

    def _fork(self, share: _Share) -> None:
        answers, sending = multiprocessing.Pipe(duplex=False)
        run = os.getpid()
        pid = os.fork()
        if pid == 0:
            exit_with(run)  # a run killed outright takes its forks with it (triage/lifeline.py)
            answers.close()
            _child(self.runner, [(c, self.copies[id(c)]) for c in share.files], self.retarget, self.folder, sending)
        sending.close()
        share.answers, share.pid = answers, pid

    @staticmethod
    def _reap(share: _Share) -> None:
        if share.pid is not None:
            os.waitpid(share.pid, 0)
            share.pid = None


class Behind:
    """The files the run parses while it waits for a fork, stored into a case file of their own (the sinks
    pointed at it until `close`), appended after the fork's database (`join`)."""

    def __init__(self, forks: DatabaseForks, case_file: Path, store: CaseStore) -> None:
        self.forks, self.case_file, self.store = forks, case_file, store
        self.tally, self.restore = forks.retarget(store)
        runner = forks.runner
        self.recognised, runner.recognised_by_schema = runner.recognised_by_schema, []  # the run's list, kept aside
        self.done: ForkedFile | None = None

    def close(self) -> None:
        """The sinks back to the run's store, this case file written (whatever happened meanwhile)."""
        runner = self.forks.runner
        try:
            self.store.commit()
            self.done = ForkedFile(self.case_file, self.tally(), runner.recognised_by_schema)
        finally:
            self.restore()
            runner.recognised_by_schema = self.recognised
            self.store.close()

    def join(self) -> None:
        """These files' rows appended to the run's store (after the database waited for, taken before this)."""
        assert self.done is not None, "close() first"
        self.forks._append(self.done)


@contextmanager
def database_forks(
    runner: ParseRunner,
    candidates: list[Candidate],
    store: CaseStore,
    sinks: tuple[Retarget, Absorb],
    folder: Path,
    progress: Reporter | None = None,
) -> Iterator[DatabaseForks | None]:
    """`DatabaseForks.start`, stopped when the block ends whatever happened."""
    forks = DatabaseForks.start(runner, candidates, store, sinks, folder, progress=progress)
    try:
        yield forks
    finally:
        if forks is not None:
            forks.stop()


class _EvidenceLeftBehind:
    """The evidence as a fork sees it: never read there (a reader shares its file offset with the run)."""

    def open(self, entry: Any) -> NoReturn:
        raise TriageError(f"{entry.path}: the evidence is read by the run's main process only")

    def __getattr__(self, name: str) -> NoReturn:
        raise TriageError(f"the evidence is read by the run's main process only ({name})")


def _child(
    runner: ParseRunner,
    files: list[tuple[Candidate, SqliteCopy]],
    retarget: Retarget,
    folder: Path,
    answers: Connection,
) -> NoReturn:
    """The fork: each database parsed into its own case file, an answer sent after each; then an immediate exit
    (no exit handler, stream flush or finaliser of the run's). It stops at its first failure: the run parses
    the rest itself."""
    try:
        gc.freeze()  # the run's objects are never collected here: no finaliser of theirs runs in the fork
        runner.evidence = _EvidenceLeftBehind()  # type: ignore[assignment]
        for number, (cand, copy) in enumerate(files):
            try:
                answer: tuple[Any, ...] = ("done", _parse_into_own_file(runner, cand, copy, retarget, folder, number))
            except BaseException as e:  # noqa: BLE001 - told to the run, which parses the file itself
                answer = ("error", f"{type(e).__name__}: {e}")
            answers.send(answer)
            if answer[0] != "done":
                break
    finally:
        os._exit(0)


def _parse_into_own_file(
    runner: ParseRunner, cand: Candidate, copy: SqliteCopy, retarget: Retarget, folder: Path, number: int
) -> ForkedFile:
    case_file = folder / f"fork-{os.getpid()}-{number}.sqlite"
    store = CaseStore(f"sqlite:///{case_file}")
    try:
        tally, _ = retarget(store)  # the fork ends after its files: its sinks are never pointed back
        runner.recognised_by_schema = []
        runner.parse(cand, copy=copy)
        store.commit()
    finally:
        store.close()
    return ForkedFile(case_file, tally(), runner.recognised_by_schema)


def _forkable(cand: Candidate, runner: ParseRunner) -> bool:
    """A database read by SQLite parsers only (they read the copy, never the evidence), large enough to pay."""
    if not cand.parsers or not all(isinstance(p, SqliteParser) for p in cand.parsers):
        return False
    entry = cand.entry
    wal = runner.sidecars.get((entry.volume, entry.path + "-wal"))
    return (entry.size or 0) + (wal.size or 0 if wal is not None else 0) >= FORK_MIN_BYTES


def _shares(files: list[Candidate], forks: int) -> list[_Share]:
    """The files dealt to at most `forks` forks, largest first to the least loaded, each share in listing order."""
    shares = [_Share([]) for _ in range(min(forks, len(files)))]
    loads = [0] * len(shares)
    order = {id(c): n for n, c in enumerate(files)}
    for cand in sorted(files, key=lambda c: -(c.entry.size or 0)):
        least = loads.index(min(loads))
        shares[least].files.append(cand)
        loads[least] += cand.entry.size or 0
    for share in shares:
        share.files.sort(key=lambda c: order[id(c)])
    return shares


def _usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _can_fork() -> bool:
    """os.fork exists and the run is the process's main thread: a fork copies only the thread that forks, and a
    lock another thread held then stays held in the child (a run in a server's thread shares the process with
    threads doing anything at all); the run's own helper threads are started after the forks."""
    return hasattr(os, "fork") and threading.current_thread() is threading.main_thread()
