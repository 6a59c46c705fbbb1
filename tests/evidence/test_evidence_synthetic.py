"""Evidence readers on images built here with the real tools (mkfs.ext4 -d, sgdisk, mkfs.vfat + mtools,
sfdisk, debugfs, ewfacquire), and on folders: paths, layers, content hashes, E01 headers, and the
failure cases (loops, symlink escapes, truncated and corrupt images) that must end in clear messages.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from triage.cli import main
from triage.errors import EvidenceError
from triage.evidence import open_evidence
from triage.evidence.hashing import hash_media
from triage.evidence.model import LAYER_SEPARATOR

HELLO_MTIME_NS = int(datetime(2024, 3, 1, 12, 34, 56, tzinfo=UTC).timestamp()) * 10**9 + 123456789
ACQUIRE = [
    "-u",
    "-q",
    "-f",
    "encase6",
    "-c",
    "deflate:fast",
    "-d",
    "sha1",
    "-C",
    "CASE-42",
    "-E",
    "EV-7",
    "-e",
    "Examiner A",
    "-D",
    "synthetic phone",
    "-N",
    "test notes",
]


# -- building images with real tools ------------------------------------------------------------------
def tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if found is None:
        pytest.skip(f"{name} is not installed (Debian: e2fsprogs gdisk fdisk dosfstools mtools ewf-tools)")
    return found


def run(*args: str | Path) -> None:
    cmd = [str(a) for a in args]
    done = subprocess.run([tool(cmd[0]), *cmd[1:]], capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(cmd)} failed: {done.stderr}"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_tree(root: Path) -> dict[str, bytes]:
    """A small phone-like tree; returns {path in the image: content} for its regular files."""
    rng = random.Random(20241128)
    files = {
        "/hello.txt": b"hello\n",
        "/empty": b"",
        "/data/com.example/databases/msgstore.db": b"SQLite format 3\x00" + rng.randbytes(4080),
        "/data/com.example/databases/big.bin": rng.randbytes(3_000_000),  # spans many EWF chunks and reads
        "/sdcard/naïve café.txt": "ü\n".encode(),
    }
    for rel, content in files.items():
        target = root / rel.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    (root / "sdcard" / "link").symlink_to("../hello.txt")
    os.utime(root / "hello.txt", ns=(HELLO_MTIME_NS, HELLO_MTIME_NS))
    return files


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    """ext4 from a tree, a FAT volume, both in a GPT disk, and an E01 set of that disk."""
    work = tmp_path_factory.mktemp("images")
    tree = work / "tree"
    files = make_tree(tree)
    ext4 = work / "ext4.raw"
    run("mkfs.ext4", "-q", "-F", "-I", "256", "-L", "userdata", "-d", tree, ext4, "16M")
    # mke2fs -d copies whole seconds only; put the nanoseconds in (ext4 keeps them as ns << 2)
    run("debugfs", "-w", "-R", f"sif /hello.txt mtime_extra {(HELLO_MTIME_NS % 10**9) << 2}", ext4)
    fat = work / "fat.raw"
    run("mkfs.vfat", "-C", "-n", "SDCARD", fat, "2048")
    (work / "gone.txt").write_bytes(b"gone\n")
    run("mcopy", "-i", fat, tree / "hello.txt", "::/hello.txt")
    run("mcopy", "-i", fat, work / "gone.txt", "::/gone.txt")
    run("mdel", "-i", fat, "::/gone.txt")  # a deleted file whose clusters are still there
    gpt = work / "gpt.raw"
    with open(gpt, "wb") as f:
        f.truncate(24 << 20)
    run(
        "sgdisk",
        "-n",
        "1:2048:+16M",
        "-t",
        "1:8300",
        "-c",
        "1:userdata",
        "-n",
        "2:0:+2M",
        "-t",
        "2:0700",
        "-c",
        "2:sdcard",
        gpt,
    )
    place(ext4, gpt, 2048)
    place(fat, gpt, 2048 + 32768)
    ewf_dir = work / "ewf"
    ewf_dir.mkdir()
    run("ewfacquire", *ACQUIRE, "-S", "1MiB", "-t", ewf_dir / "gpt", gpt)
    return {
        "work": work,
        "tree": tree,
        "files": files,
        "ext4": ext4,
        "fat": fat,
        "gpt": gpt,
        "e01": ewf_dir / "gpt.E01",
        "segments": sorted(ewf_dir.glob("gpt.E*")),
    }


def place(part: Path, disk: Path, sector: int) -> None:
    with open(part, "rb") as src, open(disk, "r+b") as dst:
        dst.seek(sector * 512)
        shutil.copyfileobj(src, dst)


def triage(capsysbinary, *args: str | Path) -> tuple[int, bytes, str]:
    code = main(["evidence", *map(str, args)])
    out, err = capsysbinary.readouterr()
    return code, out, err.decode("utf-8")


def listing(capsysbinary, evidence: Path) -> dict[tuple[str, str], dict]:
    code, out, err = triage(capsysbinary, "ls", evidence, "--json")
    assert code == 0, err
    entries = [json.loads(line) for line in out.decode().splitlines()]
    return {(e["volume"], e["path"]): e for e in entries}


# -- file systems and volume systems -------------------------------------------------------------------
def test_ext4_lists_the_tree_it_was_made_from(built, capsysbinary, unchanged):
    unchanged(built["ext4"])
    entries = listing(capsysbinary, built["ext4"])
    files = {p for (_, p), e in entries.items() if e["type"] == "file"}
    assert files == set(built["files"])
    assert entries[("", "/sdcard/link")]["type"] == "link"
    assert {e["type"] for (_, p), e in entries.items() if p in ("/data", "/sdcard", "/lost+found")} == {"dir"}
    assert {tuple(e["layers"]) for e in entries.values()} == {("raw ext4.raw", "ext4")}
    hello = entries[("", "/hello.txt")]
    assert hello["mtime"] == "2024-03-01T12:34:56.123456Z"  # ext4 nanoseconds, kept to the microsecond
    assert hello["size"] == 6 and hello["allocated"] is True
    for path, content in built["files"].items():
        code, out, err = triage(capsysbinary, "cat", built["ext4"], path)
        assert code == 0, err
        assert sha256(out) == sha256(content), path


def test_gpt_partitions_are_layers_with_their_names(built, capsysbinary, unchanged):
    unchanged(built["gpt"])
    entries = listing(capsysbinary, built["gpt"])
    layers = {e["volume"]: tuple(e["layers"]) for e in entries.values()}
    assert layers["p1"] == ("raw gpt.raw", "GPT partition 1 'userdata'", "ext4")
    assert layers["p2"][:2] == ("raw gpt.raw", "GPT partition 2 'sdcard'") and layers["p2"][2].startswith("FAT")
    assert entries[("p2", "/hello.txt")]["allocated"] is True
    deleted = [e for (v, p), e in entries.items() if v == "p2" and not e["allocated"]]
    assert [(e["path"], e["size"]) for e in deleted] == [("/_one.txt", 5)]  # TSK shows FAT's lost first letter

    code, _, err = triage(capsysbinary, "cat", built["gpt"], "/hello.txt")
    assert code == 2 and "several volumes (p1, p2)" in err and "--volume" in err
    code, out, err = triage(capsysbinary, "cat", built["gpt"], "/hello.txt", "--volume", "p2")
    assert code == 0 and out == b"hello\n", err
    code, out, err = triage(capsysbinary, "cat", built["gpt"], deleted[0]["path"], "--volume", "p2")
    assert code == 0 and out == b"gone\n", err  # the deleted FAT file's clusters are still intact


def test_mbr_partition_layer(built, tmp_path, capsysbinary, unchanged):
    disk = tmp_path / "mbr.raw"
    with open(disk, "wb") as f:
        f.truncate(20 << 20)
    sfdisk = subprocess.run(
        [tool("sfdisk"), "-q", str(disk)],
        input="label: dos\nstart=2048, size=32768, type=83\n",
        capture_output=True,
        text=True,
    )
    assert sfdisk.returncode == 0, sfdisk.stderr
    place(built["ext4"], disk, 2048)
    unchanged(disk)
    entries = listing(capsysbinary, disk)
    assert {tuple(e["layers"]) for e in entries.values()} == {("raw mbr.raw", "MBR partition 1 'Linux (0x83)'", "ext4")}
    assert {e["volume"] for e in entries.values()} == {"p1"}


def test_e01_of_the_gpt_disk(built, capsysbinary, unchanged):
    unchanged(*built["segments"])
    assert len(built["segments"]) > 1  # -S 1MiB: the reader has to find .E02 … itself
    code, out, err = triage(capsysbinary, "hash", built["e01"], "--json")
    assert code == 0, err
    got = json.loads(out)
    disk = built["gpt"].read_bytes()
    assert got["verified"] is True and got["size"] == len(disk)
    assert got["md5"] == hashlib.md5(disk).hexdigest() == got["stored"]["md5"]
    assert got["sha1"] == hashlib.sha1(disk).hexdigest() == got["stored"]["sha1"]
    assert got["sha256"] == sha256(disk)
    assert got["headers"]["case_number"] == "CASE-42" and got["headers"]["evidence_number"] == "EV-7"
    assert got["headers"]["examiner_name"] == "Examiner A" and got["headers"]["description"] == "synthetic phone"
    assert got["container_files"] == [p.name for p in built["segments"]]

    entries = listing(capsysbinary, built["e01"])
    first = f"EWF gpt.E01 (+{len(built['segments']) - 1} segments)"
    assert entries[("p1", "/hello.txt")]["layers"] == [first, "GPT partition 1 'userdata'", "ext4"]
    big = "/data/com.example/databases/big.bin"
    code, out, err = triage(capsysbinary, "cat", built["e01"], big, "--volume", "p1")
    assert code == 0 and sha256(out) == sha256(built["files"][big]), err


def test_provenance_through_the_python_api(built, unchanged):
    unchanged(*built["segments"])
    with open_evidence(built["e01"]) as ev:
        assert ev.kind == "ewf" and ev.container_files == built["segments"] and ev.warnings == []
        entry = ev.find("/sdcard/naïve café.txt", "p1")
        assert entry.provenance == LAYER_SEPARATOR.join(
            [
                f"EWF gpt.E01 (+{len(built['segments']) - 1} segments)",
                "GPT partition 1 'userdata'",
                "ext4",
                "/sdcard/naïve café.txt",
            ]
        )
        with ev.open(entry) as f:
            assert f.read() == "ü\n".encode() and f.seek(0) == 0 and f.read(1) == b"\xc3"
        walked = [(e.volume, e.path) for e in ev.walk()]
        assert walked == [(e.volume, e.path) for e in ev.walk()]  # same order every time


def test_directory_loop_is_listed_once_and_reported(built, tmp_path, capsysbinary, unchanged):
    image = tmp_path / "loop.raw"
    shutil.copyfile(built["ext4"], image)
    run("debugfs", "-w", "-R", "link /sdcard /sdcard/loop", image)  # a directory entry pointing at its parent
    unchanged(image)
    code, out, err = triage(capsysbinary, "ls", image, "--json")
    assert code == 0
    paths = [json.loads(line)["path"] for line in out.decode().splitlines()]
    assert "/sdcard/loop" in paths and not any(p.startswith("/sdcard/loop/") for p in paths)
    assert "directory loop" in err


# -- damaged evidence ------------------------------------------------------------------------------
def assert_one_line_error(code: int, err: str, *needles: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    for needle in needles:
        assert needle in err, err


def test_truncated_raw_warns_and_fails_cleanly_on_missing_data(built, tmp_path, capsysbinary, unchanged):
    cut = tmp_path / "cut.raw"
    cut.write_bytes(built["ext4"].read_bytes()[: 1 << 20])
    unchanged(cut)
    code, _, err = triage(capsysbinary, "ls", cut)
    assert code == 0 and "truncated image?" in err
    code, _, err = triage(capsysbinary, "cat", cut, "/data/com.example/databases/big.bin")
    assert code == 2 and "Traceback" not in err and "big.bin" in err


def test_truncated_e01_is_a_clear_error(built, tmp_path, capsysbinary, unchanged):
    whole = tmp_path / "whole"
    run("ewfacquire", *ACQUIRE, "-t", whole, built["ext4"])
    cut = tmp_path / "cut.E01"
    data = (tmp_path / "whole.E01").read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    unchanged(cut)
    code, _, err = triage(capsysbinary, "ls", cut)
    assert_one_line_error(code, err, "cut.E01")
    code, out, err = triage(capsysbinary, "hash", cut, "--json")
    if code == 2:  # libewf refused to open it at all
        assert_one_line_error(code, err, "cut.E01")
    else:  # it opened: the missing chunks are read errors and the image is not verified
        got = json.loads(out)
        assert code == 1 and got["verified"] is False and got["read_errors"]


def test_e01_with_a_missing_segment_is_a_clear_error(built, tmp_path, capsysbinary, unchanged):
    for seg in built["segments"]:
        if seg.suffix != ".E02":
            shutil.copyfile(seg, tmp_path / seg.name)
    unchanged(tmp_path)
    for command in ("ls", "hash"):
        code, _, err = triage(capsysbinary, command, tmp_path / "gpt.E01")
        assert_one_line_error(code, err, "gpt.E01")


def test_empty_and_garbage_files_have_no_file_system(tmp_path, capsysbinary, unchanged):
    empty, garbage = tmp_path / "empty.dd", tmp_path / "garbage.001"
    empty.write_bytes(b"")
    garbage.write_bytes(random.Random(7).randbytes(1 << 20))
    unchanged(empty, garbage)
    for image in (empty, garbage):
        code, _, err = triage(capsysbinary, "ls", image)
        assert_one_line_error(code, err, "no volume or file system found", image.name)
        with pytest.raises(EvidenceError, match="no volume or file system found"):
            open_evidence(image)


def test_read_errors_are_recorded_and_hashed_as_zeros():
    media = bytes(range(256)) * 4096  # 1 MiB
    bad = range(300_000, 400_000)

    def read_at(offset: int, size: int) -> bytes:
        if offset < bad.stop and offset + size > bad.start:
            raise OSError("bad sector")
        return media[offset : offset + size]

    got = hash_media(read_at, len(media))
    assert got.read_errors and all("bad sector" in e for e in got.read_errors)
    assert got.verified is False and got.size == len(media)
    # blocks of 64 KiB that touch the bad range are zeros, everything else is the real data
    block = 64 << 10
    expected = bytearray(media)
    for start in range(0, len(media), block):
        if start < bad.stop and start + block > bad.start:
            expected[start : start + block] = bytes(block)
    assert got.sha256 == sha256(bytes(expected))


def test_short_media_is_recorded():
    got = hash_media(lambda offset, size: b"x" * max(0, min(size, 1000 - offset)), 5000)
    assert got.size == 1000 and got.verified is False and "truncated" in got.read_errors[0]


# -- folders ---------------------------------------------------------------------------------------
@pytest.fixture
def folder(tmp_path) -> tuple[Path, Path, dict[str, bytes]]:
    root, outside = tmp_path / "extraction", tmp_path / "outside"
    files = make_tree(root)
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"not evidence")
    (root / "sdcard" / "escape").symlink_to(outside / "secret.txt")
    (root / "sdcard" / "escape_dir").symlink_to(outside)
    os.mkfifo(root / "pipe")  # opening it would block: it must be listed, never opened
    return root, outside, files


def test_directory_listing_and_reading(folder, capsysbinary, unchanged):
    root, _, files = folder
    unchanged(root)
    entries = listing(capsysbinary, root)
    assert {p for (_, p), e in entries.items() if e["type"] == "file"} == set(files)
    assert entries[("", "/pipe")]["type"] == "other"
    assert {tuple(e["layers"]) for e in entries.values()} == {("directory extraction",)}
    assert entries[("", "/hello.txt")]["mtime"] == "2024-03-01T12:34:56.123456Z"
    for path, content in files.items():
        code, out, err = triage(capsysbinary, "cat", root, path)
        assert code == 0 and out == content, err


def test_directory_symlinks_never_lead_outside(folder, capsysbinary, unchanged):
    root, outside, _ = folder
    unchanged(root, outside)
    entries = listing(capsysbinary, root)
    assert entries[("", "/sdcard/escape")]["type"] == "link"
    assert entries[("", "/sdcard/escape_dir")]["type"] == "link"
    assert not any("secret" in p for _, p in entries)  # the linked folder was not entered
    for path in ("/sdcard/escape", "/sdcard/escape_dir", "/sdcard/link", "/pipe"):
        code, out, err = triage(capsysbinary, "cat", root, path)
        assert_one_line_error(code, err, "not a regular file")
        assert out == b""
    with open_evidence(root) as ev:
        assert all(outside not in p.parents for p in ev.container_files)


def test_directory_swapped_for_a_symlink_after_listing_is_refused(folder, unchanged):
    root, outside, _ = folder
    unchanged(outside)
    with open_evidence(root) as ev:
        entry = ev.find("/data/com.example/databases/msgstore.db")
        moved = root.parent / "moved"
        (root / "data").rename(moved)
        (outside / "com.example" / "databases").mkdir(parents=True)
        (outside / "com.example" / "databases" / "msgstore.db").write_bytes(b"planted")
        (root / "data").symlink_to(outside)
        with pytest.raises(EvidenceError, match="outside the evidence folder"):
            ev.open(entry)
        with pytest.raises(EvidenceError, match="outside the evidence folder"):
            ev.head(entry, 64)  # the first bytes the listing reads of each file: the same checks


def test_file_swapped_for_a_fifo_after_listing_is_refused_without_waiting(folder, unchanged):
    root, outside, _ = folder
    unchanged(outside)
    with open_evidence(root) as ev:
        entry = ev.find("/data/com.example/databases/msgstore.db")
        db = root / "data" / "com.example" / "databases" / "msgstore.db"
        db.rename(db.with_name("moved.db"))
        os.mkfifo(db)  # nobody writes to it: a blocking open would wait for ever
        with pytest.raises(EvidenceError, match="no longer a regular file"):
            ev.open(entry)
        with pytest.raises(EvidenceError, match="no longer a regular file"):
            ev.head(entry, 64)


def test_the_first_bytes_of_a_file_are_those_open_reads(folder, unchanged):
    root, _, files = folder
    unchanged(root)
    with open_evidence(root) as ev:
        for path in files:
            entry = ev.find(path)
            if entry.type != "file":
                continue
            with ev.open(entry) as f:
                assert ev.head(entry, 64) == f.read(64) and ev.head(entry, 1 << 21) == files[path][: 1 << 21]


def test_directory_hash_is_a_manifest_of_sha256_lines(folder, capsysbinary, unchanged):
    root, _, files = folder
    unchanged(root)
    code, out, err = triage(capsysbinary, "hash", root, "--json")
    assert code == 0, err
    got = json.loads(out)
    manifest = "".join(f"{sha256(files[p])}  {p}\n" for p in sorted(files)).encode()
    assert got["sha256"] == sha256(manifest) and got["md5"] == hashlib.md5(manifest).hexdigest()
    assert got["size"] == len(manifest) and got["kind"] == "directory" and got["verified"] is None
    assert "manifest" in got["headers"]["method"]
    assert sorted(got["container_files"]) == sorted(p.lstrip("/") for p in files)


def test_directory_manifest_orders_paths_as_text_whatever_the_folders(folder, unchanged):
    """The manifest is sorted by the whole path as shown ('/a.txt' before '/a/b': '.' < '/'), not in the
    order a walk meets the files, and a name that is not UTF-8 is listed as the walk shows it."""
    root, _, files = folder
    (root / "a").mkdir()
    extra = {"/a.txt": b"dot", "/a/b": b"slash", "/caf\\xe9.txt": b"latin-1 name"}
    (root / "a.txt").write_bytes(extra["/a.txt"])
    (root / "a" / "b").write_bytes(extra["/a/b"])
    with open(os.fsencode(root) + b"/caf\xe9.txt", "wb") as f:
        f.write(extra["/caf\\xe9.txt"])
    unchanged(root)
    everything = {**files, **extra}
    manifest = "".join(f"{sha256(everything[p])}  {p.replace(chr(92), chr(92) * 2)}\n" for p in sorted(everything))
    with open_evidence(root) as ev:
        walked = {e.path for e in ev.walk() if e.type == "file"}
        got = ev.media_hashes()
    assert walked == set(everything)  # the same files as the walk, shown the same way
    assert got.sha256 == sha256(manifest.encode()) and got.size == len(manifest.encode())
    assert manifest.index("  /a.txt\n") < manifest.index("  /a/b\n") and not got.read_errors


def test_directory_manifest_from_the_before_hashes_is_the_one_read_again(folder, unchanged):
    """A run reads each file of a folder once for its "before" hash; the folder's manifest is made from those
    hashes (media_hashes_reusing): the same hashes as reading every file again, a name that is not UTF-8 too. A file
    the run has no hash for is read now, and the record says how many were."""
    from triage.evidence.model import shown_path
    from triage.integrity.file_hashes import sha256_batch

    root, _, _ = folder
    with open(os.fsencode(root) + b"/caf\xe9.txt", "wb") as f:
        f.write(b"latin-1 name")
    unchanged(root)
    with open_evidence(root) as ev:
        paths = [os.fspath(p) for p in ev.container_files]
        before = {shown_path(p): digest for p, (digest, _) in zip(paths, sha256_batch(paths), strict=True)}
        read_again = ev.media_hashes()
        reused = ev.media_hashes_reusing(lambda path: before.get(shown_path(path)))
        first = os.fspath(ev.container_files[0])
        partly = ev.media_hashes_reusing(lambda path: None if path == first else before.get(shown_path(path)))
    assert (reused.md5, reused.sha1, reused.sha256, reused.size) == (
        read_again.md5,
        read_again.sha1,
        read_again.sha256,
        read_again.size,
    )
    assert reused.headers["file_hashes"] == "as read for the 'before' hash; read now: 0 file(s)"
    assert partly.sha256 == read_again.sha256 and partly.headers["file_hashes"].endswith("read now: 1 file(s)")
    assert "file_hashes" not in read_again.headers


def test_unreadable_folder_is_a_warning(folder, capsysbinary, unchanged, monkeypatch):
    root, _, _ = folder
    unchanged(root)
    real_scandir = os.scandir

    def scandir(path):  # the tests may run as root, who can read a chmod 0 folder: refuse like the OS would
        if not isinstance(path, int) and Path(path).name == "data":  # shutil.rmtree scans by descriptor
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    code, out, err = triage(capsysbinary, "ls", root)
    assert code == 0 and "warning: cannot read directory directory extraction → /data: Permission denied" in err
    assert b"/data/" not in out


@pytest.mark.parametrize(
    "names",
    [["disk.001", "disk.002", "disk.003"], ["disk.000", "disk.001", "disk.002"], ["disk.aa", "disk.ab", "disk.ac"]],
    ids=["ftk-001", "dd-000", "split-aa"],
)
def test_split_raw_naming_schemes(names, built, tmp_path, capsysbinary, unchanged):
    data = built["ext4"].read_bytes()
    third = -(-len(data) // 3)
    segments = [tmp_path / n for n in names]
    for i, seg in enumerate(segments):
        seg.write_bytes(data[i * third : (i + 1) * third])
    unchanged(*segments)
    code, out, err = triage(capsysbinary, "hash", segments[0], "--json")
    got = json.loads(out)
    assert code == 0 and got["sha256"] == sha256(data) and got["kind"] == "split-raw", err
    assert got["container_files"] == names
    entries = listing(capsysbinary, segments[0])
    assert entries[("", "/hello.txt")]["layers"] == [f"split raw {names[0]} (+2 segments)", "ext4"]
    big = "/data/com.example/databases/big.bin"  # 3 MB, so its blocks cross segment boundaries
    code, out, err = triage(capsysbinary, "cat", segments[0], big)
    assert code == 0 and sha256(out) == sha256(built["files"][big]), err
    code, _, err = triage(capsysbinary, "ls", segments[1])
    assert_one_line_error(code, err, "not the first segment", f"give {names[0]}")
