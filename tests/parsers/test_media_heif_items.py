"""The HEIF Exif item reader (parsers/media/heif_items.py) on an `iloc` box built to make it work without end."""

from __future__ import annotations

import io
import struct

import pytest

from parsers.media.heif_items import MAX_EXTENTS, _item_extents, heif_exif_block


def box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(body), kind) + body


def iloc_body(items: int, extents: int, field_sizes: int) -> bytes:
    """An iloc (version 0) listing `items` items of `extents` extents each; `field_sizes` is the byte holding
    offset_size and length_size (0: extents of no bytes at all)."""
    item = struct.pack(">HHH", 1, 0, extents) + bytes(extents * ((field_sizes >> 4) + (field_sizes & 15)))
    return bytes([0, 0, 0, 0, field_sizes, 0]) + struct.pack(">H", items) + item * items


@pytest.mark.parametrize(
    ("items", "extents", "field_sizes", "why"),
    [
        # 24 bytes claiming 196,605 extents of no bytes (65,535 such items in 393 KB: hours, before)
        (3, 65_535, 0x00, f"more than {MAX_EXTENTS:,} extents"),
        (1, 65_535, 0x44, "run past the box"),  # 8 bytes each claimed, 8 given
    ],
)
def test_an_iloc_claiming_more_extents_than_it_can_hold_is_refused(items, extents, field_sizes, why):
    body = iloc_body(items, extents, field_sizes)
    if field_sizes:
        body = body[:14]  # the first item's header and one extent
    with pytest.raises(ValueError, match=why):
        _item_extents(body)


def test_a_file_with_such_an_iloc_has_no_exif_item_and_is_read_at_once():
    iinf = box(b"iinf", bytes([0, 0, 0, 0]) + struct.pack(">H", 0))
    meta = box(b"meta", b"\0\0\0\0" + iinf + box(b"iloc", iloc_body(65_535, 65_535, 0x00)))
    data = box(b"ftyp", b"heic\0\0\0\0") + meta
    assert heif_exif_block(io.BytesIO(data), len(data)) is None


def test_real_pictures_stay_well_inside_the_bound():
    """A 48 MP picture in 256-pixel tiles is ~750 items of one extent each."""
    assert _item_extents(iloc_body(750, 1, 0x44)) == {1: [(0, 0)]}
