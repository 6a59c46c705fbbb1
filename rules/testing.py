"""`triage rules test` (every rule's own examples) and `triage rules eval` (labelled scenarios).

Both run the whole pack on records written as data, so composite rules see the findings they build on.
A scenario file is JSON: {"scenarios": [{"name", "role", "language", "class", "lookalike_of",
"expected": [rule ids], "records": [...]}]}; rules not listed in `expected` are expected not to fire.
`class` is "facilitator", "journey" or "innocent" (older files: `decoy: true` reads as innocent, a
passenger as journey, anything else as facilitator); `language` is an ISO 639 code and `lookalike_of`
names the facilitator kind an innocent resembles.

The evaluation reports precision and recall per rule, per language and overall, the red/amber/green
outcome per class and per language, and an acceptance line: every facilitator red, every journey
flagged (amber or red), no innocent red and at most one in ten amber. Language is reporting only: it
never enters a rule or the assessment (docs/domain/rule_catalogue.md "Guardrails").
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rules.assessment import assessment
from rules.examples import describer, load_records
from rules.pack import RulePack
from rules.watchlist import Watchlists
from triage.model.records import Finding
from triage.run.passes import PassInput, run_passes

# The watch-list the examples use (PHN-04): one advert number.
EXAMPLE_WATCHLIST_ROWS = [
    {"kind": "phone", "value": "+447400123456", "label": "advert number (example)"},
    {
        "kind": "sha256",
        "value": "5f3c8a4c1c7f3f0e6c6f6ab0bb0b8e9d6e0d2b1f9a4e7c3d2a1b0c9d8e7f6a5b",
        "label": "advert image (example)",
    },
]


@dataclass
class ExampleResult:
    rule_id: str
    kind: str  # positive / negative
    index: int
    passed: bool
    fired: list[str]


def run_pack(
    pack: RulePack, records: list[dict[str, Any]], watchlists: Watchlists | None = None, extract_payments: bool = False
) -> list[Finding]:
    """The pack over records written as data; with `extract_payments`, payments are read from the text
    as in a real run (scenarios) instead of being written by hand (rule examples)."""
    store = load_records(records)
    steps = ("payments extracted", "rules evaluated") if extract_payments else ("rules evaluated",)
    given = PassInput(store, pack, watchlists, describe=describer(store))
    try:
        run_passes(given, only=steps)  # the run's own passes (triage/run/passes.py), not a second implementation
        return given.findings
    finally:
        store.close()


def example_watchlists() -> Watchlists:
    lists = Watchlists()
    from rules.watchlist import key_of

    for row, entry in enumerate(EXAMPLE_WATCHLIST_ROWS, start=2):
        lists.entries[key_of(entry["value"], entry["kind"])] = {
            "kind": entry["kind"],
            "list": "examples",
            "row": str(row),
            "label": entry["label"],
        }
    return lists


def run_examples(pack: RulePack) -> list[ExampleResult]:
    results = []
    watchlists = example_watchlists()
    for rule in pack.rules:
        for kind in ("positive", "negative"):
            for index, example in enumerate(rule.examples.get(kind, []) or []):
                records = example["records"] if isinstance(example, dict) and "records" in example else [example]
                fired = sorted({f.rule_id for f in run_pack(pack, records, watchlists)})
                passed = (rule.id in fired) == (kind == "positive")
                results.append(ExampleResult(rule.id, kind, index, passed, fired))
    return results


@dataclass
class RuleScore:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    def as_json(self) -> dict[str, Any]:
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
        }


CLASSES = ("facilitator", "journey", "innocent")
LEVELS = ("red", "amber", "green")
# look-alike innocents: at most one in ten amber (an amber for every coast-dweller hides the real red)
MAX_INNOCENT_AMBER_SHARE = 0.10


@dataclass
class Evaluation:
    per_rule: dict[str, RuleScore] = field(default_factory=dict)
    overall: RuleScore = field(default_factory=RuleScore)
    scenarios: list[dict[str, Any]] = field(default_factory=list)
    per_language: dict[str, RuleScore] = field(default_factory=dict)  # reporting only, never scored

    @property
    def decoys_red(self) -> list[str]:
        return [s["name"] for s in self.scenarios if s["class"] == "innocent" and s["assessment"] == "red"]

    def outcomes(self, language: str | None = None) -> dict[str, dict[str, int]]:
        """Per class, how many scenarios came out red, amber and green (of one language, or all)."""
        table = {c: dict.fromkeys(LEVELS, 0) for c in CLASSES}
        for s in self.scenarios:
            if language is None or s["language"] == language:
                table[s["class"]][s["assessment"]] += 1
        return table

    def outcomes_by_language(self) -> dict[str, dict[str, dict[str, int]]]:
        return {language: self.outcomes(language) for language in sorted(self.per_language)}

    def acceptance(self) -> dict[str, Any]:
        """Facilitators red, journeys flagged (amber or red), innocents none red and at most one in ten amber."""
        table = self.outcomes()
        facilitators, journeys, innocents = (sum(table[c].values()) for c in CLASSES)
        summary = {
            "facilitators_red": table["facilitator"]["red"],
            "facilitators": facilitators,
            "journeys_flagged": table["journey"]["red"] + table["journey"]["amber"],
            "journeys": journeys,
            "innocents_red": table["innocent"]["red"],
            "innocents_amber": table["innocent"]["amber"],
            "innocents": innocents,
        }
        summary["met"] = (
            summary["facilitators_red"] == facilitators
            and summary["journeys_flagged"] == journeys
            and summary["innocents_red"] == 0
            and summary["innocents_amber"] <= MAX_INNOCENT_AMBER_SHARE * innocents
        )
        return summary

    def acceptance_line(self) -> str:
        a = self.acceptance()
        return (
            f"acceptance: facilitators red {a['facilitators_red']}/{a['facilitators']}, "
            f"journeys flagged {a['journeys_flagged']}/{a['journeys']}, "
            f"innocents red {a['innocents_red']}, innocents amber {a['innocents_amber']} of {a['innocents']} "
            f"({'met' if a['met'] else 'NOT met'}: none red, at most one in ten amber)"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "overall": self.overall.as_json(),
            "per_rule": {rule: score.as_json() for rule, score in self.per_rule.items() if _counted(score)},
            "per_language": {language: score.as_json() for language, score in sorted(self.per_language.items())},
            "outcomes": self.outcomes(),
            "outcomes_by_language": self.outcomes_by_language(),
            "acceptance": self.acceptance(),
            "scenarios": self.scenarios,
        }


def _counted(score: RuleScore) -> bool:
    return bool(score.tp + score.fp + score.fn)


def scenario_class(scenario: dict[str, Any]) -> str:
    """The scenario's class; files written before classes were labelled are read by decoy and role."""
    given = scenario.get("class")
    if given is not None:
        if given not in CLASSES:
            raise ValueError(f"scenario {scenario.get('name')!r}: class {given!r} is not one of {', '.join(CLASSES)}")
        return str(given)
    if scenario.get("decoy"):
        return "innocent"
    return "journey" if scenario.get("role") in ("passenger", "journey") else "facilitator"


def evaluate_scenarios(pack: RulePack, path: Path) -> Evaluation:
    doc = json.loads(path.read_text(encoding="utf-8"))
    result = Evaluation({r.id: RuleScore() for r in pack.rules})
    for scenario in doc["scenarios"]:
        watchlists = example_watchlists()
        findings = run_pack(pack, scenario["records"], watchlists, extract_payments=True)
        fired = {f.rule_id for f in findings}
        expected = set(scenario.get("expected", []))
        language = str(scenario.get("language") or "und")  # ISO 639 "undetermined" when not labelled
        by_language = result.per_language.setdefault(language, RuleScore())
        for rule in pack.rules:
            score = result.per_rule[rule.id]
            hit, wanted = rule.id in fired, rule.id in expected
            for target in (score, result.overall, by_language):
                target.tp += hit and wanted
                target.fp += hit and not wanted
                target.fn += wanted and not hit
        kind = scenario_class(scenario)
        result.scenarios.append(
            {
                "name": scenario["name"],
                "role": scenario.get("role", ""),
                "language": language,
                "class": kind,
                "lookalike_of": scenario.get("lookalike_of"),
                "decoy": kind == "innocent",
                "fired": sorted(fired),
                "expected": sorted(expected),
                "assessment": assessment(findings)["level"],
            }
        )
    return result
