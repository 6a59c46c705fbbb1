"""The constructor table of the TL decoder: ids, names, field order and result types.

Built when first needed, not at import (parsing ~1,400 schema lines costs tens of milliseconds, which
every `triage` start would pay even for a phone without Telegram), from the published schema
(`data/telegram_api_layer.tl`, layer 190) and from the older-layer constructors that Telegram for Android
still has in its database (`tl_legacy.py`, same TL syntax). Constructors are keyed on their 32-bit id,
never on their name: the client and the published schema name some legacy classes differently
(docs/formats/telegram.md "Message constructors").
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path

from parsers.telegram.tl_legacy import LEGACY_CONSTRUCTORS

SCHEMA_FILE = Path(__file__).parent / "data" / "telegram_api_layer.tl"
SCHEMA_LAYER = "190"
PRIMITIVES = {"int", "long", "double", "int128", "int256", "string", "bytes", "Bool", "true", "#"}
VECTOR_ID = 0x1CB5C415
BOOL_TRUE, BOOL_FALSE = 0x997275B5, 0xBC799737

_LINE = re.compile(r"^\s*([A-Za-z_][\w.]*)#([0-9a-fA-F]{1,8})\s*(.*?)=\s*([\w.<> %]+?)\s*;\s*$")
_FIELD = re.compile(r"^([\w]+):(?:(\w+)\.(\d+)\?)?(.+)$")
_GENERIC = re.compile(r"\{[^}]*\}")


@dataclass(frozen=True)
class TLType:
    """A field type: `kind` is prim / vector / boxed / bare; `inner` is the element type of a vector."""

    kind: str
    name: str
    inner: TLType | None = None
    boxed_vector: bool = True  # `Vector<T>` carries its constructor id; `vector<T>` does not

    def __str__(self) -> str:
        if self.kind == "vector":
            return f"{'Vector' if self.boxed_vector else 'vector'}<{self.inner}>"
        return self.name


@dataclass(frozen=True)
class Field:
    name: str
    type: TLType
    flag_word: str | None = None  # "flags" / "flags2" for a conditional field
    bit: int | None = None

    def present(self, words: dict[str, int]) -> bool:
        if self.flag_word is None or self.bit is None:  # _FIELD sets both or neither
            return True
        return bool(words.get(self.flag_word, 0) >> self.bit & 1)


@dataclass(frozen=True)
class Constructor:
    id: int
    name: str
    fields: tuple[Field, ...]
    result: str  # the boxed type it belongs to ("Message", "Peer" …)
    layer: str  # "190" for the published schema, else the client layer it was last used in
    prefix_only: bool = False  # only the leading fields are known: decoding stops after them

    @property
    def hex(self) -> str:
        return f"0x{self.id:08x}"


def parse_type(text: str) -> TLType:
    text = text.strip().lstrip("%")
    m = re.fullmatch(r"([Vv]ector)<(.+)>", text)
    if m:
        return TLType("vector", "vector", parse_type(m.group(2)), boxed_vector=m.group(1) == "Vector")
    if text in PRIMITIVES:
        return TLType("prim", text)
    last = text.rsplit(".", 1)[-1]
    # a type whose name starts with a lower-case letter is a bare constructor (no id on the wire)
    return TLType("bare" if last[:1].islower() else "boxed", text)


def parse_line(line: str, layer: str, prefix_only: bool = False) -> Constructor | None:
    """One `name#id field:type … = Result;` line, or None for comments, blanks and generics."""
    line = line.split("//", 1)[0].strip()
    m = _LINE.match(line)
    if not m:
        return None
    name, cid, body, result = m.groups()
    if name == "vector":
        return None  # vectors are read natively
    fields = []
    for token in _GENERIC.sub(" ", body).split():
        f = _FIELD.match(token)
        if not f or f.group(4).startswith("!"):
            return None  # a function-style generic: not a stored object
        fname, word, bit, ftype = f.groups()
        fields.append(Field(fname, parse_type(ftype), word, int(bit) if bit is not None else None))
    return Constructor(int(cid, 16), name, tuple(fields), result.strip(), layer, prefix_only)


def parse_schema(text: str, layer: str) -> list[Constructor]:
    out = []
    for line in text.splitlines():
        if line.startswith("---functions---"):
            break  # RPC methods are never stored
        ctor = parse_line(line, layer)
        if ctor is not None:
            out.append(ctor)
    return out


def build_table() -> dict[int, Constructor]:
    table: dict[int, Constructor] = {}
    for ctor in parse_schema(SCHEMA_FILE.read_text(encoding="utf-8"), SCHEMA_LAYER):
        table[ctor.id] = ctor
    for line, layer, prefix_only in LEGACY_CONSTRUCTORS:
        legacy = parse_line(line, layer, prefix_only)
        if legacy is None:
            raise ValueError(f"tl_legacy.py: cannot parse {line!r}")
        table.setdefault(legacy.id, legacy)  # the published schema wins where both list an id
    return table


_TABLE: dict[int, Constructor] | None = None  # built on first use; None until then (tests check it stays so)
_BY_NAME: dict[str, Constructor] = {}
_TABLE_LOCK = threading.Lock()  # parsers may run in threads: the table is built once


def constructors() -> dict[int, Constructor]:
    """The constructor table keyed on id, built on the first call."""
    global _TABLE
    if _TABLE is None:
        with _TABLE_LOCK:
            if _TABLE is None:
                table = build_table()
                for ctor in sorted(table.values(), key=lambda c: (c.layer != SCHEMA_LAYER, c.id)):
                    _BY_NAME.setdefault(ctor.name, ctor)
                _TABLE = table
    return _TABLE


def table_loaded() -> bool:
    """Whether the constructor table has been built in this process."""
    return _TABLE is not None


def __getattr__(name: str) -> object:
    # `CONSTRUCTORS` and `BY_NAME` stay importable names, built when first looked up
    if name == "CONSTRUCTORS":
        return constructors()
    if name == "BY_NAME":
        constructors()
        return _BY_NAME
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def constructor_named(name: str, layer: str | None = None) -> Constructor:
    """The constructor called `name` (the layer-190 one unless `layer` picks a legacy entry)."""
    table = constructors()
    if layer is None:
        return _BY_NAME[name]
    for ctor in table.values():
        if ctor.name == name and ctor.layer == layer:
            return ctor
    raise KeyError(f"{name} (layer {layer})")
