"""The examiner's Ed25519 signing key (`triage keys init`), kept outside any case folder.

Location: $TRIAGE_KEY_DIR, else ~/.config/mobile-triage/. The private key is PEM (PKCS#8), readable by
its owner only. A public key has two fingerprints, both shown wherever a key is named so a prosecutor
can compare either with the examiner's published one:
- `fingerprint`: SHA-256 of the raw 32-byte key, as SHA256:xxxx:xxxx:… (the form reports always used);
- `fingerprint_der`: SHA-256 of the DER SubjectPublicKeyInfo in hex, which standard tools reproduce:
  `openssl pkey -pubin -in examiner_public_key.pem -outform DER | sha256sum`.
The same folder may hold `trusted_keys`, read by `triage verify` (docs/verify.md).
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from triage.errors import TriageError
from triage.integrity.exclusive import write_bytes_exclusive

PRIVATE_NAME = "signing_key.pem"
PUBLIC_NAME = "signing_key.pub.pem"
TRUSTED_KEYS_NAME = "trusted_keys"
_HEX64 = re.compile(r"[0-9a-f]{64}")


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
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    write_bytes_exclusive(folder / PUBLIC_NAME, public_pem(key.public_key()))
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
    return "SHA256:" + ":".join(digest[i : i + 4] for i in range(0, 64, 4))


def fingerprint_der(key: Ed25519PublicKey) -> str:
    """Hex SHA-256 of the DER SubjectPublicKeyInfo: what `openssl pkey -pubin -outform DER | sha256sum` prints."""
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def key_digests(key: Ed25519PublicKey) -> tuple[str, str]:
    """Both fingerprints as bare lowercase hex (raw-key SHA-256, DER SHA-256), for comparisons."""
    return normalise_fingerprint(fingerprint(key)) or "", fingerprint_der(key)


def normalise_fingerprint(text: str) -> str | None:
    """Either fingerprint form as 64 lowercase hex (case, colons, spaces and a 'SHA256:' prefix ignored);
    None when the text is not a fingerprint."""
    bare = "".join(text.lower().replace(":", "").split())
    if len(bare) == 70 and bare.startswith("sha256"):
        bare = bare[6:]
    return bare if _HEX64.fullmatch(bare) else None


def load_public(path: Path) -> Ed25519PublicKey:
    """An Ed25519 public key from a PEM file (SubjectPublicKeyInfo, as examiner_public_key.pem)."""
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except OSError as e:
        raise TriageError(f"cannot read the public key file {path}: {e.strerror or e}") from None
    except ValueError:
        raise TriageError(f"{path} is not a PEM public key (expected '-----BEGIN PUBLIC KEY-----')") from None
    if not isinstance(key, Ed25519PublicKey):
        raise TriageError(f"{path} is not an Ed25519 public key")
    return key
