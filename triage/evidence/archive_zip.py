"""Zip archives (zip64 included) as evidence: `zip <name> → /path`.

The listing comes from the central directory through Python's `zipfile` (which reads zip64 records
and decodes names as the spec says: UTF-8 when flag bit 11 is set, else code page 437). Content is
read in place: stored members straight from the archive file, deflated members through our own
inflater, which stops at the declared size, says so when the data would inflate beyond it (a bomb
whose header lies) and checks the CRC-32; bzip2/lzma members go through `zipfile`. A zip without a
central directory (cut short) is recovered from its local headers, with a warning.
Zip stores local times (MS-DOS) without a zone; only the UTC times of the extended-timestamp (0x5455)
and NTFS (0x000a) extra fields are used, and members without them have no time.
"""

from __future__ import annotations

import stat
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, NoReturn

from triage.errors import EvidenceError
from triage.evidence.archive import ArchiveEvidence, Handle, Member, ReadAt, SegmentStream
from triage.evidence.model import EntryTimes, FileEntry
from triage.evidence.streams import SeekableReader, buffered

if TYPE_CHECKING:  # the opener imports this module to register it
    from triage.evidence.opener import OpenOptions

ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")  # a local header first, or the end record of an empty zip
LOCAL_HEADER = struct.Struct("<4s5H3L2H")
INFLATE_CHUNK = 1 << 16
SUPPORTED_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
_UNIX = 3
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)


def recognise(path: Path, options: OpenOptions) -> ZipEvidence | None:
    """A zip by its first bytes (PK signature), or a `.zip` whose end record zipfile can find."""
    if not path.is_file():
        return None
    try:
        with open(path, "rb") as f:
            head = f.read(4)
        is_zip = head in ZIP_SIGNATURES or (path.suffix.lower() == ".zip" and zipfile.is_zipfile(path))
    except OSError:
        return None
    return ZipEvidence(path, options) if is_zip else None


@dataclass(frozen=True)
class ZipLocator:
    header_offset: int
    method: int
    packed: int
    size: int
    crc: int
    data_offset: int | None = None  # known when recovered from the local headers
    info: zipfile.ZipInfo | None = None


class ZipEvidence(ArchiveEvidence):
    def __init__(self, path: Path, options: OpenOptions) -> None:
        super().__init__(path, "zip", options)
        self._file = open(path, "rb")
        self._zip: zipfile.ZipFile | None = None
        self._time_missing = 0
        try:
            self._zip = zipfile.ZipFile(self._file)
        except UnicodeDecodeError as e:  # zipfile refuses a name flagged UTF-8 that is not UTF-8
            self.damage.append(
                f"the central directory names a member in UTF-8 (flag bit 11) with bytes that "
                f"are not UTF-8 ({e.object[max(e.start - 16, 0) : e.end + 16]!r}), which Python's "
                f"zipfile cannot list"
            )
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as e:
            # NotImplementedError: a member needs a newer zip version than zipfile reads (hostile or exotic)
            self.damage.append(f"no readable central directory: {e}")
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        if self._time_missing:
            self.warn(
                f"{self.layer}: {self._time_missing} member(s) carry only MS-DOS local times without a "
                f"time zone; their times are left empty rather than guessed into UTC"
            )

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
        self._file.close()
        super().close()

    # -- listing ---------------------------------------------------------------------------------
    def _members(self) -> Iterator[Member]:
        if self._zip is not None:
            for number, info in enumerate(self._zip.infolist(), 1):
                yield self._member(number, info)
            return
        recovered = 0
        for member in LocalHeaderScan(self.read_at, self.archive_size, self.warn, self.layer).members():
            recovered += 1
            yield self._check(member, member.locator.packed)
        if recovered:
            why = "" if "flag bit 11" in self.damage[0] else " (truncated zip?)"
            self.warn(
                f"{self.layer}: {self.damage[0]}; {recovered} member(s) recovered from their local "
                f"headers{why}; anything after the last readable member is missing"
            )

    def _member(self, number: int, info: zipfile.ZipInfo) -> Member:
        kind = _kind(info)
        loc = ZipLocator(
            info.header_offset, info.compress_type, info.compress_size, info.file_size, info.CRC, info=info
        )
        times = _extra_times(info.extra)
        if not times and kind != "dir":
            self._time_missing += 1
        member = Member(
            name=info.filename,
            kind=kind,
            size=info.file_size if kind == "file" else None,
            number=number,
            locator=loc,
            backslash_separates=True,
            times=times,
            raw_name=_stored_name(info),
        )
        if kind != "file":
            return member
        if info.flag_bits & 0x1:
            member.refusal = "is encrypted; listed, not read (no zip password option)"
        elif info.compress_type not in SUPPORTED_METHODS:
            member.refusal = f"uses compression method {info.compress_type}, which is not supported; not read"
        return self._check(member, info.compress_size)

    def _check(self, member: Member, packed: int) -> Member:
        if member.kind == "file" and not member.refusal:
            member.refusal = self.limits.member_refusal(member.size or 0, packed)
            loc = member.locator
            if not member.refusal and isinstance(loc, ZipLocator) and loc.header_offset + packed > self.archive_size:
                member.refusal = "lies past the end of the archive file (truncated zip); not read"
        return member

    # -- reading ---------------------------------------------------------------------------------
    def _open_member(self, entry: FileEntry, handle: Handle) -> BinaryIO:
        loc = handle.locator
        assert isinstance(loc, ZipLocator)
        start = loc.data_offset if loc.data_offset is not None else self._data_offset(entry, loc)
        if start + loc.packed > self.archive_size:
            raise EvidenceError(f"{entry.provenance}: the archive ends inside this member (truncated zip)")
        if loc.method == zipfile.ZIP_STORED:
            return buffered(SegmentStream(self.read_at, loc.size, [(0, loc.size, start)], entry.provenance))
        if loc.method == zipfile.ZIP_DEFLATED:
            return buffered(
                InflateStream(self.read_at, start, loc.packed, loc.size, loc.crc, entry.provenance, self.warn)
            )
        if self._zip is None or loc.info is None:
            raise EvidenceError(f"{entry.provenance}: method {loc.method} needs the central directory; not read")
        with self._lock:
            # zipfile stops at the declared size and checks the CRC; typeshed types ZipExtFile as IO[bytes]
            return self._zip.open(loc.info)  # type: ignore[return-value]

    def _data_offset(self, entry: FileEntry, loc: ZipLocator) -> int:
        # a damaged or cut central directory can put the header before the file's start
        header = self.read_at(loc.header_offset, LOCAL_HEADER.size) if loc.header_offset >= 0 else b""
        if len(header) < LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
            raise EvidenceError(
                f"{entry.provenance}: no local header where the central directory points "
                f"(offset {loc.header_offset}); damaged zip, not read"
            )
        fields = LOCAL_HEADER.unpack(header)
        return loc.header_offset + LOCAL_HEADER.size + fields[9] + fields[10]


def _kind(info: zipfile.ZipInfo) -> str:
    """File, dir, link or other, as Info-ZIP's unzip decides it.

    Only a Unix host (create_system 3) puts a file type in the high 16 bits of the external attributes,
    and many writers (Python's `ZipFile.writestr`, Windows tools, phone extraction tools) leave the
    type bits empty, writing permissions only or nothing. Without a type the name decides: a trailing
    "/" is a directory, anything else a regular file, so a whole extraction is never set aside as
    "other" for want of bits its writer never set.
    """
    if info.filename.endswith("/"):  # not ZipInfo.is_dir(): it indexes filename[-1], and a name may be empty
        return "dir"
    file_type = stat.S_IFMT(info.external_attr >> 16)
    if info.create_system != _UNIX or not file_type:
        return "file"
    if file_type == stat.S_IFLNK:
        return "link"
    if file_type == stat.S_IFDIR:
        return "dir"
    return "file" if file_type == stat.S_IFREG else "other"


def _stored_name(info: zipfile.ZipInfo) -> bytes:
    """The name's bytes as the central directory holds them (zipfile decoded them by flag bit 11)."""
    return info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437", errors="surrogateescape")


def _extra_times(extra: bytes) -> EntryTimes:
    """UTC times from the NTFS (0x000a) or extended-timestamp (0x5455) extra field; {} when neither."""
    times: EntryTimes = {}
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, pos)
        body = extra[pos + 4 : pos + 4 + length]
        pos += 4 + length
        try:
            if tag == 0x000A and len(body) >= 32 and body[4:8] == b"\x01\x00\x18\x00":
                mtime, atime, ctime = struct.unpack_from("<3Q", body, 8)
                return {"mtime": _filetime(mtime), "atime": _filetime(atime), "crtime": _filetime(ctime)}
            if tag == 0x5455 and len(body) >= 5 and body[0] & 1:
                times["mtime"] = datetime.fromtimestamp(struct.unpack_from("<i", body, 1)[0], UTC)
        except (OverflowError, OSError, ValueError):
            continue
    return times


def _filetime(value: int) -> datetime | None:
    return None if not value else _FILETIME_EPOCH + timedelta(microseconds=value // 10)


class InflateStream(SeekableReader):
    """A deflated member, inflated on demand, never past its declared size; seeking back restarts."""

    def __init__(
        self, read_at: ReadAt, start: int, packed: int, size: int, crc: int, name: str, warn: Callable[[str], None]
    ) -> None:
        super().__init__(size)
        self._archive_read, self._start, self._packed = read_at, start, packed
        self._crc_expected, self.name, self._warn = crc, name, warn
        self._restart()

    def _restart(self) -> None:
        self._inflater = zlib.decompressobj(-15)
        self._consumed = 0  # packed bytes fed to the inflater
        self._out = 0  # bytes produced so far
        self._pending = b""  # produced but not yet returned
        self._crc = 0

    def readinto(self, buffer) -> int:  # noqa: ANN001 - any writable buffer
        want = min(len(buffer), self._size - self._pos)
        if want <= 0:
            return 0
        if self._pos < self._out - len(self._pending):
            self._restart()  # backwards: inflate again from the start of the member
        self._skip_to(self._pos)
        while len(self._pending) < want and self._out < self._size:
            self._pending += self._produce(min(INFLATE_CHUNK * 4, self._size - self._out))
        n = min(want, len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        self._pos += n
        return n

    def _skip_to(self, pos: int) -> None:
        drop = pos - (self._out - len(self._pending))
        while drop > 0:
            if not self._pending:
                self._pending = self._produce(min(drop, INFLATE_CHUNK * 4))
            cut = min(drop, len(self._pending))
            self._pending = self._pending[cut:]
            drop -= cut

    def _produce(self, limit: int) -> bytes:
        """Up to `limit` more inflated bytes (at least one unless the member ends early: OSError)."""
        while True:
            tail = self._inflater.unconsumed_tail
            if not tail and not self._inflater.eof and self._consumed < self._packed:
                tail = self._archive_read(
                    self._start + self._consumed, min(INFLATE_CHUNK, self._packed - self._consumed)
                )
                self._consumed += len(tail)
                if not tail:
                    break
            try:
                data = self._inflater.decompress(tail, limit)
            except zlib.error as e:
                self._fail(f"deflate data is damaged after {self._out} bytes ({e})")
            if data:
                self._out += len(data)
                self._crc = zlib.crc32(data, self._crc)
                if self._out >= self._size:
                    self._at_end()
                return data
            if self._inflater.eof or (self._consumed >= self._packed and not self._inflater.unconsumed_tail):
                break
        self._fail(f"ends after {self._out} of its declared {self._size} bytes (truncated or damaged)")

    def _at_end(self) -> None:
        """Declared size reached: anything more is a lie in the header; the CRC says if the bytes are right."""
        more = self._inflater.unconsumed_tail
        if not more and self._consumed < self._packed:
            more = self._archive_read(self._start + self._consumed, min(INFLATE_CHUNK, self._packed - self._consumed))
        try:
            beyond = not self._inflater.eof and bool(self._inflater.decompress(more, 1))
        except zlib.error:
            beyond = False
        if beyond:
            self._warn(
                f"{self.name}: inflates beyond its declared size of {self._size} bytes; reads are capped "
                f"at the declared size (zip bomb or damaged header?)"
            )
        elif self._crc != self._crc_expected:
            self._warn(
                f"{self.name}: content does not match its CRC-32 (stored {self._crc_expected:08x}, "
                f"computed {self._crc:08x}); the bytes read may be damaged"
            )

    def _fail(self, reason: str) -> NoReturn:
        self._warn(f"{self.name}: {reason}")
        raise OSError(f"{self.name}: {reason}")


class LocalHeaderScan:
    """Members of a zip without a central directory, found by walking its local headers from the start."""

    def __init__(self, read_at: ReadAt, size: int, warn: Callable[[str], None], layer: str) -> None:
        self.read_at, self.size, self.warn, self.layer = read_at, size, warn, layer

    def members(self) -> Iterator[Member]:
        offset, number = 0, 0
        while offset + LOCAL_HEADER.size <= self.size:
            header = self.read_at(offset, LOCAL_HEADER.size)
            if header[:4] != b"PK\x03\x04":
                return
            (_, _, flags, method, _, _, crc, packed, size, n, m) = LOCAL_HEADER.unpack(header)
            raw_name = self.read_at(offset + LOCAL_HEADER.size, n)
            extra = self.read_at(offset + LOCAL_HEADER.size + n, m)
            # undecodable bytes of a name flagged UTF-8 stay visible (\\xNN), never U+FFFD
            name = raw_name.decode("utf-8", "surrogateescape") if flags & 0x800 else raw_name.decode("cp437")
            packed, size = _zip64_sizes(extra, packed, size)
            start = offset + LOCAL_HEADER.size + n + m
            number += 1
            if flags & 0x8 and packed == 0:
                if method != zipfile.ZIP_DEFLATED:
                    self.warn(
                        f"{self.layer}: member #{number} {name!a} has no size before its data; recovery stops there"
                    )
                    return
                packed, size, crc = self._measure_deflate(start)
            kind = "dir" if name.endswith("/") else "file"
            refusal = "is encrypted; listed, not read" if flags & 0x1 else None
            if start + packed > self.size:
                refusal = "lies past the end of the archive file (truncated zip); not read"
            loc = ZipLocator(offset, method, packed, size, crc, data_offset=start)
            yield Member(
                name=name,
                kind=kind,
                size=size if kind == "file" else None,
                number=number,
                locator=loc,
                refusal=refusal,
                backslash_separates=True,
                times=_extra_times(extra),
                raw_name=raw_name,
            )
            offset = start + packed + (self._descriptor_length(start + packed) if flags & 0x8 else 0)

    def _measure_deflate(self, start: int) -> tuple[int, int, int]:
        inflater, pos, out, crc = zlib.decompressobj(-15), start, 0, 0
        while not inflater.eof and pos < self.size:
            chunk = self.read_at(pos, INFLATE_CHUNK)
            try:
                data = inflater.decompress(chunk)
            except zlib.error:
                break
            out, crc = out + len(data), zlib.crc32(data, crc)
            pos += len(chunk) - len(inflater.unused_data)
        return pos - start, out, crc

    def _descriptor_length(self, at: int) -> int:
        return 16 if self.read_at(at, 4) == b"PK\x07\x08" else 12


def _zip64_sizes(extra: bytes, packed: int, size: int) -> tuple[int, int]:
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, pos)
        if tag == 0x0001:
            # a damaged field may claim more bytes than the extra holds: read the values it does hold
            count = max(0, min(length, len(extra) - pos - 4)) // 8
            values = list(struct.unpack_from(f"<{count}Q", extra, pos + 4))
            if size == 0xFFFFFFFF and values:
                size = values.pop(0)
            if packed == 0xFFFFFFFF and values:
                packed = values.pop(0)
        pos += 4 + length
    return packed, size
