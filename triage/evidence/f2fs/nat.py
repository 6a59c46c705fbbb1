"""Block reads and node lookups: the NAT maps a node id (nid) to the block that holds the node.

Each NAT block exists twice (in alternating segments); the checkpoint's bitmap says which copy is
current, and the checkpoint's NAT journal overrides both for recently changed nids. NAT blocks are
cached: a listing of a whole file system touches each one many times.
"""

from __future__ import annotations

import struct
from collections import OrderedDict

from triage.evidence.f2fs.checkpoint import Checkpoint
from triage.evidence.f2fs.layout import (
    BLOCK,
    NAT_ENTRIES_PER_BLOCK,
    NAT_ENTRY_SIZE,
    NEW_ADDR,
    NODE_FOOTER,
    NULL_ADDR,
    F2fsError,
    Superblock,
)
from triage.evidence.filesystems import Region

NAT_CACHE_BLOCKS = 8192  # 32 MiB at most; 455 nids per block, so ~3.7 million nids
NODE_CACHE_BLOCKS = 512
_NAT_ENTRY = struct.Struct("<BII")
_FOOTER = struct.Struct("<IIIQI")  # nid, ino, flag, cp_ver, next_blkaddr


class Device:
    """The file system's blocks, bounds-checked against the superblock and the image."""

    def __init__(self, region: Region, sb: Superblock) -> None:
        self.region, self.sb = region, sb
        self.blocks_in_image = region.size // BLOCK

    def read(self, addr: int, count: int = 1) -> bytes:
        """`count` blocks from `addr`; F2fsError when they lie outside the file system or the image."""
        if addr < 0 or addr + count > self.sb.block_count:
            raise F2fsError(f"block {addr} (+{count}) lies outside the file system ({self.sb.block_count} blocks)")
        data = self.region.read(addr * BLOCK, count * BLOCK)
        if len(data) < count * BLOCK:
            raise F2fsError(
                f"block {addr + len(data) // BLOCK} lies past the end of the image, which holds "
                f"{self.blocks_in_image} of the file system's {self.sb.block_count} blocks "
                f"(truncated image?)"
            )
        return data

    def read_meta(self, addr: int) -> bytes:
        """A metadata block, or a short one at the end of a truncated image (the caller reports it)."""
        try:
            return self.read(addr)
        except F2fsError:
            return b""

    def check_data_addr(self, addr: int) -> None:
        if not self.sb.main_blkaddr <= addr < self.sb.block_count:
            raise F2fsError(
                f"block address {addr} lies outside the main area ({self.sb.main_blkaddr}-{self.sb.block_count - 1})"
            )


class NodeTable:
    """nid -> node block, through the current NAT copy and the checkpoint's NAT journal."""

    def __init__(self, device: Device, sb: Superblock, cp: Checkpoint) -> None:
        self.device, self.sb, self.cp = device, sb, cp
        nat_blocks = (sb.segment_count_nat // 2) << sb.log_blocks_per_seg
        self.max_nid = nat_blocks * NAT_ENTRIES_PER_BLOCK
        self._nat: OrderedDict[int, bytes] = OrderedDict()
        self._nodes: OrderedDict[int, bytes] = OrderedDict()

    def entry(self, nid: int) -> tuple[int, int]:
        """(ino, block address) of node `nid`."""
        if nid in self.cp.nat_journal:
            return self.cp.nat_journal[nid]
        if not 0 < nid < self.max_nid:
            raise F2fsError(f"node id {nid} is outside the NAT (0-{self.max_nid - 1})")
        block = self._nat_block(nid // NAT_ENTRIES_PER_BLOCK)
        _version, ino, addr = _NAT_ENTRY.unpack_from(block, (nid % NAT_ENTRIES_PER_BLOCK) * NAT_ENTRY_SIZE)
        return ino, addr

    def _nat_block(self, index: int) -> bytes:
        block = self._nat.get(index)
        if block is not None:
            self._nat.move_to_end(index)
            return block
        per_seg = self.sb.blocks_per_seg
        addr = self.sb.nat_blkaddr + ((index // per_seg) * 2 * per_seg) + index % per_seg
        if _bit_msb_first(self.cp.nat_bitmap, index):
            addr += per_seg  # the second copy is the current one
        try:
            block = self.device.read(addr)
        except F2fsError as e:
            raise F2fsError(f"NAT block {index}: {e}") from e
        self._nat[index] = block
        if len(self._nat) > NAT_CACHE_BLOCKS:
            self._nat.popitem(last=False)
        return block

    def node(self, nid: int, ino: int | None = None) -> bytes:
        """The node block of `nid`, checked: its footer must name `nid` (and `ino` when given)."""
        block = self._nodes.get(nid)
        if block is not None:
            self._nodes.move_to_end(nid)
            return block
        nat_ino, addr = self.entry(nid)
        if addr in (NULL_ADDR, NEW_ADDR):
            raise F2fsError(f"node {nid} is not allocated (its NAT entry is empty)")
        if not self.sb.main_blkaddr <= addr < self.sb.block_count:
            raise F2fsError(
                f"the NAT entry of node {nid} points at block {addr}, outside the main area "
                f"({self.sb.main_blkaddr}-{self.sb.block_count - 1})"
            )
        block = self.device.read(addr)
        foot_nid, foot_ino, _flag, _cp_ver, _next = _FOOTER.unpack_from(block, NODE_FOOTER)
        if foot_nid != nid:
            raise F2fsError(f"block {addr}, named by the NAT for node {nid}, holds node {foot_nid}")
        if ino is not None and foot_ino != ino:
            raise F2fsError(f"node {nid} belongs to inode {foot_ino}, not {ino}")
        if nat_ino != foot_ino:
            raise F2fsError(f"node {nid}: NAT says inode {nat_ino}, its footer says {foot_ino}")
        self._nodes[nid] = block
        if len(self._nodes) > NODE_CACHE_BLOCKS:
            self._nodes.popitem(last=False)
        return block


def _bit_msb_first(bitmap: bytes, index: int) -> bool:
    byte = index >> 3
    return byte < len(bitmap) and bool(bitmap[byte] & (0x80 >> (index & 7)))
