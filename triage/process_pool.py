"""Process pools that a dying worker costs time, not the run: their shutdown cannot hang, and work given to a pool
that broke fails as the work it was doing did (`submitted`), on the caller's one path for a failed result.

A ProcessPoolExecutor sends work to its workers through a pipe, written by a feeder thread. When a worker dies
(killed by the kernel for memory, by an operator, or by a decoder crashing on a hostile file) while that pipe is
full — a batch of photos' bytes, or of a folder's paths, is larger than the pipe's 64 KiB — the feeder stays blocked
in its write: nobody reads the pipe any more. Python 3.11 as Debian 12 ships it (3.11.2) then waits for that thread
forever when the pool is marked broken, and so does every shutdown after it: the run hangs instead of going on
without the worker (CPython issue gh-94777; the fix, in 3.12, closes the pipe's reading end first, which ends the
write with EPIPE). The pools made here do the same on an interpreter without that fix
(the cases of tests/run/test_process_pool.py time out on 3.11.2 without it).
"""

from __future__ import annotations

import multiprocessing.queues
import os
import weakref
from collections.abc import Callable
from concurrent.futures import BrokenExecutor, Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import _CallItem
from typing import Any, TypeVar

from triage.lifeline import exit_with

T = TypeVar("T")

# the interpreter closes the pipe itself when a pool breaks (multiprocessing.queues.Queue._terminate_broken)
_FIXED_IN_PYTHON = hasattr(multiprocessing.queues.Queue, "_terminate_broken")


def process_pool(workers: int, context: Any) -> ProcessPoolExecutor:
    """A ProcessPoolExecutor of `workers` processes made by `context` (a multiprocessing context) that, once a
    worker has died, ends its shutdown instead of waiting for a write nobody will read; its workers exit when this
    process ends."""
    # each worker ends with the process that made the pool, killed or not (triage/lifeline.py)
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=exit_with, initargs=(os.getpid(),))
    if not _FIXED_IN_PYTHON:
        _end_blocked_writes_when_broken(pool)
    return pool


def _end_blocked_writes_when_broken(pool: ProcessPoolExecutor) -> None:
    """What Python 3.12 does on a broken pool: the pool's own copy of the pipe's reading end is closed before the
    queue is closed and its feeder thread waited for. The workers hold their own copies, so a live worker still reads
    what is sent; once they are gone, a blocked write fails with EPIPE and the thread ends. Closed before the queue
    is: the feeder closes that end itself once the queue is closed, and two closes of one descriptor race (one failed
    with EBADF; it could close a file opened meanwhile). Only the pipe's failure to deliver to a worker that is gone
    is kept off stderr (what the pool meant to send no longer matters: it is broken)."""
    queue = getattr(pool, "_call_queue", None)
    if queue is None or not hasattr(queue, "_reader") or not hasattr(queue, "close"):
        return  # an interpreter laid out otherwise: left as it is
    executor = weakref.ref(pool)
    close = queue.close
    on_error = queue._on_queue_feeder_error  # read when the feeder thread starts: the first submit, after this

    def close_reading_end_first_if_broken() -> None:
        pool = executor()
        if pool is None or getattr(pool, "_broken", False):
            queue._reader.close()
        close()

    def quiet_when_worker_gone(e: BaseException, obj: Any) -> None:
        if isinstance(e, BrokenPipeError) and not isinstance(obj, _CallItem):
            return  # a stop sentinel for a worker already dead
        on_error(e, obj)

    queue.close = close_reading_end_first_if_broken
    queue._on_queue_feeder_error = quiet_when_worker_gone


def submitted(pool: Executor, fn: Callable[..., T], *args: Any) -> Future[T]:
    """`fn(*args)` on `pool`; when the pool is broken already (a worker died since the last result was read), a
    future holding that error, so the caller's one path for a failed result (work done in this process) covers it."""
    try:
        return pool.submit(fn, *args)
    except BrokenExecutor as e:
        failed: Future[T] = Future()
        failed.set_exception(e)
        return failed
