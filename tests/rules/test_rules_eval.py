"""`triage rules eval`: precision and recall per language and per rule, outcomes per class and per
language, the acceptance line, and the same figures as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fixtures.build_scenarios import OUT as SCENARIOS
from rules.pack import load_pack
from rules.testing import CLASSES, LEVELS, evaluate_scenarios
from triage.cli import main

PACK = load_pack()


def sent_messages(texts: list[str], counterpart: str) -> list[dict[str, str]]:
    """Messages the device user sent, one an hour (also used by test_lexicon_languages.py)."""
    return [
        {
            "type": "message",
            "direction": "outgoing",
            "counterpart": counterpart,
            "body": text,
            "time": f"2025-05-10T1{i}:00:00Z",
        }
        for i, text in enumerate(texts)
    ]


SUPPLIER_KMR = [
    *sent_messages(
        [
            "Min 3 motorên 40 hp û 60 jelîqe hene, bihayê her motorekê 4500 ewro ye",
            "Belema bayê jî heye, bi pompa û benzîn, ji bo derbasbûna Îngilîstanê",
        ],
        "+4915123456789",
    ),
    {  # the buyer's side of the exchange (TXT-08: a sale is an exchange)
        "type": "message",
        "direction": "incoming",
        "counterpart": "+4915123456789",
        "body": "10 jelîqe û 2 motor dixwazim",
        "time": "2025-05-10T12:00:00Z",
    },
]
MONEY_HOLDER_FA = sent_messages(
    [
        "هر نفر ۲۵۰۰ یورو، پول مسافرها پیش صراف امانت است تا به انگلیس برسند",
        "سه نفر رسیدند، به صراف بگو امانت آنها را آزاد کند",
    ],
    "+989121234567",
)


def _scenarios() -> list[dict[str, Any]]:
    return [
        {
            "name": "supplier",
            "role": "supplier",
            "language": "kmr",
            "class": "facilitator",
            "expected": ["TXT-01", "TXT-08"],
            "records": SUPPLIER_KMR,
        },
        {  # TXT-02 fires too but is left out of `expected`: one false positive for Farsi
            "name": "money holder",
            "role": "money holder",
            "language": "fa",
            "class": "facilitator",
            "expected": ["PAY-01", "TXT-07"],
            "records": MONEY_HOLDER_FA,
        },
        {  # GEO-01 is expected but there is no position: one false negative for English
            "name": "commuter",
            "role": "commuter",
            "language": "en",
            "class": "innocent",
            "lookalike_of": "supplier",
            "expected": ["GEO-01"],
            "records": sent_messages(["Train delayed again, home by 7"], "+447700900123"),
        },
    ]


@pytest.fixture
def plain_levels(monkeypatch: pytest.MonkeyPatch) -> None:
    """The evaluation's counting is tested apart from the assessment policy (rules/assessment.py, tested
    on its own): here a HIGH finding makes red, a MEDIUM amber, anything less green."""
    import rules.testing

    def by_severity(findings: list[Any]) -> dict[str, str]:
        severities = {f.severity for f in findings}
        return {"level": "red" if "HIGH" in severities else "amber" if "MEDIUM" in severities else "green"}

    monkeypatch.setattr(rules.testing, "assessment", by_severity)


def _write(tmp_path: Path, scenarios: list[dict[str, Any]]) -> Path:
    path = tmp_path / "scenarios.json"
    path.write_text(json.dumps({"scenarios": scenarios}, ensure_ascii=False), encoding="utf-8")
    return path


def test_precision_and_recall_per_language(tmp_path: Path) -> None:
    result = evaluate_scenarios(PACK, _write(tmp_path, _scenarios()))
    scores = {lang: (s.tp, s.fp, s.fn) for lang, s in result.per_language.items()}
    assert scores == {"kmr": (2, 0, 0), "fa": (2, 1, 0), "en": (0, 0, 1)}
    assert result.per_language["fa"].precision == pytest.approx(2 / 3)
    assert result.per_language["en"].recall == 0.0
    totals = [sum(getattr(s, k) for s in result.per_language.values()) for k in ("tp", "fp", "fn")]
    assert totals == [result.overall.tp, result.overall.fp, result.overall.fn]
    assert (result.per_rule["TXT-02"].fp, result.per_rule["GEO-01"].fn, result.per_rule["TXT-08"].tp) == (1, 1, 1)


def test_outcomes_per_class_and_language_and_the_acceptance_line(tmp_path: Path, plain_levels: None) -> None:
    result = evaluate_scenarios(PACK, _write(tmp_path, _scenarios()))
    levels = {s["name"]: s["assessment"] for s in result.scenarios}
    assert levels == {"supplier": "red", "money holder": "red", "commuter": "green"}  # HIGH TXT-08, HIGH TXT-07
    assert result.outcomes() == {
        "facilitator": {"red": 2, "amber": 0, "green": 0},
        "journey": {"red": 0, "amber": 0, "green": 0},
        "innocent": {"red": 0, "amber": 0, "green": 1},
    }
    assert result.outcomes_by_language()["fa"]["facilitator"] == {"red": 1, "amber": 0, "green": 0}
    assert result.outcomes_by_language()["en"]["innocent"] == {"red": 0, "amber": 0, "green": 1}
    assert result.acceptance() == {
        "facilitators_red": 2,
        "facilitators": 2,
        "journeys_flagged": 0,
        "journeys": 0,
        "innocents_red": 0,
        "innocents_amber": 0,
        "innocents": 1,
        "met": True,
    }
    assert result.acceptance_line() == (
        "acceptance: facilitators red 2/2, journeys flagged 0/0, innocents red 0, innocents amber 0 of 1 "
        "(met: none red, at most one in ten amber)"
    )
    (commuter,) = [s for s in result.scenarios if s["class"] == "innocent"]
    assert commuter["lookalike_of"] == "supplier" and commuter["language"] == "en"


def test_language_is_reporting_only(tmp_path: Path) -> None:
    """The same records labelled with another language give the same rules and the same assessment."""
    first = _scenarios()[1]
    relabelled = dict(first, name="money holder (relabelled)", language="en")
    result = evaluate_scenarios(PACK, _write(tmp_path, [first, relabelled]))
    a, b = result.scenarios
    assert (a["fired"], a["assessment"]) == (b["fired"], b["assessment"])
    assert (result.per_language["fa"].tp, result.per_language["fa"].fp) == (
        result.per_language["en"].tp,
        result.per_language["en"].fp,
    )


def test_older_files_without_class_or_language_still_evaluate(tmp_path: Path) -> None:
    old = [
        {"name": "a", "role": "passenger", "decoy": False, "expected": [], "records": []},
        {"name": "b", "role": "fisherman", "decoy": True, "expected": [], "records": []},
        {"name": "c", "role": "organiser", "decoy": False, "expected": [], "records": []},
    ]
    result = evaluate_scenarios(PACK, _write(tmp_path, old))
    assert [(s["class"], s["language"]) for s in result.scenarios] == [
        ("journey", "und"),
        ("innocent", "und"),
        ("facilitator", "und"),
    ]


def test_an_unknown_class_is_refused(tmp_path: Path) -> None:
    bad = [{"name": "x", "class": "suspect", "expected": [], "records": []}]
    with pytest.raises(ValueError, match="class 'suspect' is not one of facilitator, journey, innocent"):
        evaluate_scenarios(PACK, _write(tmp_path, bad))


def test_eval_command_prints_languages_classes_and_acceptance(tmp_path: Path, capsys, plain_levels: None) -> None:
    assert main(["rules", "eval", str(_write(tmp_path, _scenarios()))]) == 0
    out = capsys.readouterr().out
    rows: dict[str, list[str]] = {}
    for line in out.splitlines():
        if line.strip():
            rows.setdefault(line.split()[0], line.split()[1:])  # the first table a label appears in
    assert rows["fa"] == ["2", "1", "0", "0.67", "1.00"]
    assert rows["kmr"] == ["2", "0", "0", "1.00", "1.00"]
    assert rows["en"] == ["0", "0", "1", "1.00", "0.00"]
    assert rows["facilitator"] == ["2", "0", "0"] and rows["innocent"] == ["0", "0", "1"]
    assert rows["kmr"] and "kmr              1/1" in out  # facilitators red per language
    assert "(look-alike of supplier)" in out
    assert out.rstrip().endswith("(met: none red, at most one in ten amber)")


def test_eval_command_json(tmp_path: Path, capsys, plain_levels: None) -> None:
    assert main(["rules", "eval", "--json", str(_write(tmp_path, _scenarios()))]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["pack"] == {"name": PACK.name, "version": PACK.version}
    assert doc["per_language"]["fa"] == {"tp": 2, "fp": 1, "fn": 0, "precision": 0.6667, "recall": 1.0}
    assert doc["per_rule"]["TXT-02"]["fp"] == 1
    assert doc["outcomes"]["facilitator"] == {"red": 2, "amber": 0, "green": 0}
    assert doc["outcomes_by_language"]["kmr"]["facilitator"]["red"] == 1
    assert doc["acceptance"]["met"] is True and doc["acceptance"]["innocents"] == 1
    assert [s["language"] for s in doc["scenarios"]] == ["kmr", "fa", "en"]


def test_strict_exits_1_when_acceptance_is_not_met(tmp_path: Path, capsys) -> None:
    silent = [{"name": "quiet organiser", "language": "sq", "class": "facilitator", "expected": [], "records": []}]
    path = _write(tmp_path, silent)
    assert main(["rules", "eval", str(path)]) == 0  # reporting by default
    assert "facilitators red 0/1" in capsys.readouterr().out
    assert main(["rules", "eval", "--strict", str(path)]) == 1


def test_the_real_scenario_file_still_evaluates() -> None:
    """With the real assessment policy: every scenario is counted once, in its class and language."""
    result = evaluate_scenarios(PACK, SCENARIOS)
    assert result.scenarios and all(s["class"] in CLASSES and s["assessment"] in LEVELS for s in result.scenarios)
    for kind in CLASSES:
        for level in LEVELS:
            counted = sum(1 for s in result.scenarios if (s["class"], s["assessment"]) == (kind, level))
            assert result.outcomes()[kind][level] == counted
            by_language = sum(table[kind][level] for table in result.outcomes_by_language().values())
            assert by_language == counted
    accepted = result.acceptance()
    assert accepted["innocents"] == sum(s["class"] == "innocent" for s in result.scenarios)
    assert accepted["innocents_red"] == len(result.decoys_red)
    assert sum(s.tp + s.fn for s in result.per_language.values()) == result.overall.tp + result.overall.fn
