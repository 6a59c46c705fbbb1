"""APP-01: the device user's role in a group or channel whose name speaks of crossings
(docs/domain/rule_catalogue.md "APP-01").

The parsers record each group or channel the user belongs to as a Contact with `extra.peer_type` (group,
channel, megagroup) and `extra.own_role` (owner, admin, member, left, removed): WhatsApp from the user's
own row of msgstore.db's participant tables, Telegram from the flags of the chat object in cache4.db.
Two record-level primitives read them, and one escalation condition raises a member's LOW to HIGH for
an owner or admin:

- `group_lexicon: {concepts: [...], min_confidence: M}` — the group's name (and description, where the
  app keeps one) holds lexicon terms of these concepts;
- `group_role: {roles: [...]}` — the user's role is one of these;
- escalate `any_of: {own_role: [owner, admin]}` — the reason is said in the finding.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from rules.lexicon import CONFIDENCE_ORDER
from triage.model.records import Base, Contact

if TYPE_CHECKING:
    from rules.primitives import Context

GROUP_KINDS = ("group", "channel", "megagroup")
DESCRIPTION_KEYS = ("description", "about")  # where a parser keeps a group's own description, when it reads one


def group_extra(record: Base) -> dict[str, Any] | None:
    """The group facts of a Contact that stands for a group or channel, else None."""
    if not isinstance(record, Contact):
        return None
    extra = record.extra or {}
    return extra if extra.get("peer_type") in GROUP_KINDS else None


def group_text(name: str | None, extra: dict[str, Any]) -> str:
    """What the lexicon reads of a group: its name, and its description where the app keeps one."""
    parts = [name or ""] + [str(extra[k]) for k in DESCRIPTION_KEYS if isinstance(extra.get(k), str)]
    return "\n".join(p for p in parts if p)


def group_lexicon(spec: dict, record: Base, ctx: Context) -> list[str] | None:
    extra = group_extra(record)
    if extra is None or not isinstance(record, Contact):
        return None
    text = group_text(record.name, extra)
    floor = CONFIDENCE_ORDER[spec.get("min_confidence", "M")]
    wanted = set(spec.get("concepts", []))
    hits = [h for h in ctx.lexicon.match(text) if h.concept in wanted and CONFIDENCE_ORDER[h.confidence] >= floor]
    if not hits:
        return None
    shown = ctx.lexicon.normalised(text)
    words = ", ".join(dict.fromkeys(f"'{shown[h.start : h.end]}' ({h.concept}, {h.confidence})" for h in hits))
    return [f"its name holds {words}"]


def group_role(spec: dict, record: Base, ctx: Context) -> list[str] | None:
    extra = group_extra(record)
    if extra is None:
        return None
    role = extra.get("own_role")
    if role not in spec.get("roles", []):
        return None
    name = record.name if isinstance(record, Contact) else None
    return [f"{extra['peer_type']} '{name}': the device user is {'a ' if role == 'member' else ''}{role} of it"]


def role_reasons(roles: Iterable[str], records: Iterable[Base]) -> list[str]:
    """Escalation: the user is one of `roles` (owner, admin) of a cited group or channel."""
    wanted = set(roles)
    held = sorted({str(e["own_role"]) for r in records if (e := group_extra(r)) and e.get("own_role") in wanted})
    return [f"the device user is {' and '.join(held)} of the group or channel"] if held else []


GROUP_PRIMITIVES = {"group_lexicon": group_lexicon, "group_role": group_role}
