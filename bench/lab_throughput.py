"""Devices per hour through the lab's queue (triage/lab/) with 1 and with 2 workers on this machine.

    .venv/bin/python bench/lab_throughput.py [--devices 4] [--messages 20000] [--photos 40] [--workers 1 2]
        [--work DIR]

Generates the benchmark phone once (fixtures/build_large_phone.py: an SMS database of `messages`
messages, contacts, `photos` camera JPEGs with GPS), starts throwaway PostgreSQL and Redis
(triage/lab/services.py), and for each worker count starts that many `triage worker` processes, waits
until they are ready, submits `devices` copies of the phone (one exhibit each: its own schema and
bundle) and times submit → every job finished. Prints one markdown row per worker count, and the
single-machine `triage run` of one device (SQLite, no queue) for scale.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from fixtures.build_large_phone import build_large_phone  # noqa: E402
from triage.lab.demo import start_worker, stop_worker, wait_for  # noqa: E402
from triage.lab.services import lab_services  # noqa: E402
from triage.lab.submit import submit  # noqa: E402
from triage.run.pipeline import RunOptions, run  # noqa: E402

READY_SECONDS = 120


def main() -> None:
    args = parse_args()
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="lab-throughput-"))
    work.mkdir(parents=True, exist_ok=True)
    work.chmod(0o755)  # PostgreSQL's own account must reach its data folder when run as root
    phone = work / "phone"
    if not phone.exists():
        build_large_phone(phone, messages=args.messages, photos=args.photos)
    single = timed_single_run(phone, work / "single")
    print(
        f"benchmark phone: {args.messages:,} SMS, {args.photos} photos; {os.cpu_count()} cores; "
        f"one `triage run` (SQLite, no queue): {single:.1f} s"
    )
    print("\n| workers | devices | wall (submit → all finished) | devices per hour |\n|---|---|---|---|")
    for workers in args.workers:
        wall = timed_queue(phone, work / f"w{workers}", workers, args.devices)
        print(f"| {workers} | {args.devices} | {wall:.1f} s | {args.devices / wall * 3600:.0f} |", flush=True)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--devices", type=int, default=4)
    p.add_argument("--messages", type=int, default=20_000)
    p.add_argument("--photos", type=int, default=40)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--work", default=None, help="scratch folder (default: a new temp folder)")
    return p.parse_args()


def timed_single_run(phone: Path, out: Path) -> float:
    start = time.perf_counter()
    run(RunOptions(evidence=phone, out=out, case="BENCH", exhibit="SINGLE", examiner="bench"))
    return time.perf_counter() - start


def timed_queue(phone: Path, folder: Path, workers: int, devices: int) -> float:
    folder.mkdir()
    with lab_services(folder / "services") as (postgres, redis):
        started = [start_worker(redis.url, folder / f"worker{n}.log") for n in range(workers)]
        try:
            wait_ready([folder / f"worker{n}.log" for n in range(workers)])
            start = time.perf_counter()
            ids = [
                submit(phone, "BENCH", f"EXH-{n}", "bench", postgres.url, folder / "bundles", redis.url).job_id
                for n in range(devices)
            ]
            rows = wait_for(postgres.url, ids, seconds=24 * 3600)
            wall = time.perf_counter() - start
        finally:
            for worker in started:
                stop_worker(worker)
    failed = [r["exhibit"] for r in rows if r["state"] != "finished"]
    if failed:
        raise SystemExit(f"devices failed: {failed}; see {folder}/worker*.log")
    return wall


def wait_ready(logs: list[Path]) -> None:
    """Each worker's log says `ready.` (connected to Redis, consuming): the clock starts at the submit."""
    deadline = time.monotonic() + READY_SECONDS
    while not all(log.exists() and " ready." in log.read_text(errors="replace") for log in logs):
        if time.monotonic() > deadline:
            raise SystemExit(f"workers not ready after {READY_SECONDS} s: {logs}")
        time.sleep(0.2)


if __name__ == "__main__":
    main()
