"""iTunes/Finder backups built by this project to the documented format (fixtures/build_ios_backup.py): an
unencrypted iOS 10+ one (Manifest.db), an encrypted one and a pre-iOS 10 one (Manifest.mbdb).

The unencrypted one has the layout measured on the iOS test backup that MVT published (not kept here: its
licence adds a consensual-use condition): the same fileIDs, an sms.db with one handle and one message
(ROWID 3, 48 characters of text, Cocoa-nanosecond date), a WhatsApp ChatStorage with 2 chats and 3
messages (texts of 2, 30 and 7 characters), a ContactsV2 with BLOB text, files named in the index but
absent, folders, a link, and one hashed file the index does not name. The values below were measured on
the built files with the sqlite3 CLI and `file`."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from contextlib import redirect_stdout
from datetime import UTC, datetime
from pathlib import Path

import pytest

from parsers.device.ios_device_info import IosDeviceInfoParser
from tests.bundle_layout import payload
from triage.cli import main
from triage.errors import EvidenceError
from triage.evidence import open_evidence
from triage.evidence.ios_backup import IosBackupEvidence, device_path
from triage.evidence.opener import OpenOptions
from triage.parsing import ParseRunner

ROOT = Path(__file__).parents[2]
PLAIN = ROOT / "fixtures/ios_backup_plain"
ENCRYPTED = ROOT / "fixtures/ios_backup_encrypted"
MBDB = ROOT / "fixtures/ios_backup_mbdb"
PASSWORD = "triage-test"  # of the built encrypted backup (fixtures/build_ios_backup.py)
FOLDERS = ("ios_backup_plain", "ios_backup_encrypted", "ios_backup_mbdb")

SMS_DB = "/private/var/mobile/Library/SMS/sms.db"
CHAT_STORAGE = "/private/var/mobile/Containers/Shared/AppGroup/group.net.whatsapp.WhatsApp.shared/ChatStorage.sqlite"
SMS_ID = "3d0d7e5fb2ce288813306e4d4636395e047a3d28"
CHAT_ID = "7c7fba66680ef796b916b067077cc246adacf01d"
UNINDEXED_ID = "e794f6ffcc3c222535f47684a63d5178da3c4500"


SMS_TEXT = "Your parcel is held: pay at https://pkg.example/"


def committed_sums(folder: Path) -> dict[str, str]:
    """The folder's SHA256SUMS: relative path -> SHA-256."""
    lines = (folder / "SHA256SUMS").read_text(encoding="ascii").splitlines()
    return {name: digest for digest, name in (line.split("  ", 1) for line in lines)}


def expected(file_id: str, folder: Path = PLAIN) -> dict:
    """SHA-256 and size of a hashed file of the plain backup (the device file itself, unencrypted)."""
    path = folder / file_id[:2] / file_id
    return {"sha256": committed_sums(folder)[f"{file_id[:2]}/{file_id}"], "size": path.stat().st_size}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def run_cli(args: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(args)
    return code, out.getvalue()


# -- the unencrypted backup ---------------------------------------------------------------------------
def test_plain_backup_opens_with_sms_and_whatsapp_at_device_paths(unchanged):
    unchanged(PLAIN)
    before = listing(PLAIN)
    with open_evidence(PLAIN) as ev:
        assert isinstance(ev, IosBackupEvidence) and ev.kind == "itunes-backup"
        sms = ev.find(SMS_DB)
        chat = ev.find(CHAT_STORAGE)
        assert sha256(ev.read_bytes(sms)) == expected(SMS_ID)["sha256"]
        assert sha256(ev.read_bytes(chat)) == expected(CHAT_ID)["sha256"]
        assert sms.size == expected(SMS_ID)["size"] and chat.size == expected(CHAT_ID)["size"]
        # provenance names the domain and the hashed file; the inode is the fileID
        assert sms.provenance == f"iTunes backup ios_backup_plain → HomeDomain 3d/{SMS_ID} → {SMS_DB}"
        assert sms.inode == SMS_ID and chat.inode == CHAT_ID
        assert chat.layers[1] == f"AppDomainGroup-group.net.whatsapp.WhatsApp.shared 7c/{CHAT_ID}"
        # times come from the MBFile blob (LastModified 1638501497, Birth 1566918489, LastStatusChange 1638559914)
        assert sms.mtime == datetime(2021, 12, 3, 3, 18, 17, tzinfo=UTC)
        assert sms.crtime == datetime(2019, 8, 27, 15, 8, 9, tzinfo=UTC)
        assert sms.ctime == datetime(2021, 12, 3, 19, 31, 54, tzinfo=UTC)
    assert listing(PLAIN) == before  # nothing written beside the evidence (no -wal, -shm, journal)


def test_plain_backup_lists_plists_unindexed_and_reports_missing_files():
    with open_evidence(PLAIN) as ev:
        entries = list(ev.walk())
        plists = [(e.path, e.volume) for e in entries if e.volume == "backup"]
        assert plists == [("/Info.plist", "backup"), ("/Manifest.plist", "backup"), ("/Status.plist", "backup")]
        unindexed = ev.find(f"/backup-unindexed/e7/{UNINDEXED_ID}")
        assert sha256(ev.read_bytes(unindexed)) == expected(UNINDEXED_ID)["sha256"]
        files = [e for e in entries if e.type == "file" and e.volume == ""]
        assert len(files) == 4  # 3 indexed files present in the folder + 1 unindexed
        # Manifest.db (sqlite3: SELECT flags, count(*) FROM Files GROUP BY flags): 6 files, 8 folders, 1 link
        assert sum(e.type == "dir" for e in entries) == 8
        assert sum(e.type == "link" for e in entries) == 1
        warnings = "\n".join(ev.warnings)
        assert "3 files named in the index are not in the backup folder" in warnings
        assert "1 hashed files are in the folder but not in the index" in warnings and UNINDEXED_ID in warnings


def test_domains_map_to_device_paths():
    assert device_path("HomeDomain", "Library/SMS/sms.db") == SMS_DB
    assert (
        device_path("AppDomain-com.google.chrome.ios", "Library/x.db")
        == "/private/var/mobile/Containers/Data/Application/com.google.chrome.ios/Library/x.db"
    )
    assert (
        device_path("AppDomainPlugin-com.apple.mail.ext", "Library")
        == "/private/var/mobile/Containers/Data/PluginKitPlugin/com.apple.mail.ext/Library"
    )
    assert (
        device_path("SysSharedContainerDomain-systemgroup.com.apple.x", "Library")
        == "/private/var/containers/Shared/SystemGroup/systemgroup.com.apple.x/Library"
    )
    assert (
        device_path("WirelessDomain", "Library/Databases/DataUsage.sqlite")
        == "/private/var/wireless/Library/Databases/DataUsage.sqlite"
    )
    assert device_path("HealthDomain", "Health/healthdb.sqlite") == "/private/var/mobile/Library/Health/healthdb.sqlite"
    assert device_path("KeychainDomain", "keychain-backup.plist") == "/private/var/Keychains/keychain-backup.plist"
    assert (
        device_path("SystemPreferencesDomain", "SystemConfiguration") == "/private/var/preferences/SystemConfiguration"
    )
    assert device_path("RootDomain", "Library") == "/private/var/root/Library"
    assert device_path("DatabaseDomain", "") == "/private/var/db"
    assert device_path("NewDomain", "x") is None


def test_plain_backup_run_gives_device_sms_and_whatsapp_records(tmp_path, unchanged):
    unchanged(PLAIN)
    out = tmp_path / "out"
    code, _ = run_cli(["run", str(PLAIN), "--out", str(out), "--quiet"])
    assert code == 0
    records = payload(out) / "records"
    messages = [json.loads(line) for line in (records / "message.jsonl").read_text().splitlines()]
    sms = [m for m in messages if m["app"] == "sms"]
    whatsapp = [m for m in messages if m["app"] == "whatsapp"]
    # sqlite3: sms.db message has 1 row (ROWID 3, length(text) 48); ChatStorage ZWAMESSAGE has 3
    assert len(sms) == 1 and len(whatsapp) == 3
    assert sms[0]["body"] == SMS_TEXT and len(sms[0]["body"]) == 48
    assert sms[0]["time_raw"] == 736257612345678912 and sms[0]["time_encoding"] == "cocoa_ns"
    assert sms[0]["time_utc"] == "2024-05-01T12:00:12.345Z"
    assert sms[0]["provenance"]["path"] == f"iTunes backup ios_backup_plain → HomeDomain 3d/{SMS_ID} → {SMS_DB}"
    assert sms[0]["provenance"]["sha256"] == expected(SMS_ID)["sha256"]
    assert [m["time_raw"] for m in whatsapp] == [736258000.0, 736258100.0, 736258200.0]
    assert [len(m["body"]) for m in whatsapp] == [2, 30, 7]  # sqlite3: length(ZTEXT)
    devices = [json.loads(line) for line in (records / "device.jsonl").read_text().splitlines()]
    device = [d for d in devices if d["extra"].get("source") == "iTunes backup Info.plist"]
    assert len(device) == 1 and device[0]["serial"] == "F17TESTSERIAL"
    assert device[0]["provenance"]["path"] == "iTunes backup ios_backup_plain → /Info.plist"
    assert device[0]["provenance"]["sha256"] == committed_sums(PLAIN)["Info.plist"]


# -- the Device record ------------------------------------------------------------------------------
def parse_with(parser, evidence_path: Path, options: OpenOptions | None = None) -> tuple[list, list[str]]:
    records, warnings = [], []
    with open_evidence(evidence_path, options) as ev, tempfile.TemporaryDirectory() as work:
        runner = ParseRunner(
            ev,
            Path(work),
            on_source=lambda s: None,
            on_record=lambda r, s: records.append(r),
            on_warning=lambda *a: warnings.append(a[3]),
            parsers=[parser],
        )
        for cand in runner.select():
            runner.parse(cand)
    return records, warnings


def test_binary_info_plist_becomes_the_device_record():
    records, warnings = parse_with(IosDeviceInfoParser(), PLAIN)
    assert warnings == []
    device, manifest = records  # Info.plist, then Manifest.plist's Lockdown (Status.plist holds no device facts)
    assert (device.manufacturer, device.model, device.os_name, device.os_version) == (
        "Apple",
        "iPhone12,8 (iPhone SE (2nd generation))",
        "iOS",
        "16.7.8",
    )
    assert device.serial == "F17TESTSERIAL" and device.imei == ["356938035643809"] and device.phone_numbers == []
    extra = device.extra
    assert extra["ICCID"] == "8944110000000000002" and extra["Device Name"] == "iPhone"
    assert extra["Build Version"] == "20H350" and extra["GUID"] == "5A1B2C3D4E5F60718293A4B5C6D7E8F9"
    assert extra["Unique Identifier"] == "00008030-PLAIN"
    assert extra["Last Backup Date (raw)"] == "2024-05-02T09:30:00"
    assert extra["Last Backup Date (UTC)"] == "2024-05-02T09:30:00Z"
    assert "net.whatsapp.WhatsApp" in extra["Installed Applications"]
    assert device.source_table is None and device.source_row is None and device.source_offset is None
    assert manifest.serial == "F17TESTSERIAL" and manifest.extra["IsEncrypted"] is False


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
        assert sha256(ev.read_bytes(sms)) == expected(SMS_ID)["sha256"]  # the same sms.db as the plain backup
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
    assert [m["body"] for m in messages if m["app"] == "sms"] == [SMS_TEXT]
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

    with redirect_stdout(io.StringIO()):
        assert build([str(tmp_path)]) == 0
    for name in FOLDERS:
        committed, rebuilt = ROOT / "fixtures" / name, tmp_path / name
        assert listing(rebuilt) == listing(committed)
        sums = committed_sums(committed)
        assert sorted(sums) == sorted(
            str(p.relative_to(committed)) for p in committed.rglob("*") if p.is_file() and p.name != "SHA256SUMS"
        )
        for relative, digest in sums.items():
            assert sha256((committed / relative).read_bytes()) == digest, relative  # committed = SHA256SUMS
            assert (rebuilt / relative).read_bytes() == (committed / relative).read_bytes(), relative  # repeatable
    options = OpenOptions(backup_password=PASSWORD)
    with open_evidence(ENCRYPTED, options) as a, open_evidence(tmp_path / "ios_backup_encrypted", options) as b:
        assert [(e.path, e.inode, e.size) for e in a.walk()] == [(e.path, e.inode, e.size) for e in b.walk()]
