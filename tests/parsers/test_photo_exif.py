import json
from pathlib import Path

import pytest

from parsers.media.photo_exif import PhotoExifParser
from tests.parser_context import parse_file
from triage.model.records import Location, MediaFile

THIRD = Path(__file__).parents[2] / "fixtures" / "third_party"
EXPECTED = json.loads((THIRD / "expected_parsers.json").read_text())
PHOTOS = [k for k in EXPECTED if k.startswith("exif-samples/")]


@pytest.mark.parametrize("key", PHOTOS)
def test_gps_matches_exiftool(key, tmp_path, unchanged):
    path = THIRD / key
    unchanged(path)
    exif = EXPECTED[key]["exif"]
    records, warnings = parse_file(PhotoExifParser(), path, tmp_path)
    media = [r for r in records if isinstance(r, MediaFile)]
    locations = [r for r in records if isinstance(r, Location)]
    assert len(media) == 1 and media[0].sha256 == EXPECTED[key]["sha256"]
    if exif["gps_latitude"] is None:
        assert locations == []
        return
    (loc,) = locations
    assert loc.latitude == pytest.approx(exif["gps_latitude"], abs=1e-6)
    assert loc.longitude == pytest.approx(exif["gps_longitude"], abs=1e-6)
    if exif["gps_altitude"] is not None:
        assert loc.altitude_m == pytest.approx(exif["gps_altitude"], abs=0.01)
    assert loc.media_file is media[0]


@pytest.mark.parametrize("key", PHOTOS)
def test_capture_time_and_camera(key, tmp_path):
    exif = EXPECTED[key]["exif"]
    (media, *_), _ = parse_file(PhotoExifParser(), THIRD / key, tmp_path)
    assert media.taken_raw == exif["datetime_original"]
    assert media.make == exif["make"] and media.model == exif["model"]
    assert media.taken_utc is None  # no OffsetTimeOriginal in these files: local time is never guessed as UTC


def test_southern_hemisphere_is_negative(tmp_path):
    records, _ = parse_file(PhotoExifParser(), THIRD / "exif-samples/jpg/Kodak_CX7530.jpg", tmp_path)
    loc = next(r for r in records if isinstance(r, Location))
    assert loc.latitude < 0 < loc.longitude


def test_gps_ifd_without_coordinates_gives_no_location(tmp_path):
    records, _ = parse_file(PhotoExifParser(), THIRD / "exif-samples/jpg/Canon_40D.jpg", tmp_path)
    assert [type(r) for r in records] == [MediaFile] and records[0].extra["gps_status"] == "no coordinates"


def test_garbage_file_is_a_warning(tmp_path):
    bad = tmp_path / "IMG_bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff" + b"\x00" * 20)
    records, warnings = parse_file(PhotoExifParser(), bad, tmp_path)
    assert len(records) == 1 and isinstance(records[0], MediaFile)
    photo = records[0]
    assert photo.extra["exif_tags"] == 0 and photo.extra["gps_status"] == "no GPS"
    assert photo.extra["jpeg_problems"] == ["segment 0xFF00 at offset 21 has impossible length 0"]
    # each problem is said, and the file is kept: the warnings name what could not be read and why
    assert any(
        w.startswith("EXIF could not be read (ReadBudgetExceeded") and w.endswith("file recorded without metadata")
        for w in warnings
    ), warnings
    assert "JPEG image data: segment 0xFF00 at offset 21 has impossible length 0" in warnings
    assert "EXIF structure: IFD0 offset 8 lies outside the 8-byte EXIF block (not read)" in warnings
    assert any("no tag could be read from it" in w for w in warnings), warnings
