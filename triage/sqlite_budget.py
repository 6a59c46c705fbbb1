"""Enforcing `ParseLimits` on SQLite: one budget per evidence file, spent by every connection to its copy.

Time is checked by SQLite's progress handler, which SQLite calls every ~100,000 virtual-machine
instructions even while one statement runs for ever (a recursive view, a cross join): returning
non-zero there makes the statement fail with "interrupted". The time counted is the time SQLite
spends working for the file, measured between those calls: the clock pauses whenever a row is handed
to Python, so a parser that is slow in Python on a large, healthy database (decoding, storing) never
spends the budget, while a statement that runs without end does. Rows are counted by the row factory,
the only place every fetched row passes through. Once either limit is reached the budget stays spent:
every later statement is interrupted and every later row refused, so a parser that catches one
error and carries on stops at its next read. What was read before is kept by the caller.

A parser that opens the working copy itself (rather than through `SqliteParser.parse`) still runs
under the file's budget: the runner makes it the active budget while the file is parsed, and
`parsers.base.open_sqlite` uses the active one when it is given none.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from triage.limits import OPTION_NAMES, ParseLimits

# VM instructions between two checks of the clock: ~1 ms of SQLite work, a negligible share in Python
CHECK_EVERY_INSTRUCTIONS = 100_000

_active: ContextVar[SqliteBudget | None] = ContextVar("active_sqlite_budget", default=None)


class SqliteBudgetReached(Exception):
    """Raised when a row is fetched once the budget is spent. Not an sqlite3.Error on purpose: parsers that
    forgive a damaged table must not forgive this, so the parser stops at once."""


class SqliteBudget:
    """The SQLite time and row budget of one evidence file (every parser, every connection)."""

    def __init__(self, limits: ParseLimits | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits or ParseLimits()
        self.clock = clock
        self.rows = 0
        self.seconds = 0.0  # time SQLite spent working for this file
        self.reached: str | None = None  # "time" or "rows" once a limit is reached
        self._last: float | None = None  # the previous progress call while SQLite works; None: paused

    def attach(self, db: sqlite3.Connection, count_rows: bool = True) -> None:
        """Make `db` spend this budget.

        `count_rows=False` for the pipeline's own bookkeeping reads (row ids compared with the -wal):
        they spend time, but they are not rows a parser read."""
        db.set_progress_handler(self._progress, CHECK_EVERY_INSTRUCTIONS)
        if count_rows:
            db.row_factory = self._row
        self._last = None

    def message(self) -> str:
        """What was reached, how much was read, and the option that raises the limit."""
        if self.reached == "time":
            return (
                f"SQLite time budget reached: stopped after {self.seconds:.1f} s, {self.rows} row(s) read "
                f"(limit {self.limits.sqlite_seconds_per_file:g} s per file; raise it with "
                f"{OPTION_NAMES['sqlite_seconds_per_file']})"
            )
        if self.reached == "rows":
            return (
                f"SQLite row budget reached: stopped after {self.limits.sqlite_rows_per_file} row(s) in "
                f"{self.seconds:.1f} s (limit {self.limits.sqlite_rows_per_file} rows per file; raise it "
                f"with {OPTION_NAMES['sqlite_rows_per_file']})"
            )
        return "SQLite budget not reached"

    def _progress(self) -> int:
        now = self.clock()
        if self._last is not None:
            self.seconds += now - self._last
        self._last = now
        if self.reached is None and self.seconds > self.limits.sqlite_seconds_per_file:
            self.reached = "time"
        return 1 if self.reached else 0  # non-zero: SQLite interrupts the statement

    def _row(self, cursor: sqlite3.Cursor, row: tuple) -> sqlite3.Row:
        self._last = None  # a row goes to Python: what Python does with it is not SQLite's time
        if self.reached is None and self.rows >= self.limits.sqlite_rows_per_file:
            self.reached = "rows"
        if self.reached:
            raise SqliteBudgetReached(self.message())
        self.rows += 1
        return sqlite3.Row(cursor, row)


def active_budget() -> SqliteBudget:
    """The budget of the file being parsed, or a fresh default one (a connection never runs unchecked)."""
    return _active.get() or SqliteBudget()


@contextmanager
def spending(budget: SqliteBudget) -> Iterator[SqliteBudget]:
    """Make `budget` the active one while a file is parsed."""
    token = _active.set(budget)
    try:
        yield budget
    finally:
        _active.reset(token)
