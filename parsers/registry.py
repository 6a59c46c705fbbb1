"""Every concrete parser, registered when its class is defined (`Parser.__init_subclass__`).

Adding a parser is one new file anywhere under `parsers/`: `parsers/__init__.py` imports every module
of the package (`import_all`, folders and files in sorted order), and each parser class that sets a
`name` registers itself here. `ALL_PARSERS` is built from `parser_classes()`.

Order rule: parsers run in ascending `order`, ties broken by `name`. Order matters only for a file
that several parsers read (msgstore.db: `whatsapp_android`, then `whatsapp_payments`): the first
reader's records get the lower ids, and `SourceFile.parser` lists the readers in this order. The
established parsers carry spaced numbers (10, 20, …) that keep the order the pipeline has always used,
so record ids do not move; a new parser that leaves `order` unset (DEFAULT_ORDER) runs after them.
Neither the import order of modules nor the file system decides it.

Tests that define a parser use `isolated()`: the parser is registered while the block runs (listed by
`triage parsers` and the catalogue) and gone after it, so it never leaks into other tests.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from parsers.base import Parser

DEFAULT_ORDER = 1000
PACKAGE = "parsers"
_classes: dict[str, type[Parser]] = {}


def register(cls: type[Parser]) -> None:
    """Record a concrete parser class; two different classes may not share a name."""
    known = _classes.get(cls.name)
    if known is not None and _where(known) != _where(cls):
        raise ValueError(
            f"two parsers are named {cls.name!r}: {_where(known)} and {_where(cls)}; a parser's name "
            "must be unique (it names the parser in warnings and in SourceFile.parser)"
        )
    _classes[cls.name] = cls  # the same class defined again (a module reloaded) replaces itself


def unregister(name: str) -> None:
    """Forget a parser (tests); a name that is not registered is an error, not a silent no-op."""
    if name not in _classes:
        raise KeyError(f"no parser named {name!r} is registered")
    del _classes[name]


def parser_classes() -> tuple[type[Parser], ...]:
    """The registered parser classes in run order (module docstring: ascending `order`, then `name`)."""
    return tuple(sorted(_classes.values(), key=lambda c: (c.order, c.name)))


def parsers() -> tuple[Parser, ...]:
    """One instance of each registered parser, in run order."""
    return tuple(cls() for cls in parser_classes())


@contextmanager
def isolated() -> Iterator[None]:
    """For tests: parsers defined inside the block are registered while it runs and removed after it."""
    saved = dict(_classes)
    try:
        yield
    finally:
        _classes.clear()
        _classes.update(saved)


def import_all() -> None:
    """Import every module of the package, so that every parser class is defined (and so registered)."""
    for name in module_names():
        importlib.import_module(name)


def module_names() -> list[str]:
    """Dotted names of the package's modules, from its files (sorted; data folders skipped)."""
    root = Path(__file__).resolve().parent
    names = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if d != "__pycache__")
        if not (Path(folder) / "__init__.py").is_file():
            if any(f.endswith(".py") for f in files):
                raise ImportError(
                    f"{folder} holds Python files but no __init__.py: its parsers would never be "
                    "registered; add an __init__.py (a docstring saying what the folder reads)"
                )
            continue  # a data folder (telegram/data)
        parts = [PACKAGE, *Path(folder).relative_to(root).parts]
        names += [
            ".".join(parts + [f[:-3]])
            for f in sorted(files)
            if f.endswith(".py") and f != "__init__.py" and f != "__main__.py"
        ]
    return names


def _where(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"
