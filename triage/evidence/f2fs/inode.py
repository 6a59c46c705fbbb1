"""Inodes and their block maps.

An inode node block holds the attributes, then (after the optional extra attribute area) the direct
address slots i_addr[], whose tail may be taken by inline xattrs, and i_nid[5]: two direct node
blocks, two indirect and one double-indirect. Small files and directories keep their content inline,
in the address slots, instead. For compressed files the slots per node are rounded down to whole
clusters.
"""

from __future__ import annotations

import struct
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property

from triage.evidence.f2fs.layout import (
    ADDRS_PER_BLOCK,
    ADDRS_PER_INODE,
    FEATURE_FLEXIBLE_INLINE_XATTR,
    FEATURE_INODE_CRTIME,
    NIDS_PER_BLOCK,
    NODE_FOOTER,
    F2fsError,
    Superblock,
)
from triage.evidence.f2fs.nat import NodeTable

# i_inline flags
INLINE_XATTR = 0x01
INLINE_DATA = 0x02
INLINE_DENTRY = 0x04
EXTRA_ATTR = 0x20
# i_flags and i_advise bits
COMPR_FL = 0x00000004
ENCRYPT_FL = 0x00000800
FADVISE_ENCRYPT = 0x04
DEFAULT_INLINE_XATTR_ADDRS = 50
INLINE_RESERVED_SLOTS = 1  # the first inline slot is reserved

COMPRESSION_NAMES = {0: "LZO", 1: "LZ4", 2: "zstd", 3: "LZO-RLE"}
I_ADDR = 360  # byte offset of i_addr[0] (and of the extra attribute area) in the inode
I_NID = 4052  # byte offset of i_nid[0]

_HEAD = struct.Struct("<HBBIIIQQQQQIIIIIIIII")  # i_mode … i_namelen (offsets 0-91)
_TYPES = {0o100000: "file", 0o040000: "dir", 0o120000: "link"}


@dataclass(frozen=True)
class Inode:
    nid: int
    mode: int
    links: int
    size: int
    times: dict[str, tuple[int, int] | None]  # mtime/atime/ctime/crtime -> (seconds, nanoseconds)
    flags: int
    advise: int
    inline: int
    current_depth: int
    direct_addrs: int  # i_addr[] slots that map file blocks
    addrs_per_block: int  # slots per direct node block (fewer for compressed files)
    block: bytes = field(repr=False)  # the inode's node block: addresses are decoded only when needed
    addr_offset: int
    nids: tuple[int, ...]
    inline_data: bytes  # the inline area (content or dentries), when INLINE_DATA/INLINE_DENTRY
    compress_algorithm: int | None
    log_cluster_size: int

    @cached_property
    def inode_addrs(self) -> tuple[int, ...]:
        return struct.unpack_from(f"<{self.direct_addrs}I", self.block, self.addr_offset)

    @property
    def type(self) -> str:
        return _TYPES.get(self.mode & 0o170000, "other")

    @property
    def encrypted(self) -> bool:
        return bool(self.advise & FADVISE_ENCRYPT or self.flags & ENCRYPT_FL)

    @property
    def compressed(self) -> bool:
        return self.compress_algorithm is not None

    @property
    def has_inline_data(self) -> bool:
        return bool(self.inline & INLINE_DATA)

    @property
    def has_inline_dentry(self) -> bool:
        return bool(self.inline & INLINE_DENTRY)

    def utc(self, name: str) -> datetime | None:
        value = self.times.get(name)
        if value is None or value == (0, 0):
            return None  # not recorded
        seconds, nanos = value
        return datetime.fromtimestamp(seconds, UTC) + timedelta(microseconds=min(nanos, 999_999_999) // 1000)


def parse_inode(block: bytes, nid: int, sb: Superblock) -> Inode:
    """The inode in node block `block`; F2fsError when its fields contradict each other."""
    (
        mode,
        advise,
        inline,
        _uid,
        _gid,
        links,
        size,
        _blocks,
        atime,
        ctime,
        mtime,
        atime_ns,
        ctime_ns,
        mtime_ns,
        _generation,
        depth,
        _xattr_nid,
        flags,
        _pino,
        _namelen,
    ) = _HEAD.unpack_from(block, 0)
    extra_words, crtime, algorithm, log_cluster, xattr_slots = 0, None, None, 0, 0
    if inline & EXTRA_ATTR:
        extra_isize, inline_xattr_size = struct.unpack_from("<HH", block, I_ADDR)
        if extra_isize % 4 or not 4 <= extra_isize <= 200:
            raise F2fsError(f"inode {nid}: implausible extra attribute size {extra_isize}")
        extra_words = extra_isize // 4
        if sb.has(FEATURE_INODE_CRTIME) and extra_isize >= 24:
            crtime = struct.unpack_from("<QI", block, I_ADDR + 12)
        if flags & COMPR_FL and extra_isize >= 36:
            algorithm, log_cluster = block[I_ADDR + 32], block[I_ADDR + 33]
    if inline & INLINE_XATTR:
        xattr_slots = DEFAULT_INLINE_XATTR_ADDRS
        if inline & EXTRA_ATTR and sb.has(FEATURE_FLEXIBLE_INLINE_XATTR):
            xattr_slots = struct.unpack_from("<H", block, I_ADDR + 2)[0]
    slots = ADDRS_PER_INODE - extra_words - xattr_slots
    if slots < INLINE_RESERVED_SLOTS + 1:
        raise F2fsError(f"inode {nid}: extra attributes and inline xattrs leave no address slots")
    if algorithm is not None and not 0 < log_cluster <= 8:
        raise F2fsError(f"inode {nid}: implausible compression cluster size 2**{log_cluster} blocks")
    cluster = 1 << log_cluster if algorithm is not None else 1
    direct = slots - slots % cluster
    first = I_ADDR + 4 * extra_words
    inline_area = b""
    if inline & (INLINE_DATA | INLINE_DENTRY):
        start = first + 4 * INLINE_RESERVED_SLOTS
        inline_area = bytes(block[start : first + 4 * slots])
    return Inode(
        nid=nid,
        mode=mode,
        links=links,
        size=size,
        times={"mtime": (mtime, mtime_ns), "atime": (atime, atime_ns), "ctime": (ctime, ctime_ns), "crtime": crtime},
        flags=flags,
        advise=advise,
        inline=inline,
        current_depth=depth,
        direct_addrs=direct,
        addrs_per_block=ADDRS_PER_BLOCK - ADDRS_PER_BLOCK % cluster,
        block=block,
        addr_offset=first,
        nids=struct.unpack_from("<5I", block, I_NID),
        inline_data=inline_area,
        compress_algorithm=algorithm,
        log_cluster_size=log_cluster,
    )


class BlockMap:
    """File block index -> physical block address, one node's address array at a time."""

    CACHE = 64

    def __init__(self, nodes: NodeTable, inode: Inode) -> None:
        self.nodes, self.inode = nodes, inode
        self._arrays: OrderedDict[int, tuple[int, ...]] = OrderedDict()

    def segment(self, index: int) -> tuple[int, int, tuple[int, ...] | None]:
        """(first file block, length, addresses or None for an unmapped range) of the array holding `index`."""
        ino = self.inode
        direct, per = ino.direct_addrs, ino.addrs_per_block
        if index < direct:
            return 0, direct, ino.inode_addrs
        i = index - direct
        if i < 2 * per:  # two direct node blocks
            k = i // per
            return direct + k * per, per, self._addrs(ino.nids[k])
        i -= 2 * per
        span = per * NIDS_PER_BLOCK
        base = direct + 2 * per
        if i < 2 * span:  # two indirect node blocks
            k, rest = divmod(i, span)
            if ino.nids[2 + k] == 0:
                return base + k * span, span, None  # the whole indirect subtree is a hole
            j = rest // per
            child = self._child(ino.nids[2 + k], j)
            return base + k * span + j * per, per, self._addrs(child)
        i -= 2 * span
        base += 2 * span
        if i < NIDS_PER_BLOCK * span:  # the double-indirect node block
            if ino.nids[4] == 0:
                return base, NIDS_PER_BLOCK * span, None
            a, rest = divmod(i, span)
            middle = self._child(ino.nids[4], a)
            if middle == 0:
                return base + a * span, span, None
            b = rest // per
            return base + a * span + b * per, per, self._addrs(self._child(middle, b))
        raise F2fsError(f"inode {ino.nid}: block {index} lies beyond the largest F2FS file")

    @property
    def max_blocks(self) -> int:
        """Blocks the inode can map at most (the largest file this inode could be)."""
        per = self.inode.addrs_per_block
        return self.inode.direct_addrs + 2 * per + (2 + NIDS_PER_BLOCK) * per * NIDS_PER_BLOCK

    def _child(self, nid: int, slot: int) -> int:
        """Entry `slot` of indirect node `nid` (0 when the indirect node itself is absent)."""
        if nid == 0:
            return 0
        return self._array(nid, NIDS_PER_BLOCK)[slot]

    def _addrs(self, nid: int) -> tuple[int, ...] | None:
        if nid == 0:
            return None  # a whole node's worth of holes
        return self._array(nid, self.inode.addrs_per_block)

    def _array(self, nid: int, count: int) -> tuple[int, ...]:
        array = self._arrays.get(nid)
        if array is None:
            block = self.nodes.node(nid, self.inode.nid)
            array = struct.unpack_from(f"<{count}I", block, 0)
            self._arrays[nid] = array
            if len(self._arrays) > self.CACHE:
                self._arrays.popitem(last=False)
        return array


assert NODE_FOOTER == I_NID + 5 * 4  # the layout above fills the node block up to its footer
