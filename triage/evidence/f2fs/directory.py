"""Directory entries: dentry blocks and inline dentries.

A dentry block is a bitmap (bit i, least significant first, marks slot i in use), 214 11-byte
dentries (hash, ino, name length, file type) and 214 8-byte name slots; a long name takes several
consecutive slots. A directory is a multi-level hash table of such blocks (level n has a power of two
buckets of 2 or 4 blocks), but listing needs no hashing: every block the directory maps is read. A
small directory keeps the same structure, scaled to fit, inline in its inode.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

DENTRY_SIZE = 11
SLOT_LEN = 8
DENTRIES_PER_BLOCK = 214
BLOCK_BITMAP_BYTES = 27
BLOCK_RESERVED_BYTES = 3
_DENTRY = struct.Struct("<IIHB")  # hash_code, ino, name_len, file_type

FILE_TYPES = {1: "file", 2: "dir", 7: "link", 3: "other", 4: "other", 5: "other", 6: "other"}


@dataclass(frozen=True)
class Dentry:
    name: bytes
    ino: int
    file_type: int


@dataclass(frozen=True)
class DentryLayout:
    """Where bitmap, dentries and names lie in a dentry area of one size."""

    count: int
    bitmap: int
    dentries: int
    names: int

    @classmethod
    def block(cls) -> DentryLayout:
        dentries = BLOCK_BITMAP_BYTES + BLOCK_RESERVED_BYTES
        return cls(DENTRIES_PER_BLOCK, 0, dentries, dentries + DENTRIES_PER_BLOCK * DENTRY_SIZE)

    @classmethod
    def inline(cls, area_size: int) -> DentryLayout:
        """The inline layout: as many entries as fit with one bitmap bit each, the remainder reserved."""
        count = area_size * 8 // ((DENTRY_SIZE + SLOT_LEN) * 8 + 1)
        bitmap_bytes = (count + 7) // 8
        reserved = area_size - ((DENTRY_SIZE + SLOT_LEN) * count + bitmap_bytes)
        dentries = bitmap_bytes + reserved
        return cls(count, 0, dentries, dentries + count * DENTRY_SIZE)


def parse_dentries(area: bytes, layout: DentryLayout, problems: list[str]) -> list[Dentry]:
    """The entries in use in one dentry area; inconsistencies are appended to `problems`."""
    bitmap = area[layout.bitmap : layout.bitmap + (layout.count + 7) // 8]
    found: list[Dentry] = []
    i = 0
    while i < layout.count:
        if not bitmap[i >> 3] & (1 << (i & 7)):
            i += 1
            continue
        _hash, ino, name_len, ftype = _DENTRY.unpack_from(area, layout.dentries + i * DENTRY_SIZE)
        slots = (name_len + SLOT_LEN - 1) // SLOT_LEN
        if name_len == 0 or i + slots > layout.count:
            problems.append(f"dentry slot {i}: name length {name_len} does not fit")
            i += 1
            continue
        start = layout.names + i * SLOT_LEN
        found.append(Dentry(bytes(area[start : start + name_len]), ino, ftype))
        i += slots
    return found
