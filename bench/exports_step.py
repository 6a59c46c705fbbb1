"""The record exports alone (records/<type>.jsonl and .csv, `triage.report.tables.write_records_and_tables`),
timed on a copy of a finished run's store.

    .venv/bin/python bench/exports_step.py RUN_OUT [--work DIR] [--only message] [--repeat 1] [--skip-all] [--old-way]

RUN_OUT is the --out folder of a `triage run` (its store is RUN_OUT/data/case.sqlite, read only: it is
copied into WORK first). Each repeat writes every record type into WORK/all-N/records and then the messages
alone into WORK/message-N/records (or only the types given with --only), and prints the wall and CPU seconds
of each write (--skip-all: only the second). --old-way makes every record the way it was made before
export_columns.py (a dict each, encoded whole), for an A/B on the same machine. Keep one run's folders to
byte-compare two versions of the code (`cmp` each file, or `diff -r`).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_out", type=Path)
    parser.add_argument("--work", type=Path, default=None, help="a new folder for the copy (default: a temp folder)")
    parser.add_argument("--only", action="append", default=None, help="record type(s) of the second write")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--skip-all", action="store_true", help="time only the --only types")
    parser.add_argument(
        "--old-way", action="store_true", help="every row the old way (no SQL-made lines): the A of an A/B"
    )
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="exports-step-")) / "out"
    data = args.run_out / "data" if (args.run_out / "data").is_dir() else args.run_out
    work.mkdir(parents=True)
    shutil.copy(data / "case.sqlite", work / "case.sqlite")

    import triage.store as store_module
    from triage.report.tables import write_records_and_tables

    store = store_module.CaseStore.in_folder(work, finished=True)
    if args.old_way:
        from triage.report import export_columns

        export_columns.sqlite_connection = lambda session: None
    only = args.only or ["message"]
    for n in range(1, args.repeat + 1):
        runs = [("message", only)] if args.skip_all else [("all", None), ("message", only)]
        for name, types in runs:
            folder = work / f"{name}-{n}" / "records"
            wall, cpu = time.perf_counter(), time.process_time()
            lines, tables = write_records_and_tables(store, folder, types)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            size = sum(p.stat().st_size for p in [*lines.values(), *tables])
            print(
                f"{name:8} #{n}: wall {wall:6.2f} s   cpu {cpu:6.2f} s   {len(lines) + len(tables)} files, "
                f"{size / 1e6:.1f} MB ({folder})"
            )
    store.close()
    print(json.dumps({"work": str(work)}))


if __name__ == "__main__":
    main()
