"""JPEG structure check: is the compressed image data intact? (EXIF can be fine while the picture is not.)

A damaged flash page or a truncated copy shows up as bytes the JPEG grammar does not allow:
- inside entropy-coded data 0xFF must be followed by 0x00 (stuffing), 0xFF (fill), a restart marker
  RST0-7 (which must count 0,1,…,7,0,… within a scan) or a real marker that ends the scan;
- the stream must end with EOI (0xFFD9).
Bytes after EOI are reported as a fact, not a fault: phones append trailers (motion photos, Samsung).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field

# markers that may follow entropy-coded data: SOFn/DHT/DAC (C0-CF), SOS, DQT, DNL, DRI, DHP, EXP, APPn, COM
_SEGMENT_AFTER_SCAN = set(range(0xC0, 0xD0)) | {0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF} | set(range(0xE0, 0xF0)) | {0xFE}
_NEXT_MARKER = re.compile(rb"\xff[^\x00\xff\xd0-\xd7]")
_RST = re.compile(rb"\xff[\xd0-\xd7]")
MAX_REPORTED = 3


@dataclass
class JpegCheck:
    problems: list[str] = field(default_factory=list)
    trailing_bytes: int = 0  # after EOI


def check_jpeg(data: bytes) -> JpegCheck:
    out = JpegCheck()
    if not data.startswith(b"\xff\xd8"):
        out.problems.append("not a JPEG stream (no SOI marker)")
        return out
    pos = 2
    while pos < len(data):
        if data[pos] != 0xFF:
            out.problems.append(f"expected a marker at offset {pos}, found byte 0x{data[pos]:02X}")
            return out
        while pos < len(data) and data[pos] == 0xFF:  # fill bytes before a marker are legal
            pos += 1
        if pos >= len(data):
            break
        marker = data[pos]
        pos += 1
        if marker == 0xD9:
            out.trailing_bytes = len(data) - pos
            return out
        if marker in (0x01,) or 0xD0 <= marker <= 0xD8:
            continue  # standalone markers carry no length
        if pos + 2 > len(data):
            break
        (length,) = struct.unpack_from(">H", data, pos)
        if length < 2:
            out.problems.append(f"segment 0xFF{marker:02X} at offset {pos - 2} has impossible length {length}")
            return out
        pos += length
        if marker == 0xDA:
            pos = _scan(data, pos, out)
            if pos < 0:
                return out
    out.problems.append("no EOI marker: the file is truncated")
    return out


def _scan(data: bytes, start: int, out: JpegCheck) -> int:
    """Walk one scan's entropy-coded data; return the offset of the marker that ends it (-1 = stop)."""
    m = _NEXT_MARKER.search(data, start)
    end = m.start() if m else len(data)
    expected = 0
    for rst in _RST.finditer(data, start, end):
        n = rst.group()[1] - 0xD0
        if n != expected and len(out.problems) < MAX_REPORTED:
            out.problems.append(
                f"restart marker RST{n} at offset {rst.start()} where RST{expected} was expected "
                "(image data damaged or missing)"
            )
        expected = (n + 1) % 8
    if m is None:
        return len(data)
    marker = data[m.start() + 1]
    if marker == 0xD9 or marker in _SEGMENT_AFTER_SCAN:
        return m.start()
    out.problems.append(
        f"invalid marker 0xFF{marker:02X} inside the image data at offset {m.start()} (image data damaged)"
    )
    return -1
