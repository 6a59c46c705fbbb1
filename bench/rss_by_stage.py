"""Where a run's memory goes: `triage run` with its resident memory sampled, reported per stage.

    .venv/bin/python bench/rss_by_stage.py EVIDENCE --out DIR [--every 0.2]

Starts `triage run EVIDENCE --out DIR --quiet`, reads the resident set size (VmRSS) of the run and of each
process it started (the photo workers, the report's second process) every `--every` seconds from /proc, and
afterwards places each sample in the stage the custody log says was running then (the stage that ended
with the next entry). Prints, per stage, the seconds and the largest RSS of the run's own process and of
all its processes together: what the issue's "peak RSS flat from N = 200,000 to 1,000,000" is checked with.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        try:
            children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            found.append(child)
            todo.append(child)
    return found


def sample(args: argparse.Namespace) -> list[tuple[float, float, float]]:
    """(time, RSS of the run's process, RSS of it and every descendant) until the run ends."""
    command = [str(ROOT / ".venv" / "bin" / "triage"), "run", str(args.evidence), "--out", str(args.out), "--quiet"]
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    samples = []
    while run.poll() is None:
        own = rss_mb(run.pid)
        samples.append((time.time(), own, own + sum(rss_mb(child) for child in descendants(run.pid))))
        time.sleep(args.every)
    if run.returncode != 0:
        sys.exit(f"triage run failed with exit code {run.returncode}")
    return samples


def stages(out: Path) -> list[tuple[float, str]]:
    """(end time, stage name) from the custody log: a stage ends with its entry."""
    log = next(p for p in (out / "data" / "custody.jsonl", out / "custody.jsonl") if p.is_file())
    # entries end at "\n" only: splitlines() would also cut at a U+2028 inside a value
    entries = [json.loads(line) for line in log.read_text(encoding="utf-8").split("\n") if line]
    return [
        (datetime.fromisoformat(e["time_utc"].replace("Z", "+00:00")).astimezone(UTC).timestamp(), e["action"])
        for e in entries
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("evidence", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--every", type=float, default=0.2)
    args = parser.parse_args()
    samples = sample(args)
    ends = stages(args.out) + [(float("inf"), "after the last entry (sealing)")]
    print("| stage (ends with this entry) | seconds | peak RSS, run | peak RSS, run + children |")
    print("|---|---|---|---|")
    start = samples[0][0] if samples else 0.0
    for end, name in ends:
        inside = [s for s in samples if start <= s[0] < end]
        if inside:
            print(
                f"| {name} | {min(end, samples[-1][0]) - start:.1f} | {max(s[1] for s in inside):.0f} MB | "
                f"{max(s[2] for s in inside):.0f} MB |"
            )
        start = max(start, end) if end != float("inf") else start
    print(f"\npeak: run {max(s[1] for s in samples):.0f} MB, run + children {max(s[2] for s in samples):.0f} MB")


if __name__ == "__main__":
    main()
