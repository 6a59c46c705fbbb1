"""The passes after parsing (parties, media, payments, rules) timed on a copy of a run's case store.

Takes the `case.sqlite` of a finished run (e.g. the bundle's `data/case.sqlite` from bench/side_by_side.py),
copies it, deletes what the passes derive (parties, payments, findings), runs the registered passes
(triage/run/passes.py) on the copy, prints seconds per pass and the peak RSS, and with `--dump DIR` writes
the derived rows (parties, payments, findings, media hints) and each pass's custody details as text, so two
versions of the code can be compared byte for byte (`diff -r`).

    python bench/bench_passes.py RUN/data/case.sqlite [--dump DIR] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from rules.pack import DEFAULT_PACK, load_pack
from rules.watchlist import Watchlists
from triage.run.passes import PassInput, run_passes
from triage.store import CaseStore

DERIVED = ("party", "payment", "finding")
DUMPS = {
    "party": "select * from party order by id",
    "payment": "select * from payment order by id",
    "finding": "select * from finding order by id",
    "media_file": "select id, extra from media_file order by id",
}


def fresh_copy(case: Path, work: Path) -> Path:
    target = work / "case.sqlite"
    shutil.copyfile(case, target)
    with sqlite3.connect(target) as db:
        for table in DERIVED:
            db.execute(f"delete from {table}")
    return target


def run(case: Path) -> dict[str, Any]:
    store = CaseStore(f"sqlite:///{case}", finished=True)  # a finished run's store, for the passes only
    given = PassInput(store, load_pack(DEFAULT_PACK), Watchlists())
    seconds: dict[str, tuple[float, float]] = {}  # wall, CPU
    details: dict[str, Any] = {}
    started = [time.perf_counter(), time.process_time(), ""]

    def on_start(action: str) -> None:
        _close(started, seconds)
        started[:] = [time.perf_counter(), time.process_time(), action]

    run_passes(given, record=lambda action, **d: details.__setitem__(action, d), on_start=on_start)
    _close(started, seconds)
    store.commit()
    store.close()
    return {"seconds": seconds, "details": details}


def _close(started: list[Any], seconds: dict[str, tuple[float, float]]) -> None:
    if started[2]:
        seconds[started[2]] = (time.perf_counter() - started[0], time.process_time() - started[1])


def dump(case: Path, details: dict[str, Any], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(case) as db:
        for name, query in DUMPS.items():
            with (folder / f"{name}.txt").open("w", encoding="utf-8") as out:
                for row in db.execute(query):
                    out.write(repr(row) + "\n")
    (folder / "details.json").write_text(json.dumps(details, indent=1, sort_keys=True, default=str))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case", type=Path, help="case.sqlite of a finished run (not changed: a copy is used)")
    parser.add_argument("--dump", type=Path, help="write the derived rows here for comparison")
    parser.add_argument("--work", type=Path, help="folder for the copy (default: a temporary folder)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-passes-"))
    work.mkdir(parents=True, exist_ok=True)
    copy = fresh_copy(args.case, work)
    started = time.perf_counter(), time.process_time()
    result = run(copy)
    total = time.perf_counter() - started[0], time.process_time() - started[1]
    print(f"{'pass':28s} {'wall':>8s} {'CPU':>8s}")  # the machine may be shared: CPU time is the steadier figure
    for action, (wall, cpu) in [*result["seconds"].items(), ("all passes (with commit)", total)]:
        print(f"{action:28s} {wall:7.2f}s {cpu:7.2f}s")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    if args.dump:
        dump(copy, result["details"], args.dump)
    if args.work is None:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
