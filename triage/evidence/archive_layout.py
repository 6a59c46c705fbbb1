"""The wrapper folders extraction tools put around a device's file system.

Tools pack a phone's files under a folder of their own: `Dump/data/...`, `filesystem1/private/var/...`,
`fs/...`, `<device name>/data/...`. Parsers look for on-device paths (`/data/data/...`,
`/private/var/mobile/...`), so the wrapper is removed and named in the layer
(`zip x.zip (root 'Dump/')`). A prefix is a wrapper when a known device root (`data/`, `sdcard/`,
`private/var/` …) lies directly under it; a prefix whose own names are device folders
(`sdcard-copy/Android/data`) is not a wrapper, since stripping it would move app storage.
"""

from __future__ import annotations

from collections.abc import Iterable

MAX_WRAPPER_DEPTH = 2  # `Dump/`, `Extraction/filesystem1/`; deeper prefixes are not guessed at
# One-name Android roots and two-name iOS roots that a device file system has at its top.
ANDROID_ROOTS = frozenset({"data", "sdcard", "storage", "media", "system", "vendor", "product", "apex", "cache"})
IOS_ROOTS = frozenset({("private", "var"), ("var", "mobile")})
DEVICE_NAMES = ANDROID_ROOTS | {"Android", "private", "var", "mobile", "0", "emulated", "Library"}


def root_depth(parts: tuple[str, ...]) -> int | None:
    """How many leading names of `parts` come before a device root (0 = none), or None if no root."""
    for k in range(min(MAX_WRAPPER_DEPTH, len(parts) - 1) + 1):
        rest = parts[k:]
        if rest[0] in ANDROID_ROOTS or tuple(rest[:2]) in IOS_ROOTS:
            return k if all(p not in DEVICE_NAMES for p in parts[:k]) else None
        if rest[0] in DEVICE_NAMES:
            return None  # device folders above a root: app storage, not a wrapper
    return None


def wrapper_hint(parts: tuple[str, ...], is_dir: bool) -> tuple[str, ...] | None:
    """The prefix one member suggests (() for "no wrapper"), or None when it suggests nothing.

    A directory member's own name may be the root (`Dump/data/`); a file's name never is.
    """
    names = parts if is_dir else parts[:-1]
    if not names:
        return None
    depth = root_depth(names)
    return None if depth is None else parts[:depth]


def choose_wrapper(members: Iterable[tuple[tuple[str, ...], bool]]) -> tuple[str, ...]:
    """The wrapper of a fully known listing: the first member's hint, kept only if nothing lies elsewhere.

    Top-level files beside the wrapper (a tool's report or hash list) do not count against it.
    """
    members = list(members)
    prefix: tuple[str, ...] | None = None
    for parts, is_dir in members:
        prefix = wrapper_hint(parts, is_dir)
        if prefix is not None:
            break
    if not prefix:
        return ()
    for parts, is_dir in members:
        if not (is_under(parts, prefix) or is_above(parts, prefix) or (len(parts) == 1 and not is_dir)):
            return ()
    return prefix


def is_under(parts: tuple[str, ...], prefix: tuple[str, ...]) -> bool:
    return len(parts) > len(prefix) and parts[: len(prefix)] == prefix


def is_above(parts: tuple[str, ...], prefix: tuple[str, ...]) -> bool:
    """The wrapper folder itself or one of its parents."""
    return len(parts) <= len(prefix) and prefix[: len(parts)] == parts
