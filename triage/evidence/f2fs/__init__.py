"""A read-only F2FS reader (Android userdata), in pure Python, plugged in as a file-system layer.

Modules, bottom up: `layout` (constants, checksum, superblock), `checkpoint` (pack selection, NAT
journal), `nat` (block reads, nid -> node block), `inode` (inodes, block maps), `directory` (dentries),
`compression` and `content` (file streams), `filesystem` (the `FileSystem` and its probe).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from triage.evidence.filesystems import FileSystem, Region, Warn


def probe_f2fs(region: Region, warn: Warn) -> list[FileSystem] | None:
    """See `filesystem.probe_f2fs`; imported on first use because filesystems.py registers this module."""
    from triage.evidence.f2fs.filesystem import probe_f2fs as probe

    return probe(region, warn)
