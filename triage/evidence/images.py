"""Image containers as read-only byte streams: a raw file, a split raw set, an EWF (E01) set.

Every container is an `ImageStream`: a seekable, read-only `io.RawIOBase` over the *media* bytes
(what the acquired disk held), with positional `read_at(offset, size)` so that The Sleuth Kit and the
hash pass can read without sharing a file position. One `pytsk3.Img_Info` subclass (in tsk.py)
sits on top of any of them.

Nothing here opens a file for writing: raw segments are opened with O_RDONLY, EWF segments by
libewf in read mode.
"""

from __future__ import annotations

import bisect
import io
import os
import re
import threading
from collections.abc import Callable
from pathlib import Path

from triage.errors import EvidenceError

EWF_SIGNATURE = b"EVF\x09\x0d\x0a\xff\x00"
EWF2_SIGNATURE = b"EVF2\x0d\x0a\x81\x00"  # Ex01: libewf reads it too
READ_ALL_CHUNK = 4 << 20
SECTOR = 512


class ImageStream(io.RawIOBase):
    """Read-only view of media bytes; subclasses provide `size`, `read_at`, `files`, `layer`, `kind`."""

    kind: str = "raw"
    size: int = 0

    def __init__(self) -> None:
        super().__init__()
        self._pos = 0

    # -- what subclasses provide ----------------------------------------------------------------
    @property
    def files(self) -> list[Path]:
        """The files on the examiner's disk that hold the media, in segment order."""
        raise NotImplementedError

    @property
    def layer(self) -> str:
        """The first element of every provenance chain, e.g. "EWF ext2.E01"."""
        raise NotImplementedError

    def read_at(self, offset: int, size: int) -> bytes:
        """Up to `size` bytes at `offset` (fewer only at the end of the media)."""
        raise NotImplementedError

    # -- io.RawIOBase plumbing, shared ------------------------------------------------------------
    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise ValueError(f"negative seek position {base + offset}")
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.read_at(self._pos, len(buffer))
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def readall(self) -> bytes:
        # RawIOBase.readall would loop in 8 KiB steps; media reads are cheaper in big chunks
        parts = []
        while chunk := self.read_at(self._pos, READ_ALL_CHUNK):
            parts.append(chunk)
            self._pos += len(chunk)
        return b"".join(parts)

    def describe_segments(self, name: str) -> str:
        extra = len(self.files) - 1
        return name if extra == 0 else f"{name} (+{extra} segment{'s' if extra > 1 else ''})"


class _Segment:
    """One raw segment file, read with pread (no shared file offset, so it is thread safe)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        except OSError as e:
            raise EvidenceError(
                f"cannot open {path.name} for reading: {e.strerror}; check the path and permissions"
            ) from e
        self.size = os.fstat(self.fd).st_size

    def pread(self, offset: int, size: int) -> bytes:
        return os.pread(self.fd, size, offset)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class SegmentedRawImage(ImageStream):
    """A raw image kept in one or more files laid end to end (dd, `split`, FTK `.001`)."""

    def __init__(self, paths: list[Path]) -> None:
        super().__init__()
        self._segments: list[_Segment] = []
        try:
            for p in paths:
                self._segments.append(_Segment(p))
        except EvidenceError:
            self.close()
            raise
        self._starts: list[int] = []
        total = 0
        for seg in self._segments:
            self._starts.append(total)
            total += seg.size
        self.size = total
        self.kind = "raw" if len(paths) == 1 else "split-raw"

    @property
    def files(self) -> list[Path]:
        return [s.path for s in self._segments]

    @property
    def layer(self) -> str:
        first = self._segments[0].path.name
        return f"raw {first}" if self.kind == "raw" else f"split raw {self.describe_segments(first)}"

    def read_at(self, offset: int, size: int) -> bytes:
        if offset < 0:
            raise ValueError(f"negative offset {offset}")
        size = max(0, min(size, self.size - offset))
        parts = []
        i = bisect.bisect_right(self._starts, offset) - 1
        while size > 0 and 0 <= i < len(self._segments):
            seg, start = self._segments[i], self._starts[i]
            want = min(size, seg.size - (offset - start))
            data = seg.pread(offset - start, want)
            parts.append(data)
            if len(data) < want:  # the file shrank since we opened it: report what we have
                break
            offset += want
            size -= want
            i += 1
        return b"".join(parts)

    def close(self) -> None:
        for seg in getattr(self, "_segments", []):
            seg.close()
        super().close()


class EwfImage(ImageStream):
    """An EWF (EnCase E01/Ex01) segment set through libewf (pyewf), with its stored hashes and header."""

    kind = "ewf"

    def __init__(self, first_segment: Path) -> None:
        super().__init__()
        import pyewf

        self._lock = threading.Lock()  # a libewf handle keeps one read position
        self.warnings: list[str] = []  # damage that did not stop the opening (recorded by the run)
        names = _ewf_segment_names(first_segment)
        self._files = [Path(n) for n in names]
        self._handle = pyewf.handle()
        try:
            self._handle.open(names, "r")
            self.size = self._handle.get_media_size()
        except (OSError, ValueError) as e:
            raise EvidenceError(
                f"cannot open EWF image {first_segment.name} ({len(names)} segment(s)): "
                f"{short_reason(e)}; check that every segment is present and complete"
            ) from e
        if self.size <= 0:
            self._handle.close()
            raise EvidenceError(
                f"EWF image {first_segment.name} declares no media data (size 0): it is damaged "
                f"or incomplete; check that every segment is present and complete"
            )
        self._check_complete(first_segment)

    def _check_complete(self, first_segment: Path) -> None:
        """A set with a gap (a later segment beside it, one in between missing) is refused: the examiner
        has the file and should supply it. A set that stops early (the acquisition was interrupted, the
        last segment is cut) is opened with a warning: libewf reads the chunks it can find, the rest are
        read errors (hashed as zeros, files there not parsed), and what is readable is examined.

        The last sector lives in the last segment, so reading it proves the set reaches the end.
        """
        missing = _missing_segments(self._files)
        if missing:
            self._handle.close()
            raise EvidenceError(
                f"EWF image {first_segment.name} has a gap: segment {missing} is missing while "
                f"later segments are present; supply every segment (.E01, .E02, …)"
            )
        tail = min(SECTOR, self.size)
        try:
            self._handle.read_buffer_at_offset(tail, self.size - tail)
        except OSError as e:
            names = ", ".join(p.name for p in self._files)
            self.warnings.append(
                f"{self.layer}: the image is incomplete: its last sector (media size {self.size} "
                f"bytes) cannot be read from the segment(s) found ({names}): {short_reason(e)}; "
                "the readable part is examined, the rest reads as errors (if a segment is missing "
                "or was cut, supply it complete)"
            )

    @property
    def files(self) -> list[Path]:
        return list(self._files)

    @property
    def layer(self) -> str:
        return f"EWF {self.describe_segments(self._files[0].name)}"

    def read_at(self, offset: int, size: int) -> bytes:
        size = max(0, min(size, self.size - offset))
        if size == 0:
            return b""
        with self._lock:
            return self._handle.read_buffer_at_offset(size, offset)

    def stored_hashes(self) -> dict[str, str]:
        """Hashes the acquisition tool stored in the image, keyed "md5"/"sha1"/"sha256" (lower-case hex)."""
        stored = {}
        for key in ("MD5", "SHA1", "SHA256"):  # libewf's keys are upper-case; "md5" gives None
            value = self._handle.get_hash_value(key)
            if value:
                stored[key.lower()] = value.lower()
        return stored

    def header_values(self) -> dict[str, str]:
        """Case number, examiner, evidence number, acquisition date … as the acquisition tool wrote them."""
        values = self._handle.get_header_values() or {}
        return {str(k): str(v) for k, v in sorted(values.items())}

    def close(self) -> None:
        handle = getattr(self, "_handle", None)
        if handle is not None:
            handle.close()
            self._handle = None
        super().close()


def _missing_segments(found: list[Path]) -> str | None:
    """The first segment name missing before a later one that exists beside the set (None: no gap).

    pyewf.glob stops at the first missing name, so a later segment beside the set means a gap."""
    last = found[-1]
    match = re.fullmatch(r"(?P<stem>.*\.)(?P<letter>[EeLl]x?)(?P<num>\d\d)", last.name)
    if match is None:
        return None
    name = lambda n: last.with_name(f"{match['stem']}{match['letter']}{n:02d}")  # noqa: E731
    after = int(match["num"]) + 1
    if any(name(n).exists() for n in range(after + 1, 100)):
        return name(after).name
    return None


def _ewf_segment_names(first_segment: Path) -> list[str]:
    """The segment files libewf finds from their names (.E01, .E02 … / .Ex01 …).

    A renamed single segment (an E01 saved as .dd) has no name to glob from; its content said EWF, so
    it is opened alone, and the completeness check tells whether segments are missing.
    """
    import pyewf

    try:
        return list(pyewf.glob(str(first_segment)))
    except (OSError, ValueError, TypeError):
        return [str(first_segment)]


# -- recognising containers ---------------------------------------------------------------------------
_NUMBERED = re.compile(r"^(?P<stem>.+)\.(?P<num>\d{3})$")
_LETTERED = re.compile(r"^(?P<stem>.+)\.(?P<let>[a-z]{2})$")


def read_signature(path: Path, size: int = 8) -> bytes:
    with open(path, "rb") as f:
        return f.read(size)


def is_ewf(path: Path) -> bool:
    return read_signature(path) in (EWF_SIGNATURE, EWF2_SIGNATURE)


def split_raw_segments(path: Path) -> list[Path] | None:
    """The segments of a split raw image that starts at `path`, or None when `path` is not one.

    `name.000`/`name.001` …, `name.001`/`name.002` … and `name.aa`/`name.ab` … are recognised when the
    second segment exists beside the first. Pointing at a later segment is an error: reading from the
    middle of a disk would silently give a wrong picture of it.
    """
    numbered = _NUMBERED.match(path.name)
    if numbered:
        return _numbered_segments(path, numbered["stem"], numbered["num"])
    lettered = _LETTERED.match(path.name)
    if lettered:
        return _lettered_segments(path, lettered["stem"], lettered["let"])
    return None


def _numbered_segments(path: Path, stem: str, suffix: str) -> list[Path] | None:
    num, width = int(suffix), len(suffix)

    def name_of(n: int) -> Path:
        return path.with_name(f"{stem}.{n:0{width}d}")

    if num > 1 or (num == 1 and name_of(0).is_file()):  # not a first segment (.000 or .001)
        if name_of(num - 1).is_file():
            first = name_of(0) if name_of(0).is_file() else name_of(1)
            raise EvidenceError(f"{path.name} is not the first segment of a split image; give {first.name}")
        return None
    return _collect(path, lambda i: name_of(num + i))


def _lettered_segments(path: Path, stem: str, suffix: str) -> list[Path] | None:
    def name_of(i: int) -> Path:
        return path.with_name(f"{stem}.{_letters(i)}")

    if suffix == "aa":
        return _collect(path, name_of)
    index = (ord(suffix[0]) - ord("a")) * 26 + ord(suffix[1]) - ord("a")
    if name_of(index - 1).is_file():
        raise EvidenceError(f"{path.name} is not the first segment of a split image; give {name_of(0).name}")
    return None


def _collect(first: Path, name_of: Callable[[int], Path]) -> list[Path] | None:
    if not name_of(1).is_file():
        return None
    segments = [first]
    i = 1
    while (nxt := name_of(i)).is_file():
        segments.append(nxt)
        i += 1
    return segments


def _letters(i: int) -> str:
    return chr(ord("a") + i // 26) + chr(ord("a") + i % 26) if i < 26 * 26 else "~~"


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())


def short_reason(e: BaseException, limit: int = 200) -> str:
    """libewf chains every caller's message; the start says what failed, and that is enough here."""
    text = _one_line(e)
    return text if len(text) <= limit else text[: limit - 1] + "…"
