"""The F2FS harness's input form: an image as its non-zero byte runs, so that a fuzz input stays small.

The smallest image mkfs.f2fs makes is 64 MiB, nearly all zeros; libFuzzer mutating 64 MiB inputs
would be useless. An input is instead:

    u32 LE  image size in 4 KiB blocks (clamped to 2 … MAX_BLOCKS)
    u8      options: bit 0 = recompute the superblock and checkpoint CRCs after the runs are laid
    then runs until the input ends:  u32 LE byte offset, u16 LE length, `length` bytes

over a zero background (a later run overwrites an earlier one). Recomputing the CRCs lets mutations
of the checkpoint reach the NAT, inode and dentry code behind it instead of failing the CRC check.
"""

from __future__ import annotations

import re
import struct

BLOCK = 4096
MAX_BLOCKS = 1 << 16  # 256 MiB: beyond any seed, and still cheap (only touched blocks are stored)
HEADER = struct.Struct("<IB")
RUN = struct.Struct("<IH")
FIX_CRCS = 0x01
_F2FS_MAGIC = 0xF2F52010


class SparseImage:
    """The blocks an input wrote, zeros elsewhere; `read_at` as a Region expects it."""

    def __init__(self, size_blocks: int) -> None:
        self.size = size_blocks * BLOCK
        self.blocks: dict[int, bytearray] = {}

    def write(self, offset: int, data: bytes) -> None:
        data = data[: max(0, self.size - offset)]
        while data:
            index, inner = divmod(offset, BLOCK)
            piece = data[: BLOCK - inner]
            block = self.blocks.setdefault(index, bytearray(BLOCK))
            block[inner : inner + len(piece)] = piece
            offset += len(piece)
            data = data[len(piece) :]

    def read_at(self, offset: int, size: int) -> bytes:
        end = min(offset + size, self.size)
        out = bytearray()
        while offset < end:
            index, inner = divmod(offset, BLOCK)
            n = min(BLOCK - inner, end - offset)
            block = self.blocks.get(index)
            out += block[inner : inner + n] if block is not None else bytes(n)
            offset += n
        return bytes(out)


def decode_input(data: bytes) -> SparseImage:
    if len(data) < HEADER.size:
        return SparseImage(2)
    blocks, options = HEADER.unpack_from(data, 0)
    image = SparseImage(min(max(blocks, 2), MAX_BLOCKS))
    pos = HEADER.size
    while pos + RUN.size <= len(data):
        offset, length = RUN.unpack_from(data, pos)
        pos += RUN.size
        image.write(offset, data[pos : pos + length])
        pos += length
    if options & FIX_CRCS:
        fix_crcs(image)
    return image


def encode_image(raw: bytes, options: int = FIX_CRCS) -> bytes:
    """A whole image in the input form (runs of non-zero bytes, short zero gaps kept inside a run)."""
    out = bytearray(HEADER.pack(len(raw) // BLOCK, options))
    for m in re.finditer(rb"[^\0](?:\0{0,15}[^\0])*", raw):
        start, chunk = m.start(), m.group()
        for i in range(0, len(chunk), 0xFFFF):
            out += RUN.pack(start + i, len(chunk[i : i + 0xFFFF])) + chunk[i : i + 0xFFFF]
    return bytes(out)


def encode_sparse(image: SparseImage, options: int = FIX_CRCS) -> bytes:
    """An image already in memory (e.g. a seed with a few fields changed) back in the input form."""
    out = bytearray(HEADER.pack(image.size // BLOCK, options))
    for index in sorted(image.blocks):
        for m in re.finditer(rb"[^\0](?:\0{0,15}[^\0])*", bytes(image.blocks[index])):
            out += RUN.pack(index * BLOCK + m.start(), len(m.group())) + m.group()
    return bytes(out)


def f2fs_crc(data: bytes) -> int:
    import zlib

    return zlib.crc32(data, _F2FS_MAGIC ^ 0xFFFFFFFF) ^ 0xFFFFFFFF


def fix_crcs(image: SparseImage) -> None:
    """Make the superblock and checkpoint checksums match what the runs wrote (offsets as in the reader)."""
    for copy in (0, 1):
        block = image.blocks.get(copy)
        if block is None:
            continue
        sb = memoryview(block)[1024:]
        crc_offset = struct.unpack_from("<I", sb, 32)[0]
        if 0 < crc_offset <= len(sb) - 4:
            struct.pack_into("<I", sb, crc_offset, f2fs_crc(bytes(sb[:crc_offset])))
    head = image.blocks.get(0)
    if head is None:
        return
    cp_blkaddr = struct.unpack_from("<I", head, 1024 + 76)[0]
    log_bps = struct.unpack_from("<I", head, 1024 + 20)[0]
    if log_bps > 20:
        return
    for start in (cp_blkaddr, cp_blkaddr + (1 << log_bps)):
        first = image.blocks.get(start)
        if first is None:
            continue
        total = struct.unpack_from("<I", first, 136)[0]
        for index in {start, start + total - 1} if 0 < total <= 4096 else {start}:
            _fix_cp_block(image.blocks.get(index))


def _fix_cp_block(block: bytearray | None) -> None:
    if block is None:
        return
    crc_offset = struct.unpack_from("<I", block, 164)[0]
    if 192 <= crc_offset <= BLOCK - 4 and crc_offset % 4 == 0:
        struct.pack_into("<I", block, crc_offset, f2fs_crc(bytes(block[:crc_offset])))
