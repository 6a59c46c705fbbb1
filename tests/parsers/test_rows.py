"""parsers/rows.py gives the same values as the general helpers it stands in for on the hot path."""

from __future__ import annotations

import sqlite3

from parsers.rows import row_dicts, unix_ms_utc
from triage.model.timeutil import decode

EDGES = [
    631_151_999_999,  # the last millisecond before 1990: not converted
    631_152_000_000,  # 1990-01-01T00:00:00Z: the first converted
    1_717_279_199_999,
    4_102_444_799_999,  # the last millisecond before 2100
    4_102_444_800_000,  # 2100-01-01: not converted
]


def test_unix_ms_utc_is_decodes_utc_for_every_kind_of_raw_value() -> None:
    raws: list[object] = [
        *EDGES,
        0,
        -1,
        None,
        "",
        "1717279199999",  # text: decode's own path
        "not a time",
        1717279199999.5,  # a real
        True,  # a bool is not taken for an integer here
        10**30,  # out of datetime's range
    ]
    for raw in raws:
        assert unix_ms_utc(raw) == decode(raw, "unix_ms").utc, raw  # type: ignore[arg-type]
    assert [unix_ms_utc(raw) is None for raw in EDGES] == [True, False, False, False, True]


def test_row_dicts_are_dict_of_each_row_in_order() -> None:
    db = sqlite3.connect(":memory:")
    db.row_factory = sqlite3.Row
    db.execute("CREATE TABLE t (_id INTEGER PRIMARY KEY, a TEXT, b REAL)")
    db.executemany("INSERT INTO t VALUES (?, ?, ?)", [(1, "x", 1.5), (2, None, None), (3, "é", 0.0)])
    query = "SELECT _id, a, b, a AS again FROM t ORDER BY _id"
    expected = [dict(row) for row in db.execute(query)]
    got = list(row_dicts(db.execute(query)))
    assert got == expected and [list(d) for d in got] == [["_id", "a", "b", "again"]] * 3
    assert got[2] == {"_id": 3, "a": "é", "b": 0.0, "again": "é"}
