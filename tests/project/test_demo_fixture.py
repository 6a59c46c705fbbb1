"""The demo phone (fixtures/demo): the committed E01 holds what demo.json says, and the builder
(fixtures/build_demo.py) makes the same bytes again.

The checks use tools independent of the code under test where they can: ewfverify/ewfinfo for the
E01, exifread for GPS (decoded here, not by parsers/media/photo_exif.py), the sqlite3 module for the schemas
and rows (SMS, contacts, calls, WhatsApp), a few lines of struct for the GPT.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import shutil
import sqlite3
import struct
import subprocess
import sys
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from types import ModuleType
from typing import Any

import exifread
import phonenumbers
import pytest

from rules.zones import ZoneSet
from triage.evidence import open_evidence

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "fixtures" / "demo"
E01 = DEMO / "demo.E01"
MANIFEST = json.loads((DEMO / "demo.json").read_text(encoding="utf-8"))
TEMPLATE = ROOT / "fixtures" / "third_party" / "teleshoes-smsimporter" / "mmssms.db"
CONTACTS_TEMPLATE = ROOT / "fixtures" / "third_party" / "plaso" / "test_data" / "android" / "contacts2.db"
PHOTOS = MANIFEST["photos"]
BUILD_TOOLS = ("mkfs.ext4", "debugfs", "sgdisk")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def need(*tools: str) -> None:
    missing = [t for t in tools if not (shutil.which(t) or shutil.which(t, path="/usr/sbin:/sbin"))]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (Debian: e2fsprogs gdisk ewf-tools)")


def tool_output(*args: str) -> str:
    exe = shutil.which(args[0]) or shutil.which(args[0], path="/usr/sbin:/sbin")
    done = subprocess.run([exe, *args[1:]], check=False, capture_output=True, text=True)
    return done.stdout + done.stderr


def load_builder() -> ModuleType:
    """fixtures/ is not a package: load the builder from its path."""
    spec = importlib.util.spec_from_file_location("build_demo", ROOT / "fixtures" / "build_demo.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("build_demo", module)  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


builder = load_builder()


# -- the builder makes the same bytes -----------------------------------------------------------------
@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory: pytest.TempPathFactory) -> Any:  # build_demo.Built
    need(*BUILD_TOOLS)
    return builder.build_images(tmp_path_factory.mktemp("demo") / "build")


def skip_unless_same_tools() -> None:
    """JPEG, SQLite and ext4 bytes depend on the library versions; compare only like with like."""
    current = builder.tool_versions()
    differ = {k: (v, current.get(k)) for k, v in MANIFEST["tools"].items() if current.get(k) != v}
    if differ:
        pytest.skip(
            "demo.json was built with other tool versions, so byte equality is not expected: "
            + "; ".join(f"{k} {was} here {now}" for k, (was, now) in differ.items())
        )


def test_rebuilt_files_match_the_manifest(rebuilt):
    skip_unless_same_tools()
    expected = {(f["partition"], f["path"]): (f["size"], f["sha256"]) for f in MANIFEST["files"]}
    built = {}
    for partition, tree in rebuilt.trees.items():
        for path in sorted(p for p in tree.rglob("*") if p.is_file()):
            data = path.read_bytes()
            built[(partition, "/" + path.relative_to(tree).as_posix())] = (len(data), sha256(data))
    assert built == expected


def test_rebuilt_file_systems_and_disk_match_the_manifest(rebuilt):
    skip_unless_same_tools()
    for partition in MANIFEST["partitions"]:
        image = rebuilt.images[partition["name"]]
        assert sha256(image.read_bytes()) == partition["sha256"], partition["name"]
    disk = rebuilt.disk.read_bytes()
    assert len(disk) == MANIFEST["disk"]["size"]
    assert {k: hashlib.new(k, disk).hexdigest() for k in ("md5", "sha1", "sha256")} == {
        k: MANIFEST["disk"][k] for k in ("md5", "sha1", "sha256")
    }


def test_two_builds_on_this_machine_are_identical(rebuilt, tmp_path):
    """Determinism whatever the tool versions: clock, owners, umask and directory order do not leak in."""
    again = builder.build_images(tmp_path / "build")
    for name, image in rebuilt.images.items():
        assert sha256(again.images[name].read_bytes()) == sha256(image.read_bytes()), name
    assert sha256(again.disk.read_bytes()) == sha256(rebuilt.disk.read_bytes())


def gpt_partitions(disk: bytes) -> list[dict]:
    """Name and first LBA of each used GPT entry (header at LBA 1, entries where it says)."""
    header = disk[512:1024]
    assert header[:8] == b"EFI PART"
    entries_lba, count, size = struct.unpack_from("<QII", header, 72)
    found = []
    for i in range(count):
        entry = disk[entries_lba * 512 + i * size :][:size]
        if entry[:16] == bytes(16):
            continue
        first, last = struct.unpack_from("<QQ", entry, 32)
        name = entry[56:128].decode("utf-16-le").rstrip("\x00")
        found.append({"number": i + 1, "name": name, "start_sector": first, "sectors": last - first + 1})
    return found


def test_gpt_layout_matches_the_manifest(rebuilt):
    parts = gpt_partitions(rebuilt.disk.read_bytes())
    assert parts == [{k: p[k] for k in ("number", "name", "start_sector", "sectors")} for p in MANIFEST["partitions"]]


# -- the committed E01 ---------------------------------------------------------------------------------
def test_committed_e01_verifies_with_ewfverify(unchanged):
    need("ewfverify", "ewfinfo")
    unchanged(E01)
    assert sha256(E01.read_bytes()) == MANIFEST["e01"]["sha256"]
    out = tool_output("ewfverify", "-q", "-d", "sha1", str(E01))
    assert "ewfverify: SUCCESS" in out, out
    assert f"MD5 hash calculated over data:\t\t{MANIFEST['disk']['md5']}" in out
    assert f"SHA1 hash calculated over data:\t\t{MANIFEST['disk']['sha1']}" in out
    info = tool_output("ewfinfo", str(E01))
    assert "Case number:\t\tDEMO-CASE-001" in info, info
    assert "Evidence number:\tEXH-DEMO-1" in info and "Examiner name:\t\tDemo Examiner" in info
    assert f"Media size:\t\t48 MiB ({MANIFEST['disk']['size']} bytes)" in info


@pytest.fixture(scope="module")
def e01_files(evidence_guard: Any) -> dict[tuple[str, str], bytes]:
    """(partition name, path) -> bytes of every regular file in the committed E01."""
    evidence_guard(E01)  # the session fails if reading it changed it
    names = {f"p{p['number']}": p["name"] for p in MANIFEST["partitions"]}
    with open_evidence(E01) as ev:
        return {(names[e.volume], e.path): ev.read_bytes(e) for e in ev.walk() if e.type == "file" and e.allocated}


def test_e01_holds_exactly_the_manifest_files(e01_files):
    found = {key: (len(data), sha256(data)) for key, data in e01_files.items()}
    assert found == {(f["partition"], f["path"]): (f["size"], f["sha256"]) for f in MANIFEST["files"]}


def test_e01_partitions_are_named_layers():
    with open_evidence(E01) as ev:
        layers = [v.layers[1] for v in ev.volumes]
    assert layers == [f"GPT partition {p['number']} '{p['name']}'" for p in MANIFEST["partitions"]]


# -- photos --------------------------------------------------------------------------------------------
def degrees(tag: Any) -> float:  # an exifread IfdTag of three rationals
    d, m, s = (Fraction(v.num, v.den) for v in tag.values)
    return float(d + m / 60 + s / 3600)


def gps_position(tags: dict) -> tuple[float, float, float | None] | None:
    if "GPS GPSLatitude" not in tags:
        return None
    lat, lon = degrees(tags["GPS GPSLatitude"]), degrees(tags["GPS GPSLongitude"])
    lat = -lat if str(tags["GPS GPSLatitudeRef"]) == "S" else lat
    lon = -lon if str(tags["GPS GPSLongitudeRef"]) == "W" else lon
    alt = None
    if "GPS GPSAltitude" in tags:
        value = tags["GPS GPSAltitude"].values[0]
        alt = float(Fraction(value.num, value.den)) * (-1 if tags["GPS GPSAltitudeRef"].values[0] == 1 else 1)
    return lat, lon, alt


@pytest.mark.parametrize("photo", PHOTOS, ids=[p["path"].rsplit("/", 1)[-1] for p in PHOTOS])
def test_photo_gps_reads_back_as_in_the_manifest(photo, e01_files):
    data = e01_files[("userdata", photo["path"])]
    assert data[:3] == b"\xff\xd8\xff"
    tags = exifread.process_file(io.BytesIO(data), details=False)
    position = gps_position(tags)
    if photo["gps"] == "fix":
        lat, lon, alt = position
        assert lat == pytest.approx(photo["lat"], abs=1e-6)
        assert lon == pytest.approx(photo["lon"], abs=1e-6)
        assert alt == pytest.approx(photo["alt"], abs=1e-6)
        assert str(tags["Image Make"]) == photo["make"] and str(tags["Image Model"]) == photo["model"]
        assert str(tags["EXIF OffsetTimeOriginal"]) == photo["camera_offset"]
    elif photo["gps"] == "zero":
        assert position[:2] == (0.0, 0.0) and str(tags["GPS GPSStatus"]) == "V"
        assert photo["lat"] is None
    else:  # no GPS IFD, EXIF stripped, or EXIF damaged: nothing to read a position from
        assert position is None and photo["lat"] is None
    if photo["gps"] in ("stripped", "corrupt"):
        assert not [k for k in tags if k.startswith(("Image ", "GPS "))]


def test_london_decoys_are_west_of_greenwich():
    london = [p for p in PHOTOS if "London" in " ".join(p["notes"])]
    assert len(london) == 2 and all(p["lon"] < 0 and p["zone"] is None for p in london)


def test_photo_zones_agree_with_the_rule_engine_zones():
    zones_file = ROOT / MANIFEST["zones_file"]["path"]
    assert sha256(zones_file.read_bytes()) == MANIFEST["zones_file"]["sha256"], (
        "zones.geojson changed since demo.json was built: rerun fixtures/build_demo.py"
    )
    zones = ZoneSet.load(zones_file)
    for photo in PHOTOS:
        if photo["lat"] is None:
            continue
        names = sorted((z.kind, z.name) for z in zones.containing(photo["lat"], photo["lon"]))
        assert names == [(z["kind"], z["name"]) for z in photo["zones"]], photo["path"]
        if photo["zone"] is not None:
            assert {"kind": photo["zone_kind"], "name": photo["zone"]} in photo["zones"], photo["path"]
    kinds = [p["zone_kind"] for p in PHOTOS]
    assert kinds.count("embarkation") == 3 and kinds.count("channel_waters") == 1


# -- SMS -----------------------------------------------------------------------------------------------
@pytest.fixture
def sms_db(e01_files: dict, tmp_path: Path) -> Iterator[sqlite3.Connection]:
    path = tmp_path / "mmssms.db"
    path.write_bytes(e01_files[("userdata", MANIFEST["sms_db"]["path"])])
    db = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    yield db
    db.close()


def schema(db: sqlite3.Connection) -> list[tuple]:
    return db.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY rowid").fetchall()


def test_sms_db_has_the_real_android_schema(sms_db, unchanged):
    unchanged(TEMPLATE)
    template = sqlite3.connect(f"file:{TEMPLATE}?mode=ro&immutable=1", uri=True)
    try:
        assert schema(sms_db) == schema(template)
        version = "PRAGMA user_version"
        assert sms_db.execute(version).fetchone() == template.execute(version).fetchone() == (66,)
    finally:
        template.close()
    assert sms_db.execute("SELECT locale FROM android_metadata").fetchall() == [(MANIFEST["sms_db"]["locale"],)]


def test_sms_rows_are_as_in_the_manifest(sms_db):
    rows = sms_db.execute("SELECT _id, thread_id, address, type, date, date_sent, read, body FROM sms ORDER BY _id")
    keys = ("rowid", "thread_id", "address", "type", "date", "date_sent", "read", "body")
    assert [dict(zip(keys, r, strict=True)) for r in rows] == MANIFEST["sms"]
    assert MANIFEST["sms_db"]["count"] == len(MANIFEST["sms"]) == 14 + 4  # the story's SMS and the payment SMS
    threads = sms_db.execute(
        "SELECT t._id, c.address, t.message_count FROM threads t "
        "JOIN canonical_addresses c ON c._id = CAST(t.recipient_ids AS INTEGER) ORDER BY t._id"
    )
    assert [dict(zip(("thread_id", "address", "messages"), r, strict=True)) for r in threads] == MANIFEST["sms_db"][
        "threads"
    ]


def test_sms_cover_what_the_demo_needs():
    messages = MANIFEST["sms"]
    assert {m["type"] for m in messages} == {1, 2}
    assert any(m["body"] == "" for m in messages)
    assert any(ord(ch) > 0xFFFF for m in messages for ch in m["body"])  # an emoji, outside the BMP
    may_2025 = (1746057600000, 1748736000000)
    assert all(may_2025[0] <= m["date"] < may_2025[1] for m in messages)
    assert all(may_2025[0] <= m["date_sent"] < may_2025[1] if m["type"] == 1 else m["date_sent"] == 0 for m in messages)
    assert [m["rowid"] for m in messages] == sorted(m["rowid"] for m in messages)
    assert [m["date"] for m in messages] == sorted(m["date"] for m in messages)  # rowids in arrival order
    for address in {m["address"] for m in messages}:
        number = phonenumbers.parse(address)
        # valid, or in Ofcom's drama range (07700 900xxx: never a subscriber, so not "valid")
        assert phonenumbers.is_valid_number(number) or address.startswith("+447700900"), address


def test_payment_sms_are_in_the_sms_table(sms_db):
    from fixtures.payment_messages import DEMO_PAYMENT_RECORDS, DEMO_PAYMENT_SMS

    payments = MANIFEST["payments"]
    assert len(payments["sms_rowids"]) == len(DEMO_PAYMENT_SMS) == 4
    for rowid, (address, kind, _, body, _), expected in zip(
        payments["sms_rowids"], DEMO_PAYMENT_SMS, payments["expected"], strict=True
    ):
        row = sms_db.execute("SELECT address, type, body FROM sms WHERE _id = ?", (rowid,)).fetchone()
        assert row == (address, kind, body)
        assert expected["sms_rowid"] == rowid and expected["counterpart"] == address
    assert [{k: v for k, v in e.items() if k != "sms_rowid"} for e in payments["expected"]] == list(
        DEMO_PAYMENT_RECORDS
    )


# -- contacts and calls --------------------------------------------------------------------------------
def open_db(e01_files: dict, path: str, tmp_path: Path) -> sqlite3.Connection:
    copy = tmp_path / Path(path).name
    copy.write_bytes(e01_files[("userdata", path)])
    return sqlite3.connect(f"file:{copy}?mode=ro&immutable=1", uri=True)


def test_contacts_db_has_the_template_schema_and_raw_contacts(e01_files, tmp_path, unchanged):
    unchanged(CONTACTS_TEMPLATE)
    info = MANIFEST["contacts_db"]
    assert info["template"]["sha256"] == sha256(CONTACTS_TEMPLATE.read_bytes())
    db = open_db(e01_files, info["path"], tmp_path)
    template = sqlite3.connect(f"file:{CONTACTS_TEMPLATE}?mode=ro&immutable=1", uri=True)
    try:
        built, original = schema(db), schema(template)
        assert built[: len(original)] == original  # every object of the real database, in its order
        assert [(t, n) for t, n, _, _ in built[len(original) :]] == [("table", "raw_contacts")]
        assert "raw_contacts" not in {n for _, n, _, _ in original}  # why it had to be added
        version = "PRAGMA user_version"
        assert db.execute(version).fetchone() == template.execute(version).fetchone() == (info["user_version"],)
        assert db.execute("SELECT count(*) FROM calls").fetchone() == (0,)  # calls live in calllog.db
    finally:
        template.close()
        db.close()


def test_contacts_rows_are_as_in_the_manifest(e01_files, tmp_path):
    db = open_db(e01_files, MANIFEST["contacts_db"]["path"], tmp_path)
    try:
        found = []
        for rid, name, starred, times, account, kind in db.execute(
            "SELECT r._id, r.display_name, r.starred, r.times_contacted, a.account_name, a.account_type "
            "FROM raw_contacts r JOIN accounts a ON a._id = r.account_id ORDER BY r._id"
        ):
            phones = db.execute(
                "SELECT d.data1, d.data4 FROM data d JOIN mimetypes m ON m._id = d.mimetype_id "
                "WHERE d.raw_contact_id = ? AND m.mimetype = 'vnd.android.cursor.item/phone_v2' "
                "ORDER BY d._id",
                (rid,),
            ).fetchall()
            found.append(
                {
                    "raw_contact_id": rid,
                    "name": name,
                    "account_name": account,
                    "account_type": kind,
                    "starred": starred,
                    "times_contacted": times,
                    "phones": [{"number": n, "data4": e} for n, e in phones],
                }
            )
    finally:
        db.close()
    assert found == MANIFEST["contacts"] and len(found) == MANIFEST["contacts_db"]["count"] == 3
    numbers = [p["number"] for c in found for p in c["phones"]]
    assert "+964 750 123 4567" in numbers and "07501234567" in numbers  # one person, international and national
    for national in ("07501234567",):  # valid in the UK and in Iraq: the ambiguity the demo must show
        assert phonenumbers.is_valid_number(phonenumbers.parse(national, "GB"))
        assert phonenumbers.is_valid_number(phonenumbers.parse(national, "IQ"))


def test_calllog_db_uses_the_template_calls_table(e01_files, tmp_path):
    info = MANIFEST["calllog_db"]
    db = open_db(e01_files, info["path"], tmp_path)
    template = sqlite3.connect(f"file:{CONTACTS_TEMPLATE}?mode=ro&immutable=1", uri=True)
    try:
        wanted = [row for row in schema(template) if row[1] in ("android_metadata", "calls")]
        built = schema(db)
        assert [row for row in built if row[1] != "sqlite_sequence"] == wanted  # the real statements, verbatim
        assert [row[1] for row in built] == ["android_metadata", "calls", "sqlite_sequence"]  # AUTOINCREMENT's
        rows = db.execute(
            "SELECT _id, number, type, date, duration, name, countryiso, geocoded_location, "
            "normalized_number FROM calls ORDER BY _id"
        ).fetchall()
    finally:
        template.close()
        db.close()
    keys = (
        "rowid",
        "number",
        "type",
        "date",
        "duration",
        "name",
        "countryiso",
        "geocoded_location",
        "normalized_number",
    )
    expected = [{k: c[k] for k in keys} for c in MANIFEST["calls"]]
    assert [dict(zip(keys, r, strict=True)) for r in rows] == expected and len(rows) == info["count"]
    assert {c["direction"] for c in MANIFEST["calls"]} == {"incoming", "outgoing", "missed"}
    assert all(c["countryiso"] for c in MANIFEST["calls"])


def test_a_call_on_the_crossing_night_before_the_photo_at_sea():
    at_sea = next(p for p in PHOTOS if p["zone_kind"] == "channel_waters")["taken_utc"]
    beach = [p["taken_utc"] for p in PHOTOS if p["zone"] == "Wissant / Cap Gris-Nez / Tardinghen" and p["lat"]]
    night = [c for c in MANIFEST["calls"] if beach[0] < c["time_utc"] < at_sea]
    assert len(night) == 1 and night[0]["countryiso"] == "FR"


# -- WhatsApp and Telegram -----------------------------------------------------------------------------
def test_whatsapp_databases_are_the_builder_s(e01_files, tmp_path):
    from fixtures import build_whatsapp_android as wa

    skip_unless_same_tools()
    wa.build_msgstore(tmp_path / "msgstore.db")
    wa.build_wa(tmp_path / "wa.db")
    for key, name in (("msgstore", "msgstore.db"), ("wa", "wa.db")):
        assert e01_files[("userdata", MANIFEST["whatsapp"][key]["path"])] == (tmp_path / name).read_bytes(), name


def test_whatsapp_rows_are_as_in_the_manifest(e01_files, tmp_path):
    from fixtures import build_whatsapp_android as wa

    info = MANIFEST["whatsapp"]
    db = open_db(e01_files, info["msgstore"]["path"], tmp_path)
    try:
        rows = db.execute(
            "SELECT m._id, j.raw_string, m.from_me, m.timestamp, m.text_data FROM message m "
            "JOIN chat c ON c._id = m.chat_row_id JOIN jid j ON j._id = c.jid_row_id "
            "WHERE m._id > 1 ORDER BY m._id"
        ).fetchall()
        visible = {r[0] for r in db.execute("SELECT _id FROM available_message_view")}
        calls = db.execute("SELECT count(*) FROM call_log").fetchone()[0]
    finally:
        db.close()
    assert [(m["rowid"], m["chat"], m["from_me"], m["timestamp"], m["text"]) for m in info["messages"]] == rows
    assert info["message_count"] == len(rows) == len(wa.MESSAGES) == 12
    assert info["hidden_by_app"] == sorted(r[0] for r in rows if r[0] not in visible) == [10]
    assert calls == len(info["calls"]) == len(wa.CALLS)
    lat, lon, name, _ = wa.STATIC_LOCATION
    assert {(x["latitude"], x["longitude"], x["place_name"]) for x in info["locations"]} >= {(lat, lon, name)}
    assert [(c["jid"], c["display_name"]) for c in info["contacts"]][:2] == [
        (wa.ORGANISER, "Abu Jamal"),
        (wa.PASSENGER, "Karwan"),
    ]


def test_telegram_account_is_the_builder_s(e01_files, tmp_path):
    from fixtures.build_telegram import demo_account

    account = demo_account(tmp_path)
    info = MANIFEST["telegram"]
    assert {k: v for k, v in account.items() if k not in ("cache4_db", "userconfig")} == {
        k: v for k, v in info.items() if k not in ("cache4_db", "userconfig", "builder")
    }
    for key in ("cache4_db", "userconfig"):
        on_disk = e01_files[("userdata", info[key]["path"])]
        assert info[key]["path"] == "/" + account[key]
        if key == "userconfig" or builder.tool_versions() == MANIFEST["tools"]:
            assert on_disk == (tmp_path / account[key]).read_bytes(), key
    assert info["locations"] and info["channel"]["username"] == "uk_crossing_now"


def test_app_folders_belong_to_their_app():
    owners = {
        "com.android.providers.telephony": 1001,
        "com.android.providers.contacts": builder.CONTACTS_UID,
        "com.whatsapp": builder.WHATSAPP_UID,
        "org.telegram.messenger": builder.TELEGRAM_UID,
    }
    entries = [e for e in MANIFEST["files"] + MANIFEST["directories"] if e["partition"] == "userdata"]
    for package, uid in owners.items():
        mine = [e for e in entries if e["path"].startswith(f"/data/{package}")]
        assert mine and all(e["uid"] == e["gid"] == uid for e in mine), package
        top = next(e for e in mine if e["path"] == f"/data/{package}")
        assert top["mode"] == "0700"


def test_people_are_named_in_every_source():
    """The manifest's `people` are what the party linking must join (tests/run/test_run.py checks it does)."""
    people = {p["name"]: p for p in MANIFEST["people"]}
    sms = {m["rowid"]: m["address"] for m in MANIFEST["sms"]}
    calls = {c["rowid"]: c["normalized_number"] for c in MANIFEST["calls"]}
    for person in people.values():
        assert person["sms_rowids"] and person["call_rowids"] and person["contact_raw_id"]
        assert all(sms[r] == person["e164"] for r in person["sms_rowids"])
        assert all(calls[r] == person["e164"] for r in person["call_rowids"])
    assert people["Karwan"]["whatsapp_jid"] and people["Abu Jamal"]["whatsapp_jid"]
    assert people["Dara London"]["e164"] == "+447911123456"
