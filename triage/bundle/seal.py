"""Seal a finished run folder into a BagIt 1.0 bag, sign it, and zip it beside the folder.

`triage run` writes its files at the top of --out; `seal` moves them into `data/` and writes the tag
files (layout in triage/bundle/layout.py). Nothing is ever overwritten: `data/`, every tag file and the
zip are created exclusively, and a zip path that already exists stops the seal before anything moves.
The zip holds `<folder>/...` with fixed timestamps. Its members: the payload files a run handed over
early (`BundleZip.add_finished`, in the order handed over), the other payload files in sorted order, then
the tag files in sorted order; so the same folder sealed the same way always gives the same zip.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import sys
import zipfile
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import IO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from isal import isal_zlib

from triage import TOOL_NAME, __version__
from triage.bundle.keys import fingerprint, fingerprint_der, public_pem
from triage.bundle.layout import (
    BAG_INFO,
    BAGIT_DECLARATION,
    BAGIT_TXT,
    MANIFEST,
    PAYLOAD_DIR,
    PUBLIC_KEY,
    REPORT_FILES,
    SIGNATURE,
    TAG_MANIFEST,
    VERIFY_TXT,
    manifest_line,
)
from triage.bundle.recipe import verify_recipe
from triage.bundle.tree import walk
from triage.errors import TriageError
from triage.integrity.exclusive import ExistingFileError, create_exclusive, write_bytes_exclusive
from triage.integrity.file_hashes import open_regular, sha256_of
from triage.integrity.output_location import bundle_zip_path  # beside the folder, named after it

__all__ = ["PAYLOAD_DIR", "seal", "seal_entry_details", "bundle_zip_path"]

ZIP_TIME = (1980, 1, 1, 0, 0, 0)
# Formats that are compressed already: deflating them again costs time and saves nothing, so they are
# stored as they are. Everything else (HTML, JSON, JSON Lines, CSV, KML, text) is deflated.
ALREADY_COMPRESSED = frozenset(
    {
        ".jpg",
        ".jpeg",
        ".png",
        ".gif",
        ".webp",
        ".heic",
        ".heif",  # pictures
        ".mp4",
        ".mov",
        ".m4a",  # video and sound
        ".pdf",  # report.pdf: WeasyPrint compresses its streams
        ".zip",
        ".gz",
        ".tgz",
        ".xz",
        ".bz2",
        ".7z",  # archives
    }
)
THUMBNAIL_DIR = "thumbs"  # the report's thumbnails (triage/enrich/thumbnails.py): JPEG, whatever their name says
CHUNK = 1 << 20  # bytes copied into the zip at a time: a member is never read whole
# deflate's fastest level: measured on a 200,000-message bag (bench/RESULTS.md), 4.5 s instead of 9.5 s for an
# 18 % larger zip; the zip carries the bag, its integrity is the manifests' and the signature's, not deflate's
DEFLATE_LEVEL = 1
# Deflate itself is Intel's ISA-L (the `isal` package) instead of zlib: the same format, which every unzip reads,
# 4.5 times less CPU and a 3 % smaller zip on that bag (bench/RESULTS.md). ISA-L's levels run 0-3.
ISAL_LEVEL = 1


@dataclass(frozen=True)
class PayloadFile:
    rel: str  # 'data/...'
    path: Path
    sha256: str
    size: int
    stamp: tuple[int, int, int]  # (inode, size, modification time in ns) of the file as it was read


def seal_entry_details(folder: Path, key: Ed25519PrivateKey | None) -> dict:
    """What the custody log's "seal" entry records, computed on the unsealed folder (after the report is
    written): whether and by which key the bundle is signed, and the SHA-256 of each report file, so that
    `triage verify` ties the examination record to the key and to the report a reader opens."""
    public = key.public_key() if key is not None else None
    return {
        "signed": key is not None,
        "key_fingerprint": fingerprint(public) if public else None,
        "key_fingerprint_der": fingerprint_der(public) if public else None,
        "reports": {name: sha256_of(folder / name) for name in REPORT_FILES if (folder / name).is_file()},
    }


def seal(
    folder: Path, key: Ed25519PrivateKey | None, info: dict[str, str] | None = None, recipe: str | None = None
) -> Path:
    """Turn the finished run folder into a signed BagIt bag and write `<folder>.zip` beside it; returns the zip.

    `info`: more bag-info.txt labels (an addendum names its bundle there); `recipe`: VERIFY.txt's text
    when it is not a run's bundle (default: recipe.verify_recipe). A run that handed files over early seals
    through its own `BundleZip` instead."""
    with BundleZip(folder) as bundle:
        return bundle.seal(key, info, recipe)


class BundleZip:
    """The zip of a run folder's bundle, which payload files may join before the folder is sealed.

    Each payload file is read once: its SHA-256 (for the manifest) is computed from the same bytes that go
    into the zip, on a second thread while the zip deflates them. A run hands over the files its report has
    finished (the pages, the exports) while the report's second process still lays out report.pdf, so they
    are zipped on the core that would otherwise wait for it (issue 14; triage/report/__init__.py). `seal`
    then moves the folder into `data/`, adds every payload file not handed over in sorted order, and the tag
    files. A file handed over must be, when the bag is sealed, the same file as it was read: same inode, size
    and modification time, or the seal stops (nothing may change the run's files once they are in the zip).

    The zip is created (exclusively) by the first file that joins it; leaving the `with` block without a
    finished seal removes it: a zip this object created and did not finish is never kept."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.target = bundle_zip_path(folder)
        self._open: ExitStack | None = None
        self._zip: zipfile.ZipFile | None = None
        self._hashing: ThreadPoolExecutor | None = None
        self.early: dict[str, PayloadFile] = {}  # 'data/...' -> the file as it went into the zip, in that order

    def __enter__(self) -> BundleZip:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._open is not None:  # not sealed: _exclusive_zip removes the unfinished zip
            opened, self._open = self._open, None
            opened.__exit__(kind or TriageError, error or TriageError("the bundle was not sealed"), trace)

    def _started(self) -> tuple[zipfile.ZipFile, ThreadPoolExecutor]:
        if self._zip is None or self._hashing is None:
            if os.path.lexists(self.target):  # before anything moves: a refused seal leaves the folder as it was
                raise ExistingFileError(
                    f"{self.target} already exists; mobile-triage never replaces a file "
                    "(move it away, or choose another --out)"
                )
            with ExitStack() as opening:
                self._zip = opening.enter_context(_exclusive_zip(self.target))
                self._hashing = opening.enter_context(ThreadPoolExecutor(1, thread_name_prefix="seal-sha256"))
                self._open = opening.pop_all()
        assert self._zip is not None and self._hashing is not None
        return self._zip, self._hashing

    def add_finished(self, paths: Iterable[Path]) -> None:
        """Zip these files of the unsealed folder now (in sorted order of their names): the run will not write
        them again. A file already handed over is not added twice."""
        z, hashing = self._started()
        named = {f"{PAYLOAD_DIR}/{path.relative_to(self.folder).as_posix()}": path for path in paths}
        for rel in sorted(named):
            if rel not in self.early:
                path = named[rel]
                self.early[rel] = add_payload_member(
                    z, self.folder.name, Listed(rel, path, os.lstat(path).st_size), hashing
                )

    def seal(
        self, key: Ed25519PrivateKey | None, info: dict[str, str] | None = None, recipe: str | None = None
    ) -> Path:
        """The bag and its zip (see `seal`); returns the zip."""
        z, hashing = self._started()
        move_into_payload(self.folder)
        listing = list_payload(self.folder)
        _unchanged_since_zipped(self.early, listing)
        payload = [*self.early.values()]
        payload += [
            add_payload_member(z, self.folder.name, item, hashing) for item in listing if item.rel not in self.early
        ]
        head = head_tags(self.folder, listing, key, info, recipe)
        tags = {**head, **tail_tags(payload, head, key)}
        write_tags(self.folder, tags)
        for name in sorted(tags):
            add_member(z, f"{self.folder.name}/{name}", self.folder / name)
        opened, self._open = self._open, None
        assert opened is not None
        opened.close()  # the central directory is written: the zip is finished
        return self.target


def _unchanged_since_zipped(early: dict[str, PayloadFile], listing: list[Listed]) -> None:
    """Every file zipped early is in the payload, as it was read (moved into data/ by a rename: same inode)."""
    listed = {item.rel: item for item in listing}
    for rel, zipped in early.items():
        item = listed.get(rel)
        if item is None:
            raise TriageError(f"cannot seal: {rel} went into the zip but is no longer in the folder")
        found = os.lstat(item.path)
        if (found.st_ino, found.st_size, found.st_mtime_ns) != zipped.stamp:
            raise TriageError(f"cannot seal: {rel} changed after it went into the zip")


def move_into_payload(folder: Path) -> None:
    """Every top-level entry of the run folder into `data/` (a rename: nothing is copied)."""
    entries = sorted(os.listdir(folder))
    try:
        os.mkdir(folder / PAYLOAD_DIR)
    except FileExistsError:
        raise ExistingFileError(
            f"{folder / PAYLOAD_DIR} already exists: the folder is already sealed, or holds "
            f"a '{PAYLOAD_DIR}' entry the run did not write"
        ) from None
    for name in entries:
        os.rename(folder / name, folder / PAYLOAD_DIR / name)


@dataclass(frozen=True)
class Listed:
    rel: str  # 'data/...'
    path: Path
    size: int  # as listed; the copy into the zip must read exactly this many bytes


def list_payload(folder: Path) -> list[Listed]:
    """The payload's regular files in sorted order with their sizes (bag-info.txt's Payload-Oxum)."""
    tree = walk(folder / PAYLOAD_DIR)
    if tree.problems:  # the run writes regular files only; anything else must not be sealed silently
        raise TriageError(f"cannot seal {folder}: {'; '.join(tree.problems)}")
    return [Listed(f"{PAYLOAD_DIR}/{rel}", path, os.lstat(path).st_size) for rel, path in sorted(tree.files.items())]


def head_tags(
    folder: Path,
    listing: list[Listed],
    key: Ed25519PrivateKey | None,
    info: dict[str, str] | None = None,
    recipe: str | None = None,
) -> dict[str, bytes]:
    """The tag files that need no payload hash: bagit.txt, bag-info.txt, VERIFY.txt."""
    octets = sum(item.size for item in listing)
    return {
        BAGIT_TXT: BAGIT_DECLARATION.encode("utf-8"),
        BAG_INFO: bag_info(octets, len(listing), info).encode("utf-8"),
        VERIFY_TXT: (recipe or verify_recipe(folder.name, key.public_key() if key else None)).encode("utf-8"),
    }


def tail_tags(payload: list[PayloadFile], head: dict[str, bytes], key: Ed25519PrivateKey | None) -> dict[str, bytes]:
    """The manifest of the payload, the public key, the tag manifest (of every tag file) and its signature."""
    in_order = sorted(payload, key=lambda p: p.rel)  # the zip's order may differ; the manifest's is sorted
    tags = {MANIFEST: "".join(manifest_line(p.sha256, p.rel) for p in in_order).encode("utf-8")}
    if key is not None:
        tags[PUBLIC_KEY] = public_pem(key.public_key())
    tag_manifest = "".join(
        manifest_line(hashlib.sha256(data).hexdigest(), name) for name, data in sorted({**head, **tags}.items())
    ).encode("utf-8")
    tags[TAG_MANIFEST] = tag_manifest
    if key is not None:
        # raw 64 bytes, so `openssl pkeyutl -verify -rawin -sigfile` reads it as it is
        tags[SIGNATURE] = key.sign(tag_manifest)
    return tags


def write_tags(folder: Path, tags: dict[str, bytes]) -> None:
    for name, data in tags.items():
        write_bytes_exclusive(folder / name, data)


def bag_info(octets: int, count: int, info: dict[str, str] | None = None) -> str:
    more = "".join(f"{label}: {' '.join(value.split())}\n" for label, value in (info or {}).items())  # one line each
    return (
        f"Bag-Software-Agent: {TOOL_NAME} {__version__}\n"
        f"Bagging-Date: {datetime.now(UTC).date().isoformat()}\n"
        f"Payload-Oxum: {octets}.{count}\n" + more
    )


@contextmanager
def _exclusive_zip(target: Path) -> Iterator[zipfile.ZipFile]:
    """A new zip at `target`, created exclusively; a zip left unfinished (full disk) is removed, never kept."""
    with create_exclusive(target, "wb") as raw:
        try:
            with zipfile.ZipFile(raw, "w") as z:
                yield z
        except BaseException:
            raw.close()
            target.unlink(missing_ok=True)  # ours: created exclusively a moment ago
            raise


def write_zip(folder: Path, target: Path) -> Path:
    """A folder as one zip, its files in sorted order, created exclusively (see _exclusive_zip)."""
    tree = walk(folder)
    if tree.problems:
        raise TriageError(f"cannot zip {folder}: {'; '.join(tree.problems)}")
    with _exclusive_zip(target) as z:
        for rel, path in sorted(tree.files.items()):
            add_member(z, f"{folder.name}/{rel}", path)
    return target


def add_payload_member(z: zipfile.ZipFile, root: str, item: Listed, hashing: ThreadPoolExecutor) -> PayloadFile:
    """Copy one payload file into the zip and return it with the SHA-256 of the bytes copied. The hash of a
    chunk runs on `hashing` while the zip compresses it (both let go of the GIL on large buffers)."""
    digest = hashlib.sha256()
    size = 0
    with open_regular(item.path) as src, _member(z, f"{root}/{item.rel}", item.size) as dst:
        while chunk := src.read(CHUNK):
            hashed = hashing.submit(digest.update, chunk)
            dst.write(chunk)
            hashed.result()
            size += len(chunk)
        read = os.fstat(src.fileno())
    if size != item.size or read.st_size != size:  # nothing may change the run's files while they are sealed
        raise TriageError(f"cannot seal: {item.rel} changed while it was sealed ({item.size} bytes, then {size})")
    return PayloadFile(item.rel, item.path, digest.hexdigest(), size, (read.st_ino, read.st_size, read.st_mtime_ns))


def add_member(z: zipfile.ZipFile, name: str, path: Path) -> None:
    with open_regular(path) as src, _member(z, name, os.fstat(src.fileno()).st_size) as dst:
        shutil.copyfileobj(src, dst, CHUNK)


def _member(z: zipfile.ZipFile, name: str, size: int) -> IO[bytes]:
    """A new member open for writing: fixed time and mode (the same folder gives the same zip), stored or
    deflated by its name; `size` lets zipfile choose zip64 for a large file."""
    info = zipfile.ZipInfo(name, ZIP_TIME)
    info.create_system = 3  # Unix, so the mode bits below say "regular file" to every unzip
    info.external_attr = (stat.S_IFREG | 0o644) << 16
    info.compress_type = compression_for(name)
    _set_level(info, DEFLATE_LEVEL)
    info.file_size = size
    member = z.open(info, "w")
    if info.compress_type == zipfile.ZIP_DEFLATED:
        _deflate_with_isal(member)
    return member


def _deflate_with_isal(member: IO[bytes]) -> None:
    """The member's raw deflate stream made by ISA-L. zipfile has no parameter for the compressor: the writer it
    returns keeps its zlib compressor in `_compressor` (3.11 to 3.13) and calls only `compress` and `flush`,
    which ISA-L's compressor has too. Nothing is written before this; without the attribute zlib stays."""
    if getattr(member, "_compressor", None) is not None:
        member._compressor = isal_zlib.compressobj(ISAL_LEVEL, isal_zlib.DEFLATED, -isal_zlib.MAX_WBITS)  # type: ignore[attr-defined]


def _set_level(info: zipfile.ZipInfo, level: int) -> None:
    if sys.version_info >= (3, 13):  # Python 3.13 and later name it
        info.compress_level = level
    else:  # what ZipFile.open reads for a ZipInfo on 3.11 and 3.12 (private: not in typeshed)
        info._compresslevel = level  # type: ignore[attr-defined]


def compression_for(name: str) -> int:
    """ZIP_STORED for a member already compressed (by its extension, or one of the report's thumbnails,
    `<folder>/data/thumbs/…`), ZIP_DEFLATED otherwise."""
    member = PurePosixPath(name)
    if member.suffix.lower() in ALREADY_COMPRESSED or member.parts[1:3] == (PAYLOAD_DIR, THUMBNAIL_DIR):
        return zipfile.ZIP_STORED
    return zipfile.ZIP_DEFLATED
