"""Timestamp decoding: every time keeps its raw value and encoding next to the UTC value.

Encodings are named once here and used by every parser (see docs/formats/time_encodings.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import overload

UTC = UTC
UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
COCOA_EPOCH = datetime(2001, 1, 1, tzinfo=UTC)

# encoding name -> (epoch, microseconds per unit, or nanoseconds-per-microsecond divisor for ns)
_NUMERIC_ENCODINGS: dict[str, tuple[datetime, int, int]] = {
    "unix_s": (UNIX_EPOCH, 1_000_000, 1),
    "unix_ms": (UNIX_EPOCH, 1_000, 1),
    "unix_us": (UNIX_EPOCH, 1, 1),
    "unix_ns": (UNIX_EPOCH, 1, 1_000),
    "cocoa_s": (COCOA_EPOCH, 1_000_000, 1),
    "cocoa_ns": (COCOA_EPOCH, 1, 1_000),
}
# EXIF "YYYY:MM:DD HH:MM:SS" with an optional "+HH:MM" offset ("exif_local" when no offset is known)
EXIF_ENCODINGS = ("exif_local", "exif_offset")
# The note of an EXIF time without an offset: the ordinary case, not damage (callers need not warn).
EXIF_LOCAL_NOTE = "local camera time, UTC offset unknown: not converted"

# Plausible device-time window; values outside it are kept raw but not converted (no invented dates).
_EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
_LATEST = datetime(2100, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Timestamp:
    """A decoded time: the raw value as stored, its encoding, and the UTC instant (None if not decodable)."""

    raw: int | float | str | None
    encoding: str
    utc: datetime | None
    note: str = ""  # e.g. "local time, offset unknown — assumed UTC"


def decode(raw: int | float | str | None, encoding: str) -> Timestamp:
    """Decode a stored time. Zero/NULL and out-of-range values give utc=None, never a made-up date."""
    if raw is None or raw == "" or raw == 0:
        return Timestamp(raw, encoding, None)
    if encoding in _NUMERIC_ENCODINGS:
        return _decode_numeric(raw, encoding)
    if encoding in EXIF_ENCODINGS:
        return _decode_exif(str(raw))
    raise ValueError(f"unknown time encoding {encoding!r}")


def _decode_numeric(raw: int | float | str, encoding: str) -> Timestamp:
    epoch, micros_per_unit, divisor = _NUMERIC_ENCODINGS[encoding]
    try:
        value = raw if isinstance(raw, int) else float(raw)
        # integers stay integers so millisecond and nanosecond values convert exactly
        micros = value * micros_per_unit // divisor if isinstance(value, int) else value * micros_per_unit / divisor
        utc = epoch + timedelta(microseconds=micros)
    except (ValueError, OverflowError):
        return Timestamp(raw, encoding, None, "not a number or out of range")
    if not _EARLIEST <= utc < _LATEST:
        return Timestamp(raw, encoding, None, "outside 1990-2100: not converted")
    return Timestamp(raw, encoding, utc)


_EXIF_RE = re.compile(r"^\s*(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?\s*([+-]\d{2}:?\d{2}|Z)?\s*$")
# A UTC offset that can be converted: "Z" or ±HH:MM (colon optional), hours < 24 and minutes < 60.
# Anything else (OffsetTimeOriginal "+", "+25:00", "-12:61") is damage: kept raw, never converted,
# since folding 61 minutes into the hours would invent a time.
_OFFSET_RE = re.compile(r"Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d")


def _decode_exif(raw: str, offset: str | None = None) -> Timestamp:
    m = _EXIF_RE.match(raw)
    if not m:
        return Timestamp(raw, "exif_local", None, "not an EXIF date")
    y, mo, d, h, mi, s, frac, tz = m.groups()
    tz = tz or offset
    try:
        micro = int((frac or "0")[:6].ljust(6, "0"))
        naive = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), micro)
    except ValueError:
        return Timestamp(raw, "exif_local", None, "invalid calendar date")
    if tz and not _OFFSET_RE.fullmatch(tz):
        return Timestamp(
            f"{raw} {offset}" if offset else raw,
            "exif_local",
            None,
            f"UTC offset {tz!r} is not ±HH:MM (hours < 24, minutes < 60): not converted",
        )
    if tz:
        stored = f"{raw} {offset}" if offset else raw
        try:
            utc = naive.replace(tzinfo=parse_offset(tz)).astimezone(UTC)
        except OverflowError:  # year 1 or 9999 shifted by the offset leaves datetime's range
            return Timestamp(
                stored,
                "exif_offset",
                None,
                "outside the representable dates once the UTC offset is applied: not converted",
            )
        return Timestamp(stored, "exif_offset", utc)
    # A camera clock without an offset is local time in an unknown zone: keep it raw, never guess UTC.
    return Timestamp(raw, "exif_local", None, EXIF_LOCAL_NOTE)


def decode_exif(raw: str, offset: str | None = None) -> Timestamp:
    """EXIF DateTimeOriginal with its OffsetTimeOriginal when the camera recorded one."""
    return _decode_exif(raw, offset.strip() if offset else None)


def parse_offset(text: str) -> timezone:
    """ "Z" or ±HH:MM / ±HHMM as a timezone; anything else is a ValueError naming the text."""
    if not _OFFSET_RE.fullmatch(text):
        raise ValueError(f"UTC offset {text!r} is not ±HH:MM (hours < 24, minutes < 60)")
    if text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4])))


@overload
def iso(t: datetime) -> str: ...
@overload
def iso(t: None) -> None: ...
@overload
def iso(t: datetime | None) -> str | None: ...
def iso(t: datetime | None) -> str | None:
    """UTC ISO 8601 with a Z, milliseconds only when present (stable text for reports)."""
    if t is None:
        return None
    t = t.astimezone(UTC) if t.tzinfo else t.replace(tzinfo=UTC)
    text = t.isoformat(timespec="milliseconds" if t.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def now_utc() -> datetime:
    return datetime.now(UTC)
