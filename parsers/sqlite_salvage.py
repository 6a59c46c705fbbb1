"""Read every readable row of a table whose b-tree has damaged pages.

A plain `SELECT … ORDER BY rowid` stops at the first damaged leaf page ("database disk image is
malformed") and loses every row after it. But a seek `WHERE rowid > k` descends the interior pages
and reads only the leaf where k belongs, so the scan can resume past the damage: from the last row
read, probe k at growing steps until a seek succeeds, narrow the boundary by bisection, and go on
from there. Rows on the damaged page are lost, and each gap is reported with its rowid range so an
examiner can look at those pages with other tools (`sqlite3 .recover`, a hex editor).

Limit (said in the warning): a good page lying between two damaged pages closer together than the
probe step can be stepped over; the step starts at 1 and doubles, so with dense rowids it is not.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator

from parsers.base import quote_ident

MIN_ROWID, MAX_ROWID = -(1 << 63), (1 << 63) - 1


def readable_rows(
    db: sqlite3.Connection, table: str, columns: list[str], warn: Callable[[str], None]
) -> Iterator[sqlite3.Row]:
    """`columns` of every readable row of a rowid table, in rowid order; damage becomes warnings."""
    select = (
        f'SELECT rowid AS "__rowid", {", ".join(columns)} FROM {quote_ident(table)} WHERE rowid >= ? ORDER BY rowid'
    )
    lower = MIN_ROWID  # the next row to read has a rowid >= lower
    while True:
        try:
            for row in db.execute(select, (lower,)):
                lower = row["__rowid"] + 1
                yield row
            return
        except sqlite3.DatabaseError as e:
            error = e
        # sqlite3 steps one row ahead: the rows just before the damage are handed over one at a time
        while True:
            try:
                row = db.execute(select + " LIMIT 1", (lower,)).fetchone()
            except sqlite3.DatabaseError:
                break
            if row is None:
                return
            lower = row["__rowid"] + 1
            yield row
        resume = _next_readable(db, table, lower)
        if resume is None:
            warn(
                f"{table}: damaged page(s) from rowid {_shown(lower)} on: the rest of the table cannot be read "
                f"({error})"
            )
            return
        warn(
            f"{table}: damaged page(s): rows with rowid {_shown(lower)} to {resume - 1} cannot be read ({error}); "
            "reading went on after them"
        )
        lower = resume


def _shown(rowid: int) -> str:
    return "(start of table)" if rowid == MIN_ROWID else str(rowid)


def _seek_ok(db: sqlite3.Connection, table: str, k: int) -> bool:
    try:
        db.execute(f"SELECT rowid FROM {quote_ident(table)} WHERE rowid >= ? ORDER BY rowid LIMIT 1", (k,)).fetchall()
        return True
    except sqlite3.DatabaseError:
        return False


def _next_readable(db: sqlite3.Connection, table: str, failed_at: int) -> int | None:
    """The least k > failed_at from which a seek `rowid >= k` succeeds again (None: none at all)."""
    bad, step = failed_at, 1
    while True:
        probe = min(bad + step, MAX_ROWID)
        if _seek_ok(db, table, probe):
            break
        if probe == MAX_ROWID:
            return None
        bad, step = probe, step * 2
    good = probe
    while good - bad > 1:  # a seek fails at `bad` and succeeds at `good`
        mid = (bad + good) // 2
        if _seek_ok(db, table, mid):
            good = mid
        else:
            bad = mid
    return good
