"""report.pdf alone (`triage.report.pdf.make_pdf`), timed on the print HTML of a finished run (issue 14).

    .venv/bin/python bench/pdf_step.py build RUN_OUT EVIDENCE --work DIR
    .venv/bin/python bench/pdf_step.py time DIR [--repeat 1] [--html FILE]

`build` copies the run (RUN_OUT is the --out folder of a `triage run`, EVIDENCE the evidence it ran on, read
again for thumbnails) as bench/report_step.py does, builds the report's context as the report step builds it
(findings, thumbnails, Annex A's rule texts; no declarations: the blank form), makes the statement's HTML with
`statement_html` and fills its exports with `fill_exports`, using the names and SHA-256 the run recorded
(custody entry "report written"), and saves it as DIR/statement.html beside the thumbnails it shows.

`time` lays out DIR/statement.html (or --html FILE, which must show the thumbnails of DIR) --repeat times
with `make_pdf`, each into a new folder DIR/pdf-N (the thumbnails copied in: the statement fetches only
files inside its output folder), and prints the wall and CPU seconds (user+sys of this process) and the
page count of each. Keep two versions' report.pdf to compare their text (`pdftotext`).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report_step import copy_run, report_of_copy  # noqa: E402 - the bench folder is not a package

HTML_NAME = "statement.html"
NOT_EXPORTS = ("index.html", "report.pdf", "pages/", "thumbs/")  # outputs of the step the statement does not name


def recorded_exports(run_out: Path) -> dict[str, str]:
    """The exports the run's statement named: the files of its "report written" entry but the shown ones."""
    data = run_out / "data" if (run_out / "data").is_dir() else run_out
    for line in (data / "custody.jsonl").read_text(encoding="utf-8").split("\n"):
        if line and (entry := json.loads(line))["action"] == "report written":
            files: dict[str, str] = entry["details"]["files"]
            return {name: digest for name, digest in files.items() if not name.startswith(NOT_EXPORTS)}
    raise SystemExit(f"{data / 'custody.jsonl'} has no 'report written' entry: is {run_out} a finished run?")


def build(run_out: Path, evidence: Path, work: Path) -> Path:
    case = copy_run(run_out, work)

    from triage.report.pdf import fill_exports, pdf_unavailable, statement_html
    from triage.report.statement import rule_texts

    store, pack, report = report_of_copy(work, case, evidence)
    report.declarations = None
    report.context["declarations"] = None
    report.context["rule_texts"] = rule_texts(pack)
    wall, cpu = time.perf_counter(), time.process_time()
    page = statement_html(report, pdf_unavailable())
    if page is None:
        raise SystemExit("WeasyPrint cannot be loaded here: no statement to time")
    page = fill_exports(page, recorded_exports(run_out))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"statement_html + fill_exports: wall {wall:6.2f} s   cpu {cpu:6.2f} s")
    store.close()
    target = work / HTML_NAME
    target.write_text(page, encoding="utf-8")
    print(f"{len(page) / 1e6:.1f} MB of HTML in {target}")
    return target


def page_count(pdf: Path) -> str:
    """The page count pdfinfo (poppler-utils) reads, or "?" without it (WeasyPrint compresses the page tree)."""
    import subprocess

    if shutil.which("pdfinfo") is None:
        return "?"
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=False).stdout
    return next((line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")), "?")


def time_pdf(work: Path, html: Path, repeat: int) -> None:
    from triage.report.pdf import make_pdf, pdf_unavailable

    if (reason := pdf_unavailable()) is not None:
        raise SystemExit(reason)
    page = html.read_text(encoding="utf-8")
    for n in range(1, repeat + 1):
        out = work / f"pdf-{n}"
        if out.exists():
            shutil.rmtree(out)
        out.mkdir()
        if (work / "thumbs").is_dir():
            shutil.copytree(work / "thumbs", out / "thumbs")
        wall, cpu = time.perf_counter(), time.process_time()
        outcome = make_pdf(page, out)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if not outcome.written:
            raise SystemExit(f"report.pdf not written: {outcome.failure}")
        pdf = out / "report.pdf"
        print(
            f"make_pdf #{n}: wall {wall:6.2f} s   cpu {cpu:6.2f} s   {page_count(pdf)} pages, "
            f"{pdf.stat().st_size / 1e6:.2f} MB ({pdf})"
            + ("; problems: " + "; ".join(outcome.problems) if outcome.problems else "")
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="save a finished run's statement HTML")
    b.add_argument("run_out", type=Path)
    b.add_argument("evidence", type=Path)
    b.add_argument("--work", type=Path, required=True, help="a new folder for the copy and the HTML")
    t = sub.add_parser("time", help="time make_pdf on a saved statement HTML")
    t.add_argument("work", type=Path)
    t.add_argument("--html", type=Path, default=None, help=f"default: WORK/{HTML_NAME}")
    t.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    if args.command == "build":
        build(args.run_out, args.evidence, args.work)
    else:
        time_pdf(args.work, args.html or args.work / HTML_NAME, args.repeat)


if __name__ == "__main__":
    main()
