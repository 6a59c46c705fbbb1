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

from triage.cli import main
from tests.bundle_layout import payload

DEMO_E01 = Path(__file__).parent.parent / "fixtures" / "demo" / "demo.E01"
DEMO_MANIFEST = Path(__file__).parent.parent / "fixtures" / "demo" / "demo.json"


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
    assert main(["run", str(DEMO_E01), "--out", str(out), "--quiet", "--case", "CASE-7", "--exhibit", "EXH-7",
                 "--examiner", "A. Examiner"]) == 0
    return payload(out)


def test_case_jsonld_passes_case_validate(run: Path) -> None:
    beside = Path(sys.executable).parent / "case_validate"  # the venv's script when the venv is not on PATH
    tool = str(beside) if beside.exists() else shutil.which("case_validate")
    if tool is None:
        pytest.skip("case_validate (case-utils, a test dependency) is not installed")
    result = subprocess.run([tool, str(run / "case.jsonld")], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "Conforms: True" in result.stdout


def test_case_jsonld_content(run: Path) -> None:
    graph = json.loads((run / "case.jsonld").read_text(encoding="utf-8"))["@graph"]
    types = [n["@type"] if isinstance(n["@type"], str) else n["@type"][0] for n in graph]
    manifest = json.loads(DEMO_MANIFEST.read_text(encoding="utf-8"))
    assert types.count("uco-observable:Message") == demo_messages(manifest)
    assert types.count("uco-location:Location") == demo_locations(manifest)
    (action,) = [n for n in graph if n["@type"] == "case-investigation:InvestigativeAction"]
    assert action["uco-action:instrument"] and action["uco-action:performer"]
    evidence = next(n for n in graph if n["@type"] == ["uco-observable:File", "uco-observable:Image"])
    hashes = evidence["uco-core:hasFacet"][1]["uco-observable:hash"]
    findings = json.loads((run / "findings.json").read_text(encoding="utf-8"))
    media_sha256 = findings["evidence"][0]["media"]["sha256"]
    assert {"hashMethod": "SHA256", "value": media_sha256.upper()} in [
        {"hashMethod": h["uco-types:hashMethod"], "value": h["uco-types:hashValue"]["@value"]} for h in hashes]
    assert all("@id" in n for n in graph)


def test_locations_kml_and_geojson(run: Path) -> None:
    manifest = json.loads(DEMO_MANIFEST.read_text(encoding="utf-8"))
    with_gps = {Path(p["path"]).name: p for p in manifest["photos"] if p.get("lat") is not None}
    geo = json.loads((run / "locations.geojson").read_text(encoding="utf-8"))
    assert len(geo["features"]) == demo_locations(manifest)
    points = {f["properties"]["label"]: f["geometry"]["coordinates"] for f in geo["features"]
              if f["properties"]["origin"] == "photo EXIF GPS"}
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
