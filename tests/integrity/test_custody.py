import errno
import json
import os
import subprocess
import sys

import pytest

from triage.cli import main
from triage.integrity.custody import RESERVED_BYTES, CustodyLog, verify_chain


def make_log(path, n=4, closing=True):
    """n steps, then (by default) the end of a finished run: "seal" and "run finished"."""
    log = CustodyLog(path, actor="DC Test")
    for i in range(n):
        log.record("step", number=i, note="café ✓")
    if closing:
        log.record("seal", signed=False, key_fingerprint=None, key_fingerprint_der=None, reports={})
        log.record("run finished", warnings=0)
    return path


def test_chain_verifies_and_resumes(tmp_path):
    path = make_log(tmp_path / "custody.jsonl", closing=False)
    CustodyLog(path, actor="second examiner").record("run failed", reason="resumed and stopped")
    check = verify_chain(path)
    assert check.ok and check.entries == 5 and check.closed and check.outcome == "run failed"
    assert check.failure == "resumed and stopped"
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    assert [e["seq"] for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0]["prev_sha256"] == "0" * 64
    assert entries[0]["time_utc"].endswith("Z") and entries[4]["actor"] == "second examiner"


def test_edited_entry_breaks_chain_at_next_entry(tmp_path):
    path = make_log(tmp_path / "custody.jsonl")
    lines = path.read_text().splitlines()
    lines[1] = lines[1].replace('"number":1', '"number":7')  # still canonical JSON, but altered
    path.write_text("\n".join(lines) + "\n")
    check = verify_chain(path)
    assert not check.ok and not check.linked and check.broken_line == 3 and "prev_sha256" in check.reason


def test_removed_entry_is_detected(tmp_path):
    path = make_log(tmp_path / "custody.jsonl")
    lines = path.read_text().splitlines()
    del lines[2]
    path.write_text("\n".join(lines) + "\n")
    check = verify_chain(path)
    assert not check.ok and check.broken_line == 3


def test_finished_log_is_closed_and_names_its_seal(tmp_path):
    check = verify_chain(make_log(tmp_path / "custody.jsonl"))
    assert check.ok and check.entries == 6 and check.closed and check.outcome == "run finished"
    assert check.seal == {"signed": False, "key_fingerprint": None, "key_fingerprint_der": None, "reports": {}}


def test_cut_tail_is_reported(tmp_path):
    """Issue 13, failure 9: entries cut off the end left every remaining link intact, so it said OK."""
    path = make_log(tmp_path / "custody.jsonl")
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-2]) + "\n")
    check = verify_chain(path)
    assert not check.ok and check.linked and not check.closed and check.broken_line == 5
    assert "without a closing entry" in check.reason and "tail was cut off" in check.reason
    open_log = verify_chain(path, require_closed=False)  # a log still being written (the report's view)
    assert open_log.ok and open_log.entries == 4 and not open_log.closed


def test_empty_log_is_reported(tmp_path):
    path = tmp_path / "custody.jsonl"
    path.write_bytes(b"")
    check = verify_chain(path)
    assert not check.ok and check.entries == 0 and "the log is empty" in check.reason


def test_run_finished_without_seal_entry_is_reported(tmp_path):
    path = make_log(tmp_path / "custody.jsonl", closing=False)
    CustodyLog(path, actor="DC Test").record("run finished", warnings=0)
    check = verify_chain(path)
    assert not check.ok and check.linked and "without a 'seal' entry" in check.reason


def test_line_separator_inside_a_value_is_not_a_line_end(tmp_path):
    """An evidence file name with U+2028 in an entry: str.splitlines() split the entry in two."""
    path = tmp_path / "custody.jsonl"
    log = CustodyLog(path, actor="DC Test")
    log.record("files selected", files=["/sdcard/a\u2028b.jpg", "x\x85y"])
    CustodyLog(path, actor="DC Test").record("run failed", reason="stopped")  # resumes after that entry
    check = verify_chain(path)
    assert check.ok and check.entries == 2


def test_cli_names_first_broken_entry(tmp_path, capsys):
    path = make_log(tmp_path / "custody.jsonl")
    assert main(["custody", "verify", str(path)]) == 0
    assert "OK: 6 entries" in capsys.readouterr().out
    lines = path.read_text().splitlines()
    lines[0] = lines[0].replace("DC Test", "DC Else")
    path.write_text("\n".join(lines) + "\n")
    assert main(["custody", "verify", str(path)]) == 1
    out = capsys.readouterr().out
    assert "BROKEN at entry 2" in out


def test_cli_reports_a_cut_tail_and_an_empty_log(tmp_path, capsys):
    path = make_log(tmp_path / "custody.jsonl")
    path.write_text("\n".join(path.read_text().splitlines()[:3]) + "\n")
    assert main(["custody", "verify", str(path)]) == 1
    assert "without a closing entry" in capsys.readouterr().out
    path.write_text("")
    assert main(["custody", "verify", str(path)]) == 1
    assert "the log is empty" in capsys.readouterr().out


# -- a full disk ---------------------------------------------------------------------------------------
@pytest.fixture
def tiny_disk(tmp_path):
    """A 256 KiB tmpfs (root only): a real file system that runs out of space."""
    if os.geteuid() != 0 or not sys.platform.startswith("linux"):
        pytest.skip("mounting a tmpfs needs root on Linux")
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)]).returncode != 0:
        pytest.skip("tmpfs mount not permitted here")
    yield disk
    subprocess.run(["umount", str(disk)])


def fill(disk):
    """Write a file until the disk has no block left."""
    with open(disk / "filler", "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"x" * 4096)
        except OSError as e:
            assert e.errno == errno.ENOSPC


def test_a_run_that_fills_the_disk_can_still_say_so(tiny_disk):
    """Room is kept past the log's end, so the entries after the disk fills (the closing "run failed") are
    written whole; the closing entry gives the room back."""
    path = tiny_disk / "custody.jsonl"
    log = CustodyLog(path, actor="DC Test")
    log.record("run started")
    fill(tiny_disk)
    log.record("step", note="x" * 6000)  # past the end of the block the log has
    log.record("run failed", reason="No space left on device")
    check = verify_chain(path)
    assert check.ok and check.closed and check.outcome == "run failed" and check.entries == 3
    assert os.stat(path).st_blocks * 512 == -(-path.stat().st_size // 4096) * 4096  # nothing reserved now


def test_an_entry_that_does_not_fit_leaves_the_log_as_it_was(tiny_disk):
    path = tiny_disk / "custody.jsonl"
    log = CustodyLog(path, actor="DC Test")
    log.record("run started")
    before = path.read_bytes()
    fill(tiny_disk)
    with pytest.raises(OSError) as raised:
        log.record("step", note="x" * (RESERVED_BYTES * 2))  # more than the room kept
    assert raised.value.errno == errno.ENOSPC
    assert path.read_bytes() == before  # no half entry at the end
    (tiny_disk / "filler").unlink()
    log.record("run failed", reason="No space left on device")
    check = verify_chain(path)
    assert check.ok and check.closed and check.entries == 2
