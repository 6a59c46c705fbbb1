"""An F2FS file system as a `FileSystem` layer: the probe, the depth-first listing, and file opening.

Damage is reported, never fatal to the listing: an unreadable inode is still listed under its name
(without metadata, and unreadable), a directory that cannot be read is reported and skipped, and a
directory met twice (a loop) is not descended again.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from triage.errors import EvidenceError
from triage.evidence.f2fs.checkpoint import CP_ORPHAN_PRESENT, Checkpoint, read_checkpoint
from triage.evidence.f2fs.compression import unsupported_reason
from triage.evidence.f2fs.content import F2fsFile
from triage.evidence.f2fs.directory import FILE_TYPES, Dentry, DentryLayout, parse_dentries
from triage.evidence.f2fs.inode import BlockMap, Inode, parse_inode
from triage.evidence.f2fs.layout import (
    BLOCK,
    FEATURE_CASEFOLD,
    NEW_ADDR,
    NULL_ADDR,
    F2fsError,
    Superblock,
    has_magic,
    parse_superblock,
)
from triage.evidence.f2fs.nat import Device, NodeTable
from triage.evidence.filesystems import FileSystem, Region, Warn
from triage.evidence.model import LAYER_SEPARATOR, TIME_FIELDS, EntryTimes, FileEntry
from triage.evidence.streams import buffered

MAX_DEPTH = 512  # deeper than any real tree; guards against loops through distinct directory inodes
EXAMPLES = 5
BUFFER = 1 << 20
MAX_LINK_TARGET = BLOCK  # Linux caps a link target at PATH_MAX (4096 bytes); F2FS keeps it in one block


@dataclass(frozen=True)
class F2fsHandle:
    nid: int


class F2fsFileSystem(FileSystem):
    name = "F2FS"

    def __init__(self, region: Region, sb: Superblock, cp: Checkpoint, warn: Warn) -> None:
        self.region, self.sb, self.cp = region, sb, cp
        self.device = Device(region, sb)
        self.nodes = NodeTable(self.device, sb, cp)

    # -- metadata ------------------------------------------------------------------------------------
    def inode(self, nid: int) -> Inode:
        return parse_inode(self.nodes.node(nid, nid), nid, self.sb)

    def dentries(self, inode: Inode, problems: list[str]) -> list[Dentry]:
        """Every entry in use in a directory, inline or in its dentry blocks (holes skipped)."""
        if inode.has_inline_dentry:
            return parse_dentries(inode.inline_data, DentryLayout.inline(len(inode.inline_data)), problems)
        found: list[Dentry] = []
        blocks = BlockMap(self.nodes, inode)
        layout = DentryLayout.block()
        total = (inode.size + BLOCK - 1) // BLOCK
        if total > blocks.max_blocks:
            problems.append(f"directory size {inode.size} is larger than any F2FS file; reading what it maps")
            total = blocks.max_blocks
        index = 0
        while index < total:
            start, length, addrs = blocks.segment(index)
            stop = min(total, start + length)
            for k in range(index, stop):
                if addrs is None:  # a whole unmapped range
                    break
                addr = addrs[k - start]
                if addr in (NULL_ADDR, NEW_ADDR):
                    continue  # an empty bucket of the hash table
                try:
                    self.device.check_data_addr(addr)
                    found.extend(parse_dentries(self.device.read(addr), layout, problems))
                except F2fsError as e:
                    problems.append(f"dentry block {k}: {e}")
            index = stop
        return found

    def read_link(self, entry: FileEntry) -> str:
        """A symbolic link's target (as stored; never followed); F2fsError when it cannot be read."""
        inode = self.inode(self._nid(entry))
        if inode.size > MAX_LINK_TARGET:
            # a damaged size would otherwise be read whole into memory (2 GiB of holes: 6 GB, fuzz/RESULTS.md)
            raise F2fsError(
                f"its target is {inode.size} bytes long, more than any link can hold ({MAX_LINK_TARGET}); damaged inode"
            )
        try:
            with F2fsFile(self.device, BlockMap(self.nodes, inode), inode, entry.provenance) as f:
                return f.read().decode("utf-8", errors="backslashreplace")
        except OSError as e:
            raise F2fsError(f"its target cannot be read ({e})") from e

    # -- FileSystem --------------------------------------------------------------------------------
    def walk(self, volume_id: str, layers: tuple[str, ...], warn: Warn) -> Iterator[FileEntry]:
        return _Walker(self, volume_id, layers, warn).walk()

    def open(self, entry: FileEntry) -> BinaryIO:
        nid = self._nid(entry)
        if entry.type == "dir":
            raise EvidenceError(f"{entry.provenance} is a directory")
        try:
            inode = self.inode(nid)
        except F2fsError as e:
            raise EvidenceError(f"cannot open {entry.provenance} (inode {nid}): {e}") from e
        if inode.type == "link":
            try:
                target = f"to '{self.read_link(entry)}'"
            except F2fsError as e:
                target = f"whose target cannot be shown: {e}"
            raise EvidenceError(f"{entry.provenance} is a symbolic link {target}; links are not followed")
        if inode.encrypted:
            raise EvidenceError(
                f"{entry.provenance}: content encrypted (F2FS file-based encryption); "
                f"it cannot be read without the device's keys"
            )
        if inode.type != "file":
            raise EvidenceError(f"{entry.provenance} is not a regular file")
        try:
            raw = F2fsFile(self.device, BlockMap(self.nodes, inode), inode, entry.provenance)
        except F2fsError as e:
            raise EvidenceError(f"cannot open {entry.provenance} (inode {nid}): {e}") from e
        return buffered(raw, BUFFER)

    def _nid(self, entry: FileEntry) -> int:
        if not isinstance(entry.handle, F2fsHandle):
            raise EvidenceError(
                f"{entry.provenance}: its inode could not be read when the directory was "
                f"listed, so its content cannot be read"
            )
        return entry.handle.nid


class _Walker:
    """Depth-first, name-sorted listing; every problem becomes a warning and the listing goes on."""

    def __init__(self, fs: F2fsFileSystem, volume_id: str, layers: tuple[str, ...], warn: Warn) -> None:
        self.fs, self.volume_id, self.layers, self.warn = fs, volume_id, layers, warn
        self.where = LAYER_SEPARATOR.join(layers)
        self.visited: set[int] = set()
        self.encrypted: list[str] = []
        self.unreadable: dict[str, list[str]] = {}  # reason -> paths
        self.beyond_end: list[str] = []

    def walk(self) -> Iterator[FileEntry]:
        root = self.fs.sb.root_ino
        try:
            root_inode = self.fs.inode(root)
        except F2fsError as e:
            self.warn(f"{self.where}: the root directory (inode {root}) cannot be read ({e}); no files listed")
            return
        self.visited.add(root)
        stack: list[Iterator[tuple[FileEntry, Inode | None]]] = [iter(self._children(root_inode, ""))]
        while stack:
            item = next(stack[-1], None)
            if item is None:
                stack.pop()
                continue
            entry, inode = item
            yield entry
            if inode is None or entry.type != "dir":
                continue
            if inode.nid in self.visited:
                self.warn(
                    f"{self.where} → {entry.path}: directory inode {inode.nid} is already listed under "
                    f"another path (directory loop or hard-linked directory); not listed again here"
                )
                continue
            if len(stack) >= MAX_DEPTH:
                self.warn(
                    f"{self.where} → {entry.path}: directories nested deeper than {MAX_DEPTH}; not descended (loop?)"
                )
                continue
            self.visited.add(inode.nid)
            stack.append(iter(self._children(inode, entry.path)))
        self._summaries()

    def _children(self, directory: Inode, dir_path: str) -> list[tuple[FileEntry, Inode | None]]:
        where = f"{self.where} → {dir_path or '/'}"
        problems: list[str] = []
        try:
            dentries = self.fs.dentries(directory, problems)
        except (F2fsError, struct.error, IndexError, ValueError) as e:  # damage of any shape: report, go on
            self.warn(f"cannot read directory {where} (inode {directory.nid}): {e}")
            return []
        for problem in problems:
            self.warn(f"directory {where} (inode {directory.nid}) read only partly: {problem}")
        if directory.encrypted and dentries:
            self.warn(f"{where}: names encrypted (F2FS file-based encryption); shown as stored bytes")
        children = []
        for d in dentries:
            if d.name in (b".", b".."):
                continue
            children.append(self._child(d, f"{dir_path}/{_text(d.name)}"))
        children.sort(key=lambda c: (c[0].path, c[0].inode or ""))
        return children

    def _child(self, d: Dentry, path: str) -> tuple[FileEntry, Inode | None]:
        base: dict[str, Any] = dict(path=path, layers=self.layers, volume=self.volume_id, inode=str(d.ino))
        try:
            inode = self.fs.inode(d.ino)
        except F2fsError as e:
            if "past the end of the image" in str(e):
                self.beyond_end.append(path)  # a truncated image: one summary, not a warning per file
            else:
                self.warn(
                    f"{self.where} → {path}: inode {d.ino} cannot be read ({e}); listed without metadata, "
                    f"its content cannot be read"
                )
            return FileEntry(type=FILE_TYPES.get(d.file_type, "other"), size=None, handle=None, **base), None
        self._note_content(inode, path)
        times: EntryTimes = {}
        for name in TIME_FIELDS:
            try:
                times[name] = inode.utc(name)
            except (OverflowError, OSError, ValueError):
                self.warn(f"{self.where} → {path}: {name} value {inode.times[name]} is out of range and is left empty")
                times[name] = None
        entry = FileEntry(type=inode.type, size=inode.size, handle=F2fsHandle(inode.nid), **base, **times)
        return entry, inode

    def _note_content(self, inode: Inode, path: str) -> None:
        if inode.encrypted and inode.type == "file":
            self.encrypted.append(path)
        if inode.compressed:
            reason = unsupported_reason(inode.compress_algorithm or 0)
            if reason:
                self.unreadable.setdefault(reason, []).append(path)

    def _summaries(self) -> None:
        """One warning per kind of unreadable content, not one per file (a locked phone has thousands)."""
        if self.encrypted:
            self.warn(
                f"{self.where}: {len(self.encrypted)} files have their content encrypted (F2FS file-based "
                f"encryption; listed, content not readable without the device's keys), e.g. "
                f"{', '.join(self.encrypted[:EXAMPLES])}"
            )
        if self.beyond_end:
            self.warn(
                f"{self.where}: {len(self.beyond_end)} inodes lie past the end of the image (truncated "
                f"image?); their files are listed without metadata and cannot be read, e.g. "
                f"{', '.join(self.beyond_end[:EXAMPLES])}"
            )
        for reason, paths in self.unreadable.items():
            self.warn(
                f"{self.where}: {len(paths)} files are {reason}; listed, content not readable, e.g. "
                f"{', '.join(paths[:EXAMPLES])}"
            )


def _text(name: bytes) -> str:
    """Names are UTF-8; undecodable bytes (encrypted names) stay visible as \\x escapes."""
    return name.decode("utf-8", errors="backslashreplace")


# -- the probe -------------------------------------------------------------------------------------
def probe_f2fs(region: Region, warn: Warn) -> list[FileSystem] | None:
    """An F2FS file system at the start of `region`; None when neither superblock copy has the magic."""
    head = region.read(0, 2 * BLOCK)
    copies = [head[:BLOCK], head[BLOCK : 2 * BLOCK]]
    if not any(has_magic(c) for c in copies):
        return None
    sb, reasons = None, []
    for copy, block in enumerate(copies):
        try:
            sb = parse_superblock(block, copy)
            break
        except F2fsError as e:
            reasons.append(f"{'primary' if copy == 0 else 'backup'}: {e}")
    if sb is None:
        warn(f"{region.where}: F2FS superblocks both damaged ({'; '.join(reasons)}); the file system cannot be read")
        return []
    if sb.copy == 1:
        warn(f"{region.where}: the primary F2FS superblock is damaged ({reasons[0]}); using the backup copy")
    _check_size(region, sb, warn)
    if sb.first_device:
        warn(
            f"{region.where}: multi-device F2FS (first device '{sb.first_device}'); only this device's blocks are read"
        )
    if sb.has(FEATURE_CASEFOLD):
        warn(f"{region.where}: F2FS with case-insensitive directories; names are listed as stored")
    device = Device(region, sb)
    try:
        cp = read_checkpoint(device.read_meta, sb, warn, f"{region.where}")
    except F2fsError as e:
        warn(f"{region.where}: F2FS found but unreadable: {e}")
        return []
    if cp.flags & CP_ORPHAN_PRESENT:
        warn(f"{region.where}: the F2FS checkpoint lists orphan inodes (files deleted while open); they are not listed")
    return [F2fsFileSystem(region, sb, cp, warn)]


def _check_size(region: Region, sb: Superblock, warn: Warn) -> None:
    have = region.size // BLOCK
    if have < sb.block_count:
        warn(
            f"{region.where}: the image holds blocks 0-{have - 1} of an F2FS file system of {sb.block_count} "
            f"blocks (truncated image?); files in the missing part cannot be read"
        )
