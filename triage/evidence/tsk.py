"""Disk images through The Sleuth Kit (pytsk3): volume systems, file systems, files and NTFS streams.

The image bytes come from an `ImageStream` (raw, split raw or EWF) through one `Img_Info` subclass.
A file's address is its layer chain: container → partition (when there is a volume system) → file
system type → path, e.g. `EWF demo.E01 → GPT partition 1 'userdata' → ext4 → /data/x.db`.

Listing follows `fls -r`: deleted names are included (allocated=False), TSK's virtual entries
($OrphanFiles, FAT's $MBR/$FAT1/$FAT2) and '.'/'..' are not, and an NTFS file is listed once per
data stream (`name`, `name:stream`) and per named index ($Secure:$SDH), as fls does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import pytsk3

from triage.errors import EvidenceError
from triage.evidence.filesystems import FileSystem, Region
from triage.evidence.hashing import hash_image
from triage.evidence.images import ImageStream, short_reason
from triage.evidence.model import (
    LAYER_SEPARATOR,
    TIME_FIELDS,
    EntryTimes,
    Evidence,
    FileEntry,
    MediaHashes,
    ProgressCallback,
    shown_name,
    stored_bytes_hex,
)
from triage.evidence.probes import probe_region
from triage.evidence.streams import SeekableReader, buffered

SECTOR = 512
MAX_IMAGE_READ_ERRORS = 10  # image read errors kept verbatim in warnings; the rest are counted

VS_NAMES = {
    int(pytsk3.TSK_VS_TYPE_DOS): "MBR",
    int(pytsk3.TSK_VS_TYPE_GPT): "GPT",
    int(pytsk3.TSK_VS_TYPE_MAC): "APM",
    int(pytsk3.TSK_VS_TYPE_BSD): "BSD disklabel",
    int(pytsk3.TSK_VS_TYPE_SUN): "Sun VTOC",
}
FS_NAMES = {
    "TSK_FS_TYPE_NTFS": "NTFS",
    "TSK_FS_TYPE_FAT12": "FAT12",
    "TSK_FS_TYPE_FAT16": "FAT16",
    "TSK_FS_TYPE_FAT32": "FAT32",
    "TSK_FS_TYPE_EXFAT": "exFAT",
    "TSK_FS_TYPE_EXT2": "ext2",
    "TSK_FS_TYPE_EXT3": "ext3",
    "TSK_FS_TYPE_EXT4": "ext4",
    "TSK_FS_TYPE_HFS": "HFS+",
    "TSK_FS_TYPE_ISO9660": "ISO9660",
    "TSK_FS_TYPE_FFS1": "UFS1",
    "TSK_FS_TYPE_FFS1B": "UFS1b",
    "TSK_FS_TYPE_FFS2": "UFS2",
    "TSK_FS_TYPE_YAFFS2": "YAFFS2",
    "TSK_FS_TYPE_APFS": "APFS",
    "TSK_FS_TYPE_SWAP": "swap",
    "TSK_FS_TYPE_RAW": "raw data",
}
FS_TYPE_NAMES = {int(getattr(pytsk3, k)): v for k, v in FS_NAMES.items() if hasattr(pytsk3, k)}

_NAME_ALLOC = int(pytsk3.TSK_FS_NAME_FLAG_ALLOC)
_META_ALLOC = int(pytsk3.TSK_FS_META_FLAG_ALLOC)
_VIRTUAL_NAMES = {int(pytsk3.TSK_FS_NAME_TYPE_VIRT), int(pytsk3.TSK_FS_NAME_TYPE_VIRT_DIR)}
_VIRTUAL_META = {int(pytsk3.TSK_FS_META_TYPE_VIRT), int(pytsk3.TSK_FS_META_TYPE_VIRT_DIR)}
_META_TYPES = {
    int(pytsk3.TSK_FS_META_TYPE_REG): "file",
    int(pytsk3.TSK_FS_META_TYPE_DIR): "dir",
    int(pytsk3.TSK_FS_META_TYPE_LNK): "link",
}
_NAME_TYPES = {
    int(pytsk3.TSK_FS_NAME_TYPE_REG): "file",
    int(pytsk3.TSK_FS_NAME_TYPE_DIR): "dir",
    int(pytsk3.TSK_FS_NAME_TYPE_LNK): "link",
}
_NTFS_DATA = int(pytsk3.TSK_FS_ATTR_TYPE_NTFS_DATA)
_NTFS_IDXROOT = int(pytsk3.TSK_FS_ATTR_TYPE_NTFS_IDXROOT)
_NTFS = int(pytsk3.TSK_FS_TYPE_NTFS)


class TskImage(pytsk3.Img_Info):
    """Any `ImageStream` presented to The Sleuth Kit (TSK_IMG_TYPE_EXTERNAL)."""

    def __init__(self, stream: ImageStream) -> None:
        self._stream = stream
        self.read_errors: list[str] = []
        self.read_error_count = 0
        self.last_read_error = ""  # the newest, for a file read that met it (TskFileStream)
        super().__init__(url="", type=pytsk3.TSK_IMG_TYPE_EXTERNAL)

    def read(self, offset: int, size: int) -> bytes:
        try:
            return self._stream.read_at(offset, size)
        except OSError as e:
            # An exception would surface from pytsk3 as an opaque RuntimeError; an empty read is a
            # plain read error to TSK, and our own record keeps the reason for the warnings.
            self.read_error_count += 1
            self.last_read_error = f"image read error at byte {offset} ({size} bytes): {short_reason(e)}"
            if len(self.read_errors) < MAX_IMAGE_READ_ERRORS:
                self.read_errors.append(self.last_read_error)
            return b""

    def get_size(self) -> int:
        return self._stream.size


@dataclass
class Volume:
    """One opened file system inside the image."""

    id: str  # "" when the image holds a bare file system, "p<n>" for the n-th allocated partition
    layers: tuple[str, ...]
    fs: pytsk3.FS_Info | None  # None when the file system is read by a probe (`other`) instead of TSK
    ntfs: bool
    other: FileSystem | None = None  # APFS, F2FS …: see triage/evidence/filesystems.py


@dataclass(frozen=True)
class TskHandle:
    """Where a listed entry's bytes are: its volume, meta address and (for NTFS) the attribute."""

    volume: int
    meta_addr: int
    attr_type: int | None = None
    attr_id: int | None = None


class TskEvidence(Evidence):
    """A disk image (raw, split raw or E01) read through The Sleuth Kit."""

    def __init__(self, source: Path, stream: ImageStream) -> None:
        self.source = source
        self.stream = stream
        self.kind = stream.kind
        self.warnings: list[str] = []
        self._warned: set[str] = set()
        self._img = TskImage(stream)
        self.volumes = open_volumes(self._img, stream.layer, self.warnings)
        if not self.volumes:
            raise EvidenceError(no_file_system_message(source.name, self._img))
        self._note_image_errors()

    @property
    def container_files(self) -> list[Path]:
        return self.stream.files

    # -- listing --------------------------------------------------------------------------------
    def walk(self) -> Iterator[FileEntry]:
        for index, volume in enumerate(self.volumes):
            if volume.other is not None:
                yield from volume.other.walk(volume.id, volume.layers, self._warn)
            else:
                yield from _VolumeWalker(index, volume, self._warn).walk()
        self._note_image_errors()

    def _warn(self, message: str) -> None:
        if message not in self._warned:  # walk() runs more than once (find, pipeline): say each thing once
            self._warned.add(message)
            self.warnings.append(message)

    def _note_image_errors(self) -> None:
        """Image read errors met by TSK become warnings (once each; counted beyond the first few)."""
        for message in self._img.read_errors:
            self._warn(message)
        hidden = self._img.read_error_count - len(self._img.read_errors)
        if hidden > 0:
            summary = f"more image read errors: {hidden} beyond the first {MAX_IMAGE_READ_ERRORS}"
            old = [i for i, w in enumerate(self.warnings) if w.startswith("more image read errors")]
            if old:
                self.warnings[old[0]] = summary  # one running count, not one line per walk
            else:
                self.warnings.append(summary)

    # -- reading ----------------------------------------------------------------------------------
    def open(self, entry: FileEntry) -> BinaryIO:
        other = next((v.other for v in self.volumes if v.id == entry.volume and v.other is not None), None)
        if other is not None:
            return other.open(entry)
        handle = entry.handle
        if not isinstance(handle, TskHandle):
            raise EvidenceError(
                f"{entry.provenance}: this deleted name has no metadata left, or its inode now "
                f"belongs to another file, so its content cannot be read"
            )
        if entry.type == "dir":
            raise EvidenceError(f"{entry.provenance} is a directory")
        volume = self.volumes[handle.volume]
        assert volume.fs is not None  # a TskHandle is given only to entries TSK listed
        try:
            tsk_file = volume.fs.open_meta(inode=handle.meta_addr)
        except OSError as e:
            raise EvidenceError(f"cannot open {entry.provenance} (inode {entry.inode}): {_one_line(e)}") from e
        if entry.type == "link":
            target = _text(tsk_file.info.meta.link) if tsk_file.info.meta else ""
            raise EvidenceError(f"{entry.provenance} is a symbolic link to '{target}'; links are not followed")
        raw = TskFileStream(tsk_file, handle, entry.size or 0, entry.provenance, self._img)
        return buffered(raw, 1 << 20)

    def media_hashes(self, progress: ProgressCallback | None = None) -> MediaHashes:
        return hash_image(self.stream, progress)

    def close(self) -> None:
        for volume in self.volumes:
            if volume.other is not None:
                volume.other.close()
        self.volumes = []
        self.stream.close()


class TskFileStream(SeekableReader):
    """A file's (or NTFS stream's) content as a seekable, read-only raw stream over read_random.

    A read that met an image read error fails, even when TSK hands out a full buffer: for blocks the
    image cannot give (an E01's missing chunks) TSK fills the buffer with whatever it holds, and a file
    with those bytes would be parsed and hashed as if they were its content (a wrong SHA-256, wrong
    records). `img` counts the image read errors; one more after a read means the read was not whole.
    """

    def __init__(
        self, tsk_file: pytsk3.File, handle: TskHandle, size: int, where: str, img: TskImage | None = None
    ) -> None:
        super().__init__(size)
        self._file, self._handle, self._where, self._img = tsk_file, handle, where, img

    def _read_at(self, offset: int, size: int) -> bytes:
        size = min(size, self._size - offset)
        if size <= 0:
            return b""
        h = self._handle
        errors_before = self._img.read_error_count if self._img is not None else 0
        try:
            if h.attr_type is None:
                data = self._file.read_random(offset, size)
            else:
                data = self._file.read_random(offset, size, h.attr_type, h.attr_id)
        except OSError as e:
            raise OSError(f"{self._where}: read error at byte {offset}: {_one_line(e)}") from e
        if self._img is not None and self._img.read_error_count > errors_before:
            raise OSError(
                f"{self._where}: bytes {offset}-{offset + size - 1} lie in a part of the image that "
                f"cannot be read ({self._img.last_read_error}); the content there is missing, so the "
                f"file is not read (is the image complete?)"
            )
        if len(data) < size:
            # never hand out a silently shortened file: the caller records the failure instead
            raise OSError(
                f"{self._where}: only {len(data)} of {size} bytes readable at byte {offset} of "
                f"{self._size} (sparse, uninitialised or damaged content)"
            )
        return data


def no_file_system_message(name: str, img: TskImage) -> str:
    """Why nothing opened, and what the examiner can do about it."""
    if img.read_errors:
        return (
            f"no volume or file system found in {name}: the image could not be read "
            f"({img.read_errors[0]}); check that the image (all of its segments) is complete"
        )
    known = _unsupported_format(img)
    if known:
        return f"no volume or file system found in {name}: it holds {known}, which The Sleuth Kit cannot read"
    return (
        f"no volume or file system found in {name}: The Sleuth Kit recognises no partition table and no "
        f"file system in it (encrypted, unsupported, or not a disk image?)"
    )


def _unsupported_format(img: TskImage) -> str | None:
    """Recognise the phone file systems TSK lacks, so the message can name them."""
    head = img.read(0, 2048)
    if head[32:36] == b"NXSB":
        return "an APFS container (use an APFS-capable tool, e.g. libfsapfs)"
    if head[1024:1028] == (0xF2F52010).to_bytes(4, "little"):
        return "an F2FS file system (Android userdata)"
    return None


# -- volumes --------------------------------------------------------------------------------------
def open_volumes(img: TskImage, container_layer: str, warnings: list[str]) -> list[Volume]:
    """File systems in the image: one per allocated partition that opens, else one at offset 0."""
    try:
        vs = pytsk3.Volume_Info(img)
    except OSError:
        vs = None  # no partition table: the normal case for a bare file system image
    volumes: list[Volume] = []
    failures: list[str] = []
    if vs is not None:
        volumes, failures = _partition_volumes(img, vs, container_layer)
    if not volumes:
        bare = _open_fs(img, 0)
        if isinstance(bare, pytsk3.FS_Info):
            volumes = [Volume("", (container_layer, fs_name(bare)), bare, int(bare.info.ftype) == _NTFS)]
        else:
            region = Region(img.read, 0, img.get_size(), container_layer)
            volumes = _probed_volumes("", (container_layer,), probe_region(region, warnings.append))
        if volumes:
            if vs is not None:
                warnings.append(
                    f"{container_layer}: a partition table was found but no partition holds a file "
                    f"system; reading the file system at offset 0 instead"
                )
            failures = []
    warnings.extend(failures)
    for volume in volumes:
        if volume.fs is not None:
            _check_fits(volume.fs, volume.layers, warnings)
    return volumes


def _probed_volumes(volume_id: str, layers: tuple[str, ...], found: list[FileSystem]) -> list[Volume]:
    """Volumes for file systems found by a probe; several in one place (APFS) get ids `<id>v<k>`."""
    if len(found) == 1:
        return [Volume(volume_id, (*layers, found[0].name), None, False, found[0])]
    return [Volume(f"{volume_id}v{k}", (*layers, fs.name), None, False, fs) for k, fs in enumerate(found, 1)]


def _check_fits(fs: pytsk3.FS_Info, layers: tuple[str, ...], warnings: list[str]) -> None:
    """A file system that extends past the end of the image means the image is truncated."""
    info = fs.info
    if info.last_block_act < info.last_block:  # TSK's "last block actually in the image"
        warnings.append(
            f"{LAYER_SEPARATOR.join(layers)}: the image holds blocks 0-{info.last_block_act} "
            f"of a file system of {info.last_block + 1} blocks (truncated image?); files in the "
            f"missing part cannot be read"
        )


def _partition_volumes(img: TskImage, vs: pytsk3.Volume_Info, container_layer: str) -> tuple[list[Volume], list[str]]:
    scheme = VS_NAMES.get(int(vs.info.vstype), f"volume system type {int(vs.info.vstype)}")
    block = vs.info.block_size or SECTOR
    volumes: list[Volume] = []
    failures: list[str] = []
    number = 0
    extents: list[tuple[int, int, int]] = []  # (number, first sector, last sector) of each allocated partition
    for part in vs:
        if not int(part.flags) & int(pytsk3.TSK_VS_PART_FLAG_ALLOC):
            continue
        number += 1
        extents.append((number, part.start, part.start + part.len - 1))
        desc = _text(part.desc)
        layer = f"{scheme} partition {number} '{desc}'"
        fs = _open_fs(img, part.start * block)
        probed: list[Volume] = []
        if isinstance(fs, pytsk3.FS_Info):
            volumes.append(Volume(f"p{number}", (container_layer, layer, fs_name(fs)), fs, int(fs.info.ftype) == _NTFS))
        else:
            region = Region(
                img.read, part.start * block, part.len * block, f"{container_layer}{LAYER_SEPARATOR}{layer}"
            )
            probed = _probed_volumes(f"p{number}", (container_layer, layer), probe_region(region, failures.append))
            volumes.extend(probed)
        if not isinstance(fs, pytsk3.FS_Info) and not probed:
            sectors = f"sectors {part.start}-{part.start + part.len - 1}"
            failures.append(
                f"{container_layer}{LAYER_SEPARATOR}{layer} ({sectors}): no file system that The "
                f"Sleuth Kit or this tool can open ({fs}); its files are not listed"
            )
    return volumes, overlap_warnings(extents, f"{container_layer}{LAYER_SEPARATOR}{scheme}") + failures


def overlap_warnings(extents: list[tuple[int, int, int]], where: str) -> list[str]:
    """One warning per pair of partitions whose sector ranges overlap (a damaged or forged table).

    Both are still examined: which one is genuine is for the examiner to decide, and a file in the
    shared sectors may then be listed in both."""
    warnings = []
    for i, (a, a_first, a_last) in enumerate(extents):
        for b, b_first, b_last in extents[i + 1 :]:
            first, last = max(a_first, b_first), min(a_last, b_last)
            if first <= last:
                warnings.append(
                    f"{where}: partitions {a} and {b} overlap (sectors {first}-{last}); both are "
                    f"examined, so files in the shared sectors may be listed under both; check the "
                    f"partition table"
                )
    return warnings


def _open_fs(img: TskImage, offset: int) -> pytsk3.FS_Info | str:
    """The file system at `offset`, or TSK's reason why there is none."""
    try:
        return pytsk3.FS_Info(img, offset=offset)
    except OSError as e:
        reason = _one_line(e)
        return reason.split("with error: ", 1)[-1]  # TSK prefixes its own call site; keep the reason


def fs_name(fs: pytsk3.FS_Info) -> str:
    ftype = int(fs.info.ftype)
    return FS_TYPE_NAMES.get(ftype, f"file system type {ftype:#x}")


# -- walking one file system ------------------------------------------------------------------------
@dataclass
class _Child:
    """A listed entry and, for a directory to descend into, its meta address."""

    entry: FileEntry
    descend: int | None
    sort_key: tuple


class _VolumeWalker:
    """Depth-first, name-sorted listing of one file system, safe against directory loops."""

    def __init__(self, index: int, volume: Volume, warn: Callable[[str], None]) -> None:
        assert volume.fs is not None  # walked only when TSK reads the volume (walk(): `other` is None)
        self.index, self.volume, self.fs, self.warn = index, volume, volume.fs, warn
        self.where = LAYER_SEPARATOR.join(volume.layers)
        self.visited: set[int] = set()

    def walk(self) -> Iterator[FileEntry]:
        root = self.fs.info.root_inum
        self.visited.add(root)
        stack: list[Iterator[_Child]] = [iter(self._children(root, "", b""))]
        while stack:
            child = next(stack[-1], None)
            if child is None:
                stack.pop()
                continue
            yield child.entry
            if child.descend is None:
                continue
            if child.descend in self.visited:
                if child.entry.allocated:
                    self.warn(
                        f"{self.where} → {child.entry.path}: directory inode {child.descend} is already "
                        f"listed under another path (directory loop or hard-linked directory); not "
                        f"listed again here"
                    )
                continue
            self.visited.add(child.descend)
            stack.append(iter(self._children(child.descend, child.entry.path, child.entry.raw_path)))

    def _children(self, dir_addr: int, dir_path: str, dir_raw: bytes) -> list[_Child]:
        """The entries of one directory, sorted; reading errors become warnings."""
        where = f"{self.where} → {dir_path or '/'}"
        children: list[_Child] = []
        try:
            directory = self.fs.open_dir(inode=dir_addr)
        except OSError as e:
            self.warn(f"cannot read directory {where} (inode {dir_addr}): {_one_line(e)}")
            return children
        try:
            for tsk_file in directory:
                children.extend(self._entries_of(tsk_file, dir_path, dir_raw))
        except OSError as e:
            self.warn(f"directory {where} (inode {dir_addr}) read only partly: {_one_line(e)}")
        children.sort(key=lambda c: c.sort_key)
        return children

    def _entries_of(self, tsk_file: pytsk3.File, dir_path: str, dir_raw: bytes) -> list[_Child]:
        name_info = tsk_file.info.name
        raw_name = _raw(name_info.name)
        name = shown_name(raw_name)
        if name in (".", "..") or int(name_info.type) in _VIRTUAL_NAMES:
            return []
        meta = tsk_file.info.meta
        if meta is not None and int(meta.type) in _VIRTUAL_META:
            return []
        path = f"{dir_path}/{name}"
        raw_hex = stored_bytes_hex(dir_raw + b"/" + raw_name, path)
        allocated = bool(int(name_info.flags) & _NAME_ALLOC)
        etype = (
            _META_TYPES.get(int(meta.type), "other")
            if meta is not None
            else _NAME_TYPES.get(int(name_info.type), "other")
        )
        # FileEntry's keyword arguments shared by this name's entries (one per NTFS stream)
        base: dict[str, Any] = dict(
            type=etype,
            volume=self.volume.id,
            allocated=allocated,
            layers=self.volume.layers,
            raw_name_hex=raw_hex,
            **self._times(meta, path),
        )
        if meta is None:
            entry = FileEntry(path=path, size=None, inode=str(name_info.meta_addr), handle=None, **base)
            return [_Child(entry, None, (path, not allocated, name_info.meta_addr))]
        # a deleted name whose inode is allocated again now points at another file's content
        reallocated = not allocated and bool(int(meta.flags) & _META_ALLOC)
        descend = meta.addr if etype == "dir" and not reallocated else None
        if self.volume.ntfs:
            return self._ntfs_entries(tsk_file, path, base, descend, reallocated)
        handle = None if reallocated else TskHandle(self.index, meta.addr)
        entry = FileEntry(path=path, size=meta.size, inode=str(meta.addr), handle=handle, **base)
        return [_Child(entry, descend, (path, not allocated, meta.addr))]

    def _ntfs_entries(
        self, tsk_file: pytsk3.File, path: str, base: dict, descend: int | None, reallocated: bool
    ) -> list[_Child]:
        """One entry per $DATA stream and per named index other than $I30, as `fls` lists them."""
        meta = tsk_file.info.meta
        children: list[_Child] = []
        try:
            attrs = [
                (int(a.info.type), a.info.id, _text(a.info.name) if a.info.name else "", a.info.size) for a in tsk_file
            ]
        except OSError as e:
            self.warn(f"cannot read the attributes of {self.where} → {path}: {_one_line(e)}")
            attrs = []
        for atype, aid, aname, asize in attrs:
            if atype in (_NTFS_DATA, _NTFS_IDXROOT):
                stream = aname if aname and not (atype == _NTFS_IDXROOT and aname == "$I30") else ""
                fields = dict(base)
                if stream:
                    fields["type"] = "file"  # a named stream is content, whatever its file is
                handle = None if reallocated else TskHandle(self.index, meta.addr, atype, aid)
                entry = FileEntry(
                    path=f"{path}:{stream}" if stream else path,
                    size=asize,
                    inode=f"{meta.addr}-{atype}-{aid}",
                    handle=handle,
                    **fields,
                )
                children.append(
                    _Child(
                        entry, descend if not stream else None, (entry.path, not entry.allocated, meta.addr, atype, aid)
                    )
                )
        if not children:  # e.g. a file with only standard attributes: still list its name
            entry = FileEntry(
                path=path,
                size=meta.size,
                inode=str(meta.addr),
                handle=None if reallocated else TskHandle(self.index, meta.addr),
                **base,
            )
            children.append(_Child(entry, descend, (path, not entry.allocated, meta.addr)))
        return children

    def _times(self, meta: pytsk3.TSK_FS_META | None, path: str) -> EntryTimes:
        times: EntryTimes = {}
        if meta is None:
            return times
        for field in TIME_FIELDS:
            seconds = getattr(meta, field, 0)
            nanos = getattr(meta, f"{field}_nano", 0) or 0
            times[field] = self._utc(seconds, nanos, field, path)
        return times

    def _utc(self, seconds: int, nanos: int, field: str, path: str) -> datetime | None:
        if not seconds and not nanos:
            return None  # TSK uses 0 for "not recorded" (e.g. crtime on ext2)
        try:
            return datetime.fromtimestamp(seconds, UTC) + timedelta(microseconds=nanos // 1000)
        except (OverflowError, OSError, ValueError):
            self.warn(f"{self.where} → {path}: {field} value {seconds} is out of range and is left empty")
            return None


def _raw(value: bytes | str | None) -> bytes:
    """A TSK name's bytes (pytsk3 gives bytes; a str would be its UTF-8)."""
    if value is None:
        return b""
    return value.encode("utf-8", errors="surrogateescape") if isinstance(value, str) else bytes(value)


def _text(value: bytes | str | None) -> str:
    """TSK names are UTF-8; undecodable bytes are kept visible as \\x escapes rather than lost."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return value.decode("utf-8", errors="backslashreplace")


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())
