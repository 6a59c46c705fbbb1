"""Photos: EXIF metadata and GPS position (exifread) into MediaFile and Location records.

GPS rules kept here because they decide what a position is worth in court:
- hemisphere references make S and W negative; a missing reference is recorded as a warning;
- rationals with a zero denominator make the coordinate unusable (no fix, with a warning);
- 0/0 is a placeholder written by some cameras, not a position in the Gulf of Guinea: no fix;
- altitude with reference 1 is below sea level (negative); an altitude outside -500…20,000 m is kept raw
  in the Location's extra and flagged, never reported as altitude_m;
- a JPEG whose EXIF segment exifread cannot reach (a long vendor APP7 before APP1) and a WebP 'EXIF'
  chunk are located by our own walk (parsers/media/exif_structure.py); a block nobody reads is a warning;
- GPSHPositioningError (tag 0x001F) is the horizontal accuracy in metres.

Besides EXIF, each photo gets a JPEG structure check (damaged image data is a warning even when the
EXIF reads fine) and the classification hints of parsers.media.hints (pHash, origin by folder,
screenshot). This parser only needs the file's bytes, so the pipeline may run it in parallel workers
(triage/parsing/parallel.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

import exifread

from parsers.base import ParseContext, Parser
from parsers.media.exif_structure import check_exif, jpeg_exif_block, webp_exif_block
from parsers.media.heif_items import heif_exif_block
from parsers.media.heif_structure import check_heif
from parsers.media.hints import DECODED, PHASH_MAX_BYTES, path_hints, screenshot_hint
from parsers.media.jpeg_structure import check_jpeg
from parsers.read_budget import BudgetedReader
from triage.model.records import Base, Location, MediaFile, build, times
from triage.model.timeutil import EXIF_LOCAL_NOTE, Timestamp, decode_exif

IMAGE_EXTENSIONS = ("*.jpg", "*.jpeg", "*.jpe", "*.tif", "*.tiff", "*.png", "*.webp", "*.heic", "*.heif")
JPEG_MAGIC = b"\xff\xd8\xff"
EXIF_APP1 = b"Exif\x00\x00"  # identifier at the start of a JPEG APP1 EXIF segment
MIME_BY_MAGIC = (
    (JPEG_MAGIC, "image/jpeg"),
    (b"\x89PNG", "image/png"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
)
# ISO-BMFF major brands (bytes 8-12 after "ftyp") of still-image files
MIME_BY_BRAND = {
    b"heic": "image/heic",
    b"heix": "image/heic",
    b"heim": "image/heic",
    b"heis": "image/heic",
    b"mif1": "image/heif",
    b"msf1": "image/heif",
    b"avif": "image/avif",
}
JPEG_CHECK_MAX_BYTES = 64 << 20
# Reads and seeks exifread may make on one file. The photos of fixtures/ need at most ~1,000 (an iPhone
# HEIC); a damaged HEIF box can make exifread 3.5.1 loop for ever (fuzz/RESULTS.md, exif 5). 200,000
# leaves room for files far richer than those and stops a loop in well under a second.
EXIFREAD_MAX_READS = 200_000
# JPEG metadata segments (each at most 64 KiB) come before the image data; 4 MiB holds dozens of them
JPEG_METADATA_MAX_BYTES = 4 << 20
# Plausible GPS altitudes: the Dead Sea shore (-430 m) to above any airliner's cruising height. A value
# outside is a damaged or misencoded field (e.g. -12 written as an unsigned 4294967284), not a fact.
ALTITUDE_RANGE_M = (-500.0, 20_000.0)

logging.getLogger("exifread").setLevel(logging.ERROR)  # its own chatter; we record our own warnings


class PhotoExifParser(Parser):
    name = "photo_exif"
    description = "Photo EXIF metadata and GPS (JPEG, TIFF, PNG, WebP, HEIC)"
    app = "Camera / photos"
    platform = "any"
    produces = (MediaFile, Location)
    order = 170
    bytes_only = True  # EXIF, structure checks, perceptual hash: CPU-bound work on the bytes alone
    fixtures = (
        "fixtures/media/ne_dover.jpg",
        "fixtures/media/sw_heic.heic",
        "fixtures/media/zero_denominator.jpg",
        "fixtures/faults/media/media/0/DCIM/Camera/exif_loop_next.jpg",
    )
    path_patterns = IMAGE_EXTENSIONS

    def accepts(self, entry: Any, header: bytes) -> bool:
        return self.path_matches(entry) or header.startswith(JPEG_MAGIC)

    def parse(self, ctx: ParseContext) -> Iterator[Base]:
        with ctx.open() as stream:
            tags, reader = self._read_tags(ctx, stream)
            # a block no reader could read (our walk is only asked when exifread found nothing)
            unreadable = not tags and (EXIF_APP1 in ctx.header or self._own_exif_block(ctx, stream) is not None)
            hints = self._file_hints(ctx, stream)
            if reader:
                hints["exif_reader"] = reader
        if unreadable:
            ctx.warn(
                "the file carries an EXIF segment but no tag could be read from it (corrupt or truncated "
                "metadata); recorded without capture time or position"
            )
        media = self._media_file(ctx, tags, hints)
        yield media
        location = self._location(ctx, tags, media)
        if location is not None:
            yield location

    def _read_tags(self, ctx: ParseContext, stream: Any) -> tuple[dict, str | None]:
        """exifread's tags; for HEIF whose item locations exifread misreads (it ignores the iloc base
        offset that libheif writes), the Exif item as libheif locates it, read again by exifread."""
        try:
            tags = exifread_tags(stream)
            error = None
        except Exception as e:  # noqa: BLE001 - exifread raises many types on malformed input
            tags, error = {}, describe_error(e)
        if not tags and ctx.header[4:8] == b"ftyp":
            heif_tags = heif_exif_tags(stream) if ctx.no_decoding is None else {}
            if heif_tags:
                return heif_tags, "libheif Exif item (pillow-heif), tags decoded by exifread"
            # libheif refuses some damaged files whose Exif item is intact: locate it through iinf/iloc
            heif_tags = own_heif_exif_tags(stream, ctx.entry.size or 0)
            if heif_tags:
                if error:
                    ctx.warn(
                        f"EXIF read by exifread failed ({error}); the Exif item was located through the "
                        "file's own iinf/iloc boxes instead"
                    )
                return heif_tags, "Exif item located through iinf/iloc, tags decoded by exifread"
        if not tags:
            own_tags, reader = self._own_block_tags(ctx, stream)
            if own_tags:
                if error:
                    ctx.warn(f"EXIF read by exifread failed ({error}); the EXIF block was located by {reader}")
                return own_tags, reader
        if error:
            ctx.warn(f"EXIF could not be read ({error}); file recorded without metadata")
        return tags, None

    def _own_block_tags(self, ctx: ParseContext, stream: Any) -> tuple[dict, str | None]:
        """Tags of the EXIF block as our own segment/chunk walk finds it, for files exifread gives up on in
        silence: a JPEG whose vendor segment (Huawei APP7) comes before APP1 and is longer than exifread's
        4,000-byte look-ahead, a WebP whose EXIF chunk has no "Exif\\0\\0" prefix."""
        import io

        block = self._own_exif_block(ctx, stream)
        if not block:
            return {}, None
        try:
            tags = exifread_tags(io.BytesIO(block))
        except Exception:  # noqa: BLE001 - a damaged block: parse() warns that an EXIF block could not be read
            return {}, None
        where = "the WebP 'EXIF' chunk" if sniff_mime(ctx.header) == "image/webp" else "the JPEG APP1 Exif segment"
        return tags, f"{where} located by our own walk of the file, tags decoded by exifread"

    @staticmethod
    def _own_exif_block(ctx: ParseContext, stream: Any) -> bytes | None:
        if ctx.header.startswith(JPEG_MAGIC):
            stream.seek(0)
            return jpeg_exif_block(stream.read(JPEG_METADATA_MAX_BYTES))
        if sniff_mime(ctx.header) == "image/webp":
            return webp_exif_block(stream, ctx.entry.size or 0)
        return None

    def _file_hints(self, ctx: ParseContext, stream: Any) -> dict[str, Any]:
        """JPEG structure, pHash and pixel size (each a bounded read of the file)."""
        hints: dict[str, Any] = {}
        size = ctx.entry.size or 0
        if ctx.header.startswith(JPEG_MAGIC) and size <= JPEG_CHECK_MAX_BYTES:
            stream.seek(0)
            data = stream.read()
            check = check_jpeg(data)
            for problem in check.problems:
                ctx.warn(f"JPEG image data: {problem}")
            if check.problems:
                hints["jpeg_problems"] = check.problems
            if check.trailing_bytes:
                hints["bytes_after_eoi"] = check.trailing_bytes
            self._check_exif_structure(ctx, data, hints)
        elif sniff_mime(ctx.header) in ("image/heic", "image/heif", "image/avif"):
            self._record_problems(ctx, check_heif(stream, size), "heif_problems", hints)
        if ctx.no_decoding is not None:
            hints["phash_error"] = f"not decoded: {ctx.no_decoding}"
        elif size <= PHASH_MAX_BYTES:
            stream.seek(0)
            hints.update(DECODED.hints_of(ctx.sha256, stream))  # a copy of a picture already seen: not decoded again
        if "phash_error" in hints:
            ctx.warn(f"image could not be decoded for a perceptual hash ({hints['phash_error']})")
        return hints

    def _check_exif_structure(self, ctx: ParseContext, jpeg: bytes, hints: dict[str, Any]) -> None:
        """Loops and out-of-range offsets that exifread skips in silence become warnings."""
        block = jpeg_exif_block(jpeg)
        if block is not None:
            self._record_problems(ctx, [f"EXIF structure: {p}" for p in check_exif(block)], "exif_problems", hints)

    @staticmethod
    def _record_problems(ctx: ParseContext, problems: list[str], key: str, hints: dict[str, Any]) -> None:
        for problem in problems:
            ctx.warn(problem)
        if problems:
            hints[key] = problems

    def _media_file(self, ctx: ParseContext, tags: dict, hints: dict[str, Any]) -> MediaFile:
        taken, taken_source = capture_time_and_source(tags)
        if taken is not None and taken.utc is None and taken.note != EXIF_LOCAL_NOTE:
            # a damaged time (bad offset, impossible date) is kept raw; the reason must not be silent
            ctx.warn(f"capture time {taken.raw!r} ({taken_source}): {taken.note}")
            hints["taken_note"] = taken.note
        make = text(tags, "Image Make")
        width = integer(tags, "EXIF ExifImageWidth") or hints.get("pixel_width")
        height = integer(tags, "EXIF ExifImageLength") or hints.get("pixel_height")
        extra: dict[str, Any] = {"exif_tags": len(tags), **hints, **path_hints(ctx.entry.path)}
        if taken_source:
            extra["taken_source"] = taken_source
        shot = screenshot_hint(ctx.entry.path, width, height, make)
        if shot:
            extra["screenshot_hint"] = shot
        return build(
            MediaFile,
            path=ctx.entry.path,
            name=ctx.entry.name,
            size=ctx.entry.size,
            sha256=ctx.sha256,
            mime=sniff_mime(ctx.header),
            make=make,
            model=text(tags, "Image Model"),
            software=text(tags, "Image Software"),
            width=width,
            height=height,
            **(times("taken", taken) if taken else {}),
            extra=extra,
            source_offset=0,
        )

    def _location(self, ctx: ParseContext, tags: dict, media: MediaFile) -> Location | None:
        fix = gps_fix(tags)
        if fix.status != "ok":
            media.extra["gps_status"] = fix.status
            if fix.status not in ("no GPS", "no coordinates"):
                ctx.warn(f"GPS present but unusable: {fix.status}")
            return None
        media.extra["gps_status"] = "ok"
        for problem in fix.problems:
            ctx.warn(f"GPS position kept, but {problem}")
        if fix.problems:
            media.extra["gps_problems"] = fix.problems
        when = fix.time or (media_time(media))
        return build(
            Location,
            origin="photo EXIF GPS",
            latitude=fix.latitude,
            longitude=fix.longitude,
            altitude_m=fix.altitude,
            accuracy_m=fix.accuracy,
            **(times("time", when) if when else {}),
            label=ctx.entry.name,
            media_file=media,
            extra={"raw": fix.raw, "time_source": location_time_source(fix.time, when), **fix.notes},
            source_offset=0,
        )


@dataclass
class GpsFix:
    status: str  # "ok" or why there is no usable position
    latitude: float = 0.0
    longitude: float = 0.0
    altitude: float | None = None
    accuracy: float | None = None  # horizontal positioning error, metres
    time: Timestamp | None = None
    raw: dict = field(default_factory=dict)  # the GPS tags as printed, for the record
    notes: dict = field(default_factory=dict)  # values kept raw rather than reported (altitude_raw, …)
    problems: list[str] = field(default_factory=list)  # damaged parts left out of a usable fix


def location_time_source(gps_clock: Timestamp | None, when: Timestamp | None) -> str:
    """Which clock timed a photo's position; "none" rather than naming a capture time the photo lacks."""
    if gps_clock is not None:
        return "GPS time stamp"
    return "capture time" if when is not None else "none (no usable GPS time stamp or capture time)"


def describe_error(e: BaseException) -> str:
    """Exception type and message; several readers raise with no message at all (AssertionError())."""
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text}" if text else f"{type(e).__name__}, no message from the reader"


def exifread_tags(stream: Any) -> dict:
    """exifread's tags (may raise anything: callers record it), its reads budgeted against loops."""
    reader = BudgetedReader(stream, EXIFREAD_MAX_READS, "exifread")
    # typed BinaryIO, but exifread only reads, seeks and tells, which BudgetedReader passes on (budgeted)
    return exifread.process_file(reader, details=False)  # type: ignore[arg-type]


def heif_exif_tags(stream: Any) -> dict:
    import io

    import pillow_heif

    try:
        stream.seek(0)
        exif = pillow_heif.open_heif(stream).info.get("exif") or b""
    except Exception:  # noqa: BLE001 - not decodable by libheif either: the caller reports the exifread failure
        return {}
    starts = [i for i in (exif.find(b"MM\x00*"), exif.find(b"II*\x00")) if 0 <= i <= 16]
    if not starts:
        return {}
    try:
        return exifread_tags(io.BytesIO(exif[min(starts) :]))
    except Exception:  # noqa: BLE001 - exifread raises many types on a damaged block; the caller reports the failure
        return {}


def own_heif_exif_tags(stream: Any, size: int) -> dict:
    import io

    try:
        block = heif_exif_block(stream, size)
        return exifread_tags(io.BytesIO(block)) if block else {}
    except Exception:  # noqa: BLE001 - a damaged item: the caller has reported the other readers' failures
        return {}


def gps_fix(tags: dict) -> GpsFix:
    """Decimal WGS84 degrees from the GPS IFD, or a status saying why there is no usable fix."""
    if not any(k.startswith("GPS ") for k in tags):
        return GpsFix("no GPS")
    raw = {k: str(v) for k, v in tags.items() if k.startswith("GPS ")}
    if "GPS GPSLatitude" not in tags or "GPS GPSLongitude" not in tags:
        return GpsFix("no coordinates", raw=raw)
    lat = dms_to_degrees(tags["GPS GPSLatitude"].values)
    lon = dms_to_degrees(tags["GPS GPSLongitude"].values)
    if lat is None or lon is None:
        return GpsFix("invalid coordinate rationals (zero denominator or wrong count)", raw=raw)
    lat_ref, lon_ref = text(tags, "GPS GPSLatitudeRef"), text(tags, "GPS GPSLongitudeRef")
    if lat_ref is None or lon_ref is None:
        return GpsFix("hemisphere reference missing: sign of the position unknown", raw=raw)
    lat = -lat if lat_ref.upper().startswith("S") else lat
    lon = -lon if lon_ref.upper().startswith("W") else lon
    if lat == 0 and lon == 0:
        return GpsFix("0/0 placeholder (no fix)", raw=raw)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return GpsFix(f"out of range ({lat}, {lon})", raw=raw)
    problems: list[str] = []
    notes: dict[str, Any] = {}
    fix = GpsFix(
        "ok",
        lat,
        lon,
        plausible_altitude(gps_altitude(tags, problems.append), tags, problems.append, notes),
        gps_accuracy(tags, problems.append),
        gps_time(tags, problems.append),
        raw,
    )
    fix.problems, fix.notes = problems, notes
    return fix


def ratio(value: Any) -> Fraction | None:
    """A rational (or integer) tag value as a Fraction; None when it is not a number or its denominator is 0."""
    num, den = getattr(value, "numerator", value), getattr(value, "denominator", 1)
    try:
        num, den = int(num), int(den)
    except (TypeError, ValueError):
        return None  # not a number: a damaged tag stored with another type
    if den == 0:
        return None
    return Fraction(num, den)


def dms_to_degrees(values: list) -> float | None:
    parts = [ratio(v) for v in values]
    if len(parts) != 3:
        return None
    d, m, s = parts
    if d is None or m is None or s is None:
        return None
    return float(d + m / 60 + s / 3600)


def gps_altitude(tags: dict, problem: Callable[[str], None]) -> float | None:
    if "GPS GPSAltitude" not in tags:
        return None
    values = tags["GPS GPSAltitude"].values
    if not values:  # a tag with a count of 0
        problem("its GPSAltitude holds no value: no altitude")
        return None
    alt = ratio(values[0])
    if alt is None:
        problem(f"its GPSAltitude ({tags['GPS GPSAltitude']}) is not a number with a non-zero denominator: no altitude")
        return None
    ref = tags.get("GPS GPSAltitudeRef")
    below = ref is not None and ref.values and ref.values[0] == 1
    return float(-alt if below else alt)


def plausible_altitude(
    altitude: float | None, tags: dict, problem: Callable[[str], None], notes: dict[str, Any]
) -> float | None:
    """The altitude when it is one a phone can stand at; otherwise None, the raw value kept in `notes`.

    A signed reading of the same 32 bits (4294967284 → -12) is recorded beside the raw value but never
    used as altitude_m: RATIONAL is unsigned by the EXIF spec and the sign belongs to GPSAltitudeRef,
    so which writer bug produced the number is a guess, and a guess is not reported as fact."""
    low, high = ALTITUDE_RANGE_M
    if altitude is None or low <= altitude <= high:
        return altitude
    value = tags["GPS GPSAltitude"].values[0]
    num, den = int(getattr(value, "numerator", value)), int(getattr(value, "denominator", 1))
    notes["altitude_raw"] = f"{num}/{den}"
    if "GPS GPSAltitudeRef" in tags:
        notes["altitude_ref_raw"] = str(tags["GPS GPSAltitudeRef"])
    notes["altitude_problem"] = f"out of range: {altitude:,.1f} m is outside {low:,.0f} to {high:,.0f} m"
    detail = ""
    if 2**31 <= num < 2**32:
        signed = (num - 2**32) / den
        notes["altitude_signed_reading"] = signed
        detail = f"; read as a signed 32-bit number it would be {signed:,.1f} m (not used)"
    problem(f"its altitude ({num}/{den}) is {notes['altitude_problem']}{detail}; no altitude")
    return None


def gps_accuracy(tags: dict, problem: Callable[[str], None]) -> float | None:
    # exifread 3.5 has no name for tag 0x001F (GPSHPositioningError, EXIF 2.31) yet
    value = tags.get("GPS GPSHPositioningError") or tags.get("GPS Tag 0x001F")
    if value is None:
        return None
    r = ratio(value.values[0]) if getattr(value, "values", None) else None
    if r is None:
        problem(f"its GPSHPositioningError ({value}) is not a number with a non-zero denominator: no accuracy")
        return None
    return float(r)


def gps_time(tags: dict, problem: Callable[[str], None]) -> Timestamp | None:
    """GPSDateStamp + GPSTimeStamp: the satellite clock, always UTC.

    A time stamp without a date is common (older cameras) and simply not used; a date and time stamp
    that cannot make a time are damage, reported through `problem`, and the capture time stands in."""
    # exifread 3.5 names tag 0x001D "GPS GPSDate"; older releases "GPS GPSDateStamp".
    date = text(tags, "GPS GPSDate") or text(tags, "GPS GPSDateStamp")
    clock = tags.get("GPS GPSTimeStamp")
    if not date or clock is None:
        return None
    parts = [ratio(v) for v in clock.values] if len(clock.values) == 3 else []
    h, m, s = parts if len(parts) == 3 else (None, None, None)
    if h is None or m is None or s is None:
        problem(f"its GPS time stamp ({date} {clock}) is not three numbers: no GPS time")
        return None
    try:
        raw = f"{date} {float(h):02.0f}:{float(m):02.0f}:{float(s):06.3f}"
        y, mo, d = (int(x) for x in date.replace("-", ":").split(":"))
        base = datetime(y, mo, d, tzinfo=UTC)
        seconds = float(h) * 3600 + float(m) * 60 + float(s)
        return Timestamp(raw, "exif_gps_utc", base + timedelta(seconds=seconds))
    except (ValueError, OverflowError):  # an impossible date, or a stamp beyond datetime's range
        problem(f"its GPS time stamp ({date} {clock}) is not a valid date and time: no GPS time")
        return None


def capture_time(tags: dict) -> Timestamp | None:
    return capture_time_and_source(tags)[0]


def capture_time_and_source(tags: dict) -> tuple[Timestamp | None, str | None]:
    """DateTimeOriginal with OffsetTimeOriginal; failing that IFD0 DateTime with OffsetTime, named as such
    (it is the time the file was last written by the camera or an editor, not necessarily the shot)."""
    raw = text(tags, "EXIF DateTimeOriginal")
    if raw:
        return decode_exif(raw, text(tags, "EXIF OffsetTimeOriginal")), "DateTimeOriginal"
    raw = text(tags, "Image DateTime")
    if raw:
        return decode_exif(raw, text(tags, "EXIF OffsetTime")), "DateTime (IFD0; no DateTimeOriginal)"
    return None, None


def sniff_mime(header: bytes) -> str | None:
    for magic, mime in MIME_BY_MAGIC:
        if header.startswith(magic):
            return mime
    if header[4:8] == b"ftyp":
        return MIME_BY_BRAND.get(header[8:12])
    if header[:4] == b"RIFF" and header[8:12] == b"WEBP":
        return "image/webp"
    return None


def media_time(media: MediaFile) -> Timestamp | None:
    if media.taken_raw is None:
        return None
    return Timestamp(media.taken_raw, media.taken_encoding or "", media.taken_utc)


def text(tags: dict, key: str) -> str | None:
    value = tags.get(key)
    if value is None:
        return None
    s = str(value.printable if hasattr(value, "printable") else value).strip().strip("\x00").strip()
    return s or None


def integer(tags: dict, key: str) -> int | None:
    value = tags.get(key)
    try:
        return int(value.values[0]) if value is not None and value.values else None
    except (TypeError, ValueError, IndexError):
        return None
