"""The sealed bundle's layout, shared by sealing and `triage verify`: a BagIt 1.0 bag (RFC 8493).

    EXH1/
      bagit.txt                 BagIt declaration
      bag-info.txt              Payload-Oxum, Bag-Software-Agent, Bagging-Date
      manifest-sha256.txt       SHA-256 of every payload file ("<sha256>  data/<path>")
      VERIFY.txt                how to check the bundle with standard tools only
      examiner_public_key.pem   the key that signed (only when signed)
      tagmanifest-sha256.txt    SHA-256 of each tag file above
      tagmanifest-sha256.txt.sig  raw 64-byte Ed25519 signature over tagmanifest-sha256.txt
      data/                     everything `triage run` wrote (index.html, report.pdf, custody.jsonl ...)

The signature covers the tag manifest, which covers the payload manifest, which covers every payload
file: one signature seals all of it, and `openssl pkeyutl -verify -rawin` checks it as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

PAYLOAD_DIR = "data"
BAGIT_TXT = "bagit.txt"
BAG_INFO = "bag-info.txt"
MANIFEST = "manifest-sha256.txt"
TAG_MANIFEST = "tagmanifest-sha256.txt"
SIGNATURE = TAG_MANIFEST + ".sig"
PUBLIC_KEY = "examiner_public_key.pem"
VERIFY_TXT = "VERIFY.txt"
CUSTODY = "custody.jsonl"  # relative to the payload root
BAGIT_DECLARATION = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
# tag files the tag manifest must list (the public key too when the bundle is signed)
REQUIRED_TAG_FILES = (BAGIT_TXT, BAG_INFO, MANIFEST, VERIFY_TXT)
# the files a prosecutor reads: their hashes go into the custody log's seal entry
REPORT_FILES = (
    "index.html",
    "report.pdf",
    "findings.json",
    "case.jsonld",
    "locations.geojson",
    "locations.kml",
    "schedule_material_examined.csv",
    "schedule_findings.csv",
    "declarations.yaml",
)
SIGNATURE_BYTES = 64  # Ed25519

_HEX64 = re.compile(r"[0-9a-f]{64}")
_LINE = re.compile(r"(\S+)[ \t]+(.+)", re.DOTALL)
_ENCODED = re.compile(r"%(25|0A|0D)", re.IGNORECASE)


def encode_path(rel: str) -> str:
    """BagIt manifest path encoding: only CR, LF and % are %-encoded."""
    return rel.replace("%", "%25").replace("\n", "%0A").replace("\r", "%0D")


def decode_path(text: str) -> str:
    return _ENCODED.sub(lambda m: {"25": "%", "0A": "\n", "0D": "\r"}[m.group(1).upper()], text)


def manifest_line(digest: str, rel: str) -> str:
    """'<sha256>  <path>': the BagIt line, which is also what `sha256sum -c` reads."""
    return f"{digest}  {encode_path(rel)}\n"


@dataclass
class Manifest:
    """A parsed manifest: path → SHA-256, and what was wrong with its lines."""

    entries: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def parse_manifest(text: str, name: str) -> Manifest:
    """Strict parse: lowercase 64-hex digest, whitespace, a relative path inside the bag, no repeats."""
    manifest = Manifest()
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the final newline
    for number, line in enumerate(lines, 1):
        match = _LINE.fullmatch(line)
        digest, rel = (match.group(1), decode_path(match.group(2))) if match else ("", "")
        problem = _line_problem(digest, rel, manifest.entries)
        if problem:
            manifest.problems.append(f"{name} line {number} {problem}")
            continue
        manifest.entries[rel] = digest
    return manifest


def _line_problem(digest: str, rel: str, seen: dict[str, str]) -> str:
    if not _HEX64.fullmatch(digest) or not rel:
        return "is malformed (expected '<64 lowercase hex>  <path>')"
    if not is_safe_relative(rel):
        return f"names a path outside the bag: {rel!r}"
    if rel in seen:
        return f"lists {rel} a second time"
    return ""


def is_safe_relative(rel: str) -> bool:
    parts = rel.split("/")
    return not rel.startswith("/") and all(p not in ("", ".", "..") for p in parts)


def parse_bag_info(text: str) -> dict[str, str]:
    """'Label: value' lines (the first occurrence of a label wins, as bagit-python reads it)."""
    info: dict[str, str] = {}
    for line in text.splitlines():
        label, sep, value = line.partition(":")
        if sep and not line[:1].isspace():
            info.setdefault(label.strip(), value.strip())
    return info


def shown(rel: str) -> str:
    """A path as safe one-line text: undecodable bytes as \\xNN, control characters escaped."""
    raw = rel.encode("utf-8", "surrogateescape")
    text = raw.decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
