"""The rule language, its guardrails, the lexicon and the labelled scenario evaluation."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

from fixtures.build_scenarios import OUT as SCENARIOS
from fixtures.build_scenarios import build as build_scenarios
from rules.lexicon import Lexicon
from rules.normalise import normalise
from rules.pack import DEFAULT_PACK, RulePackError, load_pack
from rules.testing import evaluate_scenarios, run_examples, run_pack
from rules.watchlist import Watchlists
from triage.cli import main

PACK = load_pack()
LEXICON = PACK.lexicon


@pytest.mark.parametrize(
    "written, folded",
    [
        ("جليقه\u200c نجات", "جلیقە نجات"),  # Arabic ya/heh variants, ZWNJ
        ("سترةُ نجاة", "سترە نجاە"),  # harakat, teh marbuta
        ("١٥٠٠ يورو", "1500 یورو"),  # Eastern Arabic digits
        ("Áo Phao cứu sinh", "ao phao cuu sinh"),  # Vietnamese tones and horn
        ("jelek shpëtimi", "jelek shpetimi"),  # Albanian ë
        ("ቤንዚን", "ቤንዚን"),  # Ethiopic untouched
    ],
)
def test_normalisation(written: str, folded: str) -> None:
    assert normalise(written) == folded


@pytest.mark.parametrize(
    "text, concepts",
    [
        ("Boat to England tomorrow, 1500 euro per person", {"vessel", "destination_uk", "price"}),
        ("٤٠ کەس لە بەلەمەکەدا دەبن. پارەکە لای حەواڵەدار دابنێ", {"vessel", "price", "hawala"}),  # Sorani suffixes
        ("جهّز سترة النجاة", {"life_jacket"}),
        ("Áo phao và xuồng hơi qua Anh", {"life_jacket", "vessel", "crossing"}),
        ("rruge per Angli 🇬🇧", {"crossing", "destination_uk"}),
        ("boating in englandshire", set()),  # whole words only in Latin script
    ],
)
def test_lexicon_concepts(text: str, concepts: set[str]) -> None:
    assert {h.concept for h in LEXICON.match(text)} == concepts


def test_lexicon_keeps_confidence_labels_and_low_terms_need_company() -> None:
    hits = {h.term: h.confidence for h in LEXICON.match("C'est où le point de rendez-vous ?")}
    assert hits == {"point de rendez-vous": "L"}
    alone = run_pack(
        PACK,
        [
            {
                "type": "message",
                "direction": "outgoing",
                "counterpart": "+33612345678",
                "body": "C'est où le point de rendez-vous ?",
                "time": "2025-05-15T08:20:00Z",
            }
        ],
    )
    assert not any(f.rule_id == "TXT-05" for f in alone)


def test_every_rule_has_passing_positive_and_negative_examples() -> None:
    results = run_examples(PACK)
    assert results and all(r.passed for r in results), [r for r in results if not r.passed]
    for rule in PACK.rules:
        assert rule.examples.get("positive") and rule.examples.get("negative"), rule.id


def test_rules_test_command(capsys) -> None:
    assert main(["rules", "test"]) == 0
    assert "examples passed" in capsys.readouterr().out


def test_scenarios_file_is_what_the_builder_writes() -> None:
    committed = json.loads(SCENARIOS.read_text(encoding="utf-8"))
    assert committed == json.loads(json.dumps(build_scenarios(), ensure_ascii=False))


def test_labelled_scenarios_meet_the_issue_18_acceptance(capsys) -> None:
    """Facilitators red, journeys flagged, look-alike innocents green (none red, at most one in ten amber), in
    every language of the set; rule precision and recall stay where they were measured (docs/domain/scenarios.md)."""
    result = evaluate_scenarios(PACK, SCENARIOS)
    print(result.acceptance_line())
    accepted = result.acceptance()
    assert accepted["met"], result.acceptance_line()
    assert result.decoys_red == []
    assert result.overall.precision >= 0.95 and result.overall.recall >= 0.80, (
        result.overall.precision,
        result.overall.recall,
    )
    assert len(result.per_language) == 12  # every language of the issue
    roles = {s["role"] for s in result.scenarios}
    assert {
        "organiser",
        "passenger",
        "beach helper",
        "supplier",
        "fisherman",
        "tourist",
        "volunteer",
        "driver",
        "journalist",
    } <= roles
    assert main(["rules", "eval", str(SCENARIOS)]) == 0
    assert "overall" in capsys.readouterr().out


def test_received_content_does_not_raise_facilitation_severity() -> None:
    body = "Switch off your phone and leave your bags"
    sent = run_pack(
        PACK,
        [
            {
                "type": "message",
                "direction": "outgoing",
                "counterpart": "+33612345678",
                "body": body,
                "time": "2025-05-17T23:00:00Z",
            }
        ],
    )
    received = run_pack(
        PACK,
        [
            {
                "type": "message",
                "direction": "incoming",
                "counterpart": "+33612345678",
                "body": body,
                "time": "2025-05-17T23:00:00Z",
            }
        ],
    )
    (s,) = [f for f in sent if f.rule_id == "TXT-05"]
    (r,) = [f for f in received if f.rule_id == "TXT-05"]
    assert (s.severity, r.severity) == ("HIGH", "LOW")
    assert r.extra["received_only"] and "only received" in r.explanation
    assert "indicator for the examiner" in s.explanation and "not a conclusion" in s.explanation


def test_explanation_names_the_evidence_and_the_words() -> None:
    findings = run_pack(
        PACK,
        [
            {
                "type": "message",
                "counterpart": "+9647501234567",
                "body": "بەلەم بۆ ئینگلتەرا",
                "time": "2025-05-12T10:00:00Z",
            },
        ],
    )
    (f,) = [f for f in findings if f.rule_id == "TXT-01"]
    assert "'بەلەم' (vessel, H)" in f.explanation and "(destination_uk, M)" in f.explanation
    assert "received from +9647501234567 at 10:00 UTC on 12 May 2025" in f.explanation
    assert f.evidence[0]["type"] == "message" and f.family == "comms"


def test_flags_are_listed_apart_from_the_score() -> None:
    from rules.assessment import assessment

    findings = run_pack(
        PACK,
        [
            {
                "type": "message",
                "direction": "outgoing",
                "counterpart": "+9647501234567",
                "body": "They forced me to steer, I had no choice",
                "time": "2025-05-19T10:00:00Z",
            }
        ],
    )
    result = assessment(findings)
    assert result["level"] == "green" and result["flags"] == [
        "DISCLOSURE EXC-01: Information pointing away from the device user"
    ]


def _pack_copy(tmp_path: Path, change) -> Path:  # noqa: ANN001
    folder = tmp_path / "rules"
    shutil.copytree(Path(DEFAULT_PACK).parent.parent, folder, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    path = folder / "packs" / Path(DEFAULT_PACK).name
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def test_pack_scoring_on_a_protected_characteristic_is_refused(tmp_path: Path) -> None:
    def add_rule(doc: dict) -> None:
        doc["rules"].append(
            {
                "id": "BAD-01",
                "version": "1",
                "title": "x",
                "severity": "HIGH",
                "reads": ["message"],
                "condition": {"all_of": [{"lexicon": {"concepts": ["vessel"], "language": "ckb"}}]},
            }
        )

    with pytest.raises(RulePackError, match="protected characteristic"):
        load_pack(_pack_copy(tmp_path, add_rule))


def test_pack_with_unknown_primitive_or_concept_is_refused(tmp_path: Path) -> None:
    def unknown(doc: dict) -> None:
        doc["rules"][0]["condition"] = {"vibes": {}}

    with pytest.raises(RulePackError, match="unknown primitive 'vibes'"):
        load_pack(_pack_copy(tmp_path, unknown))


def test_watchlist_csv_and_phn04(tmp_path: Path) -> None:
    csv = tmp_path / "advert_numbers.csv"
    csv.write_text(
        "kind,value,label\nphone,+44 7400 123456,TikTok advert\nwallet,TJYeasTPa6gpEEfYqPEtY9yD3jA4R5dFXA,\n",
        encoding="utf-8",
    )
    lists = Watchlists.load([csv])
    findings = run_pack(
        PACK,
        [
            {
                "type": "message",
                "counterpart": "447400123456@s.whatsapp.net",
                "body": "salam",
                "time": "2025-05-12T10:00:00Z",
            }
        ],
        lists,
    )
    (f,) = [f for f in findings if f.rule_id == "PHN-04"]
    assert "advert_numbers.csv row 2 (TikTok advert)" in f.explanation
    bad = tmp_path / "bad.csv"
    bad.write_text("number\n+447400123456\n", encoding="utf-8")
    with pytest.raises(ValueError, match="kind,value"):
        Watchlists.load([bad])


def test_pack_identity_carries_lexicon_and_zone_hashes() -> None:
    import hashlib

    ident = PACK.identity()
    lexicon_path = Path(DEFAULT_PACK).parent.parent / "data" / "lexicon.yaml"
    assert ident["lexicon"]["sha256"] == hashlib.sha256(lexicon_path.read_bytes()).hexdigest()
    assert set(ident["data"]) == {"zones.geojson", "lexicon.yaml"}
    assert isinstance(Lexicon(lexicon_path).version, str)


def test_media_on_a_watch_list_is_a_finding() -> None:
    hit = {
        "list": "adverts.csv",
        "list_sha256": "ab" * 32,
        "row": 3,
        "label": "boat advert May 2025",
        "match": "phash",
        "distance": 2,
    }
    findings = run_pack(
        PACK,
        [
            {
                "type": "media_file",
                "path": "/media/0/WhatsApp/Media/WhatsApp Images/IMG-9.jpg",
                "name": "IMG-9.jpg",
                "sha256": "cd" * 32,
                "extra": {"watchlist": [hit]},
            }
        ],
    )
    (f,) = [f for f in findings if f.rule_id == "MED-06"]
    assert "adverts.csv row 3 'boat advert May 2025' (phash match, distance 2)" in f.explanation
    assert f.severity == "MEDIUM" and f.evidence[0]["type"] == "media_file"


def test_named_entities_are_notes_only() -> None:
    """With an English spaCy model installed, cited English messages get NER notes, kept apart from the
    explanation (machine output is not evidential text: issue 15 item 5); firing never changes."""
    from rules import entities

    if entities.installed_model() is None:
        pytest.skip("no spaCy English model installed (optional: pip install mobile-triage[ner])")
    body = "Boat tonight from Gravelines, meet at the beach at 2"
    findings = run_pack(
        PACK,
        [
            {
                "type": "message",
                "direction": "outgoing",
                "counterpart": "+33612345678",
                "body": body,
                "time": "2025-05-17T18:00:00Z",
            }
        ],
    )
    (f,) = [f for f in findings if f.rule_id == "TXT-01"]
    (note,) = f.extra["machine_notes"]
    assert note["model"].startswith("spaCy") and note["record"]["type"] == "message"
    assert {"text": "tonight", "label": "TIME"} in note["entities"]  # labels are statistical
    assert "tonight" not in f.explanation.split(": ", 1)[0]
    assert "spaCy" not in f.explanation and "TIME" not in f.explanation
    assert entities.entities("بەلەم بۆ ئینگلتەرا") == []  # the English model only reads Latin-script text
    entities.forget()
    try:
        original, entities.MODEL_NAMES = entities.MODEL_NAMES, ("no_such_model",)
        without = run_pack(
            PACK,
            [
                {
                    "type": "message",
                    "direction": "outgoing",
                    "counterpart": "+33612345678",
                    "body": body,
                    "time": "2025-05-17T18:00:00Z",
                }
            ],
        )
    finally:
        entities.MODEL_NAMES = original
        entities.forget()
    assert [(g.rule_id, g.severity) for g in without] == [(g.rule_id, g.severity) for g in findings]
    assert not any("machine_notes" in g.extra for g in without)


def test_the_model_is_named_without_loading_it_until_a_message_needs_it() -> None:
    """The rules pass records which spaCy pipeline read named entities; a run whose cited messages never
    needed one names the installed pipeline from its meta.json and does not load it (~0.5 s, ~90 MB). When one
    does, the pipeline reads in a process of its own, never the run's, and `close` ends that process."""
    from rules import entities

    entities.forget()
    try:
        installed = entities.installed_model()
        named = entities.model_name()
        assert entities._reader.pool is None  # named, not loaded
        if installed is None:
            assert named is None and entities.entities("Boat tonight from Gravelines") == []
            return
        assert named == f"spaCy {installed} (installed; not loaded: no message needed it)"
        assert ("tonight", "TIME") in entities.entities("Boat tonight from Gravelines")
        readers = entities._reader.pool._processes  # type: ignore[union-attr]
        assert readers and os.getpid() not in readers  # read in a process of its own
        assert entities.model_name() == f"spaCy {installed}"  # the pipeline that read the text
        entities.close()
        assert entities._reader.pool is None and entities.model_name() == f"spaCy {installed}"
        original, entities.MODEL_NAMES = entities.MODEL_NAMES, ("no_such_model",)
        try:
            assert entities.installed_model() is None
            entities.forget()
            assert entities.entities("Boat tonight from Gravelines") == [] and entities.model_name() is None
        finally:
            entities.MODEL_NAMES = original
    finally:
        entities.forget()
