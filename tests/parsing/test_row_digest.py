"""The source-row SHA-256: records carry it, and it is what docs/row_digest.md's recipe gives from the row."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from unittest.mock import ANY

from click.testing import CliRunner

from triage.cli import cli
from triage.parsing.row_digest import RowDigests, digest_of_file_row
from triage.run.loose_parse import parse_loose_file

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def recipe(path: Path, table: str, rowid: int) -> str:
    """docs/row_digest.md's stand-alone recipe, written out again: the tool must agree with it."""
    db = sqlite3.connect(path)
    db.text_factory = lambda b: b.decode("utf-8", "surrogateescape")
    columns = [r[1] for r in db.execute(f'PRAGMA table_info("{table}")')]
    values = db.execute(f'SELECT * FROM "{table}" WHERE _rowid_ = ?', (rowid,)).fetchone()
    db.close()
    typed = [{"real": repr(v)} if type(v) is float else {"blob": v.hex()} if type(v) is bytes else v for v in values]

    def dump(value: object) -> bytes:
        return json.dumps(value, ensure_ascii=True, separators=(",", ":")).encode("ascii")

    return hashlib.sha256(dump([table, columns]) + b"\n" + dump([rowid, typed])).hexdigest()


def typed_database(path: Path) -> Path:
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE t (_id INTEGER PRIMARY KEY, n INTEGER, r REAL, s TEXT, b BLOB, z);
        INSERT INTO t VALUES (1, 1, 1.0, 'Salam, jay heye? 2,500£ 🚤', X'00ff10', NULL);
        INSERT INTO t VALUES (2, 1.0, 1, CAST(X'41ff42' AS TEXT), 'x', 123456789012345678);
        INSERT INTO t VALUES (7, NULL, 0.1, 'مرحبا', X'', -5);
        CREATE TABLE w (k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID;
        INSERT INTO w VALUES ('a', 'b');
        CREATE TABLE shadow (rowid TEXT, v TEXT);
        INSERT INTO shadow VALUES ('not the rowid', 'v');
        CREATE VIEW tv AS SELECT * FROM t;
    """)
    db.commit()
    db.close()
    return path


def test_digest_keeps_every_type_and_matches_the_documented_recipe(tmp_path: Path) -> None:
    path = typed_database(tmp_path / "typed.db")
    digests = RowDigests(path)
    got = {rowid: digests.of("t", str(rowid)) for rowid in (1, 2, 7)}
    digests.close()
    assert got == {rowid: recipe(path, "t", rowid) for rowid in (1, 2, 7)}
    assert len(set(got.values())) == 3
    # 1 and 1.0 are different values where the column keeps what it is given (no affinity): so are their rows
    db = sqlite3.connect(path)
    db.execute("UPDATE t SET z = 1 WHERE _id = 1")
    db.execute("UPDATE t SET z = 1.0 WHERE _id = 7")
    db.execute("UPDATE t SET _id = 8 WHERE _id = 7")
    db.execute("UPDATE t SET _id = 7, n = NULL WHERE _id = 1")
    db.commit()
    db.close()
    assert recipe(path, "t", 8) != recipe(path, "t", 7)


def test_rows_of_integers_text_and_null_only_match_the_recipe(tmp_path: Path) -> None:
    """Most rows of a phone's tables hold no real and no blob: they are written as they are (a shorter way in
    row_digest.canonical_values), and must hash as the recipe says, text that is not UTF-8 included."""
    path = tmp_path / "plain.db"
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE m (_id INTEGER PRIMARY KEY, n INTEGER, s TEXT, z);
        INSERT INTO m VALUES (1, -9223372036854775808, 'Salam, jay heye? 2,500£ 🚤 "quoted" \\', NULL);
        INSERT INTO m VALUES (2, NULL, CAST(X'41ff42' AS TEXT), 'مرحبا');
        INSERT INTO m VALUES (3, 0, '', 9223372036854775807);
    """)
    db.commit()
    db.close()
    digests = RowDigests(path)
    got = [digests.of("m", str(rowid)) for rowid in (1, 2, 3)]
    digests.close()
    assert got == [recipe(path, "m", rowid) for rowid in (1, 2, 3)]


def test_rows_without_a_rowid_or_outside_a_table_get_none(tmp_path: Path) -> None:
    path = typed_database(tmp_path / "typed.db")
    digests = RowDigests(path)
    assert digests.of("w", "1") is None  # WITHOUT ROWID
    assert digests.of("tv", "1") is None  # a view
    assert digests.of("t", "99") is None  # no such row
    assert digests.of("t", "x1") is None  # not a rowid
    assert digests.of("missing", "1") is None
    assert digests.of("shadow", "1") == recipe(path, "shadow", 1)  # a column named rowid: _rowid_ is used
    assert digests.unread == 0


def test_rows_asked_out_of_order_get_the_same_digest(tmp_path: Path) -> None:
    path = typed_database(tmp_path / "typed.db")
    in_order = RowDigests(path)
    expected = [in_order.of("t", str(i)) for i in (1, 2, 7)]
    backwards = RowDigests(path)
    assert [backwards.of("t", str(i)) for i in (7, 2, 1)] == expected[::-1]


def test_text_that_is_not_utf8_keeps_every_byte_wherever_it_is_met(tmp_path: Path) -> None:
    """Text is decoded by sqlite3 until a value is not UTF-8: that row is read again with the escaping
    decoder, in the middle of a scan, as the first row of a scan or looked up on its own."""
    path = tmp_path / "mixed.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE m (_id INTEGER PRIMARY KEY, s TEXT, u TEXT)")
    for rowid in range(1, 9):
        bad = rowid in (1, 5, 6)
        db.execute(
            "INSERT INTO m VALUES (?, CAST(? AS TEXT), ?)",
            (rowid, b"\xc3(\xff" + bytes([rowid]) if bad else f"ok {rowid}".encode(), "Zoé ☎"),
        )
    db.commit()
    db.close()
    expected = [recipe(path, "m", rowid) for rowid in range(1, 9)]
    assert len(set(expected)) == 8

    def digests(order: list[int]) -> list[str | None]:
        reader = RowDigests(path)
        got = [reader.of("m", str(rowid)) for rowid in order]
        assert reader.unread == 0
        reader.close()
        return got

    assert digests(list(range(1, 9))) == expected  # the first row is not UTF-8
    assert digests([2, 3, 4, 5, 6, 7, 8]) == expected[1:]  # met in the middle of the scan
    assert digests([6, 5, 2]) == [expected[5], expected[4], expected[1]]  # behind the scan: looked up alone
    assert [digest_of_file_row(path, "m", rowid) for rowid in (5, 2)] == [  # looked up alone first (the command)
        (expected[4], ANY),
        (expected[1], ANY),
    ]


def test_every_parsed_message_carries_its_rows_digest(tmp_path: Path) -> None:
    database = FIXTURES / "third_party" / "lab-whatsapp" / "msgstore.db"
    before = hashlib.sha256(database.read_bytes()).hexdigest()
    records, _ = parse_loose_file(database)
    copy = tmp_path / "msgstore.db"  # the recipe opens a database: never the fixture itself
    copy.write_bytes(database.read_bytes())
    messages = [r for r in records if r["type"] == "message"]
    assert len(messages) > 5
    for message in messages:
        where = message["provenance"]
        assert where["row_sha256"] == recipe(copy, where["table"], int(where["row"]))
    assert hashlib.sha256(database.read_bytes()).hexdigest() == before


def test_row_digest_command_prints_the_digest_and_never_opens_the_file(tmp_path: Path) -> None:
    path = typed_database(tmp_path / "typed.db")
    before = path.read_bytes()
    result = CliRunner().invoke(cli, ["row-digest", str(path), "t", "2", "--show"])
    assert result.exit_code == 0, result.output
    digest, head, values = result.output.splitlines()
    assert digest == recipe(path, "t", 2)
    assert head == '["t",["_id","n","r","s","b","z"]]'
    assert values == '[2,[2,1,{"real":"1.0"},"A\\udcffB","x",123456789012345678]]'
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["typed.db"]  # no -wal, -shm or journal made beside it


def test_row_digest_command_says_what_is_wrong_for_a_missing_row(tmp_path: Path) -> None:
    path = typed_database(tmp_path / "typed.db")
    result = CliRunner().invoke(cli, ["row-digest", str(path), "w", "1"])
    assert result.exit_code != 0
    assert "no row with rowid 1 in a table named 'w'" in str(result.exception or result.output)


def test_long_values_are_hashed_in_pieces_with_the_same_digest(tmp_path: Path, monkeypatch) -> None:
    """A value longer than PIECE is encoded a piece at a time (a 100-million-letter body was 1.2 GB of encoding at
    once): the pieces join into the very bytes of `canonical_values`, and the digests are the recipe's, for text
    (letters outside ASCII, emoji, bytes kept as escapes) and blobs alike."""
    import triage.parsing.row_digest as row_digest

    monkeypatch.setattr(row_digest, "PIECE", 3)  # every value of more than 3 characters or bytes goes in pieces
    values = ("مرحبا بك", "🚤🚤 boat 🚤", "a\udcffb\udcfe" * 3, b"\x00\xff\x10\x20", 1.5, None, 7, "ab")
    assert b"".join(row_digest.canonical_pieces(9, values)) == row_digest.canonical_values(9, values)
    path = typed_database(tmp_path / "typed.db")
    db = sqlite3.connect(path)
    db.execute("INSERT INTO t VALUES (9, 2, 2.5, ?, ?, 'short')", ("قارب " * 50 + "🚤" * 20, bytes(range(256)) * 3))
    db.commit()
    db.close()
    digests = RowDigests(path)
    got = {rowid: digests.of("t", str(rowid)) for rowid in (1, 2, 7, 9)}
    digests.close()
    assert got == {rowid: recipe(path, "t", rowid) for rowid in (1, 2, 7, 9)}
