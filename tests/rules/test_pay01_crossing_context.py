"""PAY-01 through the real pack and passes: a hawala reference is LOW alone, MEDIUM with crossing context in
the same conversation (docs/domain/rule_catalogue.md PAY-01; rules/word_escalation.py)."""

from __future__ import annotations

from typing import Any

from rules.assessment import assessment
from rules.engine import load_pack
from rules.testing import example_watchlists, run_pack

PACK = load_pack()
BROTHER = "+93791234567"


def msg(body: str, time: str, direction: str = "outgoing") -> dict[str, Any]:
    return {"type": "message", "direction": direction, "counterpart": BROTHER, "body": body, "time": time}


def pay01(records: list[dict[str, Any]]) -> tuple[Any, dict[str, Any]]:
    findings = run_pack(PACK, records, example_watchlists(), extract_payments=True)
    (found,) = [f for f in findings if f.rule_id == "PAY-01"]
    return found, assessment(findings)


def test_a_remittance_home_is_listed_low_and_does_not_flag_the_phone() -> None:
    found, result = pay01(
        [msg("I sent 300 pounds through the hawala office, code 4512, tell mother", "2025-10-03T18:30:00Z")]
    )
    assert found.severity == "LOW" and "escalated_by" not in found.extra
    assert result["level"] == "green" and result["caps"][0]["name"] == "LOW findings only"


def test_crossing_context_in_the_conversation_makes_it_medium() -> None:
    found, result = pay01(
        [
            msg("I sent 300 pounds through the hawala office, code 4512", "2025-10-03T18:30:00Z"),
            msg("He goes on the boat from Dunkirk tonight", "2025-10-03T20:00:00Z", direction="incoming"),
        ]
    )
    assert found.severity == "MEDIUM" and found.extra["escalated_by"] == ["with_concepts"]
    assert "Severity raised to MEDIUM: the same conversation names" in found.explanation
    assert result["level"] == "amber"
