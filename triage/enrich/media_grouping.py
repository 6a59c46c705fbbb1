"""The post-parse pass that groups copies of media: exact duplicates (same SHA-256) and near-duplicates (pHash,
from parsers/media/hints.py, within `NEAR_DISTANCE` bits: the same advert re-sent, re-compressed or resized).
The marks live in `MediaFile.extra` and are indicators for an examiner, never conclusions.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Any, NamedTuple

from triage.model.records import MediaFile
from triage.store.rows import column_rows, rewrite_extra

if TYPE_CHECKING:
    from triage.store import CaseStore

NEAR_DISTANCE = 6  # bits of 64; re-encodes of one picture measure 0-4, unrelated photos ~32


@dataclass
class MediaGroups:
    duplicate_groups: int
    duplicate_files: int
    near_groups: int
    near_files: int


class MediaKey(NamedTuple):
    """What grouping needs of a media file (not the whole record: a phone holds tens of thousands)."""

    id: int
    sha256: str | None
    phash: str | None


def media_keys(store: CaseStore) -> list[MediaKey]:
    """Every media file's id, SHA-256 and pHash (when it has one), in id order."""
    return [
        MediaKey(row.id, row.sha256, phash if isinstance(phash := (row.extra or {}).get("phash"), str) else None)
        for row in column_rows(store, MediaFile, ("id", "sha256", "extra"))
    ]


def group_media(store: CaseStore) -> MediaGroups:
    """Mark duplicates and near-duplicates in the `extra` of the MediaFile records; only the files in a group
    are read and changed."""
    media = media_keys(store)
    by_sha: dict[str, list[MediaKey]] = defaultdict(list)
    for m in media:
        if m.sha256:
            by_sha[m.sha256].append(m)
    dup_groups = {sha: g for sha, g in by_sha.items() if len(g) > 1}
    marks: dict[int, dict[str, Any]] = defaultdict(dict)
    for sha, group in dup_groups.items():
        for m in group:
            marks[m.id].update(duplicate_group=f"sha256:{sha[:16]}", duplicate_count=len(group))
    near = near_duplicate_groups(media)
    for group in near:
        label = f"near:{group[0].id}"
        for m in group:
            marks[m.id].update(near_duplicate_group=label, near_duplicate_count=len(group))
    rewrite_extra(store, MediaFile, marks, lambda media_id, extra: {**extra, **marks[media_id]})
    return MediaGroups(len(dup_groups), sum(map(len, dup_groups.values())), len(near), sum(map(len, near)))


def near_duplicate_groups(media: list[MediaKey], distance: int = NEAR_DISTANCE) -> list[list[MediaKey]]:
    """Groups of files whose pHashes chain within `distance` bits, with different content (SHA-256).

    Candidate pairs come from a pigeonhole index: split the 64 bits into distance+1 chunks; two
    hashes within `distance` bits agree exactly on at least one chunk. So no all-pairs comparison.
    """
    by_hash: dict[int, list[MediaKey]] = defaultdict(list)  # identical hashes are one node
    for m in media:
        if m.phash is not None:
            by_hash[int(m.phash, 16)].append(m)
    values = sorted(by_hash)
    parent = list(range(len(values)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in sorted(_candidate_pairs(values, distance)):
        if (values[i] ^ values[j]).bit_count() <= distance:
            parent[find(j)] = find(i)
    groups: dict[int, list[MediaKey]] = defaultdict(list)
    for i, h in enumerate(values):
        groups[find(i)].extend(by_hash[h])
    out = [sorted(g, key=lambda m: m.id) for g in groups.values() if len({m.sha256 for m in g}) > 1]
    return sorted(out, key=lambda g: g[0].id)


def _candidate_pairs(hashes: list[int], distance: int) -> set[tuple[int, int]]:
    chunks = distance + 1
    bounds = [round(k * 64 / chunks) for k in range(chunks + 1)]
    pairs: set[tuple[int, int]] = set()
    for lo, hi in pairwise(bounds):
        mask = (1 << (hi - lo)) - 1
        buckets: dict[int, list[int]] = defaultdict(list)
        for i, h in enumerate(hashes):
            buckets[(h >> lo) & mask].append(i)
        for members in buckets.values():
            for a in range(len(members)):
                for b in range(a + 1, len(members)):
                    pairs.add((members[a], members[b]))
    return pairs


def phash_distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()
