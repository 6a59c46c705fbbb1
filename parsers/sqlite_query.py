"""Helpers for schema-tolerant SQL: build SELECT lists and joins from the columns a database has,
so a column added or dropped by an app version never breaks a query (and absence is visible)."""

from __future__ import annotations

import sqlite3
from array import array
from bisect import bisect_left
from collections.abc import Container

from parsers.base import quote_ident, table_columns


def tables(db: sqlite3.Connection) -> set[str]:
    """The ordinary tables (views and virtual tables are never read: see parsers.base.table_columns)."""
    return {
        r[0]
        for r in db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'")
        if not (r[1] or "").lstrip().upper().startswith("CREATE VIRTUAL")
    }


def present(db: sqlite3.Connection, table: str, wanted: list[str]) -> list[str]:
    cols = table_columns(db, table)
    return [c for c in wanted if c in cols]


def select_list(alias: str, columns: list[str], prefix: str = "") -> list[str]:
    return [f"{alias}.{quote_ident(c)} AS {quote_ident(prefix + c)}" for c in columns]


def satellite_joins(
    db: sqlite3.Connection, base_alias: str, satellites: dict[str, tuple[str, list[str]]], key: str = "message_row_id"
) -> tuple[list[str], list[str]]:
    """LEFT JOINs for the one-row-per-message tables that exist: (select items, join clauses).

    satellites: table -> (column prefix in the result, wanted columns).
    """
    items, joins = [], []
    existing = tables(db)
    for i, (table, (prefix, wanted)) in enumerate(satellites.items()):
        if table not in existing:
            continue
        cols = present(db, table, wanted)
        if not cols or key not in table_columns(db, table):
            continue
        alias = f"s{i}"
        items += select_list(alias, cols, prefix)
        joins.append(f"LEFT JOIN {quote_ident(table)} {alias} ON {alias}.{key} = {base_alias}._id")
    return items, joins


class SortedIds(Container[object]):
    """Row ids held as a sorted array of 64-bit integers: 8 bytes an id where a set of Python ints takes ~60
    (a phone's 600,000 message ids: ~5 MB against ~40 MB). Membership by bisection."""

    def __init__(self, ids: array) -> None:
        self._ids = ids

    def __contains__(self, row_id: object) -> bool:
        if type(row_id) is not int:
            return False
        i = bisect_left(self._ids, row_id)
        return i < len(self._ids) and self._ids[i] == row_id

    def __len__(self) -> int:
        return len(self._ids)


def row_ids(db: sqlite3.Connection, sql: str) -> Container[object]:
    """The values of the first column of `sql` (ids, e.g. `SELECT _id FROM a_view`) for membership tests: a
    SortedIds when they are all integers, else (text, real, NULL or blob ids) a set. SQLite errors
    raised while reading are the caller's."""
    ids = array("q")
    rows = db.execute(f"SELECT * FROM ({sql}) ORDER BY 1")
    for row_id, *_ in rows:  # SQLite's integers are 64-bit: each fits the array
        if type(row_id) is not int or (ids and row_id < ids[-1]):
            return {*ids, row_id, *(r[0] for r in rows)}
        ids.append(row_id)
    return SortedIds(ids)
