"""A file that crashes an image decoder costs that file's decoding, never the run (triage/parsing/worker_deaths.py).

Pillow's and libheif's decoders are C code reading whatever bytes the evidence holds; a file made to crash one kills
the process decoding it. The decoder's crash is stood in for here by a `sitecustomize` module given to `triage run`
(and so to every Python process it starts: its fork server and workers) through PYTHONPATH: it makes PIL.Image.open
kill its own process with SIGSEGV when the bytes it is given hold a marker. Nothing of the project is replaced: the
run, its pools and its report are the real ones, and the death is a real one. Before, the photo worker died, the run
parsed the files it had in its own process, met the same decoder on the same bytes, and died (no report, no bundle).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PIL import Image

from tests.bundle_layout import payload

ROOT = Path(__file__).resolve().parents[2]
DOVER = ROOT / "fixtures" / "media" / "ne_dover.jpg"  # EXIF with a GPS position near Dover
MARK = b"mobile-triage test: this decoder crashes here"

CRASHING_DECODER = textwrap.dedent(
    f"""
    import os, signal
    from PIL import Image

    _open = Image.open

    def _open_or_crash(fp, *args, **kwargs):
        if hasattr(fp, "read"):
            at = fp.tell()
            data = fp.read()
            fp.seek(at)
            if {MARK!r} in data:
                os.kill(os.getpid(), signal.SIGSEGV)
        return _open(fp, *args, **kwargs)

    Image.open = _open_or_crash
    """
)


def with_comment(jpeg: bytes, comment: bytes) -> bytes:
    """The JPEG with a COM segment holding `comment` after its APP segments (JFIF, EXIF): still a valid JPEG, its
    EXIF intact."""
    end = 2
    while jpeg[end : end + 1] == b"\xff" and 0xE0 <= jpeg[end + 1] <= 0xEF:
        end += 2 + struct.unpack(">H", jpeg[end + 2 : end + 4])[0]
    return jpeg[:end] + b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment + jpeg[end:]


def small_jpeg(n: int) -> bytes:
    """A distinct 32 x 24 picture (its own SHA-256 and thumbnail): n's bits as black and white 8 x 8 blocks."""
    image = Image.new("RGB", (32, 24))
    for bit in range(12):
        if n >> bit & 1:
            image.paste((255, 255, 255), (bit % 4 * 8, bit // 4 * 8, bit % 4 * 8 + 8, bit // 4 * 8 + 8))
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=90)
    return buf.getvalue()


@pytest.mark.parametrize("photos", [300, 3])
def test_a_photo_that_crashes_the_decoder_costs_its_decoding_not_the_run(tmp_path, photos):
    """300 photos: the crasher is in the second of three batches, given alone after its worker dies while the third
    batch goes to a new pool; 3 photos: a small phone's photos are decoded in a worker too."""
    camera = tmp_path / "phone" / "media" / "0" / "DCIM" / "Camera"
    camera.mkdir(parents=True)
    for n in range(photos):
        (camera / f"IMG_{n:04d}.jpg").write_bytes(small_jpeg(n))
    crasher = with_comment(DOVER.read_bytes(), MARK)
    (camera / f"IMG_{photos // 2:04d}_crash.jpg").write_bytes(crasher)
    inject = tmp_path / "inject"
    inject.mkdir()
    (inject / "sitecustomize.py").write_text(CRASHING_DECODER)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(inject), str(ROOT)])}
    opened = [sys.executable, "-c", f"import io; from PIL import Image; Image.open(io.BytesIO({MARK!r}))"]
    assert subprocess.run(opened, env=env).returncode == -signal.SIGSEGV  # the stand-in crashes as a decoder would
    done = subprocess.run(
        [sys.executable, "-m", "triage.cli", "run", str(tmp_path / "phone"), "--out", str(out), "--quiet"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    data = payload(out)
    media = {r["name"]: r for r in map(json.loads, (data / "records" / "media_file.jsonl").open())}
    assert len(media) == photos + 1
    crashed = media[f"IMG_{photos // 2:04d}_crash.jpg"]
    # hashed and its EXIF read (Python code, in the run's process); not decoded again, and why
    assert crashed["sha256"] == hashlib.sha256(crasher).hexdigest()
    assert crashed["make"] is not None and "phash" not in crashed["extra"]
    why = crashed["extra"]["phash_error"]
    assert "killed by signal SIGSEGV" in why and "also when given it alone" in why
    positions = [json.loads(line) for line in (data / "records" / "location.jsonl").open()]
    assert [p["media_file_id"] for p in positions] == [crashed["id"]]
    assert round(positions[0]["latitude"], 6) == 51.127901  # the position near Dover, read from its EXIF
    # every other photo decoded in a worker as usual
    assert all("phash" in m["extra"] for m in media.values() if m is not crashed)
    warnings = [w["message"] for w in map(json.loads, (data / "records" / "parse_warning.jsonl").open())]
    assert any("SIGSEGV" in w and "perceptual hash" in w for w in warnings)
    assert any("given to a worker again one at a time; 1 of them stopped that worker too" in w for w in warnings)
    # the thumbnails: every other photo drawn; the crasher listed without a picture, saying why
    thumbs = sorted((data / "thumbs").iterdir())
    assert len(thumbs) == photos
    assert f"{crashed['sha256']}.jpg" not in {t.name for t in thumbs}
    pages = "".join(p.read_text(encoding="utf-8") for p in (data / "pages").glob("*.html"))
    assert "no thumbnail: the process decoding this picture died (killed by signal SIGSEGV)" in pages
    verified = subprocess.run(
        [sys.executable, "-m", "triage.cli", "verify", str(out)], cwd=ROOT, capture_output=True, text=True
    )
    assert "INTACT" in verified.stdout, verified.stdout + verified.stderr
