"""Per-file media work across the cores, with output in the original file order.

Photo parsing (EXIF, JPEG check, perceptual hash, SHA-256) needs only the file's bytes and is CPU-bound
Python, so it runs in a process pool. The main process keeps everything that touches the evidence
reader or the store: it reads each photo's bytes (readers such as pytsk3 are not shared across
processes), hands them to a worker, and feeds the returned records to `ParseRunner.parse` in the
order the files were listed. Other files are parsed in the main process when their turn comes, so
the records, their ids and the report are the same as a sequential run.

Large databases are parsed meanwhile in forks of the run (triage/run/database_forks.py); at a
database's turn its rows join the store, so they too keep their place in the order. While the run waits
for such a database, the files after it are stored apart and join after it (`ParsedElsewhere.behind`).

One bad file is one warning: a parser exception in a worker is carried back and reported exactly as
the sequential runner reports it. A worker that dies costs time, never the run: the files its pool had are given to
a worker again one at a time, the one that kills it too is parsed here without the image decoders, and the rest of
the photos go to a new pool (triage/parsing/worker_deaths.py).
"""

from __future__ import annotations

import hashlib
import io
import multiprocessing
import os
import pickle
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import BrokenExecutor, Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from parsers import ParseContext
from triage.evidence import FileEntry
from triage.model.records import Base
from triage.parsing import Candidate, ParseRunner
from triage.parsing.worker_deaths import Alone, Deaths, Died, Pools
from triage.process_pool import process_pool

MAX_FILE_BYTES = 64 << 20  # larger files are parsed in the main process (not copied to a worker)
MAX_INFLIGHT_BYTES = 256 << 20  # memory bound on the bytes read and sent to workers that they have not finished
# files read and sent to the workers ahead of the one being stored, their results held until their turn: while
# the main process waits for a large database (parsed in a fork) the workers go on with the photos listed after
# it. A result is a few records, whatever the photo's size; at N = 1,000,000 (bench/RESULTS.md) 4,096 let the
# worker stop a third of the way through the photos while the run waited, 16,384 lets it finish them meanwhile
LOOKAHEAD_FILES = 16384
# files per task: one round trip to a worker carries many small photos (the next task reaches a worker through
# two threads of this process, the pool's manager and its queue feeder, each waiting its turn at the interpreter
# beside the parsing main thread); a batch is sent before it is full only when the workers run short (`feed_before`)
BATCH_FILES = 128
BATCH_BYTES = 16 << 20


@dataclass
class ParserOutput:
    records: list[Base]
    warnings: list[str]
    error: BaseException | None = None


@dataclass
class PreparedFile:
    sha256: str
    outputs: dict[str, ParserOutput] = field(default_factory=dict)

    def replay(self, parser_name: str, ctx: ParseContext) -> Iterator[Base] | None:
        out = self.outputs.get(parser_name)
        return None if out is None else _replay(out, ctx)


def _replay(out: ParserOutput, ctx: ParseContext) -> Iterator[Base]:
    ctx.warnings.extend(out.warnings)
    yield from out.records
    if out.error is not None:
        raise out.error  # reported by the runner as "stopped after N record(s): …", as in a sequential run


class ParsedElsewhere(Protocol):
    """Files another process parses, whose records join the store at their turn (the run's forks for large
    databases, triage/run/database_forks.py)."""

    forked_files: int  # files whose records joined so far
    failures: list[str]  # why a file was parsed here after all

    def has(self, cand: Candidate) -> bool: ...

    def ready(self, cand: Candidate) -> bool: ...

    def take(self, cand: Candidate) -> None: ...

    def behind(self) -> ParsedBehind: ...


class ParsedBehind(Protocol):
    """Files parsed while the run waits for one parsed elsewhere, kept apart (`close`) and stored after it
    (`join`)."""

    def close(self) -> None: ...

    def join(self) -> None: ...


@dataclass
class ParallelStats:
    workers: int
    parallel_files: int = 0
    sequential_files: int = 0
    fallbacks: list[str] = field(default_factory=list)
    forked_files: int = 0  # databases parsed in forks (triage/run/database_forks.py)
    # files a pool that broke (a worker died) had been given, given to a worker again one at a time: one fallback
    # says so for all
    broken_pool_files: int = 0
    broken_pool_first: str = ""  # the first of them, and the pool's error
    broken_pool_error: str = ""
    # files on which a worker died again when given alone, parsed here without the image decoders (each warns)
    worker_deaths: list[str] = field(default_factory=list)
    decoders_given_up: int = 0  # photos parsed here without the image decoders once no worker was left

    def pool_broke(self, provenance: str, error: BaseException) -> None:
        """A file the pool had when it broke, given to a worker again alone."""
        if not self.broken_pool_files:
            self.broken_pool_first, self.broken_pool_error = provenance, f"{type(error).__name__}: {error}"
        self.broken_pool_files += 1

    def note_broken_pool(self) -> None:
        """The one fallback of the pools that broke (after their files were parsed)."""
        if self.broken_pool_files:
            said = (
                f"{self.broken_pool_first}: {self.broken_pool_error} — this file and the "
                f"{self.broken_pool_files - 1} given to the workers after it were given to a worker again one at a time"
            )
            if self.worker_deaths:
                said += (
                    f"; {len(self.worker_deaths)} of them stopped that worker too and were parsed here without the "
                    f"image decoders (each file's warning says so): {', '.join(self.worker_deaths[:5])}"
                )
                if len(self.worker_deaths) > 5:
                    said += " …"
            self.fallbacks.append(said)
        if self.decoders_given_up:
            self.fallbacks.append(
                "no photo worker was left (workers died on other files, or a new one could not be started): the last "
                f"{self.decoders_given_up} photo(s) were parsed here without the image decoders (no perceptual hash; "
                "each file's warning says so)"
            )


def default_workers() -> int:
    """Usable cores. The pool gets one less: on 2 cores one worker decodes photos while this process parses
    the databases (200,000-message tree: 18.1 s -> 15.1 s for parse + store, bench/RESULTS.md)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def parse_in_order(
    runner: ParseRunner,
    candidates: list[Candidate],
    advance: Callable[[], None] = lambda: None,
    workers: int | None = None,
    pool_factory: Callable[[], Executor] | None = None,
    forks: ParsedElsewhere | None = None,
) -> ParallelStats:
    """Parse every candidate; photos in worker processes, results stored in the original order.

    `pool_factory`: where the photos' work goes instead of this machine's process pool (the lab's pool
    spreads it over every worker, triage/lab/media.py); it takes `prepare_batch` batches like the pool.
    `forks`: the large databases being parsed in forks, whose rows are taken in at their turn."""
    # one core stays with the main process: it reads the evidence, unpickles results and stores records
    # (a single core still gets its worker: the decoders never run in this process, triage/parsing/worker_deaths.py)
    stats = ParallelStats(workers if workers is not None else max(1, default_workers() - 1))
    try:
        _parse_all(runner, candidates, advance, workers, pool_factory, forks, stats)
    finally:
        if forks is not None:
            stats.forked_files = forks.forked_files
            stats.fallbacks += forks.failures
    return stats


def _parse_all(
    runner: ParseRunner,
    candidates: list[Candidate],
    advance: Callable[[], None],
    workers: int | None,
    pool_factory: Callable[[], Executor] | None,
    forks: ParsedElsewhere | None,
    stats: ParallelStats,
) -> None:
    at_turn = _turn(runner, forks)
    eligible = sum(map(_eligible, candidates))
    if pool_factory is not None and eligible:  # the caller's pool: used for any number of photos
        with pool_factory() as given:
            _run_with(given, at_turn, runner, candidates, advance, stats, forks)
        return
    # one photo is enough: the image decoders (C code reading the evidence's bytes) run in a worker, where a file
    # made to crash one costs that file's decoding, not the run. The pool's fork server loads the decoders once
    # (~0.7 s of a core; the demo's run ~1 s longer on a slow host, bench/RESULTS.md)
    none_wanted = stats.workers < 1 or eligible == 0
    pool = None if none_wanted else start_pool(stats.workers, stats.fallbacks)
    if pool is None:
        for cand in candidates:
            at_turn(cand, None, None)
            stats.sequential_files += 1
            advance()
        return
    with pool:
        _run_with(pool, at_turn, runner, candidates, advance, stats, forks)


def _run_with(
    first: Executor,
    at_turn: AtTurn,
    runner: ParseRunner,
    candidates: list[Candidate],
    advance: Callable[[], None],
    stats: ParallelStats,
    forks: ParsedElsewhere | None,
) -> None:
    """`_run` with `first` as the photos' pool, new pools after a worker dies, and a pool of one for the files a
    broken pool had (triage/parsing/worker_deaths.py)."""
    deaths = Deaths()
    pools = Pools(first, lambda: start_pool(max(1, stats.workers)), deaths)
    alone = Alone(lambda: start_pool(1), deaths)
    try:
        _run(at_turn, runner, candidates, advance, pools, alone, stats, forks)
    finally:
        alone.close()
        pools.close()


AtTurn = Callable[[Candidate, "PreparedFile | None", "str | None"], None]


def _turn(runner: ParseRunner, forks: ParsedElsewhere | None) -> AtTurn:
    """What a file's turn does: take in a fork's rows for a database parsed in one, else parse it here (without
    the image decoders when the third argument says why not)."""

    def at_turn(cand: Candidate, prepared: PreparedFile | None, no_decoding: str | None) -> None:
        if forks is not None and forks.has(cand):
            forks.take(cand)
        else:
            runner.parse(cand, prepared, no_decoding=no_decoding)

    return at_turn


def _fork_server() -> Any:
    context = multiprocessing.get_context("forkserver")
    # imported once in the fork server, not in every worker
    context.set_forkserver_preload(["parsers", "triage.parsing.parallel", "imagehash", "PIL.Image", "pillow_heif"])
    return context


def start_pool(workers: int, fallbacks: list[str] | None = None) -> ProcessPoolExecutor | None:
    """A pool of `workers` processes, started and answering; None (and why, in `fallbacks` when given) when this
    machine cannot start one (the fork server's socket path too long for a deep TMPDIR, no shared memory …)."""
    pool = process_pool(workers, _fork_server())
    try:
        pool.submit(os.getpid).result()
    except Exception as e:  # noqa: BLE001 - any reason: every file is parsed here instead
        pool.shutdown(cancel_futures=True)
        if fallbacks is not None:
            fallbacks.append(
                f"no worker process could be started ({type(e).__name__}: {e}); every file parsed in the main process"
            )
        return None
    except BaseException:  # the run stopped meanwhile (SIGTERM, Ctrl-C): a worker left running keeps the fork
        pool.shutdown(cancel_futures=True)  # server, and the run's exit waiting for it, alive (workdir.py)
        raise
    return pool


def _run(
    at_turn: AtTurn,
    runner: ParseRunner,
    candidates: list[Candidate],
    advance: Callable[[], None],
    pools: Pools,
    alone: Alone,
    stats: ParallelStats,
    forks: ParsedElsewhere | None,
) -> None:
    # each entry: [candidate, future of its batch (None until submitted), index in the batch, bytes]
    pending: deque[list] = deque()
    batch: list[tuple[list, tuple]] = []  # entries and worker arguments waiting to be sent
    unfinished: deque[list] = deque()  # entries sent with their bytes, in the order sent, until the worker is done
    inflight = 0  # their bytes (a finished file's bytes are let go: only its result is held)
    batch_bytes = 0  # the bytes of the files in `batch`
    sent: deque[Future] = deque()  # the batches submitted and not yet done, oldest first
    queued_enough = 2 * max(1, stats.workers) + 2  # batches the workers have ahead of them

    def submit_batch() -> None:
        nonlocal batch_bytes
        if batch:
            future = pools.submit(prepare_batch, [args for _, args in batch])  # failed if no worker is left
            for index, (entry, _) in enumerate(batch):
                entry[1], entry[2] = future, index
            batch.clear()
            batch_bytes = 0
            sent.append(future)

    def feed_before(entry: list) -> None:
        """Before this process parses or waits for `entry`: the batch being filled goes to the workers if `entry`
        is in it or the workers have little left to do; otherwise it fills on. Sent at every turn, the batches
        were of one file once the read-ahead was full, and the worker waited on its queue for half of the E01's
        photos (bench/RESULTS.md)."""
        while sent and sent[0].done():
            sent.popleft()
        if batch and (batch[0][0] is entry or len(sent) < queued_enough):
            submit_batch()

    def let_go_finished() -> None:
        nonlocal inflight
        while unfinished and unfinished[0][1] is not None and unfinished[0][1].done():  # None: not sent yet
            inflight -= unfinished.popleft()[3]

    def finish_head() -> None:
        if forks is not None and len(pending) > 1 and waiting_for_fork(pending[0]):
            submit_batch()  # the files behind it that are read go to the workers first
            if doable(pending[1]):
                work_behind()
                return
        finish(pending.popleft())

    def waiting_for_fork(entry: list) -> bool:
        assert forks is not None
        return entry[1] is None and forks.has(entry[0]) and not forks.ready(entry[0])

    def doable(entry: list) -> bool:
        """Whether the file can be stored without a fork's answer: parsed here, or in a worker (which goes on)."""
        assert forks is not None
        return not forks.has(entry[0])

    def work_behind() -> None:
        """The head is a database whose fork has not answered: the files after it are stored meanwhile (read on,
        the workers kept fed), apart, up to the next such database, and join the store after the head's rows (ids
        and order as in turn)."""
        assert forks is not None
        head = pending.popleft()
        behind = forks.behind()
        try:
            while not forks.ready(head[0]):
                while window_open() and read_next():
                    pass
                if not pending or not doable(pending[0]):
                    submit_batch()
                    break
                feed_before(pending[0])
                finish(pending.popleft())
                let_go_finished()
        finally:
            behind.close()
        finish(head)
        behind.join()

    def finish(entry: list) -> None:
        cand, future, index, _ = entry
        prepared, no_decoding = None, None
        if future is not None:
            try:
                prepared = future.result()[index]
                pools.done_with(future)
                stats.parallel_files += 1
            except BrokenExecutor as e:  # a worker died: every file the pool had is given again, alone
                pools.died(future)
                stats.pool_broke(cand.entry.provenance, e)
                prepared, no_decoding = again_alone(cand)
            except Exception as e:  # noqa: BLE001 - an unpicklable result: the worker lived through the file
                stats.fallbacks.append(f"{cand.entry.provenance}: {type(e).__name__}: {e}; parsed in the main process")
        else:
            no_decoding = not_given_to_a_worker(cand)
        if prepared is None:
            stats.sequential_files += 1
        at_turn(cand, prepared, no_decoding)
        advance()

    def not_given_to_a_worker(cand: Candidate) -> str | None:
        """Why the image decoders do not read a photo parsed here (None for a file no parser decodes): they run
        only in workers, and this one was not given to one."""
        if not any(p.bytes_only for p in cand.parsers):
            return None
        if pools.gone:
            stats.decoders_given_up += 1
            return "no worker process was left to decode it in (workers died on other files)"
        if not _eligible(cand):
            return (
                f"parsed in the run's own process (larger than {MAX_FILE_BYTES >> 20} MiB, or read by other parsers "
                "too), where the image decoders do not run"
            )
        return "it could not be read to be given to a worker process, the only place the image decoders run"

    def again_alone(cand: Candidate) -> tuple[PreparedFile | None, str | None]:
        """A file whose pool broke, given alone to a worker: its result, or why it is parsed here without the
        image decoders (its worker died on it too)."""
        data = _read(runner, cand.entry) if not pools.gone else None
        if data is None:
            return None, "the worker process it was given to died, and it could not be given to another"
        result = alone.call(prepare_batch, _worker_args(cand, data))
        if isinstance(result, Died) and not result.tried:
            return None, result.why
        if isinstance(result, Died):
            stats.worker_deaths.append(cand.entry.provenance)
            return None, f"the worker process parsing this file died ({result.why}), also when given it alone"
        if result is not None:
            stats.parallel_files += 1
        return result, None

    def head_ready() -> bool:
        cand, future = pending[0][0], pending[0][1]
        if future is not None:
            return future.done()
        return forks is not None and forks.has(cand) and forks.ready(cand)

    incoming = iter(candidates)

    def read_next() -> bool:
        """The next file listed into `pending`, its bytes read for a worker if one can parse it; False at the end."""
        nonlocal inflight, batch_bytes
        cand = next(incoming, None)
        if cand is None:
            return False
        entry = [cand, None, 0, 0]
        data = _read(runner, cand.entry) if not pools.gone and _eligible(cand) else None
        pending.append(entry)
        if data is not None:
            entry[3] = len(data)
            inflight += len(data)
            unfinished.append(entry)
            batch.append((entry, _worker_args(cand, data)))
            batch_bytes += len(data)
            if len(batch) >= BATCH_FILES or batch_bytes >= BATCH_BYTES:
                submit_batch()
        let_go_finished()
        return True

    def window_open() -> bool:
        return len(pending) <= LOOKAHEAD_FILES and inflight <= MAX_INFLIGHT_BYTES

    while read_next():
        while pending and (not window_open() or head_ready()):
            feed_before(pending[0])  # the workers get what is read before this process parses or waits
            finish_head()
            let_go_finished()
    submit_batch()
    while pending:
        finish_head()
    stats.note_broken_pool()


def _eligible(cand: Candidate) -> bool:
    # `bytes_only` parsers need nothing but the file's bytes (parsers/base.py), so a worker can run them
    return all(p.bytes_only for p in cand.parsers) and (cand.entry.size or 0) <= MAX_FILE_BYTES


def _worker_args(cand: Candidate, data: bytes) -> tuple:
    """What `prepare_file` takes for a file: its entry without the reader's handle (not sent to a worker), first
    bytes, bytes and parsers' names."""
    return replace(cand.entry, handle=None), cand.header, data, tuple(p.name for p in cand.parsers)


def _read(runner: ParseRunner, entry: FileEntry) -> bytes | None:
    try:
        with runner.evidence.open(entry) as f:
            return f.read()
    except Exception:  # noqa: BLE001 - any failure: the sequential path reads it again and warns
        return None  # the sequential path reads it again and records the failure as a warning


def prepare_batch(items: list[tuple]) -> list[PreparedFile]:
    return [prepare_file(*item) for item in items]


def prepare_file(entry: FileEntry, header: bytes, data: bytes, parser_names: tuple[str, ...]) -> PreparedFile:
    """Worker side: hash the bytes and run the named parsers on them."""
    from parsers import ALL_PARSERS

    by_name = {p.name: p for p in ALL_PARSERS}
    prepared = PreparedFile(hashlib.sha256(data).hexdigest())
    for name in parser_names:
        ctx = ParseContext(entry=entry, open=lambda: io.BytesIO(data), sha256=prepared.sha256, header=header)
        out = ParserOutput([], ctx.warnings)
        try:
            for record in by_name[name].parse(ctx):
                out.records.append(record)
        except Exception as e:  # noqa: BLE001 - carried back; the runner reports it as it would in a sequential run
            out.error = e if _picklable(e) else RuntimeError(f"{type(e).__name__}: {e}")
        prepared.outputs[name] = out
    return prepared


def _picklable(e: BaseException) -> bool:
    try:
        pickle.loads(pickle.dumps(e))
        return True
    except Exception:  # noqa: BLE001 - any failure to round-trip means it cannot travel back
        return False
