"""What every evidence reader presents: file entries addressed by their layer chain.

A file's address is the chain of layers from the container down to its file system
(dfVFS path-spec style), plus its path inside that file system. The chain, joined
with " → ", is the provenance string every record carries.
"""

from __future__ import annotations

import abc
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, Literal, TypedDict

LAYER_SEPARATOR = " → "
ENTRY_TYPES = ("file", "dir", "link", "other")
TimeField = Literal["mtime", "atime", "ctime", "crtime"]
TIME_FIELDS: tuple[TimeField, ...] = ("mtime", "atime", "ctime", "crtime")


class EntryTimes(TypedDict, total=False):
    """A FileEntry's times as its readers gather them (keyword arguments): those the source records, UTC."""

    mtime: datetime | None
    atime: datetime | None
    ctime: datetime | None
    crtime: datetime | None


ProgressCallback = Callable[[int, int], None]  # (bytes done, bytes total)


def shown_name(raw: bytes) -> str:
    """A stored name as text: UTF-8, any byte that is not UTF-8 shown as a visible \\xNN escape.

    Never a surrogate (which no UTF-8 writer, JSON file or database accepts) and never U+FFFD alone
    (which would lose the byte); the exact bytes travel beside it as `raw_name_hex`."""
    return raw.decode("utf-8", errors="backslashreplace")


def shown_path(path: os.PathLike[str] | str) -> str:
    """A path on the examiner's disk as text for logs and records (os.fsencode keeps its real bytes)."""
    return shown_name(os.fsencode(path))


def stored_bytes_hex(raw: bytes, shown: str) -> str | None:
    """The stored bytes as hex when the text shown is not simply their UTF-8 decoding, else None."""
    return None if shown.encode("utf-8", errors="surrogatepass") == raw else raw.hex()


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One file, directory or link inside the evidence (slots: a folder's listing holds tens of thousands)."""

    path: str  # absolute path inside its file system, "/" separated, e.g. /data/data/x/y.db
    layers: tuple[str, ...]  # e.g. ("EWF demo.E01", "GPT partition 1 'userdata'", "ext4")
    type: str  # one of ENTRY_TYPES
    size: int | None
    inode: str | None  # meta address as the file system names it ("13", "46-128-1")
    volume: str = ""  # short id of the file system inside the evidence ("" for a single one, "p1", …)
    allocated: bool = True  # False for deleted entries still named in a directory
    mtime: datetime | None = None  # all UTC, timezone-aware
    atime: datetime | None = None
    ctime: datetime | None = None
    crtime: datetime | None = None
    # reader-private locator: each reader stores its own kind and reads it back (Any: only that reader knows it)
    handle: Any = field(default=None, compare=False, repr=False)
    # the name's bytes as the evidence stores them (file systems: the whole path; archives: the member
    # name), hex, when `path` shows them differently (not UTF-8: \xNN escapes; zip code page 437)
    raw_name_hex: str | None = None

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def raw_path(self) -> bytes:
        """The path's bytes as stored (file systems and folders; for archives the stored member name)."""
        return bytes.fromhex(self.raw_name_hex) if self.raw_name_hex else self.path.encode("utf-8")

    @property
    def provenance(self) -> str:
        return LAYER_SEPARATOR.join((*self.layers, self.path))

    def to_json(self) -> dict:
        def iso(t: datetime | None) -> str | None:
            return None if t is None else t.isoformat().replace("+00:00", "Z")

        return {
            "path": self.path,
            "layers": list(self.layers),
            "volume": self.volume,
            "type": self.type,
            "size": self.size,
            "inode": self.inode,
            "allocated": self.allocated,
            "mtime": iso(self.mtime),
            "atime": iso(self.atime),
            "ctime": iso(self.ctime),
            "crtime": iso(self.crtime),
            "raw_name_hex": self.raw_name_hex,
        }


@dataclass
class MediaHashes:
    """Hashes of the acquired media (the bytes the image represents), in one streaming pass."""

    size: int
    md5: str
    sha1: str
    sha256: str
    stored: dict[str, str] = field(default_factory=dict)  # e.g. {"md5": …, "sha1": …} kept inside an E01
    headers: dict[str, str] = field(default_factory=dict)  # E01 case_number, examiner_name, acquiry_date …
    read_errors: list[str] = field(default_factory=list)

    @property
    def verified(self) -> bool | None:
        """True/False when the container stores hashes to compare against; None when it stores none."""
        if self.read_errors:
            return False
        if not self.stored:
            return None
        computed = {"md5": self.md5, "sha1": self.sha1, "sha256": self.sha256}
        return all(computed[k] == v.lower() for k, v in self.stored.items() if k in computed)

    def to_json(self) -> dict:
        return {
            "size": self.size,
            "md5": self.md5,
            "sha1": self.sha1,
            "sha256": self.sha256,
            "stored": self.stored,
            "headers": self.headers,
            "read_errors": self.read_errors,
            "verified": self.verified,
        }


class Evidence(abc.ABC):
    """An opened piece of evidence: read-only access to its files, whatever the container."""

    source: Path  # what the user pointed at
    kind: str  # "ewf", "raw", "split-raw", "directory", …

    @property
    @abc.abstractmethod
    def container_files(self) -> list[Path]:
        """The files on the examiner's disk that make up the evidence (segments included)."""

    @abc.abstractmethod
    def walk(self) -> Iterator[FileEntry]:
        """Every entry (allocated and deleted) of every file system, in a stable order."""

    @abc.abstractmethod
    def open(self, entry: FileEntry) -> BinaryIO:
        """A read-only, seekable binary stream of a regular file's content."""

    def head(self, entry: FileEntry, size: int) -> bytes:
        """The first `size` bytes of a regular file (fewer when it is shorter), as `open` reads them."""
        with self.open(entry) as f:
            return f.read(size)

    @abc.abstractmethod
    def media_hashes(self, progress: ProgressCallback | None = None) -> MediaHashes:
        """MD5, SHA-1 and SHA-256 of the media in one pass (plus stored hashes for E01)."""

    def media_hashes_reusing(
        self, known: Callable[[str], str | None], progress: ProgressCallback | None = None
    ) -> MediaHashes:
        """`media_hashes`, where they are made of the container files' own SHA-256 (a folder's manifest) taking each
        from `known` (the file's path on this disk → the SHA-256 the run read for its "before" hash, None: read it
        now) instead of reading the file a second time; evidence whose media is read as a whole reads it."""
        return self.media_hashes(progress)

    def find(self, path: str, volume: str | None = None) -> FileEntry:
        """The entry at `path` (optionally in one volume); EvidenceError if absent or ambiguous."""
        from triage.errors import EvidenceError

        path = "/" + path.strip("/")
        hits = [e for e in self.walk() if e.path == path and (volume is None or e.volume == volume)]
        allocated = [e for e in hits if e.allocated] or hits
        volumes = sorted({e.volume for e in allocated})
        if not allocated:
            raise EvidenceError(f"no file at {path} in {self.source.name}")
        if len(volumes) > 1:
            raise EvidenceError(f"{path} exists in several volumes ({', '.join(volumes)}); choose one with --volume")
        return allocated[0]

    def read_bytes(self, entry: FileEntry) -> bytes:
        with self.open(entry) as f:
            return f.read()

    def close(self) -> None:  # noqa: B027 - a default, not abstract: most evidence holds nothing to release
        pass

    def __enter__(self) -> Evidence:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
