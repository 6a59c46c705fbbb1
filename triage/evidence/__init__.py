"""Read-only access to evidence: images (raw, split raw, E01), volume systems, file systems, directories."""

from triage.evidence.model import Evidence, FileEntry, MediaHashes, LAYER_SEPARATOR

__all__ = ["Evidence", "FileEntry", "MediaHashes", "LAYER_SEPARATOR", "open_evidence"]


def open_evidence(path):  # noqa: ANN001 - replaced by the opener module
    from triage.evidence.opener import open_evidence as _open

    return _open(path)
