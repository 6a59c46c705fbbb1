"""Telegram for iOS Postbox values: message-history rows and PostboxEncoder objects.

Facts used (Telegram-iOS `MessageHistoryTable.swift`, public snapshots; the v20→21 upgrade code
spells out the row layout):
- message-history key (20 bytes, big-endian so keys sort): peer id int64, timestamp int32 (Unix s),
  namespace int32, message id int32;
- value (little-endian): type int8 (0 message, else hole), stableId uint32, stableVersion uint32,
  dataFlags int8 (1 globallyUniqueId int64, 2 globalTags uint32, 4 groupingKey int64, 8 groupInfo uint32,
  16 localTags uint32), flags uint32, tags uint32, forward info (int8 flags: 1 present → author int64,
  date int32; 2 source peer int64; 4 source message peer int64 + namespace int32 + id int32;
  8 signature int32-length string), hasAuthor int8 (+ author int64), text (int32 length + UTF-8),
  attributes (int32 count, each int32 length + PostboxEncoder object), embedded media (same),
  referenced media (int32 count, each namespace int32 + id int64).
- PostboxEncoder object: fields of (key: uint8 length + bytes, value type int8, value); an object value is
  a type hash int32, a length int32 and the object's own fields.
Anything else (newer data-flag or forward-info bits) stops the walk and is reported, never guessed.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

KNOWN_DATA_FLAGS = 0x1F
KNOWN_FORWARD_FLAGS = 0x0F
NAMESPACES = {0: "user", 1: "chat", 2: "channel", 3: "secret"}


class PostboxError(Exception):
    pass


class Buf:
    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self.data, self.pos = data, pos
        self.end = len(data) if end is None else end

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > self.end:
            raise PostboxError(f"needs {n} byte(s) at offset {self.pos}, {self.end - self.pos} left")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str) -> Any:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))[0]

    def text(self) -> str:
        n = self.unpack("i")
        try:
            return self.take(n).decode("utf-8")
        except UnicodeDecodeError as e:
            raise PostboxError(f"string is not valid UTF-8 ({e})") from None


def peer_from_int64(value: int) -> str:
    """'user:ID' / 'chat:ID' / 'channel:ID' / 'secret:ID' of a Postbox PeerId (namespace in bits 32–34,
    the id's high bits above them; for ids below 2^32 this is the older namespace << 32 | id form)."""
    data = value & 0xFFFFFFFFFFFFFFFF
    namespace = (data >> 32) & 0x7
    ident = ((data >> 35) << 32) | (data & 0xFFFFFFFF)
    return f"{NAMESPACES.get(namespace, f'namespace{namespace}')}:{ident}"


@dataclass
class HistoryKey:
    peer: str
    peer_raw: int
    timestamp: int
    namespace: int
    id: int


def read_key(key: bytes) -> HistoryKey | None:
    if not isinstance(key, bytes) or len(key) != 20:
        return None
    peer, ts, ns, mid = struct.unpack(">qiii", key)
    return HistoryKey(peer_from_int64(peer), peer, ts, ns, mid)


@dataclass
class HistoryEntry:
    status: str  # full / partial / none
    fields: dict[str, Any] = field(default_factory=dict)
    undecoded: list[str] = field(default_factory=list)
    problem: str | None = None
    attributes: list[bytes] = field(default_factory=list)
    media: list[bytes] = field(default_factory=list)


def read_entry(value: bytes) -> HistoryEntry:
    """Decode a message-history value as far as its layout is known."""
    entry = HistoryEntry("none")
    steps = ["header", "forward_info", "author", "text", "attributes", "media", "referenced_media"]
    buf = Buf(value)
    done = 0
    try:
        kind = buf.unpack("b")
        if kind != 0:
            entry.fields["hole"] = True
            entry.status = "full"
            return entry
        _header(buf, entry.fields)
        done = 1
        _forward(buf, entry.fields)
        done = 2
        if buf.unpack("b") == 1:
            entry.fields["author"] = peer_from_int64(buf.unpack("q"))
        done = 3
        entry.fields["text"] = buf.text()
        done = 4
        entry.attributes = _chunks(buf)
        done = 5
        entry.media = _chunks(buf)
        done = 6
        entry.fields["referenced_media"] = [(buf.unpack("i"), buf.unpack("q")) for _ in range(_count(buf, 12))]
        done = 7
        if buf.pos != len(value):
            raise PostboxError(f"{len(value) - buf.pos} byte(s) after the last known field")
    except PostboxError as e:
        entry.problem = str(e)
    entry.undecoded = steps[done:]
    entry.status = "full" if done == len(steps) and not entry.problem else ("partial" if done >= 1 else "none")
    return entry


def _header(buf: Buf, out: dict[str, Any]) -> None:
    out["stable_id"], out["stable_version"] = buf.unpack("I"), buf.unpack("I")
    data_flags = buf.unpack("B")
    if data_flags & ~KNOWN_DATA_FLAGS:
        raise PostboxError(f"data flags 0x{data_flags:02x} carry bits whose fields are not known")
    if data_flags & 1:
        out["globally_unique_id"] = buf.unpack("q")
    if data_flags & 2:
        out["global_tags"] = buf.unpack("I")
    if data_flags & 4:
        out["grouping_key"] = buf.unpack("q")
    if data_flags & 8:
        out["group_info"] = buf.unpack("I")
    if data_flags & 16:
        out["local_tags"] = buf.unpack("I")
    out["flags"], out["tags"] = buf.unpack("I"), buf.unpack("I")


def _forward(buf: Buf, out: dict[str, Any]) -> None:
    flags = buf.unpack("B")
    if not flags:
        return
    if flags & ~KNOWN_FORWARD_FLAGS:
        raise PostboxError(f"forward-info flags 0x{flags:02x} carry bits whose fields are not known")
    fwd: dict[str, Any] = {"author": peer_from_int64(buf.unpack("q")), "date": buf.unpack("i")}
    if flags & 2:
        fwd["source"] = peer_from_int64(buf.unpack("q"))
    if flags & 4:
        fwd["source_message"] = {
            "peer": peer_from_int64(buf.unpack("q")),
            "namespace": buf.unpack("i"),
            "id": buf.unpack("i"),
        }
    if flags & 8:
        fwd["signature"] = buf.text()
    out["forward"] = fwd


def _count(buf: Buf, min_size: int) -> int:
    n = buf.unpack("i")
    if n < 0 or n * min_size > buf.end - buf.pos:
        raise PostboxError(f"count {n} does not fit in the bytes left")
    return n


def _chunks(buf: Buf) -> list[bytes]:
    return [buf.take(_count_len(buf)) for _ in range(_count(buf, 4))]


def _count_len(buf: Buf) -> int:
    n = buf.unpack("i")
    if n < 0:
        raise PostboxError(f"negative length {n}")
    return n


# -- PostboxEncoder objects ------------------------------------------------------------------------

MAX_DEPTH = 32


def read_object(data: bytes) -> dict[str, Any]:
    """A root-encoded object: {'_type_hash': int, field: value …}. Raises PostboxError."""
    buf = Buf(data)
    fields = _fields(buf, 0)
    if buf.pos != len(data):
        raise PostboxError("bytes left after the object")
    root = fields.get("_")
    if not isinstance(root, dict):
        raise PostboxError("no root object under key '_'")
    return root


def _fields(buf: Buf, depth: int) -> dict[str, Any]:
    if depth > MAX_DEPTH:
        raise PostboxError("objects nested too deeply")
    out: dict[str, Any] = {}
    while buf.pos < buf.end:
        key = buf.take(buf.unpack("B")).decode("utf-8", errors="replace")
        out[key] = _value(buf, buf.unpack("b"), depth)
    return out


def _object(buf: Buf, depth: int) -> dict[str, Any]:
    type_hash, length = buf.unpack("i"), _count_len(buf)
    inner = Buf(buf.data, buf.pos, buf.pos + length)
    if inner.end > buf.end:
        raise PostboxError("object runs past its container")
    obj = {"_type_hash": type_hash, **_fields(inner, depth + 1)}
    buf.pos = inner.end
    return obj


def _value(buf: Buf, kind: int, depth: int) -> Any:
    if kind == 0:
        return buf.unpack("i")
    if kind == 1:
        return buf.unpack("q")
    if kind == 2:
        return buf.unpack("b") != 0
    if kind == 3:
        return buf.unpack("d")
    if kind == 4:
        return buf.text()
    if kind == 5:
        return _object(buf, depth)
    if kind in (6, 7):
        return [buf.unpack("i" if kind == 6 else "q") for _ in range(_count(buf, 4 if kind == 6 else 8))]
    if kind == 8:
        return [_object(buf, depth) for _ in range(_count(buf, 8))]
    if kind == 9:
        return [(_object(buf, depth), _object(buf, depth)) for _ in range(_count(buf, 16))]
    if kind == 10:
        return buf.take(_count_len(buf)).hex()
    if kind == 11:
        return None
    if kind == 12:
        return [buf.text() for _ in range(_count(buf, 4))]
    if kind == 13:
        return [buf.take(_count_len(buf)).hex() for _ in range(_count(buf, 4))]
    raise PostboxError(f"value type {kind} is not known")
