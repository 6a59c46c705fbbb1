"""The examiner's Ed25519 signing key (`triage keys init`), kept outside any case folder.

Location: $TRIAGE_KEY_DIR, else ~/.config/mobile-triage/. The private key is PEM (PKCS#8), readable by
its owner only; the public key's fingerprint is the SHA-256 of its raw 32 bytes, shown in every report
so a prosecutor can compare it with the examiner's published fingerprint.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from triage.errors import TriageError

PRIVATE_NAME = "signing_key.pem"
PUBLIC_NAME = "signing_key.pub.pem"


def key_dir() -> Path:
    return Path(os.environ.get("TRIAGE_KEY_DIR") or Path.home() / ".config" / "mobile-triage")


def init_key(folder: Path | None = None, if_missing: bool = False) -> tuple[Path, str]:
    """Create a key pair; refuses to overwrite one (a lost key cannot sign again, a replaced one
    would make earlier bundles unverifiable against the published fingerprint)."""
    folder = folder or key_dir()
    private = folder / PRIVATE_NAME
    if private.exists():
        if if_missing:
            return private, fingerprint(load_private(private).public_key())
        raise TriageError(f"a signing key already exists at {private}; it is never overwritten")
    folder.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    (folder / PUBLIC_NAME).write_bytes(public_pem(key.public_key()))
    return private, fingerprint(key.public_key())


def load_private(path: Path | None = None) -> Ed25519PrivateKey:
    path = path or key_dir() / PRIVATE_NAME
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise TriageError(f"no signing key at {path}; create one with `triage keys init`") from None
    except ValueError as e:
        raise TriageError(f"{path} is not a readable PEM private key ({e})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise TriageError(f"{path} is not an Ed25519 key")
    return key


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def fingerprint(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    digest = hashlib.sha256(raw).hexdigest()
    return "SHA256:" + ":".join(digest[i:i + 4] for i in range(0, 64, 4))
