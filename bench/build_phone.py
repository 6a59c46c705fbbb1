"""A deterministic real-size Android phone image for benchmarks: 4 GiB, ext4 `userdata` in GPT, raw and E01.

    .venv/bin/python bench/build_phone.py [--work /tmp/phone-bench] [--messages 833334] [--photos 20000]

Content (all synthetic): the Android tree of `../shared/bench/gen_android_tree.py` (N messages: 60 %
WhatsApp, 40 % SMS/MMS — N = 833,334 gives 500,000 WhatsApp messages and 333,334 SMS —, 9,000
contacts (the generator's fictional number ranges hold about 9,000 distinct numbers, so not the 20,000 a
real phone may have), 50,000 call-log rows, K JPEGs of which the generator gives most EXIF GPS), a Telegram
`cache4.db` (the demo account of fixtures/build_telegram.py plus TELEGRAM_BULK text messages), and bulk
media (pseudo-random "videos" from a fixed seed) filling the file system. Written to WORK:
`tree/`, `tree-counts.json`, `phone.raw` (GPT disk, one partition named `userdata`) and `phone.E01`…
(ewfacquire, EnCase 6, deflate fast). Same arguments, same bytes (fixed UUIDs, hash seed and clock).
The measurement itself is `bench/bench_phone.py`.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from fixtures import build_telegram  # noqa: E402
from fixtures.ewf import ewfacquire_args  # noqa: E402

DISK_SIZE = 4 << 30
SECTOR = 512
PART_START = 2048  # sectors: 1 MiB, as Android's partition tables align
DISK_GUID = "5A1E0000-0000-4000-8000-000000000001"
PART_GUID = "5A1E0000-0000-4000-8000-000000000002"
FS_UUID = "5a1e0000-0000-4000-8000-000000000003"
HASH_SEED = "5a1e0000-0000-4000-8000-000000000004"
FAKE_TIME = 1748768400  # 2025-06-01T09:00:00Z: mke2fs and ewfacquire stamp this, not the build time
EXTRACTION_TIME = 1780304400  # 2026-06-01T09:00:00Z, the generator's file times
TELEGRAM_BULK = 20_000
BULK_VIDEO = 8 << 20
TELEGRAM_DB = "data/data/org.telegram.messenger/files/cache4.db"


def main() -> None:
    args = parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    tree = work / "tree"
    if not (work / "tree-counts.json").exists():
        generate_tree(tree, args)
        add_telegram(tree / TELEGRAM_DB)
        add_bulk_media(tree, args.bulk_bytes)
        fix_mtimes(tree)
    disk = work / "phone.raw"
    make_disk(disk, tree)
    make_e01(disk, work / "phone")
    print(f"built {disk} and {work / 'phone.E01'}")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", default="/tmp/phone-bench")
    p.add_argument("--messages", type=int, default=833_334)
    p.add_argument("--photos", type=int, default=20_000)
    p.add_argument("--bulk-bytes", type=int, default=2_400 << 20, help="pseudo-random media to add (2.4 GiB)")
    p.add_argument("--shared", default=str(ROOT.parent / "shared"))
    return p.parse_args()


def env() -> dict[str, str]:
    return {**os.environ, "E2FSPROGS_FAKE_TIME": str(FAKE_TIME), "LC_ALL": "C", "TZ": "UTC"}


def generate_tree(tree: Path, args: argparse.Namespace) -> None:
    subprocess.run(
        [
            sys.executable,
            str(Path(args.shared) / "bench" / "gen_android_tree.py"),
            str(tree),
            "--messages",
            str(args.messages),
            "--photos",
            str(args.photos),
            "--contacts",
            "9000",
            "--calls",
            "50000",
        ],
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "bench")},
        stdout=subprocess.DEVNULL,
    )


def add_telegram(path: Path) -> None:
    """The demo's Telegram account, then TELEGRAM_BULK plain text messages in one chat (current layer)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    build_telegram.build_cache4(path)
    owner, peer = build_telegram.OWNER["id"], build_telegram.KARWAN["id"]
    rng = random.Random(5012)
    words = ["ok", "see you", "tomorrow", "at the station", "call me", "thanks", "where are you", "good night"]
    db = sqlite3.connect(path)
    for i in range(TELEGRAM_BULK):
        mid, out = 10_000 + i, i % 2
        date = build_telegram.T0 + 86_400 + i * 97
        text = " ".join(rng.choice(words) for _ in range(rng.randint(1, 6)))
        fields = (
            {"out": True, "peer_id": build_telegram.peer_user(peer)}
            if out
            else {"from_id": build_telegram.peer_user(peer), "peer_id": build_telegram.peer_user(owner)}
        )
        blob = build_telegram.android_blob(build_telegram.obj("message", id=mid, date=date, message=text, **fields))
        build_telegram.insert_message(db, "messages_v2", mid, peer, date, blob, out)
    db.commit()
    db.close()


def add_bulk_media(tree: Path, total: int) -> None:
    folder = tree / "media" / "0" / "Movies"
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(20250601)
    for i in range(total // BULK_VIDEO):
        (folder / f"VID_{i:05d}.mp4").write_bytes(rng.randbytes(BULK_VIDEO))


def fix_mtimes(tree: Path) -> None:
    """Every file and folder gets the extraction time the generator uses, whoever wrote it."""
    for path in [tree, *tree.rglob("*")]:
        os.utime(path, (EXTRACTION_TIME, EXTRACTION_TIME), follow_symlinks=False)


def make_disk(disk: Path, tree: Path) -> None:
    """GPT with one `userdata` partition, ext4 written straight into it (mke2fs offset)."""
    disk.unlink(missing_ok=True)
    with open(disk, "wb") as f:
        f.truncate(DISK_SIZE)
    last = DISK_SIZE // SECTOR - 34  # the backup GPT takes the last 33 sectors
    subprocess.run(
        [
            "sgdisk",
            "-o",
            "-U",
            DISK_GUID,
            "-n",
            f"1:{PART_START}:{last - 1}",
            "-t",
            "1:8300",
            "-c",
            "1:userdata",
            "-u",
            f"1:{PART_GUID}",
            str(disk),
        ],
        check=True,
        env=env(),
        stdout=subprocess.DEVNULL,
    )
    blocks = (last - PART_START) * SECTOR // 4096
    subprocess.run(
        [
            "mkfs.ext4",
            "-q",
            "-F",
            "-L",
            "userdata",
            "-d",
            str(tree),
            "-U",
            FS_UUID,
            "-b",
            "4096",
            "-E",
            f"offset={PART_START * SECTOR},hash_seed={HASH_SEED},root_owner=0:0",
            str(disk),
            str(blocks),
        ],
        check=True,
        env=env(),
    )


def make_e01(disk: Path, target: Path) -> None:
    for old in target.parent.glob(f"{target.name}.E??"):
        old.unlink()
    header = {
        "case": "BENCH",
        "evidence": "PHONE-1",
        "examiner": "bench",
        "description": "benchmark phone",
        "notes": "synthetic",
    }
    subprocess.run(
        ewfacquire_args(disk, target, header, compression="deflate:fast"),
        check=True,
        env=env(),
        stdout=subprocess.DEVNULL,
    )


if __name__ == "__main__":
    main()
