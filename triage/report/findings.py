"""findings.json: the machine-readable result of a run (versioned schema, documented in README)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Text, case, cast, func, select

from rules.assessment import Coverage, assessment
from rules.engine import RulePack
from triage import TOOL_NAME, __version__
from triage.model.records import EvidenceItem, Finding, ParseWarning, SourceFile
from triage.model.timeutil import iso
from triage.store import CaseStore

SCHEMA_VERSION = "1.4"  # 1.1: assessment "not examined" and its coverage; 1.2: machine_notes, rules_not_fired;
# 1.3: by_record; 1.4: the assessment policy's `categories`, `caps`, `contexts` and `special_procedure`
# (docs/domain/assessment.md "What the result says"), and each geographic finding's `geofence`: its
# extra.geofence, every cited position's placement (zone, source, precision, distance to the edge, uncertainty)
UNREAD = ("not parsed",)  # SourceFile statuses of files no parser could read


def coverage(store: CaseStore, selected: int | None = None) -> Coverage:
    """Counted in SQL: a phone has thousands of source files, none of them is needed here as a record."""
    store.flush()
    table = SourceFile.__table__
    sources, parsed, records = store.session.execute(
        select(func.count(), func.sum(case((table.c.status.in_(UNREAD), 0), else_=1)), func.sum(table.c.record_count))
    ).one()
    return Coverage(
        selected=selected, sources=sources, parsed=parsed or 0, records=records or 0, warnings=store.count(ParseWarning)
    )


def finding_json(f: Finding) -> dict[str, Any]:
    return {
        "id": f.id,
        "rule_id": f.rule_id,
        "rule_version": f.rule_version,
        "severity": f.severity,
        "family": f.family,
        "title": f.title,
        "explanation": f.explanation,
        "time_utc": iso(f.time_utc),
        "role_hint": (f.extra or {}).get("role_hint"),
        "received_only": bool((f.extra or {}).get("received_only")),
        "indicator_only": True,
        "evidence": f.evidence,
        # named-entity model output on cited messages: for review, never evidence (empty without a model)
        "machine_notes": (f.extra or {}).get("machine_notes", []),
        # 1.4: each cited position placed in the zone the rule asks for (rules/engine.py geofence_extra), with
        # how many beyond the engine's cap were not detailed; empty for rules without a geofence
        "geofence": (f.extra or {}).get("geofence", []),
        "geofence_not_detailed": (f.extra or {}).get("geofence_not_detailed", 0),
    }


def by_record(findings: list[dict[str, Any]]) -> dict[str, dict[str, list[int]]]:
    """Each cited record → the findings citing it, in finding order: {type: {id: [finding id, …]}} (ids as
    text, JSON's keys). A message cited by four rules is one entry with four ids (issue 15 item 4)."""
    index: dict[str, dict[str, list[int]]] = {}
    for finding in findings:
        for ref in finding["evidence"]:
            ids = index.setdefault(ref["type"], {}).setdefault(str(ref["id"]), [])
            # findings are read one after the other: a record one finding cites twice is listed once
            if not ids or ids[-1] != finding["id"]:
                ids.append(finding["id"])
    return index


def rules_not_fired(pack: RulePack, findings: list[Finding], counts: dict[str, int]) -> list[dict[str, Any]]:
    """Every rule of the pack that gave no finding, with why as far as the run can tell: nothing of what it
    reads was parsed, a watch-list it needs matched nothing (or none was given), or it read records and none
    met its conditions. A reader weighs an indicator's absence only knowing this (issue 15 item 4)."""
    fired = {f.rule_id for f in findings}
    return [
        {
            "rule_id": r.id,
            "rule_version": r.version,
            "title": r.title,
            "reads": list(r.reads),
            "why": _why_not_fired(r, counts),
        }
        for r in pack.rules
        if r.id not in fired
    ]


def _why_not_fired(rule: Any, counts: dict[str, int]) -> str:
    if not rule.reads:
        return "it combines other rules' findings: fewer independent indicators fired than it needs"
    read = sum(counts.get(kind, 0) for kind in rule.reads)
    kinds = ", ".join(rule.reads)
    if read == 0:
        return f"nothing to read: no {kinds} record in what was parsed"
    condition = json.dumps(rule.condition, sort_keys=True, default=str)
    if '"watchlist"' in condition:
        return f"{read} {kinds} record(s) read; none matched a watch-list entry (a run without --watchlist has none)"
    if '"known_media"' in condition:
        return (
            f"{read} {kinds} record(s) read; none matched a sha256/phash watch-list entry (a run without "
            "--watchlist has none)"
        )
    return f"{read} {kinds} record(s) read; none met its conditions"


def build_findings(
    store: CaseStore,
    case: dict[str, str],
    pack: RulePack,
    run: dict[str, Any],
    counts: dict[str, int],
    files_selected: int | None = None,
) -> dict[str, Any]:
    """`files_selected`: the count the run recorded when it chose files for parsing (None: unknown)."""
    findings = list(store.all(Finding))
    read = coverage(store, files_selected)
    items = list(store.all(EvidenceItem))
    listed = [finding_json(f) for f in findings]
    return {
        "schema": "mobile-triage/findings",
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": TOOL_NAME, "version": __version__},
        "rule_pack": pack.identity(),
        "case": case,
        "run": run,
        "evidence": [
            {
                "source": i.source,
                "kind": i.kind,
                "container_files": i.container_files,
                "media": i.media,
                "files_sha256_before": i.files_sha256_before,
                "files_sha256_after": i.files_sha256_after,
                "unchanged": i.unchanged,
            }
            for i in items
        ],
        "assessment": assessment(findings, read),
        "findings": listed,
        "rules_not_fired": rules_not_fired(pack, findings, counts),
        "by_record": by_record(listed),
        "record_counts": counts,
        "decoding": decoding_summary(store),
        "warnings": store.count(ParseWarning),
    }


def decoding_summary(store: CaseStore) -> dict[str, dict[str, int]]:
    """How completely serialised messages were decoded, per app (Telegram: full / partial / none).

    Only messages whose `extra` mentions "decoded" are read (a filter on the stored JSON text), and only
    their app and `extra`: the others, most of a phone, are never turned into Python objects."""
    from triage.model.records import Message

    store.flush()
    table = Message.__table__
    statement = (
        select(table.c.app, table.c.extra)
        .where(cast(table.c.extra, Text).like("%decoded%"))
        .order_by(table.c.id)
        .execution_options(yield_per=1000)
    )
    summary: dict[str, dict[str, int]] = {}
    for app, extra in store.session.execute(statement):
        state = extra.get("decoded") if isinstance(extra, dict) else None
        if state:
            counts = summary.setdefault(app, {"full": 0, "partial": 0, "none": 0})
            counts[state] = counts.get(state, 0) + 1
    return summary
