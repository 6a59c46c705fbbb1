"""Watch-listed media: a CSV hash list marks known images (e.g. known smuggling adverts) on MediaFile records.

The list is CSV with a header row. Columns (case-insensitive; at least one of the first two per row):
- `sha256`: exact file content (64 hex digits);
- `phash`: a 64-bit perceptual hash as 16 hex digits (imagehash pHash, as in MediaFile.extra["phash"]),
  which also finds the same picture re-compressed or resized;
- `label` (optional): what the item is, for the report;
- `max_distance` (optional): the largest pHash difference in bits still counted as a match
  (default `DEFAULT_MAX_DISTANCE`).
Lines starting with `#` are comments. A hit is written to `MediaFile.extra["watchlist"]` as
{list, list_sha256, row (line in the CSV), label, match: sha256|phash, distance}; the rules engine reads it.
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from triage.errors import TriageError
from triage.media_hints import media_keys
from triage.records import MediaFile
from triage.store_rows import load_by_id

if TYPE_CHECKING:
    from triage.store import CaseStore

DEFAULT_MAX_DISTANCE = 4  # conservative: a watch-list hit must hold up as "the same picture"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_PHASH = re.compile(r"^[0-9a-f]{16}$")


@dataclass(frozen=True)
class WatchEntry:
    row: int  # line number in the CSV file (the header is line 1)
    sha256: str | None
    phash: int | None
    label: str
    max_distance: int


@dataclass(frozen=True)
class MediaWatchlist:
    name: str
    path: Path
    sha256: str
    entries: tuple[WatchEntry, ...]

    def identity(self) -> dict[str, Any]:
        return {"list": self.name, "file": str(self.path), "sha256": self.sha256, "entries": len(self.entries)}


def load_watchlist(path: Path) -> MediaWatchlist:
    """Read and check the list; a malformed row is a fatal error naming the line (a list is evidence too)."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise TriageError(f"media watch-list {path} cannot be read ({e}); check the path") from e
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise TriageError(f"media watch-list {path} is not UTF-8 text ({e}); save it as UTF-8 CSV") from e
    # (line number, cells) of every row that is not blank or a comment; line numbers as an editor shows them
    rows = [(n, cells) for n, line in enumerate(text.splitlines(), start=1)
            if line.strip() and not line.lstrip().startswith("#") for cells in csv.reader([line])]
    if not rows:
        raise TriageError(f"media watch-list {path} is empty: it needs a header row and at least one entry")
    header = [c.strip().lower() for c in rows[0][1]]
    if not set(header) & {"sha256", "phash"}:
        raise TriageError(f"media watch-list {path}: the header needs a 'sha256' or 'phash' column")
    entries = [_entry(path, n, dict(zip(header, (c.strip() for c in cells)))) for n, cells in rows[1:]]
    return MediaWatchlist(path.stem, path, hashlib.sha256(raw).hexdigest(), tuple(entries))


def _entry(path: Path, row: int, values: dict[str, str]) -> WatchEntry:
    sha = values.get("sha256", "").lower() or None
    phash = values.get("phash", "").lower() or None
    if sha is not None and not _SHA256.match(sha):
        raise TriageError(f"media watch-list {path} line {row}: sha256 {sha!r} is not 64 hex digits; fix the row")
    if phash is not None and not _PHASH.match(phash):
        raise TriageError(f"media watch-list {path} line {row}: phash {phash!r} is not 16 hex digits; fix the row")
    if sha is None and phash is None:
        raise TriageError(f"media watch-list {path} line {row}: neither sha256 nor phash given")
    distance = values.get("max_distance") or str(DEFAULT_MAX_DISTANCE)
    if not distance.isdigit() or int(distance) > 16:
        raise TriageError(f"media watch-list {path} line {row}: max_distance {distance!r} must be 0-16")
    return WatchEntry(row, sha, int(phash, 16) if phash else None, values.get("label", ""), int(distance))


def mark_watchlisted(store: "CaseStore", watchlist: MediaWatchlist) -> int:
    """Write hits into MediaFile.extra["watchlist"]; return how many files were marked. Files are compared
    by their hashes alone; only the marked ones are loaded and changed."""
    by_sha: dict[str, list[WatchEntry]] = {}
    by_phash = [e for e in watchlist.entries if e.phash is not None]
    for e in watchlist.entries:
        if e.sha256:
            by_sha.setdefault(e.sha256, []).append(e)
    hits_by_id: dict[int, list[dict[str, Any]]] = {}
    for media in media_keys(store):
        hits = [_hit(watchlist, e, "sha256", 0) for e in by_sha.get(media.sha256 or "", [])]
        if media.phash is not None and _PHASH.match(media.phash):
            value = int(media.phash, 16)
            for e in by_phash:
                d = (value ^ e.phash).bit_count()  # type: ignore[operator]
                if d <= e.max_distance:
                    hits.append(_hit(watchlist, e, "phash", d))
        if hits:
            hits_by_id[media.id] = hits
    for record in load_by_id(store, MediaFile, hits_by_id):
        previous = list((record.extra or {}).get("watchlist", []))
        # a new dict, so the store sees the change (JSON columns do not track in-place edits)
        record.extra = {**(record.extra or {}), "watchlist": previous + hits_by_id[record.id]}
    return len(hits_by_id)


def _hit(watchlist: MediaWatchlist, entry: WatchEntry, match: str, distance: int) -> dict[str, Any]:
    return {"list": watchlist.name, "list_sha256": watchlist.sha256, "row": entry.row, "label": entry.label,
            "match": match, "distance": distance}
