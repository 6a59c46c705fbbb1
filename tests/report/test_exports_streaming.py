"""The exports written record by record (issue 14, deliverable 5): the same bytes as one write of the
whole collection, read from the store page by page, in bounded memory; CASE split into the findings'
file and the full record set; the bundle zip storing what is already compressed."""

from __future__ import annotations

import csv
import html
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.big_store import fill
from triage.bundle.seal import compression_for
from triage.integrity.exclusive import ExistingFileError
from triage.model.records import (
    EXPORTED_RECORDS,
    Call,
    Contact,
    CustodyEvent,
    Device,
    EvidenceItem,
    Finding,
    Location,
    MediaFile,
    Message,
    ParseWarning,
    SourceFile,
)
from triage.report import store_rows
from triage.report.case_export import RECORDS_FILE, write_case
from triage.report.display import BIDI_CONTROLS, visible_controls
from triage.report.export import dumps, record_json, write_records
from triage.report.geo_export import KML_NS, geojson_text, kml_document, write_geo
from triage.report.tables import write_csv, write_record_tables, write_schedules
from triage.store import CaseStore

WHEN = datetime(2025, 5, 14, 17, 2, 11, tzinfo=UTC)
CASE = {"case": "CASE-S", "exhibit": "EXH-S", "examiner": "Streaming Test Examiner"}
SMALL_PAGE = 3  # pages far smaller than the tables, so every export crosses page boundaries
HOSTILE = [
    '=HYPERLINK("http://evil.example/")',
    "+447700900123",
    "<script>alert(1)</script>",
    "pay \u202e0021\u202c now\x00",
    "line\u2028separator",
    "plain café",
]


def small_store(folder: Path) -> CaseStore:
    """A store with every kind of record the exports write, hostile texts, a record without a source and a
    warning with one, and findings citing a message, a position, a contact, a call and a media file."""
    folder.mkdir(parents=True)
    store = CaseStore.in_folder(folder)
    src = SourceFile(
        path="/data/mmssms.db",
        layers=["zip phone.zip"],
        provenance="zip phone.zip → /data/mmssms.db",
        sha256="ab" * 32,
        parser="android_sms",
        record_count=len(HOSTILE),
        size=4096,
    )
    store.add(src)
    store.flush()
    store.insert(Device(model="Pixel 7", serial="SER1", imei=["356938035643809"], source_file_id=src.id))
    for n, text in enumerate(HOSTILE, start=1):
        store.insert(
            Message(
                app="sms",
                thread="1",
                direction="incoming" if n % 2 else "outgoing",
                counterpart=f"+44770090012{n % 3}",
                sender=None,
                body=text,
                time_utc=WHEN,
                time_raw=1747242131530 + n,
                time_encoding="unix_ms",
                extra={"n": n, "text": text},
                source_file_id=src.id,
                source_table="sms",
                source_row=str(n),
            )
        )
        store.insert(
            Location(
                origin="whatsapp shared location",
                latitude=50.9 + n / 100,
                longitude=1.8,
                altitude_m=12.5 if n % 2 else None,
                time_utc=WHEN if n % 3 else None,
                label=text,
                source_file_id=src.id if n % 4 else None,
                source_table="message_location",
                source_row=str(n),
            )
        )
    store.insert(
        Message(
            app="sms",
            thread=None,
            direction="unknown",
            counterpart=None,
            sender=None,
            body=None,
            time_utc=None,
            time_raw=None,
            time_encoding="none",
        )
    )  # no source file: null provenance
    store.insert(
        Contact(
            app="contacts",
            name="Ali <b>",
            phone_numbers=["+447700900121", "+447700900122"],
            source_file_id=src.id,
            source_table="raw_contacts",
            source_row="1",
        )
    )
    store.insert(
        Contact(
            app="contacts",
            name="Same number",
            phone_numbers=["+447700900121"],
            source_file_id=src.id,
            source_table="raw_contacts",
            source_row="2",
        )
    )
    store.insert(
        Call(
            app="phone",
            direction="missed",
            counterpart="+447700900121",
            time_utc=WHEN,
            time_raw=1,
            time_encoding="unix_ms",
            duration_s=61.6,
            video=False,
            source_file_id=src.id,
        )
    )
    store.insert(
        MediaFile(
            path="/sdcard/DCIM/a.jpg",
            name="a.jpg",
            size=1234,
            sha256="cd" * 32,
            mime="image/jpeg",
            source_file_id=src.id,
            source_offset=0,
        )
    )
    store.insert(
        ParseWarning(
            stage="parser",
            component="android_sms",
            level="warning",
            message="=1+1 odd row",
            provenance=src.provenance,
            source_file_id=src.id,
        )
    )
    store.commit()
    cited = [
        ("message", 2),
        ("location", 3),
        ("contact", 1),
        ("call", 1),
        ("media_file", 1),
        ("device", 1),
        ("payment", 9),
    ]  # a payment has no CASE node: cited in findings.json, not in the graph
    for n, (kind, id_) in enumerate(cited):
        store.add(
            Finding(
                rule_id=f"TST-{n:02d}",
                rule_version="1",
                severity="MEDIUM",
                title="Test indicator",
                explanation=f"{kind} #{id_}",
                time_utc=WHEN,
                evidence=[{"type": kind, "id": id_, "provenance": src.provenance}],
            )
        )
    store.add(
        EvidenceItem(
            source="/evidence/phone.zip",
            kind="zip",
            container_files=["/evidence/phone.zip"],
            media={"size": 1000, "sha256": "ef" * 32},
            files_sha256_before={},
        )
    )
    for seq in range(2):
        store.add(
            CustodyEvent(
                seq=seq,
                time_utc=WHEN.replace(minute=seq),
                actor="t",
                action="a",
                details={},
                prev_sha256="0" * 64,
                sha256="1" * 64,
            )
        )
    store.commit()
    return store


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CaseStore:
    monkeypatch.setattr(store_rows, "PAGE_ROWS", SMALL_PAGE)
    s = small_store(tmp_path / "store")
    yield s
    s.close()


# -- records/: the same bytes as a list of every record would give -----------------------------------------


def test_pages_give_every_record_once_in_id_order(store: CaseStore) -> None:
    assert [r.id for r in store_rows.records(store, Message)] == list(range(1, len(HOSTILE) + 2))
    assert [r.id for r in store_rows.records(store, Location)] == [loc.id for loc in store.all(Location)]
    assert list(store_rows.record_ids(store, Message)) == list(range(1, len(HOSTILE) + 2))
    assert [r.id for r in store_rows.records_by_id(store, Message, [5, 2, 2, 999, 3])] == [2, 3, 5]


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n")[:-1]]  # not at U+2028


def test_records_jsonl_equals_the_one_shot_export(store: CaseStore, tmp_path: Path) -> None:
    sources = {s.id: s for s in store.all(SourceFile)}
    written = write_records(store, tmp_path / "records")
    assert list(written) == [cls.record_type for cls in EXPORTED_RECORDS]
    for cls in EXPORTED_RECORDS:  # each as the list-based export wrote it (an empty file for none)
        expected = "".join(dumps(record_json(r, sources)) + "\n" for r in store.all(cls))
        assert written[cls.record_type].read_text(encoding="utf-8") == expected, cls.record_type
    assert written["payment"].read_bytes() == b""
    lines = jsonl(written["message"])
    assert [m["body"] for m in lines[:-1]] == HOSTILE  # raw values, not defused
    assert lines[-1]["provenance"] == {
        "source_file_id": None,
        "path": None,
        "sha256": None,
        "table": None,
        "row": None,
        "offset": None,
        "row_sha256": None,
    }
    assert lines[0]["provenance"]["path"] == "zip phone.zip → /data/mmssms.db"
    (warning,) = jsonl(written["parse_warning"])
    assert warning["provenance"]["sha256"] == "ab" * 32 and warning["provenance"]["table"] is None


def test_record_csv_tables_stream_with_the_header_of_their_columns(store: CaseStore, tmp_path: Path) -> None:
    folder = tmp_path / "records"
    folder.mkdir()
    write_record_tables(store, folder)
    with open(folder / "message.csv", encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert reader.fieldnames == sorted(reader.fieldnames) and "provenance_path" in reader.fieldnames
    assert [r["body"] for r in rows[:-1]] == ["'" + HOSTILE[0], *HOSTILE[1:]]  # a formula defused, a number kept
    assert (folder / "payment.csv").read_bytes() == "\ufeff\r\n".encode("utf-8")  # no rows: as before, no header
    write_schedules(store, tmp_path)
    with open(tmp_path / "schedule_findings.csv", encoding="utf-8-sig", newline="") as f:
        assert [r["rule_id"] for r in csv.DictReader(f)] == [f"TST-{n:02d}" for n in range(7)]


def test_write_csv_writes_a_generator_under_its_first_row_s_columns(tmp_path: Path) -> None:
    rows = ({"b": str(n), "a": "=x" if n == 1 else "y"} for n in range(3))
    path = write_csv(tmp_path / "t.csv", rows)
    assert path.read_bytes().decode("utf-8-sig") == "a,b\r\ny,0\r\n'=x,1\r\ny,2\r\n"


# -- locations: streamed position by position, same bytes as the whole document ------------------------------


def reference_geojson(features: list[dict]) -> str:
    """The FeatureCollection as one json.dumps, with the escapes locations.geojson promises."""
    text = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False, indent=1, sort_keys=True)
    escaped = re.compile("[<>&\u0080-\u009f\u2028\u2029" + "".join(BIDI_CONTROLS) + "]")
    return escaped.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"


def reference_kml(features: list[dict]) -> bytes:
    """The KML document built as one ElementTree and serialised at once."""
    ET.register_namespace("", KML_NS)
    kml = ET.Element(f"{{{KML_NS}}}kml")
    doc = ET.SubElement(kml, f"{{{KML_NS}}}Document")
    ET.SubElement(doc, f"{{{KML_NS}}}name").text = "Locations"
    for f in features:
        p = f["properties"]
        mark = ET.SubElement(doc, f"{{{KML_NS}}}Placemark")
        ET.SubElement(mark, f"{{{KML_NS}}}name").text = html.escape(visible_controls(p["label"] or p["origin"]))
        ET.SubElement(mark, f"{{{KML_NS}}}description").text = html.escape(
            visible_controls(f"{p['origin']}; {p['provenance'] or 'no source file'}; SHA-256 {p['sha256'] or '-'}")
        )
        if p["time_utc"]:
            ET.SubElement(ET.SubElement(mark, f"{{{KML_NS}}}TimeStamp"), f"{{{KML_NS}}}when").text = p["time_utc"]
        ET.SubElement(ET.SubElement(mark, f"{{{KML_NS}}}Point"), f"{{{KML_NS}}}coordinates").text = ",".join(
            str(c) for c in f["geometry"]["coordinates"]
        )
    return ET.tostring(kml, encoding="utf-8", xml_declaration=True) + b"\n"


@pytest.mark.parametrize("count", [0, 1, 4])
def test_geo_documents_streamed_equal_the_whole_documents(count: int) -> None:
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [1.8, 50.9 + n, 3.0][: 2 + n % 2]},
            "properties": {
                "id": n,
                "origin": "exif",
                "label": HOSTILE[n + 2] if n < 4 else None,
                "time_utc": "2025-05-14T17:02:11Z" if n % 2 else None,
                "accuracy_m": None,
                "provenance": "zip → a.jpg",
                "sha256": None,
            },
        }
        for n in range(count)
    ]
    assert geojson_text(iter(features)) == reference_geojson(features)
    assert kml_document(iter(features)) == reference_kml(features)


def test_write_geo_from_the_store(store: CaseStore, tmp_path: Path) -> None:
    write_geo(store, tmp_path)
    geo = json.loads((tmp_path / "locations.geojson").read_text(encoding="utf-8"))
    assert [f["properties"]["label"] for f in geo["features"]] == HOSTILE
    assert [f["properties"]["provenance"] is None for f in geo["features"]] == [n % 4 == 0 for n in range(1, 7)]
    assert "<script>" not in (tmp_path / "locations.geojson").read_text(encoding="utf-8")
    marks = ET.parse(tmp_path / "locations.kml").getroot().findall(f".//{{{KML_NS}}}Placemark")
    assert [m.find(f"{{{KML_NS}}}name").text for m in marks][2] == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert len(marks) == len(HOSTILE)


# -- CASE: the findings' file and the full record set ------------------------------------------------------


def case_nodes(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["@graph"]


def kind(node: dict) -> str:
    return node["@type"] if isinstance(node["@type"], str) else node["@type"][0]


@pytest.fixture
def case_files(store: CaseStore, tmp_path: Path) -> Path:
    assert write_case(store, CASE, tmp_path / "case.jsonld") == [tmp_path / "case.jsonld", tmp_path / RECORDS_FILE]
    return tmp_path


def test_case_jsonld_holds_only_the_cited_records(case_files: Path) -> None:
    main = case_nodes(case_files / "case.jsonld")
    kinds = [kind(n) for n in main]
    for node_type in (
        "uco-observable:Message",
        "uco-location:Location",
        "uco-observable:Contact",
        "uco-observable:Call",
        "uco-observable:MobileDevice",
    ):
        assert kinds.count(node_type) == 1, node_type
    assert kinds.count("uco-observable:File") == 2  # the evidence file and the cited photo
    (message,) = [n for n in main if kind(n) == "uco-observable:Message"]
    assert message["uco-core:hasFacet"][0]["uco-observable:messageText"] == HOSTILE[1]
    # the accounts the cited message and call name, and the cited contact's phone accounts, once each
    accounts = [
        n["uco-core:hasFacet"][0]["uco-observable:accountIdentifier"]
        for n in main
        if kind(n) == "uco-observable:Account"
    ]
    assert sorted(accounts) == ["+447700900121", "+447700900122"]
    assert kinds.count("uco-observable:PhoneAccount") == 2
    (call,) = [n for n in main if kind(n) == "uco-observable:Call"]
    assert call["uco-core:hasFacet"][0]["uco-observable:duration"] == 62
    (action,) = [n for n in main if kind(n) == "case-investigation:InvestigativeAction"]
    assert action["uco-action:startTime"]["@value"] == "2025-05-14T17:00:11Z"
    assert action["uco-action:endTime"]["@value"] == "2025-05-14T17:01:11Z"
    ids = {n["@id"] for n in main}
    finding_records = [n for n in main if n.get("uco-core:name", "").startswith("TST-")]
    assert len(finding_records) == 7
    cited = [o["@id"] for n in finding_records for o in n.get("uco-core:object", [])]
    assert len(cited) == 6 and set(cited) <= ids  # the payment has no node: not cited in the graph


def test_case_records_jsonld_holds_every_record_once_with_the_same_ids(case_files: Path) -> None:
    main = {n["@id"]: n for n in case_nodes(case_files / "case.jsonld")}
    records = case_nodes(case_files / RECORDS_FILE)
    by_id = {n["@id"]: n for n in records}
    assert len(by_id) == len(records)
    kinds = [kind(n) for n in records]
    assert kinds.count("uco-observable:Message") == len(HOSTILE) + 1
    assert kinds.count("uco-location:Location") == len(HOSTILE)
    assert kinds.count("uco-observable:Account") == 3  # the distinct counterparts of messages and calls
    assert kinds.count("uco-observable:PhoneAccount") == 2  # two contacts share a number: one node
    for iri, node in main.items():
        if kind(node) in {
            "uco-observable:Message",
            "uco-location:Location",
            "uco-observable:Contact",
            "uco-observable:Call",
            "uco-observable:MobileDevice",
            "uco-observable:Account",
        }:
            assert by_id[iri] == node
    (output,) = [n for n in records if kind(n) == "case-investigation:ProvenanceRecord"]
    assert output["@id"] in main
    assert len(output["uco-core:object"]) == 1 + (len(HOSTILE) + 1) + 2 + len(HOSTILE) + 1 + 1


def test_case_records_jsonld_never_replaces_a_file(store: CaseStore, tmp_path: Path) -> None:
    planted = tmp_path / RECORDS_FILE
    planted.write_text("planted", encoding="utf-8")
    with pytest.raises(ExistingFileError, match=RECORDS_FILE):
        write_case(store, CASE, tmp_path / "case.jsonld")
    assert planted.read_text(encoding="utf-8") == "planted"


def test_both_case_files_validate_alone_and_together(case_files: Path) -> None:
    beside = Path(sys.executable).parent / "case_validate"
    tool = str(beside) if beside.exists() else shutil.which("case_validate")
    if tool is None:
        pytest.skip("case_validate (case-utils, a test dependency) is not installed")
    for files in (
        [case_files / "case.jsonld"],
        [case_files / RECORDS_FILE],
        [case_files / "case.jsonld", case_files / RECORDS_FILE],
    ):
        result = subprocess.run(
            [tool, "--built-version", "case-1.4.0", *map(str, files)], capture_output=True, text=True, timeout=600
        )
        assert result.returncode == 0 and "Conforms: True" in result.stdout, result.stdout[-3000:]


# -- the bundle zip ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, stored",
    [
        ("EXH/data/thumbs/0a1b.jpg", True),
        ("EXH/data/thumbs/0a1b", True),
        ("EXH/data/report.pdf", True),
        ("EXH/data/media/clip.MOV", True),
        ("EXH/data/x.heif", True),
        ("EXH/data/a.7z", True),
        ("EXH/data/a.tgz", True),
        ("EXH/data/a.m4a", True),
        ("EXH/data/a.gif", True),
        ("EXH/data/a.xz", True),
        ("EXH/data/a.bz2", True),
        ("EXH/data/records/message.jsonl", False),
        ("EXH/data/index.html", False),
        ("thumbs/data/x.json", False),
        ("EXH/data/pages/thumbs.html", False),
        ("EXH/manifest-sha256.txt", False),
    ],
)
def test_already_compressed_members_are_stored(name: str, stored: bool) -> None:
    assert compression_for(name) == (zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED)


def test_zip_streams_large_members_in_bounded_memory(tmp_path: Path) -> None:
    """Two 160 MiB members (sparse files: no disk used), one stored and one deflated, zipped in a child
    process whose peak RSS must stay far below a member's size: neither is read whole."""
    folder = tmp_path / "EXH"
    (folder / "data").mkdir(parents=True)
    for name in ("clip.mov", "dump.bin"):
        with open(folder / "data" / name, "wb") as f:
            f.truncate(160 << 20)
    code = (
        "import json, resource, sys; from pathlib import Path; from triage.bundle.seal import write_zip; "
        "write_zip(Path(sys.argv[1]), Path(sys.argv[2])); "
        "from tests.peak_memory import peak_rss_kib; print(peak_rss_kib())"
    )
    target = tmp_path / "EXH.zip"
    result = subprocess.run(
        [sys.executable, "-c", code, str(folder), str(target)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=Path(__file__).parents[2],
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert int(result.stdout) < 120 * 1024  # KiB; a member read whole would be 160 MiB
    with zipfile.ZipFile(target) as z:
        infos = {i.filename: i for i in z.infolist()}
        assert infos["EXH/data/clip.mov"].compress_type == zipfile.ZIP_STORED
        assert infos["EXH/data/dump.bin"].compress_type == zipfile.ZIP_DEFLATED
        assert infos["EXH/data/dump.bin"].compress_size < 1 << 20 and infos["EXH/data/clip.mov"].file_size == 160 << 20
        assert z.testzip() is None


# -- memory: 200,000 messages exported in bounded memory ------------------------------------------------------

BIG_MESSAGES = 200_000
PEAK_RSS_BOUND_MIB = 300  # measured: ~125 MiB streamed; the list-based exporters peaked at ~1,350 MiB


@pytest.mark.slow
def test_exports_of_200000_messages_stay_in_bounded_memory(tmp_path: Path) -> None:
    fill(tmp_path / "store", BIG_MESSAGES).close()
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "tests.big_store", "export", str(tmp_path / "store" / "case.sqlite"), str(out)],
        capture_output=True,
        text=True,
        timeout=1800,
        cwd=Path(__file__).parents[2],
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    peak_mib = json.loads(result.stdout)["max_rss_kib"] / 1024
    assert peak_mib < PEAK_RSS_BOUND_MIB, f"exporters peaked at {peak_mib:.0f} MiB"
    # and everything was written: every message in the JSONL, the CSV and the full CASE record set
    with open(out / "records" / "message.jsonl", "rb") as f:
        assert sum(1 for _ in f) == BIG_MESSAGES
    with open(out / "records" / "message.csv", encoding="utf-8-sig", newline="") as f:
        assert sum(1 for _ in csv.reader(f)) == BIG_MESSAGES + 1
    with open(out / RECORDS_FILE, encoding="utf-8") as f:
        assert sum('"@type": "uco-observable:Message"' in line for line in f) == BIG_MESSAGES
    main = case_nodes(out / "case.jsonld")
    assert [kind(n) for n in main].count("uco-observable:Message") == 2  # the two the findings cite
