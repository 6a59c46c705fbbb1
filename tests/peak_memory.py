"""Peak memory of the current process for the memory tests (they run the work in a child process).

`ru_maxrss` is no use there: Linux carries the high-water mark across fork and exec, so a child of a
pytest process that has grown to 900 MB reports 900 MB whatever it did itself. `VmHWM` in
/proc/self/status belongs to the address space exec made, so it is the child's own peak.
"""

from __future__ import annotations

from pathlib import Path


def peak_rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status (not Linux?)")
