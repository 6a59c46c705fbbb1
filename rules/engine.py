"""The rules engine: rule packs are data (YAML); primitives turn records into hits; hits become
Findings that name the rule, its version, the evidence and why the rule fired.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path
from typing import Any, Callable, Iterable
from zoneinfo import ZoneInfo

import yaml

from rules.zones import Zone, ZoneSet
from triage.citation import Citation
from triage.records import Base, Finding, Location

PACKS_DIR = Path(__file__).parent / "packs"
DEFAULT_PACK = PACKS_DIR / "channel_crossing.yaml"
SEVERITIES = ("INFO", "LOW", "MEDIUM", "HIGH", "SAFEGUARDING", "DISCLOSURE")
INDICATOR_NOTE = "This is an indicator for the examiner to assess, not a conclusion."


@dataclass
class Rule:
    id: str
    version: str
    title: str
    severity: str
    reads: list[str]
    condition: dict[str, Any]
    role_hint: str = ""
    escalate: dict[str, Any] | None = None
    rationale: str = ""
    sources: list[str] = field(default_factory=list)
    examples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


@dataclass
class RulePack:
    name: str
    version: str
    path: Path
    sha256: str
    rules: list[Rule]
    zones: ZoneSet

    def identity(self) -> dict[str, Any]:
        """Versions and hashes that go into every report (repeatability)."""
        return {
            "pack": self.name,
            "version": self.version,
            "file": self.path.name,
            "sha256": self.sha256,
            "data": {self.zones.path.name: self.zones.sha256},
            "rules": {r.id: r.version for r in self.rules},
        }


def load_pack(path: Path = DEFAULT_PACK) -> RulePack:
    raw = path.read_bytes()
    doc = yaml.safe_load(raw)
    rules = [Rule(**r) for r in doc["rules"]]
    for rule in rules:
        if rule.severity not in SEVERITIES:
            raise ValueError(f"{path.name}: rule {rule.id} has unknown severity {rule.severity!r}")
    zones = ZoneSet.load((path.parent / doc["data"]["zones"]).resolve())
    return RulePack(doc["pack"], str(doc["version"]), path, hashlib.sha256(raw).hexdigest(), rules, zones)


# A record reader: given a record class, yield its stored records (the store supplies it).
RecordReader = Callable[[type[Base]], Iterable[Base]]
# How a record is described in an explanation and cited as evidence (the pipeline supplies it).
Describer = Callable[[Base], Citation]


@dataclass
class GeofenceHit:
    record: Location
    zone: Zone


def evaluate(pack: RulePack, read: RecordReader, describe: Describer) -> list[Finding]:
    findings: list[Finding] = []
    for rule in pack.rules:
        if "geofence" in rule.condition:
            findings.extend(_geofence_rule(rule, pack.zones, read, describe))
        else:
            raise ValueError(f"rule {rule.id}: no supported primitive in condition {sorted(rule.condition)}")
    return findings


def geofence_hits(rule: Rule, zones: ZoneSet, locations: Iterable[Location]) -> list[GeofenceHit]:
    spec = rule.condition["geofence"]
    max_accuracy = spec.get("max_accuracy_m")
    hits = []
    for loc in locations:
        if max_accuracy is not None and loc.accuracy_m is not None and loc.accuracy_m > max_accuracy:
            continue  # too coarse to place on a beach
        for zone in zones.containing(loc.latitude, loc.longitude, spec["zone"]):
            hits.append(GeofenceHit(loc, zone))
            break
    return hits


def _geofence_rule(rule: Rule, zones: ZoneSet, read: RecordReader, describe: Describer) -> list[Finding]:
    hits = geofence_hits(rule, zones, read(Location))
    if not hits:
        return []
    severity, why_escalated = escalated_severity(rule, [h.record.time_utc for h in hits])
    citations = [describe(h.record) for h in hits]
    lines = [
        f"{c.text}, at {fmt_latlon(h.record.latitude, h.record.longitude)}, is inside the "
        f"{rule.condition['geofence']['zone']} zone '{h.zone.name}' (zone confidence {h.zone.confidence})."
        for c, h in zip(citations, hits)
    ]
    explanation = " ".join(
        [f"{len(hits)} position(s) on the device fall in a known Channel launch area."]
        + lines
        + ([why_escalated] if why_escalated else [])
        + [rule.rationale.strip(), INDICATOR_NOTE]
    )
    times = sorted(t for t in (h.record.time_utc for h in hits) if t is not None)
    return [
        Finding(
            rule_id=rule.id,
            rule_version=rule.version,
            severity=severity,
            title=rule.title,
            explanation=explanation,
            evidence=[c.ref for c in citations],
            time_utc=times[0] if times else None,
        )
    ]


def escalated_severity(rule: Rule, instants: list[datetime | None]) -> tuple[str, str]:
    """The rule's severity, raised when its escalation conditions hold (with the reason)."""
    spec = rule.escalate
    if not spec:
        return rule.severity, ""
    tz = ZoneInfo(spec.get("timezone", "UTC"))
    local = [t.astimezone(tz) for t in instants if t is not None]
    reasons = []
    conditions = spec.get("any_of", {})
    if "distinct_local_dates" in conditions:
        dates = sorted({t.date() for t in local})
        if len(dates) >= conditions["distinct_local_dates"]:
            reasons.append(f"positions on {len(dates)} different days ({', '.join(map(str, dates))})")
    if "local_hours_between" in conditions:
        start, end = (time.fromisoformat(x) for x in conditions["local_hours_between"])
        night = [t for t in local if _in_window(t.time(), start, end)]
        if night:
            reasons.append(
                f"{len(night)} position(s) between {start:%H:%M} and {end:%H:%M} local time ({tz.key})"
            )
    if not reasons:
        return rule.severity, ""
    return spec["severity"], f"Severity raised to {spec['severity']}: " + "; ".join(reasons) + "."


def _in_window(t: time, start: time, end: time) -> bool:
    return start <= t or t < end if start > end else start <= t < end


def fmt_latlon(lat: float, lon: float) -> str:
    return f"{abs(lat):.5f} {'N' if lat >= 0 else 'S'} {abs(lon):.5f} {'E' if lon >= 0 else 'W'}"
