"""The rules' name for the watch-list reader, which lives in triage/enrich/watchlists.py: lists are read before
parsing (a bad list stops the run early) and the media pass uses them too, below the rules layer."""

from __future__ import annotations

from triage.enrich.watchlists import DEFAULT_MAX_DISTANCE, MEDIA_KINDS, MediaEntry, WatchlistError, Watchlists, key_of

__all__ = ["DEFAULT_MAX_DISTANCE", "MEDIA_KINDS", "MediaEntry", "WatchlistError", "Watchlists", "key_of"]
