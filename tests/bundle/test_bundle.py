"""The sealed bundle of a real `triage run` on the demo image: a signed BagIt bag, its zip, the custody
log's seal entry, and what `triage verify` catches (hand-made bundles: tests/bundle/test_verify_*.py)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import zipfile
from pathlib import Path

import pytest

from tests.bundle_factory import verify_cli
from tests.bundle_layout import payload
from triage.bundle.keys import fingerprint, fingerprint_der, init_key, load_private
from triage.bundle.layout import MANIFEST, PUBLIC_KEY, SIGNATURE, TAG_MANIFEST
from triage.cli import main
from triage.errors import TriageError

DEMO_E01 = Path(__file__).parents[2] / "fixtures" / "demo" / "demo.E01"


@pytest.fixture(scope="module")
def key_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("keys")


@pytest.fixture(scope="module")
def sealed(tmp_path_factory, key_dir: Path) -> Path:
    init_key(key_dir)
    out = tmp_path_factory.mktemp("bundle") / "EXH1"
    assert (
        main(
            [
                "run",
                str(DEMO_E01),
                "--out",
                str(out),
                "--quiet",
                "--case",
                "C1",
                "--exhibit",
                "EXH1",
                "--examiner",
                "A. Examiner",
                "--signing-key",
                str(key_dir / "signing_key.pem"),
            ]
        )
        == 0
    )
    return out


@pytest.fixture(scope="module")
def examiner_fp(key_dir: Path, sealed: Path) -> str:
    return fingerprint(load_private(key_dir / "signing_key.pem").public_key())


def test_keys_init_private_key_is_owner_only_and_never_overwritten(tmp_path: Path) -> None:
    path, fp = init_key(tmp_path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert fp == fingerprint(load_private(path).public_key()) and fp.startswith("SHA256:")
    with pytest.raises(TriageError, match="never overwritten"):
        init_key(tmp_path)
    assert init_key(tmp_path, if_missing=True) == (path, fp)


def test_run_folder_is_a_bagit_bag_with_the_report_under_data(sealed: Path) -> None:
    top = {p.name for p in sealed.iterdir()}
    assert top == {"data", "bagit.txt", "bag-info.txt", MANIFEST, TAG_MANIFEST, SIGNATURE, PUBLIC_KEY, "VERIFY.txt"}
    for name in ("index.html", "findings.json", "custody.jsonl", "case.sqlite", "records/message.jsonl"):
        assert (payload(sealed) / name).is_file(), name
    listed = {line.split("  ", 1)[1] for line in (sealed / MANIFEST).read_text().splitlines()}
    assert {"data/findings.json", "data/index.html", "data/custody.jsonl", "data/case.sqlite"} <= listed
    assert all(name.startswith("data/") for name in listed)
    tags = {line.split("  ", 1)[1] for line in (sealed / TAG_MANIFEST).read_text().splitlines()}
    assert tags == {"bagit.txt", "bag-info.txt", MANIFEST, "VERIFY.txt", PUBLIC_KEY}
    assert len((sealed / SIGNATURE).read_bytes()) == 64
    with zipfile.ZipFile(sealed.with_name("EXH1.zip")) as z:
        assert sorted(n.removeprefix("EXH1/") for n in z.namelist()) == sorted(
            p.relative_to(sealed).as_posix() for p in sealed.rglob("*") if p.is_file()
        )


def test_the_reports_finished_files_were_zipped_before_the_store_the_log_and_the_pdf(sealed: Path) -> None:
    """The run hands the pages and the exports to the zip while the report's second process lays out report.pdf
    (seal.py BundleZip): they come first, each group in sorted order; what was still open (the case store, the
    custody log, report.pdf) follows, then the tag files."""
    with zipfile.ZipFile(sealed.with_name("EXH1.zip")) as z:
        names = [n.removeprefix("EXH1/") for n in z.namelist()]
    at = {name: i for i, name in enumerate(names)}
    early = [n for n in names if n.startswith(("data/pages/", "data/records/")) or n == "data/index.html"]
    last_early = max(at[n] for n in early)
    assert len(early) > 20 and all(
        at[f"data/{late}"] > last_early for late in ("case.sqlite", "custody.jsonl", "report.pdf")
    )
    tags = [n for n in names if not n.startswith("data/")]
    assert names[-len(tags) :] == sorted(tags)


def test_zip_members_are_deflated_by_isal_and_inflate_with_zlib_to_the_folders_bytes(sealed: Path) -> None:
    from isal import isal_zlib

    from triage.bundle.seal import CHUNK, ISAL_LEVEL

    with zipfile.ZipFile(sealed.with_name("EXH1.zip")) as z:
        assert z.testzip() is None  # every member's CRC-32, inflated by zlib
        deflated = [i for i in z.infolist() if i.compress_type == zipfile.ZIP_DEFLATED]
        assert {"EXH1/data/case.sqlite", "EXH1/data/index.html", "EXH1/manifest-sha256.txt"} <= {
            i.filename for i in deflated
        }
        for info in deflated:
            data = (sealed.parent / info.filename).read_bytes()
            assert z.read(info) == data, info.filename
            # the stream is ISA-L's, fed as the seal feeds it (CHUNK bytes at a time), not zlib's
            isal = isal_zlib.compressobj(ISAL_LEVEL, isal_zlib.DEFLATED, -isal_zlib.MAX_WBITS)
            stream = b"".join(isal.compress(data[i : i + CHUNK]) for i in range(0, len(data), CHUNK)) + isal.flush()
            assert info.compress_size == len(stream), info.filename


def test_custody_log_seal_entry_names_the_key_and_the_reports(sealed: Path, key_dir: Path) -> None:
    entries = [json.loads(line) for line in (payload(sealed) / "custody.jsonl").read_text().splitlines()]
    assert [e["action"] for e in entries[-2:]] == ["seal", "run finished"]
    seal = entries[-2]["details"]
    key = load_private(key_dir / "signing_key.pem").public_key()
    assert seal["signed"] is True
    assert seal["key_fingerprint"] == fingerprint(key) and seal["key_fingerprint_der"] == fingerprint_der(key)
    assert {"index.html", "findings.json", "case.jsonld"} <= set(seal["reports"])
    for name, digest in seal["reports"].items():
        assert hashlib.sha256((payload(sealed) / name).read_bytes()).hexdigest() == digest, name


def test_sealed_folder_and_zip_verify_against_the_examiners_key(sealed: Path, examiner_fp: str, capsys) -> None:
    for target in (sealed, sealed.with_name("EXH1.zip")):
        code, out = verify_cli(capsys, target, "--trust", examiner_fp)
        assert code == 0 and out.splitlines()[-1] == "INTACT", out
        assert "custody chain intact" in out and "the custody log's seal entry names this signing key" in out
        code, out = verify_cli(capsys, target)
        assert code == 3 and examiner_fp in out and "the signer was NOT checked" in out


def _copy(sealed: Path, tmp_path: Path) -> Path:
    target = tmp_path / "EXH1"
    shutil.copytree(sealed, target)
    return target


@pytest.mark.parametrize(
    "tamper, message",
    [
        (lambda b: _flip_byte(b / "data" / "records" / "message.jsonl"), "file changed: data/records/message.jsonl"),
        (lambda b: _flip_byte(b / "data" / "case.sqlite"), "file changed: data/case.sqlite"),
        (lambda b: (b / "data" / "findings.json").unlink(), "file missing: data/findings.json"),
        (lambda b: (b / "data" / "notes.txt").write_text("added later"), "file added after sealing: data/notes.txt"),
        (lambda b: _edit_custody(b / "data" / "custody.jsonl"), "custody chain broken at entry 3"),
        (lambda b: _flip_byte(b / SIGNATURE), "signature does not verify"),
        (lambda b: _flip_byte(b / PUBLIC_KEY), "tag file changed: examiner_public_key.pem"),
    ],
)
def test_tampering_is_named(
    sealed: Path,
    tmp_path: Path,
    examiner_fp: str,
    tamper,
    message: str,  # noqa: ANN001
    capsys,
) -> None:
    bundle = _copy(sealed, tmp_path)
    tamper(bundle)
    code, out = verify_cli(capsys, bundle, "--trust", examiner_fp)
    assert code == 1 and message in out, out


def test_same_evidence_gives_the_same_bundle_but_for_times_and_signature(
    sealed: Path, tmp_path: Path, key_dir: Path
) -> None:
    again = tmp_path / "EXH1"
    assert (
        main(
            [
                "run",
                str(DEMO_E01),
                "--out",
                str(again),
                "--quiet",
                "--case",
                "C1",
                "--exhibit",
                "EXH1",
                "--examiner",
                "A. Examiner",
                "--signing-key",
                str(key_dir / "signing_key.pem"),
            ]
        )
        == 0
    )

    def listing(folder: Path) -> dict[str, str]:
        return {line.split("  ", 1)[1]: line.split("  ", 1)[0] for line in (folder / MANIFEST).read_text().splitlines()}

    first, second = listing(sealed), listing(again)
    assert set(first) == set(second)
    # files that carry run times: the custody log (and its copies), the report pages and the case store
    timed = {
        f"data/{name}"
        for name in (
            "custody.jsonl",
            "records/custody_event.jsonl",
            "records/custody_event.csv",
            "case.sqlite",
            "findings.json",
            "index.html",
            "report.pdf",
            "case.jsonld",
        )
    }
    timed |= {name for name in first if name.startswith("data/pages/record-")}  # the examination record's pages
    differing = {name for name in first if first[name] != second[name]}
    assert differing <= timed, differing - timed
    assert first["data/records/message.jsonl"] == second["data/records/message.jsonl"]
    with zipfile.ZipFile(sealed.with_name("EXH1.zip")) as one, zipfile.ZipFile(again.with_name("EXH1.zip")) as two:
        assert one.namelist() == two.namelist()  # the same members in the same order


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _edit_custody(path: Path) -> None:
    lines = path.read_text().splitlines()
    lines[1] = lines[1].replace('"actor":"A. Examiner"', '"actor":"Someone Else"')
    path.write_text("\n".join(lines) + "\n")
