"""The lab as a whole (issue 19): PostgreSQL, Redis, two `triage worker` processes and four devices, one
worker killed (SIGKILL) in the middle of a device; and one phone whose photos are spread over both workers
in chunks (triage/lab/media.py). Every case must finish with exactly the records a single-machine SQLite
run of the same evidence gives, compared row for row (triage/lab/compare.py).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.build_large_phone import build_large_phone
from triage.lab.compare import differences, rows_of
from triage.lab.demo import start_worker, stop_worker, wait_for
from triage.lab.examine import RETRIED_ACTION
from triage.lab.jobs import FINISHED
from triage.lab.schemas import store_url
from triage.lab.services import lab_services, missing_services
from triage.lab.status import jobs
from triage.lab.submit import submit
from triage.run.pipeline import RunOptions, run

ROOT = Path(__file__).parents[2]
EVIDENCE = {  # exhibit → evidence: the demo image first (the longest: the one killed), then three small ones
    "EXH-DEMO": ROOT / "fixtures" / "demo" / "demo.E01",
    "EXH-IOS": ROOT / "fixtures" / "ios_backup_plain",
    "EXH-AB": ROOT / "fixtures" / "android_backup" / "backup.ab",
    "EXH-WA": ROOT / "fixtures" / "whatsapp_android_old" / "legacy",
}
# a dead worker's device is handed on within seconds here (production: minutes, triage/lab/queue.py)
FAST_RECOVERY = {"TRIAGE_LAB_STALE_SECONDS": "4", "TRIAGE_LAB_VISIBILITY_TIMEOUT": "6"}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(missing_services() is not None, reason=f"lab servers: {missing_services()}"),
]


@pytest.fixture()
def lab_folder() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="triage-lab-cluster-"))
    folder.chmod(0o755)  # PostgreSQL runs as its own account when the tests run as root: it must reach its data
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_four_devices_two_workers_one_killed(lab_folder: Path, tmp_path: Path, unchanged) -> None:  # noqa: ANN001
    for evidence in EVIDENCE.values():
        unchanged(evidence)
    expected = {exhibit: _sqlite_rows(evidence, tmp_path / exhibit) for exhibit, evidence in EVIDENCE.items()}
    out_root = lab_folder / "bundles"
    with lab_services(lab_folder / "services") as (postgres, redis):
        workers = [start_worker(redis.url, lab_folder / f"worker{n}.log", FAST_RECOVERY) for n in (1, 2)]
        try:
            submitted = {
                exhibit: submit(evidence, "LAB-CLUSTER", exhibit, "Lab Test", postgres.url, out_root, redis.url)
                for exhibit, evidence in EVIDENCE.items()
            }
            killed = _kill_worker_mid_device(postgres.url, submitted["EXH-DEMO"].job_id, workers)
            rows = wait_for(postgres.url, [s.job_id for s in submitted.values()], seconds=300)
            assert all(w.poll() is None for w in workers if w is not killed)  # the other worker lives on
            by_exhibit = {r["exhibit"]: r for r in rows}
            assert {e: r["state"] for e, r in by_exhibit.items()} == dict.fromkeys(EVIDENCE, FINISHED), _logs(
                lab_folder
            )
            for exhibit, done in submitted.items():
                got = rows_of(store_url(postgres.url, done.case_schema))
                diff = differences(expected[exhibit], got)
                assert diff == [], f"{exhibit}: " + "\n".join(diff)
        finally:
            for worker in workers:
                stop_worker(worker)

    # the killed device: a second attempt, in a new folder, whose custody log names the first
    demo = by_exhibit["EXH-DEMO"]
    assert demo["attempts"] == 2 and demo["worker"] != f"{os.uname().nodename}:{killed.pid}"
    assert [Path(o).name for o in demo["outputs"]] == ["attempt-1", "attempt-2"]
    assert demo["bundle"].endswith("attempt-2.zip") and not Path(demo["outputs"][0] + ".zip").exists()
    retried = [e for e in _custody(Path(demo["bundle"])) if e["action"] == RETRIED_ACTION]
    assert len(retried) == 1 and retried[0]["details"]["previous_outputs"] == demo["outputs"][:1]
    assert all(by_exhibit[e]["attempts"] == 1 for e in EVIDENCE if e != "EXH-DEMO")


def test_one_phones_photos_spread_over_both_workers(lab_folder: Path, tmp_path: Path) -> None:
    """60 camera photos in chunks of 6: the other worker does some of them, the device's worker stores every
    record in listing order, and the case is row for row the single-machine run's."""
    phone = tmp_path / "phone"
    build_large_phone(phone, messages=2000, threads=20, photos=60)
    expected = _sqlite_rows(phone, tmp_path / "EXH-PHOTOS")
    spread = {**FAST_RECOVERY, "TRIAGE_LAB_MEDIA_CHUNK_FILES": "6"}
    with lab_services(lab_folder / "services") as (postgres, redis):
        workers = [start_worker(redis.url, lab_folder / f"worker{n}.log", spread) for n in (1, 2)]
        try:
            done = submit(phone, "LAB-CLUSTER", "EXH-PHOTOS", "Lab Test", postgres.url, lab_folder / "out", redis.url)
            row = wait_for(postgres.url, [done.job_id], seconds=300)[0]
            assert row["state"] == FINISHED, _logs(lab_folder)
            diff = differences(expected, rows_of(store_url(postgres.url, done.case_schema)))
            assert diff == [], "\n".join(diff)
        finally:
            for worker in workers:
                stop_worker(worker)
    logs = _logs(lab_folder, tail=None)
    summary = re.search(r"media in (\d+) chunk\(s\), (\d+) done by this worker, (\d+) by others", logs)
    assert summary is not None, logs
    chunks, here, elsewhere = map(int, summary.groups())
    assert chunks == 10 and here + elsewhere == chunks and elsewhere >= 1
    device_pid = int(row["worker"].rsplit(":", 1)[1])
    by_other = re.findall(r"media chunk \d+ \(\d+ files\) done by [^:\s]+:(\d+)", logs)
    assert by_other and all(int(pid) != device_pid for pid in by_other)
    assert not (lab_folder / "out" / done.case_schema / "media-chunks" / "attempt-1").exists()  # staging removed


def _sqlite_rows(evidence: Path, out: Path) -> dict:
    run(RunOptions(evidence=evidence.resolve(), out=out, case="LAB-CLUSTER", exhibit=out.name, examiner="Lab Test"))
    return rows_of(f"sqlite:///{out / 'data' / 'case.sqlite'}")


def _kill_worker_mid_device(db_url: str, job_id: str, workers: list[subprocess.Popen]) -> subprocess.Popen:
    """SIGKILL to the worker examining the job, once its run has begun writing (custody log started)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        row = next(r for r in jobs(db_url) if r["job_id"] == job_id)
        if row["state"] == "running" and row["outputs"] and (Path(row["outputs"][-1]) / "custody.jsonl").exists():
            pid = int(row["worker"].rsplit(":", 1)[1])
            worker = next(w for w in workers if w.pid == pid)
            os.killpg(worker.pid, signal.SIGKILL)  # the worker and anything it started: a machine gone
            worker.wait()
            assert row["state"] == "running"  # killed in the middle, not after the end
            return worker
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never started running")


def _custody(bundle: Path) -> list[dict]:
    with zipfile.ZipFile(bundle) as z:
        name = next(n for n in z.namelist() if n.endswith("custody.jsonl"))
        return [json.loads(line) for line in z.read(name).decode().splitlines()]


def _logs(folder: Path, tail: int | None = 3000) -> str:
    return "\n".join(p.read_text(errors="replace")[-tail if tail else 0 :] for p in sorted(folder.glob("worker*.log")))
