"""`triage rules test` (every rule's own examples) and `triage rules eval` (labelled scenarios).

Both run the whole pack on records written as data, so composite rules see the findings they build on.
A scenario file is JSON: {"scenarios": [{"name", "role", "decoy": bool, "expected": [rule ids],
"records": [...]}]}; rules not listed in `expected` are expected not to fire.
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


@dataclass
class Evaluation:
    per_rule: dict[str, RuleScore] = field(default_factory=dict)
    overall: RuleScore = field(default_factory=RuleScore)
    scenarios: list[dict[str, Any]] = field(default_factory=list)

    @property
    def decoys_red(self) -> list[str]:
        return [s["name"] for s in self.scenarios if s["decoy"] and s["assessment"] == "red"]


def evaluate_scenarios(pack: RulePack, path: Path) -> Evaluation:
    doc = json.loads(path.read_text(encoding="utf-8"))
    result = Evaluation({r.id: RuleScore() for r in pack.rules})
    for scenario in doc["scenarios"]:
        watchlists = example_watchlists()
        findings = run_pack(pack, scenario["records"], watchlists, extract_payments=True)
        fired = {f.rule_id for f in findings}
        expected = set(scenario.get("expected", []))
        for rule in pack.rules:
            score = result.per_rule[rule.id]
            hit, wanted = rule.id in fired, rule.id in expected
            for target in (score, result.overall):
                target.tp += hit and wanted
                target.fp += hit and not wanted
                target.fn += wanted and not hit
        result.scenarios.append(
            {
                "name": scenario["name"],
                "role": scenario.get("role", ""),
                "decoy": bool(scenario.get("decoy")),
                "fired": sorted(fired),
                "expected": sorted(expected),
                "assessment": assessment(findings)["level"],
            }
        )
    return result
