"""Fuzz the F2FS reader (triage/evidence/f2fs/) through its probe, its listing and its file streams.

Input: an image in the sparse form of fuzz/f2fs_sparse.py (non-zero runs over zeros, CRCs optionally
recomputed). The harness does what the evidence layer does with a partition: `probe_f2fs`, then
`walk` every entry, then `open` and read every regular file (and link, which `open` refuses naming
its target). Contract (filesystem.py): damage is a warning, never fatal to the listing, so
- `probe_f2fs` and `walk` raise nothing;
- `open` raises only EvidenceError (a directory, a link, an encrypted or unreadable inode);
- reading an opened stream raises only OSError (a block that cannot be read).
Anything else is a crash. Reads stop at READ_CAP bytes per file and the walk at MAX_ENTRIES
entries: a listed size of 2**64 is the reader's business to refuse, not the harness's to hash.
"""

from __future__ import annotations

import sys
from functools import partial

from harness import instrumented, main, read_capped

with instrumented(["triage.evidence.f2fs"]):
    from triage.errors import EvidenceError
    from triage.evidence.f2fs.filesystem import probe_f2fs
    from triage.evidence.filesystems import Region

from f2fs_sparse import decode_input

MAX_ENTRIES = 5000


def check_one(data: bytes) -> None:
    image = decode_input(data)
    warnings: list[str] = []
    region = Region(read_at=image.read_at, offset=0, size=image.size, where="fuzz image")
    for fs in probe_f2fs(region, warnings.append) or []:
        for n, entry in enumerate(fs.walk("", ("fuzz image", "F2FS"), warnings.append)):
            if n >= MAX_ENTRIES:
                break
            if entry.type in ("file", "link"):
                read_capped(partial(fs.open, entry), EvidenceError)


if __name__ == "__main__":
    main(check_one)
    sys.exit(0)
