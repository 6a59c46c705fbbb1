"""The examiner's declarations as a YAML file: read strictly, so what is sealed is exactly what was meant.

    name: A. Examiner                        # who makes the statement
    role: Digital forensic examiner
    organisation: Example Police DFU         # optional
    date: 2026-12-05                         # the day the declarations are made
    accreditation:
      status: accredited                     # or: not accredited
      scope: UKAS 1234, FSA-DIG-100          # required when accredited
    fsr_code:
      compliant: true                        # or false, with non_compliance below
      non_compliance:                        # required (one or more) when not compliant
        - requirement: FSR-C-100 §20.3 validation of the parser for this app version
          risk: a message field misread
          mitigation: every cited message checked by hand against the database row
    legal_power:
      basis: warrant                         # PACE seizure | warrant | PCSC Act 2022 s.37 agreement | other
      details: Warrant 123/2026, Dover MC    # required when the basis is "other"
    extraction: Cellebrite UFED 7.70 file system; device in a Faraday bag, powered on, locked   # optional
    translation: none needed                 # optional: none needed | machine translation | certified translation
    translator: ...                          # who translated, required for a certified translation
    officer_in_charge: DC B. Officer         # optional
    statement_of_truth: true                 # must be true: the examiner makes the statement of truth

Unknown keys, repeated keys, a wrong type or a missing required value are refused with the field named:
a typo must never drop a declaration silently. Used by `triage run --declarations` (printed into the
sealed report.pdf, the file copied into the bundle as declarations.yaml and its SHA-256 in the custody
log) and by `triage addendum --declarations` (declarations given after the run).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from triage.errors import TriageError

BUNDLE_NAME = "declarations.yaml"  # the copy sealed into a bundle or an addendum
MAX_FILE_BYTES = 256 * 1024  # declarations are a page of text; anything larger is not a declarations file
LEGAL_BASES = ("PACE seizure", "warrant", "PCSC Act 2022 s.37 agreement", "other")
TRANSLATIONS = ("none needed", "machine translation", "certified translation")
STATEMENT_OF_TRUTH = (
    "This summary is true to the best of my knowledge and belief, and I make it knowing that, "
    "if it is tendered in evidence, I shall be liable to prosecution if I have wilfully stated in "
    "it anything which I know to be false or do not believe to be true."
)

# free text: not empty, short enough to print whole (the report caps longer text, display.TEXT_CHARS)
Line = Annotated[str, StringConstraints(strict=True, strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(strict=True, strip_whitespace=True, min_length=1, max_length=1500)]


class DeclarationsError(TriageError):
    """The declarations file cannot be read or does not hold valid declarations."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Accreditation(_Strict):
    status: Literal["accredited", "not accredited"]
    scope: Line | None = None

    @model_validator(mode="after")
    def _scope_when_accredited(self) -> Accreditation:
        if self.status == "accredited" and self.scope is None:
            raise ValueError("'scope' is required when the status is 'accredited' (the scope reference)")
        return self


class NonCompliance(_Strict):
    requirement: Text
    risk: Text
    mitigation: Text


class FsrCode(_Strict):
    compliant: StrictBool
    non_compliance: list[NonCompliance] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _mitigation_when_not_compliant(self) -> FsrCode:
        if not self.compliant and not self.non_compliance:
            raise ValueError("'non_compliance' (requirement, risk, mitigation) is required when 'compliant' is false")
        if self.compliant and self.non_compliance:
            raise ValueError("'non_compliance' is given but 'compliant' is true: say which one holds")
        return self


class LegalPower(_Strict):
    basis: Literal[LEGAL_BASES]  # type: ignore[valid-type]
    details: Text | None = None

    @model_validator(mode="after")
    def _details_for_other(self) -> LegalPower:
        if self.basis == "other" and self.details is None:
            raise ValueError("'details' is required when the basis is 'other'")
        return self


class Declarations(_Strict):
    name: Line
    role: Line
    organisation: Line | None = None
    date: dt.date
    accreditation: Accreditation
    fsr_code: FsrCode
    legal_power: LegalPower
    extraction: Text | None = None
    translation: Literal[TRANSLATIONS] | None = None  # type: ignore[valid-type]
    translator: Line | None = None
    officer_in_charge: Line | None = None
    statement_of_truth: Literal[True]

    @field_validator("date", mode="before")
    @classmethod
    def _calendar_date(cls, value: Any) -> Any:
        """A YAML date (2026-12-05) or the same as a string; never a number or a date and time."""
        if isinstance(value, dt.datetime) or not isinstance(value, (dt.date, str)):
            raise ValueError("a date as YYYY-MM-DD is required")
        return dt.date.fromisoformat(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _translator_when_certified(self) -> Declarations:
        if self.translation == "certified translation" and self.translator is None:
            raise ValueError("'translator' is required when the translation is 'certified translation'")
        return self

    def rows(self) -> list[tuple[str, str]]:
        """The declarations as the statement prints them, label and text, in the form's order."""
        legal = self.legal_power.basis + (f": {self.legal_power.details}" if self.legal_power.details else "")
        accredited = (
            f"accredited for this activity, scope {self.accreditation.scope}"
            if self.accreditation.status == "accredited"
            else "not accredited"
        )
        code = (
            "I declare that this examination was conducted in compliance with the FSR statutory Code of Practice."
            if self.fsr_code.compliant
            else "It was not conducted in full compliance; the non-compliance and its mitigation are set out below."
        )
        rows = [
            ("Translation", self.translation_text()),
            ("Extraction method and device state (isolation, power, lock state)", self.extraction or "not stated"),
            ("Legal power for the extraction", legal),
            ("Accreditation status (ISO/IEC 17025; FSR Code FSA DIG 100)", accredited),
            ("Forensic Science Regulator Code of Practice", code),
        ]
        return rows

    def translation_text(self) -> str:
        if self.translation is None:
            return "not stated"
        return self.translation + (f" — by {self.translator}" if self.translator else "")

    def signed_by(self) -> list[tuple[str, str]]:
        """Name, role, date, officer: the lines under the statement of truth."""
        role = self.role + (f", {self.organisation}" if self.organisation else "")
        return [
            ("Name and role", f"{self.name}, {role}"),
            ("Date", self.date.isoformat()),
            ("Officer in charge", self.officer_in_charge or "not stated"),
        ]


@dataclass(frozen=True)
class LoadedDeclarations:
    """The declarations with the bytes they were read from: the copy sealed is the file as given."""

    source: Path
    raw: bytes
    sha256: str
    declarations: Declarations

    def view(self) -> dict[str, Any]:
        """What the statement's template prints."""
        d = self.declarations
        return {
            "rows": d.rows(),
            "non_compliance": [m.model_dump() for m in d.fsr_code.non_compliance],
            "statement_of_truth": STATEMENT_OF_TRUTH,
            "signed_by": d.signed_by(),
            "sha256": self.sha256,
            "file": BUNDLE_NAME,
        }

    def to_json(self) -> dict[str, Any]:
        return {"sha256": self.sha256, **self.declarations.model_dump(mode="json")}


def load_declarations(path: Path) -> LoadedDeclarations:
    """Read and validate a declarations file; DeclarationsError names the file and every bad field."""
    raw = _read(path)
    try:
        document = yaml.load(raw.decode("utf-8"), Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except UnicodeDecodeError:
        raise DeclarationsError(f"declarations {path}: not UTF-8 text") from None
    except yaml.YAMLError as e:
        raise DeclarationsError(f"declarations {path}: not valid YAML ({_one_line(e)})") from None
    if not isinstance(document, dict):
        raise DeclarationsError(
            f"declarations {path}: expected a mapping of fields (name:, date:, "
            f"accreditation: …), got {type(document).__name__}"
        )
    try:
        declarations = Declarations.model_validate(document)
    except ValidationError as e:
        raise DeclarationsError(
            f"declarations {path}: {_problems(e)}; see `triage run --help` or the README "
            "section 'Declarations, addenda and translations'"
        ) from None
    return LoadedDeclarations(path, raw, hashlib.sha256(raw).hexdigest(), declarations)


def _read(path: Path) -> bytes:
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise DeclarationsError(f"cannot read the declarations file {path}: {e.strerror or e}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise DeclarationsError(f"declarations {path}: larger than {MAX_FILE_BYTES} bytes; not a declarations file")
    return raw


def _problems(error: ValidationError) -> str:
    """Each problem as "field 'a.b': what is wrong" (pydantic's own words, without its URLs)."""
    parts = []
    for problem in error.errors(include_url=False):
        where = ".".join(str(p) for p in problem["loc"]) or "(top level)"
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "extra_forbidden":
            message = "unknown field (a typo?): not a declaration this tool knows"
        elif problem["type"] == "missing":
            message = "required, missing"
        parts.append(f"field '{where}': {message}")
    return "; ".join(parts)


def _one_line(e: yaml.YAMLError) -> str:
    return " ".join(str(e).split())


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice (PyYAML keeps the last one silently)."""


def _unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"field {key!r} is given twice", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)
