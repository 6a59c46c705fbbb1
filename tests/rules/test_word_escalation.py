"""`escalate.with_concepts` (rules/word_escalation.py): a finding raised when its conversation, within the rule's
window, names the given concepts (docs/domain/rule_catalogue.md PAY-01). Real messages from an in-memory case
store, the pack's own lexicon."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rules.engine import INDICATOR_NOTE, load_pack
from rules.examples import load_records
from rules.primitives import Context, record_time
from rules.watchlist import Watchlists
from rules.word_escalation import raise_with_words
from triage.model.records import Finding, Message

PACK = load_pack()
CROSSING_CONTEXT = ["vessel", "destination_uk", "embarkation_place", "arrival", "crossing"]
RULE = replace(
    PACK.rule("PAY-01"),
    severity="LOW",
    window_hours=24,
    escalate={"severity": "MEDIUM", "with_concepts": CROSSING_CONTEXT},
)
FAMILY = "+93791234567"


def msg(body: str, time: str, counterpart: str = FAMILY, direction: str = "outgoing") -> dict[str, Any]:
    return {"type": "message", "direction": direction, "counterpart": counterpart, "body": body, "time": time}


def raised(records: list[dict[str, Any]], rule: Any = RULE) -> Finding:
    """The hawala message (the first record) as a LOW finding, after the escalation."""
    store = load_records(records)
    try:
        messages = sorted(store.all(Message), key=lambda m: (record_time(m), m.id))
        ctx = Context(PACK.zones, PACK.lexicon, Watchlists())
        ctx.pools[tuple(rule.reads)] = messages
        hawala = next(m for m in messages if m.body == records[0]["body"])
        finding = Finding(
            rule_id=rule.id,
            rule_version=rule.version,
            severity=rule.severity,
            title=rule.title,
            explanation=f"{rule.title}: 1 record(s). {INDICATOR_NOTE}",
            evidence=[{"type": "message", "id": hawala.id}],
            family=rule.family,
            extra={"role_hint": rule.role_hint},
        )
        raise_with_words(rule, [[hawala]], [finding], ctx, INDICATOR_NOTE)
        return finding
    finally:
        store.close()


def test_a_remittance_home_stays_low() -> None:
    finding = raised(
        [
            msg("I sent 300 pounds through the hawala, code 4512, tell mother", "2025-10-03T18:30:00Z"),
            msg("Received, thank you", "2025-10-04T06:00:00Z", direction="incoming"),
        ]
    )
    assert finding.severity == "LOW" and "escalated_by" not in (finding.extra or {})
    assert finding.explanation.endswith(INDICATOR_NOTE) and "Severity raised" not in finding.explanation


def test_crossing_context_in_the_same_conversation_within_the_window_raises_to_medium() -> None:
    finding = raised(
        [
            msg("The money is with the hawala office", "2025-05-10T10:00:00Z"),
            msg("He takes the boat from Dunkirk tonight", "2025-05-10T20:00:00Z", direction="incoming"),
        ]
    )
    assert finding.severity == "MEDIUM" and finding.extra["escalated_by"] == ["with_concepts"]
    assert "Severity raised to MEDIUM: the same conversation names" in finding.explanation
    assert "(vessel" in finding.explanation and "(embarkation_place" in finding.explanation
    assert finding.explanation.endswith(INDICATOR_NOTE)


def test_context_outside_the_window_or_in_another_conversation_does_not_count() -> None:
    later = raised(
        [
            msg("The money is with the hawala office", "2025-05-10T10:00:00Z"),
            msg("My cousin wants to come to England by boat", "2025-05-12T15:00:00Z", direction="incoming"),
        ]
    )
    assert later.severity == "LOW"  # two days later: outside the 24 hours of the rule's window
    elsewhere = raised(
        [
            msg("The money is with the hawala office", "2025-05-10T10:00:00Z"),
            msg("Boat to England tonight", "2025-05-10T12:00:00Z", counterpart="+33612345678", direction="incoming"),
        ]
    )
    assert elsewhere.severity == "LOW"  # another conversation


def test_a_rule_without_with_concepts_is_left_alone() -> None:
    plain = replace(RULE, escalate={"severity": "MEDIUM", "any_of": {"distinct_local_dates": 2}})
    finding = raised(
        [
            msg("The money is with the hawala office", "2025-05-10T10:00:00Z"),
            msg("He takes the boat from Dunkirk tonight", "2025-05-10T20:00:00Z", direction="incoming"),
        ],
        rule=plain,
    )
    assert finding.severity == "LOW"
