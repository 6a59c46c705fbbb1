"""iTunes/Finder backups: MVT's real test backup (unencrypted, Manifest.db) and backups this project
builds to the documented format (fixtures/build_ios_backup.py: an encrypted one and an mbdb one)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from contextlib import redirect_stdout
from datetime import datetime, timezone
from pathlib import Path

import pytest

from parsers.ios_device_info import IosDeviceInfoParser
from triage.cli import main
from triage.errors import EvidenceError
from triage.evidence import open_evidence
from triage.evidence.ios_backup import IosBackupEvidence, device_path
from triage.evidence.opener import OpenOptions
from triage.parsing import ParseRunner
from tests.bundle_layout import payload

ROOT = Path(__file__).parent.parent
MVT = ROOT / "fixtures/third_party/mvt/tests/artifacts/ios_backup"
ENCRYPTED = ROOT / "fixtures/ios_backup_encrypted"
MBDB = ROOT / "fixtures/ios_backup_mbdb"
EXPECTED = json.loads((ROOT / "fixtures/third_party/expected_mvt_backups.json").read_text(encoding="utf-8"))
PASSWORD = "triage-test"  # of the built encrypted backup (fixtures/build_ios_backup.py)

SMS_DB = "/private/var/mobile/Library/SMS/sms.db"
CHAT_STORAGE = "/private/var/mobile/Containers/Shared/AppGroup/group.net.whatsapp.WhatsApp.shared/ChatStorage.sqlite"
SMS_ID = "3d0d7e5fb2ce288813306e4d4636395e047a3d28"
CHAT_ID = "7c7fba66680ef796b916b067077cc246adacf01d"
UNINDEXED_ID = "e794f6ffcc3c222535f47684a63d5178da3c4500"


def expected(file_id: str) -> dict:
    return EXPECTED[f"mvt/tests/artifacts/ios_backup/{file_id[:2]}/{file_id}"]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def run_cli(args: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(args)
    return code, out.getvalue()


# -- MVT's backup ------------------------------------------------------------------------------------
def test_mvt_backup_opens_with_sms_and_whatsapp_at_device_paths(unchanged):
    unchanged(MVT)
    before = listing(MVT)
    with open_evidence(MVT) as ev:
        assert isinstance(ev, IosBackupEvidence) and ev.kind == "itunes-backup"
        sms = ev.find(SMS_DB)
        chat = ev.find(CHAT_STORAGE)
        assert sha256(ev.read_bytes(sms)) == expected(SMS_ID)["sha256"]
        assert sha256(ev.read_bytes(chat)) == expected(CHAT_ID)["sha256"]
        assert sms.size == expected(SMS_ID)["size"] and chat.size == expected(CHAT_ID)["size"]
        # provenance names the domain and the hashed file; the inode is the fileID
        assert sms.provenance == f"iTunes backup ios_backup → HomeDomain 3d/{SMS_ID} → {SMS_DB}"
        assert sms.inode == SMS_ID and chat.inode == CHAT_ID
        assert chat.layers[1] == f"AppDomainGroup-group.net.whatsapp.WhatsApp.shared 7c/{CHAT_ID}"
        # times come from the MBFile blob (LastModified 1638501497, Birth 1566918489, LastStatusChange 1638559914)
        assert sms.mtime == datetime(2021, 12, 3, 3, 18, 17, tzinfo=timezone.utc)
        assert sms.crtime == datetime(2019, 8, 27, 15, 8, 9, tzinfo=timezone.utc)
        assert sms.ctime == datetime(2021, 12, 3, 19, 31, 54, tzinfo=timezone.utc)
    assert listing(MVT) == before  # nothing written beside the evidence (no -wal, -shm, journal)


def test_mvt_backup_lists_plists_unindexed_and_reports_missing_files():
    with open_evidence(MVT) as ev:
        entries = list(ev.walk())
        plists = [(e.path, e.volume) for e in entries if e.volume == "backup"]
        assert plists == [("/Info.plist", "backup")]  # this backup has no Manifest.plist
        unindexed = ev.find(f"/backup-unindexed/e7/{UNINDEXED_ID}")
        assert sha256(ev.read_bytes(unindexed)) == expected(UNINDEXED_ID)["sha256"]
        files = [e for e in entries if e.type == "file" and e.volume == ""]
        assert len(files) == 11  # 10 indexed files present in the folder + 1 unindexed
        # Manifest.db: 3721 rows, 1089 files (flags 1), 2618 directories, 14 links; 10 files are present
        assert sum(e.type == "dir" for e in entries) == 2618
        assert sum(e.type == "link" for e in entries) == 14
        warnings = "\n".join(ev.warnings)
        assert "1079 files named in the index are not in the backup folder" in warnings
        assert "1 hashed files are in the folder but not in the index" in warnings and UNINDEXED_ID in warnings


def test_domains_map_to_device_paths():
    assert device_path("HomeDomain", "Library/SMS/sms.db") == SMS_DB
    assert device_path("AppDomain-com.google.chrome.ios", "Library/x.db") == \
        "/private/var/mobile/Containers/Data/Application/com.google.chrome.ios/Library/x.db"
    assert device_path("AppDomainPlugin-com.apple.mail.ext", "Library") == \
        "/private/var/mobile/Containers/Data/PluginKitPlugin/com.apple.mail.ext/Library"
    assert device_path("SysSharedContainerDomain-systemgroup.com.apple.x", "Library") == \
        "/private/var/containers/Shared/SystemGroup/systemgroup.com.apple.x/Library"
    assert device_path("WirelessDomain", "Library/Databases/DataUsage.sqlite") == \
        "/private/var/wireless/Library/Databases/DataUsage.sqlite"
    assert device_path("HealthDomain", "Health/healthdb.sqlite") == "/private/var/mobile/Library/Health/healthdb.sqlite"
    assert device_path("KeychainDomain", "keychain-backup.plist") == "/private/var/Keychains/keychain-backup.plist"
    assert device_path("SystemPreferencesDomain", "SystemConfiguration") == "/private/var/preferences/SystemConfiguration"
    assert device_path("RootDomain", "Library") == "/private/var/root/Library"
    assert device_path("DatabaseDomain", "") == "/private/var/db"
    assert device_path("NewDomain", "x") is None


def test_mvt_backup_run_gives_device_sms_and_whatsapp_records(tmp_path, unchanged):
    unchanged(MVT)
    out = tmp_path / "out"
    code, _ = run_cli(["run", str(MVT), "--out", str(out), "--quiet"])
    assert code == 0
    records = payload(out) / "records"
    messages = [json.loads(line) for line in (records / "message.jsonl").read_text().splitlines()]
    sms = [m for m in messages if m["app"] == "sms"]
    whatsapp = [m for m in messages if m["app"] == "whatsapp"]
    # expected.json: sms.db message table has 1 row (ROWID 3, text length 48); ChatStorage ZWAMESSAGE has 3
    assert len(sms) == 1 and len(whatsapp) == 3
    assert sms[0]["body"] == "Please click here https://badbadbad.example.org/" and len(sms[0]["body"]) == 48
    assert sms[0]["time_raw"] == 588813210539788032 and sms[0]["time_encoding"] == "cocoa_ns"
    assert sms[0]["provenance"]["path"] == f"iTunes backup ios_backup → HomeDomain 3d/{SMS_ID} → {SMS_DB}"
    assert sms[0]["provenance"]["sha256"] == expected(SMS_ID)["sha256"]
    assert [m["time_raw"] for m in whatsapp] == [778000000.0, 778100000.0, 778200000.0]
    assert [len(m["body"]) for m in whatsapp] == [2, 30, 7]  # len(ZTEXT) in expected.json
    devices = [json.loads(line) for line in (records / "device.jsonl").read_text().splitlines()]
    device = [d for d in devices if d["extra"].get("source") == "iTunes backup Info.plist"]
    assert len(device) == 1 and device[0]["serial"] == "F1234567890"
    assert device[0]["provenance"]["path"] == "iTunes backup ios_backup → /Info.plist"
    assert device[0]["provenance"]["sha256"] == EXPECTED["mvt/tests/artifacts/ios_backup/Info.plist"]["sha256"]


# -- the Device record ------------------------------------------------------------------------------
def parse_with(parser, evidence_path: Path, options: OpenOptions | None = None) -> tuple[list, list[str]]:
    records, warnings = [], []
    with open_evidence(evidence_path, options) as ev, tempfile.TemporaryDirectory() as work:
        runner = ParseRunner(ev, Path(work), on_source=lambda s: None,
                             on_record=lambda r, s: records.append(r),
                             on_warning=lambda *a: warnings.append(a[3]), parsers=[parser])
        for cand in runner.select():
            runner.parse(cand)
    return records, warnings


def test_mvt_info_plist_becomes_the_device_record():
    records, warnings = parse_with(IosDeviceInfoParser(), MVT)
    assert warnings == []
    (device,) = records
    assert (device.manufacturer, device.model, device.os_name, device.os_version) == ("Apple", "iPhone9,3", "iOS", "14.3")
    assert device.serial == "F1234567890" and device.imei == ["42"] and device.phone_numbers == []
    extra = device.extra
    assert extra["ICCID"] == "63847829383904849" and extra["Device Name"] == "iPhone"
    assert extra["Build Version"] == "18C66" and extra["GUID"] == "DDDDDDDDDD"
    assert extra["Unique Identifier"] == "1CB128EAFA77C5BE74283E9A3A2130AF36A3C059"
    assert extra["Last Backup Date (raw)"] == "2021-12-03T19:33:13"
    assert extra["Last Backup Date (UTC)"] == "2021-12-03T19:33:13Z"
    assert "net.whatsapp.WhatsApp" in extra["Installed Applications"]
    assert device.source_table is None and device.source_row is None and device.source_offset is None


def test_built_backup_info_and_manifest_plists_become_device_records():
    records, warnings = parse_with(IosDeviceInfoParser(), ENCRYPTED)  # the plists are readable without a password
    assert warnings == []
    info, manifest = records
    assert info.model == "iPhone13,2 (iPhone 12)" and info.os_version == "17.4.1"
    assert info.imei == ["356789012345678", "356789012345686"] and info.phone_numbers == ["+44 7700 900123"]
    assert info.extra["ICCID"] == "8944110000000000001"
    assert manifest.serial == "C39TESTSERIAL" and manifest.extra["IsEncrypted"] is True
    assert manifest.extra["Lockdown.DeviceName"] == "Test iPhone"
    assert manifest.extra["source"] == "iTunes backup Manifest.plist Lockdown"


# -- encrypted backups (built by this project to the documented format) -------------------------------
def test_encrypted_backup_decrypts_with_the_password(unchanged):
    unchanged(ENCRYPTED)
    before = listing(ENCRYPTED)
    with open_evidence(ENCRYPTED, OpenOptions(backup_password=PASSWORD)) as ev:
        tempdir = ev._tempdir
        assert tempdir is not None and ENCRYPTED.resolve() not in tempdir.resolve().parents
        sms = ev.find(SMS_DB)
        assert sha256(ev.read_bytes(sms)) == expected(SMS_ID)["sha256"]  # MVT's sms.db, round-tripped
        assert sms.size == expected(SMS_ID)["size"]
        notes = ev.find("/private/var/mobile/Containers/Shared/AppGroup/group.example.shared/notes.txt")
        assert ev.read_bytes(notes) == b"meet at the beach 0300\n"
        assert ev.find("/backup-domain/MysteryDomain/thing.txt").type == "file"
        assert any("unknown backup domain 'MysteryDomain'" in w for w in ev.warnings)
    assert not tempdir.exists()  # the decrypted Manifest.db is gone after close
    assert listing(ENCRYPTED) == before


def test_encrypted_backup_without_password_lists_only_plists_and_says_why():
    with open_evidence(ENCRYPTED, OpenOptions(backup_password=None)) as ev:
        assert [(e.path, e.volume) for e in ev.walk()] == [("/Info.plist", "backup"), ("/Manifest.plist", "backup")]
        assert ev.warnings[0].startswith("encrypted backup: 3 files cannot be read without --backup-password")


def test_encrypted_backup_wrong_password_is_a_clear_error():
    with pytest.raises(EvidenceError, match="wrong backup password"):
        open_evidence(ENCRYPTED, OpenOptions(backup_password="not-it"))


def test_cli_wrong_password_is_one_line_exit_2(capsys):
    code = main(["evidence", "ls", str(ENCRYPTED), "--backup-password", "not-it"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("triage: error:") and "wrong backup password" in err
    assert "Traceback" not in err


def test_cli_cat_decrypts_with_the_password_option(capsysbinary):
    assert main(["evidence", "cat", str(ENCRYPTED), SMS_DB, "--backup-password", PASSWORD]) == 0
    assert sha256(capsysbinary.readouterr().out) == expected(SMS_ID)["sha256"]


def test_cli_password_from_the_environment(capsys, monkeypatch):
    monkeypatch.setenv("TRIAGE_BACKUP_PASSWORD", PASSWORD)
    assert main(["evidence", "ls", str(ENCRYPTED)]) == 0
    assert SMS_DB in capsys.readouterr().out


def test_run_on_encrypted_backup_records_password_as_given_only(tmp_path):
    out = tmp_path / "out"
    code, _ = run_cli(["run", str(ENCRYPTED), "--out", str(out), "--quiet", "--backup-password", PASSWORD])
    assert code == 0
    messages = [json.loads(line) for line in (payload(out) / "records/message.jsonl").read_text().splitlines()]
    assert [m["body"] for m in messages if m["app"] == "sms"] == ["Please click here https://badbadbad.example.org/"]
    custody = (payload(out) / "custody.jsonl").read_text()
    assert '"backup_password":"given (not recorded)"' in custody and PASSWORD not in custody


# -- pre-iOS 10 (Manifest.mbdb) ---------------------------------------------------------------------
def test_mbdb_backup_lists_the_same_device_paths():
    with open_evidence(MBDB) as ev:
        sms = ev.find(SMS_DB)
        assert sms.inode == SMS_ID and sms.layers[1] == f"HomeDomain {SMS_ID}"  # flat, no xx/ folder
        assert sha256(ev.read_bytes(sms)) == expected(SMS_ID)["sha256"]
        assert ev.find("/private/var/mobile/Library/link").type == "link"
        assert ev.find("/private/var/mobile/Library/SMS").type == "dir"


def test_damaged_file_blob_costs_metadata_not_the_listing(tmp_path):
    import shutil
    import sqlite3

    copy = tmp_path / "backup"
    shutil.copytree(MBDB, copy)
    db = sqlite3.connect(copy / "Manifest.db")
    db.execute("CREATE TABLE Files (fileID TEXT PRIMARY KEY, domain TEXT, relativePath TEXT, flags INTEGER, file BLOB)")
    db.execute("INSERT INTO Files VALUES (?, 'HomeDomain', 'Library/SMS/sms.db', 1, ?)", (SMS_ID, b"not a plist"))
    db.commit()
    db.close()
    os.makedirs(copy / "3d")
    shutil.copy(copy / SMS_ID, copy / "3d" / SMS_ID)
    with open_evidence(copy) as ev:
        sms = ev.find(SMS_DB)
        assert sms.mtime is None and sms.size == expected(SMS_ID)["size"]
        assert any("metadata of HomeDomain/Library/SMS/sms.db" in w for w in ev.warnings)


def test_builder_reproduces_the_committed_backups(tmp_path):
    from fixtures.build_ios_backup import main as build

    assert build([str(tmp_path)]) == 0
    for name in ("ios_backup_encrypted", "ios_backup_mbdb"):
        committed, rebuilt = ROOT / "fixtures" / name, tmp_path / name
        assert listing(rebuilt) == listing(committed)
        for path in committed.rglob("*"):
            # Manifest.db holds SQLite's own bytes (encrypted), which another SQLite version may lay out differently
            if path.is_file() and path.name != "Manifest.db":
                assert (rebuilt / path.relative_to(committed)).read_bytes() == path.read_bytes(), path
    options = OpenOptions(backup_password=PASSWORD)
    with open_evidence(ENCRYPTED, options) as a, open_evidence(tmp_path / "ios_backup_encrypted", options) as b:
        assert [(e.path, e.inode, e.size) for e in a.walk()] == [(e.path, e.inode, e.size) for e in b.walk()]
