"""The evidence an officer may choose: the files at the top of the configured intake folder, by id.

The browser never sends a path. The page lists the intake folder's entries, each with an id derived from
its name, size and modification time; the choice names an id, and the server looks it up again in a fresh
listing of the same folder, so nothing outside the intake folder can be named, and a file replaced between
listing and choice is refused (its id changed). Later segments of a split image (demo.E02 …) belong to the
first one and are not listed on their own.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

_LATER_SEGMENT = re.compile(r"\.(E0[2-9]|E[1-9][0-9]|E[A-Z]{2}|[0-9]{3})$", re.IGNORECASE)


@dataclass(frozen=True)
class IntakeEntry:
    id: str
    name: str
    size: int  # bytes; 0 for a folder extraction
    kind: str  # "file" or "folder"

    def to_json(self) -> dict:
        return {"id": self.id, "name": self.name, "size": self.size, "kind": self.kind}


def list_intake(intake: Path) -> list[IntakeEntry]:
    """The choosable entries of the intake folder, sorted by name (hidden files and later segments left out)."""
    entries = []
    paths = sorted(intake.iterdir(), key=lambda p: p.name)
    names = {p.name for p in paths}
    for path in paths:
        if path.name.startswith(".") or _is_later_segment(path.name, names):
            continue
        try:
            st = path.stat()  # follows a link placed there by whoever set up the intake (README "Kiosk")
        except OSError:
            continue  # a dangling link: nothing to choose
        kind = "folder" if path.is_dir() else "file" if path.is_file() else ""
        if not kind:
            continue
        size = st.st_size if kind == "file" else 0
        token = f"{path.name}\0{size}\0{st.st_mtime_ns}".encode("utf-8", "surrogateescape")
        entries.append(IntakeEntry(hashlib.sha256(token).hexdigest()[:16], path.name, size, kind))
    return entries


def find_entry(intake: Path, entry_id: str) -> IntakeEntry | None:
    """The entry with this id in a fresh listing, or None (unknown id, a path, a replaced file)."""
    return next((e for e in list_intake(intake) if e.id == entry_id), None)


def _is_later_segment(name: str, siblings: set[str]) -> bool:
    """demo.E02 beside demo.E01; image.001 beside image.000 (a split raw image starts at .000 or .001)."""
    if not _LATER_SEGMENT.search(name):
        return False
    stem, suffix = name.rsplit(".", 1)
    if suffix.isdigit():
        return int(suffix) > 1 or (suffix == "001" and f"{stem}.000" in siblings)
    return True
