"""Issue 13, failures 4, 5 and 6 (names): evidence that was listed but never read, files a parser claims
that it could not read, and file names that are not UTF-8.

- failure 4: a zip written with `ZipFile.writestr` has no file-type bits in its external attributes;
  its members were listed as "other", so nothing was parsed and the phone came out green.
- failure 5: a text file, a symlink or an empty file where mmssms.db should be was left out with no
  warning and no "not parsed" row.
- failure 6: a file name that is not valid UTF-8 ended the run with a traceback.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import stat
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections import Counter
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from tests.evidence.test_evidence_equivalence import DEMO_E01, copy_out
from triage.cli import main
from triage.evidence import open_evidence
from triage.evidence.archive_zip import ZipEvidence
from triage.evidence.opener import OpenOptions
from triage.model.records import ParseWarning, SourceFile
from triage.parsing import ParseRunner

SMS_DIR = "data/data/com.android.providers.telephony/databases"
SMS_PATH = f"/{SMS_DIR}/mmssms.db"


# -- helpers ---------------------------------------------------------------------------------------------
def parse_all(evidence_path: Path) -> tuple[list[SourceFile], Counter, list[tuple]]:
    """Sources, record counts by type and warnings of the parsers on one evidence (as `triage run` selects)."""
    sources: list[SourceFile] = []
    records: Counter = Counter()
    warnings: list[tuple] = []
    with open_evidence(evidence_path) as ev, tempfile.TemporaryDirectory() as work:
        runner = ParseRunner(
            ev, Path(work), sources.append, lambda r, s: records.update([r.record_type]), lambda *w: warnings.append(w)
        )
        for candidate in runner.select():
            runner.parse(candidate)
    return sources, records, warnings


def sms_db(path: Path, bodies: list[str]) -> Path:
    """A minimal mmssms.db: the `sms` columns android_sms needs, one row per body."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE sms (_id INTEGER PRIMARY KEY, thread_id INTEGER, address TEXT, date INTEGER, "
            "date_sent INTEGER, type INTEGER, body TEXT, read INTEGER)"
        )
        db.executemany(
            "INSERT INTO sms (thread_id, address, date, date_sent, type, body, read) "
            "VALUES (1, '+447700900123', ?, ?, 1, ?, 1)",
            [(1747000000000 + i, 1747000000000 + i, b) for i, b in enumerate(bodies)],
        )
    return path


class StoredRun:
    """Read access to the case store a run wrote (CaseStore itself refuses a used database)."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)
        self.session = Session(self.engine)

    def all(self, cls: type) -> list:
        return list(self.session.scalars(select(cls).order_by(cls.id)))

    def close(self) -> None:
        self.session.close()
        self.engine.dispose()


def run_triage(evidence: Path, tmp_path: Path) -> tuple[int, StoredRun]:
    """`triage run` with the case store outside the bundle (its place inside the bundle is not this test's)."""
    out = tmp_path / "out"
    url = f"sqlite:///{tmp_path / 'case.sqlite'}"
    with redirect_stdout(io.StringIO()):
        code = main(["run", str(evidence), "--out", str(out), "--db", url, "--quiet", "--examiner", "Test"])
    return code, StoredRun(url)


# -- failure 4: zip members without file-type bits --------------------------------------------------------
@pytest.fixture(scope="module")
def demo_tree(tmp_path_factory) -> Path:
    tree = tmp_path_factory.mktemp("demo") / "tree"
    assert len(copy_out(DEMO_E01, tree)) >= 12
    return tree


def pack(tree: Path, out: Path, writestr_names: bool) -> Path:
    """The tree in a zip: with ZipInfo.from_file (Unix type bits) or with ZipFile.writestr(name, data),
    which writes permissions 0o600 and no file type, as many tools do."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(tree.rglob("*")):
            if not path.is_file():
                continue
            name = f"Dump/{path.relative_to(tree).as_posix()}"
            if writestr_names:
                z.writestr(name, path.read_bytes())
            else:
                z.write(path, name)
    return out


def test_zip_written_by_writestr_gives_the_records_of_a_normal_zip(demo_tree, tmp_path):
    normal = pack(demo_tree, tmp_path / "normal.zip", writestr_names=False)
    bare = pack(demo_tree, tmp_path / "writestr.zip", writestr_names=True)
    with zipfile.ZipFile(bare) as z:  # the case of the issue: permissions, no type bits
        assert {stat.S_IFMT(i.external_attr >> 16) for i in z.infolist()} == {0}
    with open_evidence(bare) as ev:
        types = Counter(e.type for e in ev.walk())
    assert types["other"] == 0 and types["file"] == len([p for p in demo_tree.rglob("*") if p.is_file()])

    sources_normal, records_normal, _ = parse_all(normal)
    sources_bare, records_bare, _ = parse_all(bare)
    demo = json.loads((DEMO_E01.parent / "demo.json").read_text(encoding="utf-8"))
    assert records_normal["message"] == len(demo["sms"]) + demo["whatsapp"]["message_count"] + len(
        demo["telegram"]["messages"]
    )
    assert records_normal["media_file"] == len(demo["photos"])
    assert records_bare == records_normal
    assert sorted(s.path for s in sources_bare) == sorted(s.path for s in sources_normal)


def zip_member(z: zipfile.ZipFile, name: str, system: int, mode: int, data: bytes = b"x") -> None:
    info = zipfile.ZipInfo(name)
    info.create_system, info.external_attr = system, mode << 16
    z.writestr(info, data)


def test_zip_type_comes_from_unix_bits_when_present_else_from_the_name(tmp_path):
    path = tmp_path / "kinds.zip"
    with zipfile.ZipFile(path, "w") as z:
        zip_member(z, "a/plain", 3, 0o644)  # Unix host, permissions only: a file
        zip_member(z, "a/folder/", 3, 0o755)  # Unix host, no type, trailing slash: a folder
        zip_member(z, "a/link", 3, stat.S_IFLNK | 0o777, b"../../etc/passwd")
        zip_member(z, "a/fifo", 3, stat.S_IFIFO | 0o644, b"")
        zip_member(z, "a/dos", 0, 0)  # MS-DOS host: the high bits are not a Unix mode
        zip_member(z, "a/dos-link", 0, stat.S_IFLNK | 0o777)  # only a Unix host makes a link
        zip_member(z, "a/regular", 3, stat.S_IFREG | 0o644)
    with ZipEvidence(path, OpenOptions()) as ev:
        kinds = {e.path: e.type for e in ev.walk()}
    assert kinds == {
        "/a": "dir",
        "/a/plain": "file",
        "/a/folder": "dir",
        "/a/link": "link",
        "/a/fifo": "other",
        "/a/dos": "file",
        "/a/dos-link": "file",
        "/a/regular": "file",
    }


def test_tar_member_types_are_always_explicit(tmp_path):
    path = tmp_path / "kinds.tar"
    with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as t:
        for name, kind in (
            ("t/reg", tarfile.REGTYPE),
            ("t/old", tarfile.AREGTYPE),
            ("t/dir", tarfile.DIRTYPE),
            ("t/sym", tarfile.SYMTYPE),
            ("t/fifo", tarfile.FIFOTYPE),
            ("t/vendor", b"Q"),
        ):
            info = tarfile.TarInfo(name)
            info.type = kind
            info.size = 0 if kind in (tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.FIFOTYPE) else 4
            t.addfile(info, io.BytesIO(b"data") if info.size else None)
    with open_evidence(path) as ev:
        kinds = {e.path: e.type for e in ev.walk()}
        vendor = ev.read_bytes(ev.find("/t/vendor"))
        warnings = ev.warnings
    assert kinds == {
        "/t": "dir",
        "/t/reg": "file",
        "/t/old": "file",
        "/t/dir": "dir",
        "/t/sym": "link",
        "/t/fifo": "other",
        "/t/vendor": "file",
    }
    assert vendor == b"data"  # an unknown type flag is a regular file (POSIX), never dropped as "other"
    assert (
        "tar kinds.tar: member #6 't/vendor' has the unknown type flag b'Q'; read as a regular file, as POSIX "
        "says" in warnings
    )


# -- failure 5: files a parser claims that it cannot read -------------------------------------------------
def phone_with_sms_db(tmp_path: Path, make_db) -> Path:  # noqa: ANN001 - callable(path)
    """A tiny extraction: one readable SMS database elsewhere, and `make_db` at the mmssms.db path."""
    tree = tmp_path / "phone"
    sms_db(tree / "data/user_de/0/com.android.providers.telephony/databases/mmssms.db", ["readable one"])
    target = tree / SMS_DIR / "mmssms.db"
    target.parent.mkdir(parents=True)
    make_db(target)
    return tree


CLAIMS = ("android_sms", "android_mms")  # both read mmssms.db


@pytest.mark.parametrize(
    "case, make, reason",
    [
        ("text", lambda p: p.write_text("not a database\n"), "not a SQLite database (first bytes: 6e 6f 74 20"),
        (
            "symlink",
            lambda p: p.symlink_to("/etc/hostname"),
            "is a symbolic link; links are never followed, so it is not read",
        ),
        ("empty", lambda p: p.write_bytes(b""), "is empty (0 bytes)"),
    ],
)
def test_unreadable_file_at_a_claimed_path_is_a_warning_and_not_parsed(case, make, reason, tmp_path):
    tree = phone_with_sms_db(tmp_path, make)
    code, store = run_triage(tree, tmp_path)
    try:
        assert code == 0
        sources = {s.path: s for s in store.all(SourceFile)}
        missing = sources[SMS_PATH]
        assert missing.status == "not parsed" and missing.record_count == 0
        assert missing.parser == ", ".join(CLAIMS)
        assert missing.provenance == f"directory phone → {SMS_PATH}"
        warnings = [w for w in store.all(ParseWarning) if w.source_file_id == missing.id]
        assert [(w.component, w.level) for w in warnings] == [(name, "not parsed") for name in CLAIMS]
        assert all(w.message.startswith(reason) and w.provenance == missing.provenance for w in warnings)
        readable = sources["/data/user_de/0/com.android.providers.telephony/databases/mmssms.db"]
        assert readable.status == "parsed" and readable.record_count == 1  # the rest of the phone is read
    finally:
        store.close()


def test_database_of_another_shape_at_a_claimed_path_is_listed_as_not_parsed(tmp_path):
    def other_shape(path: Path) -> None:
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE notes (_id INTEGER PRIMARY KEY, body TEXT)")

    sources, records, warnings = parse_all(phone_with_sms_db(tmp_path, other_shape))
    missing = next(s for s in sources if s.path == SMS_PATH)
    assert missing.status == "not parsed" and missing.parser == ", ".join(CLAIMS) and missing.sha256
    said = [w[3] for w in warnings if w[4] == missing.provenance]
    assert said == ["unknown schema: missing table sms", "unknown schema: missing table pdu, table part, table addr"]
    assert records["message"] == 1


def set_flag(data: bytes, bit: int) -> bytes:
    """Set a general-purpose flag bit in every local (offset 6) and central (offset 8) zip header."""
    out = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = out.find(signature)
        while at >= 0:
            out[at + offset : at + offset + 2] = (
                int.from_bytes(out[at + offset : at + offset + 2], "little") | 1 << bit
            ).to_bytes(2, "little")
            at = out.find(signature, at + 4)
    return bytes(out)


def test_encrypted_member_at_a_claimed_path_is_not_parsed(tmp_path):
    path = tmp_path / "encrypted.zip"
    sms_db(tmp_path / "sms.db", ["locked away"])
    with zipfile.ZipFile(path, "w") as z:
        z.write(tmp_path / "sms.db", f"{SMS_DIR}/mmssms.db")
    path.write_bytes(set_flag(path.read_bytes(), 0))  # bit 0: encrypted (no password option: never read)
    sources, records, warnings = parse_all(path)
    assert [(s.path, s.status, s.parser, s.sha256) for s in sources] == [
        (SMS_PATH, "not parsed", ", ".join(CLAIMS), None)
    ]
    said = [w[3] for w in warnings if w[4] == sources[0].provenance]
    assert (
        said
        == [f"cannot be read: zip encrypted.zip → {SMS_PATH} is encrypted; listed, not read (no zip password option)"]
        * 2
    )
    assert not records


def test_superseded_duplicate_at_a_claimed_path_is_named_and_the_later_one_parsed(tmp_path):
    path = tmp_path / "dup.zip"
    sms_db(tmp_path / "one.db", ["first"])
    with zipfile.ZipFile(path, "w") as z, pytest.warns(UserWarning, match="Duplicate name"):
        z.write(tmp_path / "one.db", f"{SMS_DIR}/mmssms.db")
        z.write(tmp_path / "one.db", f"{SMS_DIR}/mmssms.db")
    sources, records, warnings = parse_all(path)
    assert [s.status for s in sources if s.path == SMS_PATH] == ["not parsed", "parsed"]
    assert [w[3] for w in warnings if w[2] == "not parsed"] == [
        "is a deleted or superseded entry (unallocated); its content is not parsed"
    ] * 2
    assert records["message"] == 1


# -- failure 6: names that are not UTF-8 ------------------------------------------------------------------
def test_non_utf8_names_in_a_folder_complete_the_run_with_raw_bytes_kept(tmp_path):
    tree = tmp_path / "phone"
    folder = os.fsencode(tree / SMS_DIR)
    os.makedirs(folder)
    sms_db(Path(os.fsdecode(folder + b"/caf\xe9.db")), ["named in Latin-1"])
    with open(folder + b"/\xff\xfe.jpg", "wb") as f:
        f.write(b"not really a photo")
    code, store = run_triage(tree, tmp_path)
    try:
        assert code == 0
        sources = {s.path: s for s in store.all(SourceFile)}
        cafe = sources[f"/{SMS_DIR}/caf\\xe9.db"]
        assert cafe.status == "parsed" and cafe.record_count == 1
        assert bytes.fromhex(cafe.raw_name_hex) == f"/{SMS_DIR}/caf".encode() + b"\xe9.db"
        assert cafe.provenance == f"directory phone → /{SMS_DIR}/caf\\xe9.db"
        photo = sources[f"/{SMS_DIR}/\\xff\\xfe.jpg"]
        assert bytes.fromhex(photo.raw_name_hex).endswith(b"/\xff\xfe.jpg")
    finally:
        store.close()


def test_non_utf8_names_in_zip_and_tar_complete_the_run_with_raw_bytes_kept(tmp_path):
    db = sms_db(tmp_path / "sms.db", ["in an archive"]).read_bytes()
    cp437 = f"{SMS_DIR}/".encode() + b"caf\x82.db"  # é in code page 437, no UTF-8 flag
    flagged_bad = f"{SMS_DIR}/".encode() + b"bad\xff.db"  # UTF-8 flag set, bytes that are not UTF-8
    zip_path = tmp_path / "names.zip"
    placeholder = cp437.replace(b"\x82", b"e")  # zipfile flags any non-ASCII name as UTF-8: patch the bytes
    with zipfile.ZipFile(zip_path, "w") as z:
        z.writestr(placeholder.decode(), db)
    zip_path.write_bytes(zip_path.read_bytes().replace(placeholder, cp437))
    assert zipfile.ZipFile(zip_path).infolist()[0].flag_bits & 0x800 == 0
    tar_path = tmp_path / "names.tar"
    with tarfile.open(tar_path, "w", format=tarfile.GNU_FORMAT, encoding="utf-8", errors="surrogateescape") as t:
        info = tarfile.TarInfo(flagged_bad.decode("utf-8", "surrogateescape"))
        info.size = len(db)
        t.addfile(info, io.BytesIO(db))

    for evidence, shown, raw in (
        (zip_path, f"/{SMS_DIR}/café.db", cp437),
        (tar_path, f"/{SMS_DIR}/bad\\xff.db", flagged_bad),
    ):
        code, store = run_triage(evidence, tmp_path / evidence.suffix[1:])
        try:
            assert code == 0, evidence
            source = next(s for s in store.all(SourceFile) if s.path == shown)
            assert source.status == "parsed" and source.record_count == 1
            assert bytes.fromhex(source.raw_name_hex) == raw
        finally:
            store.close()


def test_zip_name_flagged_utf8_that_is_not_utf8_is_escaped_never_replaced(tmp_path):
    path = tmp_path / "flagged.zip"
    name = b"data/bad\xff-name.txt"
    placeholder = b"data/" + b"p" * (len(name) - 9) + b".txt"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(placeholder.decode(), b"hello")
    path.write_bytes(set_flag(path.read_bytes().replace(placeholder, name), 11))
    with open_evidence(path) as ev:
        entry = next(e for e in ev.walk() if e.type == "file")
        content = ev.read_bytes(entry)
        warnings = ev.warnings
    assert entry.path == "/data/bad\\xff-name.txt" and "\ufffd" not in entry.path
    assert bytes.fromhex(entry.raw_name_hex) == name and content == b"hello"
    assert any("flag bit 11" in w and "recovered from their local headers;" in w for w in warnings), warnings


def test_non_utf8_name_in_an_ext4_image_is_listed_with_its_raw_bytes(tmp_path):
    if subprocess.run(["sh", "-c", "command -v mkfs.ext4"], capture_output=True).returncode:
        pytest.skip("mkfs.ext4 (e2fsprogs) is not installed")
    tree = tmp_path / "tree"
    folder = os.fsencode(tree / "data")
    os.makedirs(folder)
    sms_db(Path(os.fsdecode(folder + b"/caf\xe9.db")), ["in ext4"])
    image = tmp_path / "fs.img"
    subprocess.run(
        ["mkfs.ext4", "-q", "-F", "-d", str(tree), str(image), "4M"],
        check=True,
        env={**os.environ, "E2FSPROGS_FAKE_TIME": "1747000000"},
    )
    sources, records, _ = parse_all(image)
    source = next(s for s in sources if s.path == "/data/caf\\xe9.db")
    assert source.status == "parsed" and records["message"] == 1
    assert bytes.fromhex(source.raw_name_hex) == b"/data/caf\xe9.db"
    assert source.provenance.endswith("ext4 → /data/caf\\xe9.db")


def test_non_utf8_name_in_an_itunes_backup_index_is_listed_not_fatal(tmp_path):
    import shutil

    from tests.evidence.test_ios_backup import MBDB, SMS_ID

    backup = tmp_path / "backup"
    shutil.copytree(MBDB, backup)
    (backup / "Manifest.mbdb").unlink()
    with sqlite3.connect(backup / "Manifest.db") as db:
        db.execute(
            "CREATE TABLE Files (fileID TEXT PRIMARY KEY, domain TEXT, relativePath TEXT, flags INTEGER, file BLOB)"
        )
        db.execute(
            "INSERT INTO Files VALUES (?, 'HomeDomain', CAST(? AS TEXT), 1, NULL)", (SMS_ID, b"Library/SMS/caf\xe9.db")
        )  # text that is not UTF-8, as a damaged index holds it
    os.makedirs(backup / SMS_ID[:2])
    shutil.move(backup / SMS_ID, backup / SMS_ID[:2] / SMS_ID)
    with open_evidence(backup) as ev:
        entry = next(e for e in ev.walk() if e.inode == SMS_ID)
    assert entry.path == "/private/var/mobile/Library/SMS/caf\\xe9.db"
    assert bytes.fromhex(entry.raw_name_hex) == b"/private/var/mobile/Library/SMS/caf\xe9.db"


def test_itunes_backup_index_whose_files_table_is_a_view_is_refused(tmp_path):
    import shutil

    from tests.evidence.test_ios_backup import MBDB

    backup = tmp_path / "backup"
    shutil.copytree(MBDB, backup)
    (backup / "Manifest.mbdb").unlink()
    with sqlite3.connect(backup / "Manifest.db") as db:
        db.execute(
            "CREATE VIEW Files AS WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) "
            "SELECT hex(x) AS fileID, 'HomeDomain' AS domain, x AS relativePath, 1 AS flags, NULL AS file "
            "FROM n ORDER BY relativePath DESC"
        )
    # in a child with 2 GiB of address space and a deadline: a regression (the view followed) fails, not hangs
    guarded = (
        "import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n"
        "from triage.cli import main; sys.exit(main(['evidence', 'ls', sys.argv[1]]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", guarded, str(backup)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).parents[2],
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Manifest.db cannot be read as a backup index ('Files' is a view, not a table)" in result.stderr


def test_triage_parse_on_a_loose_file_whose_name_is_not_utf8(tmp_path):
    from triage.run.loose_parse import parse_loose_file

    path = Path(os.fsdecode(os.fsencode(tmp_path) + b"/mmssms-caf\xe9.db"))
    sms_db(path, ["loose"])
    records, warnings = parse_loose_file(path)
    assert [r["body"] for r in records] == ["loose"] and not warnings
    assert records[0]["provenance"]["path"] == "file mmssms-caf\\xe9.db → /mmssms-caf\\xe9.db"
