"""A picture whose header claims more pixels than DECODE_MAX_PIXELS is never decoded: not for its perceptual hash
(in the photo workers), not for its thumbnail (the report). A 0.5 MB PNG of 13,000 x 13,000 pixels took those
processes to 0.9 and 1.3 GB; below Pillow's own refusal (179 million pixels) nothing stopped it."""

from __future__ import annotations

import io
import json
import shutil
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

import parsers.media.hints as hints
from tests.bundle_layout import payload
from triage.cli import main
from triage.enrich.thumbnails import shrink

MEDIA = Path(__file__).parents[2] / "fixtures" / "media"


def png_header(width: int, height: int) -> bytes:
    """A PNG that claims width x height RGB pixels and holds a few bytes of them: Pillow opens it from the header
    alone; decoding it would first allocate the whole picture (144 million pixels: 432 MB)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def picture(fmt: str, width: int, height: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buf, fmt)
    return buf.getvalue()


def test_a_picture_past_the_budget_is_refused_before_any_pixel_is_decoded():
    bomb = png_header(12_000, 12_000)
    assert 12_000 * 12_000 < Image.MAX_IMAGE_PIXELS * 2  # Pillow itself would decode it
    found = hints.image_hints(io.BytesIO(bomb))
    assert found == {
        "phash_error": "not decoded: 12000 x 12000 pixels is more than the 64 million a picture is decoded at "
        "(an unusually large picture, or a file made to exhaust memory)",
        "pixel_width": 12_000,
        "pixel_height": 12_000,
    }
    with pytest.raises(hints.TooLargeToDecode, match="12000 x 12000"):
        shrink(bomb)


def test_a_jpeg_counts_the_pixels_it_is_decoded_at(monkeypatch):
    """A JPEG is decoded at a reduced scale (draft): a large camera picture is still hashed and drawn; a PNG of the
    same size, decoded whole, is not."""
    monkeypatch.setattr(hints, "DECODE_MAX_PIXELS", 1_000_000)
    jpeg, png = picture("JPEG", 2000, 1000), picture("PNG", 2000, 1000)
    assert set(hints.image_hints(io.BytesIO(jpeg))) == {"phash", "pixel_width", "pixel_height"}
    assert Image.open(io.BytesIO(shrink(jpeg))).size == (240, 120)
    assert hints.image_hints(io.BytesIO(png))["phash_error"].startswith("not decoded: 2000 x 1000 pixels")
    with pytest.raises(hints.TooLargeToDecode):
        shrink(png)


def test_a_run_lists_the_refused_picture_and_says_why(tmp_path):
    """Through `triage run`: the file is listed with its size, a parse warning and, in the report, the reason it has
    no thumbnail; the picture beside it is hashed and drawn as before."""
    phone = tmp_path / "phone"
    camera = phone / "media/0/DCIM/Camera"
    camera.mkdir(parents=True)
    shutil.copyfile(MEDIA / "ne_dover.jpg", camera / "ne_dover.jpg")
    (camera / "huge.png").write_bytes(png_header(12_000, 12_000))
    out = tmp_path / "out"
    assert main(["run", str(phone), "--out", str(out), "--quiet"]) == 0
    data = payload(out)
    media = {
        m["path"].rsplit("/", 1)[-1]: m
        for m in map(json.loads, (data / "records" / "media_file.jsonl").read_text().splitlines())
    }
    assert media["huge.png"]["extra"]["phash_error"].startswith("not decoded: 12000 x 12000 pixels")
    assert media["huge.png"]["extra"]["pixel_width"] == 12_000 and "phash" in media["ne_dover.jpg"]["extra"]
    warnings = (data / "records" / "parse_warning.jsonl").read_text()
    assert "could not be decoded for a perceptual hash (not decoded: 12000 x 12000 pixels" in warnings
    gallery = "".join(p.read_text() for p in (data / "pages").glob("media-*.html"))
    assert "no thumbnail: not decoded: 12000 x 12000 pixels" in gallery
    assert len(list((data / "thumbs").glob("*.jpg"))) == 1
