"""End to end: `triage run` on the demo phone image and on hostile or broken evidence."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from tests.bundle_layout import payload
from triage.cli import main
from triage.integrity.custody import verify_chain

ROOT = Path(__file__).parents[2]
DEMO = ROOT / "fixtures" / "demo"
DEMO_E01 = DEMO / "demo.E01"
DEMO_MANIFEST = DEMO / "demo.json"
THIRD = ROOT / "fixtures" / "third_party"


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def manifest() -> dict:
    return json.loads(DEMO_MANIFEST.read_text(encoding="utf-8"))


def by_source(records: list[dict], app: str, table: str) -> dict[int, dict]:
    """Records of one app read from one table, keyed by their source row."""
    return {
        int(r["provenance"]["row"]): r for r in records if r.get("app") == app and r["provenance"]["table"] == table
    }


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> tuple[Path, int, str]:
    out = tmp_path_factory.mktemp("demo") / "out"
    before = DEMO_E01.read_bytes()
    import io
    from contextlib import redirect_stdout

    buf = io.StringIO()
    with redirect_stdout(buf):
        code = main(
            [
                "run",
                str(DEMO_E01),
                "--out",
                str(out),
                "--case",
                "DEMO-CASE-001",
                "--exhibit",
                "EXH-DEMO-1",
                "--examiner",
                "Test Examiner",
                "--quiet",
            ]
        )
    assert DEMO_E01.read_bytes() == before
    return payload(out), code, buf.getvalue()  # the sealed run's files are under data/


def test_demo_run_completes_and_prints_report(demo_run):
    out, code, stdout = demo_run
    assert code == 0
    assert stdout.strip() == f"report: {out / 'index.html'}"
    for name in ("findings.json", "index.html", "custody.jsonl", "case.sqlite"):
        assert (out / name).is_file(), name


def test_demo_sms_are_all_extracted_with_provenance(demo_run):
    out, _, _ = demo_run
    manifest = json.loads((DEMO / "demo.json").read_text(encoding="utf-8"))
    messages = [m for m in read_jsonl(out / "records" / "message.jsonl") if m["app"] == "sms"]
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
    locations = [loc for loc in read_jsonl(out / "records" / "location.jsonl") if loc["origin"] == "photo EXIF GPS"]
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
    assert findings["schema_version"] == "1.4" and findings["rule_pack"]["rules"]["GEO-01"] == "1.2"
    (geo,) = [f for f in findings["findings"] if f["rule_id"] == "GEO-01"]
    in_zone = sorted(Path(p["path"]).name for p in manifest["photos"] if p.get("zone_kind") == "embarkation")
    photos = [e for e in geo["evidence"] if "/media/0/DCIM/" in e["provenance"]]
    cited = sorted(e["provenance"].rsplit("/", 1)[-1] for e in photos)
    assert cited == in_zone and len(in_zone) >= 3
    assert all(e["type"] == "location" and len(e["sha256"]) == 64 for e in geo["evidence"])
    # beach pins that others sent (WhatsApp, Telegram) are not where the phone was: not cited by GEO-01
    assert shared_in_zone(manifest, "embarkation") and manifest["telegram"]["locations"]
    assert [e for e in geo["evidence"] if e not in photos] == []
    # the explanation names the first records and counts the rest (all are in `evidence`)
    more = re.search(r"… and (\d+) more \(all listed as evidence\)", geo["explanation"])
    named = geo["explanation"].count("[source: ")
    assert named + (int(more.group(1)) if more else 0) == len(geo["evidence"])
    assert f"{len(geo['evidence'])} record(s)" in geo["explanation"]
    assert any(name in geo["explanation"] for name in in_zone)
    assert "not a conclusion" in geo["explanation"]
    assert findings["assessment"]["level"] in ("amber", "red")
    assert findings["evidence"][0]["unchanged"] is True
    assert findings["evidence"][0]["media"]["verified"] is True


def test_demo_report_lists_sms_gps_and_finding(demo_run):
    out, _, _ = demo_run
    # the front page holds the findings; every message and position is on the paged listings
    html = (out / "index.html").read_text(encoding="utf-8") + "".join(
        p.read_text(encoding="utf-8") for p in sorted((out / "pages").glob("*.html"))
    )
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
    by_path = {
        w["provenance"]["path"].rsplit(" → ", 1)[-1]: w["message"] for w in warnings if w["component"] == "photo_exif"
    }
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
    for needed in (
        "evidence files hashed (before)",
        "media hashed",
        "rules evaluated",
        "evidence files hashed (after)",
        "report written",
    ):
        assert needed in actions


def test_the_acquisition_hash_is_read_while_listing_and_parsing_and_recorded_before_parsing_finishes(demo_run):
    """Issue 14: an image's media hash is read by a fork from the moment the evidence is open, beside the listing
    and the parsing (triage/run/media_hash.py); its entry says when it started and comes before the evidence's
    other entries of the parse, with the hashes verified against the E01's stored ones."""
    out, _, _ = demo_run
    entries = read_jsonl(out / "custody.jsonl")
    at = {e["action"]: n for n, e in enumerate(entries)}
    media = entries[at["media hashed"]]
    assert at["files selected for parsing"] < at["media hashed"] < at["parsing finished"]
    assert media["details"]["read_while"] == "listing and parsing" and media["details"]["verified"] is True
    assert entries[at["run started"]]["time_utc"] <= media["details"]["started_utc"]
    assert media["details"]["started_utc"] <= entries[at["evidence files hashed (before)"]]["time_utc"]
    assert media["details"]["started_utc"] <= media["time_utc"]


def test_the_evidence_files_are_hashed_while_listed_and_the_entries_keep_their_order(demo_run):
    """Issue 14: the "before" hashes are read on a thread while the evidence is listed (the listing only reads);
    the entries stay in their order (hashed, opened, selected) and say what ran beside the hashing."""
    out, _, _ = demo_run
    entries = read_jsonl(out / "custody.jsonl")
    at = {e["action"]: n for n, e in enumerate(entries)}
    assert at["evidence files hashed (before)"] < at["evidence opened"] < at["files selected for parsing"]
    before, after = entries[at["evidence files hashed (before)"]], entries[at["evidence files hashed (after)"]]
    assert before["details"]["read_while"] == "listing" and after["details"]["read_while"] == "passes"
    assert before["details"]["sha256"] == after["details"]["sha256"] and before["details"]["files"] >= 1
    from triage.report.examination import describe

    assert describe(before["action"], before["details"]).endswith("; read while the evidence was listed (read only)")


@pytest.mark.parametrize("many", [0, 100])
def test_a_folder_s_files_are_hashed_while_it_is_listed(tmp_path, monkeypatch, many):
    """A folder's many small files are hashed in a process of their own while it is listed (on a thread beside the
    listing they would contend with it), an image's few files on a thread (here: as many as MANY_FILES allows);
    either way the entry comes first and says so."""
    import triage.integrity.file_hashes

    monkeypatch.setattr(triage.integrity.file_hashes, "MANY_FILES", many)
    evidence = tmp_path / "phone"
    for n in range(5):
        (evidence / "sdcard" / f"d{n}").mkdir(parents=True)
        (evidence / "sdcard" / f"d{n}" / "note.txt").write_text(f"note {n}\n", encoding="utf-8")
    assert main(["run", str(evidence), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    entries = read_jsonl(payload(tmp_path / "out") / "custody.jsonl")
    at = {e["action"]: n for n, e in enumerate(entries)}
    assert at["evidence files hashed (before)"] < at["evidence opened"] < at["files selected for parsing"]
    before = entries[at["evidence files hashed (before)"]]["details"]
    after = entries[at["evidence files hashed (after)"]]["details"]
    assert before["files"] == 5 and before["read_while"] == "listing" and after["read_while"] == "passes"
    assert before["sha256"] == after["sha256"] and hashlib.sha256(b"note 0\n").hexdigest() in before["sha256"].values()


def test_full_case_graph_only_when_asked(demo_run):
    """case-records.jsonld (every record as CASE/UCO, as large as records/) needs --case-records; the run
    says which it chose (tests/report/test_exports.py runs with it)."""
    out, _, _ = demo_run
    assert (out / "case.jsonld").is_file() and not (out / "case-records.jsonld").exists()
    assert read_jsonl(out / "custody.jsonl")[0]["details"]["case_records"] is False


def test_demo_run_is_deterministic(demo_run, tmp_path):
    out, _, _ = demo_run
    again = tmp_path / "again"
    assert (
        main(
            [
                "run",
                str(DEMO_E01),
                "--out",
                str(again),
                "--case",
                "DEMO-CASE-001",
                "--exhibit",
                "EXH-DEMO-1",
                "--examiner",
                "Test Examiner",
                "--quiet",
            ]
        )
        == 0
    )
    for path in sorted((out / "records").glob("*.jsonl")):
        if path.name != "custody_event.jsonl":  # run times by design
            assert path.read_bytes() == (payload(again) / "records" / path.name).read_bytes(), path.name
    first, second = (json.loads((d / "findings.json").read_text()) for d in (out, payload(again)))
    first.pop("run"), second.pop("run")
    assert first == second


def test_output_folder_is_never_overwritten(demo_run, capsys):
    out, _, _ = demo_run
    assert main(["run", str(DEMO_E01), "--out", str(out.parent), "--quiet"]) == 2
    assert "not empty" in capsys.readouterr().err


def test_fatal_error_is_recorded_in_custody(tmp_path, unchanged):
    bad = THIRD / "e01-rs/data/bad_chunk.E01"  # a corrupt E01 wrapping a bare JPEG: no file system
    unchanged(bad)
    out = tmp_path / "out"
    assert main(["run", str(bad), "--out", str(out), "--quiet"]) == 2
    entries = read_jsonl(out / "custody.jsonl")
    assert entries[-1]["action"] == "run failed"
    assert "no volume or file system found" in entries[-1]["details"]["reason"]
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
    assert db.is_file() and not (payload(out) / "case.sqlite").exists()
    import sqlite3

    with sqlite3.connect(db) as con:
        assert con.execute("select count(*) from message").fetchone()[0] > 0
    # a store that already holds a run is refused rather than mixed
    assert main(["run", str(DEMO_E01), "--out", str(tmp_path / "o2"), "--db", f"sqlite:///{db}", "--quiet"]) == 2


def shared_in_zone(manifest: dict, kind: str) -> int:
    """WhatsApp positions (static pins, live-location starts) inside a zone of that kind."""
    from rules.zones import ZoneSet

    zones = ZoneSet.load(ROOT / manifest["zones_file"]["path"])
    return sum(
        any(z.kind == kind for z in zones.containing(loc["latitude"], loc["longitude"]))
        for loc in manifest["whatsapp"]["locations"]
    )


def test_demo_parties_link_each_sms_number(demo_run):
    out, _, _ = demo_run
    manifest = json.loads(DEMO_MANIFEST.read_text())
    parties = {p["key"]: p for p in read_jsonl(out / "records" / "party.jsonl")}
    sms = by_source(read_jsonl(out / "records" / "message.jsonl"), "sms", "sms")
    ids = {m["id"]: row for row, m in sms.items()}
    addresses = {s["address"] for s in manifest["sms"]}
    assert addresses <= set(parties)  # the demo's SMS numbers are all international
    for address in addresses:
        rows = sorted(ids[r["id"]] for r in parties[address]["refs"] if r["type"] == "message" and r["id"] in ids)
        assert rows == [s["rowid"] for s in manifest["sms"] if s["address"] == address]


def person_refs(out: Path, person: dict) -> dict[str, set[int]]:
    """The record ids the party of `person` must cite, source by source, from the manifest's rows."""
    messages = read_jsonl(out / "records" / "message.jsonl")
    calls = read_jsonl(out / "records" / "call.jsonl")
    contacts = read_jsonl(out / "records" / "contact.jsonl")
    pick = lambda records, rows: {records[r]["id"] for r in rows}  # noqa: E731
    return {
        "sms": pick(by_source(messages, "sms", "sms"), person["sms_rowids"]),
        "whatsapp messages": pick(by_source(messages, "whatsapp", "message"), person["whatsapp_message_rowids"]),
        "whatsapp calls": pick(by_source(calls, "whatsapp", "call_log"), person["whatsapp_call_ids"]),
        "contacts": pick(by_source(contacts, "contacts", "raw_contacts"), [person["contact_raw_id"]]),
        "calls": pick(by_source(calls, "phone", "calls"), person["call_rowids"]),
    }


def test_demo_parties_link_one_person_across_sms_whatsapp_contacts_and_calls(demo_run):
    out, _, _ = demo_run
    calls = {c["rowid"]: c for c in manifest()["calls"]}
    parties = {p["key"]: p for p in read_jsonl(out / "records" / "party.jsonl")}
    for person in manifest()["people"]:
        party = parties[person["e164"]]
        cited = {r["id"] for r in party["refs"]}
        wanted = person_refs(
            out, {**person, "call_rowids": [r for r in person["call_rowids"] if calls[r]["number"].startswith("+")]}
        )
        for source, ids in wanted.items():
            assert ids <= cited, (person["name"], source)
        assert person["name"] in party["names"]
        assert set(person["raw_forms"]) <= set(party["raw_forms"])
    karwan = parties[next(p["e164"] for p in manifest()["people"] if p["name"] == "Karwan")]
    assert {"sms", "whatsapp", "contacts", "phone"} <= set(karwan["apps"])
    assert "07501234567" in karwan["raw_forms"]  # the national form joined the Iraqi number (same contact)


def test_demo_party_with_a_national_form_is_marked_ambiguous(demo_run):
    out, _, _ = demo_run
    parties = {p["key"]: p for p in read_jsonl(out / "records" / "party.jsonl")}
    karwan = parties["+9647501234567"]
    assert karwan["ambiguous"] is True
    assert {"+447501234567 (GB)", "+9647501234567 (IQ)"} <= set(karwan["candidates"])


def test_demo_national_form_call_joins_its_party_by_countryiso(demo_run):
    out, _, _ = demo_run
    national = [c for c in manifest()["calls"] if not c["number"].startswith("+")]
    assert national and all(c["countryiso"] == "GB" for c in national)
    parties = {p["key"]: p for p in read_jsonl(out / "records" / "party.jsonl")}
    calls = by_source(read_jsonl(out / "records" / "call.jsonl"), "phone", "calls")
    for call in national:
        cited = {r["id"] for r in parties[call["normalized_number"]]["refs"]}
        assert calls[call["rowid"]]["id"] in cited


def test_demo_whatsapp_records_are_as_in_the_manifest(demo_run):
    out, _, _ = demo_run
    info = manifest()["whatsapp"]
    messages = by_source(read_jsonl(out / "records" / "message.jsonl"), "whatsapp", "message")
    assert sorted(messages) == [m["rowid"] for m in info["messages"]] and len(messages) == info["message_count"]
    for m in info["messages"]:
        got = messages[m["rowid"]]
        assert (got["counterpart"], got["time_raw"], got["body"] or None) == (m["chat"], m["timestamp"], m["text"])
        assert got["direction"] == "outgoing" if m["from_me"] else got["direction"] in ("incoming", "system")
        assert bool(got["extra"].get("hidden_by_app")) == m["hidden_by_app"]
        assert got["provenance"]["path"].endswith(info["msgstore"]["path"])
    locations = [loc for loc in read_jsonl(out / "records" / "location.jsonl") if loc["origin"].startswith("whatsapp")]
    for loc in info["locations"]:
        linked = [x for x in locations if x["message_id"] == messages[loc["message_row_id"]]["id"]]
        assert (loc["latitude"], loc["longitude"]) in {(x["latitude"], x["longitude"]) for x in linked}
        if loc["live_location_final_latitude"] is not None:
            assert (loc["live_location_final_latitude"], loc["live_location_final_longitude"]) in {
                (x["latitude"], x["longitude"]) for x in linked
            }
    calls = by_source(read_jsonl(out / "records" / "call.jsonl"), "whatsapp", "call_log")
    assert [
        (calls[c["rowid"]]["counterpart"], calls[c["rowid"]]["time_raw"], calls[c["rowid"]]["duration_s"])
        for c in info["calls"]
    ] == [(c["jid"], c["timestamp"], c["duration"]) for c in info["calls"]]
    contacts = by_source(read_jsonl(out / "records" / "contact.jsonl"), "whatsapp", "wa_contacts")
    assert [contacts[c["_id"]]["name"] for c in info["contacts"]] == [
        c["display_name"] or c["wa_name"] for c in info["contacts"]
    ]  # no address-book name: the WhatsApp name
    (card,) = [c for c in read_jsonl(out / "records" / "contact.jsonl") if c["app"] == "whatsapp vcard"]
    assert card["extra"]["message_row_id"] == info["vcards"][0]["message_row_id"]


def test_demo_telegram_records_are_as_in_the_manifest(demo_run):
    out, _, _ = demo_run
    info = manifest()["telegram"]
    messages = {
        m["extra"]["message_id"]: m for m in read_jsonl(out / "records" / "message.jsonl") if m["app"] == "telegram"
    }
    assert sorted(messages) == sorted(m["mid"] for m in info["messages"])
    for m in info["messages"]:
        got = messages[m["mid"]]
        assert (got["time_utc"], got["time_raw"], got["direction"], got["body"] or None, got["thread"]) == (
            m["time_utc"],
            m["time_raw"],
            m["direction"],
            m["text"],
            m["thread"],
        )
        assert got["provenance"]["path"].endswith(info["cache4_db"]["path"])
    locations = [loc for loc in read_jsonl(out / "records" / "location.jsonl") if loc["origin"].startswith("telegram")]
    assert sorted((loc["latitude"], loc["longitude"], loc["time_utc"]) for loc in locations) == sorted(
        (loc["latitude"], loc["longitude"], loc["time_utc"]) for loc in info["locations"]
    )
    (account,) = [a for a in read_jsonl(out / "records" / "account.jsonl") if a["app"] == "telegram"]
    assert account["identifier"] == info["owner"]["phone"]
    assert account["provenance"]["path"].endswith(info["userconfig"]["path"])


def test_demo_contacts_and_calls_are_as_in_the_manifest(demo_run):
    out, _, _ = demo_run
    info = manifest()
    contacts = by_source(read_jsonl(out / "records" / "contact.jsonl"), "contacts", "raw_contacts")
    assert sorted(contacts) == [c["raw_contact_id"] for c in info["contacts"]]
    for c in info["contacts"]:
        got = contacts[c["raw_contact_id"]]
        assert got["name"] == c["name"] and got["phone_numbers"] == [p["number"] for p in c["phones"]]
        assert got["extra"]["normalized_numbers"] == [p["data4"] for p in c["phones"]]
        assert got["provenance"]["path"].endswith(info["contacts_db"]["path"])
    calls = by_source(read_jsonl(out / "records" / "call.jsonl"), "phone", "calls")
    assert sorted(calls) == [c["rowid"] for c in info["calls"]]
    for c in info["calls"]:
        got = calls[c["rowid"]]
        assert (got["direction"], got["counterpart"], got["time_raw"], got["time_utc"], got["duration_s"]) == (
            c["direction"],
            c["number"],
            c["date"],
            c["time_utc"],
            c["duration"],
        )
        assert got["extra"]["countryiso"] == c["countryiso"]
        assert got["provenance"]["path"].endswith(info["calllog_db"]["path"])


def test_demo_payment_sms_give_the_manifest_payments(demo_run):
    out, _, _ = demo_run
    expected = manifest()["payments"]["expected"]
    sms = by_source(read_jsonl(out / "records" / "message.jsonl"), "sms", "sms")
    payments = read_jsonl(out / "records" / "payment.jsonl")
    for want in expected:
        source = sms[want["sms_rowid"]]
        (got,) = [p for p in payments if p["message_id"] == source["id"]]
        assert {k: got[k] for k in want if k != "sms_rowid"} == {k: v for k, v in want.items() if k != "sms_rowid"}
        assert got["provenance"] == source["provenance"]
    findings = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    mtcn_row = str(next(w["sms_rowid"] for w in expected if w["method"] == "mtcn"))
    pay02 = [f for f in findings["findings"] if f["rule_id"] == "PAY-02"]  # the rule reads messages and payments
    assert pay02 and all(e["table"] == "sms" and e["row"] == mtcn_row for f in pay02 for e in f["evidence"])


@pytest.mark.parametrize("many", [False, True])
def test_hashes_worked_out_beside_end_with_their_progress_full(tmp_path, many):
    """The 'before' and 'after' hashes are worked out beside other work: on a thread for a few files, in a spawned
    process in batches for many (file_hashes.hashing_pool); the stage waiting for them follows the bytes done
    (HashedBeside) and ends full, with each file's SHA-256 by its shown path."""
    from triage.evidence.model import shown_path
    from triage.integrity.file_hashes import BATCH, MANY_FILES, hashing_pool
    from triage.run.pipeline import HashedBeside
    from triage.run.progress import Tracker

    count = MANY_FILES + BATCH + 1 if many else 3
    files, expected, total = [], {}, 0
    for n in range(count):
        data = n.to_bytes(2, "big") * (500 + n % 7)
        (tmp_path / f"f{n}").write_bytes(data)
        files.append(str(tmp_path / f"f{n}"))
        expected[shown_path(files[-1])] = hashlib.sha256(data).hexdigest()
        total += len(data)
    seen: list[tuple[int, int | None]] = []

    class Bar(Tracker):
        def update(self, done: int, total: int | None = None) -> None:
            seen.append((done, total))

    with hashing_pool(files) as pool:
        assert type(pool).__name__ == ("ProcessPoolExecutor" if many else "ThreadPoolExecutor")
        hashed = HashedBeside(pool, files)
        assert hashed.result(Bar(), total) == expected
    assert seen[-1] == (total, total) and hashed.done == total
    assert len(hashed.batches) == (2 if many else 3)  # BATCH files a batch for many files, one each for a few


def test_a_pool_that_breaks_costs_only_time(tmp_path):
    """The process hashing a folder's files dies: the run hashes what is left itself, the same hashes."""
    import os
    import signal

    from triage.integrity.file_hashes import MANY_FILES, hashing_pool
    from triage.run.pipeline import HashedBeside
    from triage.run.progress import Tracker

    files = []
    for n in range(MANY_FILES + 1):
        (tmp_path / f"f{n}").write_bytes(b"x" * n)
        files.append(str(tmp_path / f"f{n}"))
    with hashing_pool(files) as pool:
        os.kill(pool.submit(os.getpid).result(), signal.SIGKILL)  # the pool's own process, as it says
        hashed = HashedBeside(pool, files)
        hashes = hashed.result(Tracker(), sum(range(MANY_FILES + 1)))
    assert hashes[str(tmp_path / "f3")] == hashlib.sha256(b"xxx").hexdigest() and len(hashes) == len(files)
