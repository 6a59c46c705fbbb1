"""Archives as evidence: what zip and tar readers share (`archive_zip.py`, `archive_tar.py`).

An archive is indexed once and its members are read in place, never unpacked to disk: the reader
keeps one list of FileEntry objects and opens members as read-only, seekable streams over the
archive file. A format module turns its listing into `Member` objects; this module turns those into
entries, and it is where every hostile-input rule is applied in one place:
- names: `../`, absolute and drive names are resolved inside the archive root
  (`archive_safety.safe_name`), names that are not UTF-8 are shown as \\xNN; each gets a warning;
- duplicates: two members with one path are both listed; the later is the file (as `tar -x` and
  `unzip -o` leave it), the earlier is listed as superseded (allocated=False) and never parsed;
- NFC/NFD twins (names equal once Unicode-normalised): both kept as stored, with a warning;
- symlinks: listed as type "link", never followed; tar hard links resolve to an earlier member's bytes
  inside the archive only, unresolvable ones (missing target, loop) are "other" with a warning;
- sizes: a member whose declared size or expansion passes `OpenOptions` limits, and every member past
  the point where the declared sizes add up beyond `max_total_bytes`, is listed, named in a warning
  and refused when opened;
- archives inside archives are listed as files (parsers can read them); they are not opened as
  evidence of their own, so nesting depth cannot blow up a run.
Folders an archive implies but does not list (`a/b/c` without `a/`) are listed as directories.
"""

from __future__ import annotations

import abc
import dataclasses
import os
import threading
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from triage.errors import EvidenceError
from triage.evidence.archive_layout import choose_wrapper, is_above, is_under, wrapper_hint
from triage.evidence.archive_safety import Limits, display_name, safe_name
from triage.evidence.hashing import hash_media
from triage.evidence.model import EntryTimes, Evidence, FileEntry, MediaHashes, ProgressCallback, stored_bytes_hex
from triage.evidence.streams import SeekableReader

if TYPE_CHECKING:  # the opener imports this module to register it
    from triage.evidence.opener import OpenOptions

MAX_NAMED = 20  # warnings of one kind named one by one; the rest are counted in one summary line
LAYOUT_PEEK = 1000  # members a streamed archive may read ahead to find its wrapper folder
ReadAt = Callable[[int, int], bytes]


@dataclass
class Member:
    """One member as the format lists it, before any safety rule is applied."""

    name: str  # as stored, decoded (tar, flagged zip: surrogateescape for bytes that are not UTF-8)
    kind: str  # "file", "dir", "link", "hardlink", "other"
    size: int | None
    number: int  # 1-based position in the archive, shown as the entry's inode
    locator: Any = None  # format-private: how to read the content (only its format's reader knows the kind)
    link_target: str | None = None  # hard links: the member name they refer to
    refusal: str | None = None  # why the content must not be read (bomb, encrypted, truncated …)
    backslash_separates: bool = False
    times: EntryTimes = field(default_factory=EntryTimes)
    raw_name: bytes | None = None  # the name's bytes as stored (kept as hex when the text shown differs)


@dataclass(frozen=True)
class Handle:
    """What `FileEntry.handle` holds for an archive member."""

    locator: Any  # as Member.locator
    size: int
    refusal: str | None = None


class ArchiveEvidence(Evidence):
    """The shared part of zip and tar readers; subclasses list members and open their content."""

    streamed = False  # True: the listing is read lazily while walk() goes (a tar.gz read only once)

    def __init__(self, path: Path, kind: str, options: OpenOptions) -> None:
        self.source = path
        self.kind = kind
        self.limits = Limits(options.max_expansion_ratio, options.max_total_bytes)
        self.warnings: list[str] = []
        self.prefix: tuple[str, ...] = ()
        self.layer = f"{kind} {path.name}"
        self._entries: list[FileEntry] = []
        self._live: dict[str, int] = {}  # path -> index in _entries of the entry that is read as the file
        self._nfc: dict[str, str] = {}
        self._declared = 0
        self._counts: dict[str, int] = {}
        self._said: set[str] = set()
        self._done = False
        self._pending: list[Member] = []
        self._settled = False
        self.damage: list[str] = []  # structural problems (truncation …) the format found while listing
        self._lock = threading.Lock()
        self._fd = os.open(path, os.O_RDONLY)
        self.archive_size = os.fstat(self._fd).st_size

    # -- what subclasses provide ---------------------------------------------------------------
    @abc.abstractmethod
    def _members(self) -> Iterator[Member]:
        """The members in archive order (may be lazy); problems go to self.warn."""

    @abc.abstractmethod
    def _open_member(self, entry: FileEntry, handle: Handle) -> BinaryIO:
        """A read-only seekable stream of a member's content."""

    # -- Evidence --------------------------------------------------------------------------------
    @property
    def container_files(self) -> list[Path]:
        return [self.source]

    def walk(self) -> Iterator[FileEntry]:
        i = 0
        while True:
            while i < len(self._entries):
                yield self._entries[i]
                i += 1
            if self._done:
                return
            self._pull()

    def open(self, entry: FileEntry) -> BinaryIO:
        handle = entry.handle
        if entry.type != "file" or not isinstance(handle, Handle):
            raise EvidenceError(
                f"{entry.provenance} is a {entry.type}, not a regular file; it is not opened (links are never followed)"
            )
        if handle.refusal:
            raise EvidenceError(f"{entry.provenance} {handle.refusal}")
        return self._open_member(entry, handle)

    def media_hashes(self, progress: ProgressCallback | None = None) -> MediaHashes:
        """The hashes of the archive file as received (an archive stores no acquisition hash)."""
        hashes = hash_media(self.read_at, self.archive_size, progress)
        hashes.headers = {"method": f"MD5/SHA-1/SHA-256 of the {self.kind} file {self.source.name} itself"}
        return hashes

    def read_at(self, offset: int, size: int) -> bytes:
        """Bytes of the archive file (os.pread: no shared file position, safe from several streams).

        Offsets and sizes come from the archive's own headers, so they may be damaged: one before the
        start (a zip cut at its front) or past 2**63 (a zip64 size near 2**64) would make pread fail with
        EINVAL or OverflowError instead of the reader's own "damaged archive" error. Outside the file
        there is nothing to read: empty bytes, which every caller already treats as a short read.
        """
        if offset < 0 or offset >= self.archive_size or size <= 0:
            return b""
        # never ask for more than the file holds: tarfile's read() without a size would allocate 1 GiB
        return os.pread(self._fd, min(size, self.archive_size - offset), offset)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    # -- indexing ------------------------------------------------------------------------------
    def _start(self) -> None:
        """Begin the listing: all of it, or (streamed) up to the first entries, so a broken archive
        fails now. `self.damage` (filled by the format) with nothing listed is an EvidenceError."""
        self._source_iter = self._members()
        if self.streamed:
            self._pull()
        else:
            members = list(self._source_iter)
            self._settle_wrapper(
                choose_wrapper((safe_name(m.name, m.backslash_separates).parts, m.kind == "dir") for m in members)
            )
            for m in members:
                self._admit(m)
            self._finish()
        if not self._entries and self.damage:
            self.close()
            raise EvidenceError(
                f"{self.source.name}: nothing can be read from this {self.kind} archive "
                f"({'; '.join(self.damage)}); check that the file is complete"
            )
        if not self._entries and self._done:
            self.warn(f"{self.layer}: the archive lists no members")

    def _pull(self) -> None:
        """Streamed archives: read members until some entries are listed or the archive ends."""
        before = len(self._entries)
        while len(self._entries) == before and not self._done:
            member = next(self._source_iter, None)
            if member is None:
                if not self._settled:
                    self._settle_wrapper(())
                self._finish()
            elif self._settled:
                self._admit(member)
            else:  # hold members back until the wrapper folder (if any) is known
                self._pending.append(member)
                hint = wrapper_hint(safe_name(member.name, member.backslash_separates).parts, member.kind == "dir")
                if hint is not None or len(self._pending) >= LAYOUT_PEEK:
                    self._settle_wrapper(hint or ())

    def _settle_wrapper(self, prefix: tuple[str, ...]) -> None:
        self._settled = True
        self.prefix = prefix
        if prefix:
            self.layer = f"{self.kind} {self.source.name} (root '{'/'.join(prefix)}/')"
        pending, self._pending = self._pending, []
        for m in pending:
            self._admit(m)

    def _finish(self) -> None:
        self._done = True
        for kind, n in sorted(self._counts.items()):
            if n > MAX_NAMED:
                self.warnings.append(f"{self.layer}: {n - MAX_NAMED} more members {kind} (not named one by one)")

    def _admit(self, m: Member) -> None:
        safe = safe_name(m.name, m.backslash_separates)
        if safe.problems:
            self._note(
                "with unsafe names",
                f"{self.layer}: member #{m.number} {safe_name_shown(m.name)}: "
                f"{'; '.join(safe.problems)}; listed as /{'/'.join(safe.parts)}",
            )
        parts = self._unwrap(safe.parts, m)
        if parts is None:
            return
        if not parts:
            if m.kind != "dir":
                self._note("without a name", f"{self.layer}: member #{m.number} has no usable name; not listed")
            return
        path = "/" + "/".join(parts)
        self._list_parents(parts)
        self._check_nfc(path)
        entry = self._entry_for(m, path)
        known = self._live.get(path)
        if m.kind == "dir" and known is not None and self._entries[known].type == "dir":
            if self._entries[known].inode is None:  # implied by an earlier member: now listed with its times
                self._entries[known] = entry
            return  # a folder listed twice: nothing to read, nothing to choose
        self._add(entry, m)

    def _unwrap(self, parts: tuple[str, ...], m: Member) -> tuple[str, ...] | None:
        """Parts below the wrapper; None for the wrapper folder itself (not listed)."""
        if not self.prefix:
            return parts
        if is_under(parts, self.prefix):
            return parts[len(self.prefix) :]
        if is_above(parts, self.prefix) and m.kind == "dir":
            return None
        if len(parts) > 1 or m.kind == "dir":
            self._note(
                "outside the wrapper folder",
                f"{self.layer}: member #{m.number} /{'/'.join(parts)} lies "
                f"outside the wrapper '{'/'.join(self.prefix)}/'; listed at its archive path",
            )
        return parts

    def _list_parents(self, parts: tuple[str, ...]) -> None:
        for i in range(1, len(parts)):
            parent = "/" + "/".join(parts[:i])
            if parent not in self._live:
                self._live[parent] = len(self._entries)
                self._entries.append(FileEntry(path=parent, layers=(self.layer,), type="dir", size=None, inode=None))

    def _check_nfc(self, path: str) -> None:
        key = unicodedata.normalize("NFC", path)
        first = self._nfc.setdefault(key, path)
        if first != path:
            self._note(
                "with NFC/NFD twin names",
                f"{self.layer}: {first!a} and {path!a} are the same name in "
                f"different Unicode normalisation (NFC/NFD); both kept as stored",
            )

    def _entry_for(self, m: Member, path: str) -> FileEntry:
        kind, size, locator, refusal = m.kind, m.size, m.locator, m.refusal
        inode: str | None = str(m.number)
        if kind == "hardlink":
            target = self._hard_link_target(m, path)
            if target is None:
                kind, size = "other", 0
            else:
                kind, size, inode = "file", target.size, target.inode
                locator, refusal = target.handle.locator, target.handle.refusal
        if m.kind == "file":  # a hard link adds no stored bytes of its own
            refusal = refusal or self._size_refusal(m, path, size or 0)
        handle = Handle(locator, size or 0, refusal) if kind == "file" else None
        raw_hex = stored_bytes_hex(m.raw_name, display_name(m.name)) if m.raw_name is not None else None
        return FileEntry(
            path=path,
            layers=(self.layer,),
            type=kind,
            size=size,
            inode=inode,
            handle=handle,
            raw_name_hex=raw_hex,
            **m.times,
        )

    def _hard_link_target(self, m: Member, path: str) -> FileEntry | None:
        target_parts = safe_name(m.link_target or "").parts
        if self.prefix and is_under(target_parts, self.prefix):
            target_parts = target_parts[len(self.prefix) :]
        target = "/" + "/".join(target_parts)
        where = f"{self.layer}: hard link #{m.number} {path} → {target}"
        if target == path:
            self._note("with unresolvable hard links", f"{where}: links to itself (loop); listed as 'other'")
            return None
        index = self._live.get(target)
        entry = None if index is None else self._entries[index]
        if entry is None or entry.type != "file" or not isinstance(entry.handle, Handle):
            self._note(
                "with unresolvable hard links",
                f"{where}: no earlier regular file of that name in the "
                f"archive (missing target or link loop); listed as 'other', not read",
            )
            return None
        return entry

    def _size_refusal(self, m: Member, path: str, size: int) -> str | None:
        self._declared += size
        refusal = self.limits.total_refusal(self._declared)
        if refusal:
            self._note("refused by size limits", f"{self.layer}: {path} (member #{m.number}): {refusal}")
        return refusal

    def _add(self, entry: FileEntry, m: Member) -> None:
        if m.refusal:
            self._note("not read", f"{self.layer}: {entry.path} (member #{m.number}) {m.refusal}")
        previous = self._live.get(entry.path)
        if previous is not None:
            old = self._entries[previous]
            self._entries[previous] = dataclasses.replace(old, allocated=False)
            self._note(
                "with duplicate names",
                f"{self.layer}: {entry.path} is named by more than one member "
                f"(#{old.inode or '-'} {old.type}, #{m.number} {entry.type}); both are listed, the later "
                f"one is the file read (as extraction would leave it), the earlier is listed as "
                f"superseded (allocated=false) and not parsed",
            )
        self._live[entry.path] = len(self._entries)
        self._entries.append(entry)

    # -- warnings --------------------------------------------------------------------------------
    def warn(self, message: str) -> None:
        """A problem said once (streams report from every read; walk() may run several times)."""
        if message not in self._said:
            self._said.add(message)
            self.warnings.append(message)

    def _note(self, kind: str, message: str) -> None:
        """A warning of a kind that hostile archives repeat thousands of times: the first ones named."""
        n = self._counts[kind] = self._counts.get(kind, 0) + 1
        if n <= MAX_NAMED:
            self.warn(message)


def safe_name_shown(name: str) -> str:
    """A stored name quoted for a warning, undecodable bytes and control characters escaped."""
    return ascii(name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace"))


class SegmentStream(SeekableReader):
    """Read-only, seekable bytes of one member, mapped from ranges of the archive (holes read as zeros).

    `segments` are (offset in the member, length, offset in the archive or None for a hole), sorted.
    """

    def __init__(self, read_at: ReadAt, size: int, segments: list[tuple[int, int, int | None]], name: str) -> None:
        super().__init__(size)
        self._archive_read, self._segments, self.name = read_at, segments, name

    def _read_at(self, pos: int, want: int) -> bytes:
        for start, length, source in self._segments:
            if start <= pos < start + length:
                n = min(want, start + length - pos)
                if source is None:
                    return bytes(n)
                data = self._archive_read(source + pos - start, n)
                if len(data) < n:
                    raise OSError(f"{self.name}: the archive ends inside this member (truncated archive?)")
                return data
            if pos < start:  # a hole before the next mapped range
                return bytes(min(want, start - pos))
        return bytes(want)  # past the last mapped range: a trailing hole
