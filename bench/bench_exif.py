"""Benchmark: photo parsing (EXIF + GPS + JPEG check + pHash + SHA-256) on N photos inside an ext4 image.

Builds N small camera-like JPEGs (each with its own GPS position and capture time) under a DCIM
folder in a scratch directory, packs them into an ext4 image with `mkfs.ext4 -d` (nothing is
committed), then parses every photo through the evidence reader (The Sleuth Kit) and the photo
parser: once sequentially (ParseRunner.parse, one file after another) and once with the per-file
work in worker processes (triage.parsing.parallel.parse_in_order). Both runs must give the same records.

    python bench/bench_exif.py [--count 20000] [--scratch /tmp/bench-exif] [--workers N]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import piexif  # noqa: E402
from PIL import Image  # noqa: E402

from parsers.media.photo_exif import PhotoExifParser  # noqa: E402
from triage.evidence import open_evidence  # noqa: E402
from triage.parsing import ParseRunner  # noqa: E402
from triage.parsing.parallel import default_workers, parse_in_order  # noqa: E402


def make_photos(folder: Path, count: int) -> int:
    """N JPEGs of 320x240 with EXIF make/model/time and a GPS fix; returns total bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    base = [Image.new("RGB", (320, 240), ((k * 40) % 256, (k * 90) % 256, (k * 150) % 256)) for k in range(16)]
    total = 0
    for i in range(count):
        lat, lon = 50.0 + (i % 1000) / 1000, 1.0 + (i // 1000) / 100
        gps = {
            piexif.GPSIFD.GPSLatitudeRef: b"N",
            piexif.GPSIFD.GPSLatitude: deg(lat),
            piexif.GPSIFD.GPSLongitudeRef: b"E",
            piexif.GPSIFD.GPSLongitude: deg(lon),
            piexif.GPSIFD.GPSAltitudeRef: 0,
            piexif.GPSIFD.GPSAltitude: (i % 300, 1),
        }
        exif = piexif.dump(
            {
                "0th": {piexif.ImageIFD.Make: b"samsung", piexif.ImageIFD.Model: b"SM-A536B"},
                "Exif": {piexif.ExifIFD.DateTimeOriginal: f"2024:08:{1 + i % 28:02d} 10:00:00".encode()},
                "GPS": gps,
                "1st": {},
                "thumbnail": None,
            }
        )
        buf = io.BytesIO()
        base[i % len(base)].save(buf, "JPEG", quality=80, exif=exif)
        data = buf.getvalue()
        (folder / f"IMG_{i:06d}.jpg").write_bytes(data)
        total += len(data)
    return total


def deg(value: float) -> list[tuple[int, int]]:
    d = int(value)
    m = int((value - d) * 60)
    s = round((value - d - m / 60) * 3600 * 1000)
    return [(d, 1), (m, 1), (s, 1000)]


def build_image(tree: Path, image: Path, data_bytes: int) -> None:
    size_mb = max(64, int(data_bytes * 1.6 / 2**20) + 64)  # room for inodes and directory blocks
    image.unlink(missing_ok=True)
    subprocess.run(
        [
            "mkfs.ext4",
            "-q",
            "-F",
            "-N",
            str(len(list(tree.rglob("*"))) + 1024),
            "-d",
            str(tree),
            str(image),
            f"{size_mb}M",
        ],
        check=True,
    )


def run_parse(image: Path, scratch: Path, workers: int | None) -> dict:
    records: list[tuple] = []
    warnings: list[str] = []
    with open_evidence(image) as evidence:
        runner = ParseRunner(
            evidence,
            scratch,
            on_source=lambda s: None,
            on_record=lambda r, s: records.append(_key(r)),
            on_warning=lambda *a: warnings.append(a[3]),
            parsers=[PhotoExifParser()],
        )
        t0 = time.perf_counter()
        candidates = runner.select()
        t1 = time.perf_counter()
        if workers is None:
            for cand in candidates:
                runner.parse(cand)
        else:
            parse_in_order(runner, candidates, workers=workers)
        t2 = time.perf_counter()
    return {
        "files": len(candidates),
        "records": len(records),
        "warnings": len(warnings),
        "list_s": round(t1 - t0, 2),
        "parse_s": round(t2 - t1, 2),
        "files_per_s": round(len(candidates) / (t2 - t1), 1),
        "_records": records,
    }


def _key(record) -> tuple:
    return (
        type(record).__name__,
        getattr(record, "path", None),
        getattr(record, "latitude", None),
        getattr(record, "sha256", None),
        (getattr(record, "extra", None) or {}).get("phash"),
    )


def machine() -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem = next(
        (line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")), "?"
    )
    return {
        "cpu": cpu,
        "cores_usable": default_workers(),
        "mem_gib": round(int(mem) / 2**20, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=20000)
    ap.add_argument("--scratch", type=Path, default=Path("/tmp/bench-exif"))
    ap.add_argument("--workers", type=int, default=max(1, default_workers() - 1))
    args = ap.parse_args()
    tree, image, work = args.scratch / "tree", args.scratch / "photos.ext4", args.scratch / "work"
    shutil.rmtree(args.scratch, ignore_errors=True)
    work.mkdir(parents=True)
    t0 = time.perf_counter()
    data_bytes = make_photos(tree / "media" / "0" / "DCIM" / "Camera", args.count)
    build_image(tree, image, data_bytes)
    built_s = time.perf_counter() - t0
    sequential = run_parse(image, work, None)
    parallel = run_parse(image, work, args.workers)
    same = sequential.pop("_records") == parallel.pop("_records")
    print(
        json.dumps(
            {
                "machine": machine(),
                "photos": args.count,
                "photo_bytes": data_bytes,
                "image_bytes": image.stat().st_size,
                "build_s": round(built_s, 1),
                "sequential": sequential,
                "parallel": {"workers": args.workers, **parallel},
                "speedup": round(sequential["parse_s"] / parallel["parse_s"], 2),
                "identical_records": same,
            },
            indent=1,
        )
    )
    if os.environ.get("BENCH_KEEP") != "1":
        shutil.rmtree(args.scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
