"""Where a run may write: never onto, into or around the evidence, never over an existing file.

Checked before anything is written. The run writes a new folder (`--out DIR`), the sealed zip beside
it (`DIR.zip`) and, with `--db sqlite:///FILE`, the case store file. Each must be new, and none may
lie inside the evidence (a folder extraction) or contain it, or be the evidence file itself.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from triage.errors import TriageError


def bundle_zip_path(out: Path) -> Path:
    """The sealed bundle's zip: beside the folder, named after it."""
    return out.with_name(out.name + ".zip")


def check_output_location(evidence: Path, out: Path, db_url: str | None = None) -> None:
    """Raise TriageError (one line) when the run's outputs could touch the evidence or an existing file."""
    evidence_path, out_path = _real(evidence), _real(out)
    if out.exists() and not out.is_dir():
        raise TriageError(f"--out {out} is an existing file, not a folder; give the name of a new folder")
    if out.is_dir() and any(out.iterdir()):
        raise TriageError(f"output folder {out} is not empty; choose a new folder (results are never overwritten)")
    _refuse_overlap(evidence_path, out_path, f"--out {out}")
    zip_path = bundle_zip_path(out_path)
    if zip_path.exists() or zip_path.is_symlink():
        raise TriageError(
            f"the bundle would be written to {zip_path}, which already exists; "
            "choose another --out (an existing file is never replaced)"
        )
    _refuse_overlap(evidence_path, zip_path, f"the bundle zip {zip_path}")
    store = sqlite_file(db_url)
    if store is not None:
        if store.exists() or store.is_symlink():
            raise TriageError(
                f"the case store {store} already exists; give a new file with --db "
                "(an existing file is never written to)"
            )
        _refuse_overlap(evidence_path, _real(store), f"the case store {store}")


def sqlite_file(db_url: str | None) -> Path | None:
    """The file behind a sqlite:/// URL (None for other databases and in-memory stores)."""
    if not db_url:
        return None
    try:
        url = make_url(db_url)
    except ArgumentError as e:
        raise TriageError(f"--db {db_url!r} is not a database URL ({e})") from None
    if not url.drivername.startswith("sqlite") or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def _refuse_overlap(evidence: Path, target: Path, what: str) -> None:
    if target == evidence:
        raise TriageError(f"{what} is the evidence itself; write the results somewhere else")
    if _is_within(target, evidence):
        raise TriageError(f"{what} is inside the evidence {evidence}; write the results outside it")
    if _is_within(evidence, target):
        raise TriageError(f"the evidence {evidence} is inside {what}; write the results to a new folder elsewhere")


def _is_within(path: Path, folder: Path) -> bool:
    return path != folder and folder in path.parents


def _real(path: Path) -> Path:
    """Absolute path with every symbolic link resolved (a link must not smuggle an output into the evidence)."""
    return path.expanduser().resolve(strict=False)
