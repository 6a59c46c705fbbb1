"""A parser's `path_matches` (one compiled expression per parser) says what fnmatch.fnmatchcase on the
lower-cased path and patterns says, for every parser and a path made from every pattern of every parser."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from parsers import ALL_PARSERS


@dataclass
class Entry:
    path: str


def _paths_from(pattern: str) -> list[str]:
    """Paths a pattern should and should not match: its wildcards filled in, upper-cased, cut, extended."""
    filled = pattern.replace("*", "x/y.z").replace("?", "q").replace("[", "").replace("]", "")
    return [filled, filled.upper(), filled[:-1], filled + ".bak", "/" + filled.lstrip("/"), filled + "\n"]


def test_path_matches_agrees_with_fnmatch_for_every_parser() -> None:
    paths = {p for parser in ALL_PARSERS for pattern in parser.path_patterns for p in _paths_from(pattern)}
    paths |= {"", "/", "/data/data/com.whatsapp/databases/msgstore.db-wal", "/x/[weird].db", "/DCIM/IMG_1.JPG"}
    checked = matched = 0
    for parser in ALL_PARSERS:
        for path in sorted(paths):
            expected = any(fnmatch.fnmatchcase(path.lower(), p.lower()) for p in parser.path_patterns)
            assert parser.path_matches(Entry(path)) is expected, (parser.name, path)
            checked, matched = checked + 1, matched + expected
    assert checked > 1000 and matched > 50  # the paths exercise both answers
