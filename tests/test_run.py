"""End to end: `triage run` on the demo phone image and on hostile or broken evidence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from triage.cli import main
from triage.custody import verify_chain

ROOT = Path(__file__).parent.parent
DEMO = ROOT / "fixtures" / "demo"
DEMO_E01 = DEMO / "demo.E01"
DEMO_MANIFEST = DEMO / "demo.json"
THIRD = ROOT / "fixtures" / "third_party"


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> tuple[Path, int, str]:
    out = tmp_path_factory.mktemp("demo") / "out"
    before = DEMO_E01.read_bytes()
    import io
    from contextlib import redirect_stdout

    buf = io.StringIO()
    with redirect_stdout(buf):
        code = main(["run", str(DEMO_E01), "--out", str(out), "--case", "DEMO-CASE-001",
                     "--exhibit", "EXH-DEMO-1", "--examiner", "Test Examiner", "--quiet"])
    assert DEMO_E01.read_bytes() == before
    return out, code, buf.getvalue()


def test_demo_run_completes_and_prints_report(demo_run):
    out, code, stdout = demo_run
    assert code == 0
    assert stdout.strip() == f"report: {out / 'index.html'}"
    for name in ("findings.json", "index.html", "custody.jsonl", "case.sqlite"):
        assert (out / name).is_file(), name


def test_demo_sms_are_all_extracted_with_provenance(demo_run):
    out, _, _ = demo_run
    manifest = json.loads((DEMO / "demo.json").read_text(encoding="utf-8"))
    messages = read_jsonl(out / "records" / "message.jsonl")
    expected = manifest["sms"]
    assert len(messages) == len(expected)
    by_row = {m["provenance"]["row"]: m for m in messages}
    for sms in expected:
        m = by_row[str(sms["rowid"])]
        assert m["type"] == "message" and m["app"] == "sms"
        assert m["body"] == sms["body"] and m["counterpart"] == sms["address"]
        assert m["time_raw"] == sms["date"] and m["time_encoding"] == "unix_ms" and m["time_utc"].endswith("Z")
        prov = m["provenance"]
        assert prov["table"] == "sms" and len(prov["sha256"]) == 64
        assert prov["path"].startswith("EWF demo.E01 → GPT partition")
        assert "'userdata' → ext4 → /" in prov["path"] and prov["path"].endswith("databases/mmssms.db")


def test_demo_gps_points_are_locations(demo_run):
    out, _, _ = demo_run
    manifest = json.loads((DEMO / "demo.json").read_text(encoding="utf-8"))
    with_gps = [p for p in manifest["photos"] if p.get("lat") is not None]
    locations = read_jsonl(out / "records" / "location.jsonl")
    assert len(locations) == len(with_gps)
    got = {loc["label"]: loc for loc in locations}
    for photo in with_gps:
        loc = got[Path(photo["path"]).name]
        assert loc["latitude"] == pytest.approx(photo["lat"], abs=1e-6)
        assert loc["longitude"] == pytest.approx(photo["lon"], abs=1e-6)


def test_demo_finding_cites_its_evidence(demo_run):
    out, _, _ = demo_run
    manifest = json.loads((DEMO / "demo.json").read_text(encoding="utf-8"))
    findings = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert findings["schema_version"] == "1.0" and findings["rule_pack"]["rules"]["GEO-01"] == "1.0"
    (geo,) = [f for f in findings["findings"] if f["rule_id"] == "GEO-01"]
    in_zone = sorted(Path(p["path"]).name for p in manifest["photos"] if p.get("zone_kind") == "embarkation")
    cited = sorted(e["provenance"].rsplit("/", 1)[-1] for e in geo["evidence"])
    assert cited == in_zone and len(in_zone) >= 3
    assert all(e["type"] == "location" and len(e["sha256"]) == 64 for e in geo["evidence"])
    for name in in_zone:
        assert name in geo["explanation"]
    assert "not a conclusion" in geo["explanation"]
    assert findings["assessment"]["level"] in ("amber", "red")
    assert findings["evidence"][0]["unchanged"] is True
    assert findings["evidence"][0]["media"]["verified"] is True


def test_demo_report_lists_sms_gps_and_finding(demo_run):
    out, _, _ = demo_run
    html = (out / "index.html").read_text(encoding="utf-8")
    manifest = json.loads((DEMO / "demo.json").read_text(encoding="utf-8"))
    assert "GEO-01" in html
    for sms in manifest["sms"]:
        if sms["body"]:
            assert sms["body"].replace("&", "&amp;").replace("'", "&#39;").replace('"', "&#34;") in html
    for photo in manifest["photos"]:
        if photo.get("lat") is not None:
            assert f"{photo['lat']:.6f}" in html


def test_demo_bad_photo_is_a_warning_not_a_crash(demo_run):
    out, _, _ = demo_run
    warnings = read_jsonl(out / "records" / "parse_warning.jsonl")
    manifest = json.loads(DEMO_MANIFEST.read_text())
    by_path = {w["provenance"]["path"].rsplit(" → ", 1)[-1]: w["message"] for w in warnings
               if w["component"] == "photo_exif"}
    corrupt = [p["path"] for p in manifest["photos"] if p.get("gps") == "corrupt"]
    assert corrupt and all("EXIF segment but no tag" in by_path[path] for path in corrupt)
    placeholder = [p["path"] for p in manifest["photos"] if p.get("gps") == "zero"]
    assert all("0/0 placeholder" in by_path[path] for path in placeholder)
    media = {m["path"] for m in read_jsonl(out / "records" / "media_file.jsonl")}
    assert set(corrupt) <= media  # recorded, not dropped


def test_demo_custody_chain_is_intact_and_complete(demo_run):
    out, _, _ = demo_run
    assert verify_chain(out / "custody.jsonl").ok
    actions = [e["action"] for e in read_jsonl(out / "custody.jsonl")]
    assert actions[0] == "run started" and actions[-1] == "run finished"
    for needed in ("evidence files hashed (before)", "media hashed", "rules evaluated",
                   "evidence files hashed (after)", "report written"):
        assert needed in actions


def test_demo_run_is_deterministic(demo_run, tmp_path):
    out, _, _ = demo_run
    again = tmp_path / "again"
    assert main(["run", str(DEMO_E01), "--out", str(again), "--case", "DEMO-CASE-001",
                 "--exhibit", "EXH-DEMO-1", "--examiner", "Test Examiner", "--quiet"]) == 0
    for path in sorted((out / "records").glob("*.jsonl")):
        if path.name != "custody_event.jsonl":  # run times by design
            assert path.read_bytes() == (again / "records" / path.name).read_bytes(), path.name
    first, second = (json.loads((d / "findings.json").read_text()) for d in (out, again))
    first.pop("run"), second.pop("run")
    assert first == second


def test_output_folder_is_never_overwritten(demo_run, capsys):
    out, _, _ = demo_run
    assert main(["run", str(DEMO_E01), "--out", str(out), "--quiet"]) == 2
    assert "not empty" in capsys.readouterr().err


def test_fatal_error_is_recorded_in_custody(tmp_path, unchanged):
    bad = THIRD / "e01-rs/data/bad_chunk.E01"  # a corrupt E01 wrapping a bare JPEG: no file system
    unchanged(bad)
    out = tmp_path / "out"
    assert main(["run", str(bad), "--out", str(out), "--quiet"]) == 2
    entries = read_jsonl(out / "custody.jsonl")
    assert entries[-1]["action"] == "run failed" and "no volume or file system found" in entries[-1]["details"]["reason"]
    assert verify_chain(out / "custody.jsonl").ok


def test_no_file_system_is_one_line_fatal(tmp_path, capsys, unchanged):
    bogus = THIRD / "dfvfs/test_data/bogus.001"
    unchanged(bogus)
    assert main(["run", str(bogus), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "no volume or file system found" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_db_option_takes_any_sqlalchemy_url(tmp_path):
    db = tmp_path / "elsewhere.sqlite"
    out = tmp_path / "out"
    assert main(["run", str(DEMO_E01), "--out", str(out), "--db", f"sqlite:///{db}", "--quiet"]) == 0
    assert db.is_file() and not (out / "case.sqlite").exists()
    import sqlite3

    with sqlite3.connect(db) as con:
        assert con.execute("select count(*) from message").fetchone()[0] > 0
    # a store that already holds a run is refused rather than mixed
    assert main(["run", str(DEMO_E01), "--out", str(tmp_path / "o2"), "--db", f"sqlite:///{db}", "--quiet"]) == 2


def test_demo_parties_link_each_sms_number(demo_run):
    out, _, _ = demo_run
    manifest = json.loads(DEMO_MANIFEST.read_text())
    parties = read_jsonl(out / "records" / "party.jsonl")
    addresses = {sms["address"] for sms in manifest["sms"]}
    assert {p["key"] for p in parties} == addresses  # the demo's SMS numbers are all international
    for party in parties:
        rows = sorted(r["id"] for r in party["refs"] if r["type"] == "message")
        assert len(rows) == sum(sms["address"] == party["key"] for sms in manifest["sms"])
