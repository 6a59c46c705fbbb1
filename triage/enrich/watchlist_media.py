"""Watch-listed media: the sha256 and phash rows of the watch-lists mark known images on MediaFile records.

The lists are read by triage/enrich/watchlists.py (one CSV format, `kind,value[,label][,max_distance]`, given with
`--watchlist`; the deprecated `--media-watchlist` reads the same files, and the old sha256/phash column
layout, the same way). A hit is written to `MediaFile.extra["watchlist"]` as
{list, list_sha256, row (line in the CSV), label, match: sha256|phash, distance}; the rules engine reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from triage.enrich.media_grouping import media_keys
from triage.enrich.watchlists import PHASH_HEX, MediaEntry, WatchlistError, Watchlists
from triage.model.records import MediaFile
from triage.store.rows import rewrite_extra

if TYPE_CHECKING:
    from triage.store import CaseStore


@dataclass(frozen=True)
class MediaWatchlist:
    """The media rows of every watch-list given to a run."""

    files: dict[str, str]  # list file name -> sha256
    entries: tuple[MediaEntry, ...]

    def identity(self) -> dict[str, Any]:
        return {"lists": dict(self.files), "entries": len(self.entries)}


def media_watchlist(lists: Watchlists) -> MediaWatchlist | None:
    """The media part of the loaded lists, or None when no list names a hash."""
    if not lists.media:
        return None
    files = {e.list: lists.files[e.list] for e in lists.media}
    return MediaWatchlist(files, tuple(lists.media))


def load_watchlist(path: Path) -> MediaWatchlist:
    """One list file's media rows; a malformed row is a fatal error naming the line (a list is evidence too)."""
    found = media_watchlist(Watchlists.load([path]))
    if found is None:
        raise WatchlistError(f"watch-list {path} has no sha256 or phash rows: nothing to mark on media files")
    return found


def mark_watchlisted(store: CaseStore, watchlist: MediaWatchlist) -> int:
    """Write hits into MediaFile.extra["watchlist"]; return how many files were marked. Files are compared
    by their hashes alone; only the marked ones are loaded and changed."""
    by_sha: dict[str, list[MediaEntry]] = {}
    by_phash = [e for e in watchlist.entries if e.kind == "phash"]
    for e in watchlist.entries:
        if e.kind == "sha256":
            by_sha.setdefault(e.value, []).append(e)
    hits_by_id: dict[int, list[dict[str, Any]]] = {}
    for media in media_keys(store):
        hits = [_hit(e, 0) for e in by_sha.get(media.sha256 or "", [])]
        if media.phash is not None and PHASH_HEX.match(media.phash):
            value = int(media.phash, 16)
            for e in by_phash:
                d = (value ^ e.phash).bit_count()  # type: ignore[operator]
                if d <= e.max_distance:
                    hits.append(_hit(e, d))
        if hits:
            hits_by_id[media.id] = hits
    rewrite_extra(
        store,
        MediaFile,
        hits_by_id,
        lambda media_id, extra: {**extra, "watchlist": list(extra.get("watchlist", [])) + hits_by_id[media_id]},
    )
    return len(hits_by_id)


def _hit(entry: MediaEntry, distance: int) -> dict[str, Any]:
    return {
        "list": entry.list,
        "list_sha256": entry.list_sha256,
        "row": entry.row,
        "label": entry.label,
        "match": entry.kind,
        "distance": distance,
    }
