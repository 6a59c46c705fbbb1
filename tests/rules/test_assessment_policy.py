"""The assessment policy (docs/domain/assessment.md): categories, caps and the contexts that change the
meaning of indicators (rules/context.py). Hand-built findings test the policy alone; records written as data
run through the real passes (payments from text, the pack, the context recognition) test it end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from rules.assessment import AMBER_MIN_CATEGORIES, RED_MIN_CATEGORIES, assessment
from rules.context import CONTEXT_DATA, MIN_OWN_WORD_MESSAGES, ContextData
from rules.pack import load_pack
from rules.testing import example_watchlists, run_pack
from triage.model.records import Finding

PACK = load_pack()
SENT = {"sent": 1}
RECEIVED = {"received": 1}
OWN = {"own_positions": 1}


def finding(
    rule_id: str,
    severity: str,
    role_hint: str = "journey",
    cited: dict[str, int] | None = None,
    ref: int = 1,
    **extra: Any,
) -> Finding:
    kind = "location" if rule_id.startswith(("GEO", "MED")) else "message"
    return Finding(
        rule_id=rule_id,
        rule_version="1",
        severity=severity,
        title=f"{rule_id} title",
        explanation="hand-built",
        evidence=[{"type": kind, "id": ref}],
        family="",
        extra={"role_hint": role_hint, "cited": cited if cited is not None else OWN, **extra},
    )


def on_the_coast(ref: int = 50) -> Finding:
    """An independent MEDIUM journey indicator: the phone on a beach one night (corroborates; lifts nothing)."""
    return finding("GEO-01", "MEDIUM", cited=OWN, ref=ref, escalated_by=["local_hours_between"])


def cap_names(result: dict[str, Any]) -> list[str]:
    return [c["name"] for c in result["caps"]]


def cap_named(result: dict[str, Any], name: str) -> dict[str, Any]:
    (cap,) = [c for c in result["caps"] if c["name"] == name]
    return cap


# -- the policy on hand-built findings --------------------------------------------------------------
def test_low_findings_alone_are_green_and_stay_listed() -> None:
    result = assessment([finding("GEO-01", "LOW"), finding("TXT-01", "LOW", "any", SENT), finding("MED-01", "LOW")])
    assert result["level"] == "green"
    assert cap_names(result) == ["LOW findings only"]
    assert "LOW GEO-01: GEO-01 title" in result["reasons"] and "LOW MED-01: MED-01 title" in result["reasons"]
    assert result["reasons"][0] == "green: LOW findings only: GEO-01, TXT-01, MED-01"


def test_repeats_of_one_category_do_not_flag_independent_categories_do() -> None:
    coast = [finding("GEO-01", "MEDIUM", ref=1), finding("GEO-03", "MEDIUM", "journey/pilot", ref=2)]
    alone = assessment(coast)
    assert alone["level"] == "green" and cap_names(alone) == ["one kind of journey indicator"]
    assert alone["categories"]["GEO"]["findings"] == 2
    quoted = finding("TXT-02", "MEDIUM", "seller/recruiter", RECEIVED, ref=3)
    two = assessment([*coast, quoted])  # a second, independent kind: a price quote received
    assert AMBER_MIN_CATEGORIES == 2 and two["level"] == "amber" and two["caps"] == []
    assert "independent categories with MEDIUM or HIGH indicators: GEO (position), TXT (words)" in two["reasons"]
    media = finding("MED-06", "MEDIUM", "link", {}, ref=4)
    # three categories, one of them only received: amber, and the received-only cap says so
    received = assessment([*coast, quoted, media])
    assert RED_MIN_CATEGORIES == 3 and received["level"] == "amber"
    assert cap_names(received) == ["received only"] and "(TXT) counted towards amber" in received["caps"][0]["effect"]
    written = finding("TXT-02", "MEDIUM", "seller/recruiter", SENT, ref=5)
    three = assessment([*coast, quoted, media, written])
    assert three["level"] == "red" and three["caps"] == []
    assert three["reasons"][0] == "red: MEDIUM or HIGH indicators in 3 independent categories (GEO, MED, TXT)"


def test_a_medium_indicator_that_is_not_a_journey_indicator_flags_alone() -> None:
    result = assessment([finding("PAY-01", "MEDIUM", "money holder/organiser", SENT)])
    assert result["level"] == "amber" and result["categories"]["PAY"]["name"] == "money"
    # received facilitation content is a journey indicator: alone, one kind, green
    quoted = assessment([finding("TXT-02", "MEDIUM", "seller/recruiter", RECEIVED)])
    assert quoted["level"] == "green" and cap_names(quoted) == ["one kind of journey indicator"]


def test_a_high_journey_indicator_needs_a_second_category_for_red() -> None:
    crossing = [finding("GEO-04", "HIGH", ref=1), finding("GEO-03", "MEDIUM", "journey/pilot", ref=2)]
    reconstructed = finding("COR-01", "HIGH", "", {}, ref=1)
    reconstructed.evidence = [{"type": "location", "id": 1}, {"type": "location", "id": 2}]  # the positions' own
    alone = assessment([*crossing, reconstructed])  # positions only, however many
    assert alone["level"] == "amber" and cap_names(alone) == ["one category only"]
    assert alone["caps"][0]["effect"] == "amber (it would be red)" and "another category" in alone["caps"][0]["lift"]
    quoted = finding("TXT-02", "MEDIUM", "seller/recruiter", RECEIVED, ref=3)
    corroborated = assessment([*crossing, quoted])
    assert corroborated["level"] == "red" and corroborated["caps"] == []
    assert corroborated["reasons"][0] == (
        "red: HIGH journey indicator(s) (GEO-04) corroborated in 2 independent categories (GEO, TXT)"
    )
    # a HIGH facilitation indicator the user wrote needs no second category
    advert = assessment([finding("TXT-10", "HIGH", "advertiser", SENT)])
    assert advert["level"] == "red"
    assert (
        advert["reasons"][0] == "red: HIGH facilitation indicator(s) resting on the device user's own material: TXT-10"
    )


def test_high_findings_resting_only_on_received_material_cannot_make_red() -> None:
    received = finding("TXT-10", "HIGH", "advertiser", RECEIVED)
    result = assessment([received, on_the_coast()])
    assert result["level"] == "amber"
    (cap,) = result["caps"]
    assert cap["name"] == "received only" and "TXT-10" in cap["effect"] and cap["lift"]
    assert "HIGH TXT-10: TXT-10 title (received only)" in result["reasons"]
    assert assessment([finding("TXT-10", "HIGH", "advertiser", SENT), on_the_coast()])["level"] == "red"
    # a composite over received-only findings is received-only too
    composite = finding("COR-02", "HIGH", "organiser/supplier", {}, ref=1)
    assert assessment([received, composite, on_the_coast()])["level"] == "amber"
    assert assessment([finding("TXT-10", "HIGH", "advertiser", SENT), composite, on_the_coast()])["level"] == "red"


def context(kind: str, side: str, ref: int = 99, severity: str = "SPECIAL PROCEDURE") -> Finding:
    return Finding(
        rule_id={"journalism": "CTX-01", "legal": "CTX-02", "humanitarian": "CTX-03"}[kind],
        rule_version="1.0.0",
        severity=severity,
        title=f"{kind} context",
        explanation="hand-built",
        evidence=[{"type": "message", "id": ref}],
        family="safeguarding",
        extra={"context": kind, "side": side, "note": "PACE note"},
    )


def test_a_journalists_own_work_explains_the_indicators_until_an_independent_indicator() -> None:
    reporting = [
        finding("TXT-10", "HIGH", "advertiser", SENT, ref=1),
        finding("TXT-11", "HIGH", "organiser/lookout", SENT, ref=2),
        on_the_coast(),  # one night on a beach: what a reporter does too
    ]
    assert assessment(reporting)["level"] == "red"
    held = assessment([*reporting, context("journalism", "user")])
    assert held["level"] == "green"
    (cap,) = held["caps"]
    assert cap["name"] == "context: journalistic material" and cap["what"] == "TXT-10, TXT-11, GEO-01"
    assert cap["effect"].startswith(
        "green: the indicators are explained by this context and not scored (it would be red)"
    )
    assert "SPECIAL PROCEDURE" in cap["effect"] and "PACE ss.10-14" in cap["why"]
    assert "payment received by the user" in cap["lift"] and cap["context_findings"] == ["CTX-01"]
    assert held["special_procedure"] == [{"rule_id": "CTX-01", "title": "journalism context", "note": "PACE note"}]
    # the findings stay listed, and the decision says what the level would be without the context
    assert held["reasons"][0].startswith("green: indicators explained by the device user's own journalistic material;")
    assert "without it: red" in held["reasons"][0] and "HIGH TXT-10: TXT-10 title" in held["reasons"]
    # an amber is explained the same way: a price the reporter quoted
    quoted = assessment([finding("TXT-02", "MEDIUM", "seller/recruiter", SENT), context("journalism", "user")])
    assert quoted["level"] == "green" and "(it would be amber)" in quoted["caps"][0]["effect"]
    # a journalist in the contacts does not explain what the user wrote
    assert assessment([*reporting, context("journalism", "counterpart")])["level"] == "red"
    for lift, why in [
        (
            finding("PAY-02", "MEDIUM", "payer/receiver", {"received": 1, "payments_received": 1}, ref=3),
            "a payment received",
        ),
        (
            finding("GEO-01", "MEDIUM", cited=OWN, ref=4, escalated_by=["local_hours_between", "distinct_local_dates"]),
            "at night",
        ),
        (finding("TXT-04", "HIGH", "organiser", {"sent": 3}, ref=5), "organising language"),
    ]:
        lifted = assessment([*reporting, context("journalism", "user"), lift])
        assert lifted["level"] == "red", why
        cap = cap_named(lifted, "context: journalistic material")
        assert why in cap["effect"] and cap["lifted_by"]


def test_legal_context_caps_only_when_findings_rest_on_its_material_or_the_user_is_the_adviser() -> None:
    high = [finding("TXT-08", "HIGH", "supplier", SENT, ref=7), on_the_coast()]
    assert assessment([*high, context("legal", "counterpart", ref=99)])["level"] == "red"  # a solicitor in the contacts
    capped = assessment([*high, context("legal", "counterpart", ref=7)])  # the finding cites the legal exchange
    assert capped["level"] == "amber" and "PACE s.10" in capped["caps"][0]["why"]
    # the user's own legal work explains the indicators (a solicitor quoting a client's account)
    own = assessment([*high, context("legal", "user", ref=99)])
    assert own["level"] == "green" and own["caps"][0]["effect"].startswith("green: the indicators are explained")
    # … unless an independent facilitation indicator is present: scored as without the context
    money = finding("PAY-02", "MEDIUM", "payer/receiver", {"received": 1, "payments_received": 1}, ref=3)
    lifted = assessment([*high, money, context("legal", "user", ref=99)])
    assert lifted["level"] == "red"
    assert cap_named(lifted, "context: legal advice")["lifted_by"] == ["a payment received by the user (PAY-02)"]


def test_humanitarian_work_still_holds_red_at_amber_only() -> None:
    """Humanitarian work is not special procedure material: it caps at amber, it does not explain to green
    (docs/domain/assessment.md "Context caps")."""
    high = [finding("TXT-10", "HIGH", "advertiser", SENT, ref=1), on_the_coast()]
    result = assessment([*high, context("humanitarian", "user", severity="DISCLOSURE")])
    assert result["level"] == "amber" and result["caps"][0]["effect"] == "held the level at amber (it would be red)"
    assert result["special_procedure"] == []


def test_context_on_an_amber_phone_is_explained_without_effect() -> None:
    result = assessment(
        [finding("PAY-01", "MEDIUM", "money holder", SENT), context("humanitarian", "user", severity="DISCLOSURE")]
    )
    assert result["level"] == "amber"
    assert result["caps"][0]["effect"] == "no effect: the level is amber without it"
    assert result["flags"] == ["DISCLOSURE CTX-03: humanitarian context"] and result["special_procedure"] == []


def test_old_keys_are_kept() -> None:
    result = assessment([])
    assert {"level", "reasons", "flags", "note", "categories", "caps", "contexts", "special_procedure"} <= set(result)
    assert result["level"] == "green" and result["reasons"] == []


# -- end to end: records through the passes, the pack and the context recognition --------------------
EDITOR = "+447700999888"
SOLICITOR = "+447911123456"


BEACH_ONE_NIGHT = {
    "type": "location",
    "latitude": 51.00731,
    "longitude": 2.10158,
    "origin": "google location history",
    "time": "2025-06-03T01:00:00Z",
}


def reporting_records() -> list[dict[str, Any]]:
    """A reporter who writes out an advert and reports police at a beach, in the words of their own work, and
    was on the beach one night."""
    return [
        BEACH_ONE_NIGHT,
        {
            "type": "message",
            "direction": "outgoing",
            "counterpart": EDITOR,
            "body": "Draft for my editor: they post 'Boat to England 100% safe, departures every day'",
            "time": "2025-06-02T10:00:00Z",
        },
        {
            "type": "message",
            "direction": "outgoing",
            "counterpart": EDITOR,
            "body": "Police left the beach at Gravelines at midnight, it goes in my article",
            "time": "2025-06-03T10:00:00Z",
        },
    ]


def run(records: list[dict[str, Any]]) -> tuple[list[Finding], dict[str, Any]]:
    findings = run_pack(PACK, records, example_watchlists(), extract_payments=True)
    return findings, assessment(findings)


def test_journalist_recognised_from_own_words_explained_to_green_and_lifted_by_money_received() -> None:
    findings, result = run(reporting_records())
    fired = {f.rule_id: f for f in findings}
    assert {"TXT-10", "TXT-11", "GEO-01", "CTX-01"} <= set(fired)
    ctx = fired["CTX-01"]
    assert ctx.severity == "SPECIAL PROCEDURE" and ctx.extra["side"] == "user" and len(ctx.evidence) == 2
    assert "'my editor'" in ctx.explanation and "PACE" in ctx.explanation
    assert fired["TXT-10"].extra["cited"]["sent"] == 1
    assert result["level"] == "green" and result["caps"][0]["name"] == "context: journalistic material"
    assert any(
        r.startswith("cap: context: journalistic material: green: the indicators are explained")
        for r in result["reasons"]
    )
    assert {"TXT-10", "TXT-11"} <= {r.split(":")[0].split(" ")[1] for r in result["reasons"] if r.startswith("HIGH ")}
    assert "prosecutor" in result["special_procedure"][0]["note"]
    money = {
        "type": "message",
        "counterpart": "+355672123456",
        "body": "Western Union MTCN 1234567890 per pagesen",
        "time": "2025-06-04T10:00:00Z",
    }
    findings, lifted = run([*reporting_records(), money])
    (pay,) = [f for f in findings if f.rule_id == "PAY-02"]
    assert pay.extra["cited"]["payments_received"] == 1
    cap = cap_named(lifted, "context: journalistic material")
    assert lifted["level"] == "red" and cap["lifted_by"] == ["a payment received by the user (PAY-02)"]


def test_one_message_in_the_users_words_is_not_enough() -> None:
    assert MIN_OWN_WORD_MESSAGES == 2
    findings, result = run(reporting_records()[:2])
    assert "CTX-01" not in {f.rule_id for f in findings} and result["special_procedure"] == []


def test_legal_advice_recognised_from_a_contact_role_and_a_footer() -> None:
    records: list[dict[str, Any]] = [
        {"type": "contact", "name": "Sarah Jones solicitor", "phone_numbers": ["07911 123456"]},
        {
            "type": "message",
            "counterpart": SOLICITOR,
            "body": "About your appeal hearing next week. Privileged and confidential.",
            "time": "2025-06-02T10:00:00Z",
        },
        {"type": "message", "counterpart": "+33612345678", "body": "See you at dinner", "time": "2025-06-02T11:00:00Z"},
    ]
    findings, result = run(records)
    (legal,) = [f for f in findings if f.rule_id == "CTX-02"]
    assert legal.severity == "SPECIAL PROCEDURE" and legal.extra["side"] == "counterpart"
    assert [e["type"] for e in legal.evidence] == ["contact", "message"]  # the other message is not cited
    assert "contact 'Sarah Jones solicitor' saved with 'solicitor'" in legal.explanation
    (note,) = result["special_procedure"]
    assert note["rule_id"] == "CTX-02" and "PACE s.10" in note["note"] and "prosecutor" in note["note"]
    assert result["level"] == "green" and result["flags"] == []  # never scored; listed apart from the flags


def test_ngo_work_recognised_from_an_organisation_domain_and_an_account() -> None:
    records: list[dict[str, Any]] = [
        {"type": "contact", "name": "Anna", "emails": ["anna@dunkerque.utopia56.org"]},
        {"type": "account", "app": "gmail", "identifier": "reporter@bbc.co.uk"},
    ]
    findings, result = run(records)
    by_id = {f.rule_id: f for f in findings}
    assert by_id["CTX-03"].severity == "DISCLOSURE" and "Utopia 56" in by_id["CTX-03"].explanation
    assert by_id["CTX-01"].extra["side"] == "user"  # the device's own account at a newsroom
    assert result["flags"] == ["DISCLOSURE CTX-03: Humanitarian or NGO work"]
    assert result["contexts"] == ["humanitarian", "journalism"]


def test_a_victim_indicator_received_caps_red_at_amber() -> None:
    records = [
        *reporting_records()[:2],  # a night on a beach and an advert written out (TXT-10, HIGH) …
        {
            "type": "message",
            "counterpart": "+33612345678",
            "body": "You owe us, you will work to pay",
            "time": "2025-06-05T10:00:00Z",
        },  # … by someone who is told they owe their smugglers
    ]
    findings, result = run(records)
    assert {"TXT-10", "SAF-01"} <= {f.rule_id for f in findings}
    assert result["level"] == "amber" and cap_names(result) == ["context: victim indicators"]


def test_context_entries_name_their_source_and_reason(tmp_path: Path) -> None:
    data = ContextData()
    assert data.organisation_of("someone@news.bbc.co.uk") == ("journalism", "BBC")
    assert data.organisation_of("someone@example.org") is None
    doc = yaml.safe_load(CONTEXT_DATA.read_text(encoding="utf-8"))
    del doc["organisations"][0]["source"]
    broken = tmp_path / "context.yaml"
    broken.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError, match="lacks source or reason"):
        ContextData(broken)
