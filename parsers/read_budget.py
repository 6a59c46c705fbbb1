"""A file object that stops a third-party decoder which keeps reading: a loop on damaged input.

Some readers trust sizes and offsets inside the file to move forward. exifread 3.5.1's HEIF box walk
is one: a box whose 64-bit size is 0 "ends" where it starts, so the walk reads the same 16 bytes for
ever (fuzz/RESULTS.md, exif 5). Such a loop cannot be seen from outside except by its count of reads,
so the decoder gets the file through this wrapper, which raises ReadBudgetExceeded once it has been
asked for more reads and seeks than any real file of its kind needs. The caller records that as a
warning naming the file; the decoder's own code is left as published.
"""

from __future__ import annotations

from typing import BinaryIO


class ReadBudgetExceeded(Exception):
    """The decoder asked for more reads than its budget: it is looping on damaged input.

    Not an OSError or ValueError, which decoders catch and carry on from (and would loop again)."""


class BudgetedReader:
    """read/seek/tell over `stream`, at most `budget` read and seek calls in all."""

    def __init__(self, stream: BinaryIO, budget: int, what: str) -> None:
        self._stream, self._left, self._budget, self._what = stream, budget, budget, what

    def read(self, size: int = -1) -> bytes:
        self._spend()
        return self._stream.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        self._spend()
        return self._stream.seek(offset, whence)

    def tell(self) -> int:
        return self._stream.tell()

    def _spend(self) -> None:
        self._left -= 1
        if self._left < 0:
            raise ReadBudgetExceeded(
                f"{self._what} stopped after {self._budget} reads and seeks, far more than "
                f"any real file needs: its structure loops (damaged or crafted file)"
            )
