"""Seal a finished run folder: SHA-256 manifest of every file, Ed25519 signature, zip beside it.

`manifest-sha256.txt` uses the BagIt manifest line format ("<sha256>  <path>", paths relative to the
folder with '/' separators, sorted, %-encoding of CR, LF and %). It lists every file, the examiner's
public key included; only the manifest and its signature (`manifest-sha256.txt.sig`, base64) are not
listed. The zip holds the folder under its own name, with fixed timestamps so that the same folder
always gives the same zip.
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from triage.bundle.keys import public_pem

MANIFEST = "manifest-sha256.txt"
SIGNATURE = MANIFEST + ".sig"
PUBLIC_KEY = "examiner_public_key.pem"
UNLISTED = {MANIFEST, SIGNATURE}
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def encode_path(rel: str) -> str:
    return rel.replace("%", "%25").replace("\n", "%0A").replace("\r", "%0D")


def decode_path(text: str) -> str:
    return text.replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%")


def manifest_text(folder: Path) -> str:
    lines = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel in UNLISTED:
            continue
        with open(path, "rb") as f:
            lines.append(f"{hashlib.file_digest(f, 'sha256').hexdigest()}  {encode_path(rel)}")
    return "\n".join(lines) + "\n"


def seal(folder: Path, key: Ed25519PrivateKey | None) -> Path:
    """Write the manifest (and the signature when there is a key), then the zip; returns the zip."""
    if key is not None:
        (folder / PUBLIC_KEY).write_bytes(public_pem(key.public_key()))
    manifest = manifest_text(folder).encode("utf-8")
    (folder / MANIFEST).write_bytes(manifest)
    if key is not None:
        (folder / SIGNATURE).write_text(base64.b64encode(key.sign(manifest)).decode("ascii") + "\n", encoding="ascii")
    return write_zip(folder)


def write_zip(folder: Path) -> Path:
    target = folder.with_name(folder.name + ".zip")
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(f"{folder.name}/{path.relative_to(folder).as_posix()}", ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            with open(path, "rb") as f:
                z.writestr(info, f.read())
    return target
