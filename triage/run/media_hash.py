"""The acquisition hash of a disk image (MD5, SHA-1 and SHA-256 of its media), read by a fork of the run from the
moment the evidence is open, beside the listing and the parsing.

Inflating and hashing a 4 GiB E01 takes ~16 CPU-seconds (bench/RESULTS.md). On a thread of the run, started with
the parsing, it took a core the parsing's forks wanted, while the listing before it (~12 s on that image: TSK's
walk, the headers, the large databases copied out) kept one core busy and left the other idle. The fork starts
before the listing, on that idle core, and reads the media through a handle of its own, opened again from the
image's path: libewf keeps one read position a handle (triage/evidence/images.py), so TSK's reads in the run no
longer queue behind the hash's 8 MiB reads, and no file offset is shared between the processes.

Evidence whose media is not one image (a folder, an archive, a backup: their media hashes reuse the container
files' "before" hashes) and a run that cannot fork (triage/forked_job.py) hash on a thread while parsing, as
`media_hashes_reusing` always has.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from triage.evidence.hashing import hash_image
from triage.evidence.images import ImageStream
from triage.evidence.model import Evidence, MediaHashes
from triage.forked_job import ForkedJob
from triage.model.timeutil import iso, now_utc

NICENESS = 10  # where both cores are wanted the listing (or a parse) gets ~90 % of one


class _Pending(Protocol):
    def result(self) -> MediaHashes: ...


@dataclass
class MediaHashing:
    """The media hash under way: `result()` waits for it; `started` (UTC) and `read_while` are recorded with it."""

    pending: _Pending
    started: str
    read_while: str

    def result(self) -> MediaHashes:
        return self.pending.result()


class MediaHashFork:
    """The image's media hash in a fork made at the run's start (`hashing`), or None there: see `or_on`."""

    def __init__(self, evidence: Evidence) -> None:
        self.hashing: MediaHashing | None = None
        self._job: ForkedJob[MediaHashes] | None = None
        image = _image_path(evidence)
        if image is not None and ForkedJob.possible():
            started = iso(now_utc())
            try:
                self._job = ForkedJob(lambda: _hash_image_at(image), "hashing the media")
            except OSError:  # no fork to be had: hashed on a thread while parsing (`or_on`), as the entry says
                return
            self.hashing = MediaHashing(self._job, started, "listing and parsing")

    def or_on(self, pool: Executor, evidence: Evidence, known: Callable[[str], str | None]) -> MediaHashing:
        """The fork's hash when one was started, else the evidence's own, started now on `pool` (while parsing)."""
        if self.hashing is not None:
            return self.hashing
        started = iso(now_utc())
        return MediaHashing(pool.submit(evidence.media_hashes_reusing, known), started, "parsing")

    def stop(self) -> None:
        """Ends the fork if the run stops before its result was asked for."""
        if self._job is not None:
            self._job.stop()


def _image_path(evidence: Evidence) -> Path | None:
    """The image file the examiner gave, when the evidence is a disk image read as a whole (raw, split raw, E01,
    Android sparse)."""
    stream = getattr(evidence, "stream", None)  # TskEvidence's: the image it reads through The Sleuth Kit
    return evidence.source if isinstance(stream, ImageStream) else None


def _hash_image_at(image: Path) -> MediaHashes:
    """In the fork: the image opened again, on handles of its own, and its media hashed. At a lower priority: the
    listing beside it is what the run waits for, the hash only at the parsing's end."""
    from triage.evidence.opener import open_image_stream

    os.nice(NICENESS)

    with open_image_stream(image) as stream:
        return hash_image(stream)
