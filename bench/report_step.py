"""The report step alone, timed on a copy of a finished run's case store (issue 14).

    .venv/bin/python bench/report_step.py RUN_OUT EVIDENCE [--work DIR]

RUN_OUT is the --out folder of a `triage run` (its data/ holds case.sqlite and custody.jsonl), EVIDENCE the
evidence it ran on (read again for thumbnails). The store and the custody log up to the report are copied
into a new folder and `triage.report.write_report` is called on them as pipeline.py calls it; the parts of
the step this process runs are timed one by one (wall and CPU seconds), the second process (records/ and
report.pdf, triage/report/worker.py) shows as the wait for it. Prints one line per part and the total.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BEFORE_REPORT = ("report written", "seal", "run finished", "run failed")


def copy_run(run_out: Path, work: Path) -> dict[str, str]:
    """case.sqlite and the custody log as they were when the report step began; the run's case line."""
    data = run_out / "data" if (run_out / "data").is_dir() else run_out
    work.mkdir(parents=True)
    shutil.copy(data / "case.sqlite", work / "case.sqlite")
    with sqlite3.connect(work / "case.sqlite") as db:  # made by the report step, so timed with it (stream.py)
        for (name,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'ix_report_%'"
        ).fetchall():
            db.execute(f'DROP INDEX "{name}"')
    lines = []
    for line in (data / "custody.jsonl").read_text(encoding="utf-8").split("\n"):
        if line and json.loads(line)["action"] in BEFORE_REPORT:
            break
        lines.append(line)
    (work / "custody.jsonl").write_text("\n".join(x for x in lines if x) + "\n", encoding="utf-8")
    return json.loads((data / "findings.json").read_text(encoding="utf-8"))["case"]


def report_of_copy(work: Path, case: dict[str, str], evidence: Path) -> tuple[Any, Any, Any]:
    """The store of a copied run (copy_run), the default pack, and the report's context as the report step
    builds it (findings, thumbnails read again from `evidence`, map): what pages_step and pdf_step time."""
    import triage.store as store_module
    from rules.engine import load_pack
    from triage.enrich.thumbnails import cited_media, make_thumbnails
    from triage.model.timeutil import iso, now_utc
    from triage.report import _custody_entries, _files_selected
    from triage.report.findings import build_findings
    from triage.report.html import build_report
    from triage.report.stream import ensure_indexes

    store = store_module.CaseStore.in_folder(work, finished=True)
    pack = load_pack()
    entries = _custody_entries(work / "custody.jsonl")
    run = {"started_utc": entries[0]["time_utc"], "report_utc": iso(now_utc())}
    findings = build_findings(store, case, pack, run, store.counts(), files_selected=_files_selected(entries))
    ensure_indexes(store.session)
    store.commit()
    thumbnails = make_thumbnails(store.session, evidence, None, work, first=cited_media(store.session))
    return store, pack, build_report(store, findings, work / "custody.jsonl", work, pack.zones, thumbnails)


def timed(times: dict[str, list[float]], name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            spent = times.setdefault(name, [0.0, 0.0])
            spent[0] += time.perf_counter() - wall
            spent[1] += time.process_time() - cpu

    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_out", type=Path)
    parser.add_argument("evidence", type=Path)
    parser.add_argument("--work", type=Path, default=None, help="folder for the copy (default: a new temp folder)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="report-step-")) / "out"
    case = copy_run(args.run_out, work)

    import triage.report as report
    import triage.store as store_module
    from rules.engine import load_pack
    from triage.enrich.thumbnails import cited_media, make_thumbnails
    from triage.evidence import open_evidence  # noqa: F401 - the thumbnails read it (timed apart)
    from triage.integrity.custody import CustodyLog
    from triage.report.context import ReportContext

    times: dict[str, list[float]] = {}
    for name in (
        "build_findings",
        "build_report",
        "write_pages",
        "write_html",
        "record_outcome",
        "sha256_of",
    ):
        setattr(report, name, timed(times, name, getattr(report, name)))
    report.ReportWorker.finish = timed(times, "wait for the second process", report.ReportWorker.finish)
    # the copy holds a finished run: open it as the run's own store was open when its report began
    store = store_module.CaseStore.in_folder(work, finished=True)
    wall, cpu = time.perf_counter(), time.process_time()
    # the run makes the thumbnails just before its report: timed with it, as before they were a step of their own
    thumbnails = timed(times, "thumbnails (the run's step)", make_thumbnails)(
        store.session, args.evidence, None, work, first=cited_media(store.session)
    )
    ctx = ReportContext(
        out=work, case=case["case"], exhibit=case["exhibit"], examiner=case["examiner"], thumbnails=thumbnails
    )
    report.write_report(store, ctx, load_pack(), CustodyLog(work / "custody.jsonl", actor=case["examiner"]))
    total = (time.perf_counter() - wall, time.process_time() - cpu)
    store.close()
    for name, (w, c) in sorted(times.items(), key=lambda item: -item[1][0]):
        print(f"{name:30s} wall {w:7.2f} s   cpu {c:7.2f} s")
    print(f"{'report step':30s} wall {total[0]:7.2f} s   cpu {total[1]:7.2f} s   (output: {work})")


if __name__ == "__main__":
    main()
