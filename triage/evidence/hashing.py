"""The acquisition hash: MD5, SHA-1 and SHA-256 of the media in one sequential pass.

The pass is the floor of a run's duration, so it reads big chunks (8 MiB) and feeds the three
digests from three threads (hashlib releases the GIL; MD5 alone is the bottleneck at ~0.7 GB/s).
A read error never ends the pass: the unreadable range is hashed as zeros (as EnCase and
`ewfverify -w` do), named in `read_errors`, and makes the result unverified.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Callable

from triage.evidence.images import EwfImage, ImageStream, short_reason
from triage.evidence.model import MediaHashes, ProgressCallback

CHUNK = 8 << 20  # 4-8 MiB: chunk size makes no difference to hashlib, big reads help EWF and disks
RETRY_BLOCK = 64 << 10  # after a failed chunk, re-read in blocks this size to narrow the bad range
QUEUE_DEPTH = 3  # chunks in flight per digest: bounds memory to ~3 x 8 MiB whatever the image size
ReadAt = Callable[[int, int], bytes]


class TripleHasher:
    """MD5 + SHA-1 + SHA-256 of one byte stream, each digest fed by its own thread."""

    NAMES = ("md5", "sha1", "sha256")

    def __init__(self) -> None:
        self._digests = {name: hashlib.new(name) for name in self.NAMES}
        self._queues: dict[str, queue.Queue[bytes | None]] = {n: queue.Queue(QUEUE_DEPTH) for n in self.NAMES}
        self._threads = [
            threading.Thread(target=self._work, args=(n,), daemon=True, name=f"hash-{n}") for n in self.NAMES
        ]
        for t in self._threads:
            t.start()
        self._closed = False

    def _work(self, name: str) -> None:
        digest, q = self._digests[name], self._queues[name]
        while (data := q.get()) is not None:
            digest.update(data)

    def update(self, data: bytes) -> None:
        for q in self._queues.values():
            q.put(data)

    def finish(self) -> dict[str, str]:
        """Wait for the threads and return the hex digests; the hasher cannot be fed afterwards."""
        if not self._closed:
            for q in self._queues.values():
                q.put(None)
            for t in self._threads:
                t.join()
            self._closed = True
        return {name: d.hexdigest() for name, d in self._digests.items()}


def hash_image(stream: ImageStream, progress: ProgressCallback | None = None) -> MediaHashes:
    """The media hashes of an image, with the hashes and header an E01 stored at acquisition."""
    hashes = hash_media(stream.read_at, stream.size, progress)
    if isinstance(stream, EwfImage):
        hashes.stored = stream.stored_hashes()
        hashes.headers = stream.header_values()
    return hashes


def hash_media(read_at: ReadAt, size: int, progress: ProgressCallback | None = None) -> MediaHashes:
    """Hash `size` bytes read through `read_at(offset, n)`; read failures are recorded, never raised."""
    hasher = TripleHasher()
    errors: list[str] = []
    offset = 0
    try:
        while offset < size:
            want = min(CHUNK, size - offset)
            data = _read_chunk(read_at, offset, want, errors)
            if data:
                hasher.update(data)
                offset += len(data)
            if progress:
                progress(offset, size)
            if len(data) < want:
                errors.append(
                    f"the media ends at byte {offset}, before its declared size of {size} bytes "
                    f"(truncated image?); the hashes cover the first {offset} bytes only"
                )
                break
    finally:
        digests = hasher.finish()
    return MediaHashes(
        size=offset, md5=digests["md5"], sha1=digests["sha1"], sha256=digests["sha256"], read_errors=errors
    )


def _read_chunk(read_at: ReadAt, offset: int, want: int, errors: list[str]) -> bytes:
    try:
        return read_at(offset, want)
    except OSError:
        return _read_in_blocks(read_at, offset, want, errors)


def _read_in_blocks(read_at: ReadAt, offset: int, want: int, errors: list[str]) -> bytes:
    """Re-read a failed chunk block by block: good blocks keep their bytes, bad ones become zeros."""
    parts: list[bytes] = []
    bad_start: int | None = None
    bad_reason = ""
    pos, end = offset, offset + want
    while pos < end:
        n = min(RETRY_BLOCK, end - pos)
        try:
            block = read_at(pos, n)
        except OSError as e:
            block = b"\x00" * n
            if bad_start is None:
                bad_start, bad_reason = pos, short_reason(e)
        else:
            if bad_start is not None:
                errors.append(_bad_range(bad_start, pos, bad_reason))
                bad_start = None
        parts.append(block)
        pos += len(block)
        if len(block) < n:
            break
    if bad_start is not None:
        errors.append(_bad_range(bad_start, pos, bad_reason))
    return b"".join(parts)


def _bad_range(start: int, end: int, reason: str) -> str:
    return f"read error in bytes {start}-{end - 1} (hashed as zeros): {reason}"


def sha256_of_stream(read: Callable[[int], bytes]) -> str:
    """SHA-256 of a file-like object's remaining bytes, read in big chunks (errors propagate)."""
    digest = hashlib.sha256()
    while chunk := read(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()
