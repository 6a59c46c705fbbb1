"""One phone through the lab's queue with its photos' work kept on the device's worker or spread over both.

    .venv/bin/python bench/lab_media.py [--messages 20000] [--photos 2000] [--chunk 250] [--repeat 2]
        [--pin] [--photo-side PX] [--work DIR]

Generates the benchmark phone once (fixtures/build_large_phone.py), starts throwaway PostgreSQL and Redis
(triage/lab/services.py) and two `triage worker` processes, and times submit → job finished for one
device, alternately with $TRIAGE_LAB_MEDIA_CHUNK_FILES=0 (media work in the device's worker, as `triage
run` does it) and =--chunk (chunks any worker takes, triage/lab/media.py). `--pin` puts each worker on a
core of its own (sched_setaffinity): two one-core machines, so the device's worker has no local pool and
only the other worker can take its photos off it. `--photo-side` redraws the phone's photos at that width
(4:3, noise, the same EXIF and GPS): the builder's 64×48 pictures cost little to decode, a camera's do.
Prints a markdown row per mode: the device's wall time and its parsing stage (custody log: "files
selected for parsing" → "parsing finished", where the photos are done).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import time
import zipfile
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.lab_throughput import wait_ready  # noqa: E402
from fixtures.build_large_phone import build_large_phone  # noqa: E402
from triage.lab.demo import start_worker, stop_worker, wait_for  # noqa: E402
from triage.lab.services import lab_services  # noqa: E402
from triage.lab.submit import submit  # noqa: E402


def main() -> None:
    args = parse_args()
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="lab-media-"))
    work.mkdir(parents=True, exist_ok=True)
    work.chmod(0o755)  # PostgreSQL's own account must reach its data folder when run as root
    phone = work / "phone"
    if not phone.exists():
        build_large_phone(phone, messages=args.messages, photos=args.photos)
        if args.photo_side:
            redraw_photos(phone, args.photo_side)
    print(
        f"benchmark phone: {args.messages:,} SMS, {args.photos} photos; {os.cpu_count()} cores; workers "
        f"{'pinned to one core each' if args.pin else 'not pinned'}; load before: {os.getloadavg()[0]:.1f}"
    )
    modes = {"kept on the device's worker": 0, f"spread, {args.chunk} files a chunk": args.chunk}
    times: dict[str, list[tuple[float, float]]] = {mode: [] for mode in modes}
    for n in range(args.repeat):
        for mode, chunk in modes.items():
            times[mode].append(timed_device(phone, work / f"{n}-{chunk}", chunk, args.pin))
            wall, parsing = times[mode][-1]
            print(f"  run {n + 1}, {mode}: {wall:.1f} s, parsing {parsing:.1f} s (load {os.getloadavg()[0]:.1f})")
    print("\n| media work | runs | device, wall (median) | parsing stage (median) |\n|---|---|---|---|")
    for mode, runs in times.items():
        wall = statistics.median(w for w, _ in runs)
        parsing = statistics.median(p for _, p in runs)
        print(f"| {mode} | {len(runs)} | {wall:.1f} s | {parsing:.1f} s |")


def redraw_photos(phone: Path, side: int) -> None:
    from PIL import Image

    for path in sorted((phone / "media").rglob("*.jpg")):
        with Image.open(path) as small:
            exif = small.info.get("exif", b"")
            tint = small.getpixel((0, 0))
        size = (side, side * 3 // 4)
        noise = Image.effect_noise((side // 16, side * 3 // 64), 60).convert("RGB").resize(size, Image.BICUBIC)
        picture = Image.blend(noise, Image.new("RGB", size, tint), 0.5)  # smooth: a photo's size, not noise's
        buf = io.BytesIO()
        picture.save(buf, "JPEG", quality=85, exif=exif)
        path.write_bytes(buf.getvalue())


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--messages", type=int, default=20_000)
    p.add_argument("--photos", type=int, default=2000)
    p.add_argument("--chunk", type=int, default=250)
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--pin", action="store_true", help="each worker on one core of its own")
    p.add_argument("--photo-side", type=int, default=0, help="redraw the photos this wide (0: as built)")
    p.add_argument("--work", default=None, help="scratch folder (default: a new temp folder)")
    return p.parse_args()


def timed_device(phone: Path, folder: Path, chunk: int, pin: bool) -> tuple[float, float]:
    """The device's wall time (submit → finished) and its parsing stage's, in seconds."""
    folder.mkdir()
    env = {"TRIAGE_LAB_MEDIA_CHUNK_FILES": str(chunk)}  # start_worker adds the environment
    with lab_services(folder / "services") as (postgres, redis):
        logs = [folder / f"worker{n}.log" for n in range(2)]
        workers = [start_worker(redis.url, log, env, n if pin else None) for n, log in enumerate(logs)]
        try:
            wait_ready(logs)
            start = time.perf_counter()
            job = submit(phone, "BENCH", "EXH-MEDIA", "bench", postgres.url, folder / "bundles", redis.url).job_id
            row = wait_for(postgres.url, [job], seconds=24 * 3600)[0]
            wall = time.perf_counter() - start
        finally:
            for worker in workers:
                stop_worker(worker)
    if row["state"] != "finished":
        raise SystemExit(f"device failed: {row['error']}; see {folder}/worker*.log")
    return wall, parsing_seconds(Path(row["bundle"]))


def parsing_seconds(bundle: Path) -> float:
    with zipfile.ZipFile(bundle) as z:
        name = next(n for n in z.namelist() if n.endswith("custody.jsonl"))
        entries = [json.loads(line) for line in z.read(name).decode().splitlines()]
    at = {e["action"]: datetime.fromisoformat(e["time_utc"].replace("Z", "+00:00")) for e in entries}
    return (at["parsing finished"] - at["files selected for parsing"]).total_seconds()


if __name__ == "__main__":
    main()
