"""BundleZip: files a run hands over before the seal (its report's pages and exports, zipped while the report's
second process lays out report.pdf) go into the zip first; the seal adds the rest and the tag files, and stops
when a file handed over is no longer the file that was zipped (tests/bundle/test_bundle.py: a real run)."""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.bundle_factory import verify_cli, write_run_folder
from triage.bundle.keys import fingerprint
from triage.bundle.layout import MANIFEST
from triage.bundle.seal import BundleZip, seal
from triage.errors import TriageError
from triage.integrity.exclusive import ExistingFileError

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


def test_files_handed_over_go_first_and_the_bag_verifies(tmp_path: Path, capsys) -> None:
    folder = write_run_folder(tmp_path / "EXH1", key=KEY)
    with BundleZip(folder) as bundle:
        bundle.add_finished([folder / "records" / "message.jsonl", folder / "index.html"])
        bundle.add_finished([folder / "index.html"])  # handed over twice: zipped once
        target = bundle.seal(KEY)

    with zipfile.ZipFile(target) as z:
        names = [n.removeprefix("EXH1/") for n in z.namelist()]
    payload = sorted(p.relative_to(folder / "data").as_posix() for p in (folder / "data").rglob("*") if p.is_file())
    rest = [f"data/{name}" for name in payload if name not in ("index.html", "records/message.jsonl")]
    tags = sorted(p.name for p in folder.iterdir() if p.is_file())
    assert names == ["data/index.html", "data/records/message.jsonl", *rest, *tags]
    manifest = [line.split("  ", 1)[1] for line in (folder / MANIFEST).read_text().splitlines()]
    assert manifest == [f"data/{name}" for name in payload]  # sorted, whatever the zip's order
    with zipfile.ZipFile(target) as z:
        zipped = hashlib.sha256(z.read("EXH1/data/index.html")).hexdigest()
    assert f"{zipped}  data/index.html" in (folder / MANIFEST).read_text()
    code, out = verify_cli(capsys, target, "--trust", fingerprint(KEY.public_key()))
    assert code == 0, out


def test_without_files_handed_over_the_zip_is_the_payload_sorted_then_the_tags(tmp_path: Path) -> None:
    folder = write_run_folder(tmp_path / "EXH1", key=KEY)
    target = seal(folder, KEY)
    with zipfile.ZipFile(target) as z:
        names = [n.removeprefix("EXH1/") for n in z.namelist()]
    data = [n for n in names if n.startswith("data/")]
    assert data == sorted(data) and names[: len(data)] == data
    assert names[len(data) :] == sorted(names[len(data) :]) and "bagit.txt" in names[len(data) :]


@pytest.mark.parametrize(
    "change",
    [
        lambda f: f.write_bytes(f.read_bytes() + b"\n"),  # grew
        lambda f: os.utime(f, ns=(0, 0)),  # same bytes, touched
        lambda f: (f.unlink(), f.write_bytes(b"x" * 49)),  # another file in its place
        lambda f: f.unlink(),  # gone
    ],
    ids=["grew", "touched", "replaced", "removed"],
)
def test_a_file_changed_after_it_was_zipped_stops_the_seal_and_no_zip_is_left(tmp_path: Path, change) -> None:  # noqa: ANN001
    folder = write_run_folder(tmp_path / "EXH1", key=KEY)
    target = folder.with_name("EXH1.zip")
    zipped = folder / "records" / "message.jsonl"
    with pytest.raises(TriageError, match=r"cannot seal: data/records/message\.jsonl (changed after it went|went)"):
        with BundleZip(folder) as bundle:
            bundle.add_finished([zipped])
            assert target.is_file()  # made by the first file handed over
            change(zipped)
            bundle.seal(KEY)
    assert not target.exists()


def test_a_bundle_left_unsealed_removes_its_zip_and_never_one_it_did_not_make(tmp_path: Path) -> None:
    folder = write_run_folder(tmp_path / "EXH1", key=KEY)
    target = folder.with_name("EXH1.zip")
    with BundleZip(folder) as bundle:
        bundle.add_finished([folder / "index.html"])
    assert not target.exists() and not (folder / "data").exists()  # nothing moved either

    target.write_bytes(b"someone else's zip")
    with pytest.raises(ExistingFileError, match="already exists"), BundleZip(folder) as bundle:
        bundle.add_finished([folder / "index.html"])
    assert target.read_bytes() == b"someone else's zip" and not (folder / "data").exists()
