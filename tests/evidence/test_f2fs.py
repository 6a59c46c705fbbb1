"""The F2FS reader against images made by mkfs.f2fs + sload.f2fs from a generated tree.

The committed image (fixtures/f2fs/userdata.f2fs.gz, from fixtures/build_f2fs.py) is checked against
the tree's manifest (tree.json): every path, type, size, SHA-256, link target, hard link and mtime.
Samples are cross-checked with dump.f2fs, damaged copies must give warnings and no crash, the GPT+E01
variant must give `triage run` the same records as the source folder, and a multi-GB sparse file is
built on the fly when f2fs-tools is installed.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
import re
import shutil
import struct
import subprocess
from contextlib import redirect_stdout
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fixtures import build_f2fs
from tests.bundle_layout import payload
from triage.errors import EvidenceError
from triage.evidence.f2fs.filesystem import F2fsFileSystem
from triage.evidence.f2fs.layout import f2fs_crc32
from triage.evidence.model import FileEntry
from triage.evidence.opener import open_evidence

ROOT = Path(__file__).parents[2]
F2FS = ROOT / "fixtures" / "f2fs"
MANIFEST = json.loads((F2FS / "tree.json").read_text(encoding="utf-8"))
ENTRIES: dict[str, dict] = MANIFEST["entries"]
E01 = F2FS / "userdata_gpt.E01"
HAVE_TOOLS = all(shutil.which(t) for t in ("mkfs.f2fs", "sload.f2fs"))
HAVE_DUMP = shutil.which("dump.f2fs") is not None


def sha256_of(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


@pytest.fixture(scope="module")
def image(tmp_path_factory, evidence_guard) -> Path:
    """The committed image, decompressed; the session fails if any test changes it."""
    path = tmp_path_factory.mktemp("f2fs") / "userdata.f2fs"
    with gzip.open(F2FS / "userdata.f2fs.gz", "rb") as src, open(path, "wb") as dst:
        shutil.copyfileobj(src, dst, 8 << 20)
    assert sha256_of(path) == MANIFEST["image_sha256"]
    path.chmod(0o444)
    evidence_guard(path, E01)
    return path


@pytest.fixture(scope="module")
def listing(image) -> tuple[list[FileEntry], list[str], dict[str, str], dict[str, str]]:
    """(entries, warnings, sha256 by path, link target by path) read through open_evidence."""
    with open_evidence(image) as ev:
        entries = list(ev.walk())
        fs = _f2fs(ev)
        hashes, targets = {}, {}
        for e in entries:
            if e.type == "file":
                with ev.open(e) as f:
                    hashes[e.path] = hashlib.file_digest(f, "sha256").hexdigest()
            elif e.type == "link":
                targets[e.path] = fs.read_link(e)
        return entries, list(ev.warnings), hashes, targets


def _f2fs(ev) -> F2fsFileSystem:
    fs = next(v.other for v in ev.volumes if isinstance(v.other, F2fsFileSystem))
    return fs


def _utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


# -- the committed image -------------------------------------------------------------------------------
def test_every_path_is_listed_once_with_its_type_and_layers(listing):
    entries, warnings, _, _ = listing
    assert warnings == []
    paths = [e.path for e in entries]
    assert len(paths) == len(set(paths)) == len(ENTRIES) > 2500
    assert set(paths) == set(ENTRIES)
    for e in entries:
        assert e.type == ENTRIES[e.path]["type"], e.path
        assert e.layers == ("raw userdata.f2fs", "F2FS") and e.volume == "" and e.allocated
    assert paths == sorted(paths, key=lambda p: p.split("/"))  # depth first, name order


def test_every_file_has_the_source_size_and_sha256(listing):
    entries, _, hashes, _ = listing
    files = [e for e in entries if e.type == "file"]
    assert len(files) == sum(1 for v in ENTRIES.values() if v["type"] == "file")
    for e in files:
        assert e.size == ENTRIES[e.path]["size"], e.path
        assert hashes[e.path] == ENTRIES[e.path]["sha256"], e.path


def test_symlinks_are_listed_not_followed(listing, image):
    entries, _, _, targets = listing
    links = {e.path: e for e in entries if e.type == "link"}
    assert set(links) == {p for p, v in ENTRIES.items() if v["type"] == "link"} and len(links) == 4
    for path, e in links.items():
        assert targets[path] == ENTRIES[path]["target"]
        assert e.size == ENTRIES[path]["size"]
    assert targets["/links/dangling"] == "does/not/exist"
    with open_evidence(image) as ev:
        with pytest.raises(EvidenceError, match="symbolic link to '../deep'; links are not followed"):
            ev.open(ev.find("/links/to_dir"))
    assert not any(p.startswith("/links/to_dir/") for p in (e.path for e in entries))


def test_hard_links_share_one_inode(listing):
    entries, _, _, _ = listing
    by_path = {e.path: e for e in entries}
    groups: dict[str, set[str]] = {}
    for path, v in ENTRIES.items():
        if "hard_link_group" in v:
            groups.setdefault(v["hard_link_group"], set()).add(by_path[path].inode)
    assert groups and all(len(inodes) == 1 for inodes in groups.values())
    assert {"/links/target.txt", "/links/hard_1.txt", "/deep/hard_2.txt"} <= {
        p for p, v in ENTRIES.items() if v.get("hard_link_group") == "/deep/hard_2.txt"
    }
    assert (
        len({by_path[p].inode for p in ENTRIES if ENTRIES[p]["type"] == "file"})
        == sum(1 for v in ENTRIES.values() if v["type"] == "file") - 2
    )


def test_non_ascii_and_long_names(listing):
    entries, _, hashes, _ = listing
    paths = {e.path for e in entries}
    for name in build_f2fs.NON_ASCII_NAMES:
        assert f"/names/{name}" in paths
        assert hashes[f"/names/{name}"] == hashlib.sha256(name.encode() + b"\n").hexdigest()
    assert "/names/" + "L" * 251 + ".txt" in paths


def test_times_are_the_source_mtimes_to_the_second(listing):
    entries, _, _, _ = listing
    for e in entries:
        expected = _utc(ENTRIES[e.path]["mtime"])
        assert e.mtime == expected and e.atime == expected and e.ctime == expected, e.path
        assert e.mtime.tzinfo is UTC and e.crtime is None  # no inode_crtime feature here


def test_random_access_and_streaming(image):
    data = build_f2fs._marked_blocks("indirect", 14 << 20)
    rng = random.Random(4)
    with open_evidence(image) as ev:
        f = ev.open(ev.find("/sizes/indirect.bin"))
        assert f.seekable() and not f.writable()
        for _ in range(200):
            offset = rng.randrange(0, len(data) + 10)
            size = rng.choice((1, 17, 4096, 5000, 70000, 1 << 20))
            f.seek(offset)
            assert f.read(size) == data[offset : offset + size]
        f.seek(-5, io.SEEK_END)
        assert f.read() == data[-5:] and f.read(10) == b""


def test_sqlite_database_in_android_layout(image):
    with open_evidence(image) as ev:
        entry = ev.find("/data/data/com.android.providers.telephony/databases/mmssms.db")
        assert ev.read_bytes(entry)[:16] == b"SQLite format 3\x00"
        assert entry.provenance == (
            "raw userdata.f2fs → F2FS → /data/data/com.android.providers.telephony/databases/mmssms.db"
        )


# -- cross-check with dump.f2fs --------------------------------------------------------------------------
DUMP_SAMPLE = (
    "/data/data/com.android.providers.telephony/databases/mmssms.db",
    "/sizes/size_003488.bin",
    "/sizes/indirect.bin",
    "/sizes/size_004097.bin",
    "/names/文件.txt",
    "/media/0/bulk/item_01234.txt",
)


@pytest.mark.skipif(not HAVE_DUMP, reason="dump.f2fs (f2fs-tools) is not installed")
def test_sample_agrees_with_dump_f2fs(image, tmp_path):
    before = sha256_of(image)
    with open_evidence(image) as ev:
        fs = _f2fs(ev)
        for path in DUMP_SAMPLE:
            entry = ev.find(path)
            inode = fs.inode(int(entry.inode))
            cwd = tmp_path / entry.inode
            cwd.mkdir()
            out = subprocess.run(
                ["dump.f2fs", "-i", entry.inode, str(image)],
                input="Y\n",
                cwd=cwd,
                capture_output=True,
                text=True,
                timeout=120,
            ).stdout
            fields = {m[0]: int(m[1]) for m in re.findall(r"^(i_\w+)\s+\[0x\s*[0-9a-f]+ : (\d+)\]", out, re.M)}
            assert fields["i_size"] == entry.size == inode.size
            assert fields["i_mode"] == inode.mode and fields["i_links"] == inode.links
            assert _utc(fields["i_mtime"]) == entry.mtime
            dumped = cwd / "lost_found" / path.rsplit("/", 1)[1]
            assert sha256_of(dumped) == ENTRIES[path]["sha256"]
    assert sha256_of(image) == before


# -- damaged copies --------------------------------------------------------------------------------------
def _copy(image: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "damaged.f2fs"
    shutil.copyfile(image, copy)
    copy.chmod(0o644)
    return copy


def _patch(path: Path, offset: int, data: bytes) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)


def _read(path: Path, offset: int, size: int) -> bytes:
    with open(path, "rb") as f:
        f.seek(offset)
        return f.read(size)


def _walk_and_read(path: Path) -> tuple[list[FileEntry], list[str], list[str]]:
    """(entries, warnings, read failures): every file read; nothing may raise but a per-file error."""
    failures = []
    with open_evidence(path) as ev:
        entries = list(ev.walk())
        for e in entries:
            if e.type == "file":
                try:
                    with ev.open(e) as f:
                        hashlib.file_digest(f, "sha256")
                except (OSError, EvidenceError) as exc:
                    failures.append(f"{e.path}: {exc}")
        return entries, list(ev.warnings), failures


def _sb(path: Path) -> dict[str, int]:
    raw = _read(path, 1024, 128)
    cp, sit, nat = struct.unpack_from("<III", raw, 76)
    return {
        "cp": cp,
        "nat": nat,
        "main": struct.unpack_from("<I", raw, 92)[0],
        "blocks": struct.unpack_from("<Q", raw, 36)[0],
    }


def test_bad_crc_in_the_unused_checkpoint_pack_is_reported(image, tmp_path):
    copy = _copy(image, tmp_path)
    pack2 = (_sb(copy)["cp"] + 512) * 4096
    _patch(copy, pack2 + 200, b"\xff\xff")  # inside the CRC-protected part
    entries, warnings, failures = _walk_and_read(copy)
    assert any(
        "F2FS checkpoint pack 2 is damaged (first checkpoint block: CRC mismatch" in w and "using pack 1" in w
        for w in warnings
    ), warnings
    assert len(entries) == len(ENTRIES) and failures == []


def test_bad_crc_in_the_current_pack_falls_back_to_the_other(image, tmp_path):
    copy = _copy(image, tmp_path)
    pack1 = _sb(copy)["cp"] * 4096
    block = bytearray(_read(copy, pack1, 4096))
    block[300] ^= 0x55
    _patch(copy, pack1, bytes(block))
    entries, warnings, _ = _walk_and_read(copy)
    assert any("checkpoint pack 1 is damaged" in w and "using pack 2" in w for w in warnings), warnings
    # pack 2 is the one mkfs.f2fs wrote; sload.f2fs updated the NAT blocks that pack names in place, so
    # through it the whole tree is still found
    assert {e.path for e in entries} == set(ENTRIES)


def test_checkpoint_crc_is_the_f2fs_crc(image):
    block = _read(image, _sb(image)["cp"] * 4096, 4096)
    offset = struct.unpack_from("<I", block, 164)[0]
    assert offset == 4092 and f2fs_crc32(block[:offset]) == struct.unpack_from("<I", block, offset)[0]


def test_primary_superblock_broken_uses_the_backup(image, tmp_path):
    copy = _copy(image, tmp_path)
    _patch(copy, 1024 + 16, struct.pack("<I", 13))  # log_blocksize 13: 8 KiB blocks
    entries, warnings, failures = _walk_and_read(copy)
    assert any("primary F2FS superblock is damaged" in w and "using the backup copy" in w for w in warnings)
    assert len(entries) == len(ENTRIES) and failures == []


def test_both_superblocks_broken(image, tmp_path):
    copy = _copy(image, tmp_path)
    for block in (0, 1):
        _patch(copy, block * 4096 + 1024 + 76, struct.pack("<I", 0xFFFFFFF0))  # checkpoint area past the end
    with pytest.raises(EvidenceError, match="no volume or file system found"):
        open_evidence(copy)
    for block in (0, 1):
        _patch(copy, block * 4096 + 1024, b"\x00" * 4)  # no magic at all: not F2FS
    with pytest.raises(EvidenceError, match="no volume or file system found"):
        open_evidence(copy)


def _nat_slot(path: Path, nid: int) -> int:
    """Byte offset of `nid`'s NAT entry in the current NAT copy (recomputed from the raw structures)."""
    sb = _sb(path)
    cp = _read(path, sb["cp"] * 4096, 4096)
    sit_bytes, nat_bytes = struct.unpack_from("<II", cp, 156)
    bitmap = cp[192 + sit_bytes : 192 + sit_bytes + nat_bytes]
    index = nid // 455
    addr = sb["nat"] + (index // 512) * 1024 + index % 512
    if bitmap[index >> 3] & (0x80 >> (index & 7)):
        addr += 512
    return addr * 4096 + (nid % 455) * 9


def test_nat_entry_outside_the_device(image, tmp_path):
    copy = _copy(image, tmp_path)
    with open_evidence(image) as ev:
        victim = ev.find("/names/文件.txt")
    slot = _nat_slot(copy, int(victim.inode))
    assert struct.unpack_from("<BII", _read(copy, slot, 9))[1] == int(victim.inode)
    _patch(copy, slot + 5, struct.pack("<I", 0x7FFFFFF0))
    entries, warnings, failures = _walk_and_read(copy)
    listed = next(e for e in entries if e.path == "/names/文件.txt")
    assert listed.size is None and listed.handle is None and listed.inode == victim.inode
    assert any("/names/文件.txt: inode" in w and "outside the main area" in w for w in warnings), warnings
    assert failures == [
        "/names/文件.txt: raw damaged.f2fs → F2FS → /names/文件.txt: its inode could not be read "
        "when the directory was listed, so its content cannot be read"
    ]
    assert len(entries) == len(ENTRIES)


def test_directory_loop_is_reported_and_not_followed(image, tmp_path):
    copy = _copy(image, tmp_path)
    with open_evidence(image) as ev:
        fs = _f2fs(ev)
        parent = ev.find("/deep/level_00/level_01")
        ancestor = ev.find("/deep/level_00")
        inode = fs.inode(int(parent.inode))
        block_addr = inode.inode_addrs[0]
    block = _read(copy, block_addr * 4096, 4096)
    for i in range(214):  # find the dentry named level_02 and point it at /deep/level_00
        if block[i >> 3] & (1 << (i & 7)) and block[2384 + i * 8 : 2384 + i * 8 + 8] == b"level_02":
            _patch(copy, block_addr * 4096 + 30 + i * 11 + 4, struct.pack("<I", int(ancestor.inode)))
            break
    else:
        pytest.fail("dentry level_02 not found")
    entries, warnings, _ = _walk_and_read(copy)
    assert any("/deep/level_00/level_01/level_02: directory inode" in w and "directory loop" in w for w in warnings), (
        warnings
    )
    assert not any(e.path.startswith("/deep/level_00/level_01/level_02/") for e in entries)


def test_implausible_directory_size_is_reported_not_looped_over(image, tmp_path):
    copy = _copy(image, tmp_path)
    with open_evidence(image) as ev:
        deep = ev.find("/deep")
        inode_block = _f2fs(ev).nodes.entry(int(deep.inode))[1]
    _patch(copy, inode_block * 4096 + 16, struct.pack("<Q", 1 << 50))  # i_size of /deep: 1 PiB
    entries, warnings, failures = _walk_and_read(copy)
    assert {e.path for e in entries} == set(ENTRIES) and failures == []
    assert any("/deep (inode" in w and "larger than any F2FS file" in w for w in warnings), warnings


def test_truncated_image(image, tmp_path):
    copy = tmp_path / "truncated.f2fs"
    with open(image, "rb") as src, open(copy, "wb") as dst:
        dst.write(src.read((_sb(image)["main"] + 3000) * 4096))  # the first 3000 blocks of the main area
    entries, warnings, failures = _walk_and_read(copy)
    assert any("truncated image?" in w for w in warnings), warnings
    assert {e.path for e in entries} == set(ENTRIES)  # every name whose directory is still in the image
    assert failures  # what is missing is reported, not crashed on
    beyond = [w for w in warnings if "inodes lie past the end of the image" in w]
    assert len(beyond) == 1 and len(warnings) < 10  # one summary, not one warning per file
    assert all(
        "past the end of the image" in f or "cannot be read" in f or "could not be read" in f for f in failures
    ), failures[:3]


# -- GPT inside E01, and `triage run` ---------------------------------------------------------------------
def test_e01_layers_and_hashes(image):
    with open_evidence(E01) as ev:
        entries = list(ev.walk())
        assert any("GPT partition 1 'misc'" in w for w in ev.warnings)
        files = [e for e in entries if e.type == "file"]
        assert {e.path for e in entries} == set(ENTRIES)
        for e in files:
            assert e.layers == ("EWF userdata_gpt.E01", "GPT partition 2 'userdata'", "F2FS") and e.volume == "p2"
            with ev.open(e) as f:
                assert hashlib.file_digest(f, "sha256").hexdigest() == ENTRIES[e.path]["sha256"], e.path
        media = ev.media_hashes()
        assert media.sha256 == MANIFEST["disk_sha256"] and media.verified is True


def _run(evidence: Path, out: Path) -> dict[str, list[dict]]:
    from triage.cli import main

    with redirect_stdout(io.StringIO()):
        code = main(
            [
                "run",
                str(evidence),
                "--out",
                str(out),
                "--case",
                "F2FS-1",
                "--exhibit",
                "X-1",
                "--examiner",
                "Test Examiner",
                "--quiet",
            ]
        )
    assert code == 0
    records = {}
    for path in sorted((payload(out) / "records").glob("*.jsonl")):
        rows = [_without_ids(json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines()]
        records[path.stem] = sorted(rows, key=lambda r: json.dumps(r, sort_keys=True))
    return records


_IDS = re.compile(r"(^|_)(id|ids)$")


def _without_ids(value):
    if isinstance(value, dict):
        return {k: _without_ids(v) for k, v in value.items() if k != "provenance" and not _IDS.search(k)}
    if isinstance(value, list):
        return [_without_ids(v) for v in value]
    return value


def test_triage_run_gives_the_same_records_as_the_source_folder(image, tmp_path):
    tree = tmp_path / "tree"
    build_f2fs.generate_tree(tree)
    from_folder = _run(tree, tmp_path / "out-folder")
    from_e01 = _run(E01, tmp_path / "out-e01")
    compared = ("message", "contact", "party", "account", "call", "media_file", "location", "payment", "device")
    assert len(from_folder["message"]) == 46 and len(from_folder["contact"]) == 11  # SMS + WhatsApp
    for kind in compared:
        assert from_e01.get(kind, []) == from_folder.get(kind, []), kind
    sources_e01 = {(r.get("path"), r.get("sha256")) for r in from_e01["source_file"]}
    sources_dir = {(r.get("path"), r.get("sha256")) for r in from_folder["source_file"]}
    assert sources_e01 == sources_dir and len(sources_e01) == 3
    # the one extra warning is the disk's raw 'misc' partition, which holds no file system
    extra = [w for w in from_e01["parse_warning"] if w not in from_folder["parse_warning"]]
    assert len(extra) == 1 and "GPT partition 1 'misc'" in json.dumps(extra)


# -- built on the fly: a multi-GB sparse file -------------------------------------------------------------
SPARSE_SIZE = (1 << 32) + 12288  # past 4 GiB: the indirect node blocks and offsets beyond 32 bits


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_TOOLS, reason="mkfs.f2fs and sload.f2fs (f2fs-tools) are not installed")
def test_multi_gb_sparse_file_streams(tmp_path):
    import shutil

    free = shutil.disk_usage(tmp_path).free
    if free < 6 << 30:  # sload writes every hole as zero blocks: the image needs about 4.5 GB
        pytest.skip(f"needs about 6 GB free in {tmp_path} for the image, {free >> 20} MB free")
    tree = tmp_path / "tree"
    build_f2fs.sparse_tree(tree, SPARSE_SIZE)
    expected = sha256_of(tree / "sparse.bin")
    image = tmp_path / "sparse.f2fs"
    try:
        # sload.f2fs writes the holes as zero blocks (~70 s and 4.5 GB of disk here): the image is never kept
        build_f2fs.build_image(tree, image, size_mib=(SPARSE_SIZE >> 20) + 512)
        with open_evidence(image) as ev:
            entry = ev.find("/sparse.bin")
            assert entry.size == SPARSE_SIZE
            with ev.open(entry) as f:
                assert hashlib.file_digest(f, "sha256").hexdigest() == expected
                for offset in ((1 << 31) - 10, (1 << 32) - 5, SPARSE_SIZE - 4096):
                    f.seek(offset)
                    assert f.read(40).startswith(f"marker at {offset}\n".encode())
    finally:
        image.unlink(missing_ok=True)
        (tree / "sparse.bin").unlink(missing_ok=True)


# -- compressed clusters ------------------------------------------------------------------------------------
# f2fs-tools 1.15 in Debian is built without LZ4/LZO (`sload.f2fs -c` answers "The selected compression
# algorithm is not supported"), so no compressed image can be made here: the cluster decoding is checked
# on clusters laid out as F2FS stores them (24-byte header, then the compressor's output).
def _cluster(payload: bytes) -> bytes:
    raw = struct.pack("<II4I", len(payload), 0, 0, 0, 0, 0) + payload
    return raw + bytes(-len(raw) % 4096)  # padded to whole blocks, as read from the image


def test_lz4_and_zstd_clusters_decompress():
    import lz4.block
    import zstandard

    from triage.evidence.f2fs.compression import LZ4, ZSTD, cluster_payload, decompress

    plain = build_f2fs._marked_blocks("cluster", 4 * 4096)
    lz = lz4.block.compress(plain, store_size=False)
    assert decompress(LZ4, cluster_payload(_cluster(lz)), len(plain)) == plain
    zs = zstandard.ZstdCompressor(level=3).compress(plain)
    assert decompress(ZSTD, cluster_payload(_cluster(zs)), len(plain)) == plain


def test_damaged_or_unsupported_clusters_are_errors_not_crashes():
    from triage.evidence.f2fs.compression import LZ4, LZORLE, cluster_payload, decompress, unsupported_reason
    from triage.evidence.f2fs.layout import F2fsError

    with pytest.raises(F2fsError, match="claims 999999 bytes"):
        cluster_payload(struct.pack("<I", 999999) + bytes(4092))
    with pytest.raises(F2fsError, match="cannot be decompressed"):
        decompress(LZ4, b"\xff" * 100, 16384)
    with pytest.raises(F2fsError, match="LZO-RLE"):
        decompress(LZORLE, b"", 16384)
    assert unsupported_reason(LZ4) is None and "LZO-RLE" in unsupported_reason(LZORLE)
