"""A regular file's content as a seekable, read-only stream: inline, block-mapped or compressed.

Reads are served a node's address array at a time: consecutive physical blocks are fetched with one
read, holes (NULL_ADDR, NEW_ADDR and absent node blocks) come back as zeros without touching the
image, and the last decompressed cluster is kept for sequential readers.
"""

from __future__ import annotations

from collections.abc import Sequence

from triage.evidence.f2fs.compression import cluster_payload, decompress
from triage.evidence.f2fs.inode import BlockMap, Inode
from triage.evidence.f2fs.layout import BLOCK, COMPRESS_ADDR, NEW_ADDR, NULL_ADDR, F2fsError
from triage.evidence.f2fs.nat import Device
from triage.evidence.streams import SeekableReader

_EMPTY = (NULL_ADDR, NEW_ADDR)


class F2fsFile(SeekableReader):
    def __init__(self, device: Device, blocks: BlockMap, inode: Inode, where: str) -> None:
        super().__init__(inode.size)
        self.device, self.blocks, self.inode, self.where = device, blocks, inode, where
        self.size = inode.size
        self._cluster: tuple[int, bytes] | None = None
        if inode.has_inline_data and inode.size > len(inode.inline_data):
            raise F2fsError(f"inline file of {inode.size} bytes but the inline area holds {len(inode.inline_data)}")

    # -- io plumbing (position and seeking from SeekableReader) ----------------------------------
    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = 0
        for part in self._parts(self._pos, len(buffer)):  # straight into the caller's buffer: no join
            buffer[n : n + len(part)] = part
            n += len(part)
        self._pos += n
        return n

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            return self.readall()
        data = self.read_at(self._pos, size)
        self._pos += len(data)
        return data

    def _read_at(self, offset: int, size: int) -> bytes:
        return self.read_at(offset, size)

    # -- content ---------------------------------------------------------------------------------
    def read_at(self, offset: int, size: int) -> bytes:
        return b"".join(self._parts(offset, size))

    def _parts(self, offset: int, size: int) -> list[bytes | memoryview]:
        """The bytes [offset, offset+size) (clipped to the file) as pieces, in order."""
        end = min(offset + size, self.size)
        if end <= offset:
            return []
        try:
            if self.inode.has_inline_data:
                return [self.inode.inline_data[offset:end]]
            if self.inode.compressed:
                return [self._read_compressed(offset, end)]
            return self._read_blocks(offset, end)
        except F2fsError as e:
            raise OSError(f"{self.where}: cannot read bytes {offset}-{end - 1}: {e}") from e

    def _read_blocks(self, offset: int, end: int) -> list[bytes | memoryview]:
        first, last = offset // BLOCK, (end - 1) // BLOCK
        parts: list[bytes | memoryview] = []
        index = first
        while index <= last:
            start, length, addrs = self.blocks.segment(index)
            stop = min(last + 1, start + length)
            if addrs is None:
                parts.append(bytes((stop - index) * BLOCK))
            else:
                parts.extend(self._fetch(addrs[index - start : stop - start]))
            index = stop
        # trim the first and last block to the range asked for, without copying
        skip = offset - first * BLOCK
        if skip:
            parts[0] = memoryview(parts[0])[skip:]
        excess = (last + 1) * BLOCK - end
        if excess:
            parts[-1] = memoryview(parts[-1])[: len(parts[-1]) - excess]
        return parts

    def _fetch(self, addrs: Sequence[int]) -> list[bytes]:
        """The blocks at `addrs`, one image read per run of consecutive addresses; holes as zeros."""
        parts = []
        i, n = 0, len(addrs)
        while i < n:
            addr = addrs[i]
            j = i + 1
            if addr in _EMPTY or addr == COMPRESS_ADDR:
                while j < n and addrs[j] in _EMPTY:
                    j += 1
                parts.append(bytes((j - i) * BLOCK))
            else:
                self.device.check_data_addr(addr)
                while j < n and addrs[j] == addr + (j - i):
                    j += 1
                parts.append(self.device.read(addr, j - i))
            i = j
        return parts

    def _read_compressed(self, offset: int, end: int) -> bytes:
        cluster_bytes = BLOCK << self.inode.log_cluster_size
        first, last = offset // cluster_bytes, (end - 1) // cluster_bytes
        data = b"".join(self._cluster_data(c) for c in range(first, last + 1))
        skip = offset - first * cluster_bytes
        return data[skip : skip + end - offset]

    def _cluster_data(self, cluster: int) -> bytes:
        if self._cluster is not None and self._cluster[0] == cluster:
            return self._cluster[1]
        per = 1 << self.inode.log_cluster_size
        size = per * BLOCK
        start, _length, addrs = self.blocks.segment(cluster * per)
        if addrs is None:
            data = bytes(size)
        else:
            slots = addrs[cluster * per - start : cluster * per - start + per]
            if slots[0] == COMPRESS_ADDR:
                stored = [a for a in slots[1:] if a not in _EMPTY]
                raw = b"".join(self._fetch(stored))
                data = decompress(self.inode.compress_algorithm or 0, cluster_payload(raw), size)
                data += bytes(size - len(data))
            else:
                data = b"".join(self._fetch(slots))  # a cluster that did not compress well is stored plain
        self._cluster = (cluster, data)
        return data
