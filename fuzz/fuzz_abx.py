"""Fuzz the Android Binary XML reader (`parsers.abx.elements`).

Input: the bytes of a settings file. Contract (abx.py): a damaged stream raises AbxError (which
the device-info parser turns into a warning naming the file); anything else escaping `elements` is
a crash. A result must also be well formed: a list of (tag text, {name text: text or None}).
"""

from __future__ import annotations

import sys

from harness import instrumented, main

with instrumented(["parsers.abx"]):
    from parsers.abx import AbxError, elements


def check_one(data: bytes) -> None:
    try:
        found = elements(data)
    except AbxError:
        return
    for tag, attributes in found:
        if not isinstance(tag, str) or not all(isinstance(k, str) for k in attributes):
            raise AssertionError(f"element {tag!r} is not text")
        if not all(v is None or isinstance(v, str) for v in attributes.values()):
            raise AssertionError(f"element {tag!r} has a value that is not text")


if __name__ == "__main__":
    main(check_one)
    sys.exit(0)
