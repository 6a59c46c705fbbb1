"""APFS containers through libfsapfs (`pyfsapfs`): one `FileSystem` per volume.

The Sleuth Kit's pool layer, which APFS needs, is not reachable from pytsk3, so a partition (or bare
image) whose bytes carry the container signature (`NXSB` at byte 32) is handed to libfsapfs through a
read-only file object over the region. Each volume becomes its own file system, labelled
`APFS volume '<name>'`. An encrypted (locked) volume is reported, not guessed at: no password is tried,
and its files are not listed.

APFS stores times as nanoseconds since 1970 UTC; entries carry them to the microsecond, like TSK's.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

from triage.errors import EvidenceError
from triage.evidence.filesystems import FileSystem, Region, Warn
from triage.evidence.model import LAYER_SEPARATOR, EntryTimes, FileEntry, TimeField
from triage.evidence.streams import SeekableReader, buffered

CONTAINER_MAGIC = b"NXSB"  # nx_superblock_t.nx_magic, after the 32-byte object header
_TYPES = {0o100000: "file", 0o040000: "dir", 0o120000: "link"}
ApfsObject = Any  # a pyfsapfs container, volume or file entry: the library carries no type information
# FileEntry's time fields and the pyfsapfs getters (get_NAME_as_integer) that read them
_TIME_GETTERS: tuple[tuple[TimeField, str], ...] = (
    ("mtime", "modification_time"),
    ("atime", "access_time"),
    ("ctime", "inode_change_time"),
    ("crtime", "creation_time"),
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class RegionFile(SeekableReader):
    """The region's bytes as the read-only, seekable file object libfsapfs asks for."""

    def __init__(self, region: Region) -> None:
        super().__init__(region.size)
        self._region = region

    def get_size(self) -> int:
        return self._region.size

    def _read_at(self, offset: int, size: int) -> bytes:
        return self._region.read(offset, size)

    def read(self, size: int = -1) -> bytes:  # libfsapfs calls read() directly, not readinto()
        if size is None or size < 0:
            size = self._size - self._pos
        data = self._region.read(self._pos, size)
        self._pos += len(data)
        return data


def probe_apfs(region: Region, warn: Warn) -> list[FileSystem] | None:
    """The volumes of an APFS container in `region`, or None when it holds none."""
    if region.read(32, 4) != CONTAINER_MAGIC:
        return None
    import pyfsapfs  # only needed when there is APFS to read

    lock = threading.Lock()  # one libfsapfs handle reads through one file object
    container = pyfsapfs.container()
    try:
        container.open_file_object(RegionFile(region))
        count = container.number_of_volumes
    except OSError as e:
        warn(f"{region.where}: APFS container cannot be opened by libfsapfs: {_one_line(e)}; its files are not listed")
        return []
    volumes: list[FileSystem] = []
    for index in range(count):
        try:
            volume = container.get_volume(index)
            name, locked = volume.name or f"#{index + 1}", volume.is_locked()
        except OSError as e:
            warn(
                f"{region.where}: APFS volume {index + 1} of {count} cannot be opened: {_one_line(e)}; its "
                f"files are not listed"
            )
            continue
        if locked:
            warn(f"{region.where}: APFS volume '{name}' is encrypted; its files are not listed")
            volumes.append(LockedApfsVolume(name))
        else:
            volumes.append(ApfsVolume(name, volume, lock, container))
    return volumes


class LockedApfsVolume(FileSystem):
    """An encrypted volume: named in the layer chain, nothing listed (the probe already warned)."""

    def __init__(self, name: str) -> None:
        self.name = f"APFS volume '{name}' (encrypted)"

    def walk(self, volume_id: str, layers: tuple[str, ...], warn: Warn) -> Iterator[FileEntry]:
        return iter(())

    def open(self, entry: FileEntry) -> BinaryIO:
        raise EvidenceError(f"{entry.provenance}: the APFS volume is encrypted; its files cannot be read")


class ApfsVolume(FileSystem):
    """One unlocked APFS volume, listed depth first in name order."""

    def __init__(self, name: str, volume: ApfsObject, lock: threading.Lock, container: ApfsObject) -> None:
        self.name = f"APFS volume '{name}'"
        self._volume, self._lock = volume, lock
        self._container = container  # keeps the handle (and its file object) alive

    def walk(self, volume_id: str, layers: tuple[str, ...], warn: Warn) -> Iterator[FileEntry]:
        where = LAYER_SEPARATOR.join(layers)
        with self._lock:
            root = self._volume.get_root_directory()
        visited = {root.identifier}
        stack: list[Iterator[tuple[str, ApfsObject]]] = [iter(self._children(root, "", where, warn))]
        while stack:
            item = next(stack[-1], None)
            if item is None:
                stack.pop()
                continue
            path, node = item
            entry = self._entry(node, path, volume_id, layers, where, warn)
            yield entry
            if entry.type != "dir":
                continue
            if node.identifier in visited:
                warn(
                    f"{where} → {path}: directory {node.identifier} is already listed under another path; "
                    f"not listed again here"
                )
                continue
            visited.add(node.identifier)
            stack.append(iter(self._children(node, path, where, warn)))

    def _children(self, node: ApfsObject, path: str, where: str, warn: Warn) -> list[tuple[str, ApfsObject]]:
        children = []
        try:
            with self._lock:
                for index in range(node.number_of_sub_file_entries):
                    child = node.get_sub_file_entry(index)
                    children.append((f"{path}/{child.name}", child))
        except OSError as e:
            warn(f"directory {where} → {path or '/'} read only partly: {_one_line(e)}")
        return sorted(children, key=lambda c: c[0])

    def _entry(
        self, node: ApfsObject, path: str, volume_id: str, layers: tuple[str, ...], where: str, warn: Warn
    ) -> FileEntry:
        with self._lock:
            mode = node.file_mode or 0
            times: EntryTimes = {}
            for field, name in _TIME_GETTERS:
                times[field] = _utc(getattr(node, f"get_{name}_as_integer")(), f"{where} → {path} {field}", warn)
            size, identifier = node.size, node.identifier
        return FileEntry(
            path=path,
            layers=layers,
            type=_TYPES.get(mode & 0o170000, "other"),
            size=size,
            inode=str(identifier),
            volume=volume_id,
            handle=identifier,
            **times,
        )

    def open(self, entry: FileEntry) -> BinaryIO:
        if entry.type != "file":
            raise EvidenceError(
                f"{entry.provenance} is a {entry.type}, not a regular file"
                + ("; links are not followed" if entry.type == "link" else "")
            )
        try:
            with self._lock:
                node = self._volume.get_file_entry_by_identifier(int(entry.handle))
        except (OSError, TypeError) as e:
            raise EvidenceError(f"cannot open {entry.provenance} (inode {entry.inode}): {_one_line(e)}") from e
        raw = ApfsFileStream(node, entry.size or 0, self._lock, entry.provenance)
        return buffered(raw, 1 << 20)


class ApfsFileStream(SeekableReader):
    """A file's content (libfsapfs decompresses where needed), read-only and seekable."""

    def __init__(self, node: ApfsObject, size: int, lock: threading.Lock, where: str) -> None:
        super().__init__(size)
        self._node, self._lock, self._where = node, lock, where

    def _read_at(self, offset: int, size: int) -> bytes:
        size = min(size, self._size - offset)
        if size <= 0:
            return b""
        try:
            with self._lock:
                data = self._node.read_buffer_at_offset(size, offset)
        except OSError as e:
            raise OSError(f"{self._where}: read error at byte {offset}: {_one_line(e)}") from e
        if len(data) < size:  # never a silently shortened file
            raise OSError(f"{self._where}: only {len(data)} of {size} bytes readable at byte {offset}")
        return data


def _utc(nanoseconds: int | None, what: str, warn: Warn) -> datetime | None:
    """APFS time (ns since 1970 UTC) → aware datetime to the microsecond; 0 means not recorded."""
    if not nanoseconds:
        return None
    try:
        return _EPOCH + timedelta(microseconds=nanoseconds // 1000)
    except OverflowError:
        warn(f"{what} value {nanoseconds} is out of range and is left empty")
        return None


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())
