"""The phone's own photo-location stores: positions the gallery indexed, even for photos since deleted.

- Android MediaStore `external.db` (AOSP MediaProvider) and Samsung's `media.db` / `cmh.db`: table
  `files` with `_data`, `latitude`, `longitude`, `datetaken` (unix ms). Android 10+ stopped indexing
  positions (the columns stay, always NULL), so populated rows come from Android 9 and earlier, or
  Samsung's own provider. 0/0 is "not set".
- Google Photos `gphotos*.db`: `local_media(filepath, latitude, longitude, utc_timestamp ms, …)`.
- iOS `Photos.sqlite`: `ZASSET` (iOS 14+) or `ZGENERICASSET` (iOS 11-13), `ZLATITUDE/ZLONGITUDE`
  with -180.0 meaning "no location", `ZDATECREATED` (Cocoa s), `ZDIRECTORY/ZFILENAME`; horizontal
  accuracy in `ZADDITIONALASSETATTRIBUTES.ZGPSHORIZONTALACCURACY` (-1 = unknown) where present.
  Southern and western hemispheres are negative and kept (never filter `> 0`).

Every Location says which store it came from (`origin`) and which row (`source_table`/`source_row`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterator
from typing import Any

from parsers.base import ParseContext, Schema, SqliteParser, table_columns
from triage.model.records import Base, Location, build, times
from triage.model.timeutil import Timestamp, decode

IOS_NO_LOCATION = -180.0
IOS_UNKNOWN_ACCURACY = -1.0


def usable(lat: Any, lon: Any, sentinel: float | None = None) -> bool:
    """A stored pair is a position: both numbers, not a sentinel, not the 0/0 placeholder, in range."""
    if not isinstance(lat, (int, float)) or not isinstance(lon, (int, float)):
        return False
    if sentinel is not None and (lat == sentinel or lon == sentinel):
        return False
    if lat == 0 and lon == 0:
        return False
    return -90 <= lat <= 90 and -180 <= lon <= 180


class AndroidMediaStoreParser(SqliteParser):
    name = "android_media_store"
    description = "Android MediaStore / Samsung media database: indexed photo and video positions"
    app = "MediaStore"
    platform = "Android"
    produces = (Location,)
    order = 190
    fixtures = ("fixtures/media/media.db",)  # the Samsung media.db: same files table
    path_patterns = (
        "*/com.android.providers.media*/databases/external*.db",
        "*/com.google.android.providers.media.module/databases/external*.db",
        "*/com.samsung.android.providers.media/databases/media.db",
        "*/com.samsung.cmh/databases/cmh.db",
    )
    schemas = (
        Schema(
            "files table with latitude/longitude",
            {"files": {"_data", "latitude", "longitude"}},
            "fixtures/media/external.db",
        ),
    )

    def parse_db(self, db: sqlite3.Connection, ctx: ParseContext) -> Iterator[Base]:
        columns = table_columns(db, "files")
        origin = store_origin(ctx.entry.path)
        optional = [
            c
            for c in (
                "datetaken",
                "date_added",
                "_display_name",
                "mime_type",
                "bucket_display_name",
                "owner_package_name",
                "is_trashed",
                "addr",
                "captured_app",
                "captured_url",
            )
            if c in columns
        ]
        query = (
            f"SELECT _id, _data, latitude, longitude{''.join(', ' + c for c in optional)} FROM files "
            "WHERE latitude IS NOT NULL AND longitude IS NOT NULL ORDER BY _id"
        )
        skipped = 0
        for row in db.execute(query):
            if not usable(row["latitude"], row["longitude"]):
                skipped += 1
                continue
            time = _android_time(row, optional)
            extra = {c: row[c] for c in optional if c not in ("datetaken", "date_added") and row[c] is not None}
            yield build(
                Location,
                origin=origin,
                latitude=float(row["latitude"]),
                longitude=float(row["longitude"]),
                **(times("time", time) if time else {}),
                label=row["_data"] or extra.get("_display_name"),
                extra={"path": row["_data"], **extra},
                source_table="files",
                source_row=str(row["_id"]),
            )
        if skipped:
            ctx.warn(f"{skipped} row(s) with 0/0 or out-of-range coordinates skipped (placeholders, not positions)")


def store_origin(path: str) -> str:
    lowered = path.lower()
    if "com.samsung.android.providers.media" in lowered:
        return "Samsung media.db"
    if "cmh" in lowered.rsplit("/", 1)[-1]:
        return "Samsung cmh.db"
    return "Android MediaStore external.db"


def _android_time(row: sqlite3.Row, optional: Collection[str]) -> Timestamp | None:
    if "datetaken" in optional and row["datetaken"]:
        return decode(row["datetaken"], "unix_ms")
    if "date_added" in optional and row["date_added"]:
        return decode(row["date_added"], "unix_s")  # when the file was indexed, not when it was taken
    return None


class GooglePhotosParser(SqliteParser):
    name = "google_photos_local"
    description = "Google Photos local media database: photo positions"
    app = "Google Photos"
    platform = "Android"
    produces = (Location,)
    order = 200
    path_patterns = ("*/com.google.android.apps.photos/databases/gphotos*.db",)
    schemas = (
        Schema(
            "gphotos0.db (local_media)",
            {"local_media": {"filepath", "latitude", "longitude", "utc_timestamp"}},
            "fixtures/media/gphotos0.db",
        ),
    )

    def parse_db(self, db: sqlite3.Connection, ctx: ParseContext) -> Iterator[Base]:
        for row in db.execute(
            "SELECT rowid AS rid, filepath, latitude, longitude, utc_timestamp FROM local_media "
            "WHERE latitude IS NOT NULL AND longitude IS NOT NULL ORDER BY rowid"
        ):
            if not usable(row["latitude"], row["longitude"]):
                continue
            time = decode(row["utc_timestamp"], "unix_ms") if row["utc_timestamp"] else None
            yield build(
                Location,
                origin="Google Photos local_media",
                latitude=float(row["latitude"]),
                longitude=float(row["longitude"]),
                **(times("time", time) if time else {}),
                label=row["filepath"],
                extra={"path": row["filepath"]},
                source_table="local_media",
                source_row=str(row["rid"]),
            )


class IosPhotosParser(SqliteParser):
    name = "ios_photos"
    description = "iOS Photos.sqlite: asset positions (ZASSET / ZGENERICASSET)"
    app = "Photos"
    platform = "iOS"
    produces = (Location,)
    order = 210
    path_patterns = ("*/PhotoData/Photos.sqlite",)
    ASSET_COLUMNS = {"Z_PK", "ZLATITUDE", "ZLONGITUDE", "ZDATECREATED", "ZDIRECTORY", "ZFILENAME"}
    schemas = (
        Schema("iOS 14+ (ZASSET)", {"ZASSET": ASSET_COLUMNS}, "fixtures/media/Photos.sqlite"),
        Schema("before iOS 14 (ZGENERICASSET)", {"ZGENERICASSET": ASSET_COLUMNS}, "fixtures/media/Photos-ios13.sqlite"),
    )

    def parse_db(self, db: sqlite3.Connection, ctx: ParseContext) -> Iterator[Base]:
        table = asset_table(db, self.ASSET_COLUMNS)
        assert table is not None
        accuracy_join, accuracy_col = _accuracy_join(db, table)
        query = (
            f"SELECT a.Z_PK AS pk, a.ZLATITUDE AS lat, a.ZLONGITUDE AS lon, a.ZDATECREATED AS created, "
            f"a.ZDIRECTORY AS dir, a.ZFILENAME AS name{accuracy_col} FROM {table} a{accuracy_join} "
            f"WHERE a.ZLATITUDE IS NOT NULL AND a.ZLONGITUDE IS NOT NULL "
            f"AND a.ZLATITUDE != {IOS_NO_LOCATION} AND a.ZLONGITUDE != {IOS_NO_LOCATION} ORDER BY a.Z_PK"
        )
        for row in db.execute(query):
            if not usable(row["lat"], row["lon"], IOS_NO_LOCATION):
                continue
            path = "/".join(p for p in (row["dir"], row["name"]) if p)
            accuracy = row["accuracy"] if accuracy_col else None
            time = decode(row["created"], "cocoa_s") if row["created"] is not None else None
            yield build(
                Location,
                origin=f"iOS Photos.sqlite {table}",
                latitude=float(row["lat"]),
                longitude=float(row["lon"]),
                accuracy_m=float(accuracy) if isinstance(accuracy, (int, float)) and accuracy >= 0 else None,
                **(times("time", time) if time else {}),
                label=path or None,
                extra={"path": path},
                source_table=table,
                source_row=str(row["pk"]),
            )


def asset_table(db: sqlite3.Connection, needed: set[str]) -> str | None:
    for table in ("ZASSET", "ZGENERICASSET"):  # iOS 14+ first
        if needed <= table_columns(db, table):
            return table
    return None


def _accuracy_join(db: sqlite3.Connection, table: str) -> tuple[str, str]:
    attrs = table_columns(db, "ZADDITIONALASSETATTRIBUTES")
    if {"Z_PK", "ZGPSHORIZONTALACCURACY"} <= attrs and "ZADDITIONALATTRIBUTES" in table_columns(db, table):
        return (
            " LEFT JOIN ZADDITIONALASSETATTRIBUTES x ON x.Z_PK = a.ZADDITIONALATTRIBUTES",
            ", x.ZGPSHORIZONTALACCURACY AS accuracy",
        )
    return "", ""
