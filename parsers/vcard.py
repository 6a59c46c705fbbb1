"""vCards shared in chats (WhatsApp contact cards, .vcf files) into Contact fields, through vobject.

WhatsApp writes `TEL;waid=<digits>:` — the number's WhatsApp account, always international — so a
card with a national-format number still says which country it belongs to; both forms are kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import vobject


@dataclass
class CardContact:
    name: str | None
    phone_numbers: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    organisation: str | None = None


def read_vcards(text: str) -> tuple[list[CardContact], str | None]:
    """The cards in `text`, and a reason when (part of) it could not be read."""
    cards: list[CardContact] = []
    try:
        for component in vobject.readComponents(text, ignoreUnreadable=True):
            cards.append(_card(component))
    except Exception as e:  # noqa: BLE001 - vobject raises ParseError and others on damaged cards
        return cards, f"vCard not fully readable ({type(e).__name__}: {e})"
    return cards, None


def _card(component: vobject.base.Component) -> CardContact:
    contents = component.contents
    name = _first(contents, "fn") or _structured_name(contents)
    numbers: list[str] = []
    for tel in contents.get("tel", []):
        numbers.append(str(tel.value).strip())
        for waid in tel.params.get("WAID", []):
            numbers.append("+" + waid.strip())
    emails = [str(e.value).strip() for e in contents.get("email", [])]
    org = contents.get("org")
    organisation = " ".join(org[0].value) if org and isinstance(org[0].value, list) else (_first(contents, "org"))
    return CardContact(name, list(dict.fromkeys(n for n in numbers if n)), emails, organisation or None)


def _first(contents: dict, key: str) -> str | None:
    items = contents.get(key)
    return str(items[0].value).strip() or None if items else None


def _structured_name(contents: dict) -> str | None:
    items = contents.get("n")
    if not items:
        return None
    n = items[0].value
    parts = [getattr(n, k, "") for k in ("prefix", "given", "additional", "family", "suffix")]
    text = " ".join(" ".join(p) if isinstance(p, list) else p for p in parts if p).strip()
    return text or None
