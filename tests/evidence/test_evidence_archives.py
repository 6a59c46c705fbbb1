"""Zip and tar evidence: normal layouts, and hostile archives that must never escape (issue 3 item 7).

The archives are built by fixtures/build_hostile_archives.py (committed in fixtures/hostile/); the
values asserted (names, sizes, MD5 of contents) follow from what the builder writes.
"""

from __future__ import annotations

import hashlib
import sqlite3
import struct
from pathlib import Path

import pytest

from tests.bundle_layout import payload
from triage.errors import EvidenceError
from triage.evidence import open_evidence
from triage.evidence.archive_tar import TarEvidence
from triage.evidence.archive_zip import ZipEvidence
from triage.evidence.opener import OpenOptions, hash_evidence
from triage.parsing import SqliteCopy

HOSTILE = Path(__file__).parents[2] / "fixtures" / "hostile"


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def listing(ev) -> dict[str, tuple]:
    """path -> (type, size, allocated, md5 of content or None), for the live entry of each path."""
    out = {}
    for e in ev.walk():
        content = md5(ev.read_bytes(e)) if e.type == "file" and e.allocated and not e.handle.refusal else None
        out.setdefault(e.path, []).append((e.type, e.size, e.allocated, content))
    return {p: v[0] if len(v) == 1 else tuple(v) for p, v in out.items()}


@pytest.fixture(autouse=True)
def guard_fixtures(unchanged):
    unchanged(HOSTILE)


def opened(name: str, **limits):
    return open_evidence(HOSTILE / name, OpenOptions(**limits))


# -- normal cases ---------------------------------------------------------------------------------------
def test_zip_with_dump_wrapper_shows_device_paths_and_utc_times():
    with opened("layout_dump.zip") as ev:
        assert isinstance(ev, ZipEvidence) and ev.kind == "zip"
        assert ev.layer == "zip layout_dump.zip (root 'Dump/')"
        db = ev.find("/data/com.android.providers.telephony/databases/mmssms.db")
        assert db.provenance == (
            "zip layout_dump.zip (root 'Dump/') → /data/com.android.providers.telephony/databases/mmssms.db"
        )
        assert db.size == 20480 and db.mtime.isoformat() == "2025-05-26T12:00:00+00:00"
        files = {e.path for e in ev.walk() if e.type == "file"}
        assert files == {
            "/data/com.android.providers.telephony/databases/mmssms.db",
            "/media/0/DCIM/a.txt",
            "/Report.xml",
        }
        assert md5(ev.read_bytes(ev.find("/media/0/DCIM/a.txt"))) == md5(b"photo")
        assert "/Dump" not in {e.path for e in ev.walk()}
        assert ev.warnings == []
        assert ev.container_files == [HOSTILE / "layout_dump.zip"]


def test_tgz_with_filesystem1_wrapper_is_streamed_and_shows_ios_paths():
    with opened("layout_filesystem1.tar.gz") as ev:
        assert isinstance(ev, TarEvidence) and ev.kind == "tar.gz" and ev.streamed
        assert ev.layer == "tar.gz layout_filesystem1.tar.gz (root 'filesystem1/')"
        sms = ev.find("/private/var/mobile/Library/SMS/sms.db")
        assert sms.size == 20480 and sms.inode == "4"
        assert md5(ev.read_bytes(ev.find("/private/var/mobile/x.txt"))) == md5(b"x")
        assert ev.warnings == []


def test_tar_with_fs_wrapper():
    with opened("layout_fs.tar") as ev:
        assert ev.kind == "tar" and ev.layer == "tar layout_fs.tar (root 'fs/')"
        assert {e.path for e in ev.walk() if e.type == "file"} == {
            "/data/data/com.whatsapp/databases/msgstore.db",
            "/sdcard/notes.txt",
        }


def test_no_wrapper_is_guessed_where_folders_are_device_folders_or_several():
    with opened("not_a_wrapper.zip") as ev:
        assert ev.layer == "zip not_a_wrapper.zip"
        assert {e.path for e in ev.walk() if e.type == "file"} == {
            "/sdcard-copy/Android/data/com.x/f.txt",
            "/photos/data/p.txt",
        }


@pytest.mark.parametrize("name,kind", [("plain.tar", "tar"), ("plain.tgz", "tar.gz"), ("plain.tar.gz", "tar.gz")])
def test_plain_tar_and_gzip(name, kind):
    with opened(name) as ev:
        assert ev.kind == kind and ev.layer == f"{kind} {name}"
        assert listing(ev) == {
            "/data": ("dir", None, True, None),
            "/data/a.txt": ("file", 6, True, md5(b"alpha\n")),
            "/media": ("dir", None, True, None),
            "/media/0": ("dir", None, True, None),
            "/media/0/b.txt": ("file", 5, True, md5(b"beta\n")),
        }
        assert ev.warnings == []


def test_recognised_by_content_not_name(tmp_path):
    for source, kind in (("plain.tgz", "tar.gz"), ("plain.tar", "tar"), ("stored.zip", "zip")):
        renamed = tmp_path / f"{kind}-evidence.bin"
        renamed.write_bytes((HOSTILE / source).read_bytes())
        with open_evidence(renamed) as ev:
            assert ev.kind == kind
            assert "/data/a.txt" in {e.path for e in ev.walk()}


def test_zip64_forced_on_small_files():
    raw = (HOSTILE / "zip64.zip").read_bytes()
    assert raw[:4] == b"PK\x03\x04"
    name_len, extra_len = struct.unpack_from("<HH", raw, 26)
    extra, tags = raw[30 + name_len : 30 + name_len + extra_len], []
    while extra:
        tag, size = struct.unpack_from("<HH", extra)
        tags.append((tag, size))
        extra = extra[4 + size :]
    assert tags == [(0x5455, 5), (0x0001, 16)]  # UTC mtime, then the zip64 sizes in the local header
    with opened("zip64.zip") as ev:
        small = ev.find("/data/small.txt")
        assert small.size == 17 and ev.read_bytes(small) == b"zip64 small file\n"
        assert ev.find("/data/db.sqlite").size == 20480


def test_member_streams_are_seekable_and_read_only():
    with opened("zip64.zip") as ev:
        f = ev.open(ev.find("/data/small.txt"))
        assert f.seekable() and not f.writable()
        assert f.read(5) == b"zip64" and f.seek(-5, 2) == 12 and f.read() == b"file\n"
        f.seek(6)
        assert f.read(5) == b"small"  # backwards: inflated again from the member's start
        with pytest.raises(OSError):
            f.write(b"x")


@pytest.mark.parametrize(
    "name,path",
    [
        ("stored.zip", "/data/db.sqlite"),
        ("zip64.zip", "/data/db.sqlite"),
        ("layout_filesystem1.tar.gz", "/private/var/mobile/Library/SMS/sms.db"),
        ("layout_fs.tar", "/data/data/com.whatsapp/databases/msgstore.db"),
    ],
)
def test_sqlite_parsers_copy_databases_through_member_streams(name, path, tmp_path):
    with opened(name) as ev:
        copy = SqliteCopy(ev, ev.find(path), {}, tmp_path)
        try:
            db = sqlite3.connect(copy.path())
            rows = db.execute("SELECT count(*), min(address), max(body) FROM sms").fetchone()
            db.close()
        finally:
            copy.remove()
    assert rows[0] == 40 and rows[1] == "+447700900001" and rows[2].startswith("message 9 ")


def test_media_hashes_are_of_the_archive_file_itself():
    raw = (HOSTILE / "layout_filesystem1.tar.gz").read_bytes()
    report = hash_evidence(HOSTILE / "layout_filesystem1.tar.gz")
    assert report.kind == "tar.gz" and report.container_files == [HOSTILE / "layout_filesystem1.tar.gz"]
    media = report.hashes
    assert media.size == len(raw) and media.md5 == md5(raw)
    assert media.sha1 == hashlib.sha1(raw).hexdigest() and media.sha256 == hashlib.sha256(raw).hexdigest()
    assert media.stored == {} and media.verified is None


# -- hostile names ----------------------------------------------------------------------------------------
def test_zip_traversal_absolute_and_drive_names_stay_inside():
    with opened("traversal.zip") as ev:
        assert listing(ev) == {
            "/evil.txt": ("file", 4, True, md5(b"evil")),
            "/etc": ("dir", None, True, None),
            "/etc/passwd": ("file", 4, True, md5(b"root")),
            "/Windows": ("dir", None, True, None),
            "/Windows/win.ini": ("file", 3, True, md5(b"ini")),
            "/b.txt": ("file", 1, True, md5(b"b")),
            "/data": ("dir", None, True, None),
            "/data/ok.txt": ("file", 2, True, md5(b"ok")),
        }
        warnings = "\n".join(ev.warnings)
    assert (
        "member #1 '../../evil.txt': name contains '..' (resolved inside the archive, never above its "
        "root); listed as /evil.txt"
    ) in warnings
    assert "member #2 '/etc/passwd': absolute name (leading '/' removed); listed as /etc/passwd" in warnings
    assert (
        "member #3 'C:\\\\Windows\\\\win.ini': name uses '\\' as separator (read as '/'); absolute Windows "
        "name (drive 'C:' removed); listed as /Windows/win.ini"
    ) in warnings
    assert "member #4 'a/../../b.txt': name contains '..'" in warnings


def test_tar_traversal_and_symlinks_are_never_followed():
    with opened("traversal.tar") as ev:
        entries = {e.path: e for e in ev.walk()}
        assert set(entries) == {"/evil.txt", "/etc", "/etc/passwd", "/data", "/data/link", "/data/up", "/data/ok.txt"}
        assert entries["/data/link"].type == "link" and entries["/data/up"].type == "link"
        with pytest.raises(EvidenceError, match="is a link, not a regular file"):
            ev.open(entries["/data/link"])
        assert ev.read_bytes(entries["/etc/passwd"]) == b"root"  # the member's bytes, not the host's file
        assert len(ev.warnings) == 2


def test_non_utf8_nfc_nfd_and_duplicate_names_in_zip():
    with opened("names.zip") as ev:
        result = listing(ev)
        warnings = ev.warnings
    assert result["/data/ÄÖü.txt"] == ("file", 5, True, md5(b"cp437"))  # no UTF-8 flag: code page 437
    assert result["/data/caf\u00e9.txt"] == ("file", 3, True, md5(b"nfc"))
    assert result["/data/cafe\u0301.txt"] == ("file", 3, True, md5(b"nfd"))
    assert result["/data/dup.txt"] == (("file", 5, False, None), ("file", 6, True, md5(b"second")))
    assert (
        "zip names.zip: '/data/caf\\xe9.txt' and '/data/cafe\\u0301.txt' are the same name in different "
        "Unicode normalisation (NFC/NFD); both kept as stored"
    ) in warnings
    assert (
        "zip names.zip: /data/dup.txt is named by more than one member (#4 file, #5 file); both are listed, "
        "the later one is the file read (as extraction would leave it), the earlier is listed as superseded "
        "(allocated=false) and not parsed"
    ) in warnings


def test_non_utf8_and_control_characters_in_tar_names_are_shown_safely():
    with opened("names.tar") as ev:
        result = listing(ev)
        found = ev.find("/data/dup.txt")
        warnings = ev.warnings
    assert result["/data/bad\\xff.txt"] == ("file", 5, True, md5(b"latin"))
    assert result["/data/new\\x0aline.txt"] == ("file", 2, True, md5(b"nl"))
    assert found.inode == "5" and found.allocated
    assert (
        "tar names.tar: member #1 'data/bad\\\\xff.txt': name is not valid UTF-8 (bytes shown as \\xNN); "
        "listed as /data/bad\\xff.txt"
    ) in warnings
    assert any("member #6 'data/new\\nline.txt': name contains control characters" in w for w in warnings)
    assert any("NFC/NFD" in w for w in warnings) and any(
        "/data/dup.txt is named by more than one" in w for w in warnings
    )


# -- links -------------------------------------------------------------------------------------------------
def test_hard_links_resolve_inside_the_archive_only():
    with opened("links.tar") as ev:
        entries = {e.path: e for e in ev.walk()}
        warnings = ev.warnings
        assert ev.read_bytes(entries["/data/b.txt"]) == b"target bytes"
    assert entries["/data/b.txt"].inode == entries["/data/a.txt"].inode == "1"
    for path in ("/data/self", "/data/x", "/data/y", "/data/gone", "/data/out"):
        assert entries[path].type == "other" and entries[path].size == 0
    assert entries["/data/sym"].type == "link"
    assert "tar links.tar: hard link #3 /data/self → /data/self: links to itself (loop); listed as 'other'" in warnings
    assert (
        "tar links.tar: hard link #4 /data/x → /data/y: no earlier regular file of that name in the archive "
        "(missing target or link loop); listed as 'other', not read"
    ) in warnings
    assert any("hard link #7 /data/out → /etc/passwd: no earlier regular file" in w for w in warnings)
    assert len(warnings) == 5


# -- bombs and lying headers ----------------------------------------------------------------------------------
def test_zip_member_past_the_expansion_ratio_is_listed_but_refused():
    with opened("bomb_ratio.zip") as ev:
        bomb = ev.find("/data/zeros.bin")
        assert bomb.size == 10 << 20
        with pytest.raises(
            EvidenceError,
            match=r"would expand 1028x \(10203 → 10485760 bytes\), more than the "
            r"limit of 200x \(max_expansion_ratio\); not read \(zip bomb\?\)",
        ):
            ev.open(bomb)
        assert ev.read_bytes(ev.find("/data/ok.txt")) == b"ok"
        assert any(
            w.startswith("zip bomb_ratio.zip: /data/zeros.bin (member #1) would expand 1028x") for w in ev.warnings
        )
    with opened("bomb_ratio.zip", max_expansion_ratio=2000) as ev:  # the limit is the examiner's to raise
        assert md5(ev.read_bytes(ev.find("/data/zeros.bin"))) == md5(bytes(10 << 20))


def test_zip_total_declared_size_limit():
    with opened("bomb_total.zip", max_total_bytes=1 << 20) as ev:
        parts = [ev.find(f"/data/part{i}.bin") for i in range(3)]
        assert ev.read_bytes(parts[0]) == bytes(512 << 10) and ev.read_bytes(parts[1]) == bytes(512 << 10)
        with pytest.raises(EvidenceError, match="declared sizes pass the limit of 1048576 bytes"):
            ev.open(parts[2])
        assert any("/data/part2.bin (member #3): the archive's declared sizes pass the limit" in w for w in ev.warnings)


def test_member_inflating_beyond_its_declared_size_is_capped_and_bad_crc_reported():
    with opened("liar.zip") as ev:
        liar = ev.read_bytes(ev.find("/data/liar.txt"))
        bad = ev.read_bytes(ev.find("/data/badcrc.txt"))
        warnings = ev.warnings
    assert liar == b"A" * 1000
    assert bad == b"B" * 500
    assert (
        "zip liar.zip → /data/liar.txt: inflates beyond its declared size of 1000 bytes; reads are capped at "
        "the declared size (zip bomb or damaged header?)"
    ) in warnings
    assert any(w.startswith("zip liar.zip → /data/badcrc.txt: content does not match its CRC-32") for w in warnings)


def test_gzip_bomb_is_never_inflated():
    with opened("bomb.tar.gz") as ev:
        entries = {e.path: e for e in ev.walk()}
        assert ev.read_bytes(entries["/data/first.txt"]) == b"first"
        assert entries["/data/zeros.bin"].size == 80 << 20
        with pytest.raises(EvidenceError, match="gzip bomb"):
            ev.open(entries["/data/zeros.bin"])
        assert "/data/after.txt" not in entries
        assert any("listing stops at member #2 'data/zeros.bin'" in w for w in ev.warnings)


def test_encrypted_zip_member_is_listed_not_read():
    with opened("encrypted.zip") as ev:
        secret = ev.find("/data/secret.txt")
        assert secret.size == 22
        with pytest.raises(EvidenceError, match="is encrypted; listed, not read"):
            ev.open(secret)
        assert ev.read_bytes(ev.find("/data/plain.txt")) == b"plain"
        assert any("/data/secret.txt (member #1) is encrypted" in w for w in ev.warnings)


def test_nested_archives_are_files_and_depth_does_no_harm():
    with opened("nested.zip") as ev:
        entries = [e for e in ev.walk() if e.type == "file"]
        assert [e.path for e in entries] == ["/data/nested-29.zip"]
        inner = ev.read_bytes(entries[0])
        assert inner[:4] == b"PK\x03\x04" and len(inner) == entries[0].size
        assert ev.warnings == []


# -- truncation ------------------------------------------------------------------------------------------------
def test_zip_without_central_directory_is_recovered_from_local_headers():
    with opened("no_central_directory.zip") as ev:
        result = listing(ev)
        assert result["/data/one.txt"] == ("file", 3, True, md5(b"one"))
        assert result["/data/two.txt"] == ("file", 400, True, md5(b"two " * 100))
        assert any(
            "no readable central directory" in w and "2 member(s) recovered from their local headers" in w
            for w in ev.warnings
        )


@pytest.mark.parametrize("name", ["truncated_header.zip", "truncated_head.tgz"])
def test_archive_with_nothing_readable_is_a_clear_error(name):
    with pytest.raises(EvidenceError, match=f"{name}: nothing can be read from this .* archive"):
        opened(name)


def test_truncated_tar_gz_lists_what_could_be_read():
    with opened("truncated.tar.gz") as ev:
        files = [e for e in ev.walk() if e.type == "file"]
        assert [e.path for e in files[:3]] == ["/data/f000.bin", "/data/f001.bin", "/data/f002.bin"]
        assert 5 < len(files) < 40
        assert md5(ev.read_bytes(files[0])) == md5(hashlib.sha256(b"0").digest() * 64)
        assert any("the archive ends early or is damaged after member" in w for w in ev.warnings)
        with pytest.raises(OSError, match=r"gzip stream ends early \(truncated file\?\)"):
            ev.read_bytes(files[-1])


def test_truncated_tar_refuses_the_cut_member():
    with opened("truncated.tar") as ev:
        assert ev.read_bytes(ev.find("/data/one.txt")) == b"one"
        with pytest.raises(EvidenceError, match="lies past the end of the archive file"):
            ev.open(ev.find("/data/two.bin"))
        assert any("ends early or is damaged after member #2" in w for w in ev.warnings)


def test_hostile_fixtures_are_what_the_builder_writes():
    import json

    digests = json.loads((HOSTILE / "SHA256SUMS.json").read_text())
    for name, digest in digests.items():
        assert hashlib.sha256((HOSTILE / name).read_bytes()).hexdigest() == digest, name


def test_tar_gz_is_inflated_once_when_files_are_read_as_listed(tmp_path):
    import io
    import tarfile

    from triage.evidence.archive_gzip import OUT_CHUNK

    archive = tmp_path / "many.tar.gz"
    blobs = {f"data/f{i:03}.bin": hashlib.sha256(str(i).encode()).digest() * 600 for i in range(300)}
    with tarfile.open(archive, "w:gz") as t:
        for name, data in blobs.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    with open_evidence(archive) as ev:
        seen = {}
        for entry in ev.walk():
            if entry.type == "file":
                seen[entry.path] = ev.read_bytes(entry)
        assert seen == {f"/{k}": v for k, v in blobs.items()}
        assert ev.gzip.size > 300 * 19200 and ev.gzip.inflated == ev.gzip.size  # one pass, nothing twice
        before = ev.gzip.inflated
        assert ev.read_bytes(ev.find("/data/f100.bin")) == blobs["data/f100.bin"]  # random access afterwards
        assert ev.gzip.inflated - before <= ev.gzip.spacing + OUT_CHUNK + 19200


def test_gzip_bomb_costs_no_inflation():
    with opened("bomb.tar.gz") as ev:
        list(ev.walk())
        assert ev.gzip.inflated < 2 << 20


@pytest.mark.parametrize("name", ["traversal.zip", "bomb_ratio.zip", "links.tar", "names.tar", "truncated.tar.gz"])
def test_triage_run_on_hostile_archives_completes_and_writes_only_its_output(name, tmp_path, monkeypatch):
    import io
    import json
    import shutil
    from contextlib import redirect_stdout

    from triage.cli import main

    shutil.copy(HOSTILE / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    with redirect_stdout(io.StringIO()):
        code = main(["run", name, "--out", "out", "--quiet", "--max-expansion-ratio", "500"])
    assert code == 0
    written = {p.name for p in tmp_path.iterdir()} - {name}
    assert written <= {"out", "out.zip"} and "out" in written  # the results folder and its bundle zip only
    assert not any(p.name in ("evil.txt", "passwd", "win.ini", "b.txt") for p in tmp_path.rglob("*"))
    lines = (payload(tmp_path / "out") / "records" / "parse_warning.jsonl").read_text(encoding="utf-8").splitlines()
    reader = [w["message"] for w in map(json.loads, lines) if w["component"] == "evidence reader"]
    assert reader and all(m.startswith(("zip ", "tar ", "tar.gz ")) for m in reader)  # the reader's own words
    started = json.loads((payload(tmp_path / "out") / "custody.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert started["details"]["archive_limits"] == {"max_expansion_ratio": 500.0, "max_total_bytes": 64 << 30}
