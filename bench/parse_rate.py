"""Parse + store rate: the parsers on every file of an evidence item, their records into a new case store.

What `triage run` does between "files selected for parsing" and "parsing finished", without the rest of the
run: lists the evidence, runs the parsers chosen for each file (sequentially, as on 2 cores), stores every
record in a fresh SQLite case store, and prints, per parser, the files, the records and the seconds spent in
it (store included), then the messages per second of the whole step (the issue's "parse + store" target).

    python bench/parse_rate.py EVIDENCE [--workers N] [--work DIR] [--profile OUT.pstats]
"""

from __future__ import annotations

import argparse
import cProfile
import resource
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path

from triage.evidence.opener import open_evidence
from triage.model.records import Base, Message, SourceFile
from triage.parsing import ParseRunner
from triage.parsing.parallel import parse_in_order
from triage.store import CaseStore


def main() -> None:
    args = parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="parse-rate-"))
    work.mkdir(parents=True, exist_ok=True)
    store = CaseStore(f"sqlite:///{work / 'case.sqlite'}")
    records: Counter[str] = Counter()
    seconds: Counter[str] = Counter()
    files: Counter[str] = Counter()

    def on_source(source: SourceFile) -> None:
        store.add_numbered(source)

    def on_record(record: Base, source: SourceFile) -> None:
        records[type(record).__name__] += 1
        store.insert(record)

    with open_evidence(args.evidence) as evidence:
        runner = ParseRunner(evidence, work, on_source, on_record, lambda *a: None)
        started = time.perf_counter()
        candidates = runner.select()
        listed = time.perf_counter() - started
        profiler = cProfile.Profile() if args.profile else None
        if profiler:
            profiler.enable()
        if args.workers is not None:  # as `triage run`: photos in worker processes, records in listing order
            stats = parse_in_order(runner, candidates, workers=args.workers)
            seconds[f"all files, {stats.workers} worker(s), {stats.parallel_files} files in workers"] += (
                time.perf_counter() - started - listed
            )
            files[f"all files, {stats.workers} worker(s), {stats.parallel_files} files in workers"] += len(candidates)
        for candidate in candidates if args.workers is None else ():
            before = time.perf_counter()
            runner.parse(candidate)
            key = candidate.parsers[0].name if len(candidate.parsers) == 1 else candidate.entry.path.rsplit("/", 1)[-1]
            seconds[key] += time.perf_counter() - before
            files[key] += 1
        before = time.perf_counter()
        store.commit()
        seconds["(final flush)"] += time.perf_counter() - before
        if profiler:
            profiler.disable()
            profiler.dump_stats(args.profile)
        total = time.perf_counter() - started
    messages = store.count(Message)
    store.close()
    print(f"listing and selection: {listed:.1f} s ({len(candidates)} files chosen)")
    for key, spent in seconds.most_common():
        print(f"  {key:40} {files[key]:6} files {spent:7.1f} s")
    print(f"records: {dict(records)}")
    print(
        f"parse + store: {total:.1f} s, {messages:,} messages, {messages / total:,.0f} messages/s, "
        f"{sum(records.values()) / total:,.0f} records/s; peak RSS "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )
    if not args.work:
        shutil.rmtree(work)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("evidence", type=Path)
    parser.add_argument("--work", type=Path, help="folder for the case store (default: a temporary one, removed)")
    parser.add_argument(
        "--workers",
        type=int,
        help="parse through triage.parsing.parallel with this many workers "
        "(0: its sequential path); default: each file timed, sequentially",
    )
    parser.add_argument("--profile", type=Path, help="write a cProfile of the parsing to this file")
    return parser.parse_args()


if __name__ == "__main__":
    main()
