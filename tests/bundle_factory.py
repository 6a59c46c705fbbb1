"""Small sealed bundles for the verify tests: a hand-made run folder (report, findings, records, a
thumbnail, a custody log written through CustodyLog) sealed by the real `seal()`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from triage.bundle.seal import seal, seal_entry_details
from triage.integrity.custody import CustodyLog

FINDINGS = {
    "assessment": {"level": "red", "reasons": ["HIGH-01 fired"]},
    "findings": [
        {"id": 1, "rule": "HIGH-01", "title": "Coordinates of a Channel launch beach", "severity": "high"},
        {"id": 2, "rule": "MED-06", "title": "Payment to a boat organiser", "severity": "medium"},
    ],
}


def write_run_folder(
    out: Path,
    findings: dict | None = None,
    closing: str | None = "run finished",
    key: Ed25519PrivateKey | None = None,
    seal_entry: bool = True,
) -> Path:
    """What `triage run` leaves at the top of --out before sealing: the custody log ends with
    "seal" + the closing entry (pass closing=None for a run that never finished)."""
    out.mkdir(parents=True)
    log = CustodyLog(out / "custody.jsonl", actor="A. Examiner")
    log.record("run started", case="C1", exhibit="EXH1")
    write_reports(out, findings or FINDINGS)
    (out / "records").mkdir()
    (out / "records" / "message.jsonl").write_text('{"type": "message", "text": "boat tonight 50.96,1.85"}\n')
    (out / "records" / "location.jsonl").write_text('{"type": "location", "lat": 51.00731, "lon": 1.8412}\n')
    (out / "thumbs").mkdir()
    (out / "thumbs" / "ab12.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4)
    log.record("report written", files=["index.html", "findings.json"])
    if closing == "run failed":
        log.record("run failed", reason="OSError: [Errno 28] No space left on device")
    elif closing == "run finished":
        if seal_entry:
            log.record("seal", **seal_entry_details(out, key))
        log.record("run finished", warnings=0, findings=len((findings or FINDINGS)["findings"]))
    return out


def write_reports(out: Path, findings: dict) -> None:
    (out / "findings.json").write_text(json.dumps(findings, indent=2, sort_keys=True) + "\n")
    level = findings["assessment"]["level"]
    (out / "index.html").write_text(f"<h1>Assessment: {level}</h1><p>{len(findings['findings'])} findings</p>\n")


def make_bundle(parent: Path, key: Ed25519PrivateKey | None, name: str = "EXH1", **kwargs) -> Path:  # noqa: ANN003
    """A sealed bundle folder `parent/name` (and `parent/name.zip`); returns the folder."""
    folder = write_run_folder(parent / name, key=key, **kwargs)
    seal(folder, key)
    return folder


def unseal(folder: Path) -> None:
    """Undo the bag layout (what a forger does before re-sealing with our own tool)."""
    for entry in list(folder.iterdir()):
        if entry.name != "data":
            entry.unlink()
    for entry in list((folder / "data").iterdir()):
        entry.rename(folder / entry.name)
    (folder / "data").rmdir()


def copy_bundle(folder: Path, target_parent: Path) -> Path:
    target = target_parent / folder.name
    shutil.copytree(folder, target, symlinks=True)
    return target


def triage(*args: str) -> tuple[int, str]:
    """`triage ...` in a child process (the real console entry), stdout and stderr together."""
    done = subprocess.run([sys.executable, "-m", "triage.cli", *args], capture_output=True, text=True, timeout=600)
    return done.returncode, done.stdout + done.stderr


def verify_cli(capsys, *args: object) -> tuple[int, str]:  # noqa: ANN001 - pytest's capsys
    """`triage verify ARGS` in this process; the exit code and stdout (where the whole verdict goes)."""
    from triage.cli import main

    code = main(["verify", *map(str, args)])
    return code, capsys.readouterr().out
