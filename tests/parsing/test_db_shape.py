"""The structure of a database, read once for every SQLite parser (triage/parsing/db_shape.py)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from parsers import ALL_PARSERS
from parsers.base import Schema, SqliteParser
from triage.parsing.db_shape import DatabaseShape, named_tables

SQLITE_PARSERS = [p for p in ALL_PARSERS if isinstance(p, SqliteParser)]


def shape_of(path: Path, statements: list[str]) -> DatabaseShape:
    with sqlite3.connect(path) as db:
        for statement in statements:
            db.execute(statement)
        shape = DatabaseShape(db, named_tables(SQLITE_PARSERS))
    db.close()
    return shape


def test_only_ordinary_tables_count_and_names_ignore_case(tmp_path: Path) -> None:
    shape = shape_of(
        tmp_path / "x.db",
        [
            "CREATE TABLE SMS (_id INTEGER PRIMARY KEY, address TEXT, body TEXT, date INTEGER, type INTEGER)",
            "CREATE TABLE notes (x)",
            "CREATE VIEW call AS SELECT 1 AS ROWID",  # a view of a parser's table name is never read
        ],
    )
    assert shape.tables == {"sms", "notes"}
    assert set(shape.columns) == {"sms"}  # columns only of the tables some parser names
    assert shape.fits(Schema("t", {"sms": {"address", "body"}}, "f"))
    assert not shape.fits(Schema("t", {"sms": {"address", "thread_id"}}, "f"))
    assert not shape.fits(Schema("t", {"call": {"ROWID"}}, "f"))


def test_a_parser_is_asked_only_when_one_of_its_generations_fits(tmp_path: Path) -> None:
    path = tmp_path / "y.db"
    shape = shape_of(path, ["CREATE TABLE call (ROWID INTEGER PRIMARY KEY, address, date, duration, flags, id)"])
    ios7 = next(p for p in SQLITE_PARSERS if p.name == "ios7_calls")
    assert not shape.may_be_read_by(ios7)  # Apple's _SqliteDatabaseProperties is missing
    shape = shape_of(path, ["CREATE TABLE _SqliteDatabaseProperties (key TEXT, value TEXT)"])
    assert shape.may_be_read_by(ios7)
    assert [p.name for p in SQLITE_PARSERS if shape.may_be_read_by(p)] == ["ios7_calls"]
