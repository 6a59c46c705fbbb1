"""Issue 13, deliverable 7 (verify side): a run that did not finish is INCOMPLETE (exit 4), with the
reason; a sealed bundle whose custody log lost its tail is ALTERED (the manifest no longer matches)."""

from __future__ import annotations

import json
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.bundle_factory import make_bundle, verify_cli, write_run_folder
from triage.bundle.keys import fingerprint

KEY = Ed25519PrivateKey.generate()
FP = fingerprint(KEY.public_key())


def test_unsealed_folder_of_a_failed_run_is_incomplete_with_its_reason(tmp_path: Path, capsys) -> None:
    folder = write_run_folder(tmp_path / "EXH1", closing="run failed", key=KEY)
    code, out = verify_cli(capsys, folder, "--trust", FP)
    assert code == 4 and out.splitlines()[-1] == "INCOMPLETE", out
    assert "INCOMPLETE: the run failed: OSError: [Errno 28] No space left on device" in out
    assert "never sealed" in out


def test_unsealed_folder_without_closing_entry_is_incomplete(tmp_path: Path, capsys) -> None:
    folder = write_run_folder(tmp_path / "EXH1", closing=None, key=KEY)
    code, out = verify_cli(capsys, folder)
    assert code == 4 and "without 'run finished' or 'run failed'" in out, out


def test_sealed_bundle_of_a_failed_run_is_incomplete(tmp_path: Path, capsys) -> None:
    bundle = make_bundle(tmp_path, KEY, closing="run failed")
    for target in (bundle, bundle.with_name("EXH1.zip")):
        code, out = verify_cli(capsys, target, "--trust", FP)
        assert code == 4 and "the run failed: OSError" in out, out


def test_cut_custody_tail_in_a_sealed_bundle_is_altered(tmp_path: Path, capsys) -> None:
    bundle = make_bundle(tmp_path, KEY)
    log = bundle / "data" / "custody.jsonl"
    log.write_text("\n".join(log.read_text().splitlines()[:2]) + "\n")
    code, out = verify_cli(capsys, bundle, "--trust", FP)
    assert code == 1 and "file changed: data/custody.jsonl" in out
    assert "INCOMPLETE: the examination did not finish" in out  # said too, but ALTERED decides


def test_empty_custody_file_in_a_sealed_bundle(tmp_path: Path, capsys) -> None:
    bundle = make_bundle(tmp_path, KEY)
    (bundle / "data" / "custody.jsonl").write_bytes(b"")
    code, out = verify_cli(capsys, bundle, "--trust", FP)
    assert code == 1 and "data/custody.jsonl is empty" in out


def test_run_finished_without_seal_entry_is_altered(tmp_path: Path, capsys) -> None:
    bundle = make_bundle(tmp_path, KEY, seal_entry=False)
    code, out = verify_cli(capsys, bundle, "--trust", FP)
    assert code == 1 and "says 'run finished' but has no 'seal' entry" in out


def test_custody_edit_is_named(tmp_path: Path, capsys) -> None:
    bundle = make_bundle(tmp_path, KEY)
    log = bundle / "data" / "custody.jsonl"
    lines = log.read_text().splitlines()
    entry = json.loads(lines[0])
    entry["actor"] = "Someone Else"
    lines[0] = json.dumps(entry, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    log.write_text("\n".join(lines) + "\n")
    code, out = verify_cli(capsys, bundle, "--trust", FP)
    assert code == 1 and "custody chain broken at entry 2" in out
