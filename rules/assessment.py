"""The triage priority of a run: red, amber or green from the findings' severities, "not examined" when nothing
could be read. A policy of the rules, not of the report: the rule tests and `triage rules eval` score with it
as a run does (docs/domain/rule_catalogue.md "Conventions")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from triage.model.records import Finding

SCORED = ("HIGH", "MEDIUM", "LOW")
FLAGS = ("SAFEGUARDING", "DISCLOSURE")
LEVELS = ("red", "amber", "green", "not examined")
NOT_EXAMINED = "not examined"


@dataclass(frozen=True)
class Coverage:
    """How much of the evidence the parsers read: without it a silent phone and an unread one look alike."""

    selected: int | None  # files a parser claimed by path or header (custody 'files selected for parsing')
    sources: int  # files a parser started on (SourceFile records)
    parsed: int  # of them, files a parser read, even when they held no record (an empty database)
    records: int  # records read from them
    warnings: int

    @property
    def examined(self) -> bool:
        return self.parsed > 0

    def why_not_examined(self) -> str:
        """The reason the report gives when nothing could be examined (empty when something was)."""
        if self.examined:
            return ""
        if self.selected == 0:
            return (
                f"no file in the evidence was recognised by a parser (0 files selected for parsing, 0 parsed, "
                f"{self.warnings} warning(s)); check the warnings and that the evidence is an extraction in a "
                "supported format"
            )
        selected = "" if self.selected is None else f"{self.selected} file(s) selected for parsing, "
        return (
            f"no file in the evidence could be parsed ({selected}{self.sources} opened by a parser, 0 parsed, "
            f"{self.warnings} warning(s)); see 'Parse warnings and what was not parsed'"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "files_selected": self.selected,
            "files_opened": self.sources,
            "files_parsed": self.parsed,
            "records": self.records,
            "warnings": self.warnings,
        }


def assessment(findings: list[Finding], read: Coverage | None = None) -> dict[str, Any]:
    """Red/amber/green triage priority from scored severities; flags are listed, never scored.

    red: any HIGH indicator; amber: any MEDIUM or LOW; green: none, on evidence that was read. When no
    file could be read (`read` says so) the level is "not examined", never green: no rule had anything
    to run on. Files read that held no record (empty databases) are examined: green stands. SAFEGUARDING
    and DISCLOSURE findings (pointing to a victim, or away from the user) are listed under `flags`
    whatever the level. `read` None (rule tests without a run): scored on the findings alone.
    """
    by_severity = {s: [f for f in findings if f.severity == s] for s in SCORED}
    if by_severity["HIGH"]:
        level = "red"
    elif by_severity["MEDIUM"] or by_severity["LOW"]:
        level = "amber"
    elif read is not None and not read.examined:
        level = NOT_EXAMINED
    else:
        level = "green"
    reasons = list(dict.fromkeys(f"{f.severity} {f.rule_id}: {f.title}" for s in SCORED for f in by_severity[s]))
    flags = list(dict.fromkeys(f"{f.severity} {f.rule_id}: {f.title}" for f in findings if f.severity in FLAGS))
    note = (
        "Priority for examination, not a finding of fact. Green means no rule fired on what could be "
        "read; it does not clear the device. Indicators are machine output for review by an examiner."
    )
    result: dict[str, Any] = {"level": level, "reasons": reasons, "flags": flags, "note": note}
    if read is not None:
        result["coverage"] = read.to_json()
        result["not_examined"] = read.why_not_examined() if level == NOT_EXAMINED else ""
        if level == NOT_EXAMINED:
            result["reasons"] = [f"nothing could be examined: {result['not_examined']}"]
            result["note"] = (
                "Not examined: no rule had anything to run on, so this says nothing about the device, "
                "neither for nor against. Indicators are machine output for review by an examiner."
            )
    return result
