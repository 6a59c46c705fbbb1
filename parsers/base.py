"""The parser contract: a parser declares what it reads (app, platform, path patterns and, for databases,
the named schema generations it knows), what it yields (record classes), which fixture proves each of
those, and whether it needs nothing but the file's bytes; then it yields records. It knows nothing of
storage, rules or reports. Defining a parser class with a `name` registers it (parsers/registry.py):
adding a parser is one new file (docs/adding_a_parser.md).
"""

from __future__ import annotations

import abc
import fnmatch
import functools
import re
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

from parsers import registry
from triage.evidence import FileEntry
from triage.model.records import Base
from triage.sqlite_budget import SqliteBudget, active_budget

SQLITE_MAGIC = b"SQLite format 3\x00"
PLATFORMS = ("Android", "iOS", "any")


@dataclass(frozen=True)
class Schema:
    """One schema generation a SQLite parser knows: the tables and columns that identify it.

    `fixture` is the repository path of a file in that layout (a builder's output or a third-party
    sample) that a test parses: every generation a parser claims is proven by a file
    (tests/parsers/test_parser_registry.py checks that each one exists).
    """

    name: str  # how the generation is known, e.g. "modern (message table, 2021+)"
    tables: Mapping[str, AbstractSet[str]]  # table -> columns that must exist (kept as frozensets)
    fixture: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "tables", {t: frozenset(c) for t, c in self.tables.items()})

    def missing(self, db: sqlite3.Connection) -> list[str]:
        """Tables/columns of this generation that the database lacks (empty list = it is this generation)."""
        return _missing(db, self.tables)


@dataclass
class ParseContext:
    """What a parser gets for one file: its entry, a way to read it, and a place for warnings."""

    entry: FileEntry
    open: Callable[[], BinaryIO]  # a fresh read-only stream of the file
    sha256: str | None
    header: bytes  # the first bytes of the file (for format checks)
    sqlite_copy: Callable[[], Path] | None = None  # a private copy (with -wal/-journal) to open with sqlite3
    warnings: list[str] = field(default_factory=list)
    # why the image decoders (Pillow's and libheif's C code) must not read this file here, None when they may: a
    # worker process died on it (triage/parsing/worker_deaths.py); the parser reads what Python code can and says
    no_decoding: str | None = None

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def read_head(self, limit: int) -> tuple[bytes, bool]:
        """The file's first `limit` bytes, and whether it is longer (a small-file parser never reads
        a huge look-alike whole; what to do with a longer one is the parser's decision)."""
        with self.open() as f:
            data = f.read(limit + 1)
        return data[:limit], len(data) > limit


class Parser(abc.ABC):
    """One artifact family. Subclasses set the class attributes and implement `parse`.

    A subclass that sets `name` is a concrete parser: defining it registers it (parsers/registry.py)
    and its declaration is checked then, so a missing attribute fails at import, not in a run.
    """

    name: str = ""  # unique; names the parser in warnings and in SourceFile.parser
    description: str = ""
    app: str = ""  # the app or system component whose files it reads, e.g. "WhatsApp"
    platform: str = "any"  # "Android", "iOS" or "any" (formats both write)
    path_patterns: tuple[str, ...] = ()  # fnmatch patterns on the file's path (case-insensitive)
    produces: tuple[type[Base], ...] = ()  # the record classes it yields
    # True when the parse needs nothing but the file's bytes (no SQLite copy, no other file of the
    # evidence) and is CPU work worth a worker process: triage/parsing/parallel.py sends such files' bytes
    # to its workers
    bytes_only: bool = False
    # repository paths of files (builders' output, third-party samples) its tests parse; SQLite parsers
    # name one per schema generation instead (`Schema.fixture`)
    fixtures: tuple[str, ...] = ()
    # which parser reads first a file several parsers read (msgstore.db: messages, then payments), and
    # so the order of record ids: ascending, ties by name (parsers/registry.py)
    order: int = registry.DEFAULT_ORDER

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__ and cls.name:
            problems = cls.declaration_problems()
            if problems:
                raise TypeError(f"parser {cls.name!r} ({cls.__module__}.{cls.__qualname__}): " + "; ".join(problems))
            registry.register(cls)

    @classmethod
    def declaration_problems(cls) -> list[str]:
        """What a concrete parser's declaration lacks (empty list = complete)."""
        problems = []
        if not cls.app:
            problems.append("set `app` (the app whose files it reads)")
        if cls.platform not in PLATFORMS:
            problems.append(f"`platform` is {cls.platform!r}, not one of {', '.join(PLATFORMS)}")
        if not cls.produces or not all(isinstance(r, type) and issubclass(r, Base) for r in cls.produces):
            problems.append("set `produces` to the record classes it yields")
        if not cls.fixture_paths():
            problems.append("name the fixture files that prove it (`fixtures`, or `schemas` for SQLite)")
        return problems

    @classmethod
    def fixture_paths(cls) -> tuple[str, ...]:
        """Every repository file named as proof of this parser."""
        return cls.fixtures

    def path_matches(self, entry: FileEntry) -> bool:
        """Whether the path fits one of `path_patterns`, as fnmatch.fnmatchcase on lower-cased path and patterns
        says (one compiled expression per parser: the listing asks every parser about every file)."""
        regex = self.paths_regex()
        return regex is not None and regex.match(entry.path.lower()) is not None

    def paths_regex(self) -> re.Pattern[str] | None:
        """`path_patterns` as one expression over the lower-cased path (None: no patterns, nothing matches);
        for a caller that asks many parsers about one path and lowers it once (ParseRunner.select)."""
        return _paths_regex(tuple(self.path_patterns))

    def paths_tails(self) -> tuple[str, ...] | None:
        """What a lower-cased path that fits `path_patterns` must end with: each pattern's text after its last
        wildcard (a cheap test before `paths_regex`); None when a pattern ends with a wildcard (no such test)."""
        return _paths_tails(tuple(self.path_patterns))

    def accepts_by_path_alone(self) -> bool:
        """Whether `accepts` is `path_matches` and nothing else (not overridden): its answer is known from the
        path test."""
        return type(self).accepts is Parser.accepts

    def accepts(self, entry: FileEntry, header: bytes) -> bool:
        """Cheap test on path and first bytes: should this parser look at the file at all?"""
        return self.path_matches(entry)

    def refusal(self, entry: FileEntry, header: bytes) -> str:
        """Why `accepts` said no to a file at one of this parser's paths (said in its "not parsed" warning)."""
        return f"not the format this parser reads (first bytes: {header[:16].hex(' ') or 'none'})"

    @abc.abstractmethod
    def parse(self, ctx: ParseContext) -> Iterator[Base]:
        """Yield records; put `source_table`/`source_row` (or `source_offset`) on each."""


@functools.cache
def _paths_regex(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    """fnmatch patterns (case-insensitive) as one expression; None when there are none (nothing matches)."""
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{fnmatch.translate(p.lower())})" for p in patterns))


@functools.cache
def _paths_tails(patterns: tuple[str, ...]) -> tuple[str, ...] | None:
    tails = tuple(re.split(r"[*?\[\]]", p.lower())[-1] for p in patterns)
    return None if not patterns or "" in tails else tails


class SqliteParser(Parser):
    """A parser of one SQLite schema family, selected by structure, not by file name.

    `schemas` names the generations it reads, each with the tables and columns that identify it; the
    first one a database has is the one it is read as (recorded on the SourceFile). A file that matches
    by path but fits none is refused with a warning naming what the nearest generation lacks (a
    look-alike or an unknown generation), never guessed at.
    """

    schemas: ClassVar[tuple[Schema, ...]] = ()

    @classmethod
    def declaration_problems(cls) -> list[str]:
        problems = super().declaration_problems()
        if not cls.schemas or not all(isinstance(s, Schema) for s in cls.schemas):
            problems.append("set `schemas` to the Schema generations it reads")
        return problems

    @classmethod
    def fixture_paths(cls) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*(s.fixture for s in cls.schemas), *cls.fixtures)))

    def recognise(self, db: sqlite3.Connection) -> tuple[Schema | None, list[str]]:
        """The first declared generation the database has, and no gaps; or None and what the nearest
        generation lacks (the one with most of its tables present; the first declared on a tie)."""
        gaps: list[tuple[int, int, list[str]]] = []
        for schema in self.schemas:
            missing = schema.missing(db)
            if not missing:
                return schema, []
            gaps.append((-sum(bool(table_columns(db, t)) for t in schema.tables), len(gaps), missing))
        return None, min(gaps)[2]

    def accepts(self, entry: FileEntry, header: bytes) -> bool:
        # any SQLite file is a candidate: the structural check decides (renamed/moved databases)
        return header.startswith(SQLITE_MAGIC)

    def refusal(self, entry: FileEntry, header: bytes) -> str:
        return f"not a SQLite database (first bytes: {header[:16].hex(' ') or 'none'}, not {SQLITE_MAGIC!r})"

    def missing_structure(self, db: sqlite3.Connection) -> list[str]:
        """Tables/columns this parser needs that the database lacks (empty list = recognised)."""
        return self.recognise(db)[1]

    def parse(self, ctx: ParseContext) -> Iterator[Base]:
        assert ctx.sqlite_copy is not None
        with open_sqlite(ctx.sqlite_copy()) as db:
            yield from self.parse_db(db, ctx)

    @abc.abstractmethod
    def parse_db(self, db: sqlite3.Connection, ctx: ParseContext) -> Iterator[Base]:
        """Yield records from an opened, structurally checked database."""


def _missing(db: sqlite3.Connection, required: Mapping[str, AbstractSet[str]]) -> list[str]:
    """Tables/columns of `required` that the database lacks (a view of the name does not count)."""
    missing: list[str] = []
    for table, columns in required.items():
        present = table_columns(db, table)
        if not present:
            kind = schema_kind(db, table)
            missing.append(
                f"table {table}" + (f" (there is a {kind} of that name; only tables are read)" if kind else "")
            )
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
    """ "table", "view", "virtual table", "index", "trigger" for a schema name (SQLite: case-insensitive)."""
    row = db.execute(
        "SELECT type, sql FROM sqlite_master WHERE name = ? COLLATE NOCASE ORDER BY type = 'table' DESC LIMIT 1",
        (name,),
    ).fetchone()
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
