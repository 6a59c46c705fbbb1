"""Tar archives (.tar, .tar.gz, .tgz) as evidence: `tar <name> → /path`, `tar.gz <name> → /path`.

Headers are parsed by Python's `tarfile` (ustar, GNU long names, pax, sparse), reading through a
view that keeps its own position, so member streams and the listing never disturb each other.
A plain tar is listed at once (reading a header skips the data by seeking) and members are byte
ranges of the file. Names that are not UTF-8 are kept with surrogateescape and shown as \\xNN.

A tar.gz cannot be listed without inflating it, and must be inflated at most once per run. Its gzip
stream is read through `archive_gzip.GzipRandomAccess` (zlib, with seek points taken during the first
pass; the module says why no library was used). The listing is streamed: walk() yields each member
as its header is read, so a caller that reads each file as it is listed (the pipeline sniffing
headers, the benchmark hashing every file) reads on from where the inflater already is, and the
whole run inflates the stream once. A later read of any member (a parser's database copy) restarts
at the nearest seek point, costing at most `spacing` bytes of inflation, never a pass from the start.
The spacing grows with the file (at most ~1000 seek points of ~45 KB per pass over the compressed
size, whatever the ratio), so the index stays well under 200 MB for a phone-sized archive.
Inflation is bounded by `OpenOptions`: the listing stops, with a warning, before a member whose
data would take the stream past `max_total_bytes` or past `max_expansion_ratio` times the file
(above 64 MiB), so a gzip bomb is never inflated.
"""

from __future__ import annotations

import gzip
import tarfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from triage.evidence.archive import (
    ArchiveEvidence,
    Handle,
    Member,
    SegmentStream,
)
from triage.evidence.archive_gzip import GzipRandomAccess
from triage.evidence.model import EntryTimes, FileEntry
from triage.evidence.streams import buffered

if TYPE_CHECKING:  # the opener imports this module to register it
    from triage.evidence.opener import OpenOptions

BLOCK = 512
TAR_SUFFIXES = (".tar",)
TGZ_SUFFIXES = (".tar.gz", ".tgz")
MIN_SPACING = 4 << 20
TAIL_CHECK = 1 << 20  # bytes after the end-of-archive marker that are checked for more (damaged) data
ReadAt = Callable[[int, int], bytes]
GNU_DUMPDIR = b"D"  # a directory with its listing as data (GNU incremental dumps)
GNU_NOT_FILES = {GNU_DUMPDIR, b"V", b"M"}  # + volume label, continuation of a multi-volume file: not files


def recognise(path: Path, options: OpenOptions) -> TarEvidence | None:
    """Tar by its header (ustar magic at 257, or a valid checksum in a `.tar`); gzip by 1f8b + tar inside."""
    if not path.is_file():
        return None
    name = path.name.lower()
    try:
        with open(path, "rb") as f:
            head = f.read(BLOCK)
        if head[:2] == b"\x1f\x8b":
            inner = _gunzip_head(path)
            if _is_tar_header(inner, strict=not name.endswith(TGZ_SUFFIXES)):
                return TarEvidence(path, options, compressed=True)
            if name.endswith(TGZ_SUFFIXES) and len(inner) < BLOCK:
                return TarEvidence(path, options, compressed=True)  # cut short: the reader says how
            return None
    except OSError:
        return None
    if _is_tar_header(head, strict=not name.endswith(TAR_SUFFIXES)):
        return TarEvidence(path, options, compressed=False)
    return None


def _gunzip_head(path: Path) -> bytes:
    try:
        with gzip.open(path, "rb") as g:
            return g.read(BLOCK)
    except (OSError, EOFError, zlib.error):
        return b""


def _is_tar_header(block: bytes, strict: bool) -> bool:
    """ustar/GNU magic; without `strict`, a pre-POSIX header whose checksum is right also counts."""
    if len(block) < BLOCK:
        return False
    if block[257:262] == b"ustar":
        return True
    if strict or not block.strip(b"\0"):
        return False
    try:
        stored = int(block[148:156].strip(b"\0 ") or b"-1", 8)
    except ValueError:
        return False
    return stored == sum(block[:148]) + 8 * 32 + sum(block[156:])


@dataclass(frozen=True)
class TarLocator:
    segments: list[tuple[int, int, int | None]]  # (offset in member, length, offset in the tar stream)


class _View:
    """A file-like view of the tar stream with its own position (tarfile needs read/seek/tell)."""

    def __init__(self, read_at: ReadAt, name: str) -> None:
        self._read_at, self.name, self._pos = read_at, name, 0

    def read(self, n: int = -1) -> bytes:
        data = self._read_at(self._pos, n if n >= 0 else 1 << 30)
        self._pos += len(data)
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence != 0:
            raise OSError("tar view seeks from the start only")
        self._pos = offset
        return offset

    def tell(self) -> int:
        return self._pos

    def write(self, data: bytes) -> int:  # tarfile's file-object protocol names it; reading never calls it
        raise OSError("tar view is read-only")

    def close(self) -> None:
        """Nothing to release: reads go through the archive's own reader, which its owner closes."""


class TarEvidence(ArchiveEvidence):
    def __init__(self, path: Path, options: OpenOptions, compressed: bool) -> None:
        super().__init__(path, "tar.gz" if compressed else "tar", options)
        self.streamed = compressed
        self.gzip: GzipRandomAccess | None = None
        if compressed:
            spacing = max(MIN_SPACING, self.archive_size // 1000)
            self.gzip = GzipRandomAccess(self.read_at, self.archive_size, spacing)
        self.stream_read_at: ReadAt = self.gzip.read_at if self.gzip else self.read_at
        try:
            self._start()
        except BaseException:
            self.close()
            raise

    # -- listing ---------------------------------------------------------------------------------
    def _members(self) -> Iterator[Member]:
        try:
            tar = tarfile.open(
                fileobj=_View(self.stream_read_at, self.source.name),
                mode="r:",
                encoding="utf-8",
                errors="surrogateescape",
            )
        except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
            self.damage.append(f"no readable tar header: {_reason(e)}")
            return
        number = 0
        while True:
            try:
                info = tar.next()
            except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
                self._cut_short(number, e)
                return
            if info is None:
                self._check_tail(tar.offset, number)
                return
            # our own index keeps what matters; tarfile's copy would double memory (`members`: not in typeshed)
            tar.members.clear()  # type: ignore[attr-defined]
            number += 1
            member = self._member(info, number)
            stop = self.limits.stream_refusal(tar.offset, self.archive_size) if self.streamed else None
            if stop:
                member.refusal = member.refusal or f"not read: {stop}"
                yield member
                self.warn(
                    f"{self.layer}: listing stops at member #{number} {info.name!a}: {stop}; the rest of "
                    f"the archive is not inflated"
                )
                return
            yield member

    def _member(self, info: tarfile.TarInfo, number: int) -> Member:
        times: EntryTimes = {
            "mtime": _utc(info.mtime),
            "atime": _utc(info.pax_headers.get("atime")),
            "ctime": _utc(info.pax_headers.get("ctime")),
        }
        member = Member(
            name=info.name,
            kind=_kind(info),
            size=None,
            number=number,
            times=times,
            raw_name=info.name.encode("utf-8", errors="surrogateescape"),
        )
        if _unknown_type(info):
            # POSIX: an unknown type flag is read as a regular file (GNU tar extracts it so); its data is
            # there, and listing it as "other" would drop it unseen
            self.warn(
                f"{self.layer}: member #{number} {info.name!a} has the unknown type flag {info.type!r}; "
                f"read as a regular file, as POSIX says"
            )
        if member.kind == "hardlink":
            member.link_target = info.linkname
        elif member.kind == "file":
            member.size = info.size
            member.locator = TarLocator(_segments(info))
            if not self.streamed and info.offset_data + _stored_size(info) > self.archive_size:
                member.refusal = "lies past the end of the archive file (truncated tar); not read"
        return member

    def _cut_short(self, number: int, error: BaseException) -> None:
        message = f"the archive ends early or is damaged after member #{number}: {_reason(error)}"
        self.damage.append(message)
        self.warn(f"{self.layer}: {message}; the {number} member(s) before it are listed")

    def _check_tail(self, offset: int, number: int) -> None:
        """tarfile ends quietly at a damaged header; data after the end marker means the listing is short."""
        try:
            tail = self.stream_read_at(offset, TAIL_CHECK)
        except (OSError, EOFError, zlib.error) as e:
            self._cut_short(number, e)
            return
        if tail.strip(b"\0"):
            self.damage.append(f"unreadable tar header at offset {offset}")
            self.warn(
                f"{self.layer}: unreadable tar header at offset {offset} after member #{number}; the "
                f"listing stops there (damaged or truncated tar?)"
            )

    # -- reading ---------------------------------------------------------------------------------
    def _open_member(self, entry: FileEntry, handle: Handle) -> BinaryIO:
        loc = handle.locator
        assert isinstance(loc, TarLocator)
        return buffered(SegmentStream(self.stream_read_at, handle.size, loc.segments, entry.provenance))


def _kind(info: tarfile.TarInfo) -> str:
    """The member's type from its header: tar always names it, so nothing is guessed from the name."""
    if info.isreg() or _unknown_type(info):
        return "file"
    if info.type == GNU_DUMPDIR:
        return "dir"
    if info.isdir():
        return "dir"
    if info.issym():
        return "link"
    if info.islnk():
        return "hardlink"
    return "other"  # devices, FIFOs, and types tarfile does not know


def _unknown_type(info: tarfile.TarInfo) -> bool:
    return info.type not in tarfile.SUPPORTED_TYPES and info.type not in GNU_NOT_FILES


def _segments(info: tarfile.TarInfo) -> list[tuple[int, int, int | None]]:
    """Where the member's bytes are in the tar stream; a GNU sparse member stores its data runs packed."""
    if not info.sparse:
        return [(0, info.size, info.offset_data)]
    segments: list[tuple[int, int, int | None]] = []
    stored = info.offset_data
    for offset, length in _sparse_runs(info):
        segments.append((offset, length, stored))
        stored += length
    return segments


def _stored_size(info: tarfile.TarInfo) -> int:
    return sum(length for _, length in _sparse_runs(info)) if info.sparse else info.size


def _sparse_runs(info: tarfile.TarInfo) -> list[tuple[int, int]]:
    """A GNU sparse member's (offset, length) data runs, as tarfile fills `sparse`."""
    return info.sparse or []  # type: ignore[return-value]  # typeshed has `sparse: bytes | None`; it holds pairs


def _utc(value: object) -> datetime | None:
    try:
        seconds = float(value)  # type: ignore[arg-type]
        return datetime.fromtimestamp(seconds, UTC) if seconds else None
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _reason(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
