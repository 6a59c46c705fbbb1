"""Photo GPS, capture time and camera fields: real camera/phone photos (exiftool values) and built ones."""

import json
import os
from pathlib import Path

import pytest

from parsers.media.photo_exif import PhotoExifParser
from tests.parser_context import parse_file
from triage.model.records import Location, MediaFile

ROOT = Path(__file__).parents[2]
THIRD = ROOT / "fixtures" / "third_party"
MEDIA = ROOT / "fixtures" / "media"
EXPECTED_THIRD = {
    **json.loads((THIRD / "expected_parsers.json").read_text()),
    **json.loads((THIRD / "expected_media.json").read_text()),
}
PHOTOS = sorted(k for k in EXPECTED_THIRD if k.startswith("exif-samples/"))
BUILT = json.loads((MEDIA / "expected.json").read_text())
CORPUS = Path(os.environ.get("TRIAGE_CORPUS", ROOT.parent / "shared" / "corpus"))


def split(records):
    return ([r for r in records if isinstance(r, MediaFile)], [r for r in records if isinstance(r, Location)])


def check_against_exiftool(path: Path, expected: dict, tmp_path: Path) -> None:
    exif = expected["exif"]
    records, warnings = parse_file(PhotoExifParser(), path, tmp_path)
    (media,), locations = split(records)
    assert media.sha256 == expected["sha256"] and media.size == expected["size"]
    assert media.make == exif["make"] and media.model == exif["model"]
    if exif["datetime_original"] is not None:
        assert media.taken_raw.split(" +")[0].split(" -")[0] == exif["datetime_original"]
        assert media.extra["taken_source"] == "DateTimeOriginal"
    if exif["offset_time_original"] is not None:  # an offset is known: the UTC instant is computed
        assert media.taken_encoding == "exif_offset" and media.taken_utc is not None
    else:
        assert media.taken_utc is None or media.taken_encoding == "exif_offset"
    if exif["gps_status"] != "gps_valid":
        assert locations == []
        return
    (loc,) = locations
    assert loc.latitude == pytest.approx(exif["gps_latitude"], abs=1e-6)
    assert loc.longitude == pytest.approx(exif["gps_longitude"], abs=1e-6)
    if exif["gps_altitude"] is None:
        assert loc.altitude_m is None
    else:
        assert loc.altitude_m == pytest.approx(exif["gps_altitude"], abs=0.01)
    accuracy = exif["gps_tags_G1"].get("GPS:GPSHPositioningError")
    assert loc.accuracy_m == (pytest.approx(accuracy, abs=1e-6) if accuracy is not None else None)
    assert loc.media_file is media and loc.origin == "photo EXIF GPS"


@pytest.mark.parametrize("key", PHOTOS)
def test_committed_photos_match_exiftool(key, tmp_path, unchanged):
    unchanged(THIRD / key)
    check_against_exiftool(THIRD / key, EXPECTED_THIRD[key], tmp_path)


CORPUS_PHOTOS = []
if (CORPUS / "expected.json").is_file():
    _all = json.loads((CORPUS / "expected.json").read_text())
    CORPUS_PHOTOS = [(k, v) for k, v in sorted(_all.items()) if v.get("kind") == "photo"]


@pytest.mark.skipif(not CORPUS_PHOTOS, reason="shared corpus not present (set TRIAGE_CORPUS)")
@pytest.mark.parametrize("key,expected", CORPUS_PHOTOS, ids=[k for k, _ in CORPUS_PHOTOS])
def test_whole_exif_corpus_matches_exiftool(key, expected, tmp_path):
    check_against_exiftool(CORPUS / key, expected, tmp_path)


def test_corrupted_jpeg_is_a_warning_not_a_crash(tmp_path):
    records, warnings = parse_file(PhotoExifParser(), THIRD / "exif-samples/jpg/corrupted.jpg", tmp_path)
    (media,), locations = split(records)
    assert locations == []
    assert warnings == [
        "JPEG image data: invalid marker 0xFF9F inside the image data at offset 229375 (image data damaged)"
    ]
    assert media.make == "OLYMPUS IMAGING CORP." and media.extra["jpeg_problems"]


def test_heic_from_nokia_reads_gps_time_and_names_the_fallback_time(tmp_path):
    key = "exif-samples/heic/mobile/HMD_Nokia_8.3_5G_hdr.heif"
    records, _ = parse_file(PhotoExifParser(), THIRD / key, tmp_path)
    (media,), (loc,) = split(records)
    assert media.mime == "image/heic" and (media.width, media.height) == (4608, 3456)
    # no DateTimeOriginal: IFD0 DateTime is used and named as such; its time is local, never guessed as UTC
    assert media.taken_raw == "2022:01:12 07:30:14" and media.taken_utc is None
    assert media.extra["taken_source"] == "DateTime (IFD0; no DateTimeOriginal)"
    assert loc.time_encoding == "exif_gps_utc" and loc.time_utc.isoformat() == "2022-01-12T07:30:14+00:00"


def test_iphone_heic_offset_gives_utc(tmp_path):
    records, _ = parse_file(PhotoExifParser(), THIRD / "exif-samples/heic/IMG_5195.HEIC", tmp_path)
    (media,), (loc,) = split(records)
    assert media.taken_raw == "2021:04:11 15:47:53 -05:00" and media.taken_encoding == "exif_offset"
    assert media.taken_utc.isoformat() == "2021-04-11T20:47:53+00:00"
    assert loc.time_utc == media.taken_utc and loc.extra["time_source"] == "capture time"
    assert loc.accuracy_m == pytest.approx(38.81300435, abs=1e-6)


BUILT_PHOTOS = sorted(k for k, v in BUILT.items() if k.endswith((".jpg", ".heic", ".png")))


@pytest.mark.parametrize("name", BUILT_PHOTOS)
def test_built_photos_every_field(name, tmp_path):
    exp = BUILT[name]
    records, warnings = parse_file(PhotoExifParser(), MEDIA / name, tmp_path)
    (media,), locations = split(records)
    assert media.name == name and media.path == f"/{name}"
    assert media.mime == {"jpg": "image/jpeg", "heic": "image/heic", "png": "image/png"}[name.rsplit(".", 1)[1]]
    assert len(media.sha256) == 64 and len(media.extra["phash"]) == 16
    if "gps_status" in exp:
        assert locations == [] and media.extra["gps_status"] == exp["gps_status"]
        assert warnings == [f"GPS present but unusable: {exp['gps_status']}"]
        return
    if exp["lat"] is None:
        assert locations == []
        return
    assert warnings == []
    assert (media.make, media.model, media.width, media.height) == (
        exp["make"],
        exp["model"],
        exp["width"],
        exp["height"],
    )
    (loc,) = locations
    assert loc.latitude == pytest.approx(exp["lat"], abs=1e-6)
    assert loc.longitude == pytest.approx(exp["lon"], abs=1e-6)
    assert loc.altitude_m == pytest.approx(exp["alt"], abs=0.01)
    assert loc.accuracy_m == (pytest.approx(exp["accuracy"]) if exp.get("accuracy") else None)
    if exp["offset"]:
        assert media.taken_raw == f"{exp['taken']} {exp['offset']}" and media.taken_encoding == "exif_offset"
        assert media.taken_utc is not None
    else:
        assert media.taken_raw == exp["taken"] and media.taken_encoding == "exif_local" and media.taken_utc is None
    if exp.get("gps_time"):
        assert loc.time_raw == exp["gps_time"] and loc.time_encoding == "exif_gps_utc"
    else:
        assert loc.time_raw == media.taken_raw and loc.extra["time_source"] == "capture time"


def test_hemispheres_and_below_sea_level_signs(tmp_path):
    signs = {}
    for name in (
        "ne_dover.jpg",
        "nw_newyork.jpg",
        "se_sydney.jpg",
        "sw_rio.jpg",
        "below_sea_deadsea.jpg",
        "sw_heic.heic",
        "below_sea_heic.heic",
    ):
        _, (loc,) = split(parse_file(PhotoExifParser(), MEDIA / name, tmp_path)[0])
        signs[name] = (loc.latitude > 0, loc.longitude > 0, (loc.altitude_m or 0) >= 0)
    assert signs == {
        "ne_dover.jpg": (True, True, True),
        "nw_newyork.jpg": (True, False, True),
        "se_sydney.jpg": (False, True, True),
        "sw_rio.jpg": (False, False, True),
        "below_sea_deadsea.jpg": (True, True, False),
        "sw_heic.heic": (False, False, True),
        "below_sea_heic.heic": (False, False, False),
    }


def test_libheif_written_heic_is_read_through_the_fallback(tmp_path):
    (media,), _ = split(parse_file(PhotoExifParser(), MEDIA / "sw_heic.heic", tmp_path)[0])
    assert media.extra["exif_reader"].startswith("libheif Exif item")
