"""Issue 13, deliverable 12: a bundle can be checked without mobile-triage, exactly as its VERIFY.txt
says — sha256sum -c on both manifests, the added-file listing, OpenSSL 3 for the Ed25519 signature, the
DER fingerprint — and it is a real BagIt bag that bagit-python validates (and rejects once a file is added)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.bundle_factory import copy_bundle, make_bundle, verify_cli
from triage.bundle import recipe
from triage.bundle.keys import fingerprint, fingerprint_der

KEY = Ed25519PrivateKey.generate()
VENV_BIN = str(Path(sys.executable).parent)


def needs(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t, path=VENV_BIN + os.pathsep + os.environ.get("PATH", "")) is None]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)}")


def sh(command: str, cwd: Path) -> subprocess.CompletedProcess:
    """One recipe line, as a reader types it into bash inside the bundle folder."""
    env = {**os.environ, "PATH": VENV_BIN + os.pathsep + os.environ.get("PATH", "")}
    return subprocess.run(["bash", "-c", command], cwd=cwd, capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture()
def bundle(tmp_path: Path) -> Path:
    return make_bundle(tmp_path, KEY)


def test_verify_txt_holds_each_command_as_tested(bundle: Path) -> None:
    text = (bundle / "VERIFY.txt").read_text()
    for command in (
        recipe.SHA256SUM_PAYLOAD,
        recipe.SHA256SUM_TAGS,
        recipe.LIST_ADDED,
        recipe.LIST_SPECIAL,
        recipe.OPENSSL_VERIFY,
        recipe.OPENSSL_FINGERPRINT,
        recipe.BAGIT_VALIDATE,
    ):
        assert f"\n     {command}\n" in text, command
    assert f"For this bundle it prints {fingerprint_der(KEY.public_key())}\n" in text
    assert fingerprint(KEY.public_key()) in text and "triage verify EXH1.zip --trust" in text


def test_sha256sum_checks_both_manifests(bundle: Path) -> None:
    needs("sha256sum", "bash")
    payload = sh(recipe.SHA256SUM_PAYLOAD, bundle)
    assert payload.returncode == 0 and "data/findings.json: OK" in payload.stdout and "FAILED" not in payload.stdout
    tags = sh(recipe.SHA256SUM_TAGS, bundle)
    assert tags.returncode == 0 and "manifest-sha256.txt: OK" in tags.stdout and "VERIFY.txt: OK" in tags.stdout
    findings = bundle / "data" / "findings.json"
    findings.write_text(findings.read_text().replace("red", "green"))
    failed = sh(recipe.SHA256SUM_PAYLOAD, bundle)
    assert failed.returncode != 0 and "data/findings.json: FAILED" in failed.stdout


def test_an_added_file_escapes_sha256sum_but_not_the_listing(bundle: Path) -> None:
    needs("sha256sum", "bash", "find", "diff", "cut", "sort")
    assert sh(recipe.LIST_ADDED, bundle).stdout == "" and sh(recipe.LIST_SPECIAL, bundle).stdout == ""
    (bundle / "data" / "planted.html").write_text("<p>added later</p>")
    os.symlink("/etc/hostname", bundle / "data" / "link")
    assert sh(recipe.SHA256SUM_PAYLOAD, bundle).returncode == 0  # why step 2 exists
    assert "> data/planted.html" in sh(recipe.LIST_ADDED, bundle).stdout
    assert sh(recipe.LIST_SPECIAL, bundle).stdout.strip() == "data/link"


def test_openssl_verifies_the_signature_and_reproduces_the_der_fingerprint(bundle: Path, capsys) -> None:
    needs("openssl", "sha256sum", "bash")
    signature = sh(recipe.OPENSSL_VERIFY, bundle)
    assert signature.returncode == 0 and "Signature Verified Successfully" in signature.stdout, signature.stderr
    printed = sh(recipe.OPENSSL_FINGERPRINT, bundle).stdout.split()[0]
    assert printed == fingerprint_der(KEY.public_key())
    _, out = verify_cli(capsys, bundle)
    assert f"openssl DER sha256: {printed}" in out  # what triage verify prints is what openssl gives
    tag_manifest = bundle / "tagmanifest-sha256.txt"
    tag_manifest.write_text(tag_manifest.read_text().replace("bagit.txt", "bagit.txt "))
    assert sh(recipe.OPENSSL_VERIFY, bundle).returncode != 0


def test_bagit_python_validates_a_fresh_bundle_and_rejects_an_added_file(bundle: Path, tmp_path: Path) -> None:
    bagit = pytest.importorskip("bagit")
    bagit.Bag(str(bundle)).validate()
    padded = copy_bundle(bundle, tmp_path / "padded")
    (padded / "data" / "planted.html").write_text("<p>added later</p>")
    with pytest.raises(bagit.BagValidationError, match="Expected 6 files .* found 7 files"):
        bagit.Bag(str(padded)).validate()
    needs("bagit.py", "bash")
    assert sh(recipe.BAGIT_VALIDATE, bundle).returncode == 0
    assert sh(recipe.BAGIT_VALIDATE, padded).returncode != 0


def test_unzip_lists_one_folder(bundle: Path) -> None:
    needs("unzip")
    listing = subprocess.run(
        ["unzip", "-Z1", str(bundle.with_name("EXH1.zip"))], capture_output=True, text=True, check=True
    ).stdout.split()
    assert listing and all(name.startswith("EXH1/") for name in listing)
    assert "EXH1/tagmanifest-sha256.txt.sig" in listing and "EXH1/data/custody.jsonl" in listing


def test_unsigned_bundle_recipe_says_it_is_not_signed(tmp_path: Path) -> None:
    text = (make_bundle(tmp_path, None) / "VERIFY.txt").read_text()
    assert "This bundle is NOT SIGNED" in text and recipe.OPENSSL_VERIFY not in text
