"""A table-driven decoder of TL-serialised objects (the `data` blobs of Telegram's cache4.db).

Wire format (docs/formats/telegram.md "TL encoding"): a little-endian uint32 constructor id, then the
fields in declaration order; `#` is a uint32 flags word and `name:flags.N?Type` is present only when bit N is set
(`true` fields take no bytes); strings/bytes carry a 1-byte length (or 0xFE + 3-byte length) and
are zero-padded to a multiple of 4; `Vector<T>` is 0x1CB5C415, an int32 count, then elements.

The decoder never raises and never invents a value. It decodes the top-level object field by
field; when a field cannot be read (an unknown constructor, a truncated blob, a type mismatch) it
keeps what was read, lists the fields that were not, and says why. An unknown nested object is
skipped only when its length can be bounded: when exactly one cut point lets the rest of the
object, and the bytes after it, be read to the end of the blob.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from parsers.telegram.tl_schema import BOOL_FALSE, BOOL_TRUE, VECTOR_ID, Constructor, Field, TLType, constructors

MAX_DEPTH = 48  # hostile blobs must not exhaust the stack
MAX_SKIP_TRIES = 4096  # cut points tried when bounding an unknown object


class TLError(Exception):
    """Decoding cannot go on at `offset` (the message says why)."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


class UnknownConstructor(TLError):
    def __init__(self, cid: int, expected: str, offset: int) -> None:
        super().__init__(f"unknown constructor 0x{cid:08x} where {expected} was expected", offset)
        self.cid, self.expected = cid, expected


class PrefixOnly(TLError):
    """The layout of this constructor is known only up to a point: what follows cannot be located."""


@dataclass
class Decoded:
    """The result of decoding one blob."""

    value: dict[str, Any] | None  # the top-level object as far as it was read (None: not even its id)
    status: str  # "full" / "partial" / "none"
    constructor: int | None = None
    name: str | None = None
    undecoded: list[str] = field(default_factory=list)  # top-level fields not read
    problem: str | None = None  # why decoding stopped ("" when it did not)
    end: int = 0  # offset after the last byte read as part of the object
    notes: list[str] = field(default_factory=list)  # lossy strings, skipped objects …
    walked_to_end: bool = False  # every field was read or bounded: `end` is the end of the object

    @property
    def hex(self) -> str | None:
        return None if self.constructor is None else f"0x{self.constructor:08x}"


class Reader:
    """Reads TL values from a byte string; every read checks bounds and raises TLError."""

    def __init__(self, data: bytes, pos: int = 0, notes: list[str] | None = None) -> None:
        self.data, self.pos = data, pos
        self.notes = notes if notes is not None else []
        self.depth = 0

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise TLError(f"needs {n} byte(s), {self.remaining()} left", self.pos)
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def uint32(self) -> int:
        return struct.unpack("<I", self.take(4))[0]

    def int32(self) -> int:
        return struct.unpack("<i", self.take(4))[0]

    def int64(self) -> int:
        return struct.unpack("<q", self.take(8))[0]

    def double(self) -> float:
        return struct.unpack("<d", self.take(8))[0]

    def raw_bytes(self) -> bytes:
        start = self.pos
        first = self.take(1)[0]
        if first == 0xFF:
            raise TLError("string length byte 0xFF is not valid TL", start)
        if first == 0xFE:
            length = int.from_bytes(self.take(3), "little")
            header = 4
        else:
            length, header = first, 1
        body = self.take(length)
        padding = (-(header + length)) % 4
        pad = self.take(padding)
        if any(pad):
            raise TLError("string padding is not zero (walk out of step)", start)
        return body

    def string(self) -> str:
        start = self.pos
        body = self.raw_bytes()
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            self.notes.append(f"string at offset {start} is not valid UTF-8; shown with replacement characters")
            return body.decode("utf-8", errors="replace")

    # -- typed reads -------------------------------------------------------------------------------

    def read_type(self, t: TLType) -> Any:
        if t.kind == "prim":
            return self.read_primitive(t.name)
        if t.kind == "vector":
            return self.read_vector(t)
        if t.kind == "bare":
            ctor = next((c for c in constructors().values() if c.name == t.name), None)
            if ctor is None:
                raise TLError(f"bare type {t.name} is not in the constructor table", self.pos)
            return self.read_fields(ctor)
        return self.read_boxed(t.name)

    def read_primitive(self, name: str) -> Any:
        if name == "int":
            return self.int32()
        if name in ("long",):
            return self.int64()
        if name == "#":
            return self.uint32()
        if name == "double":
            return self.double()
        if name == "string":
            return self.string()
        if name == "bytes":
            return self.raw_bytes().hex()
        if name in ("int128", "int256"):
            return self.take(16 if name == "int128" else 32).hex()
        if name == "Bool":
            start = self.pos
            value = self.uint32()
            if value == BOOL_TRUE:
                return True
            if value == BOOL_FALSE:
                return False
            raise TLError(f"0x{value:08x} is not a Bool", start)
        if name == "true":
            return True
        raise TLError(f"primitive {name} unsupported", self.pos)

    def read_vector(self, t: TLType) -> list[Any]:
        assert t.inner is not None
        start = self.pos
        if t.boxed_vector:
            cid = self.uint32()
            if cid != VECTOR_ID:
                raise TLError(f"0x{cid:08x} where a Vector was expected", start)
        count = self.int32()
        # every element takes at least 4 bytes: a larger count means a misread, not a long vector
        if count < 0 or count * 4 > self.remaining():
            raise TLError(f"vector count {count} does not fit in the {self.remaining()} bytes left", start)
        return [self.read_type(t.inner) for _ in range(count)]

    def read_boxed(self, expected: str) -> Any:
        start = self.pos
        cid = self.uint32()
        if expected == "Bool" and cid in (BOOL_TRUE, BOOL_FALSE):
            return cid == BOOL_TRUE
        ctor = constructors().get(cid)
        if ctor is None:
            raise UnknownConstructor(cid, expected, start)
        if ctor.result != expected and expected not in ("Object", "X"):
            raise TLError(f"{ctor.name} ({ctor.hex}) is a {ctor.result}, not a {expected}", start)
        return self.read_fields(ctor)

    def read_fields(self, ctor: Constructor) -> dict[str, Any]:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise TLError("objects nested too deeply", self.pos)
            obj: dict[str, Any] = {"_": ctor.name, "_id": ctor.hex}
            words: dict[str, int] = {}
            for f in ctor.fields:
                read_field(self, f, obj, words)
            if ctor.prefix_only:
                raise PrefixOnly(f"{ctor.name} ({ctor.hex}) is known only up to {ctor.fields[-1].name}", self.pos)
            return obj
        finally:
            self.depth -= 1


def read_field(reader: Reader, f: Field, obj: dict[str, Any], words: dict[str, int]) -> None:
    """Read one field into obj (nothing for an absent conditional field or an unset `true` flag)."""
    if not f.present(words):
        return
    if f.type.kind == "prim" and f.type.name == "#":
        words[f.name] = reader.uint32()
        obj[f.name] = words[f.name]
        return
    obj[f.name] = reader.read_type(f.type)


TailCheck = Callable[[bytes, dict[str, Any]], bool]


def decode(data: bytes, expected: str = "Message", tail_ok: TailCheck | None = None) -> Decoded:
    """Decode one top-level object. `tail_ok(rest, obj)` says whether the bytes after the object are a
    valid client tail; it is used to bound unknown nested objects (see module docstring)."""
    try:
        return _decode(data, expected, tail_ok)
    except Exception as e:  # noqa: BLE001 - a decoder bug must cost one blob, never the file
        return Decoded(None, "none", problem=f"decoder error: {type(e).__name__}: {e}")


def _decode(data: bytes, expected: str, tail_ok: TailCheck | None) -> Decoded:
    notes: list[str] = []
    reader = Reader(data, 0, notes)
    if len(data) < 4:
        return Decoded(None, "none", problem=f"blob of {len(data)} byte(s) holds no constructor id")
    cid = reader.uint32()
    ctor = constructors().get(cid)
    if ctor is None:
        return Decoded(None, "none", cid, problem=f"unknown constructor 0x{cid:08x}", end=4, notes=notes)
    if ctor.result != expected:
        return Decoded(
            None,
            "none",
            cid,
            ctor.name,
            problem=f"{ctor.name} ({ctor.hex}) is a {ctor.result}, not a {expected}",
            end=4,
            notes=notes,
        )
    obj: dict[str, Any] = {"_": ctor.name, "_id": ctor.hex}
    words: dict[str, int] = {}
    fields = ctor.fields
    for i, f in enumerate(fields):
        start = reader.pos
        try:
            read_field(reader, f, obj, words)
        except TLError as e:
            obj.pop(f.name, None)
            skipped = _bound_unknown(data, start, e, fields[i + 1 :], obj, words, tail_ok, notes)
            if skipped is not None:
                return Decoded(obj, "partial", cid, ctor.name, [f.name], _problem(f, e), skipped, notes, True)
            rest = [g.name for g in fields[i:] if _maybe_present(g, words) and g.type.name != "true"]
            return Decoded(obj, "partial", cid, ctor.name, rest, _problem(f, e), start, notes)
    if ctor.prefix_only:
        return Decoded(
            obj,
            "partial",
            cid,
            ctor.name,
            [f"fields after {fields[-1].name}"],
            f"the layout of {ctor.name} ({ctor.hex}) is known only up to {fields[-1].name}",
            reader.pos,
            notes,
        )
    return Decoded(obj, "full", cid, ctor.name, [], None, reader.pos, notes, True)


def _problem(f: Field, e: TLError) -> str:
    return f"field {f.name} ({f.type}) at offset {e.offset}: {e}"


def _maybe_present(f: Field, words: dict[str, int]) -> bool:
    """A field counts as not decoded if it is present, or if its flags word was never read."""
    return f.flag_word is None or f.flag_word not in words or f.present(words)


def _bound_unknown(
    data: bytes,
    start: int,
    error: TLError,
    rest: tuple[Field, ...],
    obj: dict[str, Any],
    words: dict[str, int],
    tail_ok: TailCheck | None,
    notes: list[str],
) -> int | None:
    """Skip an unknown nested object when exactly one cut point lets everything after it be read.

    Returns the end offset of the whole object (or None: the object cannot be bounded). TL data is
    4-byte aligned, so only aligned cut points are tried.
    """
    if not isinstance(error, UnknownConstructor) or tail_ok is None:
        return None
    found: list[tuple[int, dict[str, Any], int]] = []
    tries = 0
    for cut in range(start + 4, len(data) + 1, 4):
        tries += 1
        if tries > MAX_SKIP_TRIES:
            return None
        trial = Reader(data, cut, [])
        part: dict[str, Any] = {}
        trial_words = dict(words)
        try:
            for f in rest:
                read_field(trial, f, part, trial_words)
        except TLError:
            continue
        if tail_ok(data[trial.pos :], {**obj, **part}):
            found.append((cut, part, trial.pos))
            if len(found) > 1:
                return None  # two readings fit: the length is not bounded, nothing is guessed
    if len(found) != 1:
        return None
    cut, part, end = found[0]
    obj.update(part)
    notes.append(
        f"skipped {cut - start} byte(s) of unknown constructor 0x{error.cid:08x} at offset {start} "
        f"(length bounded: one cut point lets the rest of the object and its tail be read)"
    )
    return end
