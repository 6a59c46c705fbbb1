"""Device identity: build.prop, settings (XML and Android Binary XML), telephony.db siminfo, iOS plists,
and the merged device block of the report header."""

from __future__ import annotations

import hashlib
import json
import plistlib
import shutil
from pathlib import Path

import pytest

from parsers.abx import AbxError, elements
from parsers.base import ParseContext
from parsers.device.android import AndroidBuildPropParser, AndroidSettingsParser, AndroidSimInfoParser, parse_build_prop
from parsers.device.ios_device_info_fs import IosDeviceInfoFsParser
from tests.bundle_layout import payload
from tests.parser_context import parse_file
from triage.cli import main
from triage.evidence import open_evidence

ROOT = Path(__file__).parents[2]
DEMO_E01 = ROOT / "fixtures" / "demo" / "demo.E01"
SPARSE = ROOT / "fixtures" / "sparse" / "system.simg"
FIXTURES = ROOT / "fixtures" / "device_info"
MANIFEST = json.loads((FIXTURES / "device_info.json").read_text(encoding="utf-8"))
TELEPHONY = "/data/data/com.android.providers.telephony/databases/telephony.db"


def parse_entry(parser, evidence, path: str) -> tuple[list, list[str]]:
    entry = evidence.find(path)
    data = evidence.read_bytes(entry)
    ctx = ParseContext(
        entry=entry, open=lambda: evidence.open(entry), sha256=hashlib.sha256(data).hexdigest(), header=data[:64]
    )
    return list(parser.parse(ctx)), ctx.warnings


def test_demo_build_prop_gives_the_handset(unchanged):
    unchanged(DEMO_E01)
    with open_evidence(DEMO_E01) as ev:
        entry = ev.find("/system/build.prop")
        assert entry.layers[1] == "GPT partition 1 'system'"
        assert AndroidBuildPropParser().path_matches(entry)
        (device,), warnings = parse_entry(AndroidBuildPropParser(), ev, "/system/build.prop")
    assert warnings == []
    assert (device.manufacturer, device.model, device.os_name, device.os_version, device.serial) == (
        "samsung",
        "SM-A536B",
        "Android",
        "14",
        "R5CT21DEMO7",
    )
    assert device.extra["fingerprint"] == "samsung/a53xnsxx/a53x:14/UP1A.231005.007/A536BXXSBDXC1:user/release-keys"
    assert device.extra["security_patch"] == "2024-03-01" and device.extra["sdk"] == "34"
    assert device.extra["properties"]["ro.product.locale"] == "en-GB"  # raw key/values kept
    assert len(device.extra["properties"]) == 30  # every key=value line of the demo build.prop


def test_build_prop_inside_a_sparse_system_image(unchanged):
    unchanged(SPARSE)
    with open_evidence(SPARSE) as ev:
        (device,), _ = parse_entry(AndroidBuildPropParser(), ev, "/system/build.prop")
    assert (device.manufacturer, device.model, device.os_version) == ("Google", "Pixel 7", "13")
    assert device.serial is None  # this build.prop writes none: nothing is invented


def test_build_prop_lines_later_wins_and_bad_lines_named():
    props, bad = parse_build_prop("# c\nro.a=1\nnot a property\nro.a=2\nimport /x.prop\nro.b=x=y\n")
    assert props == {"ro.a": "2", "ro.b": "x=y"} and bad == ["line 3"]


def test_siminfo_one_device_per_sim(tmp_path):
    db = FIXTURES / "telephony.db"
    assert hashlib.sha256(db.read_bytes()).hexdigest() == MANIFEST["files_sha256"]["telephony.db"]
    records, warnings = parse_file(AndroidSimInfoParser(), db, tmp_path, TELEPHONY)
    assert warnings == []
    assert [(d.source_table, d.source_row) for d in records] == [("siminfo", "1"), ("siminfo", "2")]
    for device, sim in zip(records, MANIFEST["sims"], strict=True):
        assert device.phone_numbers == [sim["number"]]
        assert device.extra["sim"]["icc_id"] == sim["icc_id"]
        assert (device.extra["sim"]["mcc"], device.extra["sim"]["mnc"]) == (sim["mcc"], sim["mnc"])
        assert device.extra["sim"]["carrier_name"] == sim["carrier_name"]
        assert device.extra["sim"]["sim_id"] == sim["sim_id"]


def test_settings_plain_xml_and_android_binary_xml(tmp_path):
    (glob,), warnings = parse_file(
        AndroidSettingsParser(), FIXTURES / "settings_global.xml", tmp_path, "/data/system/users/0/settings_global.xml"
    )
    assert warnings == [] and glob.extra == {"device_name": "Karwan's A53", "format": "xml"}
    (secure,), warnings = parse_file(
        AndroidSettingsParser(), FIXTURES / "settings_secure.xml", tmp_path, "/data/system/users/0/settings_secure.xml"
    )
    expected = {k: v for k, v in MANIFEST["settings_secure"].items() if k != "location_mode"}
    assert warnings == [] and secure.extra == {**expected, "format": "abx"}
    assert secure.source_row == "1,2,3"


def test_abx_decoding_and_damage(tmp_path):
    data = (FIXTURES / "settings_secure.xml").read_bytes()
    nodes = elements(data)
    assert nodes[0] == ("settings", {"version": "213"})
    assert nodes[1][1]["defaultSysSet"] == "true" and nodes[1][1]["name"] == "bluetooth_name"
    with pytest.raises(AbxError, match="truncated"):
        elements(data[:-20])
    cut = tmp_path / "settings_secure.xml"
    cut.write_bytes(data[:-20])
    records, warnings = parse_file(AndroidSettingsParser(), cut, tmp_path, "/data/system/users/0/settings_secure.xml")
    assert records == [] and "Android Binary XML" in warnings[0]


def test_ios_file_system_plists(tmp_path):
    version = tmp_path / "SystemVersion.plist"
    version.write_bytes(
        plistlib.dumps({"ProductName": "iPhone OS", "ProductVersion": "17.5.1", "ProductBuildVersion": "21F90"})
    )
    (device,), _ = parse_file(
        IosDeviceInfoFsParser(), version, tmp_path, "/System/Library/CoreServices/SystemVersion.plist"
    )
    assert (device.manufacturer, device.os_name, device.os_version) == ("Apple", "iOS", "17.5.1")
    assert device.extra["ProductBuildVersion"] == "21F90"
    ark = tmp_path / "data_ark.plist"
    ark.write_bytes(
        plistlib.dumps(
            {
                "-DeviceName": "Karwan's iPhone",
                "SerialNumber": "F2LXK0DEMO01",
                "-ActivationState": "Activated",
                "blob": b"\x00",
            },
            fmt=plistlib.FMT_BINARY,
        )
    )
    (device,), _ = parse_file(
        IosDeviceInfoFsParser(), ark, tmp_path, "/private/var/root/Library/Lockdown/data_ark.plist"
    )
    assert device.serial == "F2LXK0DEMO01" and device.extra["DeviceName"] == "Karwan's iPhone"
    assert "blob" not in device.extra["keys"]
    broken = tmp_path / "com.apple.commcenter.plist"
    broken.write_bytes(b"bplist00garbage")
    records, warnings = parse_file(
        IosDeviceInfoFsParser(),
        broken,
        tmp_path,
        "/private/var/wireless/Library/Preferences/com.apple.commcenter.plist",
    )
    assert records == [] and warnings[0].startswith("not a readable property list")


def _run(evidence: Path, out: Path) -> list[dict]:
    code = main(["run", str(evidence), "--out", str(out), "--quiet"])
    assert code == 0
    lines = (payload(out) / "records" / "device.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_demo_run_device_record_roles_and_report_header(tmp_path, unchanged):
    unchanged(DEMO_E01)
    devices = _run(DEMO_E01, tmp_path / "out")
    assert [(d["manufacturer"], d["model"], d["os_version"], d["serial"]) for d in devices] == [
        ("samsung", "SM-A536B", "14", "R5CT21DEMO7")
    ]
    assert devices[0]["provenance"]["path"] == "EWF demo.E01 → GPT partition 1 'system' → ext4 → /system/build.prop"
    opened = [
        json.loads(line)
        for line in (payload(tmp_path / "out") / "custody.jsonl").read_text().splitlines()
        if '"evidence opened"' in line
    ]
    assert opened[0]["details"]["volume_roles"] == {"p1": "system", "p2": "userdata"}
    html = (payload(tmp_path / "out") / "index.html").read_text(encoding="utf-8")
    assert '<th>Model</th><td class="mono"><bdi>SM-A536B</bdi></td>' in html  # isolated (bidi-safe)


def test_device_facts_from_several_files_are_shown_merged_with_sources(tmp_path, unchanged):
    unchanged(DEMO_E01)
    phone = tmp_path / "phone"
    with open_evidence(DEMO_E01) as ev:
        build_prop = ev.read_bytes(ev.find("/system/build.prop"))
    (phone / "system").mkdir(parents=True)
    (phone / "system" / "build.prop").write_bytes(build_prop)
    users = phone / "data" / "system" / "users" / "0"
    users.mkdir(parents=True)
    for name in ("settings_global.xml", "settings_secure.xml"):
        shutil.copyfile(FIXTURES / name, users / name)
    db_dir = phone / TELEPHONY.lstrip("/").rsplit("/", 1)[0]
    db_dir.mkdir(parents=True)
    shutil.copyfile(FIXTURES / "telephony.db", db_dir / "telephony.db")
    devices = _run(phone, tmp_path / "out")
    assert sorted(d["provenance"]["path"].rsplit("/", 1)[-1] for d in devices) == [
        "build.prop",
        "settings_global.xml",
        "settings_secure.xml",
        "telephony.db",
        "telephony.db",
    ]
    html = (payload(tmp_path / "out") / "index.html").read_text(encoding="utf-8")
    header = html.split("<h2>Device</h2>", 1)[1].split("<h2>", 1)[0]
    for sim in MANIFEST["sims"]:
        assert sim["icc_id"] in header and sim["number"] in header
    assert "Karwan&#39;s A53" in header and "SM-A536B" in header and "A0:B1:C2:D3:E4:F5" in header
    assert "(table siminfo, row 2)" in header
