"""Create-exclusive output: nothing mobile-triage writes may ever replace an existing file.

Every report, export, bundle file and zip is opened with O_CREAT|O_EXCL, so a path that already
exists (the evidence itself, an earlier bundle, a file planted in the output folder) stops the write
with a one-line error instead of being overwritten.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any

from triage.errors import TriageError


class ExistingFileError(TriageError):
    """An output path is already taken."""


def create_exclusive(path: Path, mode: str = "wb", encoding: str | None = None, **kwargs: Any) -> IO[Any]:
    """Open a new file for writing; fails if anything (file, link, folder) is already at `path`."""
    if "w" not in mode or "+" in mode:
        raise ValueError(f"create_exclusive is for writing new files, not mode {mode!r}")
    if "b" not in mode and encoding is None:
        encoding = "utf-8"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except FileExistsError:
        raise ExistingFileError(
            f"{path} already exists; mobile-triage never replaces a file (choose a new output location)"
        ) from None
    return os.fdopen(fd, mode.replace("x", "w"), encoding=encoding, **kwargs)


def write_bytes_exclusive(path: Path, data: bytes) -> None:
    with create_exclusive(path, "wb") as f:
        f.write(data)


def write_text_exclusive(path: Path, text: str, encoding: str = "utf-8") -> None:
    with create_exclusive(path, "w", encoding=encoding, newline="") as f:
        f.write(text)
