"""What an addendum needs from the sealed bundle it adds to, read from its folder or zip (never extracted):
the SHA-256 of its two manifests (which name it), the messages the findings cite, and messages by id.

The bundle is checked first (`triage verify`'s checks): an addendum is never made for a bundle that is
altered, unreadable or unfinished. Messages are read from data/records/message.jsonl line by line,
keeping only the ids asked for: a phone's 500,000 messages are never held in memory.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from triage.bundle.layout import PAYLOAD_DIR
from triage.bundle.sources import READ_ERRORS, BundleSource, CannotRead, open_source
from triage.bundle.trust import TrustedKey
from triage.bundle.verify import INTACT, SIGNER_NOT_CHECKED, Verification, verify
from triage.errors import TriageError

MESSAGES = f"{PAYLOAD_DIR}/records/message.jsonl"
FINDINGS = f"{PAYLOAD_DIR}/findings.json"
FINDINGS_LIMIT = 1 << 30


class BundleRecordsError(TriageError):
    """The bundle cannot serve as the base of an addendum."""


@dataclass(frozen=True)
class BundleIdentity:
    """How an addendum names its bundle: the folder name and the SHA-256 of both manifests (the tag
    manifest is what the examiner's signature covers; it covers the payload manifest in turn)."""

    name: str
    tag_manifest_sha256: str
    manifest_sha256: str
    signer: str | None  # the bundle's signing key fingerprint, for the readable page

    def bag_info(self) -> dict[str, str]:
        return {
            "Addendum-To-Bundle": self.name,
            "Addendum-To-Tag-Manifest-SHA256": self.tag_manifest_sha256,
            "Addendum-To-Manifest-SHA256": self.manifest_sha256,
        }


def message_sha256(text: str) -> str:
    """The hash an exported unit carries: SHA-256 of the message text as stored, UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def checked_bundle(path: Path, trust: Iterable[TrustedKey] = ()) -> tuple[BundleIdentity, Verification]:
    """The bundle's identity, after `triage verify`'s checks; BundleRecordsError unless it is intact."""
    result = verify(path, list(trust))
    if result.status not in (INTACT, SIGNER_NOT_CHECKED) or not result.tag_manifest_sha256:
        reasons = "; ".join(result.problems + result.incomplete + result.unreadable) or result.verdict
        raise BundleRecordsError(
            f"{path} is {result.verdict}: {reasons}. An addendum is made only for an intact "
            "bundle (check it with `triage verify`)"
        )
    name = _bundle_name(path)
    signer = result.signer.fingerprint if result.signer and result.signed else None
    return BundleIdentity(name, result.tag_manifest_sha256, result.manifest_sha256 or "", signer), result


def _bundle_name(path: Path) -> str:
    return path.name[:-4] if path.suffix.lower() == ".zip" else path.name


def cited_message_ids(bundle: BundleSource) -> list[int]:
    """Ids of the messages the findings cite, in the order findings.json first cites them."""
    findings = _json(bundle, FINDINGS)
    ids: dict[int, None] = {}
    for finding in findings.get("findings", []):
        for ref in finding.get("evidence", []):
            if ref.get("type") == "message" and isinstance(ref.get("id"), int):
                ids.setdefault(ref["id"])
    return list(ids)


def messages_by_id(bundle: BundleSource, wanted: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The message records with these ids, read as a stream from records/message.jsonl."""
    wanted = set(wanted)
    found: dict[int, dict[str, Any]] = {}
    if not wanted:
        return found
    for record in _jsonl(bundle, MESSAGES):
        if record.get("id") in wanted:
            found[record["id"]] = record
            if len(found) == len(wanted):
                break
    return found


def open_bundle(path: Path) -> BundleSource:
    try:
        return open_source(path)
    except CannotRead as e:
        raise BundleRecordsError(str(e)) from None


def record_reference(record: dict[str, Any]) -> str:
    """Where a message is: its record and its row in the evidence, as one line."""
    prov = record.get("provenance") or {}
    where = prov.get("path") or "source not recorded"
    if prov.get("table"):
        where += f", table {prov['table']} row {prov.get('row')}"
    return f"records/message.jsonl id {record['id']}; {where}"


def _json(bundle: BundleSource, rel: str) -> dict[str, Any]:
    try:
        data = bundle.read(rel, FINDINGS_LIMIT)
    except READ_ERRORS as e:
        raise BundleRecordsError(f"cannot read {rel} in {bundle.label}: {e}") from None
    if data is None:
        raise BundleRecordsError(f"{bundle.label} has no {rel}: not a bundle of `triage run`")
    return json.loads(data)


def _jsonl(bundle: BundleSource, rel: str) -> Iterator[dict[str, Any]]:
    if rel not in bundle.files:
        raise BundleRecordsError(f"{bundle.label} has no {rel}: not a bundle of `triage run`")
    try:
        with bundle.open(rel) as raw, io.TextIOWrapper(raw, encoding="utf-8", newline="\n") as lines:
            for line in lines:
                if line.strip():
                    yield json.loads(line)
    except READ_ERRORS as e:
        raise BundleRecordsError(f"cannot read {rel} in {bundle.label}: {e}") from None
