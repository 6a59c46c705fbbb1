"""Read-only access to evidence: images (raw, split raw, E01), volume systems, file systems, folders,
archives and backups, all presented as FileEntry objects addressed by their layer chain."""

from triage.evidence.model import LAYER_SEPARATOR, Evidence, FileEntry, MediaHashes

__all__ = ["Evidence", "FileEntry", "MediaHashes", "LAYER_SEPARATOR", "open_evidence"]


def open_evidence(path, options=None):  # noqa: ANN001 - the opener module is imported lazily (pytsk3)
    from triage.evidence.opener import open_evidence as _open

    return _open(path, options)
