"""The examiner's limits on how much work one evidence file may cost a parser.

A database is written by whoever controlled the phone. A hostile one can hold a view that recurses
forever, or a table of billions of rows, and a parser reading it would run out of time or memory
before the rest of the phone is examined. Each limit is a run option recorded in the custody log;
when one is reached the parser stops, keeps what it read, and a warning names the limit, how much
was read, and the option that raises it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

# the `triage run` option that sets each field (named in the warning when a limit is reached)
OPTION_NAMES = {
    "sqlite_seconds_per_file": "--sqlite-seconds",
    "sqlite_rows_per_file": "--sqlite-rows",
}


@dataclass(frozen=True)
class ParseLimits:
    """Budgets per evidence file, over every query every parser runs on one database (its structure
    check included): the time SQLite spends executing them (Python's own work on the rows does not
    count) and the rows they return. The defaults leave room for the largest real databases (a
    WhatsApp msgstore.db of several million messages reads about two rows per message) while keeping
    a hostile view's rows (each held by a parser in memory) to a few hundred MB."""

    sqlite_seconds_per_file: float = 120.0
    sqlite_rows_per_file: int = 20_000_000

    def __post_init__(self) -> None:
        if not self.sqlite_seconds_per_file > 0:
            raise ValueError(f"sqlite_seconds_per_file must be > 0, not {self.sqlite_seconds_per_file}")
        if self.sqlite_rows_per_file < 1:
            raise ValueError(f"sqlite_rows_per_file must be >= 1, not {self.sqlite_rows_per_file}")

    def to_json(self) -> dict[str, float | int]:
        return asdict(self)
