"""Where a run's cores and memory go: every process of `triage run`, its CPU time and peak memory, by stage.

    .venv/bin/python bench/cores_and_memory.py EVIDENCE --out DIR [--every 0.25]

Starts `triage run EVIDENCE --out DIR --quiet` in a session of its own and, every `--every` seconds, reads from
/proc the CPU time (user + system) and the peak resident set (VmHWM) of every process in that session: the run's
own, its forks (the database forks, the parties' and the text scan's, the timeline's), the report's second process,
the spawned hashing and photo workers. A process is named by what it runs and, for a fork of the run (the same
command line), by the stage the custody log says was running when it was first seen (a stage is named by the entry
that ends it). Prints two tables:

- per process: when it ran, its CPU seconds, its peak RSS (what issue 14's "peak RSS flat" is about: the largest
  single process, as GNU time's maximum resident set size reports it);
- per stage (custody entries; a stage ends with its entry): its seconds, the CPU seconds of each kind of process in
  it and the core-seconds left idle (cores x seconds - CPU seconds): where a second core waits.

The sampling reads only /proc; one pass over a run's ~15 processes every 0.25 s costs a few ms of a core.
bench/rss_by_stage.py is the older view (VmRSS of the run and of its descendants together, per stage).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.rss_by_stage import stages  # noqa: E402 - the custody log's stages, read one way for both scripts

TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Seen:
    """One process of the run, as sampled."""

    command: str
    first: float
    last: float = 0.0
    peak_mb: float = 0.0
    cpu: list[tuple[float, float]] = field(default_factory=list)  # (time, CPU seconds used so far)

    def cpu_s(self) -> float:
        return self.cpu[-1][1] if self.cpu else 0.0


def read_process(pid: int) -> tuple[float, float, str] | None:
    """(CPU seconds so far, VmHWM in MB, command line) of a process; None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        status = Path(f"/proc/{pid}/status").read_text()
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    if "VmHWM:" not in status:  # a zombie: its memory is gone
        return None
    peak_kb = int(status.split("VmHWM:")[1].split()[0])
    return (int(fields[11]) + int(fields[12])) / TICKS, peak_kb / 1024, command.strip()


def sample(command: list[str], every: float) -> tuple[float, dict[int, Seen]]:
    """Run `command` in a session of its own; (its start, every process seen in the session) once it ends."""
    started = time.time()
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL, start_new_session=True)
    seen: dict[int, Seen] = {}
    while run.poll() is None:
        now = time.time() - started
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            pid = int(name)
            try:
                if os.getsid(pid) != run.pid:
                    continue
            except OSError:
                continue
            read = read_process(pid)
            if read is None:
                continue
            cpu, peak, cmdline = read
            process = seen.setdefault(pid, Seen(cmdline, now))
            process.command = cmdline or process.command  # a fork's is its parent's; an exec'd one changes
            process.last, process.peak_mb = now, max(process.peak_mb, peak)
            process.cpu.append((now, cpu))
        time.sleep(every)
    if run.returncode != 0:
        sys.exit(f"triage run failed with exit code {run.returncode}")
    return started, seen


def stage_ends(out: Path, started: float) -> list[tuple[float, str]]:
    """(end, in seconds from the command's start; stage name) from the custody log: a stage ends with its entry."""
    return [(at - started, name) for at, name in stages(out)]


def stage_at(ends: list[tuple[float, str]], t: float) -> str:
    for end, name in ends:
        if t < end:
            return name
    return "sealing"


def kind(process: Seen, run_command: str, ends: list[tuple[float, str]], main: bool) -> str:
    """What the process is, from its command line (a fork of the run: the stage it began in)."""
    command = process.command
    if main:
        return "run"
    if "triage.report.worker" in command:
        return "report's second process"
    if "multiprocessing.forkserver" in command:
        return "photo workers (forkserver)"
    if "multiprocessing.spawn" in command:
        return "spawned worker"  # the evidence files' hashing, the thumbnails …: told apart by when it ran
    if command == run_command:
        return f"fork made in the stage ending '{stage_at(ends, process.first)}'"
    return command.split(" ")[0].rsplit("/", 1)[-1] or "other"


def cpu_between(process: Seen, start: float, end: float) -> float:
    """CPU seconds the process used between two times (its samples' CPU counter, stepped)."""
    before = [cpu for t, cpu in process.cpu if t <= start]
    upto = [cpu for t, cpu in process.cpu if t <= end]
    return (upto[-1] if upto else 0.0) - (before[-1] if before else 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("evidence", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--every", type=float, default=0.25)
    args = parser.parse_args()
    command = [str(ROOT / ".venv" / "bin" / "triage"), "run", str(args.evidence), "--out", str(args.out), "--quiet"]
    started, seen = sample(command, args.every)
    ends = stage_ends(args.out, started)
    main_pid = min(seen)  # the session's leader is its first process
    run_command = seen[main_pid].command
    kinds = {pid: kind(p, run_command, ends, pid == main_pid) for pid, p in seen.items()}
    wall = max(p.last for p in seen.values())
    cores = os.cpu_count() or 1

    print(f"wall {wall:.1f} s, CPU {sum(p.cpu_s() for p in seen.values()):.1f} s over {len(seen)} processes\n")
    print("| process | pid | from–to (s) | CPU s | peak RSS |")
    print("|---|---|---|---|---|")
    for pid, p in sorted(seen.items(), key=lambda item: -item[1].peak_mb):
        if p.cpu_s() >= 0.05:  # not a fork seen only before it ran another program (ldconfig, gcc)
            print(f"| {kinds[pid]} | {pid} | {p.first:.1f}–{p.last:.1f} | {p.cpu_s():.1f} | {p.peak_mb:.0f} MB |")

    print("\n| stage (ends with this entry) | seconds | CPU s by process | idle core-s |")
    print("|---|---|---|---|")
    start = 0.0
    for end, name in [*ends, (wall, "sealing")]:
        if end <= start:
            continue
        by_kind: dict[str, float] = defaultdict(float)
        for pid, p in seen.items():
            by_kind[kinds[pid]] += cpu_between(p, start, end)
        used = sum(by_kind.values())
        shown = ", ".join(f"{k} {v:.1f}" for k, v in sorted(by_kind.items(), key=lambda kv: -kv[1]) if v >= 0.1)
        print(f"| {name} | {end - start:.1f} | {shown} | {max(0.0, cores * (end - start) - used):.1f} |")
        start = end


if __name__ == "__main__":
    main()
