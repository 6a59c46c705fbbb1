"""The plain text of an iOS/macOS Messages `attributedBody` (a typedstream NSAttributedString),
decoded with pytypedstream. Returns None (and the caller warns) when the archive is not usable."""

from __future__ import annotations

import typedstream


def attributed_text(blob: bytes | None) -> str | None:
    if not blob:
        return None
    try:
        root = typedstream.unarchive_from_data(blob)
        value = root.contents[0].value.value
    except Exception:  # noqa: BLE001 - a damaged archive is reported by the caller, never guessed at
        return None
    return value if isinstance(value, str) else None
