"""Telegram peer and dialog ids as Telegram for Android stores them (docs/formats/telegram.md
"Files and tables", "Peers and dialog ids")."""

from __future__ import annotations

from typing import Any

SECRET_BIT = 1 << 62  # DialogObject: encrypted dialogs have bit 62 set and bit 63 clear
FOLDER_BIT = 1 << 61
OLD_SECRET_DB_VERSION = 84  # databases older than this stored secret chats as enc_id << 32


def dialog_key(did: int, db_version: int | None = None) -> tuple[str, int]:
    """(kind, id) of a dialog id: user, chat (basic group), channel, secret or folder."""
    if did < 0:
        # basic groups and channels are both stored negated; the chats table tells them apart
        return "chat", -did
    if did & SECRET_BIT and not did & (1 << 63):
        return "secret", did & 0xFFFFFFFF
    if did & FOLDER_BIT:
        return "folder", did & 0xFFFFFFFF
    if db_version is not None and db_version < OLD_SECRET_DB_VERSION and did >> 32 and not did & 0xFFFFFFFF:
        return "secret", did >> 32
    return "user", did


def peer_key(peer: Any) -> str | None:
    """'user:ID' / 'chat:ID' / 'channel:ID' for a decoded Peer object (32- or 64-bit), else None."""
    if not isinstance(peer, dict):
        return None
    for kind in ("user", "chat", "channel"):
        if f"{kind}_id" in peer:
            return f"{kind}:{peer[f'{kind}_id']}"
    return None
