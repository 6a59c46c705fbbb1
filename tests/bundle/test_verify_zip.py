"""Issue 13, failure 3 (zip side): padded zips verified INTACT, and a 2 GiB member ended in MemoryError.

verify reads the central directory strictly — one top folder, each name once, nothing outside the
manifest and tag files, directory entries only for sealed folders — and hashes members as streams.
Also: the zip is deterministic, created exclusively, and never replaces a file.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.bundle_factory import make_bundle, verify_cli, write_run_folder
from triage.bundle.keys import fingerprint
from triage.bundle.seal import seal
from triage.integrity.exclusive import ExistingFileError

KEY = Ed25519PrivateKey.generate()
FP = fingerprint(KEY.public_key())


@pytest.fixture(scope="module")
def genuine_zip(tmp_path_factory) -> Path:
    return make_bundle(tmp_path_factory.mktemp("genuine"), KEY).with_name("EXH1.zip")


def rebuilt(original: Path, target: Path, before=(), after=(), replace=None) -> Path:  # noqa: ANN001
    """A copy of the zip with members added before/after the originals; `replace(name, data)` may
    change a member's bytes."""
    with zipfile.ZipFile(original) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        for name, data in before:
            dst.writestr(name, data)
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info, replace(info.filename, data) if replace else data)
        for name, data in after:
            dst.writestr(name, data)
    return target


def test_genuine_zip_is_intact(genuine_zip: Path, capsys) -> None:
    code, out = verify_cli(capsys, genuine_zip, "--trust", FP)
    assert code == 0, out


@pytest.mark.filterwarnings("ignore:Duplicate name")  # zipfile warns when writing the padded zip
def test_duplicate_findings_placed_first_is_altered(genuine_zip: Path, tmp_path: Path, capsys) -> None:
    padded = rebuilt(
        genuine_zip,
        tmp_path / "EXH1.zip",
        before=[("EXH1/data/findings.json", b'{"assessment": {"level": "green"}, "findings": []}\n')],
    )
    with zipfile.ZipFile(padded) as z:  # what most unzip tools show is the forged copy
        assert b"green" in z.read(z.infolist()[0])
    code, out = verify_cli(capsys, padded, "--trust", FP)
    assert code == 1, out
    assert "duplicate member name EXH1/data/findings.json (2 copies)" in out
    assert "file changed: data/findings.json (copy 1 of 2)" in out


@pytest.mark.parametrize(
    "extra, message",
    [
        (("dem0/data/findings.json", b"{}"), "a second top folder in the zip: dem0/ (1 member(s))"),
        (("README.txt", b"read me first"), "member outside the bundle folder: README.txt"),
        (("EXH1/data/notes.txt", b"added later"), "file added after sealing: data/notes.txt"),
        (("EXH1/notes.txt", b"added later"), "file added after sealing: notes.txt"),
        (("EXH1/data/extra/", b""), "folder added after sealing: data/extra/"),
        (("EXH1/data/../data/findings.json", b"{}"), "file added after sealing: data/../data/findings.json"),
    ],
)
def test_padding_is_altered(genuine_zip: Path, tmp_path: Path, extra: tuple[str, bytes], message: str, capsys) -> None:
    padded = rebuilt(genuine_zip, tmp_path / "EXH1.zip", after=[extra])
    code, out = verify_cli(capsys, padded, "--trust", FP)
    assert code == 1 and message in out, out


def test_directory_entries_of_sealed_folders_are_allowed(genuine_zip: Path, tmp_path: Path, capsys) -> None:
    with_dirs = rebuilt(
        genuine_zip, tmp_path / "EXH1.zip", before=[("EXH1/", b""), ("EXH1/data/", b""), ("EXH1/data/records/", b"")]
    )
    code, out = verify_cli(capsys, with_dirs, "--trust", FP)
    assert code == 0, out


def test_link_member_is_altered(genuine_zip: Path, tmp_path: Path, capsys) -> None:
    link = zipfile.ZipInfo("EXH1/data/records/message.jsonl")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16

    target = tmp_path / "EXH1.zip"
    with zipfile.ZipFile(genuine_zip) as src, zipfile.ZipFile(target, "w") as dst:
        for info in src.infolist():
            if info.filename == link.filename:
                dst.writestr(link, b"/etc/passwd")
            else:
                dst.writestr(info, src.read(info))
    code, out = verify_cli(capsys, target, "--trust", FP)
    assert code == 1, out
    assert (
        "link or special-file member (a sealed bundle holds regular files only): EXH1/data/records/message.jsonl"
    ) in out
    assert "file missing: data/records/message.jsonl" in out


def test_changed_member_is_named(genuine_zip: Path, tmp_path: Path, capsys) -> None:
    def move_position(name: str, data: bytes) -> bytes:
        return data.replace(b"51.00731", b"51.10731") if name.endswith("records/location.jsonl") else data

    code, out = verify_cli(capsys, rebuilt(genuine_zip, tmp_path / "EXH1.zip", replace=move_position), "--trust", FP)
    assert code == 1 and "file changed: data/records/location.jsonl (SHA-256 differs from the manifest)" in out


def test_member_larger_than_the_whole_payload_is_not_hashed(genuine_zip: Path, tmp_path: Path, capsys) -> None:
    def inflate(name: str, data: bytes) -> bytes:
        return bytes(8 << 20) if name.endswith("records/message.jsonl") else data

    code, out = verify_cli(capsys, rebuilt(genuine_zip, tmp_path / "EXH1.zip", replace=inflate))
    assert code == 1 and "file changed: data/records/message.jsonl (8388608 bytes, more than the whole payload" in out


@pytest.mark.slow
def test_two_gib_member_is_hashed_as_a_stream_in_bounded_memory(genuine_zip: Path, tmp_path: Path) -> None:
    """A 2 MB zip holding a 2 GiB member in place of a sealed file; bag-info.txt is edited to claim a payload
    that large, so the member is really inflated and hashed. Measured in a child process: its peak memory."""
    size = 2 << 30
    target = tmp_path / "EXH1.zip"
    with zipfile.ZipFile(genuine_zip) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith("/bag-info.txt"):
                data = b"".join(
                    line if not line.startswith(b"Payload-Oxum") else b"Payload-Oxum: %d.7" % (size * 2)
                    for line in data.splitlines(keepends=True)
                )
            if not info.filename.endswith("records/message.jsonl"):
                dst.writestr(info, data)
                continue
            big = zipfile.ZipInfo(info.filename, info.date_time)
            big.compress_type = zipfile.ZIP_DEFLATED
            with dst.open(big, "w", force_zip64=True) as f:
                zeros = bytes(1 << 20)
                for _ in range(size >> 20):
                    f.write(zeros)
    assert target.stat().st_size < 8 << 20
    probe = (
        "import resource, sys; from triage.cli import main; code = main(['verify', sys.argv[1]]); "
        "from tests.peak_memory import peak_rss_kib; print('maxrss_kib', peak_rss_kib()); sys.exit(code)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(target)], capture_output=True, text=True, cwd=Path(__file__).parents[2]
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "MemoryError" not in done.stderr
    assert "file changed: data/records/message.jsonl (SHA-256 differs from the manifest)" in done.stdout
    assert "tag file changed: bag-info.txt" in done.stdout
    peak_mib = int(done.stdout.split("maxrss_kib")[-1]) // 1024
    assert peak_mib < 400, f"verify peaked at {peak_mib} MiB for a 2 GiB member"


def test_zip_is_deterministic_with_fixed_times_and_unix_file_modes(tmp_path: Path) -> None:
    zips = []
    for n in (1, 2):
        folder = tmp_path / str(n) / "EXH1"
        folder.mkdir(parents=True)
        (folder / "custody.jsonl").write_text("{}\n")
        (folder / "index.html").write_text("<p>same</p>\n")
        (folder / "thumbs").mkdir()
        (folder / "thumbs" / "a.jpg").write_bytes(b"\xff\xd8" + bytes(4096))
        zips.append(seal(folder, KEY))
    bag_infos = [(z.parent / "EXH1" / "bag-info.txt").read_text() for z in zips]
    if bag_infos[0] == bag_infos[1]:  # the same day (Bagging-Date)
        assert zips[0].read_bytes() == zips[1].read_bytes()
    with zipfile.ZipFile(zips[0]) as z:
        infos = {i.filename: i for i in z.infolist()}
    assert {i.date_time for i in infos.values()} == {(1980, 1, 1, 0, 0, 0)}
    assert all(i.create_system == 3 and stat.S_ISREG(i.external_attr >> 16) for i in infos.values())
    assert infos["EXH1/data/thumbs/a.jpg"].compress_type == zipfile.ZIP_STORED  # already compressed
    assert infos["EXH1/data/index.html"].compress_type == zipfile.ZIP_DEFLATED
    assert sorted(infos) == sorted(
        f"EXH1/{n}"
        for n in (
            "bagit.txt",
            "bag-info.txt",
            "manifest-sha256.txt",
            "tagmanifest-sha256.txt",
            "tagmanifest-sha256.txt.sig",
            "VERIFY.txt",
            "examiner_public_key.pem",
            "data/custody.jsonl",
            "data/index.html",
            "data/thumbs/a.jpg",
        )
    )


def test_seal_never_replaces_an_existing_zip_and_leaves_the_folder_as_it_was(tmp_path: Path) -> None:
    folder = write_run_folder(tmp_path / "EXH1", key=KEY)
    taken = tmp_path / "EXH1.zip"
    taken.write_bytes(b"the evidence, or an earlier bundle")
    before = sorted(p.name for p in folder.iterdir())
    with pytest.raises(ExistingFileError, match="EXH1.zip already exists"):
        seal(folder, KEY)
    assert taken.read_bytes() == b"the evidence, or an earlier bundle"
    assert sorted(p.name for p in folder.iterdir()) == before and not (folder / "data").exists()
    os.symlink(tmp_path / "elsewhere.zip", tmp_path / "EXH2.zip")  # a dangling link is taken too
    second = write_run_folder(tmp_path / "EXH2", key=KEY)
    with pytest.raises(ExistingFileError):
        seal(second, KEY)
    assert not (tmp_path / "elsewhere.zip").exists()


def test_resealing_a_sealed_folder_is_refused(tmp_path: Path) -> None:
    folder = make_bundle(tmp_path, KEY)
    folder.with_name("EXH1.zip").rename(tmp_path / "moved.zip")
    with pytest.raises(ExistingFileError, match="already sealed"):
        seal(folder, KEY)
