#!/usr/bin/env python3
"""F2FS reader benchmark: sequential read of a large file, and listing of 100k files.

    python bench/bench_f2fs.py [--work DIR] [--big-mib 1024] [--files 100000] [--runs 3]

Builds one image with mkfs.f2fs + sload.f2fs (f2fs-tools) in DIR (default: a temporary folder,
removed afterwards): a --big-mib file of pseudo-random bytes and --files small (inline) files in
directories of 1000. Then, through `open_evidence` (the same path `triage run` takes), it times a
streamed read of the big file (read only, and read + SHA-256) and a full listing; best of --runs, warm
page cache. Prints a Markdown section for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fixtures.build_f2fs import build_image  # noqa: E402
from triage.evidence.opener import open_evidence  # noqa: E402

CHUNK = 8 << 20


def make_tree(root: Path, big_mib: int, files: int) -> None:
    rng = random.Random(1)
    block = rng.randbytes(1 << 20)
    with open(root / "big.bin", "wb") as f:
        for i in range(big_mib):  # distinct MiBs without generating a GiB of randomness
            f.write(i.to_bytes(8, "little") + block[8:])
    for n in range(files):
        d = root / "many" / f"dir_{n // 1000:03d}"
        if n % 1000 == 0:
            d.mkdir(parents=True)
        (d / f"file_{n:06d}.txt").write_bytes(b"small file %d\n" % n)


def timed(fn, runs: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def machine() -> str:
    model = "unknown"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / (1 << 30)
    return f"{os.cpu_count()} cores, {model}, {ram:.0f} GiB RAM, Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path)
    ap.add_argument("--big-mib", type=int, default=1024)
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-f2fs-"))
    try:
        tree, image = work / "tree", work / "bench.f2fs"
        if not image.exists():
            shutil.rmtree(tree, ignore_errors=True)
            tree.mkdir(parents=True)
            t0 = time.perf_counter()
            make_tree(tree, args.big_mib, args.files)
            # each inode takes a 4 KiB node block; sload writes every data block
            size_mib = args.big_mib + args.files * 5 // 1024 + 512
            build_image(tree, image, size_mib=size_mib)
            print(f"built {image} ({size_mib} MiB) in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        with open_evidence(image) as ev:
            entry = ev.find("/big.bin")

            def read_only() -> int:
                n = 0
                with ev.open(entry) as f:
                    while chunk := f.read(CHUNK):
                        n += len(chunk)
                return n

            def read_hash() -> str:
                with ev.open(entry) as f:
                    return hashlib.file_digest(f, "sha256").hexdigest()

            t_read, n = timed(read_only, args.runs)
            t_hash, _ = timed(read_hash, args.runs)
            t_list, entries = timed(lambda: list(ev.walk()), args.runs)
        mb = n / 1e6
        listed = len(entries)
        print("## F2FS\n")
        print(
            f"`python bench/bench_f2fs.py --big-mib {args.big_mib} --files {args.files} --runs {args.runs}` "
            f"on {machine()}; raw image, warm page cache, best of {args.runs}, through `open_evidence`.\n"
        )
        print("| what | time | rate |\n|---|---|---|")
        print(
            f"| sequential read of a {args.big_mib} MiB file (8 MiB reads) | {t_read:.2f} s | {mb / t_read:.0f} MB/s |"
        )
        print(f"| same, read + SHA-256 (`hashlib.file_digest`) | {t_hash:.2f} s | {mb / t_hash:.0f} MB/s |")
        print(
            f"| listing of {listed:,} entries (`walk()`, every inode read) | {t_list:.2f} s | "
            f"{listed / t_list:,.0f} entries/s |"
        )
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
