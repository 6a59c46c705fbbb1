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

A fork that fails or dies (killed for memory, say) costs time, not the acquisition hash: the run reads the media
itself through its own handle once parsing is done, and the "media hashed" entry says why
(`second_process_failed`). Only while the image at the examiner's path is still the file the run opened (same
device, inode, size and modification time): an image moved, replaced or changed since is not hashed from the run's
handle in silence; the fork's error then stands.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Protocol

from triage.errors import TriageError
from triage.evidence.hashing import hash_image
from triage.evidence.images import ImageStream
from triage.evidence.model import Evidence, MediaHashes, ProgressCallback
from triage.forked_job import ForkedJob
from triage.model.timeutil import iso, now_utc

NICENESS = 10  # where both cores are wanted the listing (or a parse) gets ~90 % of one


class _Pending(Protocol):
    def result(self) -> MediaHashes: ...


# what ran beside the hash when the run read it itself after its second process failed
READ_HERE = "nothing: read by the run's own process once parsing was done, after the second process failed"


@dataclass
class MediaHashing:
    """The media hash under way: `result()` waits for it; `started` (UTC) and `read_while` are recorded with it.
    `again`, where given, reads the hash in this process when `pending` fails (None: it may not, the failure
    stands); `fell_back` then says why, and `started` and `read_while` say when and how it was read."""

    pending: _Pending
    started: str
    read_while: str
    again: Callable[[ProgressCallback | None], MediaHashes | None] | None = None
    fell_back: str | None = None

    def result(self, progress: ProgressCallback | None = None) -> MediaHashes:
        """The hashes; `progress` follows the bytes read when they are read here after a failure."""
        try:
            return self.pending.result()
        except TriageError as failed:
            started = iso(now_utc())
            hashes = self.again(progress) if self.again is not None else None
            if hashes is None:
                raise
            self.fell_back, self.started, self.read_while = str(failed), started, READ_HERE
            return hashes


class MediaHashFork:
    """The image's media hash in a fork made at the run's start (`hashing`), or None there: see `or_on`."""

    def __init__(self, evidence: Evidence) -> None:
        self.hashing: MediaHashing | None = None
        self._job: ForkedJob[MediaHashes] | None = None
        image = _image_path(evidence)
        if image is not None and ForkedJob.possible():
            started = iso(now_utc())
            opened = _identity(image)  # the image the run has open (it was opened just before)
            try:
                self._job = ForkedJob(lambda: _hash_image_at(image), "hashing the media")
            except OSError:  # no fork to be had: hashed on a thread while parsing (`or_on`), as the entry says
                return
            again = partial(_here_if_unchanged, evidence, image, opened)  # its last argument: the progress
            self.hashing = MediaHashing(self._job, started, "listing and parsing", again)

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


def _identity(image: Path) -> tuple[int, ...] | None:
    """The image file as the kernel knows it (device, inode, size, modification time); None when it is not there."""
    try:
        st = os.stat(image)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _here_if_unchanged(
    evidence: Evidence, image: Path, opened: tuple[int, ...] | None, progress: ProgressCallback | None
) -> MediaHashes | None:
    """After the fork failed: the media hashed through the run's own handle, when the image at its path is still
    the file the run opened; None (the fork's error stands) when it is gone, moved, replaced or changed."""
    if opened is None or _identity(image) != opened:
        return None
    return evidence.media_hashes(progress)
