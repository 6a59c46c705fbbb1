"""A plain folder as evidence (a logical extraction copied to disk).

Symbolic links are listed (type "link") but never followed, so nothing outside the folder is read
or listed; files are opened read-only ('rb' with O_NOFOLLOW) and special files (FIFOs, devices,
sockets) are listed as "other" and never opened, because opening a FIFO would block the run.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from triage.errors import EvidenceError
from triage.evidence.hashing import TripleHasher, sha256_of_stream
from triage.evidence.model import (
    EntryTimes,
    Evidence,
    FileEntry,
    MediaHashes,
    ProgressCallback,
    TimeField,
    shown_name,
    stored_bytes_hex,
)

MANIFEST_NOTE = (
    "SHA-256 manifest of the folder: one '<sha256>  <path>' line per regular file, sorted by "
    "path (code point order), paths relative to the folder with a leading '/', UTF-8, '\\n' line "
    "ends; md5/sha1/sha256 are of that manifest"
)


class DirectoryEvidence(Evidence):
    """Files under one folder, addressed as `directory <folder name> → /relative/path`."""

    kind = "directory"

    def __init__(self, root: Path) -> None:
        self.source = root
        self.root = root.resolve()
        self._root_text = str(self.root)
        self._root_prefix = self._root_text.rstrip(os.sep) + os.sep
        self._root_bytes = os.fsencode(self.root).rstrip(b"/")
        self.layer = f"directory {self.root.name or str(self.root)}"
        self.layers = (self.layer,)  # one tuple for every entry
        self.warnings: list[str] = []
        self._warned: set[str] = set()

    @property
    def container_files(self) -> list[Path]:
        """Every regular file in the folder (what the pipeline hashes before and after a run): the files `walk`
        lists, found by the same rules (lstat: a link is never followed, one that cannot be stat'ed is left
        out, as the walk leaves it out with a warning) without making an entry for each."""
        return sorted((Path(path) for path, _ in self._regular_files()), key=os.fsencode)

    def _regular_files(self) -> Iterator[tuple[str, int]]:
        """(path on this disk, size) of every regular file `walk` lists as a file, in no particular order."""
        pending = [str(self.root)]
        while pending:
            try:
                with os.scandir(pending.pop()) as it:
                    dirents = list(it)
            except OSError:
                continue  # the walk says so
            for d in dirents:
                try:
                    st = d.stat(follow_symlinks=False)
                except OSError:
                    continue
                if stat.S_ISDIR(st.st_mode):
                    pending.append(d.path)
                elif stat.S_ISREG(st.st_mode):
                    yield d.path, st.st_size

    # -- listing ------------------------------------------------------------------------------------
    def walk(self) -> Iterator[FileEntry]:
        stack: list[Iterator[FileEntry]] = [iter(self._children(self.root, ""))]
        while stack:
            entry = next(stack[-1], None)
            if entry is None:
                stack.pop()
                continue
            yield entry
            if entry.type == "dir":  # a real directory: symlinks are type "link", never descended
                stack.append(iter(self._children(Path(entry.handle), entry.path)))

    def _children(self, folder: Path, rel: str) -> list[FileEntry]:
        try:
            with os.scandir(folder) as it:
                dirents = sorted(it, key=lambda d: d.name)
        except OSError as e:
            self._warn(f"cannot read directory {self.layer} → {rel or '/'}: {e.strerror or e}")
            return []
        entries = []
        for d in dirents:
            entry = self._entry(d, rel)
            if entry is not None:
                entries.append(entry)
        return entries

    def _entry(self, d: os.DirEntry, rel: str) -> FileEntry | None:
        path = f"{rel}/{shown_name(os.fsencode(d.name))}"
        raw = self._below(d.path)
        try:
            st = d.stat(follow_symlinks=False)
        except OSError as e:
            self._warn(f"cannot stat {self.layer} → {path}: {e.strerror or e}")
            return None
        if stat.S_ISDIR(st.st_mode):
            etype = "dir"
        elif stat.S_ISREG(st.st_mode):
            etype = "file"
        elif stat.S_ISLNK(st.st_mode):
            etype = "link"
        else:
            etype = "other"
        return FileEntry(
            path=path,
            layers=self.layers,
            type=etype,
            size=st.st_size,
            inode=str(st.st_ino),
            handle=d.path,
            raw_name_hex=stored_bytes_hex(raw, path),
            **self._times(st, path),
        )

    def _times(self, st: os.stat_result, path: str) -> EntryTimes:
        # st_ctime is the inode change time on Unix; creation time exists only where st_birthtime_ns does
        raw: dict[TimeField, int] = {
            "mtime": st.st_mtime_ns,
            "atime": st.st_atime_ns,
            "ctime": st.st_ctime_ns,
            "crtime": getattr(st, "st_birthtime_ns", 0),
        }
        times: EntryTimes = {}
        for field, ns in raw.items():
            try:
                times[field] = _utc(ns)
            except (OverflowError, OSError, ValueError):
                self._warn(f"{self.layer} → {path}: {field} value {ns} ns is out of range and is left empty")
                times[field] = None
        return times

    def _warn(self, message: str) -> None:
        if message not in self._warned:  # walk() may run several times; say each problem once
            self._warned.add(message)
            self.warnings.append(message)

    # -- reading ------------------------------------------------------------------------------------
    def open(self, entry: FileEntry) -> BinaryIO:
        if entry.type != "file":
            raise EvidenceError(
                f"{entry.provenance} is a {entry.type}, not a regular file; it is not opened "
                f"(links are never followed out of the evidence folder)"
            )
        path = Path(entry.handle)
        try:
            f = open(path, "rb", opener=_open_nofollow)
        except OSError as e:
            raise EvidenceError(f"cannot open {entry.provenance}: {e.strerror or e}") from e
        try:
            self._check_descriptor(f.fileno(), path, entry)
        except BaseException:
            f.close()
            raise
        return f

    def head(self, entry: FileEntry, size: int) -> bytes:
        """`Evidence.head` on the file descriptor alone, with the checks of `open`: a phone's tens of thousands of
        files have their first bytes read while the evidence is listed, and a buffered file object for each cost
        about as much again (51,493 files: ~0.6 s against ~0.45 s)."""
        if entry.type != "file":
            return super().head(entry, size)  # says why it is not read
        try:
            fd = _open_nofollow(entry.handle, os.O_RDONLY)
        except OSError as e:
            raise EvidenceError(f"cannot open {entry.provenance}: {e.strerror or e}") from e
        try:
            self._check_descriptor(fd, entry.handle, entry)
            chunks: list[bytes] = []
            while size > 0 and (chunk := os.read(fd, size)):  # a read may return less (a network file system)
                chunks.append(chunk)
                size -= len(chunk)
            return b"".join(chunks)
        finally:
            os.close(fd)

    def _check_descriptor(self, fd: int, path: Path | str, entry: FileEntry) -> None:
        """The file opened is a regular file inside the evidence folder: a directory on the way may have been
        swapped for a symlink since the listing. Checked on the open file itself (its path as the kernel
        names it), so nothing can be swapped between the check and the read; opened without blocking, so a
        FIFO swapped in is refused rather than waited on."""
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise EvidenceError(f"{entry.provenance} is no longer a regular file; not read")
        real = _opened_path(fd, path)
        if real != self._root_text and not real.startswith(self._root_prefix):
            raise EvidenceError(f"{entry.provenance} now resolves outside the evidence folder ({real}); not opened")

    # -- hashing ------------------------------------------------------------------------------------
    def media_hashes(self, progress: ProgressCallback | None = None) -> MediaHashes:
        return self._manifest_hashes(progress, None)

    def media_hashes_reusing(
        self, known: Callable[[str], str | None], progress: ProgressCallback | None = None
    ) -> MediaHashes:
        """The manifest's lines from the SHA-256 the run read for its "before" hash (the same bytes, as the "after"
        hash then shows): a folder's files are not read a third time (51,493 at N = 1,000,000)."""
        return self._manifest_hashes(progress, known)

    def _manifest_hashes(
        self, progress: ProgressCallback | None, known: Callable[[str], str | None] | None
    ) -> MediaHashes:
        # the files `walk` lists, by their paths as it shows them, each made an entry only while it is hashed:
        # this runs beside parsing, and a second list of entries beside the run's held ~40 MB at 51,000 files
        files = sorted((self._shown(path), path, size) for path, size in self._regular_files())
        total = sum(size for _, _, size in files)
        hasher, done, size, read = TripleHasher(), 0, 0, 0
        errors: list[str] = []
        try:
            for shown, path, file_size in files:
                digest = known(path) if known is not None else None
                if digest is None:
                    read += 1
                    digest = self._file_sha256(
                        FileEntry(shown, self.layers, "file", file_size, None, handle=path), errors
                    )
                line = _manifest_line(shown, digest)
                hasher.update(line)
                size += len(line)
                done += file_size
                if progress:
                    progress(done, total)
        finally:
            digests = hasher.finish()
        return MediaHashes(
            size=size,
            md5=digests["md5"],
            sha1=digests["sha1"],
            sha256=digests["sha256"],
            headers={
                "method": MANIFEST_NOTE,
                "files": str(len(files)),
                **({"file_hashes": f"as read for the 'before' hash; read now: {read} file(s)"} if known else {}),
            },
            read_errors=errors,
        )

    def _shown(self, path: str) -> str:
        """A file's path below the folder as `walk` shows it (`FileEntry.path`)."""
        return shown_name(self._below(path))

    def _below(self, path: str) -> bytes:
        """The bytes of a path on this disk below the folder, as stored ('/' first)."""
        return os.fsencode(path)[len(self._root_bytes) :]

    def _file_sha256(self, entry: FileEntry, errors: list[str]) -> str:
        try:
            with self.open(entry) as f:
                return sha256_of_stream(f.read)
        except (OSError, EvidenceError) as e:
            errors.append(f"cannot read {entry.path}: {e}")
            return "UNREADABLE"


def _manifest_line(shown: str, digest: str) -> bytes:
    name = shown.replace("\\", "\\\\").replace("\n", "\\n")
    return f"{digest}  {name}\n".encode()


def _open_nofollow(path: str, flags: int) -> int:
    return os.open(path, flags | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))


def _opened_path(fd: int, path: Path | str) -> str:
    """The real path of an open file: one readlink of /proc/self/fd/N on Linux, where the kernel names each
    open file by the path it resolved (realpath's lstat of every folder on the way, for each of a phone's
    50,000 files, cost seconds); realpath where /proc is not there."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return os.path.realpath(path)


def _utc(ns: int) -> datetime | None:
    if not ns:
        return None
    seconds = datetime.fromtimestamp(ns // 1_000_000_000, UTC)
    return seconds.replace(microsecond=(ns % 1_000_000_000) // 1000)
