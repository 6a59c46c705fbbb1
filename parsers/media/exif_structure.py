"""EXIF structure check: IFD loops and offsets outside the EXIF block.

exifread reads what it can of a damaged EXIF block and says nothing of what it skipped: an IFD chain
that points back at itself is cut short, a value whose offset lies past the block is dropped. For
the record those are facts about the file, so this walk names them (the tags that could be read are
still used). The walk follows IFD0 → IFD1 … and the Exif, GPS and Interoperability sub-IFDs, visits
each offset once and never reads outside the block.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

EXIF_HEADER = b"Exif\x00\x00"
TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
SUB_IFDS = {0x8769: "ExifIFD", 0x8825: "GPS IFD", 0xA005: "Interoperability IFD"}
MAX_REPORTED = 5
WEBP_MAX_CHUNKS = 1_000  # a WebP has a handful of chunks; a damaged length cannot make the walk endless


def jpeg_exif_block(jpeg: bytes) -> bytes | None:
    """The TIFF block of a JPEG's first APP1 EXIF segment (None when there is none before the image data)."""
    pos = 2
    while pos + 4 <= len(jpeg) and jpeg[pos] == 0xFF:
        marker = jpeg[pos + 1]
        if marker in (0xD9, 0xDA):  # end of image, start of scan: metadata segments come before
            return None
        length = struct.unpack_from(">H", jpeg, pos + 2)[0]
        if marker == 0xE1 and jpeg[pos + 4 : pos + 10] == EXIF_HEADER:
            return jpeg[pos + 10 : pos + 2 + length]
        pos += 2 + length
    return None


def webp_exif_block(stream: BinaryIO, size: int) -> bytes | None:
    """The TIFF block of a WebP's RIFF 'EXIF' chunk (None when there is none).

    exifread 3.5 only looks when the VP8X header flags EXIF, and then skips six bytes for an
    "Exif\\0\\0" prefix that the WebP container spec does not have (Pillow and libwebp write the
    TIFF block bare), so it misreads the chunk; this walk takes the payload either way."""
    stream.seek(0)
    header = stream.read(12)
    if header[:4] != b"RIFF" or header[8:12] != b"WEBP":
        return None
    pos = 12
    for _ in range(WEBP_MAX_CHUNKS):
        stream.seek(pos)
        chunk = stream.read(8)
        if len(chunk) < 8:
            return None
        length = struct.unpack_from("<I", chunk, 4)[0]
        if chunk[:4] == b"EXIF":
            payload = stream.read(min(length, size))
            return payload[len(EXIF_HEADER) :] if payload.startswith(EXIF_HEADER) else payload
        pos += 8 + length + (length & 1)  # chunks are padded to an even length
    return None


def check_exif(tiff: bytes) -> list[str]:
    """What is wrong with the structure of a TIFF/EXIF block (empty list: nothing found)."""
    if len(tiff) < 8:
        return [f"EXIF block of {len(tiff)} bytes is too short for a TIFF header"]
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if order is None:
        return [f"EXIF block has no TIFF byte-order mark (starts {tiff[:2]!r})"]
    walk = _Walk(tiff, order)
    walk.run(struct.unpack_from(order + "I", tiff, 4)[0])
    problems = walk.problems
    if len(problems) > MAX_REPORTED:
        problems = problems[:MAX_REPORTED] + [f"… and {len(problems) - MAX_REPORTED} more EXIF structure problem(s)"]
    return problems


class _Walk:
    def __init__(self, tiff: bytes, order: str) -> None:
        self.tiff, self.order = tiff, order
        self.seen: dict[int, str] = {}
        self.problems: list[str] = []

    def run(self, first: int) -> None:
        queue = [(first, "IFD0")]
        while queue:
            offset, name = queue.pop(0)
            queue.extend(self._ifd(offset, name))

    def _ifd(self, offset: int, name: str) -> list[tuple[int, str]]:
        size = len(self.tiff)
        if offset in self.seen:
            self.problems.append(
                f"{name} offset {offset} points back at {self.seen[offset]}: the IFDs loop (not followed again)"
            )
            return []
        if offset + 2 > size:
            self.problems.append(f"{name} offset {offset} lies outside the {size}-byte EXIF block (not read)")
            return []
        self.seen[offset] = name
        count = struct.unpack_from(self.order + "H", self.tiff, offset)[0]
        fits = (size - offset - 2) // 12
        if count > fits:
            self.problems.append(f"{name} at offset {offset} declares {count} entries, only {fits} fit in the block")
            count = fits
        found = []
        for i in range(count):
            tag, kind, n, value = struct.unpack_from(self.order + "HHII", self.tiff, offset + 2 + 12 * i)
            if tag in SUB_IFDS:
                found.append((value, SUB_IFDS[tag]))
                continue
            length = TYPE_SIZES.get(kind, 0) * n
            if length > 4 and value + length > size:
                self.problems.append(
                    f"{name} tag 0x{tag:04X}: {n} value(s) ({length} bytes) at offset {value} lie "
                    f"outside the {size}-byte EXIF block (not read)"
                )
        after = offset + 2 + 12 * count
        if after + 4 <= size:
            following = struct.unpack_from(self.order + "I", self.tiff, after)[0]
            if following and name[3:].isdigit():  # IFD0 → IFD1 …; sub-IFDs have no chain of their own
                found.append((following, f"IFD{int(name[3:]) + 1}"))
        return found
