"""APFS (libfsapfs), HFS+, ISO 9660 and exFAT (The Sleuth Kit) through `triage evidence ls|cat`.

The dfVFS images are unmodified third-party files; `fixtures/third_party/expected_filesystems.json`
holds what The Sleuth Kit's `fls`/`icat` (with `-B`, its pool support, for APFS) measured on them.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from triage.cli import main
from triage.errors import EvidenceError
from triage.evidence import open_evidence

THIRD = Path(__file__).parents[2] / "fixtures" / "third_party"
EXPECTED = json.loads((THIRD / "expected_filesystems.json").read_text(encoding="utf-8"))
IMAGES = {
    "dfvfs/test_data/apfs.raw": ("raw apfs.raw", "APFS volume 'apfs_test'"),
    "dfvfs/test_data/hfsplus.raw": ("raw hfsplus.raw", "HFS+"),
    "dfvfs/test_data/iso9660.raw": ("raw iso9660.raw", "ISO9660"),
}


def ls_json(capsysbinary, path: Path) -> list[dict]:
    code = main(["evidence", "ls", str(path), "--json"])
    out, err = capsysbinary.readouterr()
    assert code == 0, err.decode()
    return [json.loads(line) for line in out.decode("utf-8").splitlines()]


@pytest.mark.parametrize("rel", IMAGES)
def test_listing_matches_fls(rel, capsysbinary, unchanged):
    unchanged(THIRD / rel)
    (fs,) = EXPECTED[rel]["disk"]["filesystems"]
    entries = ls_json(capsysbinary, THIRD / rel)
    allocated = [e for e in entries if e["allocated"]]
    assert len(allocated) == fs["fls_allocated_nonvirtual_entries"]
    assert len(entries) - len(allocated) == fs["fls_deleted_entries"]
    assert sum(e["type"] == "dir" for e in allocated) == fs["fls_directories"]
    assert sum(e["type"] == "file" for e in allocated) == fs["fls_regular_files"]
    assert {tuple(e["layers"]) for e in entries} == {IMAGES[rel]}
    assert {e["volume"] for e in entries} == {""}  # one file system (one APFS volume) in the image
    for e in entries:
        assert all(e[t] is None or e[t].endswith("Z") for t in ("mtime", "atime", "ctime", "crtime"))
    by_parent: dict[str, list[str]] = {}
    for e in entries:
        parent, _, name = e["path"].rpartition("/")
        by_parent.setdefault(parent, []).append(name)
    assert all(names == sorted(names) for names in by_parent.values())


SAMPLES = [(rel, s) for rel in IMAGES for s in EXPECTED[rel]["disk"]["filesystems"][0]["sample_files_icat"]]


@pytest.mark.parametrize("rel,sample", SAMPLES, ids=[f"{r.rsplit('/', 1)[-1]}:{s['path']}" for r, s in SAMPLES])
def test_cat_matches_icat(rel, sample, capsysbinary, unchanged):
    unchanged(THIRD / rel)
    code = main(["evidence", "cat", str(THIRD / rel), sample["path"]])
    out, err = capsysbinary.readouterr()
    assert code == 0, err.decode()
    assert len(out) == sample["icat_bytes"] == sample["size_fls"]
    assert hashlib.md5(out).hexdigest() == sample["md5"]
    assert hashlib.sha1(out).hexdigest() == sample["sha1"]
    listed = {e["path"]: e for e in ls_json(capsysbinary, THIRD / rel)}
    assert listed["/" + sample["path"]]["inode"] == sample["inode"]  # the same address as fls/icat
    assert listed["/" + sample["path"]]["size"] == sample["size_fls"]


def test_apfs_entries_types_times_and_streams(unchanged):
    image = THIRD / "dfvfs/test_data/apfs.raw"
    unchanged(image)
    with open_evidence(image) as ev:
        entries = {e.path: e for e in ev.walk()}
        assert ev.warnings == []
        link = entries["/a_link"]
        assert link.type == "link"
        with pytest.raises(EvidenceError, match="links are not followed"):
            ev.open(link)
        f = entries["/passwords.txt"]
        # APFS keeps nanoseconds; entries carry microseconds, in UTC
        assert f.mtime.isoformat() == "2022-01-14T07:19:41.213333+00:00"
        with ev.open(f) as stream:
            stream.seek(10)
            middle = stream.read(20)
            stream.seek(0)
            whole = stream.read()
        assert len(whole) == 116 and middle == whole[10:30]
        assert hashlib.md5(whole).hexdigest() == "39cb097008d17660abd0539891a672af"  # = the ISO's PASSWORDS.TXT


@pytest.mark.skipif(
    not (shutil.which("mkapfs") and shutil.which("sgdisk")),
    reason="mkapfs or sgdisk missing (apt install apfsprogs gdisk)",
)
def test_apfs_container_in_a_gpt_partition(tmp_path):
    container = tmp_path / "container.raw"
    with open(container, "wb") as f:
        f.truncate(512 << 20)  # mkapfs refuses smaller containers; the file stays sparse on disk
    subprocess.run(["mkapfs", "-L", "PHONEVOL", str(container)], check=True, capture_output=True)
    disk = tmp_path / "disk.raw"
    with open(disk, "wb") as f:
        f.truncate(600 << 20)
    subprocess.run(
        ["sgdisk", "-n", "1:2048:+512M", "-t", "1:AF0A", "-c", "1:Container", str(disk)],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        ["dd", f"if={container}", f"of={disk}", "bs=1M", "seek=1", "conv=sparse,notrunc", "status=none"], check=True
    )
    with open_evidence(disk) as ev:
        assert [(v.id, v.layers) for v in ev.volumes] == [
            ("p1", ("raw disk.raw", "GPT partition 1 'Container'", "APFS volume 'PHONEVOL'"))
        ]
        assert list(ev.walk()) == []  # mkapfs makes an empty volume
        assert ev.warnings == []


@pytest.mark.skipif(
    not (shutil.which("mkfs.exfat") and shutil.which("fls")),
    reason="mkfs.exfat or fls missing (apt install exfatprogs sleuthkit)",
)
def test_exfat_volume_lists_like_fls(tmp_path, capsysbinary):
    # exfatprogs cannot add files without mounting the volume, so this is an empty card: its label
    # entry and system files, compared with The Sleuth Kit's own fls
    image = tmp_path / "sdcard.raw"
    with open(image, "wb") as f:
        f.truncate(64 << 20)
    subprocess.run(["mkfs.exfat", "-L", "PHONESD", str(image)], check=True, capture_output=True)
    entries = ls_json(capsysbinary, image)
    fls = subprocess.run(["fls", "-r", "-p", str(image)], check=True, capture_output=True, text=True).stdout
    regular = {line.split("\t", 1)[1] for line in fls.splitlines() if line.startswith("r/r")}
    assert (
        {e["path"].lstrip("/") for e in entries}
        == regular
        == {"PHONESD (Volume Label Entry)", "$ALLOC_BITMAP", "$UPCASE_TABLE"}
    )
    assert {tuple(e["layers"]) for e in entries} == {("raw sdcard.raw", "exFAT")}
