"""`open_evidence(path)`: recognise what the examiner pointed at and open it read-only.

Recognition is by content first: a file that starts with the EWF signature is an E01 whatever its
name. Names matter only where content cannot tell: split raw segments (`.000`/`.001`/`.aa`) are
headerless slices of one disk.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from triage.errors import EvidenceError
from triage.evidence.directory import DirectoryEvidence
from triage.evidence.hashing import hash_image
from triage.evidence.images import EwfImage, ImageStream, SegmentedRawImage, is_ewf, split_raw_segments
from triage.evidence.model import Evidence, MediaHashes, ProgressCallback
from triage.evidence.sparse_image import SparseImage, is_sparse


@dataclass
class MediaReport:
    """The acquisition hashes of evidence, and what they were computed over."""

    source: Path
    kind: str
    container_files: list[Path]
    hashes: MediaHashes
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class OpenOptions:
    """What the examiner may tell the readers: passwords and safety limits for hostile containers."""

    # Password of an encrypted iTunes backup or Android .ab; default from the environment.
    backup_password: str | None = field(default_factory=lambda: os.environ.get("TRIAGE_BACKUP_PASSWORD"))
    max_expansion_ratio: float = 200.0  # an archive member larger than this times its packed size is a bomb
    max_total_bytes: int = 64 * 2**30  # total unpacked bytes an archive may claim before it is refused
    max_nesting: int = 3  # archives inside archives are opened no deeper than this


# A recogniser looks at what the examiner pointed at and returns opened Evidence, or None when the
# format is not its own. Tried in order; the first that answers wins; images are the fall-back.
Recogniser = Callable[[Path, OpenOptions], "Evidence | None"]
RECOGNISERS: list[Recogniser] = []


def open_evidence(path: Path, options: OpenOptions | None = None) -> Evidence:
    """A folder, an archive, a backup or a disk image (E01, split raw, raw) → opened Evidence.

    The returned object has a `warnings: list[str]` attribute: problems that did not stop the opening
    (a partition without a readable file system, an unreadable directory …), to be recorded.
    """
    path = Path(path)
    options = options or OpenOptions()
    for recognise in RECOGNISERS:
        evidence = recognise(path, options)
        if evidence is not None:
            return evidence
    if path.is_dir():
        return DirectoryEvidence(path)
    stream = open_image_stream(path)
    from triage.evidence.tsk import TskEvidence  # pytsk3 is needed only for images

    try:
        evidence = TskEvidence(path, stream)
    except BaseException:
        stream.close()
        raise
    evidence.warnings[:0] = getattr(stream, "warnings", [])  # container damage (sparse chunks) comes first
    return evidence


def hash_evidence(
    path: Path, progress: ProgressCallback | None = None, options: OpenOptions | None = None
) -> MediaReport:
    """MD5/SHA-1/SHA-256 of the media, without needing a file system in it.

    A corrupt E01 or a disk whose file system TSK cannot read still has media bytes to verify.
    """
    path = Path(path)
    options = options or OpenOptions()
    for recognise in RECOGNISERS:
        evidence = recognise(path, options)
        if evidence is not None:
            with evidence:
                hashes = evidence.media_hashes(progress)
                return MediaReport(
                    path, evidence.kind, evidence.container_files, hashes, list(getattr(evidence, "warnings", []))
                )
    if path.is_dir():
        folder = DirectoryEvidence(path)
        hashes = folder.media_hashes(progress)
        return MediaReport(path, folder.kind, folder.container_files, hashes, folder.warnings)
    with open_image_stream(path) as stream:
        return MediaReport(
            path, stream.kind, stream.files, hash_image(stream, progress), list(getattr(stream, "warnings", []))
        )


def open_image_stream(path: Path) -> ImageStream:
    """The media bytes of an image file: EWF or Android sparse by signature, else split raw by name, else raw."""
    if not path.exists():
        raise EvidenceError(f"{path} does not exist")
    if not path.is_file():
        raise EvidenceError(f"{path} is neither a regular file nor a folder; give an image file or a folder")
    try:
        ewf = is_ewf(path)
    except OSError as e:
        raise EvidenceError(f"cannot read {path.name}: {e.strerror or e}; check the path and permissions") from e
    if ewf:
        return EwfImage(path)
    if is_sparse(path):  # Android simg: expanded on the fly, as simg2img would
        return SparseImage(path)
    segments = split_raw_segments(path)
    return SegmentedRawImage(segments or [path])


# -- formats beyond plain images and folders (most specific first) ------------------------------------
# Each module owns one container format and exposes `recognise(path, options) -> Evidence | None`.
from triage.evidence import ios_backup  # noqa: E402 - a backup is a folder: before the archive recognisers

RECOGNISERS.append(ios_backup.recognise)
from triage.evidence import android_backup  # noqa: E402 - .ab by its first line; unpacked .ab folders

RECOGNISERS.append(android_backup.recognise)
from triage.evidence import archive_tar, archive_zip  # noqa: E402 - zip and tar by signature, extension second

RECOGNISERS.append(archive_zip.recognise)
RECOGNISERS.append(archive_tar.recognise)
