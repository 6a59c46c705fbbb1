"""Issue 13, failures 1, 6 (fatal conditions) and 8: a run never writes onto, into or around the
evidence, never replaces a file, fails in one line with the examination record closed, and leaves no
working data behind (Ctrl-C, SIGTERM, and folders of runs that died)."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pytest

from tests.bundle_layout import payload
from tests.evidence_guard import sha256_of
from triage.cli import main

ROOT = Path(__file__).parents[2]
ENCRYPTED_BACKUP = ROOT / "fixtures" / "ios_backup_encrypted"
BACKUP_PASSWORD = "triage-test"  # of the built encrypted backup (fixtures/build_ios_backup.py)
SMS_PATH = "data/data/com.android.providers.telephony/databases/mmssms.db"


def tiny_phone(folder: Path) -> Path:
    """A folder extraction holding one SMS database with the real table shape (enough for a full run)."""
    db = folder / SMS_PATH
    db.parent.mkdir(parents=True)
    with sqlite3.connect(db) as con:
        con.execute(
            "CREATE TABLE sms (_id INTEGER PRIMARY KEY, thread_id INTEGER, address TEXT, person INTEGER, "
            "date INTEGER, date_sent INTEGER, protocol INTEGER, read INTEGER, status INTEGER, type INTEGER, "
            "reply_path_present INTEGER, subject TEXT, body TEXT, service_center TEXT, locked INTEGER, "
            "sub_id INTEGER, error_code INTEGER, creator TEXT, seen INTEGER)"
        )
        con.execute(
            "INSERT INTO sms (thread_id, address, date, date_sent, type, body, read, seen) "
            "VALUES (1, '+447700900123', 1714000000000, 1714000000000, 1, 'see you at the beach', 1, 1)"
        )
    con.close()
    return folder


def zipped(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w") as z:
        for path in sorted(folder.rglob("*")):
            z.write(path, path.relative_to(folder).as_posix())
    return target


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    # a run that finds work folders of dead runs (another test's killed process) says so first: not the error
    lines = [line for line in err.splitlines() if not line.startswith("note: removed ")]
    assert len(lines) == 1, err
    return lines[0]


# -- 1. the evidence is never overwritten ------------------------------------------------------------
def test_bundle_zip_would_be_the_evidence_itself(tmp_path, capsys):
    evidence = zipped(tiny_phone(tmp_path / "src"), tmp_path / "phone.zip")
    before = sha256_of(evidence)
    assert main(["run", str(evidence), "--out", str(tmp_path / "phone"), "--quiet"]) == 2
    assert "already exists" in one_line_error(capsys)
    assert sha256_of(evidence) == before
    assert not (tmp_path / "phone").exists()


def test_existing_zip_beside_out_is_never_replaced(tmp_path, capsys):
    evidence = tiny_phone(tmp_path / "src")
    earlier = tmp_path / "X.zip"
    earlier.write_bytes(b"an earlier bundle")
    assert main(["run", str(evidence), "--out", str(tmp_path / "X"), "--quiet"]) == 2
    assert str(earlier) in one_line_error(capsys)
    assert earlier.read_bytes() == b"an earlier bundle"


def test_out_inside_the_evidence_folder_is_refused(tmp_path, capsys, unchanged):
    evidence = tiny_phone(tmp_path / "src")
    unchanged(evidence)
    assert main(["run", str(evidence), "--out", str(evidence / "results"), "--quiet"]) == 2
    assert "inside the evidence" in one_line_error(capsys)
    assert not (evidence / "results").exists()


def test_out_through_a_link_into_the_evidence_is_refused(tmp_path, capsys):
    evidence = tiny_phone(tmp_path / "src")
    (tmp_path / "link").symlink_to(evidence / "data")
    assert main(["run", str(evidence), "--out", str(tmp_path / "link" / "out"), "--quiet"]) == 2
    assert "inside the evidence" in one_line_error(capsys)
    assert not (evidence / "data" / "out").exists()


def test_case_store_may_not_be_an_existing_file(tmp_path, capsys):
    evidence = tiny_phone(tmp_path / "src")
    db = evidence / SMS_PATH
    before = sha256_of(db)
    assert main(["run", str(evidence), "--out", str(tmp_path / "o"), "--db", f"sqlite:///{db}", "--quiet"]) == 2
    assert "already exists" in one_line_error(capsys)
    assert sha256_of(db) == before


# -- 6/7. fatal conditions: one line, non-zero, record closed -----------------------------------------
def test_out_that_is_a_file_is_one_line(tmp_path, capsys):
    evidence = tiny_phone(tmp_path / "src")
    (tmp_path / "out").write_text("not a folder")
    assert main(["run", str(evidence), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert "is an existing file" in one_line_error(capsys)
    assert (tmp_path / "out").read_text() == "not a folder"


def run_cli(
    args: list[str], env: dict | None = None, file_size_limit: int | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    def limit() -> None:
        if file_size_limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    return subprocess.run(
        [sys.executable, "-m", "triage.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        preexec_fn=limit,
        timeout=timeout,
        cwd=ROOT,
    )


def custody_entries(out: Path) -> list[dict]:
    log = next(p for p in (payload(out) / "custody.jsonl", out / "custody.jsonl") if p.is_file())
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


def test_full_disk_is_one_line_and_the_record_says_run_failed(tmp_path):
    """A file-size limit makes every write past 64 KiB fail as a full disk would (EFBIG instead of ENOSPC)."""
    evidence = tiny_phone(tmp_path / "src")
    out = tmp_path / "out"
    done = run_cli(["run", str(evidence), "--out", str(out), "--quiet"], file_size_limit=64 * 1024)
    assert done.returncode == 2
    err = done.stderr.strip().splitlines()
    # the case store is the first file past the limit: SQLite reports the failed write as an I/O error
    assert len(err) == 1 and err[0].startswith("triage: error: case store: disk I/O error"), done.stderr
    entries = custody_entries(out)
    assert entries[-1]["action"] == "run failed"
    assert "disk I/O error" in entries[-1]["details"]["reason"]
    assert "run finished" not in [e["action"] for e in entries]
    assert not (tmp_path / "out.zip").exists()  # no partial bundle left
    verdict = run_cli(["verify", str(out)])
    assert verdict.returncode == 4, verdict.stdout
    assert "INCOMPLETE" in verdict.stdout


@pytest.mark.skipif(os.geteuid() != 0 or sys.platform != "linux", reason="mounting a tmpfs needs root")
def test_real_full_disk_on_a_tiny_tmpfs(tmp_path):
    evidence = tiny_phone(tmp_path / "src")
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=160k", "tmpfs", str(disk)]).returncode != 0:
        pytest.skip("tmpfs mount not permitted here")
    try:
        done = run_cli(["run", str(evidence), "--out", str(disk / "out"), "--quiet"])
        assert done.returncode == 2, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
        # SQLite says "disk is full" or, for a write the file system cut short, "disk I/O error"
        assert any(s in done.stderr for s in ("No space left on device", "disk is full", "disk I/O error"))
        entries = custody_entries(disk / "out")  # every line whole: the record can say how the run ended
        assert entries[-1]["action"] == "run failed"
    finally:
        subprocess.run(["umount", str(disk)])


# -- 8. nothing left behind ---------------------------------------------------------------------------
def work_folders(tmp: Path) -> list[Path]:
    return sorted(tmp.glob("triage-run-*"))


def test_a_run_leaves_no_working_copies(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    evidence = tiny_phone(tmp_path / "src")
    done = run_cli(["run", str(evidence), "--out", str(tmp_path / "out"), "--quiet"], env={"TMPDIR": str(tmp)})
    assert done.returncode == 0, done.stderr
    assert list(tmp.iterdir()) == []


PHOTOS = 256


def phone_with_photos(folder: Path) -> Path:
    """tiny_phone with photos (of one picture) for the worker pool."""
    evidence = tiny_phone(folder)
    camera = evidence / "media" / "0" / "DCIM" / "Camera"
    camera.mkdir(parents=True)
    photo = (ROOT / "fixtures" / "media" / "ne_dover.jpg").read_bytes()
    for n in range(PHOTOS):
        (camera / f"IMG_{n:04d}.jpg").write_bytes(photo)
    return evidence


def test_a_run_with_a_photo_pool_leaves_nothing_and_says_nothing_more(tmp_path):
    """Enough photos for the worker pool: multiprocessing's own temp folder is inside the work folder and goes
    with it, without the traceback its exit-time cleanup would print on finding it gone."""
    tmp = Path(tempfile.mkdtemp(prefix="t-", dir="/tmp"))  # short: the fork server's socket path must fit
    try:
        done = run_cli(
            ["run", str(phone_with_photos(tmp_path / "src")), "--out", str(tmp_path / "out"), "--quiet"],
            env={"TMPDIR": str(tmp)},
        )
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr and "Error" not in done.stderr, done.stderr
        assert list(tmp.iterdir()) == []
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    parsed = [e for e in custody_entries(tmp_path / "out") if e["action"] == "parsing finished"][0]["details"]
    assert parsed["files_parsed_in_workers"] == PHOTOS


def test_a_pool_that_cannot_start_is_a_warning_and_every_photo_is_parsed(tmp_path):
    """A deep TMPDIR makes the fork server's socket path too long for AF_UNIX: the run parses every file
    itself and says why."""
    tmp = tmp_path / ("deep-" * 12) / "tmp"
    tmp.mkdir(parents=True)
    out = tmp_path / "out"
    done = run_cli(
        ["run", str(phone_with_photos(tmp_path / "src")), "--out", str(out), "--quiet"], env={"TMPDIR": str(tmp)}
    )
    assert done.returncode == 0, done.stderr
    parsed = [e for e in custody_entries(out) if e["action"] == "parsing finished"][0]["details"]
    assert parsed["files_parsed_in_workers"] == 0
    with sqlite3.connect(payload(out) / "case.sqlite") as db:
        assert db.execute("SELECT count(*) FROM media_file").fetchone() == (PHOTOS,)
        warning = db.execute("SELECT message FROM parse_warning WHERE component = 'parallel media'").fetchone()[0]
    assert "no worker process could be started" in warning and "AF_UNIX path too long" in warning


def test_sigterm_during_an_encrypted_backup_removes_the_decrypted_data(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    out = tmp_path / "out"
    env = {**os.environ, "TMPDIR": str(tmp), "TRIAGE_BACKUP_PASSWORD": BACKUP_PASSWORD}
    proc = subprocess.Popen(
        [sys.executable, "-m", "triage.cli", "run", str(ENCRYPTED_BACKUP), "--out", str(out), "--quiet"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    decrypted = None
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        decrypted = next(iter(tmp.glob("triage-run-*/**/Manifest.db")), None)
        if decrypted is not None:
            break
        time.sleep(0.002)
    assert decrypted is not None, "the decrypted index never appeared in the run's work folder"
    assert oct(work_folders(tmp)[0].stat().st_mode & 0o777) == "0o700"
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, stderr
    assert "SIGTERM" in stderr and "Traceback" not in stderr
    assert list(tmp.iterdir()) == [], "working data left behind after SIGTERM"
    entries = custody_entries(out)
    assert entries[-1]["action"] == "run failed" and "SIGTERM" in entries[-1]["details"]["reason"]


def test_folders_of_dead_runs_are_removed_and_said(tmp_path):
    tmp = tmp_path / "tmp"
    stale = tmp / "triage-run-999999999-abcd1234"  # no such process
    (stale / "sqlite-copies-x").mkdir(parents=True)
    (stale / "sqlite-copies-x" / "db").write_bytes(b"copy of evidence")
    live = tmp / f"triage-run-{os.getpid()}-live"  # this process: alive, kept
    live.mkdir()
    evidence = tiny_phone(tmp_path / "src")
    out = tmp_path / "out"
    done = run_cli(["run", str(evidence), "--out", str(out), "--quiet"], env={"TMPDIR": str(tmp)})
    assert done.returncode == 0, done.stderr
    assert not stale.exists() and live.exists()
    assert f"removed 1 work folder(s) left by runs that no longer exist: {stale}" in done.stderr
    removed = [e for e in custody_entries(out) if e["action"] == "stale work folders removed"]
    assert removed and removed[0]["details"]["folders"] == [str(stale)]


# -- limits are run options in the examination record ---------------------------------------------------
def test_limits_are_options_recorded_in_the_custody_log(tmp_path):
    evidence = tiny_phone(tmp_path / "src")
    out = tmp_path / "out"
    assert (
        main(["run", str(evidence), "--out", str(out), "--quiet", "--sqlite-rows", "1", "--sqlite-seconds", "30"]) == 0
    )
    started = custody_entries(out)[0]
    assert started["action"] == "run started"
    assert started["details"]["parse_limits"] == {"sqlite_seconds_per_file": 30.0, "sqlite_rows_per_file": 1}
    assert started["details"]["display_limits"]["message_body"] == 4000
    findings = json.loads((payload(out) / "findings.json").read_text(encoding="utf-8"))
    assert findings["warnings"] >= 1
    import sqlite3 as sql

    with sql.connect(payload(out) / "case.sqlite") as con:
        warnings = [m for (m,) in con.execute("SELECT message FROM parse_warning")]
    assert any("--sqlite-rows" in w for w in warnings), warnings
