"""`triage verify BUNDLE`: is a bundle (folder or zip) exactly what the examiner sealed?

Checks, in order: the manifest is there and well formed; every listed file exists with its SHA-256;
no file was added; the Ed25519 signature over the manifest verifies with the bundled public key (whose
fingerprint is printed, to compare with the examiner's published one); the custody log's hash chain is
intact. A zip is read in memory: nothing is extracted to disk.
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from triage.bundle.keys import fingerprint
from triage.bundle.seal import MANIFEST, PUBLIC_KEY, SIGNATURE, UNLISTED, decode_path
from triage.custody import verify_chain_lines

INTACT, ALTERED, CANNOT_CHECK = 0, 1, 2


@dataclass
class Verification:
    status: int = INTACT
    problems: list[str] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)

    def altered(self, message: str) -> None:
        self.problems.append(message)
        self.status = max(self.status, ALTERED) if self.status != CANNOT_CHECK else CANNOT_CHECK


class BundleFiles:
    """The files of a bundle, by relative path, from a folder or a zip."""

    def __init__(self, source: Path) -> None:
        self.source = source
        self.files: dict[str, bytes] = {}
        if source.is_dir():
            for path in source.rglob("*"):
                if path.is_file():
                    self.files[path.relative_to(source).as_posix()] = path.read_bytes()
        else:
            with zipfile.ZipFile(source) as z:
                names = [n for n in z.namelist() if not n.endswith("/")]
                prefix = _common_folder(names)
                for name in names:
                    self.files[name[len(prefix):]] = z.read(name)


def _common_folder(names: list[str]) -> str:
    manifest = next((n for n in names if n == MANIFEST or n.endswith("/" + MANIFEST)), None)
    return manifest[: -len(MANIFEST)] if manifest else ""


def verify(source: Path) -> Verification:
    result = Verification()
    try:
        bundle = BundleFiles(source)
    except (OSError, zipfile.BadZipFile) as e:
        return Verification(CANNOT_CHECK, [f"cannot read {source}: {e}"])
    manifest = bundle.files.get(MANIFEST)
    if manifest is None:
        return Verification(CANNOT_CHECK, [f"{MANIFEST} not found: this is not a sealed bundle"])
    listed = _check_manifest(manifest, bundle, result)
    for extra in sorted(set(bundle.files) - set(listed) - UNLISTED):
        result.altered(f"file added after sealing: {extra}")
    _check_signature(manifest, bundle, result)
    _check_custody(bundle, result)
    return result


def _check_manifest(manifest: bytes, bundle: BundleFiles, result: Verification) -> dict[str, str]:
    listed: dict[str, str] = {}
    for number, line in enumerate(manifest.decode("utf-8", errors="replace").splitlines(), 1):
        digest, _, rel = line.partition("  ")
        if len(digest) != 64 or not rel:
            result.altered(f"{MANIFEST} line {number} is malformed")
            continue
        listed[decode_path(rel)] = digest
    for rel, digest in sorted(listed.items()):
        data = bundle.files.get(rel)
        if data is None:
            result.altered(f"file missing: {rel}")
        elif hashlib.sha256(data).hexdigest() != digest:
            result.altered(f"file changed: {rel} (SHA-256 differs from the manifest)")
    result.facts.append(f"{len(listed)} files listed in {MANIFEST}")
    return listed


def _check_signature(manifest: bytes, bundle: BundleFiles, result: Verification) -> None:
    signature, pem = bundle.files.get(SIGNATURE), bundle.files.get(PUBLIC_KEY)
    if signature is None or pem is None:
        result.altered(f"the bundle is not signed ({SIGNATURE} or {PUBLIC_KEY} missing)")
        return
    try:
        key = serialization.load_pem_public_key(pem)
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("not an Ed25519 key")
        key.verify(base64.b64decode(signature.strip(), validate=True), manifest)
    except (InvalidSignature, ValueError) as e:
        result.altered(f"signature does not verify: the manifest or the signature was changed ({type(e).__name__})")
        return
    result.facts.append(f"signature valid; examiner key {fingerprint(key)}")


def _check_custody(bundle: BundleFiles, result: Verification) -> None:
    log = bundle.files.get("custody.jsonl")
    if log is None:
        result.altered("custody.jsonl missing")
        return
    check = verify_chain_lines(io.StringIO(log.decode("utf-8", errors="replace")).read().splitlines())
    if check.ok:
        result.facts.append(f"custody chain intact ({check.entries} entries)")
    else:
        result.altered(f"custody chain broken at entry {check.broken_line}: {check.reason}")
