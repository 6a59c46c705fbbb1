"""Fuzz the typedstream (NSAttributedString) reader: `parsers.sms.attributed_body.attributed_text`,
which wraps pytypedstream (the library is instrumented too: it does the decoding).

Input: an `attributedBody` blob as iOS/macOS Messages stores it. Contract (attributed_body.py): the
text, or None when the archive is not usable (the iOS SMS parser then warns and keeps the plain
`text` column); it never raises. A crash is any exception, a result that is neither str nor None,
or (libFuzzer's own checks) a stall or a memory blow-up inside the library.
"""

from __future__ import annotations

import sys

from harness import instrumented, main

with instrumented(["typedstream", "parsers.sms.attributed_body"]):
    from parsers.sms.attributed_body import attributed_text


def check_one(data: bytes) -> None:
    text = attributed_text(data)
    if text is not None and not isinstance(text, str):
        raise AssertionError(f"attributed_text returned {type(text).__name__}")


if __name__ == "__main__":
    main(check_one)
    sys.exit(0)
