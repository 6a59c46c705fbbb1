"""Two case stores compared row for row: a lab run (PostgreSQL, a worker) against the single-machine run.

Every table of triage.model.records, every column, ids included (both stores number rows 1, 2, … in the
order the run stores them). Only what differs between any two runs of the same evidence is left out:
the custody entries are compared by their actions, in order (their times, hashes and run parameters
such as host, output folder and store URL are the run's own), without the entries a lab run adds
("lab job started" / "lab job retried": which job, attempt and worker), which a run outside the lab
cannot have, and the machine's own housekeeping ("stale work folders removed").
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Table, create_engine, select
from sqlalchemy.engine import Engine

from triage.model.records import Base

LAB_ACTIONS = ("lab job started", "lab job retried")  # triage/lab/examine.py
# housekeeping of the machine the run happened on, not of the evidence: a run records it when it finds work
# folders left by a process that died (a killed worker's), which depends on what ran there before
MACHINE_ACTIONS = ("stale work folders removed",)  # triage/run/pipeline.py


def rows_of(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every table's rows in id order, as Python values (the column types convert them alike on every backend)."""
    engine = create_engine(url)
    try:
        return {table.name: list(_rows(engine, table)) for table in Base.metadata.sorted_tables}
    finally:
        engine.dispose()


def _rows(engine: Engine, table: Table) -> Iterator[dict[str, Any]]:
    custody = table.name == "custody_event"
    columns = [table.c.action] if custody else list(table.columns)
    with engine.connect() as c:
        for row in c.execute(select(*columns).order_by(table.c.id)):
            if not (custody and row.action in LAB_ACTIONS + MACHINE_ACTIONS):
                yield dict(row._mapping)


def differences(
    expected: dict[str, list[dict[str, Any]]], got: dict[str, list[dict[str, Any]]], limit: int = 20
) -> list[str]:
    """Lines naming each table whose rows differ, and the first differing rows (empty: the same records)."""
    lines: list[str] = []
    for name in expected.keys() | got.keys():
        a, b = expected.get(name, []), got.get(name, [])
        if len(a) != len(b):
            lines.append(f"{name}: {len(a)} rows expected, {len(b)} found")
            if name == "custody_event":  # which entries: the actions in order
                lines.append(f"  expected {[r['action'] for r in a]}\n  found    {[r['action'] for r in b]}")
        for row_a, row_b in zip(a, b, strict=False):  # a count that differs is said above; the common rows compared
            if row_a != row_b:
                changed = {
                    k: (row_a.get(k), row_b.get(k)) for k in row_a.keys() | row_b.keys() if row_a.get(k) != row_b.get(k)
                }
                lines.append(f"{name} id {row_a.get('id')}: {changed}")
            if len(lines) >= limit:
                return lines
    return lines
