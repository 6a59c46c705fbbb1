"""Media classification hints that need no downloaded model, and the post-parse pass that groups copies.

Per file (called by the photo parser, so it runs in the parallel workers):
- `image_hints`: perceptual hash (imagehash pHash, 64 bits as 16 hex digits) and the decoded pixel size;
- `path_hints`: where the file sits says how it got there — camera folder, a messenger's received or
  sent folder, downloads, screenshots;
- `screenshot_hint`: by path or name first, then by a screen-shaped size with no camera behind it.

After parsing, `group_media` marks exact duplicates (same SHA-256) and near-duplicates (pHash within
`NEAR_DISTANCE` bits: the same advert re-sent, re-compressed or resized). All hints live in
`MediaFile.extra` and are indicators for an examiner, never conclusions.
"""

from __future__ import annotations

import re
import warnings
from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, NamedTuple

from triage.records import MediaFile
from triage.store_rows import column_rows, load_by_id

if TYPE_CHECKING:
    from triage.store import CaseStore

NEAR_DISTANCE = 6  # bits of 64; re-encodes of one picture measure 0-4, unrelated photos ~32
PHASH_MAX_BYTES = 64 << 20  # larger files are not decoded for a hash (a hint is not worth the memory)
DRAFT_SIZE = (256, 256)  # JPEG decode at reduced scale: pHash works on 32x32 anyway
DECODED_CACHE_ENTRIES = 65_536  # image hints kept by SHA-256 (a few hundred bytes each)

_heif_registered = False


def _register_heif() -> None:
    """HEIC/HEIF decoding for Pillow, registered once per process (each parallel worker too)."""
    global _heif_registered
    if not _heif_registered:
        import pillow_heif

        pillow_heif.register_heif_opener()
        _heif_registered = True


def image_hints(stream: IO[bytes]) -> dict[str, Any]:
    """{"phash": hex, "pixel_width": w, "pixel_height": h} or {"phash_error": why}."""
    import imagehash
    from PIL import Image

    _register_heif()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's own notes on odd EXIF: the parser records its own
            with Image.open(stream) as im:
                width, height = im.size
                im.draft("RGB", DRAFT_SIZE)  # only JPEG honours it; others decode in full
                digest = str(imagehash.phash(im))
    except Exception as e:  # Pillow raises many types on damaged or hostile input
        return {"phash_error": f"{type(e).__name__}: {e}"}
    return {"phash": digest, "pixel_width": width, "pixel_height": height}


class DecodedImages:
    """`image_hints` once per content: the same picture saved again, forwarded in three chats or backed up
    twice has one SHA-256 and is decoded once (per process: each parallel worker keeps its own). The
    oldest entries go first past `DECODED_CACHE_ENTRIES`, so memory stays bounded on any phone."""

    def __init__(self, entries: int = DECODED_CACHE_ENTRIES) -> None:
        self.entries = entries
        self.hints: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.decoded = self.reused = 0

    def hints_of(self, sha256: str | None, stream: IO[bytes]) -> dict[str, Any]:
        if sha256 is not None and sha256 in self.hints:
            self.hints.move_to_end(sha256)
            self.reused += 1
            return dict(self.hints[sha256])
        hints = image_hints(stream)
        self.decoded += 1
        if sha256 is not None:
            self.hints[sha256] = hints
            if len(self.hints) > self.entries:
                self.hints.popitem(last=False)
        return dict(hints)


DECODED = DecodedImages()


# (path fragment regex, origin, app). First match wins, so the specific folders come first.
_FOLDERS: tuple[tuple[re.Pattern[str], str, str | None], ...] = tuple(
    (re.compile(p, re.IGNORECASE), origin, app) for p, origin, app in (
        (r"/whatsapp[^/]*/media/whatsapp [^/]+/sent/", "sent", "whatsapp"),
        (r"/whatsapp[^/]*/media/whatsapp [^/]+/private/", "received", "whatsapp"),
        (r"/whatsapp[^/]*/media/whatsapp [^/]+/", "received", "whatsapp"),
        (r"/shared/appgroup/[^/]+/message/media/", "messenger", "whatsapp"),  # iOS: no sent/received split
        (r"/telegram/telegram [^/]+/", "received", "telegram"),
        (r"/telegram-data/[^/]+/postbox/media/", "messenger", "telegram"),
        (r"/(pictures|dcim)/screenshots?/", "screenshot", None),
        (r"/dcim/(camera|\d{3}apple|\d{3}[a-z_]{5})/", "camera", None),
        (r"/download/", "download", None),
    )
)
_SCREENSHOT_NAME = re.compile(r"^(screenshot|screen_shot|scrnshot|screencapture)", re.IGNORECASE)

# Portrait screen sizes of common phones (width, height); either orientation counts.
SCREEN_SIZES = frozenset({
    (640, 1136), (750, 1334), (828, 1792), (1080, 1920), (1080, 2160), (1080, 2220), (1080, 2280),
    (1080, 2340), (1080, 2400), (1080, 2412), (1125, 2436), (1170, 2532), (1179, 2556), (1242, 2208),
    (1242, 2688), (1284, 2778), (1290, 2796), (1440, 2560), (1440, 2960), (1440, 3040), (1440, 3088),
    (1440, 3200), (720, 1280), (720, 1520), (720, 1600),
})


def path_hints(path: str) -> dict[str, Any]:
    """{"origin_hint": camera|received|sent|messenger|download|screenshot, "origin_app", "origin_basis"}."""
    for pattern, origin, app in _FOLDERS:
        m = pattern.search(path)
        if m:
            return {"origin_hint": origin, "origin_app": app, "origin_basis": f"folder {m.group(0)}"}
    return {}


def screenshot_hint(path: str, width: int | None, height: int | None, camera_make: str | None) -> str | None:
    """Why the file looks like a screenshot, or None. A camera make in EXIF rules the size test out."""
    name = path.rsplit("/", 1)[-1]
    if _SCREENSHOT_NAME.match(name):
        return f"file name {name}"
    if re.search(r"/screenshots?/", path, re.IGNORECASE):
        return "screenshots folder"
    if width and height and camera_make is None and (min(width, height), max(width, height)) in SCREEN_SIZES:
        return f"screen-sized image {width}x{height} without camera EXIF"
    return None


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


def media_keys(store: "CaseStore") -> list[MediaKey]:
    """Every media file's id, SHA-256 and pHash (when it has one), in id order."""
    return [MediaKey(row.id, row.sha256, phash if isinstance(phash := (row.extra or {}).get("phash"), str) else None)
            for row in column_rows(store, MediaFile, ("id", "sha256", "extra"))]


def group_media(store: "CaseStore") -> MediaGroups:
    """Mark duplicates and near-duplicates on the MediaFile records; only the files in a group are loaded
    and changed."""
    media = media_keys(store)
    by_sha: dict[str, list[MediaKey]] = defaultdict(list)
    for m in media:
        if m.sha256:
            by_sha[m.sha256].append(m)
    dup_groups = [g for g in by_sha.values() if len(g) > 1]
    marks: dict[int, dict[str, Any]] = defaultdict(dict)
    for group in dup_groups:
        for m in group:
            marks[m.id].update(duplicate_group=f"sha256:{m.sha256[:16]}", duplicate_count=len(group))
    near = near_duplicate_groups(media)
    for group in near:
        label = f"near:{group[0].id}"
        for m in group:
            marks[m.id].update(near_duplicate_group=label, near_duplicate_count=len(group))
    for record in load_by_id(store, MediaFile, marks):
        _set_extra(record, **marks[record.id])
    return MediaGroups(len(dup_groups), sum(map(len, dup_groups)), len(near), sum(map(len, near)))


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
    for lo, hi in zip(bounds, bounds[1:]):
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


def _set_extra(media: MediaFile, **values: Any) -> None:
    # a new dict, so the store sees the change (JSON columns do not track in-place edits)
    media.extra = {**(media.extra or {}), **values}
