#!/usr/bin/env python3
"""Benchmark: list and SHA-256 every file of a 100,000-entry tar.gz in one pass through open_evidence.

    PYTHONPATH=. python bench/bench_targz.py [--entries 100000] [--work /tmp/triage-bench]

Builds the archive once (deterministic content, kept in --work between runs), then measures, each in
its own process so that peak RSS is its own:
- `triage`: open_evidence(archive), walk(), and hashlib.file_digest(open(entry), "sha256") for every
  regular file as it is listed - the pipeline's access pattern (read each file as the listing goes);
- `floor`: Python's tarfile in stream mode ('r|gz') hashing every member: the least a one-pass Python
  reader can do, for comparison.
Prints wall time, CPU time, peak RSS and the entry counts; the results go into bench/RESULTS.md by hand.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import resource
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MTIME = 1748260800


def build(path: Path, entries: int) -> None:
    """`entries` files (100 B - 4 KB, half text-like, half random) in folders of 1000, as an app data tree."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    seed = hashlib.sha256(b"bench").digest()
    with tarfile.open(tmp, "w:gz", compresslevel=6) as tar:
        for i in range(entries):
            seed = hashlib.sha256(seed).digest()
            size = 100 + int.from_bytes(seed[:2], "big") % 3900
            if i % 2:
                data = (seed * (size // 32 + 1))[:size]  # compressible
            else:
                data = b"".join(hashlib.sha256(seed + bytes([k])).digest() for k in range(size // 32 + 1))[:size]
            info = tarfile.TarInfo(f"data/data/com.bench.app{i // 1000:03d}/files/f{i:06d}.bin")
            info.size, info.mtime, info.mode = len(data), MTIME, 0o644
            tar.addfile(info, io.BytesIO(data))
    tmp.rename(path)


def measure_triage(path: Path) -> dict:
    sys.path.insert(0, str(ROOT))
    from triage.evidence import open_evidence

    digest = hashlib.sha256()  # a digest of all per-file digests, to compare with the floor
    listed = files = 0
    start, cpu = time.perf_counter(), time.process_time()
    with open_evidence(path) as ev:
        for entry in ev.walk():
            listed += 1
            if entry.type == "file":
                with ev.open(entry) as f:
                    digest.update(hashlib.file_digest(f, "sha256").digest())
                files += 1
        warnings = len(ev.warnings)
        stream, inflated = ev.gzip.size, ev.gzip.inflated  # inflated == stream: the tar.gz was inflated once
    return _result(
        start,
        cpu,
        listed=listed,
        files=files,
        warnings=warnings,
        tar_stream_bytes=stream,
        inflated_bytes=inflated,
        combined=digest.hexdigest(),
    )


def measure_floor(path: Path) -> dict:
    digest = hashlib.sha256()
    listed = files = 0
    start, cpu = time.perf_counter(), time.process_time()
    with tarfile.open(path, "r|gz") as tar:
        for info in tar:
            listed += 1
            if info.isfile():
                digest.update(hashlib.file_digest(tar.extractfile(info), "sha256").digest())
                files += 1
    return _result(start, cpu, listed=listed, files=files, combined=digest.hexdigest())


def _result(start: float, cpu: float, **values) -> dict:
    return {
        "wall_s": round(time.perf_counter() - start, 2),
        "cpu_s": round(time.process_time() - cpu, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        **values,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/triage-bench"))
    parser.add_argument("--measure", choices=("triage", "floor"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    archive = args.work / f"targz-{args.entries}.tar.gz"
    if args.measure:
        result = (measure_triage if args.measure == "triage" else measure_floor)(archive)
        print(json.dumps(result))
        return
    if not archive.exists():
        t = time.perf_counter()
        build(archive, args.entries)
        print(f"built {archive} ({archive.stat().st_size} bytes) in {time.perf_counter() - t:.1f} s")
    print(f"archive: {archive} ({archive.stat().st_size} bytes, {args.entries} files)")
    results = {}
    for what in ("triage", "floor"):
        out = subprocess.run(
            [sys.executable, __file__, "--entries", str(args.entries), "--work", str(args.work), "--measure", what],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        results[what] = json.loads(out)
        print(what, results[what])
    same = results["triage"]["combined"] == results["floor"]["combined"]
    print(f"per-file SHA-256 identical to tarfile's: {same}")


if __name__ == "__main__":
    main()
