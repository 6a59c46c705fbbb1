"""The translation round trip as XLIFF 1.2 (translate-toolkit): the untranslated messages the findings cite
go out to a translator, the certified translations come back checked against the bundle.

Export (`triage translations export BUNDLE --out FILE.xlf`): one <trans-unit> per cited message with text,
its id the message's record id (records/message.jsonl "id"), its <source> the text as stored, and two notes
from "developer": `message-sha256: <hex>` (SHA-256 of the text, UTF-8) and `source: records/message.jsonl id N;
<where in the evidence>`. Any XLIFF tool fills the <target> elements.

Import (`triage translations import`): every unit with a target must name a message of the bundle (by id),
carry the hash of that message's text as the bundle holds it, and keep its <source> unchanged; one unit
that does not is enough to refuse the whole file, each failure named. Units left without a target are
counted and said, never sealed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from translate.storage import xliff

from triage.addenda.bundle_records import (
    BundleIdentity,
    cited_message_ids,
    message_sha256,
    messages_by_id,
    open_bundle,
    record_reference,
)
from triage.errors import TriageError
from triage.integrity.exclusive import create_exclusive

SOURCE_LANGUAGE = "und"  # BCP 47 "undetermined": the tool does not guess the language of evidence
HASH_NOTE = "message-sha256"
SOURCE_NOTE = "source"
MAX_XLIFF_BYTES = 256 * 1024 * 1024
_HASH = re.compile(rf"^{HASH_NOTE}:\s*([0-9a-f]{{64}})\s*$", re.MULTILINE)


class TranslationsError(TriageError):
    """An XLIFF file that cannot be exported, read or accepted."""


XLIFF_12 = "urn:oasis:names:tc:xliff:document:1.2"


class Unit12(xliff.xliffunit):
    namespace = XLIFF_12


class Xliff12(xliff.xlifffile):
    """translate-toolkit's XLIFF store, writing version 1.2 (it reads 1.1 and 1.2 alike)."""

    UnitClass = Unit12
    XMLskeleton = xliff.xlifffile.XMLskeleton.replace("1.1", "1.2")
    namespace = XLIFF_12


@dataclass(frozen=True)
class Translation:
    """One certified translation, tied to the message it translates."""

    message_id: int
    sha256: str  # of the original text
    original: str
    translation: str
    target_language: str
    record: str  # record_reference(): where the message is in the bundle and in the evidence
    app: str
    time_utc: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def export_xliff(
    bundle_path: Path, identity: BundleIdentity, target: Path, target_language: str, skip: Iterable[int] = ()
) -> int:
    """Write the cited messages with text (but those in `skip`) to `target`, a new file; returns how many."""
    done = set(skip)
    with open_bundle(bundle_path) as bundle:
        ids = [i for i in cited_message_ids(bundle) if i not in done]
        records = messages_by_id(bundle, ids)
    store = Xliff12(sourcelanguage=SOURCE_LANGUAGE, targetlanguage=target_language)
    original = f"{identity.name}/data/records/message.jsonl"
    count = 0
    for message_id in ids:
        record = records.get(message_id)
        if record is None or not record.get("body"):
            continue  # no text to translate (a location, a call event …) or not in the records
        unit = store.addsourceunit(record["body"], filename=original, createifmissing=True)
        unit.setid(str(message_id))
        unit.addnote(f"{HASH_NOTE}: {message_sha256(record['body'])}", origin="developer")
        unit.addnote(f"{SOURCE_NOTE}: {record_reference(record)}", origin="developer")
        count += 1
    with create_exclusive(target, "wb") as f:
        f.write(bytes(store))
    return count


@dataclass
class ImportOutcome:
    translations: list[Translation]
    without_target: list[int]  # units left untranslated: not sealed, said
    target_language: str


def read_translations(xlf: Path, bundle_path: Path) -> ImportOutcome:
    """The translations of an XLIFF file, each checked against the bundle's message; TranslationsError
    names every unit that fails (unknown message, changed message, changed source text, bad id or note)."""
    store = _parse(xlf)
    units = [u for u in store.unit_iter() if not u.isheader()]
    problems: list[str] = []
    wanted: dict[int, Any] = {}
    for unit in units:
        message_id = _unit_id(unit, problems)
        if message_id is not None:
            if message_id in wanted:
                problems.append(f"unit {message_id}: given twice")
            wanted[message_id] = unit
    with open_bundle(bundle_path) as bundle:
        records = messages_by_id(bundle, wanted)
    translations, without_target = [], []
    language = _target_language(store)
    for message_id, unit in wanted.items():
        checked = _checked(message_id, unit, records.get(message_id), problems)
        if checked is None:
            continue
        if not (unit.target or "").strip():
            without_target.append(message_id)
            continue
        record, digest = checked
        translations.append(
            Translation(
                message_id,
                digest,
                record["body"],
                unit.target,
                language,
                record_reference(record),
                record.get("app") or "",
                record.get("time_utc"),
            )
        )
    if problems:
        raise TranslationsError(f"{xlf}: refused, nothing sealed ({len(problems)} problem(s)): " + "; ".join(problems))
    if not translations:
        raise TranslationsError(f"{xlf}: no unit has a translation (<target>); nothing to seal")
    return ImportOutcome(translations, without_target, language)


def _parse(xlf: Path) -> Xliff12:
    try:
        with open(xlf, "rb") as f:
            data = f.read(MAX_XLIFF_BYTES + 1)
    except OSError as e:
        raise TranslationsError(f"cannot read {xlf}: {e.strerror or e}") from None
    if len(data) > MAX_XLIFF_BYTES:
        raise TranslationsError(f"{xlf} is larger than {MAX_XLIFF_BYTES} bytes: not a translation file of a bundle")
    try:
        return Xliff12.parsestring(data)
    except Exception as e:  # noqa: BLE001 - lxml and the toolkit raise many kinds for a malformed file
        raise TranslationsError(f"{xlf} is not an XLIFF 1.2 file this tool wrote ({type(e).__name__}: {e})") from None


def _unit_id(unit: Any, problems: list[str]) -> int | None:
    raw = unit.xmlelement.get("id") or ""
    if not raw.isascii() or not raw.isdigit():
        problems.append(f"unit {raw!r}: its id is not a message record id")
        return None
    return int(raw)


def _checked(
    message_id: int, unit: Any, record: dict[str, Any] | None, problems: list[str]
) -> tuple[dict[str, Any], str] | None:
    """The record and its text's hash when the unit matches it; otherwise the problem, said."""
    if record is None or not record.get("body"):
        problems.append(f"unit {message_id}: the bundle has no message {message_id} with text (unknown message)")
        return None
    digest = message_sha256(record["body"])
    noted = _HASH.findall(unit.getnotes() or "")
    if len(noted) != 1:
        problems.append(
            f"unit {message_id}: no '{HASH_NOTE}: <sha256>' note (the file was not exported by "
            "`triage translations export`, or its notes were removed)"
        )
        return None
    if noted[0] != digest:
        problems.append(
            f"unit {message_id}: message hash does not match: the unit was made for a text with "
            f"SHA-256 {noted[0]}, but message {message_id} in the bundle has SHA-256 {digest} "
            "(a changed message, or another bundle's)"
        )
        return None
    if message_sha256(unit.source or "") != digest:
        problems.append(
            f"unit {message_id}: its <source> is not the message's text as the bundle holds it (the source was edited)"
        )
        return None
    return record, digest


def _target_language(store: Xliff12) -> str:
    for node in store.document.getroot().iterchildren(store.namespaced("file")):
        if node.get("target-language"):
            return node.get("target-language")
    return "not stated"
