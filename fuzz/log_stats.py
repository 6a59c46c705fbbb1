#!/usr/bin/env python3
"""One markdown table row per libFuzzer log: the figures fuzz/RESULTS.md reports.

.venv/bin/python fuzz/log_stats.py /tmp/fuzz-logs/*.log
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

_STAT = re.compile(r"^stat::(\w+):\s+(\d+)", re.M)
_DONE = re.compile(r"^Done (\d+) runs in (\d+) second", re.M)
_LAST = re.compile(r"^#(\d+)\s+(?:INITED|NEW|REDUCE|pulse|DONE)\s+cov: (\d+) ft: (\d+) corp: (\d+)/", re.M)
_INITED = re.compile(r"^#\d+\s+INITED cov: (\d+) ft: (\d+)", re.M)


def row(log: Path) -> str:
    text = log.read_text(errors="replace")
    stats = dict(_STAT.findall(text))
    done = _DONE.search(text)
    last = _LAST.findall(text)[-1] if _LAST.search(text) else ("?", "?", "?", "?")
    inited = _INITED.search(text)
    finding = "yes" if re.search(r"ERROR: libFuzzer|Uncaught Python exception", text) else "no"
    seconds = done.group(2) if done else "?"
    return (
        f"| {log.stem} | {stats.get('number_of_executed_units', '?')} | {seconds} | "
        f"{stats.get('average_exec_per_sec', '?')} | {inited.group(1) if inited else '?'}/"
        f"{inited.group(2) if inited else '?'} → {last[1]}/{last[2]} | {last[3]} | "
        f"{stats.get('peak_rss_mb', '?')} | {finding} |"
    )


def main(paths: list[str]) -> int:
    print("| harness | executions | seconds | exec/s | cov/ft seeds → end | corpus | peak RSS MB | finding |")
    print("|---|---|---|---|---|---|---|---|")
    for path in paths:
        print(row(Path(path)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
