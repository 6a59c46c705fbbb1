"""The structure of one database, read once for all the SQLite parsers: a SQLite parser reads a database by
its structure, not its name (docs/adding_a_parser.md, `path_patterns`).

Every SQLite file of an extraction is a candidate for every SQLite parser, wherever it sits, so that a
database copied out of its folder or renamed is still read. A phone holds thousands of databases; asking
each parser in turn would open each one twenty-odd times. Instead the runner reads the list of tables
once (one query), and the columns only of the tables some parser's schema names; a parser is asked to
recognise the database only when one of its schema generations fits that shape (or when the file is at
one of its paths, where its refusal must be worded).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from parsers.base import Schema, SqliteParser, quote_ident


def named_tables(parsers: Iterable[SqliteParser]) -> set[str]:
    """Every table name (lower case) any schema generation of these parsers needs."""
    return {table.lower() for p in parsers for schema in p.schemas for table in schema.tables}


class DatabaseShape:
    """The ordinary tables of a database (views and virtual tables never count, as in parsers/base.py
    `table_columns`) and the columns of those that `wanted` names."""

    def __init__(self, db: sqlite3.Connection, wanted: set[str]) -> None:
        names: dict[str, str] = {}
        for name, sql in db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'"):
            if isinstance(name, str) and not (sql or "").lstrip().upper().startswith("CREATE VIRTUAL"):
                names.setdefault(name.lower(), name)  # SQLite's names are case-insensitive: the first wins
        self.tables = frozenset(names)
        self.columns: dict[str, frozenset[str]] = {
            key: frozenset(row[1] for row in db.execute(f"PRAGMA table_info({quote_ident(names[key])})"))
            for key in sorted(wanted & self.tables)
        }

    def fits(self, schema: Schema) -> bool:
        """The database has every table and column of this generation."""
        return all(
            table.lower() in self.columns and columns <= self.columns[table.lower()]
            for table, columns in schema.tables.items()
        )

    def may_be_read_by(self, parser: SqliteParser) -> bool:
        """One of the parser's generations fits (the parser's own `recognise` still has the last word)."""
        return any(self.fits(schema) for schema in parser.schemas)
