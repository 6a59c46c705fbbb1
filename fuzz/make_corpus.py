#!/usr/bin/env python3
"""Build the seed corpora under fuzz/corpus/ from the project's own fixtures (never from outside the repo).

    .venv/bin/python fuzz/make_corpus.py            # rewrites fuzz/corpus/<harness>/

Seeds are small on purpose: libFuzzer mutates every byte of an input, so a seed of a few hundred
bytes that reaches the decoder's branches is worth more than a real 5 MB file. Where a harness
takes a selector byte (fuzz_tl, fuzz_archives) the seed carries it first. The F2FS seeds are tiny
images made here with mkfs.f2fs + sload.f2fs (f2fs-tools), stored in the harness's sparse form
(fuzz/f2fs_sparse.py).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
ROOT = FUZZ.parent
FIXTURES = ROOT / "fixtures"
CORPUS = FUZZ / "corpus"
sys.path.insert(0, str(FUZZ))
sys.path.insert(0, str(ROOT))

from f2fs_sparse import encode_image  # noqa: E402
from fuzz_archives import FORMATS  # noqa: E402
from fuzz_tl import EXPECTED  # noqa: E402

F2FS_TIME = "1700000000"
F2FS_UUID = "6a1f2c3e-0000-4000-8000-000000000001"


def write_seeds(name: str, seeds: list[bytes]) -> None:
    folder = CORPUS / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for seed in dict.fromkeys(seeds):  # dedupe, keep order
        (folder / hashlib.sha1(seed).hexdigest()).write_bytes(seed)
    print(f"{name}: {len(list(folder.iterdir()))} seeds, {sum(len(s) for s in set(seeds))} bytes")


def blobs(db: Path, table: str) -> list[bytes]:
    con = sqlite3.connect(f"file:{db}?immutable=1", uri=True)
    try:
        return [bytes(r[0]) for r in con.execute(f"SELECT data FROM {table}") if r[0]]
    except sqlite3.OperationalError:
        return []
    finally:
        con.close()


def tl_seeds() -> list[bytes]:
    current, legacy = FIXTURES / "telegram" / "cache4.db", FIXTURES / "telegram" / "cache4_legacy.db"
    by_type = {
        "Message": blobs(current, "messages_v2") + blobs(legacy, "messages"),
        "User": blobs(current, "users") + blobs(legacy, "users"),
        "Chat": blobs(current, "chats"),
        "EncryptedChat": blobs(current, "enc_chats"),
    }
    seeds = []
    for expected, found in by_type.items():
        selector = bytes([EXPECTED.index(expected)])
        seen: set[bytes] = set()
        for blob in sorted(found, key=len):  # one seed per constructor (its smallest blob)
            if blob[:4] not in seen:
                seen.add(blob[:4])
                seeds.append(selector + blob)
    return seeds


def typedstream_seeds() -> list[bytes]:
    # Apple Messages attributedBody blobs from plaso's test data (fixtures/third_party/ATTRIBUTION.md)
    db = FIXTURES / "third_party" / "plaso" / "test_data" / "sqlite" / "imessage_chat.db"
    con = sqlite3.connect(f"file:{db}?immutable=1", uri=True)
    found = [bytes(r[0]) for r in con.execute("SELECT attributedBody FROM message WHERE attributedBody IS NOT NULL")]
    con.close()
    return sorted(found, key=len)[:5]


def abx_seeds() -> list[bytes]:
    from fixtures.build_device_info import SECURE_SETTINGS, settings_abx

    return [(FIXTURES / "device_info" / "settings_secure.xml").read_bytes(), settings_abx(SECURE_SETTINGS[:2], 213)]


def exif_seeds() -> list[bytes]:
    media = FIXTURES / "media"
    names = ("ne_dover_resent.jpg", "zero_denominator.jpg", "below_sea_deadsea.jpg", "sw_heic.heic")
    return [(media / n).read_bytes() for n in names]


def archive_seeds() -> list[bytes]:
    hostile = FIXTURES / "hostile"
    names = (
        "names.zip",
        "traversal.zip",
        "zip64.zip",
        "liar.zip",
        "no_central_directory.zip",
        "encrypted.zip",
        "links.tar",
        "plain.tar.gz",
        "truncated.tar.gz",
        "layout_filesystem1.tar.gz",
    )
    seeds = []
    for name in names:
        fmt = "tar.gz" if name.endswith(".tar.gz") else name.rsplit(".", 1)[1]
        seeds.append(bytes([FORMATS.index(fmt)]) + (hostile / name).read_bytes())
    return seeds


def f2fs_tree(root: Path) -> None:
    """A few of each thing the reader walks: inline and block-mapped files, nested folders, a symlink."""
    (root / "dir" / "sub").mkdir(parents=True)
    (root / "a.txt").write_bytes(b"inline content\n")
    (root / "dir" / "b.bin").write_bytes(bytes(range(1, 256)) * 40)  # 10 KB: three data blocks
    (root / "dir" / "sub" / "deep.txt").write_bytes(b"x")
    (root / "empty").write_bytes(b"")
    (root / "link").symlink_to("dir/b.bin")
    for path in sorted(root.rglob("*"), reverse=True):  # fixed times: the same seeds on every build
        os.utime(path, (int(F2FS_TIME), int(F2FS_TIME)), follow_symlinks=False)


def f2fs_seeds() -> list[bytes]:
    seeds = []
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "tree"
        tree.mkdir()
        f2fs_tree(tree)
        for features in ((), ("-O", "extra_attr,inode_crtime")):
            image = Path(tmp) / "img"
            image.unlink(missing_ok=True)
            with open(image, "wb") as f:
                f.truncate(64 << 20)  # the smallest size mkfs.f2fs 1.15 accepts with 4 KiB blocks
            subprocess.run(
                [
                    "mkfs.f2fs",
                    "-q",
                    "-f",
                    "-l",
                    "userdata",
                    *features,
                    "-T",
                    F2FS_TIME,
                    "-U",
                    F2FS_UUID,
                    "-r",
                    str(image),
                ],
                check=True,
                capture_output=True,
            )
            subprocess.run(["sload.f2fs", "-f", str(tree), "-t", "/", str(image)], check=True, capture_output=True)
            seeds.append(encode_image(image.read_bytes()))
    return seeds


def main() -> int:
    write_seeds("tl", tl_seeds())
    write_seeds("typedstream", typedstream_seeds())
    write_seeds("abx", abx_seeds())
    write_seeds("exif", exif_seeds())
    write_seeds("archives", archive_seeds())
    write_seeds("f2fs", f2fs_seeds())
    return 0


if __name__ == "__main__":
    sys.exit(main())
