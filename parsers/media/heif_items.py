"""The Exif item of a HEIF file, located through its own `iinf` and `iloc` boxes (ISO/IEC 23008-12).

Used when libheif and exifread both refuse a damaged file: a broken property box (`iprp`) or a bad
size elsewhere does not touch the Exif item, whose bytes are still where `iloc` says. Only what the
Exif item needs is read: item types from `iinf`, extents (file offsets, construction method 0) from
`iloc`; every offset is checked against the file size.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

from parsers.media.video_metadata import VideoMeta, iter_boxes

MAX_ITEM_BYTES = 1 << 20  # an Exif item is a few KiB; a larger claim is not read
# extents listed in `iloc`, all items together, at most: a photo's tiles are hundreds of items of one extent each.
# An extent of zero-sized fields takes no bytes, so the box's size alone did not bound them: 658 bytes claiming 100
# items of 65,535 extents each took 1.9 s, and 393 KB (65,535 such items) would take hours and more memory than any
# machine has, in the photo worker and then in the run, which parses again what a dead worker had.
MAX_EXTENTS = 65_536


def heif_exif_block(f: BinaryIO, size: int) -> bytes | None:
    """The TIFF block of the Exif item (after its 4-byte header offset), or None when it cannot be found."""
    sink = VideoMeta()
    meta = next((b for b in iter_boxes(f, 0, size, sink) if b.type == b"meta"), None)
    if meta is None:
        return None
    children = {b.type: b for b in iter_boxes(f, meta.body + 4, meta.end, sink)}
    if b"iinf" not in children or b"iloc" not in children:
        return None
    try:
        exif_ids = _exif_item_ids(_read(f, children[b"iinf"].body, children[b"iinf"].end))
        extents = _item_extents(_read(f, children[b"iloc"].body, children[b"iloc"].end))
    except (struct.error, ValueError):
        return None
    for item in exif_ids:
        data = b""
        for offset, length in extents.get(item, []):
            if offset + length > size or length > MAX_ITEM_BYTES:
                return None
            data += _read(f, offset, offset + length)
        if len(data) >= 4:
            start = 4 + struct.unpack_from(">I", data, 0)[0]  # exif_tiff_header_offset
            tiff = data[start:]
            if tiff[:4] in (b"MM\x00*", b"II*\x00"):
                return tiff
    return None


def _read(f: BinaryIO, start: int, end: int) -> bytes:
    f.seek(start)
    return f.read(max(0, min(end - start, MAX_ITEM_BYTES)))


def _exif_item_ids(iinf: bytes) -> list[int]:
    version = iinf[0]
    pos = 4 + (4 if version else 2)  # version/flags, entry count
    found = []
    while pos + 8 <= len(iinf):
        box_size, kind = struct.unpack_from(">I4s", iinf, pos)
        if box_size < 8:
            break
        if kind == b"infe" and iinf[pos + 8] >= 2:
            id_size = 2 if iinf[pos + 8] == 2 else 4
            item_id = int.from_bytes(iinf[pos + 12 : pos + 12 + id_size], "big")
            item_type = iinf[pos + 12 + id_size + 2 : pos + 12 + id_size + 6]
            if item_type == b"Exif":
                found.append(item_id)
        pos += box_size
    return found


def _item_extents(iloc: bytes) -> dict[int, list[tuple[int, int]]]:
    version = iloc[0]
    offset_size, length_size = iloc[4] >> 4, iloc[4] & 15
    base_size, index_size = iloc[5] >> 4, (iloc[5] & 15) if version in (1, 2) else 0
    pos = 6
    count_size = 4 if version == 2 else 2
    count = int.from_bytes(iloc[pos : pos + count_size], "big")
    pos += count_size
    out: dict[int, list[tuple[int, int]]] = {}
    listed = 0
    for _ in range(count):
        id_size = 4 if version == 2 else 2
        item_id = int.from_bytes(iloc[pos : pos + id_size], "big")
        pos += id_size
        method = 0
        if version in (1, 2):
            method = int.from_bytes(iloc[pos : pos + 2], "big") & 15
            pos += 2
        pos += 2  # data_reference_index
        base = int.from_bytes(iloc[pos : pos + base_size], "big")
        pos += base_size
        extents = int.from_bytes(iloc[pos : pos + 2], "big")
        pos += 2
        if extents * (index_size + offset_size + length_size) > len(iloc) - pos:
            raise ValueError("iloc extents run past the box")
        listed += extents
        if listed > MAX_EXTENTS:
            raise ValueError(f"iloc lists more than {MAX_EXTENTS:,} extents")
        spans = []
        for _ in range(extents):
            pos += index_size
            offset = int.from_bytes(iloc[pos : pos + offset_size], "big")
            pos += offset_size
            length = int.from_bytes(iloc[pos : pos + length_size], "big")
            pos += length_size
            spans.append((base + offset, length))
        if pos > len(iloc):
            raise ValueError("iloc box cut short")
        if method == 0:  # file offsets; idat (1) and item (2) constructions are not needed for Exif here
            out[item_id] = spans
    return out
