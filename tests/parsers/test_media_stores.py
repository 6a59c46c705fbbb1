"""Photo-location databases: iOS Photos.sqlite (ZASSET / ZGENERICASSET), Android MediaStore, Samsung,
Google Photos — built with their real table layouts by fixtures/build_media.py."""

import json
from pathlib import Path

import pytest

from parsers.media.stores import AndroidMediaStoreParser, GooglePhotosParser, IosPhotosParser
from tests.parser_context import parse_file
from triage.model.timeutil import iso

MEDIA = Path(__file__).parents[2] / "fixtures" / "media"
EXPECTED = json.loads((MEDIA / "expected.json").read_text())
IOS_PATH = "/private/var/mobile/Media/PhotoData/Photos.sqlite"


@pytest.mark.parametrize(
    "name,table,with_accuracy", [("Photos.sqlite", "ZASSET", True), ("Photos-ios13.sqlite", "ZGENERICASSET", False)]
)
def test_ios_photos(name, table, with_accuracy, tmp_path, unchanged):
    unchanged(MEDIA / name)
    records, warnings = parse_file(IosPhotosParser(), MEDIA / name, tmp_path, IOS_PATH)
    assert warnings == []
    assets = {a[0]: a for a in EXPECTED["Photos.sqlite"]["assets"]}
    # -180.0 (asset 4) means no location; every other asset is kept, southern and western ones too
    assert [r.source_row for r in records] == ["1", "2", "3", "5"]
    for loc in records:
        pk, directory, fname, created, lat, lon, accuracy = assets[int(loc.source_row)]
        assert loc.origin == f"iOS Photos.sqlite {table}" and loc.source_table == table
        assert (loc.latitude, loc.longitude) == (lat, lon)
        assert loc.label == f"{directory}/{fname}" and loc.extra["path"] == loc.label
        assert loc.time_encoding == "cocoa_s" and loc.time_raw == created - 978307200
        assert loc.time_utc.timestamp() == created
        expected_accuracy = accuracy if with_accuracy and accuracy is not None and accuracy >= 0 else None
        assert loc.accuracy_m == expected_accuracy  # -1 = unknown


def test_ios_photos_signs_kept(tmp_path):
    records, _ = parse_file(IosPhotosParser(), MEDIA / "Photos.sqlite", tmp_path, IOS_PATH)
    assert sorted((r.latitude > 0, r.longitude > 0) for r in records) == [
        (False, False),
        (False, True),
        (True, False),
        (True, True),
    ]


@pytest.mark.parametrize(
    "name,device_path,origin",
    [
        (
            "external.db",
            "/data/data/com.android.providers.media/databases/external.db",
            "Android MediaStore external.db",
        ),
        ("media.db", "/data/data/com.samsung.android.providers.media/databases/media.db", "Samsung media.db"),
    ],
)
def test_android_media_store(name, device_path, origin, tmp_path):
    records, warnings = parse_file(AndroidMediaStoreParser(), MEDIA / name, tmp_path, device_path)
    assert warnings == ["1 row(s) with 0/0 or out-of-range coordinates skipped (placeholders, not positions)"]
    rows = {r[0]: r for r in EXPECTED["external.db"]["rows"]}
    assert [r.source_row for r in records] == ["1", "2", "3"]
    for loc in records:
        rid, path, taken, added, lat, lon = rows[int(loc.source_row)]
        assert loc.origin == origin and loc.source_table == "files"
        assert (loc.latitude, loc.longitude, loc.label, loc.extra["path"]) == (lat, lon, path, path)
        if taken:
            assert (loc.time_raw, loc.time_encoding) == (taken, "unix_ms")
            assert loc.time_utc.timestamp() * 1000 == taken
        else:  # no datetaken: the indexing time, in seconds, named as such
            assert (loc.time_raw, loc.time_encoding) == (added, "unix_s")
    if name == "media.db":
        assert records[0].extra["addr"] == "|place 1|"
        assert records[0].extra["captured_app"] == "com.sec.android.app.camera"


def test_google_photos(tmp_path):
    records, warnings = parse_file(
        GooglePhotosParser(),
        MEDIA / "gphotos0.db",
        tmp_path,
        "/data/data/com.google.android.apps.photos/databases/gphotos0.db",
    )
    assert warnings == [] and [r.source_row for r in records] == ["1", "2"]
    assert [(r.latitude, r.longitude) for r in records] == [(-33.86882, 151.20929), (40.712776, -74.005974)]
    assert [iso(r.time_utc) for r in records] == ["2024-01-26T10:10:00Z", "2024-07-04T16:00:00Z"]
    assert all(r.origin == "Google Photos local_media" for r in records)


def test_structure_not_name_decides(tmp_path):
    """Each parser refuses the others' databases (what the pipeline's structural check relies on)."""
    import sqlite3

    for parser, name, missing in (
        (IosPhotosParser(), "external.db", ["table ZASSET"]),
        (AndroidMediaStoreParser(), "Photos.sqlite", ["table files"]),
        (GooglePhotosParser(), "Photos.sqlite", ["table local_media"]),
    ):
        db = sqlite3.connect(f"file:{MEDIA / name}?mode=ro&immutable=1", uri=True)
        try:
            assert parser.missing_structure(db) == missing, (parser.name, name)
        finally:
            db.close()
