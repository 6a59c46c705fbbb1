"""F2FS on-disk constants, the checksum, and the superblock (primary in block 0, backup in block 1).

Only 4 KiB blocks are read (every Android device to date that uses F2FS with 4 KiB pages). All
integers on disk are little-endian.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from triage.errors import EvidenceError

F2FS_MAGIC = 0xF2F52010
SUPER_OFFSET = 1024  # the superblock starts 1 KiB into block 0 (and into block 1 for the backup)
BLOCK = 4096
LOG_BLOCK = 12
BLOCKS_PER_SEG = 512

# special block addresses in an inode's or a direct node's address array
NULL_ADDR = 0  # a hole: reads as zeros
NEW_ADDR = 0xFFFFFFFF  # reserved, never written: reads as zeros
COMPRESS_ADDR = 0xFFFFFFFE  # first slot of a compressed cluster

# node geometry for 4 KiB blocks
ADDRS_PER_INODE = 923  # i_addr[] slots
ADDRS_PER_BLOCK = 1018  # addresses in a direct node block
NIDS_PER_BLOCK = 1018  # node ids in an indirect node block
NODE_FOOTER = 4072  # node footer: nid, ino, flag, cp_ver, next_blkaddr
NAT_ENTRY_SIZE = 9  # version u8, ino u32, block_addr u32
NAT_ENTRIES_PER_BLOCK = BLOCK // NAT_ENTRY_SIZE  # 455

# superblock feature bits
FEATURE_ENCRYPT = 0x0001
FEATURE_EXTRA_ATTR = 0x0008
FEATURE_FLEXIBLE_INLINE_XATTR = 0x0040
FEATURE_INODE_CRTIME = 0x0100
FEATURE_SB_CHKSUM = 0x0800
FEATURE_CASEFOLD = 0x1000
FEATURE_COMPRESSION = 0x2000


class F2fsError(EvidenceError):
    """A structure of the F2FS file system cannot be read (damaged, truncated or unsupported)."""


def f2fs_crc32(data: bytes) -> int:
    """F2FS's checksum: CRC-32 (little-endian polynomial) seeded with the magic, no final inversion.

    zlib's crc32 inverts its register before and after; inverting the seed and the result undoes both.
    """
    return zlib.crc32(data, F2FS_MAGIC ^ 0xFFFFFFFF) ^ 0xFFFFFFFF


_SB_HEAD = struct.Struct("<IHH7IQ16I")  # magic … meta_ino (offsets 0-107)


@dataclass(frozen=True)
class Superblock:
    major: int
    minor: int
    log_sectorsize: int
    log_sectors_per_block: int
    log_blocksize: int
    log_blocks_per_seg: int
    block_count: int
    segment_count_nat: int
    segment0_blkaddr: int
    cp_blkaddr: int
    sit_blkaddr: int
    nat_blkaddr: int
    ssa_blkaddr: int
    main_blkaddr: int
    root_ino: int
    node_ino: int
    meta_ino: int
    uuid: bytes
    volume_name: str
    cp_payload: int
    feature: int
    first_device: str  # devs[0].path: non-empty on a multi-device file system
    copy: int  # 0 primary, 1 backup

    @property
    def blocks_per_seg(self) -> int:
        return 1 << self.log_blocks_per_seg

    def has(self, feature: int) -> bool:
        return bool(self.feature & feature)


def parse_superblock(block: bytes, copy: int) -> Superblock:
    """The superblock in `block` (the 4 KiB block that holds it at 1 KiB); F2fsError if invalid."""
    raw = block[SUPER_OFFSET : SUPER_OFFSET + 3072]
    if len(raw) < 3072:
        raise F2fsError("block too short (truncated image)")
    (
        magic,
        major,
        minor,
        log_sector,
        log_spb,
        log_block,
        log_bps,
        _segs_per_sec,
        _secs_per_zone,
        crc_offset,
        block_count,
        _section_count,
        _segment_count,
        _seg_ckpt,
        _seg_sit,
        seg_nat,
        _seg_ssa,
        _seg_main,
        segment0,
        cp,
        sit,
        nat,
        ssa,
        main,
        root_ino,
        node_ino,
        meta_ino,
    ) = _SB_HEAD.unpack_from(raw)
    if magic != F2FS_MAGIC:
        raise F2fsError(f"no F2FS magic (found {magic:#010x})")
    feature = struct.unpack_from("<I", raw, 2180)[0]
    if feature & FEATURE_SB_CHKSUM:
        if not 0 < crc_offset <= len(raw) - 4:
            raise F2fsError(f"checksum offset {crc_offset} out of range")
        stored = struct.unpack_from("<I", raw, crc_offset)[0]
        if f2fs_crc32(raw[:crc_offset]) != stored:
            raise F2fsError("superblock checksum mismatch")
    if log_block != LOG_BLOCK:
        raise F2fsError(f"block size {1 << min(log_block, 40)} bytes is not supported (only 4096)")
    if log_bps != 9 or not 9 <= log_sector <= 12 or log_sector + log_spb != LOG_BLOCK:
        raise F2fsError(f"implausible geometry (log sector size {log_sector}, log blocks per segment {log_bps})")
    if not segment0 <= cp < sit < nat < ssa < main < block_count:
        raise F2fsError(
            f"area addresses out of order (checkpoint {cp}, SIT {sit}, NAT {nat}, SSA {ssa}, "
            f"main {main}, blocks {block_count})"
        )
    if not 3 <= root_ino < (1 << 32) - 1:
        raise F2fsError(f"implausible root inode number {root_ino}")
    name = raw[124 : 124 + 1024].decode("utf-16-le", errors="replace").split("\x00", 1)[0]
    dev0 = raw[2201 : 2201 + 64].split(b"\x00", 1)[0].decode("utf-8", errors="backslashreplace")
    return Superblock(
        major=major,
        minor=minor,
        log_sectorsize=log_sector,
        log_sectors_per_block=log_spb,
        log_blocksize=log_block,
        log_blocks_per_seg=log_bps,
        block_count=block_count,
        segment_count_nat=seg_nat,
        segment0_blkaddr=segment0,
        cp_blkaddr=cp,
        sit_blkaddr=sit,
        nat_blkaddr=nat,
        ssa_blkaddr=ssa,
        main_blkaddr=main,
        root_ino=root_ino,
        node_ino=node_ino,
        meta_ino=meta_ino,
        uuid=raw[108:124],
        volume_name=name,
        cp_payload=struct.unpack_from("<I", raw, 1664)[0],
        feature=feature,
        first_device=dev0,
        copy=copy,
    )


def has_magic(block: bytes) -> bool:
    return block[SUPER_OFFSET : SUPER_OFFSET + 4] == F2FS_MAGIC.to_bytes(4, "little")
