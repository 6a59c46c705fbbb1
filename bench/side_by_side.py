"""mobile-triage and ALEAPP on the same generated Android tree, same disk, same run.

    .venv/bin/python bench/side_by_side.py --messages 200000 --photos 2000 [--messages 1000000 …]
        [--pairs K] [--work DIR] [--skip-aleapp] [--shared ../shared]

For each N: generates the tree with `../shared/bench/gen_android_tree.py` (its JPEG helper module is
`bench/jpeg_gps.py`), runs ALEAPP (extracted from `../shared/bench/aleapp-075122c8.tar.gz` into its own
virtualenv, made from the interpreter running this script, by `prepare_aleapp` below) and `triage run`, each
under GNU time, and
prints one markdown row per N: both wall times, the ratio, both peak RSS, our output size, and our record
counts against the generator's `tree-counts.json`. ALEAPP is measured, never copied from.

`--pairs K` runs the two K times in turn for each N (ALEAPP, ours, ALEAPP, ours …), one row a pair, then the
median of the pairs' ratios: on this kind of machine ALEAPP's own time moves by a third within an hour (most of it
is system time and waiting on the disk, bench/RESULTS.md), so one pair says little about the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"


@dataclass
class Timed:
    wall_s: float
    peak_rss_mb: float
    exit_code: int


def main() -> None:
    args = parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="side-by-side-"))
    work.mkdir(parents=True, exist_ok=True)
    shared = Path(args.shared).resolve()
    aleapp = None if args.skip_aleapp else prepare_aleapp(work, shared)
    # both tools run on this interpreter (ours from its venv, ALEAPP from one made from it): its build counts
    # (a CPython without profile-guided optimisation runs both ~15 % slower, bench/RESULTS.md)
    print(f"interpreter: Python {sys.version.split()[0]} at {_base_interpreter()}")
    print("| N | files | ALEAPP wall | ours wall | ratio | ALEAPP RSS | our RSS | our output | counts |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n in args.messages:
        ratios = []
        for _ in range(args.pairs):
            row, ratio = measure(n, args.photos, work, shared, aleapp)
            print(row, flush=True)
            ratios += [ratio] if ratio is not None else []
        if len(ratios) > 1:
            print(f"| {n:,} | median of {len(ratios)} pairs' ratios | | | {statistics.median(ratios):.2f} | | | | |")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--messages", type=int, action="append", required=True, help="N (repeatable)")
    p.add_argument("--photos", type=int, default=2000)
    p.add_argument("--pairs", type=int, default=1, help="ALEAPP and ours run in turn this many times per N")
    p.add_argument("--work", default=None, help="scratch folder (default: a new temp folder)")
    p.add_argument("--shared", default=str(ROOT.parent / "shared"))
    p.add_argument("--skip-aleapp", action="store_true")
    return p.parse_args()


def prepare_aleapp(work: Path, shared: Path) -> Path:
    """ALEAPP in its own virtualenv (made once per work folder); returns its folder."""
    folder = work / "aleapp"
    venv = work / "aleapp-venv"
    if not (folder / "aleapp.py").exists():
        with tarfile.open(shared / "bench" / "aleapp-075122c8.tar.gz") as tar:
            _extract(tar, work)
    made_from = venv / "pyvenv.cfg"
    if made_from.exists() and f"home = {Path(_base_interpreter()).parent}" not in made_from.read_text().splitlines():
        shutil.rmtree(venv)  # made from another interpreter: both tools are timed on the same one
    if not (venv / "bin" / "python").exists():
        subprocess.run([_base_interpreter(), "-m", "venv", str(venv)], check=True)
        requirements = [
            line for line in (folder / "requirements.txt").read_text().splitlines() if "mister_skinnylegs" not in line
        ]
        (work / "aleapp-req.txt").write_text("\n".join(requirements) + "\n")
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "-r", str(work / "aleapp-req.txt")], check=True)
    return folder


def _base_interpreter() -> str:
    """The interpreter our venv was made from (the one a venv made from `sys.executable` runs on)."""
    return getattr(sys, "_base_executable", sys.executable)


def _extract(tar: tarfile.TarFile, into: Path) -> None:
    """The snapshot unpacked with tarfile's "data" filter, or, where Python has none yet (Debian 12's 3.11.2),
    after the same refusal of links, devices and names that leave the folder."""
    if hasattr(tarfile, "data_filter"):
        tar.extractall(into, filter="data")
        return
    for member in tar.getmembers():
        target = (into / member.name).resolve()
        if not (member.isfile() or member.isdir()) or not target.is_relative_to(into.resolve()):
            raise SystemExit(f"refusing {member.name} in the ALEAPP snapshot (not a plain file inside the folder)")
    tar.extractall(into)  # every member checked above


def measure(n: int, photos: int, work: Path, shared: Path, aleapp: Path | None) -> tuple[str, float | None]:
    """One pair for N (the tree made first if it is not there yet): its row, and its ratio (None without ALEAPP)."""
    case = work / f"n{n}"
    tree, counts_file = case / "tree", case / "tree-counts.json"
    if not counts_file.exists():
        env = {**os.environ, "PYTHONPATH": str(BENCH)}
        subprocess.run(
            [
                sys.executable,
                str(shared / "bench" / "gen_android_tree.py"),
                str(tree),
                "--messages",
                str(n),
                "--photos",
                str(photos),
            ],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )
    expected = json.loads(counts_file.read_text())
    theirs = run_aleapp(aleapp, tree, case) if aleapp else None
    ours_out = case / "ours"
    for old in (ours_out, case / "ours.zip"):
        shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)
    ours = timed(
        [str(Path(sys.executable).parent / "triage"), "run", str(tree), "--out", str(ours_out), "--quiet"],
        ROOT,
        case / "ours.time",
    )
    ratio = ours.wall_s / theirs.wall_s if theirs else None
    size = sum(p.stat().st_size for p in ours_out.rglob("*") if p.is_file()) / 1e6
    files = expected.get("tree", {}).get("files", 0)
    row = (
        f"| {n:,} | {files:,} | {fmt(theirs, 'wall_s', 's')} | {ours.wall_s:.1f} s | "
        f"{'-' if ratio is None else f'{ratio:.2f}'} | {fmt(theirs, 'peak_rss_mb', 'MB')} | "
        f"{ours.peak_rss_mb:.0f} MB | {size:.0f} MB | {compare_counts(ours_out, expected)} |"
    )
    return row, ratio


def run_aleapp(folder: Path, tree: Path, case: Path) -> Timed:
    out = case / "aleapp-out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    python = folder.parent / "aleapp-venv" / "bin" / "python"
    return timed(
        [str(python), "aleapp.py", "-t", "fs", "-i", str(tree), "-o", str(out), "--custom_output_folder", "run"],
        folder,
        case / "aleapp.time",
    )


def timed(command: list[str], cwd: Path, time_file: Path) -> Timed:
    """Run under GNU time (-v): wall clock and peak resident set size of the whole process."""
    done = subprocess.run(
        ["/usr/bin/time", "-v", "-o", str(time_file), *command],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    report = time_file.read_text()
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", report).group(1)
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", report).group(1))
    if done.returncode:
        print(f"warning: {command[0]} exited {done.returncode}: {done.stderr.strip()[-500:]}", file=sys.stderr)
    return Timed(seconds(wall), rss_kb / 1024, done.returncode)


def seconds(text: str) -> float:
    parts = [float(p) for p in text.split(":")]
    return sum(p * 60**i for i, p in enumerate(reversed(parts)))


def fmt(t: Timed | None, attr: str, unit: str) -> str:
    if t is None:
        return "-"
    value = getattr(t, attr)
    return f"{value:.1f} s" if unit == "s" else f"{value:.0f} MB"


def compare_counts(out: Path, expected: dict) -> str:
    """Our stored counts against the generator's ground truth: 'all equal' or the differences."""
    store = out / "data" / "case.sqlite"
    ours = our_counts(store)
    want = {
        "sms+mms": expected["sms"]["sms"] + expected["sms"]["mms"],
        "whatsapp messages": expected["whatsapp"]["messages"],
        "calls": expected["calllog"]["calls"] + expected["whatsapp"]["call_log"],
        "photos with GPS": expected.get("photos", {}).get("jpegs_with_exif_gps"),
    }
    diffs = [f"{k}: {ours.get(k)} vs {v}" for k, v in want.items() if v is not None and ours.get(k) != v]
    return "all equal" if not diffs else "; ".join(diffs)


def our_counts(store: Path) -> dict[str, int]:
    con = sqlite3.connect(f"file:{store}?immutable=1", uri=True)
    try:
        q = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
        return {
            "sms+mms": q("SELECT count(*) FROM message WHERE app IN ('sms', 'mms')"),
            "whatsapp messages": q("SELECT count(*) FROM message WHERE app = 'whatsapp'"),
            "calls": q("SELECT count(*) FROM call"),
            "photos with GPS": q("SELECT count(*) FROM location WHERE origin = 'photo EXIF GPS'"),
        }
    finally:
        con.close()


if __name__ == "__main__":
    main()
