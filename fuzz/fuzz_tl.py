"""Fuzz the Telegram TL decoder (`parsers.telegram.tl.decode`) and the client-tail reader.

Input: one byte that picks the boxed type the caller expects (as the cache4.db parser asks for
Message / User / Chat / EncryptedChat), then the blob. Contract (tl.py): `decode` never raises and
never invents; so a crash here is any exception, and also a result that breaks the contract:
- a "decoder error: …" problem (the decoder's last-resort net caught a bug: one blob lost);
- a status other than full / partial / none, `end` beyond the blob, a full decode not walked to
  its end, or a partial one that names no undecoded field.
The tail reader (`android_tail.read_tail`) must not raise either: it runs on the bytes after a
Message, as the parser does.
"""

from __future__ import annotations

import sys

from harness import instrumented, main

with instrumented(["parsers.telegram"]):
    from parsers.telegram.android_tail import read_tail, tail_ok
    from parsers.telegram.tl import decode

EXPECTED = ("Message", "User", "Chat", "EncryptedChat", "MessageMedia", "MessageAction", "Peer", "Document")


def check_one(data: bytes) -> None:
    if not data:
        return
    expected = EXPECTED[data[0] % len(EXPECTED)]
    blob = data[1:]
    got = decode(blob, expected, tail_ok if expected == "Message" else None)
    if got.problem and got.problem.startswith("decoder error:"):
        raise AssertionError(f"decoder bug caught by its safety net: {got.problem}")
    if got.status not in ("full", "partial", "none"):
        raise AssertionError(f"unknown status {got.status!r}")
    if not 0 <= got.end <= len(blob):
        raise AssertionError(f"end {got.end} outside a blob of {len(blob)} bytes")
    if got.status == "full" and not got.walked_to_end:
        raise AssertionError("a full decode that did not walk to its end")
    if got.status == "partial" and not got.undecoded:
        raise AssertionError(f"partial decode without undecoded fields ({got.problem})")
    if got.status == "none" and got.value is not None:
        raise AssertionError("status none with a value")
    if expected == "Message" and got.value is not None:
        read_tail(blob[got.end :], got.value)


if __name__ == "__main__":
    main(check_one)
    sys.exit(0)
