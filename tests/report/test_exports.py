"""The run's exchange formats: CASE/UCO JSON-LD (validated by case_validate), KML/GeoJSON, CSV tables."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.bundle_layout import payload
from triage.cli import main

DEMO_E01 = Path(__file__).parents[2] / "fixtures" / "demo" / "demo.E01"
DEMO_MANIFEST = Path(__file__).parents[2] / "fixtures" / "demo" / "demo.json"


def demo_messages(manifest: dict) -> int:
    """SMS, WhatsApp and Telegram messages of the demo phone."""
    return len(manifest["sms"]) + manifest["whatsapp"]["message_count"] + len(manifest["telegram"]["messages"])


def demo_locations(manifest: dict) -> int:
    """Photo GPS fixes, WhatsApp pins (a live location gives its start and its last position) and Telegram geo."""
    whatsapp = sum(1 + (loc["live_location_final_latitude"] is not None) for loc in manifest["whatsapp"]["locations"])
    photos = sum(p.get("lat") is not None for p in manifest["photos"])
    return photos + whatsapp + len(manifest["telegram"]["locations"])


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("exports") / "out"
    assert (
        main(
            [
                "run",
                str(DEMO_E01),
                "--out",
                str(out),
                "--quiet",
                "--case",
                "CASE-7",
                "--exhibit",
                "EXH-7",
                "--examiner",
                "A. Examiner",
                "--case-records",
            ]
        )
        == 0
    )
    return payload(out)


def case_validate() -> str | None:
    beside = Path(sys.executable).parent / "case_validate"  # the venv's script when the venv is not on PATH
    return str(beside) if beside.exists() else shutil.which("case_validate")


@pytest.mark.parametrize("name", ["case.jsonld", "case-records.jsonld"])
def test_case_jsonld_passes_case_validate(run: Path, name: str) -> None:
    tool = case_validate()
    if tool is None:
        pytest.skip("case_validate (case-utils, a test dependency) is not installed")
    result = subprocess.run([tool, str(run / name)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "Conforms: True" in result.stdout


def kind(node: dict) -> str:
    return node["@type"] if isinstance(node["@type"], str) else node["@type"][0]


def test_case_jsonld_holds_the_findings_and_only_the_records_they_cite(run: Path) -> None:
    graph = json.loads((run / "case.jsonld").read_text(encoding="utf-8"))["@graph"]
    types = [kind(n) for n in graph]
    findings = json.loads((run / "findings.json").read_text(encoding="utf-8"))
    cited = {(e["type"], e["id"]) for f in findings["findings"] for e in f["evidence"]}
    cited_messages = {i for t, i in cited if t == "message"}
    assert cited_messages, "the demo's findings cite messages: the test would prove nothing otherwise"
    assert types.count("uco-observable:Message") == len(cited_messages)
    assert types.count("uco-location:Location") == len({i for t, i in cited if t == "location"})
    (action,) = [n for n in graph if n["@type"] == "case-investigation:InvestigativeAction"]
    assert action["uco-action:instrument"] and action["uco-action:performer"]
    assert action["uco-action:startTime"]["@value"] <= action["uco-action:endTime"]["@value"]
    evidence = next(n for n in graph if n["@type"] == ["uco-observable:File", "uco-observable:Image"])
    hashes = evidence["uco-core:hasFacet"][1]["uco-observable:hash"]
    media_sha256 = findings["evidence"][0]["media"]["sha256"]
    assert {"hashMethod": "SHA256", "value": media_sha256.upper()} in [
        {"hashMethod": h["uco-types:hashMethod"], "value": h["uco-types:hashValue"]["@value"]} for h in hashes
    ]
    assert all("@id" in n for n in graph)
    # one provenance record per finding, citing nodes of this file
    ids = {n["@id"] for n in graph}
    finding_records = [
        n for n in graph if n.get("uco-core:name", "").split(" v")[0] in {f["rule_id"] for f in findings["findings"]}
    ]
    assert len(finding_records) == len(findings["findings"])
    assert all(o["@id"] in ids for n in finding_records for o in n.get("uco-core:object", []))


def test_case_records_jsonld_holds_every_record_under_the_same_ids(run: Path) -> None:
    manifest = json.loads(DEMO_MANIFEST.read_text(encoding="utf-8"))
    records = json.loads((run / "case-records.jsonld").read_text(encoding="utf-8"))
    main = json.loads((run / "case.jsonld").read_text(encoding="utf-8"))
    assert records["@context"] == main["@context"]
    graph = records["@graph"]
    types = [kind(n) for n in graph]
    assert types.count("uco-observable:Message") == demo_messages(manifest)
    assert types.count("uco-location:Location") == demo_locations(manifest)
    assert all("@id" in n for n in graph)
    by_id = {n["@id"]: n for n in graph}
    assert len(by_id) == len(graph), "a node written twice"
    # a record cited in case.jsonld is the same node, under the same @id, in case-records.jsonld
    shared = [
        n
        for n in main["@graph"]
        if kind(n)
        in {"uco-observable:Message", "uco-location:Location", "uco-observable:Contact", "uco-observable:Call"}
    ]
    assert shared and all(by_id[n["@id"]] == n for n in shared)
    # the output provenance record: in both files under one @id, listing every record here
    (output,) = [n for n in graph if n["@type"] == "case-investigation:ProvenanceRecord"]
    assert output["@id"] in {n["@id"] for n in main["@graph"]}
    listed = {o["@id"] for o in output["uco-core:object"]}
    assert listed == {
        i
        for i, n in by_id.items()
        if kind(n)
        in {
            "uco-observable:Message",
            "uco-location:Location",
            "uco-observable:Contact",
            "uco-observable:Call",
            "uco-observable:MobileDevice",
            "uco-observable:File",
        }
        # the app accounts the phone holds are records; the accounts messages name are not
        or i.startswith("kb:account-record-")
    }
    # one node per line inside the "@graph" array: a consumer can also read it line by line
    lines = (run / "case-records.jsonld").read_text(encoding="utf-8").split("\n")
    assert lines[1] == '"@graph": [' and lines[-2:] == ["]}", ""]
    assert [json.loads(line.removesuffix(",")) for line in lines[2:-2]] == graph


def test_locations_kml_and_geojson(run: Path) -> None:
    manifest = json.loads(DEMO_MANIFEST.read_text(encoding="utf-8"))
    with_gps = {Path(p["path"]).name: p for p in manifest["photos"] if p.get("lat") is not None}
    geo = json.loads((run / "locations.geojson").read_text(encoding="utf-8"))
    assert len(geo["features"]) == demo_locations(manifest)
    points = {
        f["properties"]["label"]: f["geometry"]["coordinates"]
        for f in geo["features"]
        if f["properties"]["origin"] == "photo EXIF GPS"
    }
    assert set(points) == set(with_gps)
    for name, photo in with_gps.items():
        assert points[name][:2] == pytest.approx([photo["lon"], photo["lat"]], abs=1e-6)
    kml = ET.parse(run / "locations.kml").getroot()
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    assert len(kml.findall(".//k:Placemark", ns)) == demo_locations(manifest)


def test_csv_tables_and_schedules(run: Path) -> None:
    with open(run / "records" / "message.csv", encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    manifest = json.loads(DEMO_MANIFEST.read_text(encoding="utf-8"))
    assert len(rows) == demo_messages(manifest) and {"body", "time_utc", "provenance_path"} <= set(rows[0])
    with open(run / "schedule_findings.csv", encoding="utf-8-sig", newline="") as f:
        schedule = list(csv.DictReader(f))
    findings = json.loads((run / "findings.json").read_text(encoding="utf-8"))["findings"]
    assert [r["rule_id"] for r in schedule] == [f["rule_id"] for f in findings]
    with open(run / "schedule_material_examined.csv", encoding="utf-8-sig", newline="") as f:
        examined = list(csv.DictReader(f))
    assert any(r["path"].endswith("mmssms.db") and len(r["sha256"]) == 64 for r in examined)
