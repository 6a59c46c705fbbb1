"""Issue 13, failure 3 (folder side): a symlinked directory inside a bundle folder was not looked into.

Folder verification refuses links (to files or folders), special files and anything it cannot read,
naming the path; every payload and tag file is checked, and nothing may be added, not even a folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.bundle_factory import copy_bundle, make_bundle, verify_cli
from triage.bundle.keys import fingerprint

KEY = Ed25519PrivateKey.generate()
FP = fingerprint(KEY.public_key())


@pytest.fixture(scope="module")
def sealed(tmp_path_factory) -> Path:
    return make_bundle(tmp_path_factory.mktemp("sealed"), KEY)


@pytest.fixture()
def bundle(sealed: Path, tmp_path: Path) -> Path:
    return copy_bundle(sealed, tmp_path)


def test_symlinked_directory_inside_data_is_reported_not_followed(bundle: Path, tmp_path: Path, capsys) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "planted.json").write_text('{"assessment": "green"}')
    os.symlink(outside, bundle / "data" / "more_records")
    code, out = verify_cli(capsys, bundle, "--trust", FP)
    assert code == 1, out
    assert f"symbolic link (not followed): data/more_records -> {outside}" in out
    assert "planted.json" not in out


def test_payload_file_replaced_by_a_link_to_an_identical_copy_is_altered(bundle: Path, tmp_path: Path, capsys) -> None:
    copy = tmp_path / "findings.json"
    copy.write_bytes((bundle / "data" / "findings.json").read_bytes())  # same bytes: only the link is wrong
    (bundle / "data" / "findings.json").unlink()
    os.symlink(copy, bundle / "data" / "findings.json")
    code, out = verify_cli(capsys, bundle, "--trust", FP)
    assert code == 1 and "symbolic link (not followed): data/findings.json" in out
    assert "file missing: data/findings.json" in out


def test_fifo_is_altered(bundle: Path, capsys) -> None:
    os.mkfifo(bundle / "data" / "records" / "pipe")
    code, out = verify_cli(capsys, bundle, "--trust", FP)  # and it does not hang reading the FIFO
    assert code == 1 and "not a regular file (FIFO): data/records/pipe" in out


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode")
def test_unreadable_file_is_altered(bundle: Path, capsys) -> None:
    target = bundle / "data" / "records" / "message.jsonl"
    target.chmod(0)
    try:
        code, out = verify_cli(capsys, bundle, "--trust", FP)
    finally:
        target.chmod(0o644)
    assert code == 1 and "cannot read data/records/message.jsonl" in out


@pytest.mark.parametrize(
    "tamper, message",
    [
        (lambda b: _flip_byte(b / "data" / "records" / "message.jsonl"), "file changed: data/records/message.jsonl"),
        (lambda b: (b / "data" / "thumbs" / "ab12.jpg").unlink(), "file missing: data/thumbs/ab12.jpg"),
        (lambda b: (b / "data" / "notes.txt").write_text("added"), "file added after sealing: data/notes.txt"),
        (lambda b: (b / "data" / "empty").mkdir(), "folder added after sealing: data/empty/"),
        (lambda b: (b / "extra").mkdir(), "folder added after sealing: extra/"),
        (lambda b: (b / "notes.txt").write_text("added"), "file added after sealing: notes.txt"),
        (lambda b: _append(b / "bag-info.txt", "Contact-Name: someone\n"), "tag file changed: bag-info.txt"),
        (
            lambda b: _append(b / "manifest-sha256.txt", "0" * 64 + "  data/ghost\n"),
            "tag file changed: manifest-sha256.txt",
        ),
        (lambda b: (b / "tagmanifest-sha256.txt").unlink(), "tagmanifest-sha256.txt missing"),
        (lambda b: _append(b / "tagmanifest-sha256.txt", "x\n"), "tagmanifest-sha256.txt line 6 is malformed"),
    ],
)
def test_tampering_is_named(bundle: Path, tamper, message: str, capsys) -> None:  # noqa: ANN001
    tamper(bundle)
    code, out = verify_cli(capsys, bundle, "--trust", FP)
    assert code == 1 and message in out, out


def test_not_a_bundle_cannot_be_checked(tmp_path: Path, capsys) -> None:
    (tmp_path / "x.txt").write_text("x")
    code, out = verify_cli(capsys, tmp_path)
    assert code == 2 and out.splitlines()[-1] == "CANNOT CHECK" and "not a sealed bundle" in out
    garbage = tmp_path / "x.zip"
    garbage.write_bytes(b"PK\x03\x04 not really")
    code, out = verify_cli(capsys, garbage)
    assert code == 2 and "not a bundle folder or a readable zip" in out


def test_bundle_from_before_the_bagit_layout_cannot_be_checked(tmp_path: Path, capsys) -> None:
    (tmp_path / "manifest-sha256.txt").write_text("0" * 64 + "  index.html\n")
    (tmp_path / "index.html").write_text("x")
    code, out = verify_cli(capsys, tmp_path)
    assert code == 2 and "before the BagIt layout" in out


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _append(path: Path, text: str) -> None:
    with open(path, "a") as f:
        f.write(text)
