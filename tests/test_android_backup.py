"""Android backups: MVT's real `.ab` files (plain, compressed, AES-256) and unpacked `d_f` folder, the
telephony provider's `*_sms_backup` / `*_mms_backup` files, and damaged or hostile `.ab` files built here."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import tempfile
import zlib
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from parsers.android_sms_backup import AndroidSmsBackupParser
from triage.cli import main
from triage.errors import EvidenceError
from triage.evidence import open_evidence
from triage.evidence.android_backup import AndroidBackupEvidence, UnpackedAndroidBackup, java_password_bytes, place
from triage.evidence.opener import OpenOptions
from triage.loose_parse import parse_loose_file
from triage.parsing import ParseRunner
from tests.bundle_layout import payload

ROOT = Path(__file__).parent.parent
FOLDER = ROOT / "fixtures/third_party/mvt/tests/artifacts/android_backup"
EXPECTED = json.loads((ROOT / "fixtures/third_party/expected_mvt_backups.json").read_text(encoding="utf-8"))
PASSWORD = "123456"  # backup2.ab, from MVT's tests/android/test_backup_parser.py
TELEPHONY = "/data/user_de/0/com.android.providers.telephony/files"
D_F = "apps/com.android.providers.telephony/d_f"
# SHA-256 of the decoded tar streams, as MVT's own tests assert them (test_backup_parser.py)
TAR_SHA256 = {"backup.ab": "ce1ac5009fea5187a9f546b51e1446ba450243ae91d31dc779233ec0937b5d18",
              "backup2.ab": "f365ace1effbc4902c6aeba241ca61544f8a96ad456c1861808ea87b7dd03896",
              "backup3.ab": "33e73df2ede9798dcb3a85c06200ee41c8f52dd2f2e50ffafcceb0407bc13e3a"}


def expected(name: str) -> dict:
    return EXPECTED[f"mvt/tests/artifacts/android_backup/{name}"]


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def parse(evidence_path: Path, options: OpenOptions | None = None) -> tuple[list, list[str]]:
    records, warnings = [], []
    with open_evidence(evidence_path, options) as ev, tempfile.TemporaryDirectory() as work:
        runner = ParseRunner(ev, Path(work), on_source=lambda s: None, on_record=lambda r, s: records.append(r),
                             on_warning=lambda *a: warnings.append(a[3]), parsers=[AndroidSmsBackupParser()])
        for cand in runner.select():
            runner.parse(cand)
    return records, warnings


def ab_file(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# -- .ab files --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, password", [("backup.ab", None), ("backup2.ab", PASSWORD), ("backup3.ab", None)])
def test_ab_decodes_to_the_tar_mvt_asserts(name, password, unchanged):
    unchanged(FOLDER)
    before = listing(FOLDER)
    with open_evidence(FOLDER / name, OpenOptions(backup_password=password)) as ev:
        assert isinstance(ev, AndroidBackupEvidence) and ev.kind == "android-backup"
        ev._tar.seek(0)  # the decoded stream itself, to compare with MVT's measured hash
        assert hashlib.sha256(ev._tar.read()).hexdigest() == TAR_SHA256[name]
        members = [e.layers[1].removeprefix("tar ") for e in ev.walk()]
        if "tar_members" in expected(name)["android_backup"]:
            assert members == expected(name)["android_backup"]["tar_members"]
        sms = ev.find(f"{TELEPHONY}/000000_sms_backup")
        assert hashlib.sha256(ev.read_bytes(sms)).hexdigest() == expected(f"{D_F}/000000_sms_backup")["sha256"]
        assert sms.provenance == f"Android backup {name} → tar {D_F}/000000_sms_backup → {TELEPHONY}/000000_sms_backup"
        media = ev.media_hashes()
        assert (media.md5, media.sha256, media.size) == (expected(name)["md5"], expected(name)["sha256"],
                                                         expected(name)["size"])
        assert ev.warnings == []
    assert listing(FOLDER) == before  # the decoded tar went to the system temp folder


def test_backup3_manifest_is_bookkeeping_not_a_device_file():
    with open_evidence(FOLDER / "backup3.ab") as ev:
        manifest = ev.find("/apps/com.android.providers.telephony/_manifest")
        assert manifest.volume == "backup" and manifest.size == 2526


def test_encrypted_ab_without_password_opens_with_a_warning():
    with open_evidence(FOLDER / "backup2.ab", OpenOptions(backup_password=None)) as ev:
        assert list(ev.walk()) == []
        assert "encrypted backup (AES-256)" in ev.warnings[0] and "--backup-password" in ev.warnings[0]


def test_encrypted_ab_wrong_password_is_a_clear_error():
    with pytest.raises(EvidenceError, match="wrong backup password"):
        open_evidence(FOLDER / "backup2.ab", OpenOptions(backup_password="654321"))


def test_cli_wrong_password_is_one_line_exit_2(capsys):
    assert main(["evidence", "ls", str(FOLDER / "backup2.ab"), "--backup-password", "654321"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "wrong backup password" in err and "Traceback" not in err


def test_java_checksum_quirk_widens_signed_bytes():
    # Java: (char) of a negative byte sign-extends (0x80 -> U+FF80), and PBKDF2 takes the chars as UTF-8
    assert java_password_bytes(bytes([0x41, 0x7F, 0x80, 0xFF])) == b"A\x7f\xef\xbe\x80\xef\xbf\xbf"


# -- SMS and MMS records -----------------------------------------------------------------------------
def test_sms_and_mms_in_backup_ab_become_messages():
    records, warnings = parse(FOLDER / "backup.ab")
    assert warnings == []
    mms, sms = records  # tar order: 000001_mms_backup comes first in backup.ab
    # MVT's test asserts 2 messages with links in backup.ab: the SMS and the MMS
    assert (sms.app, sms.direction, sms.status, sms.counterpart, sms.sender) == \
        ("sms", "outgoing", "queued", "06543219", None)  # type 6 = queued
    assert sms.body == "Hi this is a test message to https://google.com/"
    assert (sms.time_raw, sms.time_encoding, sms.time_utc.isoformat()) == \
        (1645543781956, "unix_ms", "2022-02-22T15:29:41.956000+00:00")
    assert sms.sent_utc is None and sms.read is True
    assert sms.extra == {"status_code": "-1", "recipients": ["06543219"]}
    assert (sms.source_table, sms.source_row) == ("sms_backup", "0")
    assert (mms.app, mms.direction, mms.status, mms.counterpart, mms.sender) == \
        ("mms", "incoming", "inbox", "+12345678", "+12345678")
    assert mms.body == "Very suspicious MMS, click on this link http://google.com"
    assert (mms.time_raw, mms.time_encoding, mms.time_utc.isoformat()) == \
        (1579531789, "unix_s", "2020-01-20T14:49:49+00:00")
    assert (mms.sent_raw, mms.sent_utc.isoformat()) == (1579531786, "2020-01-20T14:49:46+00:00")
    assert mms.extra["recipients"] == ["+23456789"] and mms.extra["tr_id"] == "cjdYUDkdslU"
    assert (mms.source_table, mms.source_row) == ("mms_backup", "0")


@pytest.mark.parametrize("name, password", [("backup2.ab", PASSWORD), ("backup3.ab", None)])
def test_one_sms_in_backup2_and_backup3(name, password):
    records, _ = parse(FOLDER / name, OpenOptions(backup_password=password))
    assert [(m.app, m.body) for m in records] == [("sms", "Hi this is a test message to https://google.com/")]


def test_unpacked_folder_opens_at_device_paths_and_gives_both_messages(unchanged):
    unchanged(FOLDER)
    with open_evidence(FOLDER) as ev:
        assert isinstance(ev, UnpackedAndroidBackup)
        sms = ev.find(f"{TELEPHONY}/000000_sms_backup")
        assert sms.layers == ("directory android_backup", f"{D_F}/000000_sms_backup")
        assert ev.find("/backup.ab").volume == "backup"
    records, _ = parse(FOLDER)
    assert sorted(m.app for m in records) == ["mms", "sms"]  # MVT's folder test: 2 results


def test_loose_sms_backup_file_is_parsed():
    records, warnings = parse_loose_file(FOLDER / D_F / "000000_sms_backup")
    assert warnings == []
    assert [(r["type"], r["app"], r["counterpart"]) for r in records] == [("message", "sms", "06543219")]


def test_json_that_is_not_a_message_list_is_a_warning(tmp_path):
    bad = ab_file(tmp_path, "000009_sms_backup", zlib.compress(b'{"not": "a list"}'))
    records, warnings = parse_loose_file(bad)
    assert records == [] and any("not a list of messages" in w for w in warnings)


# -- damaged and hostile .ab -------------------------------------------------------------------------
def test_truncated_ab_lists_what_it_can_and_warns(tmp_path):
    data = (FOLDER / "backup.ab").read_bytes()
    with open_evidence(ab_file(tmp_path, "cut.ab", data[:400])) as ev:
        paths = [e.path for e in ev.walk() if e.type == "file"]
        assert paths == [f"{TELEPHONY}/000001_mms_backup"]
        text = "\n".join(ev.warnings)
        assert "truncated: the compressed stream ends before its end marker" in text
        assert "000001_mms_backup has 181 of its 226 bytes" in text


def test_truncated_encrypted_ab_warns(tmp_path):
    data = (FOLDER / "backup2.ab").read_bytes()
    with open_evidence(ab_file(tmp_path, "cut2.ab", data[:3001]), OpenOptions(backup_password=PASSWORD)) as ev:
        assert [e.path for e in ev.walk()] == ["/apps/com.android.providers.telephony/_manifest"]
        assert any("not a whole number of AES blocks" in w for w in ev.warnings)


def test_truncated_header_is_a_clear_error(tmp_path):
    with pytest.raises(EvidenceError, match="header ends before its encryption line"):
        open_evidence(ab_file(tmp_path, "head.ab", (FOLDER / "backup.ab").read_bytes()[:20]))


def test_unknown_version_is_a_clear_error_and_one_cli_line(tmp_path, capsys):
    data = (FOLDER / "backup.ab").read_bytes().replace(b"ANDROID BACKUP\n1\n", b"ANDROID BACKUP\n9\n", 1)
    path = ab_file(tmp_path, "v9.ab", data)
    with pytest.raises(EvidenceError, match="unknown Android backup format version '9'"):
        open_evidence(path)
    assert main(["evidence", "ls", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown Android backup format version '9'" in err


def hostile_ab(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 1700000000
            tar.addfile(info, io.BytesIO(data))
    return b"ANDROID BACKUP\n5\n1\nnone\n" + zlib.compress(buf.getvalue())


def test_hostile_member_names_stay_inside_and_are_reported(tmp_path):
    path = ab_file(tmp_path, "hostile.ab", hostile_ab({"../../evil.txt": b"x", "apps/p/zz/odd": b"y",
                                                      "apps/p/sp/prefs.xml": b"<map/>", "shared/0/DCIM/a.jpg": b"z"}))
    with open_evidence(path) as ev:
        where = {e.path: e.volume for e in ev.walk()}
        assert where == {"/unsafe/%2E%2E/%2E%2E/evil.txt": "backup", "/apps/p/zz/odd": "backup",
                         "/data/data/p/shared_prefs/prefs.xml": "", "/storage/emulated/0/DCIM/a.jpg": ""}
        text = "\n".join(ev.warnings)
        assert "climbs with '..'" in text and "unknown backup token 'zz'" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hostile.ab"]  # nothing written beside it


def test_zlib_bomb_stops_at_the_total_limit(tmp_path):
    path = ab_file(tmp_path, "bomb.ab", b"ANDROID BACKUP\n5\n1\nnone\n" + zlib.compress(b"\0" * 20_000_000))
    with open_evidence(path, OpenOptions(max_total_bytes=1_000_000)) as ev:
        assert list(ev.walk()) == []
        assert any("exceeds the limit of 1000000 bytes" in w for w in ev.warnings)


def test_token_placement_follows_aosp_full_backup():
    assert place("apps/com.whatsapp/db/msgstore.db").path == "/data/data/com.whatsapp/databases/msgstore.db"
    assert place("apps/com.whatsapp/f/key").path == "/data/data/com.whatsapp/files/key"
    assert place("apps/x/r/app_webview/a").path == "/data/data/x/app_webview/a"
    assert place("apps/x/c/tmp").path == "/data/data/x/cache/tmp"
    assert place("apps/x/d_db/a.db").path == "/data/user_de/0/x/databases/a.db"
    assert place("apps/x/ef/media/p.jpg").path == "/storage/emulated/0/Android/data/x/files/media/p.jpg"
    assert place("apps/x/_manifest") == place("apps/x/_manifest").__class__("/apps/x/_manifest", "backup")


def test_run_on_backup_ab_gives_message_records(tmp_path):
    out = tmp_path / "out"
    with redirect_stdout(io.StringIO()):
        assert main(["run", str(FOLDER / "backup2.ab"), "--out", str(out), "--quiet", "--backup-password",
                     PASSWORD]) == 0
    messages = [json.loads(line) for line in (payload(out) / "records/message.jsonl").read_text().splitlines()]
    assert [(m["app"], m["provenance"]["table"], m["provenance"]["row"]) for m in messages] == \
        [("sms", "sms_backup", "0")]
    assert messages[0]["provenance"]["path"] == \
        f"Android backup backup2.ab → tar {D_F}/000000_sms_backup → {TELEPHONY}/000000_sms_backup"
