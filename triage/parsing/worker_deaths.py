"""Photos whose worker died: given to a worker again one at a time, so that the file that kills one is known.

A photo worker (triage/parsing/parallel.py) dies when a decoder crashes on a hostile file (Pillow's and libheif's C
code read whatever bytes the evidence holds), when the kernel kills it for memory, or when an operator kills it. Its
pool is then broken: every batch it had fails, and which of their files killed it is not known. Parsing those files
in the run's own process would run the same decoder on the same bytes there, and the run would die with it. So:

- each file a broken pool had is given alone to a pool of one worker (`Alone`); the files that do not kill it are
  parsed there as usual, and a file on which that worker dies too is the one. The run parses that file itself
  without the image decoders (`ParseContext.no_decoding`: EXIF, structure checks and the file's hashes are Python
  code; no perceptual hash, no decoded pixel size), and its warning says what happened;
- the files read after the break go to a new pool (`Pools`), so the rest of the phone is parsed as before;
- past MAX_DEATHS deaths (a phone full of files made to crash decoders) no worker is started any more: the photos
  left are parsed here without the image decoders, each saying so.

The report's thumbnails are drawn the same way (triage/enrich/thumbnails.py): a batch in a worker, and after a death
each picture of it alone; the one that kills its worker is shown without a picture, saying why.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from concurrent.futures import BrokenExecutor, Executor, Future
from dataclasses import dataclass
from typing import Any

from triage.process_pool import submitted

# Worker deaths after which no worker is started again: each costs a pool's start (a fork of the fork server) and the
# batch it had, given again one file at a time
MAX_DEATHS = 32


@dataclass(frozen=True)
class Died:
    """A worker died on the work given to it alone (`tried`: why, as far as its exit says), or the work was not given
    to one because none is to be had (not `tried`: why not). Either way the work is not to be done in the run's
    process."""

    why: str
    tried: bool = True


@dataclass
class Deaths:
    """Workers that died in one step of the run, of every pool of that step: past MAX_DEATHS none is started again."""

    count: int = 0

    @property
    def too_many(self) -> bool:
        return self.count >= MAX_DEATHS


class Pools:
    """The pool photos are given to: when it breaks, the next batch goes to a new one (made by `start`), until too
    many workers died (`gone` then: the rest is parsed in the run's process). Pools made here are shut down by
    `close`; the first one belongs to the caller."""

    def __init__(self, first: Executor, start: Callable[[], Executor | None], deaths: Deaths) -> None:
        self.current: Executor | None = first
        self._start: Callable[[], Executor | None] | None = start
        self._deaths = deaths
        self._made: list[Executor] = []
        self._pool_of: dict[Future, Executor] = {}

    @property
    def gone(self) -> bool:
        """No worker left to give photos to: too many deaths, or no new pool could be started."""
        return self.current is None and (self._deaths.too_many or self._start is None)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        if self.current is None and not self.gone and self._start is not None:
            self.current = self._start()
            if self.current is None:
                self._start = None  # none can be started here: the rest is parsed in the run's process
            else:
                self._made.append(self.current)
        if self.current is None:
            failed: Future = Future()
            failed.set_exception(BrokenExecutor("no worker process left to give photos to"))
            return failed
        future = submitted(self.current, fn, *args)
        self._pool_of[future] = self.current
        return future

    def died(self, future: Future) -> None:
        """A future failed with BrokenExecutor: its pool is let go (once), the next batch starts a new one."""
        pool = self._pool_of.pop(future, None)
        if pool is not None and pool is self.current:
            self.current = None
            self._deaths.count += 1
            if pool in self._made:
                pool.shutdown(wait=True, cancel_futures=True)

    def done_with(self, future: Future) -> None:
        self._pool_of.pop(future, None)

    def close(self) -> None:
        for pool in self._made:
            pool.shutdown(wait=True, cancel_futures=True)
        self._made.clear()


class Alone:
    """Work given to a pool of one worker (made by `start` when first needed, again after a death), so that a death
    is known to be the work's own."""

    def __init__(self, start: Callable[[], Executor | None], deaths: Deaths) -> None:
        self._start = start
        self._deaths = deaths
        self._pool: Executor | None = None
        self.unavailable = False  # no worker process could be started on this machine

    def call(self, fn: Callable[[list[Any]], list[Any]], item: Any) -> Any:
        """`fn([item])[0]` in the worker; Died when the worker died on it (or none could be started, or too many
        died: the item is then treated as one that kills its worker); None when the result could not come back
        (the worker lived through it: doing it in the run's process is safe)."""
        done = self._call(fn, [item])
        return done if isinstance(done, Died) or done is None else done[0]

    def call_each(self, fn: Callable[[list[Any]], list[Any]], items: list[Any]) -> list[Any]:
        """`fn(items)` in the worker; when the worker dies, each item again on its own (`call`): the results in
        order, Died for an item that kills its worker, None for one whose result could not come back."""
        done = self._call(fn, items)
        if done is None:
            return [None] * len(items)
        if isinstance(done, Died):
            return [self.call(fn, item) for item in items] if len(items) > 1 else [done]
        return done

    def _call(self, fn: Callable[[list[Any]], list[Any]], items: list[Any]) -> list[Any] | Died | None:
        if self._deaths.too_many:
            return Died(f"no worker process was left to give it to (workers died {self._deaths.count} times)", False)
        if self._pool is None:
            self._pool = self._start()
            if self._pool is None:
                self.unavailable = True
                return Died("no worker process could be started to give it to", False)
        pool = self._pool
        try:
            return submitted(pool, fn, items).result()
        except BrokenExecutor:
            why = shut_down(pool)
            self._pool = None
            self._deaths.count += 1
            return Died(why)
        except Exception:  # noqa: BLE001 - an unpicklable result or error: the worker lived through the work
            return None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def shut_down(pool: Executor) -> str:
    """Shut a broken pool down and say how its workers ended, from its processes (a ProcessPoolExecutor's): "killed
    by signal SIGSEGV", "exit code 1"; those the pool itself terminated after the death (SIGTERM) are left out. The
    codes are read once the pool's own thread has joined the workers: a fork server's worker has its code read from a
    pipe, once, and a second reader at the same time gets nothing (3.11 then says 255)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=True, cancel_futures=True)
    codes = [p.exitcode for p in processes if getattr(p, "exitcode", None) is not None]
    said = sorted({_exit_text(c) for c in codes if c != -signal.SIGTERM}) or sorted(set(map(_exit_text, codes)))
    return "; ".join(said) or "ended abruptly"


def _exit_text(code: int) -> str:
    if code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"
