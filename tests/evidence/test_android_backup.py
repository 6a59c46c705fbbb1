"""Android backups built by fixtures/build_android_backup.py to the documented format (`.ab` version 1
compressed, version 5 AES-256, version 5 compressed, and the unpacked `d_f` folder with the telephony
provider's `*_sms_backup` / `*_mms_backup` files), and damaged or hostile `.ab` files built here.

The built backups have the layout measured on the Android test backups that MVT published (not kept here:
their licence adds a consensual-use condition): the same header versions, compression and encryption, the
same tar members in the same order, one SMS (outgoing, queued) and one MMS (incoming, one from and one to
address) with the same fields."""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import subprocess
import tarfile
import tempfile
import zlib
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from parsers.sms.android_sms_backup import AndroidSmsBackupParser
from tests.bundle_layout import payload
from triage.cli import main
from triage.errors import EvidenceError
from triage.evidence import open_evidence
from triage.evidence.android_backup import AndroidBackupEvidence, UnpackedAndroidBackup, java_password_bytes, place
from triage.evidence.opener import OpenOptions
from triage.parsing import ParseRunner
from triage.run.loose_parse import parse_loose_file

ROOT = Path(__file__).parents[2]
FOLDER = ROOT / "fixtures/android_backup"
PASSWORD = "123456"  # of backup2.ab (fixtures/build_android_backup.py)
TELEPHONY = "/data/user_de/0/com.android.providers.telephony/files"
D_F = "apps/com.android.providers.telephony/d_f"
# what `file` (libmagic) says of each, and the tar members in stream order: as measured on MVT's backups
HEADERS = {
    "backup.ab": "Android Backup, version 1, Compressed, Not-Encrypted",
    "backup2.ab": "Android Backup, version 5, Not-Compressed, Encrypted (AES-256)",
    "backup3.ab": "Android Backup, version 5, Compressed, Not-Encrypted",
}
TAR_MEMBERS = {
    "backup.ab": [
        "apps",
        "apps/com.android.providers.telephony",
        D_F,
        f"{D_F}/000001_mms_backup",
        f"{D_F}/000000_sms_backup",
    ],
    "backup2.ab": ["apps/com.android.providers.telephony/_manifest", f"{D_F}/000000_sms_backup"],
    "backup3.ab": ["apps/com.android.providers.telephony/_manifest", f"{D_F}/000000_sms_backup"],
}


def committed_sums() -> dict[str, str]:
    """SHA256SUMS as the builder wrote it: name -> SHA-256."""
    lines = (FOLDER / "SHA256SUMS").read_text(encoding="ascii").splitlines()
    return {name: digest for digest, name in (line.split("  ", 1) for line in lines)}


def header_fields(data: bytes) -> tuple[int, bool, str]:
    version, compressed, encryption = data.split(b"\n")[1:4]
    return int(version), compressed == b"1", encryption.decode()


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def parse(evidence_path: Path, options: OpenOptions | None = None) -> tuple[list, list[str]]:
    records, warnings = [], []
    with open_evidence(evidence_path, options) as ev, tempfile.TemporaryDirectory() as work:
        runner = ParseRunner(
            ev,
            Path(work),
            on_source=lambda s: None,
            on_record=lambda r, s: records.append(r),
            on_warning=lambda *a: warnings.append(a[3]),
            parsers=[AndroidSmsBackupParser()],
        )
        for cand in runner.select():
            runner.parse(cand)
    return records, warnings


def ab_file(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# -- .ab files --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, password", [("backup.ab", None), ("backup2.ab", PASSWORD), ("backup3.ab", None)])
def test_ab_decodes_to_the_tar_the_builder_wrote(name, password, unchanged):
    from fixtures.build_android_backup import tar_of

    unchanged(FOLDER)
    before = listing(FOLDER)
    data = (FOLDER / name).read_bytes()
    version, compressed, encryption = header_fields(data)
    assert HEADERS[name] == (
        f"Android Backup, version {version}, {'Compressed' if compressed else 'Not-Compressed'}, "
        f"{'Not-Encrypted' if encryption == 'none' else 'Encrypted (AES-256)'}"
    )
    with open_evidence(FOLDER / name, OpenOptions(backup_password=password)) as ev:
        assert isinstance(ev, AndroidBackupEvidence) and ev.kind == "android-backup"
        ev._tar.seek(0)  # the decoded stream itself: decryption and inflation undo the builder exactly
        assert ev._tar.read() == tar_of(name)
        assert [e.layers[1].removeprefix("tar ") for e in ev.walk()] == TAR_MEMBERS[name]
        sms = ev.find(f"{TELEPHONY}/000000_sms_backup")
        assert hashlib.sha256(ev.read_bytes(sms)).hexdigest() == committed_sums()[f"{D_F}/000000_sms_backup"]
        assert sms.provenance == f"Android backup {name} → tar {D_F}/000000_sms_backup → {TELEPHONY}/000000_sms_backup"
        media = ev.media_hashes()
        assert (media.md5, media.sha256, media.size) == (
            hashlib.md5(data).hexdigest(),
            committed_sums()[name],
            len(data),
        )
        assert ev.warnings == []
    assert listing(FOLDER) == before  # the decoded tar went to the system temp folder


@pytest.mark.skipif(shutil.which("file") is None, reason="the `file` command (libmagic) is not installed")
def test_libmagic_reads_the_headers_as_built():
    for name, text in HEADERS.items():
        assert subprocess.run(["file", "-b", str(FOLDER / name)], capture_output=True, text=True).stdout.strip() == text


def test_builder_gives_the_same_bytes_as_committed(tmp_path):
    from fixtures.build_android_backup import main as build

    with redirect_stdout(io.StringIO()):
        assert build([str(tmp_path)]) == 0
    rebuilt = tmp_path / "android_backup"
    assert listing(rebuilt) == listing(FOLDER)
    for name, digest in committed_sums().items():
        assert hashlib.sha256((FOLDER / name).read_bytes()).hexdigest() == digest, name  # committed = SHA256SUMS
        assert (rebuilt / name).read_bytes() == (FOLDER / name).read_bytes(), name  # and the build repeats it
    assert (rebuilt / "SHA256SUMS").read_bytes() == (FOLDER / "SHA256SUMS").read_bytes()


def test_telephony_files_hold_the_fields_of_the_agent():
    """Each file inflates to a JSON list of one object with every value a string (MMS addresses apart)."""
    sms = json.loads(zlib.decompress((FOLDER / D_F / "000000_sms_backup").read_bytes()))
    mms = json.loads(zlib.decompress((FOLDER / D_F / "000001_mms_backup").read_bytes()))
    assert [sorted(m) for m in sms] == [
        ["address", "body", "date", "date_sent", "read", "recipients", "status", "type"]
    ]
    assert [sorted(m) for m in mms] == [
        [
            "date",
            "date_sent",
            "m_type",
            "mms_addresses",
            "mms_body",
            "mms_charset",
            "msg_box",
            "read",
            "recipients",
            "tr_id",
            "v",
        ]
    ]
    assert all(isinstance(v, str) for k, v in sms[0].items() if k != "recipients")
    assert [a["type"] for a in mms[0]["mms_addresses"]] == [137, 151]  # PduHeaders FROM, TO
    assert re.fullmatch(r"\d{13}", sms[0]["date"]) and re.fullmatch(r"\d{10}", mms[0]["date"])  # ms vs s


def test_backup3_manifest_is_bookkeeping_not_a_device_file():
    from fixtures.build_android_backup import manifest as built_manifest

    with open_evidence(FOLDER / "backup3.ab") as ev:
        manifest = ev.find("/apps/com.android.providers.telephony/_manifest")
        assert manifest.volume == "backup" and manifest.size == len(built_manifest()) == 1286
        assert ev.read_bytes(manifest).split(b"\n")[:2] == [b"1", b"com.android.providers.telephony"]


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
    # as in MVT's backup.ab: 2 messages with links, the SMS and the MMS
    assert (sms.app, sms.direction, sms.status, sms.counterpart, sms.sender) == (
        "sms",
        "outgoing",
        "queued",
        "07700900461",
        None,
    )  # type 6 = queued
    assert sms.body == "Your parcel is held. Pay the fee at https://parcel-fee.example/now"
    assert (sms.time_raw, sms.time_encoding, sms.time_utc.isoformat()) == (
        1714570000123,
        "unix_ms",
        "2024-05-01T13:26:40.123000+00:00",
    )
    assert sms.sent_utc is None and sms.read is True
    assert sms.extra == {"status_code": "-1", "recipients": ["07700900461"], "time_is": "stored"}  # outgoing: stored
    assert (sms.source_table, sms.source_row) == ("sms_backup", "0")
    assert (mms.app, mms.direction, mms.status, mms.counterpart, mms.sender) == (
        "mms",
        "incoming",
        "inbox",
        "+447700900461",
        "+447700900461",
    )
    assert mms.body == "Boat leaves at 0300 from the north beach, map http://meet.example/pin"
    assert (mms.time_raw, mms.time_encoding, mms.time_utc.isoformat()) == (
        1714571000,
        "unix_s",
        "2024-05-01T13:43:20+00:00",
    )
    assert (mms.sent_raw, mms.sent_utc.isoformat()) == (1714570995, "2024-05-01T13:43:15+00:00")
    assert mms.extra["recipients"] == ["+447700900462"] and mms.extra["tr_id"] == "T18f2a9c01b"
    assert (mms.source_table, mms.source_row) == ("mms_backup", "0")


@pytest.mark.parametrize("name, password", [("backup2.ab", PASSWORD), ("backup3.ab", None)])
def test_one_sms_in_backup2_and_backup3(name, password):
    records, _ = parse(FOLDER / name, OpenOptions(backup_password=password))
    assert [(m.app, m.body) for m in records] == [
        ("sms", "Your parcel is held. Pay the fee at https://parcel-fee.example/now")
    ]


def test_unpacked_folder_opens_at_device_paths_and_gives_both_messages(unchanged):
    unchanged(FOLDER)
    with open_evidence(FOLDER) as ev:
        assert isinstance(ev, UnpackedAndroidBackup)
        sms = ev.find(f"{TELEPHONY}/000000_sms_backup")
        assert sms.layers == ("directory android_backup", f"{D_F}/000000_sms_backup")
        assert ev.find("/backup.ab").volume == "backup"
    records, _ = parse(FOLDER)
    assert sorted(m.app for m in records) == ["mms", "sms"]  # 2 messages, as from MVT's unpacked folder


def test_loose_sms_backup_file_is_parsed():
    records, warnings = parse_loose_file(FOLDER / D_F / "000000_sms_backup")
    assert warnings == []
    assert [(r["type"], r["app"], r["counterpart"]) for r in records] == [("message", "sms", "07700900461")]


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
        assert "000001_mms_backup has 206 of its 230 bytes" in text


def test_truncated_encrypted_ab_warns(tmp_path):
    data = (FOLDER / "backup2.ab").read_bytes()
    # 517 header bytes, then the tar's _manifest (512 + 1536 bytes) and part of the next member's header
    with open_evidence(ab_file(tmp_path, "cut2.ab", data[:2818]), OpenOptions(backup_password=PASSWORD)) as ev:
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
    path = ab_file(
        tmp_path,
        "hostile.ab",
        hostile_ab(
            {
                "../../evil.txt": b"x",
                "apps/p/zz/odd": b"y",
                "apps/p/sp/prefs.xml": b"<map/>",
                "shared/0/DCIM/a.jpg": b"z",
            }
        ),
    )
    with open_evidence(path) as ev:
        where = {e.path: e.volume for e in ev.walk()}
        assert where == {
            "/unsafe/%2E%2E/%2E%2E/evil.txt": "backup",
            "/apps/p/zz/odd": "backup",
            "/data/data/p/shared_prefs/prefs.xml": "",
            "/storage/emulated/0/DCIM/a.jpg": "",
        }
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
        assert (
            main(["run", str(FOLDER / "backup2.ab"), "--out", str(out), "--quiet", "--backup-password", PASSWORD]) == 0
        )
    messages = [json.loads(line) for line in (payload(out) / "records/message.jsonl").read_text().splitlines()]
    assert [(m["app"], m["provenance"]["table"], m["provenance"]["row"]) for m in messages] == [
        ("sms", "sms_backup", "0")
    ]
    assert (
        messages[0]["provenance"]["path"]
        == f"Android backup backup2.ab → tar {D_F}/000000_sms_backup → {TELEPHONY}/000000_sms_backup"
    )
