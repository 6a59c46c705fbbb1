"""Android Binary XML (ABX), the format Android 12+ writes its settings and package XML in.

Facts from AOSP `BinaryXmlSerializer` / `FastDataOutput`: the file starts with `ABX\\0`; then a stream of
tokens, one byte each = (value type << 4) | event, big-endian numbers. Strings are a u16 byte length +
(modified) UTF-8; an "interned" string is a u16 index into the strings seen so far, or 0xFFFF followed
by a new string that joins the table. Attributes (event 15) follow their START_TAG.

`elements(data)` returns every element as (tag, attributes) in document order, values as text the way
the plain-XML form writes them; text nodes are ignored (settings files have none). A damaged stream
raises AbxError with the byte offset.
"""

from __future__ import annotations

import base64
import struct

MAGIC = b"ABX\x00"
START_DOCUMENT, END_DOCUMENT, START_TAG, END_TAG, TEXT, ATTRIBUTE = 0, 1, 2, 3, 4, 15
(
    TYPE_NULL,
    TYPE_STRING,
    TYPE_STRING_INTERNED,
    TYPE_BYTES_HEX,
    TYPE_BYTES_BASE64,
    TYPE_INT,
    TYPE_INT_HEX,
    TYPE_LONG,
    TYPE_LONG_HEX,
    TYPE_FLOAT,
    TYPE_DOUBLE,
    TYPE_BOOLEAN_TRUE,
    TYPE_BOOLEAN_FALSE,
) = range(1, 14)
NEW_INTERNED = 0xFFFF


class AbxError(ValueError):
    """The bytes are not a readable ABX document."""


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, len(MAGIC)
        self.interned: list[str] = []

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise AbxError(f"ABX stream ends inside a value at byte {self.pos} (truncated file?)")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt: str) -> int | float:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def utf(self) -> str:
        start = self.pos
        raw = self.take(int(self.unpack(">H")))
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return _modified_utf8(raw, start)

    def interned_utf(self) -> str:
        index = int(self.unpack(">H"))
        if index == NEW_INTERNED:
            text = self.utf()
            self.interned.append(text)
            return text
        if index >= len(self.interned):
            raise AbxError(f"ABX interned string {index} at byte {self.pos - 2} was never defined")
        return self.interned[index]

    def value(self, vtype: int) -> str | None:
        """An attribute value as its plain-XML text."""
        if vtype == TYPE_NULL:
            return None
        if vtype == TYPE_STRING:
            return self.utf()
        if vtype == TYPE_STRING_INTERNED:
            return self.interned_utf()
        if vtype in (TYPE_BYTES_HEX, TYPE_BYTES_BASE64):
            raw = self.take(int(self.unpack(">H")))
            return raw.hex().upper() if vtype == TYPE_BYTES_HEX else base64.b64encode(raw).decode()
        if vtype in (TYPE_INT, TYPE_INT_HEX):
            number = int(self.unpack(">i"))
            return format(number & 0xFFFFFFFF, "x") if vtype == TYPE_INT_HEX else str(number)
        if vtype in (TYPE_LONG, TYPE_LONG_HEX):
            number = int(self.unpack(">q"))
            return format(number & 0xFFFFFFFFFFFFFFFF, "x") if vtype == TYPE_LONG_HEX else str(number)
        if vtype == TYPE_FLOAT:
            return repr(self.unpack(">f"))
        if vtype == TYPE_DOUBLE:
            return repr(self.unpack(">d"))
        if vtype in (TYPE_BOOLEAN_TRUE, TYPE_BOOLEAN_FALSE):
            return "true" if vtype == TYPE_BOOLEAN_TRUE else "false"
        raise AbxError(f"unknown ABX value type {vtype} at byte {self.pos - 1}")


def _modified_utf8(raw: bytes, start: int) -> str:
    """Java's modified UTF-8: U+0000 as C0 80, characters beyond U+FFFF as two encoded surrogates.

    Bytes that are not even that (a damaged page, a file that is not ABX past its magic) are damage:
    AbxError, so the caller warns instead of showing text that was never written.
    """
    try:
        # C0 is never valid in UTF-8, so C0 80 cannot be part of another character
        text = raw.replace(b"\xc0\x80", b"\x00").decode("utf-8", "surrogatepass")
    except UnicodeDecodeError as e:
        raise AbxError(f"ABX string at byte {start} is not (modified) UTF-8 ({e.reason}); damaged file?") from None
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def elements(data: bytes) -> list[tuple[str, dict[str, str | None]]]:
    """Every element (tag, attributes) of an ABX document, in document order."""
    if not data.startswith(MAGIC):
        raise AbxError("not Android Binary XML (no ABX\\0 magic)")
    reader = _Reader(data)
    found: list[tuple[str, dict[str, str | None]]] = []
    while reader.pos < len(data):
        token = data[reader.pos]
        reader.pos += 1
        event, vtype = token & 0x0F, token >> 4
        if event == ATTRIBUTE:
            if not found:
                raise AbxError(f"ABX attribute before any element at byte {reader.pos - 1}")
            name = reader.interned_utf()
            found[-1][1][name] = reader.value(vtype)
        elif event == START_TAG:
            found.append((reader.interned_utf(), {}))
        elif event == END_TAG:
            reader.interned_utf()
        elif event in (START_DOCUMENT, END_DOCUMENT):
            reader.value(vtype)
        elif event <= 10:  # text, CDATA, comments …: a value of its own type, not needed here
            reader.value(vtype)
        else:
            raise AbxError(f"unknown ABX event {event} at byte {reader.pos - 1}")
    return found
