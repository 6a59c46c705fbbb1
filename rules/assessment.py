"""The triage priority of a run: red, amber or green, "not examined" when nothing could be read. A policy of
the rules, not of the report: the rule tests and `triage rules eval` score with it as a run does. The
policy, its thresholds and its caps are written down in docs/domain/assessment.md; each name below is one
of its terms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from triage.model.records import Finding

SCORED = ("HIGH", "MEDIUM", "LOW")
FLAGS = ("SAFEGUARDING", "DISCLOSURE")  # never scored, always listed under `flags` (unchanged since 1.0)
SPECIAL_PROCEDURE = "SPECIAL PROCEDURE"  # journalistic or legal material (docs/domain/legal.md "PACE ss.10–14")
LEVELS = ("red", "amber", "green", "not examined")
NOT_EXAMINED = "not examined"

# The kinds of indicator, by the rule id's prefix: independent sources of information about the phone.
CATEGORIES = {
    "GEO": "position",
    "TXT": "words",
    "PAY": "money",
    "PHN": "counterparts",
    "MED": "media",
    "APP": "apps",
    "COR": "composite",  # built from the others: it never counts as one more independent category
}
# Thresholds (docs/domain/assessment.md "The policy"): starting values, set during validation.
AMBER_MIN_CATEGORIES = 2  # journey indicators (MEDIUM or HIGH) flag a phone from two independent categories
RED_MIN_CATEGORIES = 3  # MEDIUM or HIGH indicators in three independent categories make red without a HIGH
HIGH_RED_CATEGORIES = 2  # a HIGH journey indicator makes red when MEDIUM or HIGH indicators span two categories
JOURNEY = "journey"  # a role hint naming the journey (being there, crossing), not facilitating it
CONTEXT_CAP = "amber"  # the highest level a recognised context allows without independent indicators
# the level when the user's own special-procedure work (journalism, legal work, research) explains the indicators
EXPLAINED = "green"
# Independent facilitation indicators that lift a context cap (docs/domain/assessment.md "Context caps").
ORGANISING_RULES = ("TXT-03", "TXT-04", "TXT-05", "GEO-07")  # arranging departures, written or sent by the user
NIGHT_LAUNCH_RULES = ("GEO-04", "GEO-05")  # rules whose condition needs the phone on a launch beach at night
# a GEO finding escalated for both says the phone was there at night and on several days; one dawn visit is
# what reporters, researchers and volunteers also make
NIGHT_ESCALATIONS = ("local_hours_between", "distinct_local_dates")
NOTE = (
    "Priority for examination, not a finding of fact. Green means no rule fired on what could be read, or "
    "that what fired does not meet the policy's thresholds (the findings stay listed); it does not clear "
    "the device. Indicators are machine output for review by an examiner."
)


@dataclass(frozen=True)
class Coverage:
    """How much of the evidence the parsers read: without it a silent phone and an unread one look alike."""

    selected: int | None  # files a parser claimed by path or header (custody 'files selected for parsing')
    sources: int  # files a parser started on (SourceFile records)
    parsed: int  # of them, files a parser read, even when they held no record (an empty database)
    records: int  # records read from them
    warnings: int

    @property
    def examined(self) -> bool:
        return self.parsed > 0

    def why_not_examined(self) -> str:
        """The reason the report gives when nothing could be examined (empty when something was)."""
        if self.examined:
            return ""
        if self.selected == 0:
            return (
                f"no file in the evidence was recognised by a parser (0 files selected for parsing, 0 parsed, "
                f"{self.warnings} warning(s)); check the warnings and that the evidence is an extraction in a "
                "supported format"
            )
        selected = "" if self.selected is None else f"{self.selected} file(s) selected for parsing, "
        return (
            f"no file in the evidence could be parsed ({selected}{self.sources} opened by a parser, 0 parsed, "
            f"{self.warnings} warning(s)); see 'Parse warnings and what was not parsed'"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "files_selected": self.selected,
            "files_opened": self.sources,
            "files_parsed": self.parsed,
            "records": self.records,
            "warnings": self.warnings,
        }


@dataclass(frozen=True)
class Weighed:
    """One scored finding as the policy sees it."""

    finding: Finding
    category: str  # GEO, TXT, PAY … (CATEGORIES)
    journey: bool  # its rule's role hint names the journey, or it rests only on received material
    received_only: bool  # every record it cites was received by the user (none is the user's own)
    weight: str  # its severity after the received-only cap

    @property
    def line(self) -> str:
        return f"{self.finding.severity} {self.finding.rule_id}: {self.finding.title}"


def assessment(findings: list[Finding], read: Coverage | None = None) -> dict[str, Any]:
    """Red/amber/green from the findings by the policy of docs/domain/assessment.md; flags listed, never scored.

    The result keeps `level`, `reasons` (why: the decision, the categories, each cap, then every scored
    finding), `flags`, `note` and, with `read`, `coverage` and `not_examined`; it adds `categories` (the
    independent kinds of indicator found), `caps` (each cap: what it held, why, what would lift it, its
    effect), `contexts` and `special_procedure` (journalistic or legal material, PACE ss.10–14: never scored,
    listed apart from `flags`, whose meaning is unchanged). When no
    file could be read the level is "not examined", never green. `read` None (rule tests): the findings alone.
    """
    weighed = _weigh(findings)
    caps: list[dict[str, Any]] = []
    level, decision = _level(weighed, caps)
    level, decision = _context_caps(findings, weighed, level, decision, caps)
    if level == "green" and not weighed and read is not None and not read.examined:
        level = NOT_EXAMINED
    categories = _categories(weighed)
    strong = [c for c, v in categories.items() if v["counts"] and c != "COR"]
    reasons = [f"{level}: {decision}"] if weighed else []
    if strong:
        reasons.append(
            "independent categories with MEDIUM or HIGH indicators: "
            + ", ".join(f"{c} ({CATEGORIES.get(c, c)})" for c in strong)
        )
    reasons += [f"cap: {c['name']}: {c['effect']}" for c in caps]
    reasons += list(dict.fromkeys(w.line + (" (received only)" if w.received_only else "") for w in _ordered(weighed)))
    flags = list(dict.fromkeys(f"{f.severity} {f.rule_id}: {f.title}" for f in findings if f.severity in FLAGS))
    result: dict[str, Any] = {
        "level": level,
        "reasons": reasons,
        "flags": flags,
        "note": NOTE,
        "categories": categories,
        "caps": caps,
        "contexts": sorted({_context_of(f) for f in findings if _context_of(f)}),
        "special_procedure": [
            {"rule_id": f.rule_id, "title": f.title, "note": _note_of(f)}
            for f in findings
            if f.severity == SPECIAL_PROCEDURE
        ],
    }
    if read is not None:
        result["coverage"] = read.to_json()
        result["not_examined"] = read.why_not_examined() if level == NOT_EXAMINED else ""
        if level == NOT_EXAMINED:
            result["reasons"] = [f"nothing could be examined: {result['not_examined']}"]
            result["note"] = (
                "Not examined: no rule had anything to run on, so this says nothing about the device, "
                "neither for nor against. Indicators are machine output for review by an examiner."
            )
    return result


# -- the scored findings ---------------------------------------------------------------------------
def _weigh(findings: list[Finding]) -> list[Weighed]:
    scored = [f for f in findings if f.severity in SCORED]
    plain = [f for f in scored if _category(f) != "COR"]
    out = []
    for f in scored:
        composite = _category(f) == "COR"
        received = _composite_received_only(f, plain) if composite else _received_only(f)
        weight = "MEDIUM" if f.severity == "HIGH" and received else f.severity
        # received facilitation content (a price list, an advert) is a journey indicator (rule_catalogue.md)
        journey = _composite_journey(f, plain) if composite else _journey(f) or received
        out.append(Weighed(f, _category(f), journey, received, weight))
    return out


def _journey(f: Finding) -> bool:
    return JOURNEY in str((f.extra or {}).get("role_hint") or "")


def _composite_journey(composite: Finding, plain: list[Finding]) -> bool:
    """A composite is a journey indicator when every finding it draws on (sharing its records) is one."""
    refs = _refs(composite)
    under = [f for f in plain if _refs(f) & refs and f.severity in ("HIGH", "MEDIUM")]
    return bool(under) and all(_journey(f) or _received_only(f) for f in under)


def _category(f: Finding) -> str:
    prefix = f.rule_id.split("-")[0].upper()
    return prefix if prefix in CATEGORIES else (f.family or prefix).upper()


def _received_only(f: Finding) -> bool:
    """Every cited record was received (messages, pins others sent) and none is the user's own; findings
    made before the engine counted whose the records are fall back on its `received_only` mark."""
    extra = f.extra or {}
    cited = extra.get("cited")
    if not isinstance(cited, dict):
        return bool(extra.get("received_only"))
    own = sum(cited.get(k, 0) for k in ("sent", "own_positions", "sent_positions"))
    received = sum(cited.get(k, 0) for k in ("received", "received_positions"))
    return received > 0 and own == 0


def _composite_received_only(composite: Finding, plain: list[Finding]) -> bool:
    """A composite rests only on received material when every finding it draws on (sharing its records) does."""
    refs = _refs(composite)
    under = [f for f in plain if _refs(f) & refs]
    return bool(under) and all(_received_only(f) for f in under)


def _refs(f: Finding) -> set[tuple[Any, Any]]:
    return {(e.get("type"), e.get("id")) for e in f.evidence or [] if isinstance(e, dict)}


def _ordered(weighed: list[Weighed]) -> list[Weighed]:
    return [w for s in SCORED for w in weighed if w.finding.severity == s]


def _level(weighed: list[Weighed], caps: list[dict[str, Any]]) -> tuple[str, str]:
    """The level before any context cap, and the sentence that says why."""
    strong = [w for w in weighed if w.weight in ("HIGH", "MEDIUM")]
    independent = sorted({w.category for w in strong if w.category != "COR"})
    own = sorted({w.category for w in strong if w.category != "COR" and not w.received_only})
    _received_only_cap(weighed, independent, own, caps)
    high = [w for w in strong if w.weight == "HIGH"]
    facilitating = [w for w in high if not w.journey]
    if facilitating:
        return "red", "HIGH facilitation indicator(s) resting on the device user's own material: " + _ids(facilitating)
    if high and len(independent) >= HIGH_RED_CATEGORIES:
        return "red", (
            "HIGH journey indicator(s) ("
            + _ids(high)
            + f") corroborated in {len(independent)} independent categories ({', '.join(independent)})"
        )
    if len(own) >= RED_MIN_CATEGORIES:
        return "red", f"MEDIUM or HIGH indicators in {len(own)} independent categories ({', '.join(own)})"
    if high:
        caps.append(
            {
                "name": "one category only",
                "what": _ids(high),
                "why": f"the HIGH journey indicators rest on one category of information ({', '.join(independent)}): "
                "a journey seen in one source only (positions alone: ferries, yachts and lorries cross the same "
                "water) needs corroboration from an independent category to be red",
                "lift": "a MEDIUM or HIGH indicator in another category (position, words, money, counterparts, "
                "media, apps), or a HIGH facilitation indicator of the user's own",
                "effect": "amber (it would be red)",
            }
        )
        return "amber", "HIGH journey indicator(s) in one category only: " + _ids(high)
    facilitation = [w for w in strong if not w.journey]
    if facilitation:
        return "amber", "MEDIUM indicator(s) that are not journey indicators: " + _ids(facilitation)
    if len(independent) >= AMBER_MIN_CATEGORIES:
        return "amber", f"journey indicators in {len(independent)} independent categories ({', '.join(independent)})"
    if strong:
        caps.append(
            {
                "name": "one kind of journey indicator",
                "what": _ids(strong),
                "why": f"MEDIUM journey indicators of one category only ({', '.join(independent)}): repeats of one "
                "kind (positions on a coast many people live on, visit or work at) are not independent "
                "indicators",
                "lift": f"a MEDIUM or HIGH indicator in another category (at least {AMBER_MIN_CATEGORIES} "
                "independent categories), or any MEDIUM indicator that is not a journey indicator",
                "effect": "green (the findings stay listed)",
            }
        )
        return "green", "journey indicators of one category only: " + _ids(strong)
    if weighed:
        caps.append(
            {
                "name": "LOW findings only",
                "what": _ids(weighed),
                "why": "LOW findings are context (ordinary words, a single visit): alone they never make a phone amber",
                "lift": "a MEDIUM or HIGH indicator",
                "effect": "green (the findings stay listed)",
            }
        )
        return "green", "LOW findings only: " + _ids(weighed)
    return "green", "no rule fired"


def _received_only_cap(
    weighed: list[Weighed], independent: list[str], own: list[str], caps: list[dict[str, Any]]
) -> None:
    """Received material cannot make the phone red alone: a HIGH finding resting only on it weighs as MEDIUM,
    and a category resting only on it counts towards amber, not towards red."""
    effects = []
    capped = sorted({w.finding.rule_id for w in weighed if w.weight != w.finding.severity})
    if capped:
        effects.append("HIGH findings weighed as MEDIUM: " + ", ".join(capped))
    only_received = [c for c in independent if c not in own]
    if only_received and len(independent) >= RED_MIN_CATEGORIES > len(own):
        effects.append(
            f"categories resting only on received material ({', '.join(only_received)}) counted towards amber, "
            f"not towards the {RED_MIN_CATEGORIES} independent categories of a red"
        )
    if effects:
        caps.append(
            {
                "name": "received only",
                "what": ", ".join(capped + only_received),
                "why": "every record these findings cite was received by the device user, none sent or made by "
                "them: received content is not authored content and cannot make the phone red alone",
                "lift": "the same kind of content sent by the user, or an independent indicator of the user's own "
                "in another category",
                "effect": "; ".join(effects),
            }
        )


def _ids(weighed: list[Weighed]) -> str:
    return ", ".join(dict.fromkeys(w.finding.rule_id for w in weighed))


def _categories(weighed: list[Weighed]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for w in weighed:
        entry = out.setdefault(
            w.category,
            {"name": CATEGORIES.get(w.category, w.category.lower()), "rules": [], "findings": 0, "counts": False},
        )
        entry["findings"] += 1
        entry["rules"] = sorted({*entry["rules"], w.finding.rule_id})
        entry["counts"] = entry["counts"] or w.weight in ("HIGH", "MEDIUM")  # towards independent categories
        entry["received_only"] = entry.get("received_only", True) and w.received_only
    return dict(sorted(out.items()))


# -- context caps ----------------------------------------------------------------------------------
CONTEXT_NAMES = {
    "journalism": "journalistic material",
    "legal": "legal advice",
    "humanitarian": "humanitarian or NGO work",
    "research": "confidential research material",
    "victim": "victim indicators",
}


def _context_of(f: Finding) -> str:
    kind = str((f.extra or {}).get("context") or "")
    if kind == "victim_support" or (f.rule_id == "SAF-01" and _received_only(f)):
        return "victim"
    return kind


def _note_of(f: Finding) -> str:
    """The handling note the context data gives its kind (rules/data/context.yaml `kinds`)."""
    return str((f.extra or {}).get("note") or "")


def _context_caps(
    findings: list[Finding], weighed: list[Weighed], level: str, decision: str, caps: list[dict[str, Any]]
) -> tuple[str, str]:
    """The level and its decision after the recognised contexts (docs/domain/assessment.md "Context caps").

    First the user's own special-procedure work (journalism, legal work, research): without an independent
    facilitation indicator it explains the indicators, which stay listed but do not score (EXPLAINED).
    Then every other context that explains the indicators holds the level at CONTEXT_CAP. Independent
    facilitation indicators lift both: the phone is scored as if no context were recognised."""
    lifts = _independent_facilitation(weighed)
    cited = set().union(*(_refs(w.finding) for w in weighed)) if weighed else set()
    found = _contexts(findings)
    own_work = {kind: f for kind, f in found.items() if _own_special_procedure(f)}
    if own_work:
        level, decision = _explained(own_work, weighed, level, decision, lifts, caps)
    for kind, kind_findings in found.items():
        if kind in own_work:
            continue
        why = _context_applies(kind, kind_findings, cited)
        if not why:
            continue
        cap = {
            "name": f"context: {CONTEXT_NAMES.get(kind, kind)}",
            "what": "the level (at most amber)",
            "why": why,
            "lift": LIFT,
            "context_findings": sorted({f.rule_id for f in kind_findings}),
        }
        if level != "red":
            cap["effect"] = f"no effect: the level is {level} without it"
        elif lifts:
            cap["effect"] = "not applied: independent facilitation indicators are present (" + "; ".join(lifts) + ")"
            cap["lifted_by"] = lifts
        else:
            cap["effect"] = f"held the level at {CONTEXT_CAP} (it would be red)"
        caps.append(cap)
        if level == "red" and not lifts:
            level = CONTEXT_CAP
    return level, decision


LIFT = (
    "independent facilitation indicators: a payment received by the user; the phone's own position on a launch "
    "beach at night; organising language written by the user"
)


def _own_special_procedure(found: list[Finding]) -> bool:
    """A special-procedure context (journalism, legal work, research: PACE ss.10-14) shown by the user's own
    words, accounts or signature: the user's work, not a journalist or a solicitor among the contacts."""
    return any(f.severity == SPECIAL_PROCEDURE and (f.extra or {}).get("side") == "user" for f in found)


def _explained(
    own_work: dict[str, list[Finding]],
    weighed: list[Weighed],
    level: str,
    decision: str,
    lifts: list[str],
    caps: list[dict[str, Any]],
) -> tuple[str, str]:
    """The user's own special-procedure work explains the indicators unless an independent facilitation
    indicator is present: the level is EXPLAINED, the findings stay listed, the SPECIAL PROCEDURE material
    is listed apart (`special_procedure`) for the prosecutor."""
    names = ", ".join(CONTEXT_NAMES.get(k, k) for k in own_work)
    scored = [w for w in weighed if w.weight in ("HIGH", "MEDIUM")]
    for kind, kind_findings in own_work.items():
        cap = {
            "name": f"context: {CONTEXT_NAMES.get(kind, kind)}",
            "what": _ids(scored) if scored else "the level",
            "why": f"the device user's own words, accounts or signature show {CONTEXT_NAMES.get(kind, kind)}: "
            "writing about, quoting, asking about and being near the crossings is that work, and the material "
            "is special procedure material (PACE ss.10-14)",
            "lift": LIFT,
            "context_findings": sorted({f.rule_id for f in kind_findings}),
        }
        if lifts:
            cap["effect"] = "not applied: independent facilitation indicators are present (" + "; ".join(lifts) + ")"
            cap["lifted_by"] = lifts
        elif level in (EXPLAINED, NOT_EXAMINED):
            cap["effect"] = f"no effect: the level is {level} without it"
        else:
            cap["effect"] = (
                f"{EXPLAINED}: the indicators are explained by this context and not scored (it would be {level}); "
                "they stay listed, and the material is flagged SPECIAL PROCEDURE"
            )
        caps.append(cap)
    if lifts or level in (EXPLAINED, NOT_EXAMINED):
        return level, decision
    return EXPLAINED, f"indicators explained by the device user's own {names}; without it: {level}, {decision}"


def _contexts(findings: list[Finding]) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    for f in findings:
        kind = _context_of(f)
        if kind:
            out.setdefault(kind, []).append(f)
    return dict(sorted(out.items()))


def _context_applies(kind: str, found: list[Finding], cited: set[tuple[Any, Any]]) -> str:
    """Why the context holds the level at amber, or "" when it does not (the flag stays either way). The user's
    own special-procedure work is explained before this (`_explained`); the branches for the user's own
    journalism, research or legal work remain for a kind whose flag rules/data/context.yaml sets otherwise."""
    mine = any((f.extra or {}).get("side") == "user" for f in found)
    if kind in ("journalism", "humanitarian", "research"):
        return (
            f"the device user's own words, accounts or messages show {CONTEXT_NAMES[kind]}, which explains "
            "writing about, asking about and being near the crossings"
            if mine
            else ""
        )
    if kind == "legal":
        if mine:
            return (
                "the device user's own words or accounts show legal work: legally privileged material cannot "
                "be relied on"
            )
        if any(_refs(f) & cited for f in found):
            return "findings cite messages with a legal adviser, which may be legally privileged (PACE s.10)"
        return ""
    if kind == "victim":
        return "the device holds indicators that the user may be a victim (threats, debt, exploitation received)"
    return ""


def _independent_facilitation(weighed: list[Weighed]) -> list[str]:
    """The indicators a context does not explain, each said in words (docs/domain/assessment.md)."""
    found = []
    for w in weighed:
        f, cited = w.finding, (w.finding.extra or {}).get("cited") or {}
        if w.weight not in ("HIGH", "MEDIUM"):
            continue
        if cited.get("payments_received"):
            found.append(f"a payment received by the user ({f.rule_id})")
        escalated = set((f.extra or {}).get("escalated_by") or [])
        own_at_night = (
            w.category == "GEO"
            and cited.get("own_positions")
            and (f.rule_id in NIGHT_LAUNCH_RULES or escalated >= set(NIGHT_ESCALATIONS))
        )
        if own_at_night:
            found.append(f"the phone's own position on a launch beach at night ({f.rule_id})")
        if f.rule_id in ORGANISING_RULES and (cited.get("sent") or cited.get("sent_positions")):
            found.append(f"organising language written by the user ({f.rule_id})")
    return list(dict.fromkeys(found))
