"""The paged listings alone (pages/, `triage.report.pages.write_pages`), timed on a copy of a finished run's store.

    .venv/bin/python bench/pages_step.py RUN_OUT EVIDENCE [--work DIR] [--repeat 1]

RUN_OUT is the --out folder of a `triage run`, EVIDENCE the evidence it ran on (read again for thumbnails),
as for bench/report_step.py, whose copy of the run this reuses. The report's context (findings, thumbnails,
map) is built once as the report step builds it; then the pages are written --repeat times, each into a new
folder WORK/pages-N/pages, and each write is timed (wall and CPU seconds). The peak RSS of the process is
printed before the first write and after the last: a write that raised it shows as a difference.
Keep one run's pages to byte-compare two versions of the code (`diff -r`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report_step import copy_run, report_of_copy  # noqa: E402 - the bench folder is not a package


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_out", type=Path)
    parser.add_argument("evidence", type=Path)
    parser.add_argument("--work", type=Path, default=None, help="a new folder for the copy (default: a temp folder)")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="pages-step-")) / "out"
    case = copy_run(args.run_out, work)

    from triage.report.pages import write_pages

    store, _, report = report_of_copy(work, case, args.evidence)
    print(f"context built; peak RSS so far {peak_rss_mb():.0f} MB")
    for n in range(1, args.repeat + 1):
        out = work / f"pages-{n}"
        out.mkdir()
        wall, cpu = time.perf_counter(), time.process_time()
        files = write_pages(store, dataclasses.replace(report, out=out)).files
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        size = sum(f.stat().st_size for f in files)
        print(
            f"write_pages #{n}: wall {wall:6.2f} s   cpu {cpu:6.2f} s   {len(files)} files, {size / 1e6:.1f} MB "
            f"({out / 'pages'})"
        )
    print(f"peak RSS {peak_rss_mb():.0f} MB")
    store.close()
    print(json.dumps({"work": str(work)}))


if __name__ == "__main__":
    main()
