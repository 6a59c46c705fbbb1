"""Issue 13, failure 2: a forged bundle verified INTACT because verify trusted the key the bundle carried.

Now: without trust the verdict is "INTACT BUT SIGNER NOT CHECKED" (exit 3) naming the signer in both
fingerprint forms; with --trust (a fingerprint in either form, a PEM file, a trusted-keys file) a bundle
signed by any other key is ALTERED (exit 1); the custody log's seal entry ties the key and the report
hashes to the examination record.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.bundle_factory import copy_bundle, make_bundle, unseal, verify_cli, write_reports
from triage.bundle.keys import fingerprint, fingerprint_der, init_key, load_private, public_pem
from triage.bundle.seal import seal, seal_entry_details
from triage.bundle.verify import verify
from triage.cli import main
from triage.integrity.custody import CustodyLog

EXAMINER = Ed25519PrivateKey.generate()
FP = fingerprint(EXAMINER.public_key())
FP_DER = fingerprint_der(EXAMINER.public_key())


@pytest.fixture()
def genuine(tmp_path: Path) -> Path:
    return make_bundle(tmp_path / "genuine", EXAMINER)


def forge(bundle: Path, where: Path, rewrite_custody: bool = True) -> tuple[Path, Ed25519PrivateKey]:
    """The attack of the issue: remove a finding, set the assessment green, rewrite the manifests and
    sign with a fresh key — here with mobile-triage's own seal(), the strongest forger there is."""
    forged = copy_bundle(bundle, where)
    unseal(forged)
    findings = json.loads((forged / "findings.json").read_text())
    findings["findings"] = [f for f in findings["findings"] if f["rule"] != "HIGH-01"]
    findings["assessment"] = {"level": "green", "reasons": []}
    write_reports(forged, findings)
    attacker = Ed25519PrivateKey.generate()
    if rewrite_custody:
        _replay_custody_with_new_seal(forged, attacker)
    (forged.parent / (forged.name + ".zip")).unlink(missing_ok=True)
    seal(forged, attacker)
    return forged, attacker


def _replay_custody_with_new_seal(folder: Path, key: Ed25519PrivateKey) -> None:
    entries = [json.loads(line) for line in (folder / "custody.jsonl").read_text().splitlines()]
    (folder / "custody.jsonl").unlink()
    log = CustodyLog(folder / "custody.jsonl", actor="A. Examiner")
    for entry in entries:
        details = seal_entry_details(folder, key) if entry["action"] == "seal" else entry["details"]
        log.record(entry["action"], **details)


def test_genuine_bundle_is_intact_only_against_the_trusted_key(genuine: Path, capsys) -> None:
    for target in (genuine, genuine.with_name("EXH1.zip")):
        code, out = verify_cli(capsys, target, "--trust", FP)
        assert code == 0 and out.splitlines()[-1] == "INTACT", out
        assert "the signer is trusted: --trust" in out
        code, out = verify_cli(capsys, target)
        assert code == 3 and out.splitlines()[-1] == "INTACT BUT SIGNER NOT CHECKED", out
        assert FP in out and FP_DER in out and "the signer was NOT checked" in out


def test_forged_bundle_names_the_forger_and_fails_against_the_real_key(genuine: Path, tmp_path: Path, capsys) -> None:
    forged, attacker = forge(genuine, tmp_path / "forged")
    assert json.loads((forged / "data" / "findings.json").read_text())["assessment"]["level"] == "green"
    attacker_fp, attacker_der = fingerprint(attacker.public_key()), fingerprint_der(attacker.public_key())
    for target in (forged, forged.with_name("EXH1.zip")):
        code, out = verify_cli(capsys, target)  # everything is self-consistent: only trust can tell
        assert code == 3, out
        assert attacker_fp in out and attacker_der in out and "NOT checked" in out and FP not in out
        code, out = verify_cli(capsys, target, "--trust", FP)
        assert code == 1 and out.splitlines()[-1] == "ALTERED", out
        assert f"signed by a key that is not trusted: {attacker_fp}" in out


def test_forger_who_keeps_the_custody_log_is_caught_by_its_seal_entry(genuine: Path, tmp_path: Path, capsys) -> None:
    forged, attacker = forge(genuine, tmp_path / "forged", rewrite_custody=False)
    code, out = verify_cli(capsys, forged)  # no trust needed: the record names the examiner's key
    assert code == 1, out
    assert (
        f"the key that signed the bundle ({fingerprint(attacker.public_key())}) is not the key the custody "
        f"log's seal entry names ({FP})"
    ) in out
    assert "data/findings.json is not the report the custody log's seal entry recorded" in out
    assert "data/index.html is not the report the custody log's seal entry recorded" in out


@pytest.mark.parametrize(
    "form",
    [
        FP,
        FP.lower().replace("sha256:", "SHA256:"),
        FP.replace(":", "").upper(),
        FP_DER,
        FP_DER.upper(),
        ":".join(FP_DER[i : i + 2] for i in range(0, 64, 2)),
    ],
)
def test_trust_takes_either_fingerprint_form_ignoring_case_and_colons(genuine: Path, form: str, capsys) -> None:
    code, out = verify_cli(capsys, genuine, "--trust", form)
    assert code == 0, out


def test_trust_takes_a_public_key_file_and_trusted_keys_files(
    genuine: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    pem = tmp_path / "examiner.pem"
    pem.write_bytes(public_pem(EXAMINER.public_key()))
    assert verify_cli(capsys, genuine, "--trust", pem)[0] == 0
    other = fingerprint(Ed25519PrivateKey.generate().public_key())
    listing = tmp_path / "lab_keys"
    listing.write_text(f"# lab examiners\n{other}  # DC Other\n\nexaminer.pem\n")  # PEM path relative to the file
    assert verify_cli(capsys, genuine, "--trusted-keys", listing)[0] == 0
    listing.write_text(f"{other}\n")
    code, out = verify_cli(capsys, genuine, "--trusted-keys", listing)
    assert code == 1 and "none of the 1 trusted key(s)" in out
    # the default file in the key folder is read when it exists
    keys = tmp_path / "keys"
    keys.mkdir()
    monkeypatch.setenv("TRIAGE_KEY_DIR", str(keys))
    (keys / "trusted_keys").write_text(f"{FP_DER}\n")
    code, out = verify_cli(capsys, genuine)
    assert code == 0 and f"{keys / 'trusted_keys'} line 1" in out, out
    (keys / "trusted_keys").write_text(f"{other}\n")
    assert verify_cli(capsys, genuine)[0] == 1


def test_a_trust_value_that_is_neither_fingerprint_nor_key_file_is_refused(genuine: Path, capsys) -> None:
    code = main(["verify", str(genuine), "--trust", "SHA256:1234"])
    err = capsys.readouterr().err
    assert code == 2 and "neither a key fingerprint" in err and len(err.strip().splitlines()) == 1


def test_unsigned_bundle_says_so_and_fails_when_trust_is_required(tmp_path: Path, capsys) -> None:
    bundle = make_bundle(tmp_path, None)
    code, out = verify_cli(capsys, bundle)
    assert code == 3 and out.splitlines()[-1] == "INTACT BUT NOT SIGNED" and "NOT SIGNED" in out, out
    code, out = verify_cli(capsys, bundle, "--trust", FP)
    assert code == 1 and "not signed, but a trusted signer was required" in out


def test_signature_by_another_key_or_stripped_is_altered(genuine: Path, tmp_path: Path, capsys) -> None:
    resigned = copy_bundle(genuine, tmp_path / "a")
    other = Ed25519PrivateKey.generate()
    sig = resigned / "tagmanifest-sha256.txt.sig"
    sig.unlink()
    sig.write_bytes(other.sign((resigned / "tagmanifest-sha256.txt").read_bytes()))
    code, out = verify_cli(capsys, resigned)
    assert code == 1 and "signature does not verify" in out
    stripped = copy_bundle(genuine, tmp_path / "b")
    (stripped / "tagmanifest-sha256.txt.sig").unlink()
    (stripped / "examiner_public_key.pem").unlink()
    code, out = verify_cli(capsys, stripped)
    assert code == 1, out
    assert "tag file missing: examiner_public_key.pem" in out
    assert f"seal entry says the bundle was signed by {FP}, but it carries no valid signature" in out


def test_json_verdict_is_one_object(genuine: Path, capsys) -> None:
    code = main(["verify", str(genuine), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 3 and report["status"] == 3 and report["verdict"] == "INTACT BUT SIGNER NOT CHECKED"
    assert report["signer"] == {"fingerprint": FP, "fingerprint_der": FP_DER} and report["signer_trusted"] is None
    assert report["custody"] == {"entries": 4, "outcome": "run finished"} and report["problems"] == []


def test_library_entry_point_takes_fingerprints(genuine: Path) -> None:
    assert verify(genuine, [FP]).status == 0
    assert verify(genuine).status == 3
    assert verify(genuine, [fingerprint(Ed25519PrivateKey.generate().public_key())]).status == 1


def test_keys_init_prints_both_fingerprints_as_standard_tools_reproduce(tmp_path: Path, capsys) -> None:
    assert main(["keys", "init", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    key = load_private(tmp_path / "signing_key.pem").public_key()
    assert f"fingerprint: {fingerprint(key)}\n" in out
    assert f"fingerprint (openssl DER sha256): {fingerprint_der(key)}\n" in out
    if shutil.which("openssl"):
        der = subprocess.run(
            ["openssl", "pkey", "-pubin", "-in", str(tmp_path / "signing_key.pub.pem"), "-outform", "DER"],
            capture_output=True,
            check=True,
        ).stdout
        import hashlib

        assert hashlib.sha256(der).hexdigest() == fingerprint_der(key)
    assert init_key(tmp_path, if_missing=True)[1] == fingerprint(key)
