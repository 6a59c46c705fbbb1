"""The real-size phone image against its floor: `triage run` on the E01 from bench/build_phone.py, and one
read + SHA-256 pass over the same E01 (pyewf), the least any tool that verifies its evidence must do.

    .venv/bin/python bench/bench_phone.py [--work /tmp/phone-bench]

Prints one markdown row: floor, run wall time, ratio, peak RSS, and the time of each stage of the run
(from the custody log's entry times), then our record counts.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import sqlite3
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pyewf

ROOT = Path(__file__).resolve().parent.parent
CHUNK = 8 << 20


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", default="/tmp/phone-bench")
    work = Path(p.parse_args().work)
    e01 = work / "phone.E01"
    floor = read_and_hash(e01)
    out = work / "run"
    shutil.rmtree(out, ignore_errors=True)
    (work / "run.zip").unlink(missing_ok=True)
    wall, rss = timed_run(e01, out, work / "run.time")
    print("| floor (read + SHA-256) | triage run | ratio | peak RSS |")
    print("|---|---|---|---|")
    print(f"| {floor:.1f} s | {wall:.1f} s | {wall / floor:.2f} | {rss:.0f} MB |")
    print()
    for action, seconds in stages(out / "data" / "custody.jsonl"):
        print(f"- {action}: {seconds:.1f} s")
    print(counts(out / "data" / "case.sqlite"))


def read_and_hash(e01: Path) -> float:
    start = time.perf_counter()
    handle = pyewf.handle()
    handle.open(pyewf.glob(str(e01)))
    digest = hashlib.sha256()
    size = handle.get_media_size()
    offset = 0
    while offset < size:
        data = handle.read_buffer_at_offset(min(CHUNK, size - offset), offset)
        digest.update(data)
        offset += len(data)
    handle.close()
    return time.perf_counter() - start


def timed_run(e01: Path, out: Path, time_file: Path) -> tuple[float, float]:
    subprocess.run(
        [
            "/usr/bin/time",
            "-v",
            "-o",
            str(time_file),
            str(ROOT / ".venv" / "bin" / "triage"),
            "run",
            str(e01),
            "--out",
            str(out),
            "--quiet",
        ],
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    report = time_file.read_text()
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", report).group(1)
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", report).group(1)) / 1024
    return sum(float(x) * 60**i for i, x in enumerate(reversed(wall.split(":")))), rss


def stages(log: Path) -> list[tuple[str, float]]:
    """Seconds from each custody entry to the next, named after the later one (what that time was spent on)."""
    entries = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    times = [datetime.fromisoformat(e["time_utc"].replace("Z", "+00:00")) for e in entries]
    return [(entries[i]["action"], (times[i] - times[i - 1]).total_seconds()) for i in range(1, len(entries))]


def counts(store: Path) -> dict[str, int]:
    con = sqlite3.connect(f"file:{store}?immutable=1", uri=True)
    try:
        return {
            table: con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 - fixed names
            for table in ("message", "call", "contact", "media_file", "location")
        }
    finally:
        con.close()


if __name__ == "__main__":
    main()
