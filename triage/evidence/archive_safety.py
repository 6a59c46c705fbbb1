"""Member names and sizes an archive may not be trusted with.

An archive is written by whoever made it, and a hostile one names members `../../etc/passwd`,
`/etc/passwd` or `C:\\Windows\\x`, uses bytes that are not UTF-8, or declares sizes that would fill
the examiner's disk. Nothing here writes anything; these functions turn a stored name into a safe
in-evidence path (lexically resolved, clamped at the archive root, like a careful extractor) and
say what they changed, so the reader can record a warning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

BOMB_FLOOR = 1 << 20  # a member no bigger than 1 MiB is never a bomb, whatever its ratio
STREAM_FLOOR = 64 << 20  # nor is a compressed tar stream no longer than 64 MiB
_DRIVE = re.compile(r"^[A-Za-z]:$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class SafeName:
    parts: tuple[str, ...]  # path components, safe to show and to join with "/"
    problems: tuple[str, ...]  # what was wrong with the stored name (empty when nothing)


def safe_name(name: str, backslash_separates: bool = False) -> SafeName:
    """The stored member name as path components that cannot leave the archive root.

    `name` may carry surrogate escapes (tar names that are not UTF-8); they are shown as \\xNN.
    `backslash_separates` is for zip, whose names use "/" only (APPNOTE 4.4.17) but whose Windows
    writers sometimes use "\\"; in tar a backslash is an ordinary character of a POSIX name.
    """
    problems: list[str] = []
    # separators first: the backslash of a \\xNN escape made below is text, never a separator
    separated = name.replace("\\", "/") if backslash_separates else name
    shown = display_name(separated)
    if shown != separated:
        problems.append("name is not valid UTF-8 (bytes shown as \\xNN)")
    if _CONTROL.search(shown):
        problems.append("name contains control characters (shown as \\xNN)")
        shown = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", shown)
    if separated != name:
        problems.append("name uses '\\' as separator (read as '/')")
    raw_parts = shown.split("/")
    if shown.startswith("/"):
        problems.append("absolute name (leading '/' removed)")
    elif raw_parts and _DRIVE.match(raw_parts[0]):
        problems.append(f"absolute Windows name (drive '{raw_parts[0]}' removed)")
        raw_parts = raw_parts[1:]
    parts: list[str] = []
    climbed = False
    for part in raw_parts:
        if part in ("", "."):
            continue
        if part == "..":
            climbed = True
            if parts:
                parts.pop()
            continue
        parts.append(part)
    if climbed:
        problems.append("name contains '..' (resolved inside the archive, never above its root)")
    return SafeName(tuple(parts), tuple(problems))


def display_name(name: str) -> str:
    """A name decoded with surrogateescape, its undecodable bytes shown as \\xNN (UTF-8 kept)."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


@dataclass(frozen=True)
class Limits:
    """The examiner's limits on what an archive may claim (from OpenOptions)."""

    max_expansion_ratio: float
    max_total_bytes: int

    def member_refusal(self, size: int, packed: int | None) -> str | None:
        """Why a member of `size` bytes stored in `packed` bytes must not be read, or None."""
        if size > self.max_total_bytes:
            return f"declares {size} bytes, more than the limit of {self.max_total_bytes} (max_total_bytes); not read"
        if packed is not None and size > BOMB_FLOOR and size > self.max_expansion_ratio * max(packed, 1):
            return (
                f"would expand {size / max(packed, 1):.0f}x ({packed} → {size} bytes), more than the "
                f"limit of {self.max_expansion_ratio:g}x (max_expansion_ratio); not read (zip bomb?)"
            )
        return None

    def total_refusal(self, total: int) -> str | None:
        """Why members past a running total of `total` declared bytes must not be read, or None."""
        if total > self.max_total_bytes:
            return (
                f"the archive's declared sizes pass the limit of {self.max_total_bytes} bytes "
                f"(max_total_bytes) at this member; not read"
            )
        return None

    def stream_refusal(self, unpacked: int, packed: int) -> str | None:
        """Why a compressed tar stream must not be inflated past `unpacked` bytes, or None."""
        if unpacked > self.max_total_bytes:
            return f"the tar stream passes the limit of {self.max_total_bytes} bytes (max_total_bytes)"
        if unpacked > STREAM_FLOOR and unpacked > self.max_expansion_ratio * max(packed, 1):
            return (
                f"the tar stream would expand more than {self.max_expansion_ratio:g}x its compressed "
                f"size of {packed} bytes (max_expansion_ratio; gzip bomb?)"
            )
        return None
