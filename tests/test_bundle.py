"""The sealed bundle: manifest, Ed25519 signature, zip; `triage verify` and what it catches."""

from __future__ import annotations

import base64
import os
import shutil
import stat
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from triage.bundle.keys import fingerprint, init_key, load_private
from triage.bundle.seal import MANIFEST, PUBLIC_KEY, SIGNATURE
from triage.cli import main
from triage.errors import TriageError

DEMO_E01 = Path(__file__).parent.parent / "fixtures" / "demo" / "demo.E01"


@pytest.fixture(scope="module")
def key_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("keys")


@pytest.fixture(scope="module")
def sealed(tmp_path_factory, key_dir: Path) -> Path:
    init_key(key_dir)
    out = tmp_path_factory.mktemp("bundle") / "EXH1"
    assert main(["run", str(DEMO_E01), "--out", str(out), "--quiet", "--case", "C1", "--exhibit", "EXH1",
                 "--examiner", "A. Examiner", "--signing-key", str(key_dir / "signing_key.pem")]) == 0
    return out


def verify(target: Path, capsys) -> tuple[int, str]:  # noqa: ANN001
    code = main(["verify", str(target)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_keys_init_private_key_is_owner_only_and_never_overwritten(tmp_path: Path) -> None:
    path, fp = init_key(tmp_path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert fp == fingerprint(load_private(path).public_key()) and fp.startswith("SHA256:")
    with pytest.raises(TriageError, match="never overwritten"):
        init_key(tmp_path)
    assert init_key(tmp_path, if_missing=True) == (path, fp)


def test_sealed_folder_and_zip_verify(sealed: Path, key_dir: Path, capsys) -> None:
    for target in (sealed, sealed.with_name("EXH1.zip")):
        code, text = verify(target, capsys)
        assert code == 0 and "INTACT" in text, text
        assert fingerprint(load_private(key_dir / "signing_key.pem").public_key()) in text
        assert "custody chain intact" in text
    listed = (sealed / MANIFEST).read_text().splitlines()
    names = {line.split("  ", 1)[1] for line in listed}
    assert {"findings.json", "index.html", "custody.jsonl", "case.sqlite", PUBLIC_KEY} <= names
    assert MANIFEST not in names and SIGNATURE not in names


def _copy(sealed: Path, tmp_path: Path) -> Path:
    target = tmp_path / "EXH1"
    shutil.copytree(sealed, target)
    return target


@pytest.mark.parametrize("tamper, message", [
    (lambda b: _flip_byte(b / "records" / "message.jsonl"), "file changed: records/message.jsonl"),
    (lambda b: _flip_byte(b / "case.sqlite"), "file changed: case.sqlite"),
    (lambda b: (b / "findings.json").unlink(), "file missing: findings.json"),
    (lambda b: (b / "notes.txt").write_text("added later"), "file added after sealing: notes.txt"),
    (lambda b: _edit_custody(b / "custody.jsonl"), "custody chain broken at entry 3"),
    (lambda b: _swap_signature(b), "signature does not verify"),
    (lambda b: _swap_key_and_signature(b), "file changed: examiner_public_key.pem"),
    (lambda b: (b / SIGNATURE).unlink(), "not signed"),
])
def test_tampering_is_named(sealed: Path, tmp_path: Path, tamper, message: str, capsys) -> None:  # noqa: ANN001
    bundle = _copy(sealed, tmp_path)
    tamper(bundle)
    code, text = verify(bundle, capsys)
    assert code == 1 and message in text, text


def test_tampered_zip_member(sealed: Path, tmp_path: Path, capsys) -> None:
    original = sealed.with_name("EXH1.zip")
    tampered = tmp_path / "EXH1.zip"
    with zipfile.ZipFile(original) as src, zipfile.ZipFile(tampered, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith("records/location.jsonl"):
                data = data.replace(b"51.00731", b"51.10731")
            dst.writestr(info, data)
    code, text = verify(tampered, capsys)
    assert code == 1 and "file changed: records/location.jsonl" in text


def test_not_a_bundle_cannot_be_checked(tmp_path: Path, capsys) -> None:
    (tmp_path / "x.txt").write_text("x")
    code, text = verify(tmp_path, capsys)
    assert code == 2 and "not a sealed bundle" in text


def test_same_evidence_gives_the_same_bundle_but_for_times_and_signature(sealed: Path, tmp_path: Path,
                                                                         key_dir: Path) -> None:
    again = tmp_path / "EXH1"
    assert main(["run", str(DEMO_E01), "--out", str(again), "--quiet", "--case", "C1", "--exhibit", "EXH1",
                 "--examiner", "A. Examiner", "--signing-key", str(key_dir / "signing_key.pem")]) == 0

    def listing(folder: Path) -> dict[str, str]:
        return {line.split("  ", 1)[1]: line.split("  ", 1)[0] for line in (folder / MANIFEST).read_text().splitlines()}

    first, second = listing(sealed), listing(again)
    assert set(first) == set(second)
    # files that carry run times: the custody log (and its copies), the report pages and the case store
    timed = {"custody.jsonl", "records/custody_event.jsonl", "records/custody_event.csv", "case.sqlite", "findings.json", "index.html",
             "report.pdf", "case.jsonld"}
    differing = {name for name in first if first[name] != second[name]}
    assert differing <= timed, differing - timed
    assert "records/message.jsonl" in first and first["records/message.jsonl"] == second["records/message.jsonl"]


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _edit_custody(path: Path) -> None:
    lines = path.read_text().splitlines()
    lines[1] = lines[1].replace('"actor":"A. Examiner"', '"actor":"Someone Else"')
    path.write_text("\n".join(lines) + "\n")


def _swap_signature(bundle: Path) -> None:
    other = Ed25519PrivateKey.generate()
    (bundle / SIGNATURE).write_text(base64.b64encode(other.sign((bundle / MANIFEST).read_bytes())).decode() + "\n")


def _swap_key_and_signature(bundle: Path) -> None:
    from triage.bundle.keys import public_pem

    other = Ed25519PrivateKey.generate()
    (bundle / PUBLIC_KEY).write_bytes(public_pem(other.public_key()))
    (bundle / SIGNATURE).write_text(base64.b64encode(other.sign((bundle / MANIFEST).read_bytes())).decode() + "\n")
