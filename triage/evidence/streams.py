"""The one seekable, read-only stream shape every reader hands to parsers.

Subclasses give the size and `_read_at(offset, size)`; this class supplies position keeping, seeking
from start/current/end, `readinto` and a chunked `readall`. A subclass that must stream (a deflated zip
member) overrides `readinto` instead.
"""

from __future__ import annotations

import io
from typing import BinaryIO

READALL_CHUNK = 4 << 20


class SeekableReader(io.RawIOBase):
    def __init__(self, size: int) -> None:
        super().__init__()
        self._size = size
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError(f"negative seek position {base + offset}")
        self._pos = base + offset
        return self._pos

    def _read_at(self, offset: int, size: int) -> bytes:
        raise NotImplementedError

    def readinto(self, buffer) -> int:  # noqa: ANN001 - any writable buffer
        want = min(len(buffer), self._size - self._pos)
        if want <= 0:
            return 0
        data = self._read_at(self._pos, want)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def readall(self) -> bytes:
        parts = []
        while chunk := self.read(READALL_CHUNK):
            parts.append(chunk)
        return b"".join(parts)


def buffered(raw: io.RawIOBase, size: int = 1 << 16) -> BinaryIO:
    """The buffered, read-only stream readers hand out (cheap small reads, e.g. parsers' header sniffing)."""
    return io.BufferedReader(raw, buffer_size=size)
