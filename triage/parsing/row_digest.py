"""The SHA-256 of a record's source row: a digest anyone can re-derive from the database with sqlite3 alone.

The file's SHA-256 proves which database was read; this digest proves which row of it a record came from
and that the values the parser read are those in the row. The canonical encoding is written down in
docs/row_digest.md; `triage row-digest DATABASE TABLE ROWID` prints it for any row, so an expert can check
a record without this program's parsers (the encoding is small enough to reimplement from the doc).

Only records of SQLite databases whose `source_table` is a table with a rowid and whose `source_row` is
that rowid get one; the rest (XML backups, rows of WITHOUT ROWID tables, key-value stores) carry none, and
the report says so rather than showing a digest of something else.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from operator import length_hint
from pathlib import Path
from typing import Any

from parsers.base import quote_ident
from triage.sqlite_budget import SqliteBudget

ROWID_NAMES = ("rowid", "_rowid_", "oid")  # SQLite's three names for it: a column may shadow one or two


def _compact_json() -> Callable[[Any], str]:
    """JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode as one C encoder made once (the encoder's
    own `encode` builds a new one for every call, which costs more than a row). Circular values are not
    looked for: the values are a row's, never a value that contains itself."""
    if c_make_encoder is None:
        return json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode
    chunks = c_make_encoder(
        None, json.JSONEncoder().default, encode_basestring_ascii, None, ":", ",", False, False, True
    )
    return lambda value: "".join(chunks(value, 0))


_JSON = _compact_json()


def canonical_head(table: str, columns: list[str]) -> bytes:
    """The first line hashed (docs/row_digest.md): the JSON array [table, [column, ...]] in the table's column
    order, ASCII-only (other characters as \\uXXXX escapes), no spaces, then a line feed."""
    return _JSON([table, columns]).encode("ascii") + b"\n"


# the types of a row whose values JSON writes as they are (most rows of a phone's messages hold no real or blob)
_AS_THEY_ARE = frozenset((int, str, type(None)))


def canonical_values(rowid: int, values: tuple[Any, ...]) -> bytes:
    """The second line hashed: [rowid, [value, ...]]; integers as numbers, text as strings (bytes that are not
    UTF-8 as \\udcXX escapes), reals as {"real": Python's shortest repr}, blobs as {"blob": lowercase hex},
    NULL as null. The type is kept: 1 and 1.0, or a text and a blob of the same bytes, differ in SQLite."""
    if _AS_THEY_ARE.issuperset(map(type, values)):  # nothing to wrap (a msgstore.db message row: 4.5 -> 2.6 us)
        return _JSON([rowid, values]).encode("ascii")
    return _JSON(
        [
            rowid,
            [
                v
                if (t := type(v)) is int or t is str or v is None
                else {"real": repr(v)}
                if t is float
                else {"blob": v.hex()}
                for v in values
            ],
        ]
    ).encode("ascii")


# A value longer than this (characters of text, bytes of a blob) is encoded and hashed a piece at a time. SQLite
# holds values of up to 1 GB, and the encoding writes a letter outside ASCII as six bytes: a row whose body was 100
# million Arabic letters was copied into 1.2 GB of encoding to be hashed (bench/RESULTS.md, 2026-12-07 late night).
PIECE = 1 << 20


def canonical_pieces(rowid: int, values: tuple[Any, ...]) -> Iterator[bytes]:
    """`canonical_values`, a value longer than PIECE in pieces of at most PIECE characters or bytes: the same bytes
    once joined (JSON escapes text character by character, and a piece never splits a character)."""
    yield b"[" + str(rowid).encode("ascii") + b",["
    for i, v in enumerate(values):
        if i:
            yield b","
        if type(v) is str and len(v) > PIECE:
            yield b'"'
            for at in range(0, len(v), PIECE):
                yield encode_basestring_ascii(v[at : at + PIECE])[1:-1].encode("ascii")
            yield b'"'
        elif type(v) is bytes and len(v) > PIECE:
            yield b'{"blob":"'
            for at in range(0, len(v), PIECE):
                yield v[at : at + PIECE].hex().encode("ascii")
            yield b'"}'
        else:
            yield canonical_values(0, (v,))[4:-2]  # '[0,[' + the value + ']]'
    yield b"]]"


def _escaped(raw: bytes) -> str:
    """Text as docs/row_digest.md hashes it: UTF-8, with bytes that are not UTF-8 kept as \\udcXX escapes."""
    return raw.decode("utf-8", errors="surrogateescape")


class _TablePlan:
    """One table's reading plan: its columns, the first-line hash state, a point query and an ordered scan."""

    def __init__(self, table: str, columns: list[str], rowid_name: str) -> None:
        self.table, self.columns = table, columns
        self.head = hashlib.sha256(canonical_head(table, columns))
        listed = ", ".join(quote_ident(c) for c in columns)
        self.point = f"SELECT {listed} FROM {quote_ident(table)} WHERE {rowid_name} = ?"
        self.scan = f"SELECT {rowid_name}, {listed} FROM {quote_ident(table)} ORDER BY {rowid_name}"
        self.scan_after = (
            f"SELECT {rowid_name}, {listed} FROM {quote_ident(table)} WHERE {rowid_name} > ? ORDER BY {rowid_name}"
        )
        self.cursor: Any = None  # the scan, opened on first use
        self.at: tuple[Any, ...] | None = None  # the scan's current row (rowid first)
        self.ended = False


class RowReader:
    """Reads single rows of one database by table and rowid, as the digest needs them (text undecoded).

    Parsers mostly read a table in rowid order, so rows are taken from one ordered scan per table, advanced
    as records come (a merge, about three times cheaper than a query per row); a rowid behind the scan is
    looked up on its own.

    Text is decoded by sqlite3 itself (in C) while it is UTF-8; at the first value that is not, the reader
    turns to the escaping decoder (every byte kept, docs/row_digest.md) for the rest of the file and reads
    that row again. Valid UTF-8 decodes to the same text either way, so the digests are the same."""

    def __init__(self, path: Path, budget: SqliteBudget | None = None) -> None:
        self.db = sqlite3.connect(path)  # the pipeline's private copy, as the parser opened it (-wal applied)
        self.db.text_factory = str
        self.escaping = False  # every byte of the row counts: text that is not UTF-8 is kept, escaped, never replaced
        if budget is not None:  # bookkeeping, not a parser's read: spends the file's time, not its rows
            budget.attach(self.db, False)
        self._plans: dict[str, _TablePlan | None] = {}

    def close(self) -> None:
        self.db.close()

    def digest(self, table: str, rowid: int) -> str | None:
        """The row's digest, or None when the table has no such row or no rowid."""
        plan = self._plans[table] if table in self._plans else self.plan(table)
        if plan is None:
            return None
        values = self._from_scan(plan, rowid)
        if values is None:
            values = self.point(plan, rowid)
            if values is None:
                return None
        h = plan.head.copy()  # the first line is the same for every row of the table: hashed once
        if max(map(length_hint, values), default=0) > PIECE:  # 0.5 us a row: text and blobs only have a length
            for piece in canonical_pieces(rowid, values):
                h.update(piece)
        else:
            h.update(canonical_values(rowid, values))
        return h.hexdigest()

    def point(self, plan: _TablePlan, rowid: int) -> tuple[Any, ...] | None:
        """One row looked up on its own (None: no such row)."""
        try:
            return self.db.execute(plan.point, (rowid,)).fetchone()
        except sqlite3.DatabaseError:
            if not self._escape():
                raise  # not a text problem: the caller counts the row as unread
            return self.db.execute(plan.point, (rowid,)).fetchone()

    def _escape(self) -> bool:
        """Turn to the escaping decoder after a read failed; False when it was on already (the failure is
        something else: a damaged page, the time budget)."""
        if self.escaping:
            return False
        self.db.text_factory = _escaped
        self.escaping = True
        return True

    def _from_scan(self, plan: _TablePlan, rowid: int) -> tuple[Any, ...] | None:
        """The row's values from the ordered scan, or None to look it up on its own."""
        at = plan.at
        if at is not None:
            if at[0] == rowid:
                return at[1:]
            if at[0] > rowid:
                return None  # behind the scan (or absent): a point query says which
        elif plan.cursor is None:
            plan.cursor = self.db.execute(plan.scan)
        while not plan.ended and (at is None or at[0] < rowid):
            try:
                at = plan.cursor.fetchone()
            except sqlite3.DatabaseError:
                at = self._scan_again(plan)
            plan.at = at
            if at is None:
                plan.ended = True
        return at[1:] if at is not None and at[0] == rowid else None

    def _scan_again(self, plan: _TablePlan) -> tuple[Any, ...] | None:
        """The next row after a failed read: with the escaping decoder when text was not UTF-8 (the scan
        starts again after the last row read); None when that is not it (a damaged page ends the scan: rows
        are then looked up one by one)."""
        if not self._escape():
            return None
        try:
            if plan.at is None:
                plan.cursor = self.db.execute(plan.scan)
            else:
                plan.cursor = self.db.execute(plan.scan_after, (plan.at[0],))
            return plan.cursor.fetchone()
        except sqlite3.DatabaseError:
            return None

    def plan(self, table: str) -> _TablePlan | None:
        if table not in self._plans:
            self._plans[table] = self._make_plan(table)
        return self._plans[table]

    def _make_plan(self, table: str) -> _TablePlan | None:
        found = self.db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()
        if found is None or "WITHOUT ROWID" in " ".join((found[0] or "").upper().split()):
            return None
        columns = [r[1] for r in self.db.execute(f"PRAGMA table_info({quote_ident(table)})")]
        free = [name for name in ROWID_NAMES if name not in {c.lower() for c in columns}]
        if not columns or not free:
            return None
        return _TablePlan(table, columns, free[0])


class RowDigests:
    """The digests of one database copy's records, read row by row as records come (no table held in memory)."""

    def __init__(self, path: Path, budget: SqliteBudget | None = None) -> None:
        self.path, self.budget = path, budget
        self._reader: RowReader | None = None
        self.unread = 0  # records whose row could not be read again (damaged page, time budget spent)
        self.error: str | None = None  # the first such read error

    def of(self, table: str | None, row: str | None) -> str | None:
        if table is None or row is None or not row.isdigit():
            return None
        try:
            if self._reader is None:
                self._reader = RowReader(self.path, self.budget)
            return self._reader.digest(table, int(row))
        except sqlite3.Error as e:  # the record stays, without a digest; the file's warning counts them
            self.unread += 1
            self.error = self.error or f"{type(e).__name__}: {e}"
            return None

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None


def digest_of_file_row(database: Path, table: str, rowid: int) -> tuple[str, bytes] | None:
    """(digest, the bytes hashed) of one row of a database file, read from a private copy of it and its
    -wal/-journal (opening a database can write to it: the file given is never opened itself)."""
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "db"
        shutil.copyfile(database, copy)
        for suffix in ("-wal", "-journal"):
            side = database.with_name(database.name + suffix)
            if side.is_file():
                shutil.copyfile(side, copy.with_name("db" + suffix))
        reader = RowReader(copy)
        try:
            plan = reader.plan(table)
            if plan is None:
                return None
            found = reader.point(plan, rowid)
        finally:
            reader.close()
    if found is None:
        return None
    hashed = canonical_head(table, plan.columns) + canonical_values(rowid, found)
    return hashlib.sha256(hashed).hexdigest(), hashed
