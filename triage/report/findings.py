"""findings.json: the machine-readable result of a run (versioned schema, documented in README)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Text, case, cast, func, select

from rules.engine import RulePack
from triage import TOOL_NAME, __version__
from triage.records import EvidenceItem, Finding, ParseWarning, SourceFile
from triage.store import CaseStore
from triage.timeutil import iso

SCHEMA_VERSION = "1.2"  # 1.1: assessment "not examined" and its coverage; 1.2: machine_notes, rules_not_fired
SCORED = ("HIGH", "MEDIUM", "LOW")
FLAGS = ("SAFEGUARDING", "DISCLOSURE")
LEVELS = ("red", "amber", "green", "not examined")
NOT_EXAMINED = "not examined"
UNREAD = ("not parsed",)  # SourceFile statuses of files no parser could read


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
            return (f"no file in the evidence was recognised by a parser (0 files selected for parsing, 0 parsed, "
                    f"{self.warnings} warning(s)); check the warnings and that the evidence is an extraction in a "
                    "supported format")
        selected = "" if self.selected is None else f"{self.selected} file(s) selected for parsing, "
        return (f"no file in the evidence could be parsed ({selected}{self.sources} opened by a parser, 0 parsed, "
                f"{self.warnings} warning(s)); see 'Parse warnings and what was not parsed'")

    def to_json(self) -> dict[str, Any]:
        return {"files_selected": self.selected, "files_opened": self.sources, "files_parsed": self.parsed,
                "records": self.records, "warnings": self.warnings}


def coverage(store: CaseStore, selected: int | None = None) -> Coverage:
    """Counted in SQL: a phone has thousands of source files, none of them is needed here as a record."""
    store.flush()
    table = SourceFile.__table__
    sources, parsed, records = store.session.execute(select(
        func.count(), func.sum(case((table.c.status.in_(UNREAD), 0), else_=1)),
        func.sum(table.c.record_count))).one()
    return Coverage(selected=selected, sources=sources, parsed=parsed or 0, records=records or 0,
                    warnings=store.count(ParseWarning))


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
    note = ("Priority for examination, not a finding of fact. Green means no rule fired on what could be "
            "read; it does not clear the device. Indicators are machine output for review by an examiner.")
    result: dict[str, Any] = {"level": level, "reasons": reasons, "flags": flags, "note": note}
    if read is not None:
        result["coverage"] = read.to_json()
        result["not_examined"] = read.why_not_examined() if level == NOT_EXAMINED else ""
        if level == NOT_EXAMINED:
            result["reasons"] = [f"nothing could be examined: {result['not_examined']}"]
            result["note"] = ("Not examined: no rule had anything to run on, so this says nothing about the device, "
                              "neither for nor against. Indicators are machine output for review by an examiner.")
    return result


def finding_json(f: Finding) -> dict[str, Any]:
    return {
        "id": f.id, "rule_id": f.rule_id, "rule_version": f.rule_version, "severity": f.severity,
        "family": f.family, "title": f.title, "explanation": f.explanation, "time_utc": iso(f.time_utc),
        "role_hint": (f.extra or {}).get("role_hint"), "received_only": bool((f.extra or {}).get("received_only")),
        "indicator_only": True, "evidence": f.evidence,
        # named-entity model output on cited messages: for review, never evidence (empty without a model)
        "machine_notes": (f.extra or {}).get("machine_notes", []),
    }


def rules_not_fired(pack: RulePack, findings: list[Finding], counts: dict[str, int]) -> list[dict[str, Any]]:
    """Every rule of the pack that gave no finding, with why as far as the run can tell: nothing of what it
    reads was parsed, a watch-list it needs matched nothing (or none was given), or it read records and none
    met its conditions. A reader weighs an indicator's absence only knowing this (issue 15 item 4)."""
    fired = {f.rule_id for f in findings}
    return [{"rule_id": r.id, "rule_version": r.version, "title": r.title, "reads": list(r.reads),
             "why": _why_not_fired(r, counts)} for r in pack.rules if r.id not in fired]


def _why_not_fired(rule: Any, counts: dict[str, int]) -> str:
    if not rule.reads:
        return "it combines other rules' findings: fewer independent indicators fired than it needs"
    read = sum(counts.get(kind, 0) for kind in rule.reads)
    kinds = ", ".join(rule.reads)
    if read == 0:
        return f"nothing to read: no {kinds} record in what was parsed"
    condition = json.dumps(rule.condition, sort_keys=True, default=str)
    if '"watchlist"' in condition:
        return (f"{read} {kinds} record(s) read; none matched a watch-list entry (a run without --watchlist has "
                "none)")
    if '"known_media"' in condition:
        return (f"{read} {kinds} record(s) read; none matched the media watch-list (a run without "
                "--media-watchlist has none)")
    return f"{read} {kinds} record(s) read; none met its conditions"


def build_findings(store: CaseStore, case: dict[str, str], pack: RulePack,
                   run: dict[str, Any], counts: dict[str, int], files_selected: int | None = None) -> dict[str, Any]:
    """`files_selected`: the count the run recorded when it chose files for parsing (None: unknown)."""
    findings = list(store.all(Finding))
    read = coverage(store, files_selected)
    items = list(store.all(EvidenceItem))
    return {
        "schema": "mobile-triage/findings",
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": TOOL_NAME, "version": __version__},
        "rule_pack": pack.identity(),
        "case": case,
        "run": run,
        "evidence": [
            {"source": i.source, "kind": i.kind, "container_files": i.container_files, "media": i.media,
             "files_sha256_before": i.files_sha256_before, "files_sha256_after": i.files_sha256_after,
             "unchanged": i.unchanged}
            for i in items
        ],
        "assessment": assessment(findings, read),
        "findings": [finding_json(f) for f in findings],
        "rules_not_fired": rules_not_fired(pack, findings, counts),
        "record_counts": counts,
        "decoding": decoding_summary(store),
        "warnings": store.count(ParseWarning),
    }


def decoding_summary(store: CaseStore) -> dict[str, dict[str, int]]:
    """How completely serialised messages were decoded, per app (Telegram: full / partial / none).

    Only messages whose `extra` mentions "decoded" are read (a filter on the stored JSON text), and only
    their app and `extra`: the others, most of a phone, are never turned into Python objects."""
    from triage.records import Message

    store.flush()
    table = Message.__table__
    statement = (select(table.c.app, table.c.extra).where(cast(table.c.extra, Text).like("%decoded%"))
                 .order_by(table.c.id).execution_options(yield_per=1000))
    summary: dict[str, dict[str, int]] = {}
    for app, extra in store.session.execute(statement):
        state = extra.get("decoded") if isinstance(extra, dict) else None
        if state:
            counts = summary.setdefault(app, {"full": 0, "partial": 0, "none": 0})
            counts[state] = counts.get(state, 0) + 1
    return summary
