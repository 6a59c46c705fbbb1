"""Fuzz the photo EXIF wrapper: `parsers.media.photo_exif.PhotoExifParser.parse` (exifread for the tags, the
JPEG/EXIF/HEIF structure checks of parsers/media/jpeg_structure.py, exif_structure.py, heif_*.py, GPS and
time decoding, pHash hints).

Input: the bytes of a photo. The parser is run as the pipeline runs it, on a ParseContext over the
bytes. Contract (media_exif.py, parsers/base.py): a damaged photo is still a MediaFile record with
warnings; the parser raises nothing (the pipeline would catch it, but then the photo's record is
lost and the file shows as "not parsed"). So any exception is a crash, and so is a run that yields
no MediaFile first. exifread, Pillow and pillow-heif are third-party and are not instrumented:
coverage counts the project's wrapper, the inputs still go through the libraries.
"""

from __future__ import annotations

import io
import sys

from harness import instrumented, known_findings, main

with instrumented(
    [
        "parsers.media.photo_exif",
        "parsers.media.jpeg_structure",
        "parsers.media.exif_structure",
        "parsers.media.heif_items",
        "parsers.media.heif_structure",
        "triage.model.timeutil",
    ]
):
    from parsers.base import ParseContext
    from parsers.media.photo_exif import PhotoExifParser, exifread_tags
    from triage.evidence import FileEntry
    from triage.model.records import MediaFile

PARSER = PhotoExifParser()
# reported, fix outside the files this fuzzing part may edit (see fuzz/RESULTS.md); exif 1-4 are fixed
KNOWN: tuple[tuple[str, str, str], ...] = ()


def context(data: bytes) -> ParseContext:
    entry = FileEntry(
        path="/DCIM/Camera/IMG_20240801_120000.jpg", layers=("fuzz",), type="file", size=len(data), inode=None
    )
    return ParseContext(entry=entry, open=lambda: io.BytesIO(data), sha256=None, header=data[:64])


def check_one(data: bytes) -> None:
    records = None
    with known_findings(KNOWN):
        records = list(PARSER.parse(context(data)))
    if records is None:
        return  # a known finding
    if not records or not isinstance(records[0], MediaFile):
        raise AssertionError(f"no MediaFile record ({records!r})")


def exifread_only(data: bytes) -> None:
    """exifread alone, as the parser calls it (budgeted reads). For minimising a stall inside exifread, which
    the budget turns into a ReadBudgetExceeded: `fuzz/minimize.py exif:exifread_only FILE`."""
    exifread_tags(io.BytesIO(data))


if __name__ == "__main__":
    main(check_one)
    sys.exit(0)
