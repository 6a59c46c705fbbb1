"""A bundle to verify, as a folder or as a zip, read the same strict way and never extracted.

Both give: the regular files by path relative to the bag root, the folders, and what is wrong with
the container itself (links, special files, unreadable folders; in a zip: members outside the one
top folder, a second top folder, duplicate names, link or device members, encrypted members). Files
are opened as streams, so hashing needs bounded memory whatever a member's size.
"""

from __future__ import annotations

import stat
import zipfile
import zlib
from collections import Counter
from pathlib import Path
from typing import BinaryIO

from triage.bundle.layout import BAGIT_TXT, CUSTODY, PAYLOAD_DIR, shown
from triage.bundle.tree import walk
from triage.integrity.file_hashes import open_regular

# what reading a file or a zip member can raise: a damaged member is named, never a traceback
READ_ERRORS = (OSError, EOFError, zipfile.BadZipFile, zlib.error, RuntimeError, NotImplementedError, ValueError)


class CannotRead(Exception):
    """The source is not a folder or a readable zip."""


class BundleSource:
    """Common shape: `files` (path → copies), `dirs`, `problems`; `open(rel, copy)`, `size(rel, copy)`."""

    label: str
    files: dict[str, int]  # relative path → number of copies (more than 1 only in a padded zip)
    dirs: set[str]
    problems: list[str]

    def open(self, rel: str, copy: int = 0) -> BinaryIO:
        raise NotImplementedError

    def size(self, rel: str, copy: int = 0) -> int | None:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def read(self, rel: str, limit: int) -> bytes | None:
        """A small file whole (tag files); None when absent; OSError when larger than `limit`."""
        if rel not in self.files:
            return None
        with self.open(rel) as f:
            data = f.read(limit + 1)
        if len(data) > limit:
            raise OSError(f"{rel} is larger than {limit} bytes, far more than a bundle's {rel} can be")
        return data

    def __enter__(self) -> BundleSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class FolderSource(BundleSource):
    def __init__(self, root: Path) -> None:
        self.label = str(root)
        tree = walk(root)
        self.paths = tree.files
        self.files = {rel: 1 for rel in tree.files}
        self.dirs = tree.dirs
        self.problems = list(tree.problems)

    def open(self, rel: str, copy: int = 0) -> BinaryIO:
        return open_regular(self.paths[rel])

    def size(self, rel: str, copy: int = 0) -> int | None:
        return self.paths[rel].lstat().st_size


class ZipSource(BundleSource):
    """The central directory, read strictly: nothing but one folder's files, each name once."""

    def __init__(self, path: Path) -> None:
        self.label = str(path)
        self.zip = zipfile.ZipFile(path)
        self.members: dict[str, list[zipfile.ZipInfo]] = {}
        self.dirs = set()
        self.problems = []
        infos = self.zip.infolist()
        self.root = _root_folder(infos)
        self._outside_root(infos)
        self._duplicates(infos)
        for info in infos:
            if info.filename.startswith(self.root + "/"):
                self._add(info, info.filename[len(self.root) + 1 :])
        self.files = {rel: len(copies) for rel, copies in self.members.items()}

    def _outside_root(self, infos: list[zipfile.ZipInfo]) -> None:
        others = Counter(
            info.filename.partition("/")[0]
            for info in infos
            if "/" in info.filename and not info.filename.startswith(self.root + "/")
        )
        for top, count in sorted(others.items()):
            self.problems.append(
                f"a second top folder in the zip: {shown(top)}/ ({count} member(s)); a bundle "
                f"zip holds one folder, {shown(self.root)}/"
            )
        for info in infos:
            if "/" not in info.filename:
                self.problems.append(f"member outside the bundle folder: {shown(info.filename)}")

    def _duplicates(self, infos: list[zipfile.ZipInfo]) -> None:
        for name, count in sorted(Counter(info.filename for info in infos).items()):
            if count > 1:
                self.problems.append(
                    f"duplicate member name {shown(name)} ({count} copies): unzip tools extract "
                    "only one of them, so the zip can show something other than what was sealed"
                )

    def _add(self, info: zipfile.ZipInfo, rel: str) -> None:
        if info.is_dir():
            if rel.rstrip("/"):
                self.dirs.add(rel.rstrip("/"))
            return
        problem = _member_problem(info)
        if problem:
            self.problems.append(f"{problem}: {shown(info.filename)}")
            return
        self.members.setdefault(rel, []).append(info)

    def open(self, rel: str, copy: int = 0) -> BinaryIO:
        return self.zip.open(self.members[rel][copy])  # type: ignore[return-value]

    def size(self, rel: str, copy: int = 0) -> int | None:
        return self.members[rel][copy].file_size

    def close(self) -> None:
        self.zip.close()


def _root_folder(infos: list[zipfile.ZipInfo]) -> str:
    """The bag's folder: the top folder holding bagit.txt (else one holding the custody log, else the
    largest); every other top-level name is reported."""
    tops = Counter(info.filename.partition("/")[0] for info in infos if "/" in info.filename)
    names = {info.filename for info in infos}
    for marker in (BAGIT_TXT, f"{PAYLOAD_DIR}/{CUSTODY}", CUSTODY):
        marked = sorted(top for top in tops if f"{top}/{marker}" in names)
        if marked:
            return marked[0]
    return tops.most_common(1)[0][0] if tops else ""


def _member_problem(info: zipfile.ZipInfo) -> str:
    if info.flag_bits & 0x1:
        return "encrypted member (a sealed bundle is never encrypted)"
    mode = info.external_attr >> 16
    if info.create_system == 3 and stat.S_IFMT(mode) and not stat.S_ISREG(mode):
        return "link or special-file member (a sealed bundle holds regular files only)"
    return ""


def open_source(path: Path) -> BundleSource:
    """A folder or a zip; CannotRead when it is neither (the reason is said)."""
    if path.is_dir():
        return FolderSource(path)
    if not path.is_file():
        raise CannotRead(f"{shown(str(path))} is neither a folder nor a file")
    try:
        return ZipSource(path)
    except OSError as e:
        raise CannotRead(f"cannot read {shown(str(path))}: {e.strerror or e}") from None
    except READ_ERRORS as e:
        raise CannotRead(f"{shown(str(path))} is not a bundle folder or a readable zip ({e})") from None
