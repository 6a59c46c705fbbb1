"""Videos (QuickTime .mov, MP4, 3GP): recording position and creation time from the metadata boxes.

Read with a small box walker that seeks over everything it does not need (media data, sample
tables): a video is never read into memory, only its box headers and a few small boxes.

Where positions live:
- `moov/udta/©xyz`: an ISO 6709 string ("+51.5074-000.1278+011.000/"), written by Android cameras
  and older iPhones, as a QuickTime user-data text (2-byte length, 2-byte language, text);
- `moov/meta` with `keys` + `ilst` (QuickTime metadata, handler `mdta`): the key
  `com.apple.quicktime.location.ISO6709`, and `…location.accuracy.horizontal` (metres).
Times:
- `mvhd` creation time: seconds since 1904-01-01 00:00 UTC (0 = not set);
- `com.apple.quicktime.creationdate`: ISO 8601 with the device's UTC offset.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

from parsers.base import ParseContext, Parser
from parsers.media.hints import path_hints
from triage.model.records import Base, Location, MediaFile, build, times
from triage.model.timeutil import Timestamp

VIDEO_EXTENSIONS = ("*.mp4", "*.mov", "*.m4v", "*.3gp", "*.3g2", "*.qt")
STILL_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}
QT_EPOCH = datetime(1904, 1, 1, tzinfo=UTC)
ENC_QT = "qt_1904_s"  # seconds since 1904-01-01 UTC (mvhd); not yet in triage.model.timeutil's table
ENC_ISO = "iso8601"  # text with its own UTC offset; utc None when the offset is missing
MAX_SMALL_BOX = 1 << 20  # udta/meta children are small; anything larger is not metadata we read
CONTAINERS = {b"moov", b"udta", b"trak", b"meta"}
# boxes read at one level, at most: a long fragmented recording has a few thousand (moof + mdat a fragment); a
# file made of 8-byte boxes has hundreds of millions (a 4 GB one: ~3.5 minutes of reading for nothing)
MAX_BOXES_PER_LEVEL = 100_000
KEY_LOCATION = "com.apple.quicktime.location.ISO6709"
KEY_ACCURACY = "com.apple.quicktime.location.accuracy.horizontal"
KEY_CREATED = "com.apple.quicktime.creationdate"


@dataclass
class Box:
    type: bytes
    start: int  # offset of the box header
    body: int  # offset of the payload
    end: int


@dataclass
class VideoMeta:
    brand: bytes | None = None
    created: Timestamp | None = None  # mvhd
    duration_s: float | None = None
    width: int | None = None
    height: int | None = None
    xyz: tuple[str, int] | None = None  # (©xyz text, offset)
    keys: dict[str, tuple[Any, int]] = field(default_factory=dict)  # mdta key -> (value, offset)
    udta_text: dict[str, str] = field(default_factory=dict)  # ©mak, ©mod, ©swr …
    problems: list[str] = field(default_factory=list)


class VideoParser(Parser):
    name = "video_metadata"
    description = "Video location (©xyz, QuickTime ISO 6709) and creation time (QuickTime/MP4)"
    app = "Camera / videos"
    platform = "any"
    produces = (MediaFile, Location)
    order = 180
    # bytes_only stays False: it reads a few boxes by seeking, so copying a whole video to a worker costs
    # more than the parse
    fixtures = ("fixtures/media/VID_android_xyz.mp4", "fixtures/media/IMG_0001.MOV", "fixtures/media/VID_truncated.mp4")
    path_patterns = VIDEO_EXTENSIONS

    def accepts(self, entry: Any, header: bytes) -> bool:
        if header[4:8] == b"ftyp":
            return header[8:12] not in STILL_BRANDS
        return self.path_matches(entry) and header[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip")

    def parse(self, ctx: ParseContext) -> Iterator[Base]:
        with ctx.open() as f:
            meta = read_video_meta(f, ctx.entry.size or _size_of(f))
        for problem in meta.problems:
            ctx.warn(problem)
        media = self._media_file(ctx, meta)
        yield media
        yield from self._locations(ctx, meta, media)

    def _media_file(self, ctx: ParseContext, meta: VideoMeta) -> MediaFile:
        created = _creationdate(meta) or meta.created
        extra: dict[str, Any] = {**path_hints(ctx.entry.path)}
        if meta.duration_s is not None:
            extra["duration_s"] = meta.duration_s
        if meta.created is not None and created is not meta.created:
            extra["mvhd_creation_raw"] = meta.created.raw
            extra["mvhd_creation_utc"] = meta.created.utc.isoformat() if meta.created.utc else None
        return build(
            MediaFile,
            path=ctx.entry.path,
            name=ctx.entry.name,
            size=ctx.entry.size,
            sha256=ctx.sha256,
            mime=_mime(meta.brand),
            make=_text_value(meta, "com.apple.quicktime.make", "©mak"),
            model=_text_value(meta, "com.apple.quicktime.model", "©mod"),
            software=_text_value(meta, "com.apple.quicktime.software", "©swr"),
            width=meta.width,
            height=meta.height,
            **(times("taken", created) if created else {}),
            extra=extra,
            source_offset=0,
        )

    def _locations(self, ctx: ParseContext, meta: VideoMeta, media: MediaFile) -> Iterator[Location]:
        found: list[tuple[str, str, int]] = []
        if KEY_LOCATION in meta.keys:
            value, offset = meta.keys[KEY_LOCATION]
            found.append(("video QuickTime ISO6709", str(value), offset))
        if meta.xyz is not None and all(meta.xyz[0] != v for _, v, _ in found):
            found.append(("video ©xyz", meta.xyz[0], meta.xyz[1]))
        when = _creationdate(meta) or meta.created
        accuracy = _float(meta.keys.get(KEY_ACCURACY, (None, 0))[0])
        for origin, text, offset in found:
            point = parse_iso6709(text)
            if point is None:
                ctx.warn(f"{origin}: not an ISO 6709 position: {text!r}")
                continue
            lat, lon, alt = point
            if lat == 0 and lon == 0:
                ctx.warn(f"{origin}: 0/0 placeholder (no fix)")
                continue
            yield build(
                Location,
                origin=origin,
                latitude=lat,
                longitude=lon,
                altitude_m=alt,
                accuracy_m=accuracy if origin == "video QuickTime ISO6709" else None,
                **(times("time", when) if when else {}),
                label=ctx.entry.name,
                media_file=media,
                extra={"raw": text},
                source_offset=offset,
            )


def read_video_meta(f: BinaryIO, size: int) -> VideoMeta:
    meta = VideoMeta()
    for box in iter_boxes(f, 0, size, meta):
        if box.type == b"ftyp":
            f.seek(box.body)
            meta.brand = f.read(4)
        elif box.type == b"moov":
            _walk(f, box, meta)
    return meta


def iter_boxes(f: BinaryIO, start: int, end: int, meta: VideoMeta) -> Iterator[Box]:
    pos, boxes = start, 0
    while pos + 8 <= end:
        if boxes == MAX_BOXES_PER_LEVEL:
            meta.problems.append(
                f"more than {MAX_BOXES_PER_LEVEL:,} boxes at one level (from offset {start}); "
                f"the rest of the level, from offset {pos}, not read"
            )
            return
        boxes += 1
        f.seek(pos)
        header = f.read(8)
        if len(header) < 8:
            meta.problems.append(f"box header at offset {pos} is cut short (file truncated)")
            return
        size, kind = struct.unpack(">I4s", header)
        body = pos + 8
        if size == 1:
            large = f.read(8)
            if len(large) < 8:
                meta.problems.append(f"box {kind!r} at offset {pos}: 64-bit size cut short")
                return
            size, body = struct.unpack(">Q", large)[0], pos + 16
        elif size == 0:
            size = end - pos  # extends to the end of its parent
        if size < body - pos:
            meta.problems.append(f"box {kind!r} at offset {pos} has impossible size {size}; rest of the level skipped")
            return
        if pos + size > end:
            meta.problems.append(
                f"box {kind!r} at offset {pos} runs past its parent (size {size}): file truncated "
                "or damaged; read up to the end"
            )
            size = end - pos
        yield Box(kind, pos, body, pos + size)
        pos += size


def _walk(f: BinaryIO, parent: Box, meta: VideoMeta) -> None:
    body = parent.body
    if parent.type == b"meta":
        f.seek(body)
        if f.read(4) == b"\x00\x00\x00\x00":  # MP4 meta is a FullBox (version+flags); QuickTime's is not
            body += 4
        keys: list[str] = []
        for box in iter_boxes(f, body, parent.end, meta):
            if box.type == b"keys":
                keys = _read_keys(f, box)
            elif box.type == b"ilst":
                _read_ilst(f, box, keys, meta)
        return
    for box in iter_boxes(f, body, parent.end, meta):
        if box.type == b"mvhd":
            _read_mvhd(f, box, meta)
        elif box.type == b"tkhd" and meta.width is None:
            _read_tkhd(f, box, meta)
        elif box.type == b"\xa9xyz":
            text = _read_udta_text(f, box)
            if text is not None:
                meta.xyz = (text, box.start)
        elif box.type[:1] == b"\xa9" and parent.type == b"udta":
            text = _read_udta_text(f, box)
            if text is not None:
                meta.udta_text[box.type.decode("latin-1").replace("\xa9", "©")] = text
        elif box.type in CONTAINERS:
            _walk(f, box, meta)


def _read_mvhd(f: BinaryIO, box: Box, meta: VideoMeta) -> None:
    f.seek(box.body)
    data = f.read(min(box.end - box.body, 32))
    try:
        if data[0] == 1:
            created, _, timescale, duration = struct.unpack_from(">QQIQ", data, 4)
        else:
            created, _, timescale, duration = struct.unpack_from(">IIII", data, 4)
    except (struct.error, IndexError):
        meta.problems.append(f"mvhd at offset {box.start} is too short to hold its times")
        return
    meta.created = decode_qt_time(created)
    meta.duration_s = round(duration / timescale, 3) if timescale else None


def _read_tkhd(f: BinaryIO, box: Box, meta: VideoMeta) -> None:
    f.seek(box.body)
    data = f.read(min(box.end - box.body, 96))
    if len(data) < 8:
        return
    width_at = 76 if data[0] == 0 else 88  # width and height are the last two 16.16 fields
    if len(data) >= width_at + 8:
        w, h = struct.unpack_from(">II", data, width_at)
        if w and h:
            meta.width, meta.height = w >> 16, h >> 16


def _read_udta_text(f: BinaryIO, box: Box) -> str | None:
    length = box.end - box.body
    if length < 4 or length > MAX_SMALL_BOX:
        return None
    f.seek(box.body)
    data = f.read(length)
    (n,) = struct.unpack_from(">H", data, 0)
    if n + 4 <= len(data):
        return data[4 : 4 + n].decode("utf-8", errors="replace").strip("\x00")
    return data[4:].decode("utf-8", errors="replace").strip("\x00")


def _read_keys(f: BinaryIO, box: Box) -> list[str]:
    f.seek(box.body)
    data = f.read(min(box.end - box.body, MAX_SMALL_BOX))
    keys, pos = [], 8  # version/flags, entry count
    while pos + 8 <= len(data):
        (size,) = struct.unpack_from(">I", data, pos)
        if size < 8:
            break
        keys.append(data[pos + 8 : pos + size].decode("utf-8", errors="replace"))
        pos += size
    return keys


def _read_ilst(f: BinaryIO, box: Box, keys: list[str], meta: VideoMeta) -> None:
    for item in iter_boxes(f, box.body, box.end, meta):
        (index,) = struct.unpack(">I", item.type)
        if not 1 <= index <= len(keys):
            continue  # iTunes-style atoms (©nam …) are not keyed
        for data_box in iter_boxes(f, item.body, item.end, meta):
            if data_box.type != b"data" or data_box.end - data_box.body > MAX_SMALL_BOX:
                continue
            f.seek(data_box.body)
            payload = f.read(data_box.end - data_box.body)
            if len(payload) >= 8:
                meta.keys[keys[index - 1]] = (_typed_value(payload[0:4], payload[8:]), data_box.start)


def _typed_value(type_field: bytes, value: bytes) -> Any:
    kind = int.from_bytes(type_field[1:4], "big")
    if kind == 1:
        return value.decode("utf-8", errors="replace")
    if kind == 2:
        return value.decode("utf-16-be", errors="replace")
    if kind == 23 and len(value) == 4:
        return struct.unpack(">f", value)[0]
    if kind == 24 and len(value) == 8:
        return struct.unpack(">d", value)[0]
    if kind in (21, 22) and 1 <= len(value) <= 8:
        return int.from_bytes(value, "big", signed=kind == 21)
    return value.hex()


_ISO6709 = re.compile(r"^\s*([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)?(?:CRS[^/]*)?/?\s*$")


def parse_iso6709(text: str) -> tuple[float, float, float | None] | None:
    """ISO 6709 point: ±DD[MM[SS]][.f] ±DDD[MM[SS]][.f] [±altitude] [CRS…] /. None when not valid."""
    m = _ISO6709.match(text)
    if not m:
        return None
    lat, lon = _angle(m.group(1), 2), _angle(m.group(2), 3)
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return lat, lon, float(m.group(3)) if m.group(3) else None


def _angle(text: str, degree_digits: int) -> float | None:
    sign = -1.0 if text[0] == "-" else 1.0
    whole, _, frac = text[1:].partition(".")
    frac_value = float("0." + frac) if frac else 0.0
    n = len(whole)
    if n == degree_digits:  # decimal degrees
        return sign * (int(whole) + frac_value)
    if n == degree_digits + 2:  # degrees and decimal minutes
        return sign * (int(whole[:degree_digits]) + (int(whole[degree_digits:]) + frac_value) / 60)
    if n == degree_digits + 4:  # degrees, minutes and decimal seconds
        d, mi, s = whole[:degree_digits], whole[degree_digits : degree_digits + 2], whole[degree_digits + 2 :]
        return sign * (int(d) + int(mi) / 60 + (int(s) + frac_value) / 3600)
    return None


def decode_qt_time(raw: int) -> Timestamp | None:
    if raw == 0:
        return None  # not set: some encoders leave it zero
    utc = QT_EPOCH + timedelta(seconds=raw)
    if not datetime(1990, 1, 1, tzinfo=UTC) <= utc < datetime(2100, 1, 1, tzinfo=UTC):
        return Timestamp(raw, ENC_QT, None, "outside 1990-2100: not converted")
    return Timestamp(raw, ENC_QT, utc)


def decode_iso8601(raw: str) -> Timestamp:
    text = raw.strip()
    text = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", text).replace("Z", "+00:00")
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        return Timestamp(raw, ENC_ISO, None, "not an ISO 8601 time")
    if t.tzinfo is None:
        return Timestamp(raw, ENC_ISO, None, "no UTC offset: not converted")
    return Timestamp(raw, ENC_ISO, t.astimezone(UTC))


def _creationdate(meta: VideoMeta) -> Timestamp | None:
    value = meta.keys.get(KEY_CREATED)
    return decode_iso8601(str(value[0])) if value else None


def _text_value(meta: VideoMeta, key: str, udta: str) -> str | None:
    value = meta.keys.get(key)
    return str(value[0]) if value else meta.udta_text.get(udta)


def _float(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _mime(brand: bytes | None) -> str | None:
    if brand is None:
        return None
    if brand == b"qt  ":
        return "video/quicktime"
    if brand.startswith(b"3g2"):
        return "video/3gpp2"
    if brand.startswith(b"3g"):
        return "video/3gpp"
    return "video/mp4"


def _size_of(f: BinaryIO) -> int:
    f.seek(0, 2)
    return f.tell()
