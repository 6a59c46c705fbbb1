"""Video positions and creation times from QuickTime/MP4 boxes (files written box by box by the builder)."""

import json
from pathlib import Path

import pytest

from parsers.media.video_metadata import VideoParser, decode_iso8601, parse_iso6709
from tests.parser_context import parse_file
from triage.evidence import FileEntry
from triage.model.records import Location, MediaFile
from triage.model.timeutil import iso

MEDIA = Path(__file__).parents[2] / "fixtures" / "media"
EXPECTED = json.loads((MEDIA / "expected.json").read_text())
VIDEOS = sorted(k for k in EXPECTED if k.lower().endswith((".mp4", ".mov")))


@pytest.mark.parametrize("name", VIDEOS)
def test_video_every_field(name, tmp_path):
    exp = EXPECTED[name]
    records, warnings = parse_file(VideoParser(), MEDIA / name, tmp_path)
    media = [r for r in records if isinstance(r, MediaFile)]
    locations = [r for r in records if isinstance(r, Location)]
    assert len(media) == 1 and media[0].name == name and len(media[0].sha256) == 64
    assert [loc.origin for loc in locations] == exp["origins"]
    if "warning" in exp:
        assert any(exp["warning"] in w for w in warnings)
        return
    assert warnings == []
    m = media[0]
    assert m.mime == exp["mime"]
    assert iso(m.taken_utc) == exp["created_utc"]
    assert (m.taken_raw, m.taken_encoding) == (exp["created_raw"], exp["created_encoding"])
    for field in ("make", "model", "software", "width", "height"):
        assert getattr(m, field) == exp.get(field)
    if "duration_s" in exp:
        assert m.extra["duration_s"] == exp["duration_s"]
    (loc,) = locations
    assert loc.latitude == pytest.approx(exp["lat"], abs=1e-9)
    assert loc.longitude == pytest.approx(exp["lon"], abs=1e-9)
    assert loc.altitude_m == exp["alt"]
    assert loc.accuracy_m == exp.get("accuracy")
    assert iso(loc.time_utc) == exp["created_utc"] and loc.media_file is m
    assert loc.source_offset > 0  # byte offset of the box the position was read from


def test_apple_file_keeps_the_mvhd_time_beside_the_creationdate(tmp_path):
    records, _ = parse_file(VideoParser(), MEDIA / "IMG_0001.MOV", tmp_path)
    assert records[0].extra["mvhd_creation_utc"] == "2024-01-26T10:10:00+00:00"


def test_selects_videos_by_brand_not_heic():
    entry = FileEntry(path="/x.bin", layers=("t",), type="file", size=10, inode=None)
    assert VideoParser().accepts(entry, b"\x00\x00\x00\x18ftypisom")
    assert not VideoParser().accepts(entry, b"\x00\x00\x00\x18ftypheic")


@pytest.mark.parametrize(
    "text,expected",
    [
        ("+51.5074-000.1278/", (51.5074, -0.1278, None)),
        ("-33.8688+151.2093-012.500/", (-33.8688, 151.2093, -12.5)),
        ("+4042.7680-07400.3600/", (40 + 42.768 / 60, -(74 + 0.36 / 60), None)),
        ("+404246.08-0740021.60+010CRSWGS_84/", (40 + 42 / 60 + 46.08 / 3600, -(74 + 21.6 / 3600), 10.0)),
    ],
)
def test_iso6709_forms(text, expected):
    lat, lon, alt = parse_iso6709(text)
    assert (lat, lon) == (pytest.approx(expected[0]), pytest.approx(expected[1])) and alt == expected[2]


@pytest.mark.parametrize("text", ["", "51.5,-0.12", "+91.0000+000.0000/", "+51.5074/"])
def test_iso6709_rejects(text):
    assert parse_iso6709(text) is None


def test_creationdate_without_offset_is_not_converted():
    ts = decode_iso8601("2024-01-26T21:10:00")
    assert ts.utc is None and ts.raw == "2024-01-26T21:10:00"


def test_a_file_of_countless_tiny_boxes_is_read_to_a_bound():
    """Hundreds of millions of 8-byte boxes would be minutes of reading: a level stops at MAX_BOXES_PER_LEVEL, with
    a problem saying where; what came before is kept (the brand)."""
    import io
    import struct

    from parsers.media.video_metadata import MAX_BOXES_PER_LEVEL, read_video_meta

    data = (
        struct.pack(">I4s", 16, b"ftyp") + b"isom\0\0\0\0" + struct.pack(">I4s", 8, b"free") * (MAX_BOXES_PER_LEVEL + 5)
    )
    meta = read_video_meta(io.BytesIO(data), len(data))
    assert meta.brand == b"isom"
    stop = 16 + 8 * (MAX_BOXES_PER_LEVEL - 1)
    assert meta.problems == [
        f"more than 100,000 boxes at one level (from offset 0); the rest of the level, from offset {stop}, not read"
    ]
