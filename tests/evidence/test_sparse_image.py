"""Android sparse images (simg): read in place exactly as AOSP `simg2img` expands them.

Fixtures: `fixtures/sparse/system.simg` (an ext4 made by mkfs.ext4 -d, converted by img2simg) and
`chunks.simg` (one chunk of every type), with `sparse.json` holding the hashes of simg2img's output
(see fixtures/build_sparse.py). With the tools installed the tests also build a fresh image and compare
against simg2img directly.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from triage.errors import EvidenceError
from triage.evidence import open_evidence
from triage.evidence.opener import hash_evidence
from triage.evidence.sparse_image import SparseImage

SPARSE = Path(__file__).parents[2] / "fixtures" / "sparse"
MANIFEST = json.loads((SPARSE / "sparse.json").read_text(encoding="utf-8"))
needs_libsparse = pytest.mark.skipif(
    not (shutil.which("simg2img") and shutil.which("img2simg")),
    reason="simg2img/img2simg missing (apt install android-sdk-libsparse-utils)",
)
needs_mkfs = pytest.mark.skipif(not shutil.which("mkfs.ext4"), reason="mkfs.ext4 missing (apt install e2fsprogs)")


def listing(path: Path) -> list[tuple]:
    with open_evidence(path) as ev:
        return [(e.path, e.type, e.size, e.inode, e.allocated, e.mtime, e.crtime) for e in ev.walk()]


def file_md5s(path: Path) -> dict[str, str]:
    with open_evidence(path) as ev:
        return {e.path: hashlib.md5(ev.read_bytes(e)).hexdigest() for e in ev.walk() if e.type == "file" and e.size}


def simg2img(simg: Path, out: Path) -> Path:
    subprocess.run(["simg2img", str(simg), str(out)], check=True, capture_output=True)
    return out


def test_committed_image_lists_and_reads_the_files_it_was_made_from(unchanged):
    simg = SPARSE / "system.simg"
    unchanged(simg)
    system = MANIFEST["system"]
    assert hashlib.sha256(simg.read_bytes()).hexdigest() == system["sha256"]
    with open_evidence(simg) as ev:
        assert ev.kind == "android-sparse" and ev.container_files == [simg]
        entries = {e.path: e for e in ev.walk()}
        assert ev.warnings == []
        for f in system["files"]:
            entry = entries[f["path"]]
            assert entry.size == f["size"]
            assert entry.layers == ("Android sparse system.simg", "ext4")
            assert hashlib.md5(ev.read_bytes(entry)).hexdigest() == f["md5"]
        assert {p for p, e in entries.items() if e.type == "dir"} == {*system["dirs"], "/lost+found"}


def test_media_hashes_are_those_of_simg2img_output(unchanged):
    for name in ("system", "chunks"):
        simg = SPARSE / MANIFEST[name]["file"]
        unchanged(simg)
        report = hash_evidence(simg)
        expanded = MANIFEST[name]["expanded"]
        assert (report.hashes.size, report.hashes.md5, report.hashes.sha1, report.hashes.sha256) == (
            expanded["size"],
            expanded["md5"],
            expanded["sha1"],
            expanded["sha256"],
        )
        assert report.hashes.read_errors == [] and report.warnings == []


def test_every_chunk_type_reads_as_simg2img_writes_it(tmp_path):
    simg = SPARSE / "chunks.simg"
    assert MANIFEST["chunks"]["chunk_types"] == {"CRC32": 1, "DONT_CARE": 1, "FILL": 1, "RAW": 2}
    with SparseImage(simg) as image:
        whole = image.read_at(0, image.size)
        assert hashlib.md5(whole).hexdigest() == MANIFEST["chunks"]["expanded"]["md5"]
        assert whole[2 * 4096 : 5 * 4096] == b"\xde\xad\xbe\xef" * 3072  # FILL
        assert whole[5 * 4096 : 7 * 4096] == bytes(8192)  # DONT_CARE
        rng = random.Random(7)
        for _ in range(300):  # random access across chunk boundaries and FILL phases
            offset = rng.randrange(image.size)
            size = rng.randrange(1, 3 * 4096)
            assert image.read_at(offset, size) == whole[offset : offset + size]
        image.seek(4097)
        assert image.read(7) == whole[4097:4104]
        assert image.read_at(image.size, 10) == b""
    if shutil.which("simg2img"):
        assert simg2img(simg, tmp_path / "out.raw").read_bytes() == whole


@needs_libsparse
@needs_mkfs
def test_fresh_img2simg_image_equals_the_unsparsed_image(tmp_path):
    tree = tmp_path / "tree"
    (tree / "data" / "app").mkdir(parents=True)
    rng = random.Random(11)
    (tree / "data" / "app" / "random.bin").write_bytes(rng.randbytes(300_000))
    (tree / "data" / "zeros.bin").write_bytes(bytes(50_000))
    (tree / "data" / "notes.txt").write_text("sparse image test\n" * 40)
    raw = tmp_path / "userdata.ext4"
    with open(raw, "wb") as f:
        f.truncate(16 << 20)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-d", str(tree), "-b", "1024", str(raw)], check=True)
    simg = tmp_path / "userdata.simg"
    subprocess.run(["img2simg", str(raw), str(simg)], check=True, capture_output=True)
    assert simg.stat().st_size < raw.stat().st_size
    assert listing(simg) == listing(raw)
    assert file_md5s(simg) == file_md5s(raw)
    expanded = simg2img(simg, tmp_path / "expanded.raw")
    ours, theirs = hash_evidence(simg).hashes, hash_evidence(expanded).hashes
    assert (ours.md5, ours.sha1, ours.sha256, ours.size) == (theirs.md5, theirs.sha1, theirs.sha256, theirs.size)


def _copy_with(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_truncated_image_opens_with_warnings_and_read_errors(tmp_path):
    data = (SPARSE / "system.simg").read_bytes()
    cut = _copy_with(tmp_path, "cut.simg", data[:200_000])  # inside the third chunk (RAW, blocks 67-92)
    with open_evidence(cut) as ev:
        entries = {e.path: e for e in ev.walk()}
        # the inode table is intact; /system/etc's directory block is in the missing part
        assert sorted(entries) == [
            "/lost+found",
            "/system",
            "/system/app",
            "/system/app/blob.bin",
            "/system/app/pattern.bin",
            "/system/build.prop",
            "/system/etc",
        ]
        first_bad = 67 * 4096 + (200_000 - 147_524)  # chunk 2's data starts at byte 147524 of the file
        assert ev.warnings[0].startswith(
            f"Android sparse cut.simg: chunk 2 (type 0xcac1) at byte 147512 is "
            f"truncated: 52476 of 106496 data bytes present; output bytes {first_bad}-"
        )
        assert any("cannot read directory" in w and "/system/etc" in w for w in ev.warnings)
        # blob.bin's last extent is in the missing part. The Sleuth Kit would hand the file back with
        # zeros there; the image's read errors are watched, so the read fails instead of giving content
        # (and a hash) that is not the file's
        with pytest.raises(
            OSError,
            match=r"/system/app/blob\.bin: bytes 0-199999 lie in a part of the image "
            r"that cannot be read \(image read error",
        ):
            ev.read_bytes(entries["/system/app/blob.bin"])
        with pytest.raises(
            OSError,
            match=r"/system/app/pattern\.bin: bytes 0-65535 lie in a part of the image "
            r"that cannot be read",
        ):
            ev.read_bytes(entries["/system/app/pattern.bin"])  # wholly in the missing part
    report = hash_evidence(cut)
    assert report.hashes.size == 8 << 20 and report.hashes.read_errors
    # the hash pass re-reads a failed chunk in 64 KiB blocks: the block holding the cut is zeros
    assert report.hashes.read_errors[0].startswith(f"read error in bytes {first_bad // 65536 * 65536}-8388607 ")
    assert report.hashes.verified is False


def test_damaged_chunks_become_warnings_never_crashes(tmp_path):
    data = bytearray((SPARSE / "chunks.simg").read_bytes())
    # the second chunk (FILL, at byte 28 + 12 + 8192) gets an unknown type
    bad_type = bytearray(data)
    struct.pack_into("<H", bad_type, 28 + 12 + 8192, 0xBEEF)
    with SparseImage(_copy_with(tmp_path, "type.simg", bytes(bad_type))) as image:
        assert "unknown chunk type" in image.warnings[0]
        assert len(image.read_at(0, 8192)) == 8192  # the RAW chunk before it is intact
        with pytest.raises(OSError, match="damaged part"):
            image.read_at(8192, 10)
    # the header promises more chunks than the file holds
    more = bytearray(data)
    struct.pack_into("<I", more, 20, 6)
    with SparseImage(_copy_with(tmp_path, "more.simg", bytes(more))) as image:
        assert any("chunk 5 of 6 is missing" in w for w in image.warnings)
    # a chunk whose size disagrees with its blocks
    bad_size = bytearray(data)
    struct.pack_into("<I", bad_size, 28 + 8, 12 + 100)
    with SparseImage(_copy_with(tmp_path, "size.simg", bytes(bad_size))) as image:
        assert "declares 112 bytes" in image.warnings[0]


def test_unreadable_header_is_a_clear_error(tmp_path):
    data = bytearray((SPARSE / "chunks.simg").read_bytes())
    struct.pack_into("<H", data, 4, 2)  # major version 2
    with pytest.raises(EvidenceError, match="major version 2"):
        open_evidence(_copy_with(tmp_path, "v2.simg", bytes(data)))
    with pytest.raises(EvidenceError, match="header truncated"):
        open_evidence(_copy_with(tmp_path, "short.simg", bytes(data[:20])))
