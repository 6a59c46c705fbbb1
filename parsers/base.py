"""The parser contract: a parser declares what it reads (path patterns and, for databases, the
tables and columns it needs) and yields records. It knows nothing of storage, rules or reports.
"""

from __future__ import annotations

import abc
import fnmatch
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

from triage.evidence import FileEntry
from triage.records import Base
from triage.sqlite_budget import SqliteBudget, active_budget

SQLITE_MAGIC = b"SQLite format 3\x00"


@dataclass
class ParseContext:
    """What a parser gets for one file: its entry, a way to read it, and a place for warnings."""

    entry: FileEntry
    open: Callable[[], BinaryIO]  # a fresh read-only stream of the file
    sha256: str | None
    header: bytes  # the first bytes of the file (for format checks)
    sqlite_copy: Callable[[], Path] | None = None  # a private copy (with -wal/-journal) to open with sqlite3
    warnings: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def read_head(self, limit: int) -> tuple[bytes, bool]:
        """The file's first `limit` bytes, and whether it is longer (a small-file parser never reads
        a huge look-alike whole; what to do with a longer one is the parser's decision)."""
        with self.open() as f:
            data = f.read(limit + 1)
        return data[:limit], len(data) > limit


class Parser(abc.ABC):
    """One artifact family. Subclasses set the class attributes and implement `parse`."""

    name: str = ""
    description: str = ""
    path_patterns: tuple[str, ...] = ()  # fnmatch patterns on the file's path (case-insensitive)

    def path_matches(self, entry: FileEntry) -> bool:
        path = entry.path.lower()
        return any(fnmatch.fnmatchcase(path, p.lower()) for p in self.path_patterns)

    def accepts(self, entry: FileEntry, header: bytes) -> bool:
        """Cheap test on path and first bytes: should this parser look at the file at all?"""
        return self.path_matches(entry)

    def refusal(self, entry: FileEntry, header: bytes) -> str:
        """Why `accepts` said no to a file at one of this parser's paths (said in its "not parsed" warning)."""
        return f"not the format this parser reads (first bytes: {header[:16].hex(' ') or 'none'})"

    @abc.abstractmethod
    def parse(self, ctx: ParseContext) -> Iterator[Base]:
        """Yield records; put `source_table`/`source_row` (or `source_offset`) on each."""


class SqliteParser(Parser):
    """A parser of one SQLite schema family, selected by structure, not by file name.

    `required` maps table -> columns that must exist. A file that matches by path but lacks them is
    refused with a warning (a look-alike or an unknown schema generation), never guessed at.
    """

    required: dict[str, set[str]] = {}
    # alternatively: several schema generations, any one of which is enough (first one named when none fits)
    required_any: tuple[dict[str, set[str]], ...] = ()

    def accepts(self, entry: FileEntry, header: bytes) -> bool:
        # any SQLite file is a candidate: the structural check decides (renamed/moved databases)
        return header.startswith(SQLITE_MAGIC)

    def refusal(self, entry: FileEntry, header: bytes) -> str:
        return f"not a SQLite database (first bytes: {header[:16].hex(' ') or 'none'}, not {SQLITE_MAGIC!r})"

    def missing_structure(self, db: sqlite3.Connection) -> list[str]:
        """Tables/columns this parser needs that the database lacks (empty list = recognised)."""
        if self.required_any:
            gaps = [_missing(db, structure) for structure in self.required_any]
            return [] if any(not gap for gap in gaps) else gaps[0]
        return _missing(db, self.required)

    def parse(self, ctx: ParseContext) -> Iterator[Base]:
        assert ctx.sqlite_copy is not None
        with open_sqlite(ctx.sqlite_copy()) as db:
            yield from self.parse_db(db, ctx)

    @abc.abstractmethod
    def parse_db(self, db: sqlite3.Connection, ctx: ParseContext) -> Iterator[Base]:
        """Yield records from an opened, structurally checked database."""


def _missing(db: sqlite3.Connection, required: dict[str, set[str]]) -> list[str]:
    """Tables/columns of `required` that the database lacks (a view of the name does not count)."""
    missing: list[str] = []
    for table, columns in required.items():
        present = table_columns(db, table)
        if not present:
            kind = schema_kind(db, table)
            missing.append(f"table {table}" + (f" (there is a {kind} of that name; only tables are read)"
                                               if kind else ""))
        else:
            missing.extend(f"{table}.{c}" for c in sorted(columns - present))
    return missing


def table_columns(db: sqlite3.Connection, table: str) -> set[str]:
    """The columns of `table` if it is an ordinary table; empty for a view, a virtual table or nothing.

    Views are never followed: a view runs whatever SQL the database's author wrote (a recursive one
    never ends), and an app's data lives in its tables. Virtual tables run a module's code likewise.
    """
    if schema_kind(db, table) != "table":
        return set()
    return {row[1] for row in db.execute(f"PRAGMA table_info({quote_ident(table)})")}


def schema_kind(db: sqlite3.Connection, name: str) -> str | None:
    """"table", "view", "virtual table", "index", "trigger" for a schema name (SQLite: case-insensitive)."""
    row = db.execute("SELECT type, sql FROM sqlite_master WHERE name = ? COLLATE NOCASE "
                     "ORDER BY type = 'table' DESC LIMIT 1", (name,)).fetchone()
    if row is None:
        return None
    kind, sql = row[0], row[1] or ""
    return "virtual table" if kind == "table" and sql.lstrip().upper().startswith("CREATE VIRTUAL") else kind


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class open_sqlite:
    """Open the pipeline's private working copy of a database (never the evidence itself: the copy
    may be written when SQLite replays its -wal). Rows come back as sqlite3.Row.

    Every connection spends a budget (triage/sqlite_budget.py): the one given, else the one of the file
    being parsed, else a fresh default one, so no read of a copy ever runs without a time limit."""

    def __init__(self, path: Path, budget: SqliteBudget | None = None, count_rows: bool = True) -> None:
        self.path = path
        self.budget = budget if budget is not None else active_budget()
        self.count_rows = count_rows

    def __enter__(self) -> sqlite3.Connection:
        self.db = sqlite3.connect(self.path)
        self.db.row_factory = sqlite3.Row
        self.db.text_factory = lambda b: b.decode("utf-8", errors="replace")
        self.budget.attach(self.db, self.count_rows)
        return self.db

    def __exit__(self, *exc: object) -> None:
        self.db.close()
