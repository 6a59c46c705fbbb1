"""A device's per-file media work spread over the lab's workers, in chunks any worker can take.

The single-machine run sends each photo's bytes to a process pool on its own machine
(triage/parsing/parallel.py): the pool returns the file's SHA-256 and its bytes-only parsers' output
(EXIF, positions, perceptual hash), and the run stores them in listing order. In the lab the device's
worker gives that step a pool of its own, SpreadMedia:
- the batches are gathered into chunks (files_per_chunk files, or CHUNK_BYTES); a chunk's files are staged
  under the shared output root (every worker sees it at the same path), its row is added to media_chunk
  (triage/lab/jobs.py) and a `triage.lab.media_chunk` message is queued;
- any worker takes the message (acknowledged late, as a device is), claims the chunk, runs the same
  prepare_batch on it, and writes one media_result row per file, keyed (job, attempt, chunk, position) with
  ON CONFLICT DO NOTHING, marking the chunk done in the same transaction: a chunk done twice stores once;
- meanwhile the device's worker goes on parsing the databases, does chunks in its own process pool when it
  has spare cores, and when the run reaches a chunk nobody has done, does it itself. A claim is refreshed
  while its chunk is worked on; a claim older than CHUNK_STALE_SECONDS is a dead worker's, and the chunk
  is taken over (by the device's worker, or by a redelivered message).
The device's worker stores every record itself, in listing order, from the same prepare_batch output as
the single-machine run: the case store is row for row that run's (tests/lab/test_lab_cluster.py).
"""

from __future__ import annotations

import io
import logging
import multiprocessing
import os
import pickle
import shutil
import sys
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Engine

from triage.lab.beat import Beat
from triage.lab.jobs import (
    CHUNK_DONE,
    CHUNK_QUEUED,
    CHUNK_TAKEN,
    MEDIA_CHUNKS,
    MEDIA_RESULTS,
    RUNNING,
    job,
    now,
)
from triage.parsing.parallel import PreparedFile, default_workers, prepare_batch
from triage.process_pool import process_pool, submitted

log = logging.getLogger("triage.lab.media")

DEFAULT_CHUNK_FILES = 500
CHUNK_BYTES = 64 << 20  # a chunk of large photos is cut earlier: staged bytes per message stay bounded
POLL_SECONDS = 0.5  # how often the device's worker looks for chunks other workers finished


def files_per_chunk() -> int:
    """$TRIAGE_LAB_MEDIA_CHUNK_FILES (default 500); 0: media work stays on the device's worker, as in `triage run`."""
    return int(os.environ.get("TRIAGE_LAB_MEDIA_CHUNK_FILES", DEFAULT_CHUNK_FILES))


def chunk_stale_seconds() -> float:
    """A claim not refreshed for this long is a dead worker's ($TRIAGE_LAB_CHUNK_STALE_SECONDS, default 60)."""
    return float(os.environ.get("TRIAGE_LAB_CHUNK_STALE_SECONDS", 60))


@dataclass(frozen=True)
class ChunkJob:
    """Which device attempt the chunks belong to, and where they are staged and recorded."""

    job_id: str
    attempt: int
    db_url: str  # the lab database (its triage_lab schema holds media_chunk and media_result)
    staging: Path  # under the shared output root; removed when the device's parsing ends


# -- both sides: the staged files and the results, unpickled only as the run's own types ----------------------

# what a staged chunk and a result hold: the tool's records, entries and parser output, SQLAlchemy's state
# of a record, standard value types; and the exception a parser raised (any class of an imported module)
_SAFE_MODULES = (
    "builtins",
    "collections",
    "datetime",
    "decimal",
    "zoneinfo",
    "triage.model.records",
    "triage.evidence.model",
    "triage.parsing.parallel",
    "sqlalchemy.orm.state",
    "sqlalchemy.orm.instrumentation",
)


class _RunTypesOnly(pickle.Unpickler):
    """Staged chunks and results are written by lab workers only, but read from a shared folder and a shared
    database: only the classes above (never a function, never a module not yet imported) may be named, so
    a planted file cannot make a worker call or import anything else."""

    def find_class(self, module: str, name: str) -> Any:
        if module not in sys.modules:
            raise pickle.UnpicklingError(f"{module}.{name} is not a type a media chunk holds")
        found = getattr(sys.modules[module], name, None)
        if isinstance(found, type) and (module in _SAFE_MODULES or issubclass(found, BaseException)):
            return found
        raise pickle.UnpicklingError(f"{module}.{name} is not a type a media chunk holds")


def safe_loads(data: bytes) -> Any:
    return _RunTypesOnly(io.BytesIO(data)).load()


def staged_path(job_: ChunkJob, chunk_no: int) -> Path:
    return job_.staging / f"chunk-{chunk_no:06d}.pickle"


# -- the chunk table ----------------------------------------------------------------------------------------------


def claim_chunk(lab: Engine, job_: ChunkJob, chunk_no: int, worker: str) -> bool:
    """This worker's claim on the chunk: False when it is done, or held by a worker that is alive."""
    key = _key(job_, chunk_no)
    with lab.begin() as c:
        row = c.execute(select(MEDIA_CHUNKS).where(*key).with_for_update()).mappings().first()
        if row is None or row["state"] == CHUNK_DONE:
            return False
        if row["state"] == CHUNK_TAKEN and row["taken_utc"] is not None and row["worker"] != worker:
            if (now() - row["taken_utc"]).total_seconds() < chunk_stale_seconds():
                return False
            log.warning(
                "job %s: media chunk %d taken over from %s (claim not refreshed)", job_.job_id, chunk_no, row["worker"]
            )
        c.execute(update(MEDIA_CHUNKS).where(*key).values(state=CHUNK_TAKEN, worker=worker, taken_utc=now()))
    return True


def store_results(lab: Engine, job_: ChunkJob, chunk_no: int, prepared: list[PreparedFile], worker: str) -> None:
    """One row per file, a second delivery's rows skipped (ON CONFLICT DO NOTHING), the chunk marked done."""
    rows = [
        {
            "job_id": job_.job_id,
            "attempt": job_.attempt,
            "chunk_no": chunk_no,
            "position": n,
            "prepared": pickle.dumps(p, protocol=pickle.HIGHEST_PROTOCOL),
        }
        for n, p in enumerate(prepared)
    ]
    with lab.begin() as c:
        if rows:
            c.execute(insert(MEDIA_RESULTS).on_conflict_do_nothing(), rows)
        c.execute(update(MEDIA_CHUNKS).where(*_key(job_, chunk_no)).values(state=CHUNK_DONE, worker=worker))


def stored_results(lab: Engine, job_: ChunkJob, chunk_no: int, files: int) -> list[PreparedFile] | None:
    """The chunk's results when it is done (None: not yet)."""
    with lab.connect() as c:
        state = c.execute(select(MEDIA_CHUNKS.c.state).where(*_key(job_, chunk_no))).scalar()
        if state != CHUNK_DONE:
            return None
        blobs = c.execute(
            select(MEDIA_RESULTS.c.prepared)
            .where(
                MEDIA_RESULTS.c.job_id == job_.job_id,
                MEDIA_RESULTS.c.attempt == job_.attempt,
                MEDIA_RESULTS.c.chunk_no == chunk_no,
            )
            .order_by(MEDIA_RESULTS.c.position)
        ).scalars()
        results = [safe_loads(b) for b in blobs]
    return results if len(results) == files else None  # done by the device's worker itself: no rows here


def _key(job_: ChunkJob, chunk_no: int) -> tuple:
    return (
        MEDIA_CHUNKS.c.job_id == job_.job_id,
        MEDIA_CHUNKS.c.attempt == job_.attempt,
        MEDIA_CHUNKS.c.chunk_no == chunk_no,
    )


def claim_refresher(lab: Engine, job_: ChunkJob, worker: str) -> Beat:
    """Refreshes taken_utc of the chunks this worker holds, from a thread of its own (the main thread may be
    parsing a large database for minutes)."""

    def write() -> None:
        with lab.begin() as c:
            c.execute(
                update(MEDIA_CHUNKS)
                .where(
                    MEDIA_CHUNKS.c.job_id == job_.job_id,
                    MEDIA_CHUNKS.c.attempt == job_.attempt,
                    MEDIA_CHUNKS.c.worker == worker,
                    MEDIA_CHUNKS.c.state == CHUNK_TAKEN,
                )
                .values(taken_utc=now())
            )

    interval = max(chunk_stale_seconds() / 4, 0.2)
    return Beat(write, interval, f"job {job_.job_id}: media claims not refreshed", "media-claims")


# -- a worker taking a chunk from the queue ----------------------------------------------------------------------


def do_chunk(job_: ChunkJob, chunk_no: int, worker: str) -> str:
    """The queue's side of a chunk: claim it, run prepare_batch on its staged files, store the results.
    Returns what happened (done, or why there was nothing to do)."""
    from triage.lab.examine import lab_engine

    lab = lab_engine(job_.db_url)
    try:
        with lab.connect() as c:
            row = job(c, job_.job_id)
        if row is None or row["state"] != RUNNING or row["attempts"] != job_.attempt:
            return "stale"  # the device's attempt ended (or was retried): its chunks are nobody's work now
        if not claim_chunk(lab, job_, chunk_no, worker):
            return "not needed"  # done, or in a live worker's hands
        with claim_refresher(lab, job_, worker):
            try:
                items = safe_loads(staged_path(job_, chunk_no).read_bytes())
            except FileNotFoundError:
                return "stale"  # the device's parsing ended and removed its staging folder
            prepared = prepare_batch(items)
        store_results(lab, job_, chunk_no, prepared, worker)
        log.info("job %s: media chunk %d (%d files) done by %s", job_.job_id, chunk_no, len(prepared), worker)
        return "done"
    finally:
        lab.dispose()


# -- the device's worker: the pool triage/parsing/parallel.py is given ----------------------------------------


@dataclass
class _Chunk:
    no: int
    items: list[tuple] = field(default_factory=list)  # prepare_file arguments, until the results are in
    size: int = 0
    flushed: bool = False
    results: list[PreparedFile] | None = None
    local: Future | None = None  # in this machine's process pool
    checked: float = 0.0  # monotonic time of the last look in the database


@dataclass
class SpreadCounts:
    chunks: int = 0
    here: int = 0  # done by the device's worker (its pool, or in line)
    elsewhere: int = 0  # done by another worker, read back from the database


class _BatchFuture(Future):
    """One prepare_batch call's files: parts of one chunk or two (start and count in each), ready when they are."""

    def __init__(self, spread: SpreadMedia) -> None:
        super().__init__()
        self._spread = spread
        self.parts: list[tuple[_Chunk, int, int]] = []

    def done(self) -> bool:
        return all(self._spread.ready(chunk) for chunk, _, _ in self.parts)

    def result(self, timeout: float | None = None) -> list[PreparedFile]:
        return [p for chunk, start, count in self.parts for p in self._spread.wait(chunk)[start : start + count]]


SendChunk = Callable[[ChunkJob, int], None]


class SpreadMedia(Executor):
    """Takes prepare_batch batches as a process pool does; their work is done by whichever worker gets there."""

    def __init__(
        self,
        job_: ChunkJob,
        send: SendChunk,
        chunk_files: int | None = None,
        local_workers: int | None = None,
    ) -> None:
        from triage.lab.examine import lab_engine, worker_name

        self.job, self.send = job_, send
        self.chunk_files = max(1, chunk_files or files_per_chunk())
        self.lab = lab_engine(job_.db_url)
        self.worker = worker_name()
        self.counts = SpreadCounts()
        self._open = _Chunk(1)
        self._flushed: list[_Chunk] = []
        self._sending = True
        self._next_local_look = 0.0
        workers = default_workers() - 1 if local_workers is None else local_workers
        self._pool = _local_pool(workers) if workers > 0 else None
        job_.staging.mkdir(parents=True, exist_ok=True)
        self._claims = claim_refresher(self.lab, job_, self.worker).__enter__()

    # the Executor interface triage/parsing/parallel.py uses
    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        if fn is not prepare_batch or kwargs or len(args) != 1:
            raise TypeError("SpreadMedia runs prepare_batch(items) only")
        future = _BatchFuture(self)
        for item in args[0]:  # a batch may end one chunk and begin the next: chunks hold exactly chunk_files
            chunk = self._open
            if not future.parts or future.parts[-1][0] is not chunk:
                future.parts.append((chunk, len(chunk.items), 0))
            part_chunk, start, count = future.parts[-1]
            future.parts[-1] = (part_chunk, start, count + 1)
            chunk.items.append(item)
            chunk.size += len(item[2])
            if len(chunk.items) >= self.chunk_files or chunk.size >= CHUNK_BYTES:
                self._flush()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """The chunks' rows and staged files go: they were working state of this parsing."""
        self._claims.__exit__()
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=True)
        try:
            with self.lab.begin() as c:
                for table in (MEDIA_RESULTS, MEDIA_CHUNKS):
                    c.execute(delete(table).where(table.c.job_id == self.job.job_id))
        finally:
            shutil.rmtree(self.job.staging, ignore_errors=True)
            self.lab.dispose()
        log.info(
            "job %s: media in %d chunk(s), %d done by this worker, %d by others",
            self.job.job_id,
            self.counts.chunks,
            self.counts.here,
            self.counts.elsewhere,
        )

    # what the batch futures ask
    def ready(self, chunk: _Chunk) -> bool:
        if chunk.results is None and chunk.flushed:
            self._collect_local()
            if chunk.results is None and time.monotonic() - chunk.checked >= POLL_SECONDS:
                self._look_up(chunk)
        self._start_local()
        return chunk.results is not None

    def wait(self, chunk: _Chunk) -> list[PreparedFile]:
        if not chunk.flushed:
            self._flush()
        while chunk.results is None:
            if chunk.local is not None:
                self._wait_local(chunk)
                continue
            self._look_up(chunk)
            if chunk.results is None and claim_chunk(self.lab, self.job, chunk.no, self.worker):
                self._set_done_here(chunk, prepare_batch(chunk.items))  # nobody has it: done here, in line
            elif chunk.results is None:
                time.sleep(0.1)  # in a live worker's hands
        self._start_local()
        assert chunk.results is not None  # the loop ends only with them
        return chunk.results

    # -- steps
    def _flush(self) -> None:
        chunk = self._open
        self._open = _Chunk(chunk.no + 1)
        with open(staged_path(self.job, chunk.no), "xb") as f:  # a new file: a folder of this attempt only
            pickle.dump(chunk.items, f, protocol=pickle.HIGHEST_PROTOCOL)
        with self.lab.begin() as c:
            c.execute(
                insert(MEDIA_CHUNKS)
                .values(
                    job_id=self.job.job_id,
                    attempt=self.job.attempt,
                    chunk_no=chunk.no,
                    files=len(chunk.items),
                    staged=str(staged_path(self.job, chunk.no)),
                    state=CHUNK_QUEUED,
                )
                .on_conflict_do_nothing()
            )
        chunk.flushed = True
        self._flushed.append(chunk)
        self._next_local_look = 0.0  # a new chunk: the idle pool may take it at once
        self.counts.chunks += 1
        if self._sending:
            try:
                self.send(self.job, chunk.no)
            except Exception as e:  # noqa: BLE001 - no queue: this worker does every chunk itself
                self._sending = False
                log.warning("job %s: media chunks not queued (%s): done by this worker", self.job.job_id, e)
        self._start_local()

    def _look_up(self, chunk: _Chunk) -> None:
        chunk.checked = time.monotonic()
        results = stored_results(self.lab, self.job, chunk.no, len(chunk.items))
        if results is not None:
            chunk.results, chunk.items = results, []
            self.counts.elsewhere += 1
            self._drop_finished()

    def _start_local(self) -> None:
        """This machine's pool takes the first chunk nobody has, when it is idle (looked for at most every
        POLL_SECONDS: the run asks after every file)."""
        if self._pool is None or any(c.local is not None for c in self._flushed):
            return
        if time.monotonic() < self._next_local_look:
            return
        self._next_local_look = time.monotonic() + POLL_SECONDS
        for chunk in self._flushed:
            if chunk.results is None and claim_chunk(self.lab, self.job, chunk.no, self.worker):
                chunk.local = submitted(self._pool, prepare_batch, chunk.items)  # failed if a worker died: in line
                return

    def _wait_local(self, chunk: _Chunk) -> None:
        assert chunk.local is not None
        try:
            results = chunk.local.result()
        except Exception as e:  # noqa: BLE001 - a dead pool process: the chunk is done in line, the pool not used again
            log.warning("job %s: local media pool failed (%s: %s)", self.job.job_id, type(e).__name__, e)
            chunk.local, self._pool = None, None
            return
        self._take_local(chunk, results)

    def _collect_local(self) -> None:
        for chunk in self._flushed:
            if chunk.local is not None and chunk.local.done():
                self._wait_local(chunk)

    def _take_local(self, chunk: _Chunk, results: list[PreparedFile]) -> None:
        chunk.local = None
        self._set_done_here(chunk, results)

    def _set_done_here(self, chunk: _Chunk, results: list[PreparedFile]) -> None:
        with self.lab.begin() as c:  # no result rows: this worker holds them; other workers only skip the chunk
            c.execute(update(MEDIA_CHUNKS).where(*_key(self.job, chunk.no)).values(state=CHUNK_DONE))
        chunk.results, chunk.items = results, []
        self.counts.here += 1
        self._drop_finished()

    def _drop_finished(self) -> None:
        self._flushed = [c for c in self._flushed if c.results is None]


def _local_pool(workers: int) -> ProcessPoolExecutor | None:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["parsers", "triage.parsing.parallel", "imagehash", "PIL.Image", "pillow_heif"])
    pool = process_pool(workers, context)
    try:
        pool.submit(os.getpid).result()
    except Exception as e:  # noqa: BLE001 - no pool here: chunks are done in line or by other workers
        pool.shutdown(cancel_futures=True)
        log.warning("no local process pool for media chunks (%s: %s)", type(e).__name__, e)
        return None
    return pool
