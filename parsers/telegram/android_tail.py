"""The client-local bytes Telegram for Android writes after a message's TL object
(docs/formats/telegram.md "TL encoding").

`writeAttachPath` appends a TL string: the local media path, `" "` when there is none, or for
unsent/legacy messages a `||key|=|value||…` parameter list; when the message was forwarded
(flags.2) and its id is negative, an int32 `fwd_msg_id` follows.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from parsers.telegram.tl import Reader, TLError


@dataclass(frozen=True)
class Tail:
    attach_path: str | None
    fwd_msg_id: int | None
    problem: str | None  # None when the tail is exactly one valid attachPath (+ fwd_msg_id)


def _plausible_path(text: str) -> bool:
    return text in (" ", "") or text.startswith("/") or text.startswith("||")


def read_tail(rest: bytes, message: dict[str, Any]) -> Tail:
    """Read the tail; `problem` says what did not fit (then nothing in it is trusted)."""
    if not rest:
        return Tail(None, None, None)  # some writers (secret chats, very old rows) append nothing
    reader = Reader(rest)
    try:
        raw = reader.raw_bytes()
    except TLError as e:
        return Tail(None, None, f"{len(rest)} trailing byte(s) are not an attachPath string ({e})")
    try:
        path = raw.decode("utf-8")
    except UnicodeDecodeError:
        return Tail(None, None, f"{len(rest)} trailing byte(s): attachPath is not valid UTF-8")
    fwd = None
    flags, mid = message.get("flags", 0), message.get("id", 0)
    if flags & 4 and isinstance(mid, int) and mid < 0 and reader.remaining() >= 4:
        fwd = struct.unpack("<i", reader.take(4))[0]
    if reader.remaining():
        return Tail(path, fwd, f"{reader.remaining()} byte(s) after the attachPath are not accounted for")
    if not _plausible_path(path):
        return Tail(None, None, f"trailing string {path[:40]!r} does not look like an attachPath")
    return Tail(path, fwd, None)


def tail_ok(rest: bytes, message: dict[str, Any]) -> bool:
    """For the decoder's bounding of unknown objects: the bytes are exactly a valid client tail."""
    return bool(rest) and read_tail(rest, message).problem is None
