"""Inputs found by the atheris harnesses under fuzz/ (fuzz/RESULTS.md), each asserting the fixed behaviour.

Minimised crash inputs are kept in fuzz/regressions/; where a clearer input can be built with a real
tool (zipfile) it is built here. Each test asserts what the code does now (the value kept, the warning
or error text); on the code as it was, each one failed with the crash's exception.
"""

from __future__ import annotations

import contextlib
import io
import signal
import struct
import sys
import zipfile
import zlib
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import pytest
from exifread.utils import Ratio

from parsers import abx
from parsers.device.android import AndroidSettingsParser
from parsers.media.photo_exif import EXIFREAD_MAX_READS, PhotoExifParser, ratio
from parsers.read_budget import BudgetedReader, ReadBudgetExceeded
from tests.parser_context import parse_file
from triage.errors import EvidenceError
from triage.evidence.archive_zip import ZipEvidence
from triage.evidence.f2fs.filesystem import probe_f2fs
from triage.evidence.filesystems import Region
from triage.evidence.opener import OpenOptions
from triage.model.records import Location, MediaFile
from triage.model.timeutil import decode_exif, iso, parse_offset

FUZZ = Path(__file__).resolve().parents[2] / "fuzz"
REGRESSIONS = FUZZ / "regressions"


def regression(name: str) -> bytes:
    return (REGRESSIONS / name).read_bytes()


def abx_string(text: bytes) -> bytes:
    return struct.pack(">H", len(text)) + text


def abx_document(tag: bytes, name: bytes, raw_value: bytes) -> bytes:
    """ABX\\0, START_TAG (new interned name), one STRING attribute (new interned name, raw value bytes)."""
    start_tag = bytes([abx.TYPE_STRING_INTERNED << 4 | abx.START_TAG]) + b"\xff\xff" + abx_string(tag)
    attribute = bytes([abx.TYPE_STRING << 4 | abx.ATTRIBUTE]) + b"\xff\xff" + abx_string(name) + abx_string(raw_value)
    return abx.MAGIC + start_tag + attribute


# -- ABX (parsers/abx.py): fixed ----------------------------------------------------------------------


def test_abx_string_that_is_not_utf8_is_an_abx_error_naming_its_offset() -> None:
    # fuzz_abx crash 1: a tag name holding 0xFF escaped as UnicodeDecodeError, which the settings
    # parser does not catch: the whole file was lost to a traceback-shaped "stopped after 0 record(s)"
    with pytest.raises(abx.AbxError, match=r"ABX string at byte 7 is not \(modified\) UTF-8 \(invalid start byte\)"):
        abx.elements(regression("abx-not-utf8-string.bin"))


def test_abx_modified_utf8_nul_and_supplementary_characters_are_decoded() -> None:
    # Java's modified UTF-8 (FastDataOutput.writeUTF): U+0000 is C0 80, U+1F600 is two encoded surrogates
    value = b"a\xc0\x80b" + b"\xed\xa0\xbd\xed\xb8\x80"  # U+0000 as C0 80; U+1F600 as D83D DE00
    assert abx.elements(abx_document(b"setting", b"value", value)) == [("setting", {"value": "a\x00b\U0001f600"})]


def test_settings_parser_warns_about_a_damaged_abx_string_and_names_it(tmp_path: Path) -> None:
    path = tmp_path / "settings_secure.xml"
    path.write_bytes(abx_document(b"setting", b"value", b"ok\xffno"))
    records, warnings = parse_file(AndroidSettingsParser(), path, tmp_path, "/data/system/users/0/settings_secure.xml")
    assert records == []
    assert warnings == [
        "cannot read the settings file (Android Binary XML): ABX string at byte 26 is not "
        "(modified) UTF-8 (invalid start byte); damaged file?"
    ]


# -- F2FS reader (triage/evidence/f2fs/filesystem.py): fixed -----------------------------------------------


def f2fs_from_fuzz_input(name: str) -> tuple[object, dict[str, object], list[str]]:
    sys.path.insert(0, str(FUZZ))
    try:
        from f2fs_sparse import decode_input
    finally:
        sys.path.remove(str(FUZZ))
    image = decode_input(regression(name))
    warnings: list[str] = []
    (fs,) = probe_f2fs(Region(read_at=image.read_at, offset=0, size=image.size, where="image"), warnings.append)
    entries = {e.path: e for e in fs.walk("", ("image", "F2FS"), warnings.append)}
    return fs, entries, warnings


def test_f2fs_link_with_a_huge_target_size_is_refused_without_reading_it() -> None:
    # fuzz_f2fs finding 1: the seed image's /link made block-mapped (holes) with i_size 128 MiB; at 2 GiB
    # the old read_link read the whole target into memory (6 GB RSS, libFuzzer out-of-memory)
    fs, entries, warnings = f2fs_from_fuzz_input("f2fs-link-target-128mib.bin")
    link = entries["/link"]
    assert (link.type, link.size) == ("link", 1 << 27)
    with pytest.raises(EvidenceError) as refused:
        fs.open(link)
    assert str(refused.value) == (
        "image → F2FS → /link is a symbolic link whose target cannot be shown: its target "
        "is 134217728 bytes long, more than any link can hold (4096); damaged inode; "
        "links are not followed"
    )
    assert sorted(entries) == ["/a.txt", "/dir", "/dir/b.bin", "/dir/sub", "/dir/sub/deep.txt", "/empty", "/link"]
    assert warnings == []


# -- EXIF wrapper (parsers/media/photo_exif.py → triage/model/timeutil.py): fixed -------------------------------------


def parse_photo(tmp_path: Path, name: str, regression_name: str) -> tuple[list[object], list[str]]:
    path = tmp_path / name
    path.write_bytes(regression(regression_name))
    records, warnings = parse_file(PhotoExifParser(), path, tmp_path)
    # the minimised inputs keep their metadata but lost their pixels: Pillow's complaint is not the point
    return records, [w for w in warnings if not w.startswith("image could not be decoded for a perceptual hash")]


@pytest.mark.parametrize("offset", ["+", "+0n:00", "+25:00", "Z9"])
def test_exif_time_with_a_malformed_offset_is_kept_raw_not_converted(offset: str) -> None:
    # fuzz_exif crash 1: parse_offset raised ValueError (int("") for "+"; timezone(25 h) for "+25:00")
    got = decode_exif("2024:03:15 09:00:00", offset)
    assert (got.raw, got.encoding, got.utc) == (f"2024:03:15 09:00:00 {offset}", "exif_local", None)
    assert got.note == f"UTC offset {offset!r} is not ±HH:MM (hours < 24, minutes < 60): not converted"


def test_exif_time_with_offset_minutes_above_59_is_not_converted() -> None:
    # found beside crash 1: "-12:61" was folded into -13:01, a silently wrong UTC time
    got = decode_exif("2024:03:15 09:00:00", "-12:61")
    assert (got.raw, got.utc) == ("2024:03:15 09:00:00 -12:61", None)
    assert got.note == "UTC offset '-12:61' is not ±HH:MM (hours < 24, minutes < 60): not converted"


def test_exif_time_with_a_malformed_offset_inside_the_date_text_is_not_converted() -> None:
    # the same check covers an offset written after the time in DateTimeOriginal itself
    got = decode_exif("2024:03:15 09:00:00+24:00")
    assert (got.raw, got.utc) == ("2024:03:15 09:00:00+24:00", None) and "'+24:00' is not ±HH:MM" in got.note


@pytest.mark.parametrize(
    ("offset", "utc"),
    [
        ("+05:30", "2024-03-15T03:30:00Z"),
        ("+0530", "2024-03-15T03:30:00Z"),
        ("-12:00", "2024-03-15T21:00:00Z"),
        ("+14:00", "2024-03-14T19:00:00Z"),
        ("Z", "2024-03-15T09:00:00Z"),
        ("-00:00", "2024-03-15T09:00:00Z"),
    ],
)
def test_exif_time_with_a_real_offset_is_still_converted(offset: str, utc: str) -> None:
    # the check refuses damage only: every offset in use (−12:00 … +14:00, with or without the colon) converts
    got = decode_exif("2024:03:15 09:00:00", offset)
    assert (iso(got.utc), got.encoding, got.note) == (utc, "exif_offset", "")


@pytest.mark.parametrize(("raw", "offset"), [("0001:01:01 00:00:00", "+01:00"), ("9999:12:31 23:59:59", "-01:00")])
def test_exif_time_that_the_offset_moves_out_of_datetimes_range_is_kept_raw(raw: str, offset: str) -> None:
    # found while fixing crash 1: astimezone(UTC) raised OverflowError for year 1 / 9999 shifted by the offset
    got = decode_exif(raw, offset)
    assert (got.raw, got.utc) == (f"{raw} {offset}", None)
    assert got.note == "outside the representable dates once the UTC offset is applied: not converted"


def test_parse_offset_names_an_offset_it_cannot_read() -> None:
    with pytest.raises(ValueError, match=r"UTC offset '\+0n:00' is not ±HH:MM"):
        parse_offset("+0n:00")


def test_photo_with_a_malformed_offset_time_is_still_recorded_with_a_warning(tmp_path: Path) -> None:
    # fuzz_exif crash 1 through the parser: the photo's MediaFile record was lost
    records, warnings = parse_photo(tmp_path, "IMG_0001.jpg", "exif-bad-offset-time.jpg")  # OffsetTimeOriginal "+"
    (media,) = records
    assert isinstance(media, MediaFile)
    assert (media.taken_raw, media.taken_encoding, media.taken_utc) == ("2024:03:15 09:00:00 +", "exif_local", None)
    note = "UTC offset '+' is not ±HH:MM (hours < 24, minutes < 60): not converted"
    assert media.extra["taken_note"] == note
    assert warnings == [f"capture time '2024:03:15 09:00:00 +' (DateTimeOriginal): {note}"]


def test_photo_whose_gps_altitude_holds_no_value_keeps_its_position(tmp_path: Path) -> None:
    # fuzz_exif crash 2: gps_altitude indexed values[0] of a GPSAltitude with a count of 0 (IndexError)
    records, warnings = parse_photo(tmp_path, "IMG_0002.heic", "exif-gps-altitude-no-values.jpg")
    media, location = records
    assert isinstance(media, MediaFile) and isinstance(location, Location)
    assert (location.latitude, location.longitude, location.altitude_m) == (-5.0625, -5.0625, None)
    assert media.extra["gps_status"] == "ok"
    assert media.extra["gps_problems"] == ["its GPSAltitude holds no value: no altitude"]
    assert warnings == ["GPS position kept, but its GPSAltitude holds no value: no altitude"]


def test_photo_whose_gps_time_stamp_overflows_keeps_its_position_without_a_gps_time(tmp_path: Path) -> None:
    # fuzz_exif crash 3: GPSTimeStamp [0, 4278190080, 0] overflowed datetime + timedelta (OverflowError)
    records, warnings = parse_photo(tmp_path, "IMG_0003.jpg", "exif-gps-time-overflow.jpg")
    media, location = records
    assert isinstance(media, MediaFile) and isinstance(location, Location)
    assert (location.time_raw, location.time_utc) == (None, None)  # nor a capture time in this photo
    assert location.extra["time_source"] == "none (no usable GPS time stamp or capture time)"
    problem = "its GPS time stamp (2024:3:5 [0, 4278190080, 0]) is not a valid date and time: no GPS time"
    assert warnings == [f"GPS position kept, but {problem}"]


def test_photo_whose_gps_latitude_is_not_rational_is_recorded_with_an_unusable_gps_warning(tmp_path: Path) -> None:
    # fuzz_exif crash 4: ratio() called int() on a GPSLatitude value that is not a number (TypeError)
    records, warnings = parse_photo(tmp_path, "IMG_0004.heic", "exif-gps-latitude-not-rational.jpg")
    (media,) = records
    assert isinstance(media, MediaFile)
    assert media.extra["gps_status"] == "invalid coordinate rationals (zero denominator or wrong count)"
    assert warnings == ["GPS present but unusable: invalid coordinate rationals (zero denominator or wrong count)"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [((3, 4), Fraction(3, 4)), (7, Fraction(7)), ((1, 0), None), ("N", None), ((1, 2, 3), None), (None, None)],
)
def test_ratio_of_a_tag_value_is_a_fraction_or_none(value: object, expected: Fraction | None) -> None:
    # exifread gives Ratio objects (numerator/denominator), plain ints, or, for a damaged tag, anything
    if isinstance(value, tuple) and len(value) == 2:
        value = Ratio(*value)
    assert ratio(value) == expected


@contextlib.contextmanager
def hang_guard(seconds: int) -> Iterator[None]:
    """Turn a hang into a failure (the code before the exif 5 fix never returned); not a speed check."""

    def stalled(signum: int, frame: object) -> None:
        raise AssertionError(f"still running after {seconds} s: the reader loops")

    previous = signal.signal(signal.SIGALRM, stalled)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_heif_box_that_ends_where_it_starts_stops_exifread_and_is_reported(tmp_path: Path) -> None:
    # fuzz_exif finding 5 (timeout): inside `meta`, a box of size 1 whose 64-bit size is 0 ends where it
    # starts; exifread 3.5.1 re-reads it for ever. Its reads are now budgeted: a warning, the file recorded
    with hang_guard(120):
        records, warnings = parse_photo(tmp_path, "IMG_0005.heic", "exif-heif-box-size-zero-loop.heic")
    (media,) = records
    assert isinstance(media, MediaFile) and media.extra["exif_tags"] == 0
    assert warnings[0] == (
        f"EXIF could not be read (ReadBudgetExceeded: exifread stopped after {EXIFREAD_MAX_READS} "
        f"reads and seeks, far more than any real file needs: its structure loops (damaged or "
        f"crafted file)); file recorded without metadata"
    )
    # the project's own box check names the damage too
    assert (
        "HEIF box structure: box b'\\x00\\x00\\x00\\x00' at offset 40 has impossible size 0; rest of the "
        "level skipped" in warnings
    )


def test_read_budget_counts_reads_and_seeks_then_refuses() -> None:
    reader = BudgetedReader(io.BytesIO(b"abcdef"), 3, "the reader")
    assert (reader.read(2), reader.seek(1), reader.read(1), reader.tell()) == (b"ab", 1, b"b", 2)
    with pytest.raises(ReadBudgetExceeded, match="^the reader stopped after 3 reads and seeks"):
        reader.read(1)


# -- zip reader (triage/evidence/archive.py, archive_zip.py): fixed ---------------------------------------


def zip_cut_at_its_start(tmp_path: Path) -> Path:
    """A zip whose first bytes (the local header and data) are gone: a carved or badly copied tail."""
    whole = tmp_path / "whole.zip"
    with zipfile.ZipFile(whole, "w") as z:
        z.writestr("data/a.txt", b"hello " * 100)
    raw = whole.read_bytes()
    cut = tmp_path / "cut.zip"
    cut.write_bytes(raw[raw.index(b"PK\x01\x02") :])
    return cut


@pytest.mark.parametrize(("source", "offset"), [("built", -640), ("fuzz", -211)])
def test_zip_member_whose_local_header_lies_before_the_file_is_refused_with_a_reason(
    tmp_path: Path, source: str, offset: int
) -> None:
    # fuzz_archives crash 1: the negative header offset reached os.pread (OSError EINVAL, no file named)
    if source == "built":
        path = zip_cut_at_its_start(tmp_path)
    else:
        path = tmp_path / "cut.zip"
        path.write_bytes(regression("zip-negative-header-offset.bin")[1:])  # byte 0: the harness's selector
    evidence = ZipEvidence(path, OpenOptions(backup_password=None))
    try:
        files = [e for e in evidence.walk() if e.type == "file"]
        assert files
        for entry in files:
            with pytest.raises(EvidenceError) as refused:
                evidence.open(entry)
            assert str(refused.value) == (
                f"zip cut.zip → {entry.path}: no local header where the central "
                f"directory points (offset {offset}); damaged zip, not read"
            )
    finally:
        evidence.close()


def test_archive_read_at_outside_the_file_is_empty_never_an_oserror(tmp_path: Path) -> None:
    # crashes 1 and 4 at their root: offsets from damaged headers (negative, past 2**63) reached os.pread
    path = tmp_path / "small.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("a.txt", b"x")
    evidence = ZipEvidence(path, OpenOptions(backup_password=None))
    try:
        size = evidence.archive_size
        assert [
            evidence.read_at(-1, 4),
            evidence.read_at(2**63 + 1, 4),
            evidence.read_at(size, 4),
            evidence.read_at(0, 0),
            evidence.read_at(0, -1),
        ] == [b""] * 5
        assert evidence.read_at(size - 2, 1 << 30) == path.read_bytes()[-2:]  # capped at the file, no 1 GiB buffer
    finally:
        evidence.close()


def test_zip_member_with_an_empty_name_is_a_warning_not_a_crash(tmp_path: Path) -> None:
    # fuzz_archives crash 2: zipfile.ZipInfo.is_dir() indexes filename[-1]: IndexError for the whole zip
    path = tmp_path / "noname.zip"
    path.write_bytes(regression("zip-empty-member-name.bin")[1:])
    evidence = ZipEvidence(path, OpenOptions(backup_password=None))
    try:
        assert list(evidence.walk()) == []
        assert evidence.warnings[:6] == [
            f"zip noname.zip: member #{n} has no usable name; not listed" for n in range(1, 6)
        ] + ["zip noname.zip: the archive lists no members"]
    finally:
        evidence.close()


def test_zip_member_with_an_empty_name_leaves_the_named_members_readable(tmp_path: Path) -> None:
    path = tmp_path / "noname.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("a.txt", b"kept")
        z.writestr(zipfile.ZipInfo(""), b"no name")
    evidence = ZipEvidence(path, OpenOptions(backup_password=None))
    try:
        (entry,) = [e for e in evidence.walk() if e.type == "file"]
        with evidence.open(entry) as f:
            assert (entry.path, f.read()) == ("/a.txt", b"kept")
        assert "zip noname.zip: member #2 has no usable name; not listed" in evidence.warnings
    finally:
        evidence.close()


def local_header_only_zip(name: bytes, data: bytes, extra: bytes) -> bytes:
    """One stored member, its local header only (no central directory: a zip cut short)."""
    header = struct.pack(
        "<4s5H3L2H", b"PK\x03\x04", 20, 0, 0, 0, 0, zlib.crc32(data), len(data), len(data), len(name), len(extra)
    )
    return header + name + extra + data


def test_zip64_extra_longer_than_its_extra_field_is_read_as_far_as_it_goes(tmp_path: Path) -> None:
    # fuzz_archives crash 3: _zip64_sizes unpacked `length // 8` values from a shorter extra (struct.error)
    path = tmp_path / "cut.zip"
    zip64_claims_16_has_8 = struct.pack("<HH", 0x0001, 16) + struct.pack("<Q", 5)
    path.write_bytes(local_header_only_zip(b"a.txt", b"hello", zip64_claims_16_has_8))
    evidence = ZipEvidence(path, OpenOptions(backup_password=None))
    try:
        (entry,) = [e for e in evidence.walk() if e.type == "file"]
        with evidence.open(entry) as f:
            assert (entry.path, f.read()) == ("/a.txt", b"hello")
        assert evidence.warnings[0].endswith(
            "1 member(s) recovered from their local headers (truncated zip?); "
            "anything after the last readable member is missing"
        )
    finally:
        evidence.close()


def test_zip64_extra_too_long_fuzz_input_is_an_unreadable_zip(tmp_path: Path) -> None:
    # crash 3, the minimised fuzz input: its one member has no name, so once the extra is read safely
    # nothing is left to list, which is the reader's one-line "nothing can be read" error
    path = tmp_path / "fuzz.zip"
    path.write_bytes(regression("zip-zip64-extra-too-long.bin")[1:])
    with pytest.raises(EvidenceError) as refused:
        ZipEvidence(path, OpenOptions(backup_password=None))
    assert str(refused.value) == (
        "fuzz.zip: nothing can be read from this zip archive (no readable central "
        "directory: File is not a zip file); check that the file is complete"
    )


@pytest.mark.parametrize("source", ["built", "fuzz"])
def test_zip_member_claiming_2_64_bytes_is_listed_and_refused(tmp_path: Path, source: str) -> None:
    # fuzz_archives crash 4: the data descriptor was looked for past 2**63: OverflowError from os.pread
    path = tmp_path / "cut.zip"
    if source == "built":
        zip64 = struct.pack("<HHQQ", 0x0001, 16, 5, 2**64 - 1)  # size 5, packed 2**64 - 1
        header = struct.pack("<4s5H3L2H", b"PK\x03\x04", 45, 0x8, 0, 0, 0, 0, 0xFFFFFFFF, 0xFFFFFFFF, 5, len(zip64))
        path.write_bytes(header + b"a.txt" + zip64 + b"hello")
    else:
        path.write_bytes(regression("zip-member-past-2-63.bin")[1:])
    evidence = ZipEvidence(path, OpenOptions(backup_password=None))
    try:
        (entry,) = [e for e in evidence.walk() if e.type == "file"]
        if source == "built":
            assert entry.path == "/a.txt"
        with pytest.raises(EvidenceError) as refused:
            evidence.open(entry)
        assert str(refused.value) == (
            f"zip cut.zip → {entry.path} lies past the end of the archive file (truncated zip); not read"
        )
        assert (
            f"zip cut.zip: {entry.path} (member #1) lies past the end of the archive file (truncated zip); "
            f"not read" in evidence.warnings
        )
    finally:
        evidence.close()


def test_every_saved_regression_input_has_a_test_here() -> None:
    """A crash input saved without a test would be a finding nobody checks."""
    text = Path(__file__).read_text(encoding="utf-8")
    saved = sorted(p.name for p in REGRESSIONS.iterdir())
    assert saved and all(f'"{name}"' in text for name in saved), saved
