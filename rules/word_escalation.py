"""Escalation by the words of the conversation: `escalate.with_concepts` (docs/domain/rule_catalogue.md PAY-01).

A rule whose severity depends on what else its conversation says: PAY-01 is LOW for a hawala reference on
its own (remittances to family go the same way) and MEDIUM when the same conversation, within the rule's
`window_hours`, names a vessel, a destination, an embarkation place, an arrival or the crossing. The
pack writes it as the other escalations do:

    severity: LOW
    escalate: {severity: MEDIUM, with_concepts: [vessel, destination_uk, embarkation_place, arrival, crossing]}

The engine (rules/engine.py) calls `raise_with_words` once per rule after its findings are made, as it
calls rules/aggregates.py `raise_with_context`. The words are looked for in every message of the
finding's conversation within the window of its records, not only in the records that met the condition
(a thread hit cites one message per part). Received-only findings keep their cap.

Scale: the rule's pool (the candidate messages, already in memory and in time order) is walked once per
rule to gather the conversations of its findings; each message's lexicon hits are cached by the context.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

from rules.candidates import thread_key
from rules.pack import SEVERITIES, Rule
from rules.primitives import Context, match, record_time
from triage.model.records import Base, Finding, Message

DEFAULT_WINDOW_HOURS = 48  # as the engine's thread scope


def raise_with_words(rule: Rule, hits: list[list[Base]], produced: list[Finding], ctx: Context, tail: str) -> None:
    """Raise each finding to `escalate.severity` when its conversation holds `escalate.with_concepts`.

    `hits[i]` are the records of `produced[i]`; `tail` is the explanation's last sentence (the reason goes
    before it, as the other escalations write theirs)."""
    spec = rule.escalate or {}
    concepts = spec.get("with_concepts")
    target = spec.get("severity")
    if not concepts or not target or not produced:
        return
    window = timedelta(hours=rule.window_hours or DEFAULT_WINDOW_HOURS)
    threads = _conversations(rule, hits, ctx)
    condition = {"lexicon": {"concepts": list(concepts)}}
    for records, finding in zip(hits, produced, strict=True):
        if (finding.extra or {}).get("received_only") or SEVERITIES.index(finding.severity) >= SEVERITIES.index(target):
            continue
        found = _words_near(records, threads, window, condition, ctx)
        if not found:
            continue
        note = (
            f"Severity raised to {target}: the same conversation names {', '.join(found)} within "
            f"{window.total_seconds() / 3600:g} hours."
        )
        finding.severity = target
        finding.explanation = finding.explanation.replace(tail, f"{note} {tail}")
        escalated = [*((finding.extra or {}).get("escalated_by") or []), "with_concepts"]
        finding.extra = {**(finding.extra or {}), "escalated_by": escalated}


def _conversations(rule: Rule, hits: list[list[Base]], ctx: Context) -> dict[str, list[Base]]:
    """The messages of the findings' conversations, from the rule's pool (in time order)."""
    wanted = {thread_key(r) for records in hits for r in records if isinstance(r, Message)}
    out: dict[str, list[Base]] = defaultdict(list)
    if not wanted:
        return out
    for r in ctx.pools.get(tuple(rule.reads), []):
        if isinstance(r, Message) and (key := thread_key(r)) in wanted:
            out[key].append(r)
    return out


def _words_near(
    records: list[Base], threads: dict[str, list[Base]], window: timedelta, condition: dict[str, Any], ctx: Context
) -> list[str]:
    """The concepts found in the records' conversations within `window` of the records, as the report says
    them ("'boat' (vessel)"); empty when none."""
    times = [t for t in (record_time(r) for r in records) if t is not None]
    if not times:
        return []
    start, end = min(times) - window, max(times) + window
    found: list[str] = []
    for key in dict.fromkeys(thread_key(r) for r in records if isinstance(r, Message)):
        for m in threads.get(key, []):
            t = record_time(m)
            if t is None or not start <= t <= end:
                continue
            notes = match(condition, m, ctx)
            if notes:
                found.extend(n.removeprefix("words ") for n in notes)
    return list(dict.fromkeys(found))
