"""Photo EXIF that exifread misses or misreads (issue 18, coverage): our own built files, real parse runs."""

from __future__ import annotations

import io
from pathlib import Path

import exifread
import pytest

from fixtures.build_exif_cases import (
    RIO,
    SHANGHAI,
    TWOS_COMPLEMENT_MINUS_12,
    app7_segment,
    gps_exif,
    huawei_app7_jpeg,
    jpeg_with_exif,
    webp_with_exif,
)
from parsers.media.photo_exif import PhotoExifParser
from tests.parser_context import parse_file
from triage.model.records import Location, MediaFile

UNREADABLE = (
    "the file carries an EXIF segment but no tag could be read from it (corrupt or truncated metadata); "
    "recorded without capture time or position"
)


def parse_bytes(data: bytes, name: str, tmp_path: Path) -> tuple[MediaFile, list[Location], list[str]]:
    path = tmp_path / name
    path.write_bytes(data)
    records, warnings = parse_file(PhotoExifParser(), path, tmp_path / "work")
    (media,) = [r for r in records if isinstance(r, MediaFile)]
    return media, [r for r in records if isinstance(r, Location)], warnings


def exifread_alone(data: bytes) -> dict:
    return exifread.process_file(io.BytesIO(data), details=False)


def test_huawei_app7_before_app1_gives_its_gps(tmp_path: Path) -> None:
    data = huawei_app7_jpeg(gps_exif(*SHANGHAI))
    assert data[2:4] == b"\xff\xe7" and exifread_alone(data) == {}  # the miss: exifread stops in silence
    media, (loc,), warnings = parse_bytes(data, "IMG_20240309_140531.jpg", tmp_path)
    assert loc.latitude == pytest.approx(SHANGHAI[0], abs=1e-6)
    assert loc.longitude == pytest.approx(SHANGHAI[1], abs=1e-6)
    assert loc.altitude_m is None and loc.media_file is media
    assert media.make == "HUAWEI" and media.model == "ELE-L29" and media.taken_raw.startswith("2024:03:09 14:05:31")
    assert media.extra["exif_reader"].startswith("the JPEG APP1 Exif segment located by our own walk")
    assert warnings == []


def test_unreadable_exif_behind_app7_is_a_warning(tmp_path: Path) -> None:
    # APP7 first (so the header holds no "Exif"), then an APP1 Exif segment whose TIFF block is garbage
    damaged = b"Exif\x00\x00" + b"XX" + bytes(30)
    app1 = b"\xff\xe1" + (2 + len(damaged)).to_bytes(2, "big") + damaged
    jpeg = jpeg_with_exif(gps_exif(*SHANGHAI))
    plain = jpeg[:2] + jpeg[2 + 2 + int.from_bytes(jpeg[4:6], "big") :]  # Pillow's APP1 taken out
    data = plain[:2] + app7_segment() + app1 + plain[2:]
    assert b"Exif" not in data[:64]
    media, locations, warnings = parse_bytes(data, "damaged.jpg", tmp_path)
    assert locations == [] and media.extra["gps_status"] == "no GPS"
    assert UNREADABLE in warnings


@pytest.mark.parametrize("prefixed", [False, True], ids=["bare TIFF", "Exif00 prefix"])
def test_webp_exif_chunk_gives_its_gps(prefixed: bool, tmp_path: Path) -> None:
    data = webp_with_exif(gps_exif(*RIO), prefixed=prefixed)
    assert b"EXIF" in data and exifread_alone(data) == {}  # the miss
    media, (loc,), warnings = parse_bytes(data, "photo.webp", tmp_path)
    assert loc.latitude == pytest.approx(RIO[0], abs=1e-6)  # S and W from the references
    assert loc.longitude == pytest.approx(RIO[1], abs=1e-6)
    assert media.mime == "image/webp" and media.make == "HUAWEI"
    assert media.extra["exif_reader"].startswith("the WebP 'EXIF' chunk located by our own walk")
    assert warnings == []


def test_webp_with_a_damaged_exif_chunk_is_a_warning(tmp_path: Path) -> None:
    data = webp_with_exif(b"II*\x00" + b"\xff" * 40)  # a TIFF header whose first IFD lies far outside
    media, locations, warnings = parse_bytes(data, "damaged.webp", tmp_path)
    assert locations == [] and media.extra["exif_tags"] == 0
    assert UNREADABLE in warnings


def test_altitude_stored_as_unsigned_twos_complement_is_kept_raw_and_flagged(tmp_path: Path) -> None:
    data = jpeg_with_exif(gps_exif(*SHANGHAI, (TWOS_COMPLEMENT_MINUS_12, 1)))
    media, (loc,), warnings = parse_bytes(data, "IMG_alt.jpg", tmp_path)
    assert loc.latitude == pytest.approx(SHANGHAI[0], abs=1e-6)
    assert loc.longitude == pytest.approx(SHANGHAI[1], abs=1e-6)
    assert loc.altitude_m is None  # neither 4,294,967,284 m nor a guessed -12 m is reported as fact
    assert loc.extra["altitude_raw"] == "4294967284/1"
    assert loc.extra["altitude_ref_raw"] == "0"
    assert loc.extra["altitude_problem"] == "out of range: 4,294,967,284.0 m is outside -500 to 20,000 m"
    assert loc.extra["altitude_signed_reading"] == -12.0
    assert warnings == [
        "GPS position kept, but its altitude (4294967284/1) is out of range: 4,294,967,284.0 m is outside "
        "-500 to 20,000 m; read as a signed 32-bit number it would be -12.0 m (not used); no altitude"
    ]


@pytest.mark.parametrize("altitude,ref,expected", [((12, 1), 1, -12.0), ((8848, 1), 0, 8848.0), ((500, 1), 1, -500.0)])
def test_plausible_altitudes_are_reported(altitude, ref, expected, tmp_path: Path) -> None:
    data = jpeg_with_exif(gps_exif(*SHANGHAI, altitude, ref))
    _, (loc,), warnings = parse_bytes(data, "IMG_ok.jpg", tmp_path)
    assert loc.altitude_m == expected and "altitude_raw" not in loc.extra
    assert warnings == []
