"""Media classification hints that need no downloaded model, per file (triage/enrich/media_grouping.py groups copies).

Called by the photo and video parsers, so they run in the parallel workers:
- `image_hints`: perceptual hash (imagehash pHash, 64 bits as 16 hex digits) and the decoded pixel size;
- `path_hints`: where the file sits says how it got there — camera folder, a messenger's received or
  sent folder, downloads, screenshots;
- `screenshot_hint`: by path or name first, then by a screen-shaped size with no camera behind it.

All hints live in `MediaFile.extra` and are indicators for an examiner, never conclusions.
"""

from __future__ import annotations

import re
import warnings
from collections import OrderedDict
from typing import IO, Any

PHASH_MAX_BYTES = 64 << 20  # larger files are not decoded for a hash (a hint is not worth the memory)
DRAFT_SIZE = (256, 256)  # JPEG decode at reduced scale: pHash works on 32x32 anyway
DECODED_CACHE_ENTRIES = 65_536  # image hints kept by SHA-256 (a few hundred bytes each)
# Pixels a picture is decoded at, at most (a JPEG's after its reduced-scale decoding). A PNG, HEIC or WebP is decoded
# whole, 3 to 4 bytes a pixel, and its header may claim any size: a 0.5 MB PNG of 13,000 x 13,000 black pixels took
# the process to 0.9 GB for its hash and 1.3 GB for its thumbnail (Pillow only refuses past 179 million pixels).
# 64 million holds a 48-50 MP camera's full picture; the file is still hashed, listed and its EXIF read.
DECODE_MAX_PIXELS = 64_000_000

_heif_registered = False


def register_heif() -> None:
    """HEIC/HEIF decoding for Pillow, registered once per process (each worker too). Without pillow-heif installed a
    HEIF picture is not decoded: its decoding error is recorded (no hash, no thumbnail) as for any other."""
    global _heif_registered
    if not _heif_registered:
        _heif_registered = True
        try:
            import pillow_heif
        except ImportError:
            return
        pillow_heif.register_heif_opener()


def image_hints(stream: IO[bytes]) -> dict[str, Any]:
    """{"phash": hex, "pixel_width": w, "pixel_height": h} or {"phash_error": why}."""
    import imagehash
    from PIL import Image

    register_heif()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's own notes on odd EXIF: the parser records its own
            with Image.open(stream) as im:
                width, height = im.size
                im.draft("RGB", DRAFT_SIZE)  # only JPEG honours it; others decode in full
                refuse_to_decode_if_too_large(im)
                digest = str(imagehash.phash(im))
    except TooLargeToDecode as e:
        return {"phash_error": str(e), "pixel_width": width, "pixel_height": height}
    except Exception as e:  # noqa: BLE001 - Pillow raises many types on damaged or hostile input; kept as phash_error
        return {"phash_error": f"{type(e).__name__}: {e}"}
    return {"phash": digest, "pixel_width": width, "pixel_height": height}


class TooLargeToDecode(ValueError):
    """A picture whose pixels, as its header gives them, are more than DECODE_MAX_PIXELS."""


def refuse_to_decode_if_too_large(im: Any) -> None:
    """Raise TooLargeToDecode for an opened (and, for a JPEG, drafted) Pillow image larger than DECODE_MAX_PIXELS,
    before any pixel is decoded."""
    width, height = im.size
    if width * height > DECODE_MAX_PIXELS:
        raise TooLargeToDecode(
            f"not decoded: {width} x {height} pixels is more than the {DECODE_MAX_PIXELS // 1_000_000} million "
            "a picture is decoded at (an unusually large picture, or a file made to exhaust memory)"
        )


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
    (re.compile(p, re.IGNORECASE), origin, app)
    for p, origin, app in (
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
SCREEN_SIZES = frozenset(
    {
        (640, 1136),
        (750, 1334),
        (828, 1792),
        (1080, 1920),
        (1080, 2160),
        (1080, 2220),
        (1080, 2280),
        (1080, 2340),
        (1080, 2400),
        (1080, 2412),
        (1125, 2436),
        (1170, 2532),
        (1179, 2556),
        (1242, 2208),
        (1242, 2688),
        (1284, 2778),
        (1290, 2796),
        (1440, 2560),
        (1440, 2960),
        (1440, 3040),
        (1440, 3088),
        (1440, 3200),
        (720, 1280),
        (720, 1520),
        (720, 1600),
    }
)


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
