"""parsers/sqlite_query.py row_ids: the ids of a query held compactly, with the membership a set gives."""

import sqlite3

import pytest

from parsers.sqlite_query import SortedIds, row_ids


@pytest.fixture
def db():
    with sqlite3.connect(":memory:") as db:
        db.execute("CREATE TABLE message (_id INTEGER PRIMARY KEY, shown INTEGER)")
        db.executemany("INSERT INTO message VALUES (?, ?)", [(i, i % 3 != 0) for i in range(1, 3001)])
        db.execute("CREATE VIEW shown_view AS SELECT _id FROM message WHERE shown ORDER BY _id DESC")
        yield db


def test_integer_ids_are_a_sorted_array_with_the_sets_membership(db):
    ids = row_ids(db, "SELECT _id FROM shown_view")
    assert isinstance(ids, SortedIds) and len(ids) == 2000
    expected = {r[0] for r in db.execute("SELECT _id FROM shown_view")}
    assert [i for i in range(-5, 3010) if i in ids] == sorted(expected)
    assert "1" not in ids and None not in ids and 2.0 not in ids


def test_empty_and_extreme_ids(db):
    assert 1 not in row_ids(db, "SELECT _id FROM message WHERE 0")
    db.execute("CREATE TABLE wide (_id INTEGER)")
    db.executemany("INSERT INTO wide VALUES (?)", [(-(1 << 63),), ((1 << 63) - 1,), (0,), (0,)])
    ids = row_ids(db, "SELECT _id FROM wide")
    assert isinstance(ids, SortedIds)
    assert -(1 << 63) in ids and (1 << 63) - 1 in ids and 0 in ids and 1 not in ids


def test_ids_that_are_not_integers_are_kept_as_a_set(db):
    db.execute("CREATE TABLE odd (_id)")
    db.executemany("INSERT INTO odd VALUES (?)", [(5,), ("7",), (2.5,), (None,), (b"\x01",)])
    ids = row_ids(db, "SELECT _id FROM odd")
    assert ids == {None, 5, 2.5, "7", b"\x01"}  # what {r[0] for r in rows} holds
