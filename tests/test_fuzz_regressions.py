"""Inputs found by the atheris harnesses under fuzz/ (fuzz/RESULTS.md), each asserting the fixed behaviour.

Minimised crash inputs are kept in fuzz/regressions/; where a clearer input can be built with a real
tool (zipfile) it is built here. Crashes in files owned by other parts of the project are strict
xfails: they fail today (so they pass as xfail) and turn into failures the day the fix lands, when the
marker comes off (and the matching KNOWN entry in the harness goes).
"""

from __future__ import annotations

import struct
import sys
import zipfile
import zlib
from pathlib import Path

import pytest

from parsers import abx
from parsers.android_device_info import AndroidSettingsParser
from parsers.media_exif import PhotoExifParser
from tests.parser_context import parse_file
from triage.errors import EvidenceError
from triage.evidence.archive_zip import ZipEvidence
from triage.evidence.f2fs.filesystem import probe_f2fs
from triage.evidence.filesystems import Region
from triage.evidence.opener import OpenOptions
from triage.records import MediaFile
from triage.timeutil import decode_exif

FUZZ = Path(__file__).resolve().parent.parent / "fuzz"
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
    assert abx.elements(abx_document(b"setting", b"value", value)) == [("setting", {"value": "a\x00b\U0001F600"})]


def test_settings_parser_warns_about_a_damaged_abx_string_and_names_it(tmp_path: Path) -> None:
    path = tmp_path / "settings_secure.xml"
    path.write_bytes(abx_document(b"setting", b"value", b"ok\xffno"))
    records, warnings = parse_file(AndroidSettingsParser(), path, tmp_path,
                                   "/data/system/users/0/settings_secure.xml")
    assert records == []
    assert warnings == ["cannot read the settings file (Android Binary XML): ABX string at byte 26 is not "
                        "(modified) UTF-8 (invalid start byte); damaged file?"]


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
    assert str(refused.value) == ("image → F2FS → /link is a symbolic link whose target cannot be shown: its target "
                                  "is 134217728 bytes long, more than any link can hold (4096); damaged inode; "
                                  "links are not followed")
    assert sorted(entries) == ["/a.txt", "/dir", "/dir/b.bin", "/dir/sub", "/dir/sub/deep.txt", "/empty", "/link"]
    assert warnings == []


# -- EXIF wrapper (parsers/media_exif.py → triage/timeutil.py): fix needed outside this part -----------

@pytest.mark.xfail(strict=True, raises=ValueError,
                   reason="fuzz_exif crash 1: triage/timeutil.parse_offset raises ValueError on an "
                          "OffsetTimeOriginal that is not ±HH:MM (fix in timeutil.py, see fuzz/RESULTS.md)")
@pytest.mark.parametrize("offset", ["+", "+0n:00", "+25:00", "Z9"])
def test_exif_time_with_a_malformed_offset_is_kept_raw_not_converted(offset: str) -> None:
    got = decode_exif("2024:03:15 09:00:00", offset)
    assert got.utc is None
    assert got.raw == f"2024:03:15 09:00:00 {offset}"
    assert "offset" in got.note


@pytest.mark.xfail(strict=True, reason="found beside fuzz_exif crash 1: minutes above 59 are folded into the "
                                      "hours (-12:61 is read as -13:01), a silently wrong UTC time")
def test_exif_time_with_offset_minutes_above_59_is_not_converted() -> None:
    got = decode_exif("2024:03:15 09:00:00", "-12:61")
    assert got.utc is None and "offset" in got.note


@pytest.mark.xfail(strict=True, raises=ValueError,
                   reason="fuzz_exif crash 1 through the parser: the photo's MediaFile record is lost")
def test_photo_with_a_malformed_offset_time_is_still_recorded(tmp_path: Path) -> None:
    path = tmp_path / "IMG_0001.jpg"
    path.write_bytes(regression("exif-bad-offset-time.jpg"))  # DateTimeOriginal + OffsetTimeOriginal "+"
    records, _ = parse_file(PhotoExifParser(), path, tmp_path)
    media = records[0]
    assert isinstance(media, MediaFile)
    assert media.taken_raw == "2024:03:15 09:00:00 +" and media.taken_utc is None


@pytest.mark.xfail(strict=True, raises=IndexError,
                   reason="fuzz_exif crash 2: media_exif.gps_altitude indexes values[0] of a GPSAltitude tag "
                          "that holds no value; the photo's MediaFile and Location records are lost")
def test_photo_whose_gps_altitude_holds_no_value_keeps_its_position(tmp_path: Path) -> None:
    path = tmp_path / "IMG_0002.heic"
    path.write_bytes(regression("exif-gps-altitude-no-values.jpg"))  # a HEIC seed with one bit changed
    records, _ = parse_file(PhotoExifParser(), path, tmp_path)
    assert [type(r).__name__ for r in records] == ["MediaFile", "Location"]
    assert records[1].altitude_m is None and records[0].extra["gps_status"] == "ok"


@pytest.mark.xfail(strict=True, raises=OverflowError,
                   reason="fuzz_exif crash 3: media_exif.gps_time catches ValueError only; a GPSTimeStamp of "
                          "[0, 4278190080, 0] overflows datetime and the photo's records are lost")
def test_photo_whose_gps_time_stamp_overflows_keeps_its_position_without_a_gps_time(tmp_path: Path) -> None:
    path = tmp_path / "IMG_0003.jpg"
    path.write_bytes(regression("exif-gps-time-overflow.jpg"))
    records, _ = parse_file(PhotoExifParser(), path, tmp_path)
    assert [type(r).__name__ for r in records] == ["MediaFile", "Location"]
    assert records[1].extra["time_source"] == "capture time" and records[1].time_utc is None


@pytest.mark.xfail(strict=True, raises=TypeError,
                   reason="fuzz_exif crash 4: media_exif.ratio calls int() on a GPSLatitude value that is not a "
                          "number (a tag of another type); TypeError, the photo's record is lost")
def test_photo_whose_gps_latitude_is_not_rational_is_recorded_with_an_unusable_gps_warning(tmp_path: Path) -> None:
    path = tmp_path / "IMG_0004.heic"
    path.write_bytes(regression("exif-gps-latitude-not-rational.jpg"))  # a HEIC seed with one integer changed
    records, warnings = parse_file(PhotoExifParser(), path, tmp_path)
    assert [type(r).__name__ for r in records] == ["MediaFile"]
    assert records[0].extra["gps_status"] == "invalid coordinate rationals (zero denominator or wrong count)"
    assert "GPS present but unusable: invalid coordinate rationals (zero denominator or wrong count)" in warnings


# -- zip reader (triage/evidence/archive_zip.py): fixes needed outside this part ------------------------

def zip_cut_at_its_start(tmp_path: Path) -> Path:
    """A zip whose first bytes (the local header and data) are gone: a carved or badly copied tail."""
    whole = tmp_path / "whole.zip"
    with zipfile.ZipFile(whole, "w") as z:
        z.writestr("data/a.txt", b"hello " * 100)
    raw = whole.read_bytes()
    cut = tmp_path / "cut.zip"
    cut.write_bytes(raw[raw.index(b"PK\x01\x02"):])
    return cut


@pytest.mark.xfail(strict=True, raises=OSError,
                   reason="fuzz_archives crash 1: a central directory offset before the start of the file "
                          "reaches os.pread as a negative offset (EINVAL) instead of an EvidenceError")
@pytest.mark.parametrize("source", ["built", "fuzz"])
def test_zip_member_whose_local_header_lies_before_the_file_is_refused_with_a_reason(tmp_path: Path,
                                                                                    source: str) -> None:
    if source == "built":
        path = zip_cut_at_its_start(tmp_path)
    else:
        path = tmp_path / "fuzz.zip"
        path.write_bytes(regression("zip-negative-header-offset.bin")[1:])  # byte 0: the harness's selector
    evidence = ZipEvidence(path, OpenOptions(backup_password=None))
    try:
        files = [e for e in evidence.walk() if e.type == "file"]
        assert files
        for entry in files:
            with pytest.raises(EvidenceError, match="central directory points"):
                evidence.open(entry)
    finally:
        evidence.close()


@pytest.mark.xfail(strict=True, raises=IndexError,
                   reason="fuzz_archives crash 2: zipfile.ZipInfo.is_dir() indexes filename[-1]; a member "
                          "with an empty name ends the opening of the whole zip with IndexError")
def test_zip_member_with_an_empty_name_is_a_warning_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "noname.zip"
    path.write_bytes(regression("zip-empty-member-name.bin")[1:])
    evidence = ZipEvidence(path, OpenOptions(backup_password=None))
    try:
        assert [e for e in evidence.walk() if e.type == "file"] == []
        assert any("has no usable name; not listed" in w for w in evidence.warnings)
    finally:
        evidence.close()


def local_header_only_zip(name: bytes, data: bytes, extra: bytes) -> bytes:
    """One stored member, its local header only (no central directory: a zip cut short)."""
    header = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 0, 0, 0, zlib.crc32(data), len(data), len(data),
                         len(name), len(extra))
    return header + name + extra + data


@pytest.mark.xfail(strict=True, raises=struct.error,
                   reason="fuzz_archives crash 3: a zip64 extra field longer than the extra data makes "
                          "_zip64_sizes raise struct.error while recovering a zip without central directory")
def test_zip64_extra_longer_than_its_extra_field_is_read_as_far_as_it_goes(tmp_path: Path) -> None:
    path = tmp_path / "cut.zip"
    zip64_claims_16_has_8 = struct.pack("<HH", 0x0001, 16) + struct.pack("<Q", 5)
    path.write_bytes(local_header_only_zip(b"a.txt", b"hello", zip64_claims_16_has_8))
    evidence = ZipEvidence(path, OpenOptions(backup_password=None))
    try:
        (entry,) = [e for e in evidence.walk() if e.type == "file"]
        with evidence.open(entry) as f:
            assert (entry.path, f.read()) == ("/a.txt", b"hello")
    finally:
        evidence.close()


@pytest.mark.xfail(strict=True, raises=struct.error, reason="fuzz_archives crash 3, the minimised fuzz input")
def test_zip64_extra_too_long_fuzz_input_is_an_unreadable_zip(tmp_path: Path) -> None:
    # its one member has no name: once the extra is read safely, nothing is left to list, which is
    # the reader's one-line "nothing can be read" error, not a struct.error traceback
    path = tmp_path / "fuzz.zip"
    path.write_bytes(regression("zip-zip64-extra-too-long.bin")[1:])
    with pytest.raises(EvidenceError, match="nothing can be read from this zip archive"):
        ZipEvidence(path, OpenOptions(backup_password=None))


@pytest.mark.xfail(strict=True, raises=OverflowError,
                   reason="fuzz_archives crash 4: a zip64 size near 2**64 in a local header (no central directory, "
                          "data descriptor flag) sends an offset past 2**63 to os.pread: OverflowError")
@pytest.mark.parametrize("source", ["built", "fuzz"])
def test_zip_member_claiming_2_64_bytes_is_listed_and_refused(tmp_path: Path, source: str) -> None:
    path = tmp_path / "cut.zip"
    if source == "built":
        zip64 = struct.pack("<HHQQ", 0x0001, 16, 5, 2**64 - 1)  # size 5, packed 2**64 - 1
        header = struct.pack("<4s5H3L2H", b"PK\x03\x04", 45, 0x8, 0, 0, 0, 0, 0xFFFFFFFF, 0xFFFFFFFF, 5, len(zip64))
        path.write_bytes(header + b"a.txt" + zip64 + b"hello")
    else:
        path.write_bytes(regression("zip-member-past-2-63.bin")[1:])
    evidence = ZipEvidence(path, OpenOptions(backup_password=None))
    try:
        files = [e for e in evidence.walk() if e.type == "file"]
        assert files
        with pytest.raises(EvidenceError, match="lies past the end of the archive file"):
            evidence.open(files[0])
    finally:
        evidence.close()


def test_every_saved_regression_input_has_a_test_here() -> None:
    """A crash input saved without a test would be a finding nobody checks."""
    text = Path(__file__).read_text(encoding="utf-8")
    saved = sorted(p.name for p in REGRESSIONS.iterdir())
    assert saved and all(f'"{name}"' in text for name in saved), saved
