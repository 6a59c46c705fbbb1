"""Random access into a gzip stream that is inflated once: seek points taken during the first pass.

Why not a library: `indexed_gzip` (zran) was tried here (1.10.3 installs as a wheel) and measured:
on sequential reads it re-inflates from the last seek point for every read beyond its index, so a
280 MB tar stream read in 1 MiB pieces costs 2x the inflation of one pass at 1 MiB spacing and 10x
at 16 MiB - the opposite of "decompressed at most once". `rapidgzip` was not evaluated (its gain is
parallel inflation, and these machines have two cores).

How: the stream is inflated by the standard library's zlib. Every `spacing` bytes of output the
reader stores a seek point: the output offset, the input offset and a copy of the inflater
(`zlib.Decompress.copy()`, zlib's inflateCopy: its state and 32 KiB window, ~45 KB). A read at or
after the current position inflates on (the pass the listing makes anyway); a read elsewhere
restarts from the nearest seek point before it, costing at most `spacing` bytes of inflation; the
last 1 MiB of output is kept, so the small step back tarfile makes between headers costs nothing.
zlib checks each gzip member's CRC-32 and length, so a damaged stream is an error, not silent
garbage; concatenated gzip members (pigz, appended archives) are read as one stream.
"""

from __future__ import annotations

import bisect
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass

ReadAt = Callable[[int, int], bytes]
IN_CHUNK = 1 << 16
OUT_CHUNK = 1 << 18
KEEP = 1 << 20  # recent output kept for short backward reads


@dataclass
class _Cursor:
    inflater: zlib._Decompress
    in_pos: int  # first input byte not yet consumed by the inflater
    out_pos: int  # output bytes produced so far


class GzipRandomAccess:
    """`read_at(offset, size)` over the inflated bytes of a gzip file given by `read_raw`."""

    def __init__(self, read_raw: ReadAt, raw_size: int, spacing: int) -> None:
        self._read_raw, self._raw_size, self.spacing = read_raw, raw_size, spacing
        self._cur = _Cursor(zlib.decompressobj(31), 0, 0)
        self._points_out: list[int] = [0]
        self._points: list[_Cursor] = [_Cursor(self._cur.inflater.copy(), 0, 0)]
        self._recent = bytearray()
        self._recent_start = 0
        self.size: int | None = None  # the inflated size, once the end has been reached
        self.inflated = 0  # bytes inflated in total (restarts included): the cost of random access
        self._lock = threading.Lock()

    def read_at(self, offset: int, size: int) -> bytes:
        with self._lock:
            end = offset + size
            if self._recent_start <= offset and end <= self._cur.out_pos:
                return bytes(self._recent[offset - self._recent_start : end - self._recent_start])
            self._position_for(offset)
            parts, pos = [], offset
            if self._recent_start <= pos < self._cur.out_pos:
                parts.append(bytes(self._recent[pos - self._recent_start : end - self._recent_start]))
                pos = self._cur.out_pos
            while pos < end:
                chunk = self._inflate_some()
                if not chunk:
                    break
                start = self._cur.out_pos - len(chunk)
                if start + len(chunk) > pos:
                    parts.append(chunk[max(0, pos - start) : end - start])
                    pos = min(end, self._cur.out_pos)
            return b"".join(parts)

    def _position_for(self, offset: int) -> None:
        """Restart from a seek point when the cursor is past `offset` or far before it."""
        cur = self._cur
        if self._recent_start <= offset <= cur.out_pos + self.spacing:
            return
        i = bisect.bisect_right(self._points_out, offset) - 1
        point = self._points[i]
        if offset < self._recent_start or point.out_pos > cur.out_pos:
            self._cur = _Cursor(point.inflater.copy(), point.in_pos, point.out_pos)
            self._recent = bytearray()
            self._recent_start = point.out_pos

    def _inflate_some(self) -> bytes:
        """The next piece of output (b"" at the end of the stream); seek points recorded on the way."""
        cur = self._cur
        while True:
            if cur.inflater.eof and not self._next_member():
                self.size = cur.out_pos
                return b""
            if cur.in_pos >= self._raw_size:
                raise OSError(f"the gzip stream ends early (truncated file?) after {cur.out_pos} inflated bytes")
            data = self._read_raw(cur.in_pos, IN_CHUNK)
            try:
                out = cur.inflater.decompress(data, OUT_CHUNK)
            except zlib.error as e:
                raise OSError(f"the gzip stream is damaged after {cur.out_pos} inflated bytes: {e}") from e
            cur.in_pos += len(data) - len(cur.inflater.unconsumed_tail) - len(cur.inflater.unused_data)
            if out:
                self._produced(out)
                return out

    def _next_member(self) -> bool:
        """After one gzip member: another one follows (concatenated gzip), or the stream ends."""
        cur = self._cur
        if self._read_raw(cur.in_pos, 2) != b"\x1f\x8b":
            return False  # end of file (trailing zeros some tools write are ignored, as gzip -d does)
        cur.inflater = zlib.decompressobj(31)
        return True

    def _produced(self, out: bytes) -> None:
        cur = self._cur
        cur.out_pos += len(out)
        self.inflated += len(out)
        self._recent += out
        if len(self._recent) > KEEP:
            drop = len(self._recent) - KEEP
            del self._recent[:drop]
            self._recent_start += drop
        if cur.out_pos >= self._points_out[-1] + self.spacing:
            self._points_out.append(cur.out_pos)
            self._points.append(_Cursor(cur.inflater.copy(), cur.in_pos, cur.out_pos))
