"""File systems The Sleuth Kit cannot read (APFS containers, F2FS), found inside disk images.

TSK is tried first on every partition (and on the bare image); when it finds nothing, each probe in
`triage.evidence.probes.PROBES` looks at the same bytes. A probe that recognises its format returns one or more
`FileSystem` objects (an APFS container holds several volumes), each listed and read through the same
`Evidence` interface as a TSK file system, so parsers never know the difference.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from triage.evidence.model import FileEntry

ReadAt = Callable[[int, int], bytes]  # (offset in the image, size) -> bytes; short only at the end
Warn = Callable[[str], None]


@dataclass(frozen=True)
class Region:
    """Where a candidate file system lies in the image, and how to read the image."""

    read_at: ReadAt
    offset: int  # byte offset of the partition (0 for a bare file system)
    size: int  # bytes in the partition (or image)
    where: str  # layer chain so far, for messages: "EWF x.E01 → GPT partition 2 'userdata'"

    def read(self, offset: int, size: int) -> bytes:
        """Bytes at `offset` inside the region (never past its end)."""
        if offset < 0 or offset >= self.size:
            return b""
        return self.read_at(self.offset + offset, min(size, self.size - offset))


class FileSystem(abc.ABC):
    """One file system (or APFS volume) read by our own code or a non-TSK library."""

    name: str  # its layer label, e.g. "F2FS" or "APFS volume 'Data'"

    @abc.abstractmethod
    def walk(self, volume_id: str, layers: tuple[str, ...], warn: Warn) -> Iterator[FileEntry]:
        """Every entry, depth first in name order, with `volume=volume_id` and these `layers`."""

    @abc.abstractmethod
    def open(self, entry: FileEntry) -> BinaryIO:
        """A read-only, seekable stream of a regular file listed by `walk`."""

    def close(self) -> None:  # noqa: B027 - a default, not abstract: most filesystems hold nothing to release
        pass
