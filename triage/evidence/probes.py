"""The probes for file systems The Sleuth Kit cannot read, in the order they are tried (triage/evidence/filesystems.py).

A registry of its own, apart from the `FileSystem` interface the formats implement, so a format module imports
the interface without importing every other format (and no import runs in a circle).
"""

from __future__ import annotations

from collections.abc import Callable

from triage.evidence.apfs import probe_apfs
from triage.evidence.f2fs import probe_f2fs
from triage.evidence.filesystems import FileSystem, Region, Warn

# A probe returns the file systems it recognises in the region, None when the format is not its own,
# and reports problems (an encrypted APFS volume, a damaged superblock) through `warn`.
Probe = Callable[[Region, Warn], "list[FileSystem] | None"]
PROBES: tuple[Probe, ...] = (probe_apfs, probe_f2fs)


def probe_region(region: Region, warn: Warn) -> list[FileSystem]:
    """The first probe's answer for this region, or [] when no probe knows it."""
    for probe in PROBES:
        found = probe(region, warn)
        if found is not None:
            return found
    return []
