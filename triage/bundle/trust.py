"""Which signing keys the reader trusts: `--trust`, `--trusted-keys FILE`, and `key_dir()/trusted_keys`.

A signature proves something only against a key the reader already trusts (a fingerprint the examiner
published), never against the key a bundle carries. Each trusted key is a fingerprint in either form
(SHA256:xxxx:… of the raw key, or the hex SHA-256 of the DER public key that
`openssl pkey -pubin -outform DER | sha256sum` prints; case, colons and spaces ignored) or a PEM public
key file. A trusted-keys file holds one per line; `#` starts a comment.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from triage.bundle.keys import TRUSTED_KEYS_NAME, key_digests, key_dir, load_public, normalise_fingerprint
from triage.errors import TriageError

_COMMENT = re.compile(r"(^|\s)#.*$")


class TrustError(TriageError):
    """A --trust value or a trusted-keys line that is neither a fingerprint nor a public key file."""


@dataclass(frozen=True)
class TrustedKey:
    digests: frozenset[str]  # bare hex: the one fingerprint given, or both forms of a PEM key
    origin: str  # where the reader said so, for the verdict

    def matches(self, signer_digests: Iterable[str]) -> bool:
        return not self.digests.isdisjoint(signer_digests)


def trusted_key(value: str, origin: str, base: Path | None = None) -> TrustedKey:
    """A fingerprint (either form) or the path of a PEM public key (relative to `base` when given)."""
    digest = normalise_fingerprint(value)
    if digest is not None:
        return TrustedKey(frozenset({digest}), origin)
    path = Path(value).expanduser()
    if base is not None and not path.is_absolute():
        path = base / path
    if not path.is_file():
        raise TrustError(
            f"{origin}: {value!r} is neither a key fingerprint (SHA256:xxxx:… or 64 hex digits) nor a public key file"
        )
    return TrustedKey(frozenset(key_digests(load_public(path))), f"{origin} ({path})")


def read_trusted_keys(path: Path) -> list[TrustedKey]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise TrustError(f"cannot read the trusted-keys file {path}: {getattr(e, 'strerror', None) or e}") from None
    keys = []
    for number, line in enumerate(text.splitlines(), 1):
        value = _COMMENT.sub("", line).strip()
        if value:
            keys.append(trusted_key(value, f"{path} line {number}", base=path.parent))
    return keys


def default_trusted_keys_file() -> Path:
    return key_dir() / TRUSTED_KEYS_NAME


def gather_trust(values: Sequence[str] = (), files: Sequence[Path] = (), use_default: bool = True) -> list[TrustedKey]:
    """Every key the reader trusts: the --trust values, the given files, and the default file when it exists."""
    keys = [trusted_key(value, f"--trust {value}") for value in values]
    for path in files:
        keys += read_trusted_keys(path)
    default = default_trusted_keys_file()
    if use_default and default.is_file() and default not in files:
        keys += read_trusted_keys(default)
    return keys
