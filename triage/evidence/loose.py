"""One loose file as evidence (an examiner handed a single database or photo): it is presented at
`/<name>`, with its SQLite sidecars (`-wal`, `-journal`) beside it when they exist."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from triage.evidence.model import Evidence, FileEntry, MediaHashes, ProgressCallback, shown_path, stored_bytes_hex

SIDECAR_SUFFIXES = ("-wal", "-journal", "-shm")

CHUNK = 4 << 20


def sidecars_of(database: Path) -> list[Path]:
    """Where SQLite keeps the companion files of `database` (they may or may not be there)."""
    return [database.with_name(database.name + suffix) for suffix in SIDECAR_SUFFIXES]


class LooseFileEvidence(Evidence):
    kind = "file"

    def __init__(self, path: Path) -> None:
        self.source = path
        self.warnings: list[str] = []

    @property
    def container_files(self) -> list[Path]:
        return [self.source] + [p for p in sidecars_of(self.source) if p.is_file()]

    def walk(self) -> Iterator[FileEntry]:
        for path in self.container_files:
            st = path.stat()
            shown = "/" + shown_path(path.name)  # a name that is not UTF-8: \\xNN, its bytes kept as hex
            yield FileEntry(
                path=shown,
                layers=(f"file {shown_path(self.source.name)}",),
                type="file",
                size=st.st_size,
                inode=str(st.st_ino),
                mtime=datetime.fromtimestamp(st.st_mtime, UTC),
                atime=datetime.fromtimestamp(st.st_atime, UTC),
                ctime=datetime.fromtimestamp(st.st_ctime, UTC),
                handle=path,
                raw_name_hex=stored_bytes_hex(b"/" + os.fsencode(path.name), shown),
            )

    def open(self, entry: FileEntry) -> BinaryIO:
        return open(entry.handle, "rb")

    def media_hashes(self, progress: ProgressCallback | None = None) -> MediaHashes:
        md5, sha1, sha256 = hashlib.md5(), hashlib.sha1(), hashlib.sha256()
        size, total = 0, self.source.stat().st_size
        with open(self.source, "rb") as f:
            while chunk := f.read(CHUNK):
                for h in (md5, sha1, sha256):
                    h.update(chunk)
                size += len(chunk)
                if progress:
                    progress(size, total)
        return MediaHashes(size=size, md5=md5.hexdigest(), sha1=sha1.hexdigest(), sha256=sha256.hexdigest())
