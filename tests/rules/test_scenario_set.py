"""The labelled scenario set (fixtures/build_scenarios.py, docs/domain/scenarios.md): its size, its coverage
of languages, classes and look-alikes, the shape of every scenario, and its independence from the lexicon
and the rule pack."""

from __future__ import annotations

import inspect
import json
import re
from collections import Counter
from datetime import datetime
from typing import Any

import pytest

import fixtures.build_scenarios as builder
from rules.examples import BUILDERS, load_records

DOC = builder.build()
SCENARIOS: list[dict[str, Any]] = DOC["scenarios"]
RULE_ID = re.compile(r"^[A-Z]{3}-\d{2}$")


def test_the_builder_is_deterministic_and_the_committed_file_is_its_output() -> None:
    written = json.dumps(builder.build(), ensure_ascii=False, indent=1) + "\n"
    assert written == json.dumps(builder.build(), ensure_ascii=False, indent=1) + "\n"
    assert builder.OUT.read_text(encoding="utf-8") == written, "run: python fixtures/build_scenarios.py"


def test_at_least_48_scenarios_with_unique_names() -> None:
    names = [s["name"] for s in SCENARIOS]
    assert len(names) >= 48
    assert len(set(names)) == len(names)


def test_every_language_has_at_least_three_scenarios() -> None:
    per_language = Counter(s["language"] for s in SCENARIOS)
    assert set(per_language) == set(builder.LANGUAGES), per_language
    assert len(builder.LANGUAGES) == 12
    assert min(per_language.values()) >= 3, per_language


def test_dari_counts_as_farsi() -> None:
    dari = [s for s in SCENARIOS if s.get("variety") == "prs"]
    assert dari and {s["language"] for s in dari} == {"fa"}


def test_every_scenario_has_its_labels() -> None:
    for s in SCENARIOS:
        assert s["language"] in builder.LANGUAGES, s["name"]
        assert s["class"] in builder.CLASSES, s["name"]
        assert s["role"], s["name"]
        assert s["story"], s["name"]
        assert s["decoy"] is (s["class"] == "innocent"), s["name"]
        assert s["expected"] == sorted(set(s["expected"])), s["name"]
        assert all(RULE_ID.match(rule) for rule in s["expected"]), s["name"]
        if s["class"] == "facilitator":
            assert s["kind"] in builder.FACILITATOR_KINDS and "lookalike_of" not in s, s["name"]
        if s["class"] == "innocent":
            assert s["lookalike_of"] in (*builder.FACILITATOR_KINDS, "passenger") and "kind" not in s, s["name"]


def test_all_three_classes_in_numbers() -> None:
    per_class = Counter(s["class"] for s in SCENARIOS)
    assert per_class["facilitator"] >= 12 and per_class["journey"] >= 8 and per_class["innocent"] >= 12, per_class


def test_every_facilitator_kind_is_present_and_has_two_lookalike_innocents() -> None:
    kinds = Counter(s["kind"] for s in SCENARIOS if s["class"] == "facilitator")
    lookalikes = Counter(s["lookalike_of"] for s in SCENARIOS if s["class"] == "innocent")
    assert set(kinds) == set(builder.FACILITATOR_KINDS), kinds
    for kind in builder.FACILITATOR_KINDS:
        assert lookalikes[kind] >= 2, (kind, lookalikes)


def test_issue_18_cases_are_in_the_set() -> None:
    cases = {(s["language"], s.get("kind")) for s in SCENARIOS if s["class"] == "facilitator"}
    assert ("kmr", "supplier") in cases  # the boat-equipment supplier writing in Kurmanji
    assert ("fa", "money holder") in cases  # the money holder writing in Farsi
    journeys = {s["role"] for s in SCENARIOS if s["class"] == "journey"}
    assert {"passenger", "pilot", "family member paying"} <= journeys


def test_arabizi_writes_letters_with_digits() -> None:
    """Arabic in Latin letters uses 3, 7, 2 and 5 for ع, ح, ء and خ inside words."""
    bodies = [r["body"] for s in SCENARIOS if s["language"] == "ar" for r in s["records"] if r["type"] == "message"]
    words = {w for body in bodies for w in re.findall(r"\b[a-z]*[2357][a-z]+\b", body.lower())}
    assert {w for w in words if "3" in w} and {w for w in words if "7" in w}, words


def test_context_and_victim_signs_are_present() -> None:
    """The context flags and victim indicators have material to work on: press, legal and NGO phones carry
    signatures, domains and contacts named with roles; some journeys hold threats, debts or minors."""
    expecting = Counter(rule for s in SCENARIOS for rule in s["expected"])
    assert expecting["CTX-01"] >= 2 and expecting["CTX-02"] >= 2 and expecting["CTX-03"] >= 3, expecting
    victims = [s["name"] for s in SCENARIOS if s["class"] == "journey" and "SAF-01" in s["expected"]]
    assert len(victims) >= 4, victims
    signatures = [s["name"] for s in SCENARIOS if s["role"] in {"journalist", "lawyer", "solicitor"}]
    for name in signatures:
        (s,) = [x for x in SCENARIOS if x["name"] == name]
        contacts = [r for r in s["records"] if r["type"] == "contact"]
        own = [r["body"] for r in s["records"] if r["type"] == "message" and r["direction"] == "outgoing"]
        assert contacts and any("@" in body and "\n" in body for body in own), name


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s["name"] for s in SCENARIOS])
def test_records_are_what_the_loader_takes(scenario: dict[str, Any]) -> None:
    refs: set[str] = set()
    for record in scenario["records"]:
        assert record["type"] in BUILDERS, record
        if "time" in record:
            assert record["time"].endswith("Z") and datetime.fromisoformat(record["time"].replace("Z", "+00:00"))
        for pointer in ("message", "media_file"):
            if pointer in record:
                assert record[pointer] in refs, f"{pointer} ref {record[pointer]} before its record"
        if "ref" in record:
            refs.add(record["ref"])
        if record["type"] == "location":
            assert -90 <= record["latitude"] <= 90 and -180 <= record["longitude"] <= 180
    store = load_records(scenario["records"])
    try:
        loaded = store.counts()
    finally:
        store.close()
    written = Counter(record["type"] for record in scenario["records"])
    assert {kind: loaded[kind] for kind in written} == dict(written)


def test_the_builder_does_not_read_the_lexicon_or_the_pack() -> None:
    source = inspect.getsource(builder)
    for named in ("lexicon.yaml", "rules/data", "rules/packs", "channel_crossing.yaml"):
        assert named not in source, named
    assert not re.search(r"^\s*(from|import)\s+rules\b", source, re.MULTILINE)
