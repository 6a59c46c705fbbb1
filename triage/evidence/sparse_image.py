"""Android sparse images (`simg`, what `img2simg` and fastboot images are): the expanded bytes, read in place.

A sparse image is a header followed by chunks, each standing for a run of output blocks:
RAW (the blocks' bytes follow), FILL (one 4-byte value repeated), DONT_CARE (nothing stored; `simg2img`
leaves a hole, i.e. zeros) and CRC32 (a checksum of the output so far; covers no blocks). The layout
(little-endian) is that of AOSP libsparse `sparse_format.h`:

    file header  magic u32 0xED26FF3A, major u16 (1), minor u16, file_hdr_sz u16 (28), chunk_hdr_sz u16 (12),
                 blk_sz u32, total_blks u32, total_chunks u32, image_checksum u32
    chunk header chunk_type u16, reserved u16, chunk_sz u32 (output blocks), total_sz u32 (header + data bytes)

Opening reads only the chunk headers and builds an index (output offset → chunk); `read_at` finds its
chunk by bisection and reads the RAW bytes with pread, so nothing is ever expanded to disk. The media
bytes (and so the media hashes) are those `simg2img` writes. CRC32 chunks are read for structure but,
as `simg2img` does by default, not verified.

Damage never stops the reader: from the first chunk whose header or data is missing or inconsistent,
the rest of the declared output is marked unreadable, `read_at` raises OSError for it (TSK sees a
read error, the hash pass hashes zeros and names the range), and `warnings` says what was wrong.
"""

from __future__ import annotations

import bisect
import struct
from dataclasses import dataclass
from pathlib import Path

from triage.errors import EvidenceError
from triage.evidence.images import ImageStream, _Segment

SPARSE_MAGIC = 0xED26FF3A
MAGIC_BYTES = struct.pack("<I", SPARSE_MAGIC)
FILE_HEADER = struct.Struct("<IHHHHIIII")  # 28 bytes
CHUNK_HEADER = struct.Struct("<HHII")  # 12 bytes
RAW, FILL, DONT_CARE, CRC32 = 0xCAC1, 0xCAC2, 0xCAC3, 0xCAC4
MAX_OUTPUT = 1 << 50  # 1 PiB: a header declaring more than this is damaged, not a phone


@dataclass(frozen=True)
class _Run:
    """A stretch of output bytes and where they come from."""

    start: int  # output offset
    length: int
    kind: int  # RAW, FILL, DONT_CARE, or 0 for unreadable
    source: int = 0  # RAW: offset of the data in the sparse file
    fill: bytes = b""  # FILL: the 4-byte pattern
    reason: str = ""  # unreadable: why


def is_sparse(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(4) == MAGIC_BYTES


class SparseImage(ImageStream):
    """The expanded media of one Android sparse image file."""

    kind = "android-sparse"

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.warnings: list[str] = []
        self._file = _Segment(path)
        try:
            self._runs = self._index()
        except BaseException:
            self._file.close()
            raise
        self._starts = [r.start for r in self._runs]

    @property
    def files(self) -> list[Path]:
        return [self._file.path]

    @property
    def layer(self) -> str:
        return f"Android sparse {self._file.path.name}"

    # -- the chunk index ----------------------------------------------------------------------------
    def _index(self) -> list[_Run]:
        name = self._file.path.name
        head = self._file.pread(0, FILE_HEADER.size)
        if len(head) < FILE_HEADER.size:
            raise EvidenceError(
                f"{name}: Android sparse header truncated ({len(head)} of {FILE_HEADER.size} "
                f"bytes); the file is damaged or not a sparse image"
            )
        (_magic, major, _minor, file_hdr_sz, chunk_hdr_sz, blk_sz, total_blks, total_chunks, _checksum) = (
            FILE_HEADER.unpack(head)
        )
        problem = _header_problem(major, file_hdr_sz, chunk_hdr_sz, blk_sz, total_blks)
        if problem:
            raise EvidenceError(
                f"{name}: not a readable Android sparse image: {problem}; convert it with "
                f"simg2img to check, or examine the file as raw data"
            )
        self.block_size, self.total_chunks = blk_sz, total_chunks
        self.size = total_blks * blk_sz
        return self._walk_chunks(file_hdr_sz, chunk_hdr_sz, blk_sz, total_blks, total_chunks)

    def _walk_chunks(self, pos: int, chunk_hdr_sz: int, blk_sz: int, total_blks: int, total_chunks: int) -> list[_Run]:
        runs: list[_Run] = []
        block = 0
        file_size = self._file.size
        for number in range(total_chunks):
            raw = self._file.pread(pos, CHUNK_HEADER.size)
            if len(raw) < CHUNK_HEADER.size:
                return self._broken(
                    runs, block, f"chunk {number} of {total_chunks} is missing (file ends at byte {file_size})"
                )
            ctype, _reserved, chunk_sz, total_sz = CHUNK_HEADER.unpack(raw)
            where = f"chunk {number} (type {ctype:#06x}) at byte {pos}"
            data_at, data_len = pos + chunk_hdr_sz, total_sz - chunk_hdr_sz
            expected = {RAW: chunk_sz * blk_sz, FILL: 4, DONT_CARE: 0, CRC32: 4}.get(ctype)
            if expected is None:
                return self._broken(runs, block, f"{where} has an unknown chunk type")
            if data_len != expected:
                return self._broken(
                    runs,
                    block,
                    f"{where} declares {total_sz} bytes, {chunk_hdr_sz + expected} expected for {chunk_sz} block(s)",
                )
            if block + chunk_sz > total_blks:
                return self._broken(runs, block, f"{where} runs past the {total_blks} blocks the header declares")
            length = chunk_sz * blk_sz
            if ctype == RAW:
                present = max(0, min(length, file_size - data_at))
                if present:
                    runs.append(_Run(block * blk_sz, present, RAW, source=data_at))
                if present < length:
                    return self._broken(
                        runs,
                        block * blk_sz + present,
                        f"{where} is truncated: {present} of {length} data bytes present",
                        in_bytes=True,
                    )
            elif ctype == FILL:
                fill = self._file.pread(data_at, 4)
                if len(fill) < 4:
                    return self._broken(runs, block, f"{where} is truncated: its fill value is missing")
                if length:
                    runs.append(_Run(block * blk_sz, length, FILL, fill=fill))
            elif ctype == DONT_CARE and length:
                runs.append(_Run(block * blk_sz, length, DONT_CARE))
            block += chunk_sz  # a CRC32 chunk has chunk_sz 0: it covers no output
            pos = data_at + data_len
        if block < total_blks:
            # simg2img sets the output length from the header; blocks no chunk covers stay holes (zeros)
            self.warnings.append(
                f"{self.layer}: the chunks cover {block} of the {total_blks} blocks the "
                f"header declares; the remaining blocks read as zeros, as simg2img leaves them"
            )
            runs.append(_Run(block * blk_sz, (total_blks - block) * blk_sz, DONT_CARE))
        if pos < file_size:
            self.warnings.append(
                f"{self.layer}: {file_size - pos} bytes after the last chunk are not part of the image and are ignored"
            )
        return runs

    def _broken(self, runs: list[_Run], at: int, reason: str, in_bytes: bool = False) -> list[_Run]:
        """Mark everything from `at` (a block, or a byte offset when `in_bytes`) to the end unreadable."""
        start = at if in_bytes else at * self.block_size
        if start < self.size:
            runs.append(_Run(start, self.size - start, 0, reason=reason))
        self.warnings.append(
            f"{self.layer}: {reason}; output bytes {start}-{self.size - 1} cannot be read "
            f"(read errors; hashed as zeros)"
        )
        return runs

    # -- reading ----------------------------------------------------------------------------------
    def read_at(self, offset: int, size: int) -> bytes:
        if offset < 0:
            raise ValueError(f"negative offset {offset}")
        size = max(0, min(size, self.size - offset))
        parts: list[bytes] = []
        i = bisect.bisect_right(self._starts, offset) - 1
        while size > 0 and 0 <= i < len(self._runs):
            run = self._runs[i]
            inside = offset - run.start
            want = min(size, run.length - inside)
            parts.append(self._bytes_of(run, inside, want))
            offset += want
            size -= want
            i += 1
        return b"".join(parts)

    def _bytes_of(self, run: _Run, inside: int, want: int) -> bytes:
        if run.kind == RAW:
            data = self._file.pread(run.source + inside, want)
            if len(data) < want:  # the file shrank after it was indexed
                raise OSError(f"{self.layer}: sparse data at byte {run.source + inside} is no longer readable")
            return data
        if run.kind == FILL:
            if run.fill == b"\x00\x00\x00\x00":  # most FILL chunks are free space: zeros are cheapest
                return bytes(want)
            phase = inside % 4
            return (run.fill[phase:] + run.fill * ((want + 7) // 4))[:want]
        if run.kind == DONT_CARE:
            return bytes(want)
        raise OSError(f"{self.layer}: output byte {run.start + inside} is in a damaged part: {run.reason}")

    def close(self) -> None:
        if getattr(self, "_file", None) is not None:
            self._file.close()
        super().close()


def _header_problem(major: int, file_hdr_sz: int, chunk_hdr_sz: int, blk_sz: int, total_blks: int) -> str:
    """Why a header cannot be interpreted (libsparse refuses the same), or "" when it can."""
    if major != 1:
        return f"major version {major} (only 1 exists)"
    if file_hdr_sz < FILE_HEADER.size or chunk_hdr_sz < CHUNK_HEADER.size:
        return f"header sizes {file_hdr_sz}/{chunk_hdr_sz} are below the minimum {FILE_HEADER.size}/{CHUNK_HEADER.size}"
    if blk_sz == 0 or blk_sz % 4:
        return f"block size {blk_sz} is not a positive multiple of 4"
    if total_blks * blk_sz > MAX_OUTPUT:
        return f"it declares {total_blks} blocks of {blk_sz} bytes (over 1 PiB)"
    return ""
