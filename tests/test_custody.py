import json

from triage.cli import main
from triage.custody import CustodyLog, verify_chain


def make_log(path, n=4):
    log = CustodyLog(path, actor="DC Test")
    for i in range(n):
        log.record("step", number=i, note="café ✓")
    return path


def test_chain_verifies_and_resumes(tmp_path):
    path = make_log(tmp_path / "custody.jsonl")
    CustodyLog(path, actor="second examiner").record("resumed")  # appending continues the chain
    check = verify_chain(path)
    assert check.ok and check.entries == 5
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
    assert not check.ok and check.broken_line == 3 and "prev_sha256" in check.reason


def test_removed_entry_is_detected(tmp_path):
    path = make_log(tmp_path / "custody.jsonl")
    lines = path.read_text().splitlines()
    del lines[2]
    path.write_text("\n".join(lines) + "\n")
    check = verify_chain(path)
    assert not check.ok and check.broken_line == 3


def test_cli_names_first_broken_entry(tmp_path, capsys):
    path = make_log(tmp_path / "custody.jsonl")
    assert main(["custody", "verify", str(path)]) == 0
    assert "OK: 4 entries" in capsys.readouterr().out
    lines = path.read_text().splitlines()
    lines[0] = lines[0].replace("DC Test", "DC Else")
    path.write_text("\n".join(lines) + "\n")
    assert main(["custody", "verify", str(path)]) == 1
    out = capsys.readouterr().out
    assert "BROKEN at entry 2" in out
