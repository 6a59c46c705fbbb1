"""findings.json: the machine-readable result of a run (versioned schema, documented in README)."""

from __future__ import annotations

from typing import Any

from rules.engine import RulePack
from triage import TOOL_NAME, __version__
from triage.records import EvidenceItem, Finding, ParseWarning
from triage.store import CaseStore
from triage.timeutil import iso

SCHEMA_VERSION = "1.0"
SCORED = ("HIGH", "MEDIUM", "LOW")
FLAGS = ("SAFEGUARDING", "DISCLOSURE")


def assessment(findings: list[Finding]) -> dict[str, Any]:
    """Red/amber/green triage priority from scored severities; flags are listed, never scored.

    red: any HIGH indicator; amber: any MEDIUM or LOW; green: none. SAFEGUARDING and DISCLOSURE
    findings (pointing to a victim, or away from the user) are listed under `flags` whatever the level.
    """
    by_severity = {s: [f for f in findings if f.severity == s] for s in SCORED}
    if by_severity["HIGH"]:
        level = "red"
    elif by_severity["MEDIUM"] or by_severity["LOW"]:
        level = "amber"
    else:
        level = "green"
    reasons = list(dict.fromkeys(f"{f.severity} {f.rule_id}: {f.title}" for s in SCORED for f in by_severity[s]))
    flags = list(dict.fromkeys(f"{f.severity} {f.rule_id}: {f.title}" for f in findings if f.severity in FLAGS))
    note = ("Priority for examination, not a finding of fact. Green means no rule fired on what could be "
            "read; it does not clear the device. Indicators are machine output for review by an examiner.")
    return {"level": level, "reasons": reasons, "flags": flags, "note": note}


def finding_json(f: Finding) -> dict[str, Any]:
    return {
        "id": f.id, "rule_id": f.rule_id, "rule_version": f.rule_version, "severity": f.severity,
        "family": f.family, "title": f.title, "explanation": f.explanation, "time_utc": iso(f.time_utc),
        "role_hint": (f.extra or {}).get("role_hint"), "received_only": bool((f.extra or {}).get("received_only")),
        "indicator_only": True, "evidence": f.evidence,
    }


def build_findings(store: CaseStore, case: dict[str, str], pack: RulePack,
                   run: dict[str, Any], counts: dict[str, int]) -> dict[str, Any]:
    findings = list(store.all(Finding))
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
        "assessment": assessment(findings),
        "findings": [finding_json(f) for f in findings],
        "record_counts": counts,
        "decoding": decoding_summary(store),
        "warnings": store.count(ParseWarning),
    }


def decoding_summary(store: CaseStore) -> dict[str, dict[str, int]]:
    """How completely serialised messages were decoded, per app (Telegram: full / partial / none)."""
    from triage.records import Message

    summary: dict[str, dict[str, int]] = {}
    for message in store.all(Message):
        state = (message.extra or {}).get("decoded")
        if state:
            counts = summary.setdefault(message.app, {"full": 0, "partial": 0, "none": 0})
            counts[state] = counts.get(state, 0) + 1
    return summary
