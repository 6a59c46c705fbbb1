from datetime import UTC, datetime

from triage.model.timeutil import decode, decode_exif, iso


def test_unix_ms_is_exact():
    ts = decode(1383065788038, "unix_ms")
    assert iso(ts.utc) == "2013-10-29T16:56:28.038Z" and ts.raw == 1383065788038 and ts.encoding == "unix_ms"


def test_cocoa_seconds_and_nanoseconds_agree():
    assert decode(694224000, "cocoa_s").utc == datetime(2023, 1, 1, tzinfo=UTC)
    assert decode(694224000_123456789, "cocoa_ns").utc == datetime(2023, 1, 1, 0, 0, 0, 123456, tzinfo=UTC)


def test_zero_and_absurd_values_are_not_converted():
    assert decode(0, "unix_ms").utc is None
    assert decode(None, "unix_s").utc is None
    ts = decode(5, "unix_s")
    assert ts.utc is None and ts.raw == 5 and "not converted" in ts.note


def test_exif_local_time_without_offset_is_kept_raw():
    ts = decode_exif("2025:05:03 04:14:00")
    assert ts.utc is None and ts.raw == "2025:05:03 04:14:00" and ts.encoding == "exif_local"
    ts = decode_exif("2025:05:03 04:14:00", "+02:00")
    assert iso(ts.utc) == "2025-05-03T02:14:00Z" and ts.encoding == "exif_offset"
