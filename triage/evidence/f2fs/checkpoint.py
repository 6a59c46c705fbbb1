"""Checkpoint packs: the newer of the two valid packs says which NAT copy is current and holds the NAT journal.

A pack is a run of blocks at the start of segment 0 or 1 of the checkpoint area: the checkpoint block,
its payload blocks, orphan blocks, summaries, and a closing copy of the checkpoint block. A pack is valid
when both copies pass their CRC and carry the same version.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

from triage.evidence.f2fs.layout import BLOCK, F2fsError, Superblock, f2fs_crc32

# checkpoint flags
CP_UMOUNT = 0x0001
CP_ORPHAN_PRESENT = 0x0002
CP_COMPACT_SUM = 0x0004
CP_ERROR = 0x0008
CP_FASTBOOT = 0x0020
CP_LARGE_NAT_BITMAP = 0x0400

CP_BITMAP_OFFSET = 192  # sit_nat_version_bitmap[] in the checkpoint block
SUM_ENTRIES_BYTES = 512 * 7  # a summary block's 512 seven-byte entries come before its journal
SUM_JOURNAL_SIZE = 507
NAT_JOURNAL_ENTRY = struct.Struct("<IBII")  # nid, then the NAT entry (version, ino, block_addr)
NAT_JOURNAL_MAX = (SUM_JOURNAL_SIZE - 2) // NAT_JOURNAL_ENTRY.size  # 38
NR_CURSEG_DATA = 3
NR_CURSEG_PERSIST = 6  # data + node summaries, written at unmount

ReadBlock = Callable[[int], bytes]


@dataclass(frozen=True)
class Checkpoint:
    pack: int  # 1 or 2
    start: int  # block address of the pack
    version: int
    flags: int
    total_blocks: int
    valid_inode_count: int
    valid_node_count: int
    nat_bitmap: bytes  # bit set (most significant bit first) = the second copy of that NAT block is current
    nat_journal: dict[int, tuple[int, int]]  # nid -> (ino, block address): newer than the NAT blocks


def read_checkpoint(read_block: ReadBlock, sb: Superblock, warn: Callable[[str], None], where: str) -> Checkpoint:
    """The newer valid pack; a damaged pack is reported when the other one is used instead."""
    valid: list[Checkpoint] = []
    problems: dict[int, str] = {}
    for pack in (1, 2):
        start = sb.cp_blkaddr + (pack - 1) * sb.blocks_per_seg
        try:
            valid.append(_read_pack(read_block, sb, pack, start))
        except F2fsError as e:
            problems[pack] = str(e)
    if not valid:
        raise F2fsError(f"no valid checkpoint pack (pack 1: {problems[1]}; pack 2: {problems[2]})")
    best = max(valid, key=lambda cp: cp.version)  # on a tie pack 1, as the kernel does (sload leaves ties)
    for pack, reason in problems.items():
        warn(
            f"{where}: F2FS checkpoint pack {pack} is damaged ({reason}); using pack {best.pack} "
            f"(version {best.version})"
        )
    if best.flags & CP_ERROR:
        warn(
            f"{where}: the F2FS checkpoint carries the error flag (the kernel found corruption); "
            f"some files may be damaged"
        )
    return best


def _read_pack(read_block: ReadBlock, sb: Superblock, pack: int, start: int) -> Checkpoint:
    head = read_block(start)
    version, crc_offset = _checked(head, "first checkpoint block")
    flags, total, start_sum = struct.unpack_from("<III", head, 132)
    if not 2 <= total <= sb.blocks_per_seg:
        raise F2fsError(f"implausible pack length {total} blocks")
    tail = read_block(start + total - 1)
    tail_version, _ = _checked(tail, "last checkpoint block")
    if tail_version != version:
        raise F2fsError(f"first and last blocks disagree (versions {version} and {tail_version}): torn write")
    valid_nodes, valid_inodes = struct.unpack_from("<II", head, 144)
    sit_bytes, nat_bytes = struct.unpack_from("<II", head, 156)
    return Checkpoint(
        pack=pack,
        start=start,
        version=version,
        flags=flags,
        total_blocks=total,
        valid_inode_count=valid_inodes,
        valid_node_count=valid_nodes,
        nat_bitmap=_nat_bitmap(head, sb, flags, sit_bytes, nat_bytes, crc_offset),
        nat_journal=_nat_journal(read_block, start, flags, total, start_sum),
    )


def _checked(block: bytes, what: str) -> tuple[int, int]:
    """(version, checksum offset) of a checkpoint block whose CRC matches; F2fsError otherwise."""
    if len(block) < BLOCK:
        raise F2fsError(f"{what} lies past the end of the image")
    version = struct.unpack_from("<Q", block, 0)[0]
    crc_offset = struct.unpack_from("<I", block, 164)[0]
    if not CP_BITMAP_OFFSET <= crc_offset <= BLOCK - 4 or crc_offset % 4:
        raise F2fsError(f"{what}: checksum offset {crc_offset} out of range")
    stored = struct.unpack_from("<I", block, crc_offset)[0]
    computed = f2fs_crc32(block[:crc_offset])
    if stored != computed:
        raise F2fsError(f"{what}: CRC mismatch (stored {stored:#010x}, computed {computed:#010x})")
    return version, crc_offset


def _nat_bitmap(head: bytes, sb: Superblock, flags: int, sit_bytes: int, nat_bytes: int, crc_offset: int) -> bytes:
    """Where the NAT version bitmap lies depends on the large-NAT flag and on checkpoint payload blocks."""
    if flags & CP_LARGE_NAT_BITMAP:
        offset = CP_BITMAP_OFFSET + 4  # the checksum sits in front of the bitmaps
    elif sb.cp_payload > 0:
        offset = CP_BITMAP_OFFSET  # the SIT bitmap moved to the payload blocks
    else:
        offset = CP_BITMAP_OFFSET + sit_bytes
    end = offset + nat_bytes
    if end > BLOCK or (crc_offset > CP_BITMAP_OFFSET and end > crc_offset):
        raise F2fsError(f"NAT version bitmap ({nat_bytes} bytes at {offset}) does not fit the checkpoint block")
    return bytes(head[offset:end])


def _nat_journal(
    read_block: ReadBlock, start: int, flags: int, total: int, start_sum: int
) -> dict[int, tuple[int, int]]:
    """NAT entries kept in the hot-data summary's journal (recent changes not yet in the NAT blocks)."""
    if flags & CP_COMPACT_SUM:
        block, offset = read_block(start + start_sum), 0  # compacted: the NAT journal opens the first block
    else:
        base = NR_CURSEG_PERSIST if flags & (CP_UMOUNT | CP_FASTBOOT) else NR_CURSEG_DATA
        block, offset = read_block(start + total - (base + 1)), SUM_ENTRIES_BYTES  # hot data = type 0
    if len(block) < BLOCK:
        raise F2fsError("summary block lies past the end of the image")
    count = struct.unpack_from("<H", block, offset)[0]
    if count > NAT_JOURNAL_MAX:
        raise F2fsError(f"NAT journal claims {count} entries (at most {NAT_JOURNAL_MAX})")
    journal = {}
    for i in range(count):
        nid, _version, ino, addr = NAT_JOURNAL_ENTRY.unpack_from(block, offset + 2 + i * NAT_JOURNAL_ENTRY.size)
        journal[nid] = (ino, addr)
    return journal
