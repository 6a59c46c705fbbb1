"""The assessment policy's caps in the demo report (issue 18 item 3): index.html's Assessment section and the
statement's first table explain each cap the policy applied (docs/domain/assessment.md)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.bundle_layout import payload
from tests.report_demo import Text, demo_bundle, section


@pytest.fixture(scope="module")
def out(tmp_path_factory, evidence_guard) -> Path:
    return payload(demo_bundle(tmp_path_factory, evidence_guard)[0])


@pytest.fixture(scope="module")
def result(out: Path) -> dict:
    return json.loads((out / "findings.json").read_text(encoding="utf-8"))["assessment"]


def test_the_demo_assessment_says_why(result: dict) -> None:
    assert {"level", "reasons", "flags", "note", "coverage", "not_examined", "categories", "caps"} <= set(result)
    assert result["reasons"][0].startswith(f"{result['level']}: ")
    strong = [c for c, v in result["categories"].items() if v["counts"] and c != "COR"]
    assert strong, "the demo's findings hold MEDIUM or HIGH indicators"
    assert any(r.startswith("independent categories with MEDIUM or HIGH indicators: ") for r in result["reasons"])
    assert result["caps"], "the demo holds HIGH findings on received material only: the policy caps them"


def test_each_cap_is_explained_in_index_html(out: Path, result: dict) -> None:
    text = Text(section((out / "index.html").read_text(encoding="utf-8"), "assessment")).text
    assert f"Caps applied by the assessment policy ({len(result['caps'])})" in text
    for cap in result["caps"]:
        for part in (cap["name"], f": {cap['effect']}. Why: {cap['why']}. What would lift it: {cap['lift']}."):
            assert " ".join(part.split()) in text


def test_each_cap_is_explained_in_the_statement(out: Path, result: dict) -> None:
    pdf = subprocess.run(
        ["pdftotext", "-raw", str(out / "report.pdf"), "-"], check=True, capture_output=True, text=True
    )
    statement = " ".join(pdf.stdout.split("Full report", 1)[0].split())
    assert "Caps on the priority" in statement
    for cap in result["caps"]:
        assert cap["name"] in statement and " ".join(cap["effect"].split()) in statement


# -- a reporter's phone: the special procedure flag and the context cap, in both documents ----------------
@pytest.fixture(scope="module")
def reporter(tmp_path_factory) -> Path:
    """A case store holding a reporter's messages (an advert written out, police reported at a beach, in the
    words of their own work), the run's rules pass over it, then the real report step."""
    from rules.pack import load_pack
    from tests.report_store import ReportStore
    from triage.run.passes import PassInput, run_passes

    rs = ReportStore(tmp_path_factory.mktemp("reporter") / "out")
    src = rs.source("/data/data/com.android.providers.telephony/databases/mmssms.db")
    for row, body in enumerate(
        [
            "Draft for my editor: they post 'Boat to England 100% safe, departures every day'",
            "Police left the beach at Gravelines at midnight, it goes in my article",
        ],
        start=1,
    ):
        message = rs.message(src, body, counterpart="+447700999888", row=row)
        message.direction, message.sender = "outgoing", None
    rs.store.flush()
    run_passes(PassInput(rs.store, load_pack()), only=("payments extracted", "rules evaluated"))
    rs.write(files_selected=1)
    return rs.out


def test_a_reporters_phone_shows_the_special_procedure_flag_and_the_context_cap(reporter: Path) -> None:
    result = json.loads((reporter / "findings.json").read_text(encoding="utf-8"))["assessment"]
    # the policy explains a reporter's own indicators by their work: green, the findings listed, the material
    # flagged (docs/domain/assessment.md "Context caps"; it held the level at amber before)
    assert result["level"] == "green" and result["contexts"] == ["journalism"]
    (cap,) = [c for c in result["caps"] if c["name"] == "context: journalistic material"]
    assert cap["effect"].startswith("green: the indicators are explained by this context and not scored")
    assert "(it would be red)" in cap["effect"]
    effect = " ".join(cap["effect"].split())
    text = Text(section((reporter / "index.html").read_text(encoding="utf-8"), "assessment")).text
    assert "SPECIAL PROCEDURE material (1)" in text and "CTX-01: Journalistic material" in text
    assert "excluded or special procedure material under PACE ss.10–14" in text and "prosecutor must be told" in text
    assert effect in text
    pdf = subprocess.run(
        ["pdftotext", "-raw", str(reporter / "report.pdf"), "-"], check=True, capture_output=True, text=True
    )
    statement = " ".join(pdf.stdout.split("Full report", 1)[0].split())
    assert "Special procedure material" in statement and "CTX-01: Journalistic material" in statement
    assert effect in statement


def test_a_special_procedure_finding_is_styled_and_scheduled_as_such(reporter: Path) -> None:
    import csv
    import re

    findings = json.loads((reporter / "findings.json").read_text(encoding="utf-8"))["findings"]
    flagged = [n for n, x in enumerate(findings, start=1) if x["severity"] == "SPECIAL PROCEDURE"]
    assert flagged, "CTX-01 on the reporter's own words"
    page = (reporter / "index.html").read_text(encoding="utf-8")
    # the card's badge and border take the flag's own style, as SAFEGUARDING and DISCLOSURE do
    assert '<span class="badge SPECIAL PROCEDURE">SPECIAL PROCEDURE</span>' in page
    assert 'class="finding sev-SPECIAL PROCEDURE"' in page
    css = (Path(__file__).parents[2] / "triage" / "report" / "templates" / "report.css").read_text(encoding="utf-8")
    for selector in (".badge.SPECIAL.PROCEDURE", ".sev-SPECIAL", ".flags.special-procedure"):
        assert re.search(rf"(^|\n|, ){re.escape(selector)} \{{[^}}]*(background|border-color): #00695c", css), selector
    with open(reporter / "schedule_findings.csv", encoding="utf-8-sig", newline="") as f:
        rows = {r["number"]: r for r in csv.DictReader(f)}
    for n in flagged:
        note = rows[f"F{n}"]["may_undermine_or_assist"]
        assert note.startswith("flagged SPECIAL PROCEDURE by its rule") and "the prosecutor must be told" in note
