"""Fuzz the archive readers (triage/evidence/archive*.py) through their recognisers, as the opener does.

Input: one selector byte (zip / tar / tar.gz, which also picks the file name's suffix), then the
archive's bytes, written to a private temporary file (the readers take a path). The harness then does
what a run does: recognise and open, walk every entry, open every regular file and read it.
Contract (archive.py, opener.py): a file that is not this format is None; an archive that cannot be
read at all is EvidenceError (one line for the examiner); damage found while listing is a warning;
`open` refuses with EvidenceError; reading a member raises only OSError (truncated, damaged,
bomb). Anything else is a crash. Reads stop at READ_CAP bytes per member.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from functools import partial
from pathlib import Path

from harness import instrumented, known_findings, main, read_capped

with instrumented(
    [
        "triage.evidence.archive",
        "triage.evidence.archive_zip",
        "triage.evidence.archive_tar",
        "triage.evidence.archive_gzip",
        "triage.evidence.archive_safety",
        "triage.evidence.archive_layout",
    ]
):
    from triage.errors import EvidenceError
    from triage.evidence import archive_tar, archive_zip
    from triage.evidence.opener import OpenOptions

FORMATS = ("zip", "tar", "tar.gz")
OPTIONS = OpenOptions(backup_password=None)
# reported, fix outside the files this fuzzing part may edit (see fuzz/RESULTS.md); zip 1-4 are fixed
KNOWN: tuple[tuple[str, str, str], ...] = ()
_TMP = Path(tempfile.mkdtemp(prefix="fuzz-archives-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
atexit.register(shutil.rmtree, _TMP, True)


def check_one(data: bytes) -> None:
    with known_findings(KNOWN):
        open_and_read(data)


def open_and_read(data: bytes) -> None:
    if not data:
        return
    fmt = FORMATS[data[0] % len(FORMATS)]
    path = _TMP / f"evidence.{fmt}"
    path.write_bytes(data[1:])
    recognise = archive_zip.recognise if fmt == "zip" else archive_tar.recognise
    try:
        evidence = recognise(path, OPTIONS)
    except EvidenceError:
        return
    if evidence is None:
        return
    try:
        for entry in evidence.walk():
            if entry.type == "file":
                read_capped(partial(evidence.open, entry), EvidenceError)
        if not all(isinstance(w, str) for w in evidence.warnings):
            raise AssertionError("a warning that is not text")
    finally:
        evidence.close()


if __name__ == "__main__":
    main(check_one)
    sys.exit(0)
