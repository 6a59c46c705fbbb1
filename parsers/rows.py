"""Per-row helpers for the parsers that read a phone's hundreds of thousands of rows (messages, calls): the
same values as the general ones (`dict(row)`, `triage.model.timeutil.decode`), for less work per row.

A SQLite row costs a parser a few microseconds; at half a million messages every one counts
(the parse + store rate is in bench/parse_rate.py).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from triage.model.timeutil import UNIX_EPOCH, decode

# decode's plausible device-time window (docs/formats/time_encodings.md) in Unix milliseconds: outside it a
# time is kept raw and not converted (tests/parsers/test_rows.py holds the two to the same edges)
_EARLIEST_MS = 631_152_000_000  # 1990-01-01T00:00:00Z in Unix milliseconds
_LATEST_MS = 4_102_444_800_000  # 2100-01-01T00:00:00Z


def row_dicts(rows: Iterable[sqlite3.Row]) -> Iterator[dict[str, Any]]:
    """The rows of one query as dicts: `dict(row)` looks every column of every row up by name, this reads
    the names once (again only if a row has another width)."""
    names: list[str] = []
    for row in rows:
        if len(names) != len(row):
            names = row.keys()
        yield dict(zip(names, row, strict=True))


def unix_ms_utc(raw: Any) -> datetime | None:
    """`decode(raw, "unix_ms").utc`, its raw value being `raw` and its encoding "unix_ms": the common case
    (an integer inside the plausible window) computed here without a Timestamp, anything else by decode."""
    if type(raw) is int and _EARLIEST_MS <= raw < _LATEST_MS:
        return UNIX_EPOCH + timedelta(microseconds=raw * 1000)
    return decode(raw, "unix_ms").utc
