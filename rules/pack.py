"""Rule packs as data: loading, validation and the guardrails that no rule may break.

A pack (YAML under rules/packs/) names its data files (zones GeoJSON, lexicon YAML); their SHA-256
go into every report with the pack's own. Loading refuses a pack that would score on a protected
characteristic (nationality, ethnicity, religion, language): that guardrail is enforced here, by the
engine, not left to convention.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rules.lexicon import Lexicon
from rules.yaml_data import load_yaml
from rules.zones import ZoneSet

PACKS_DIR = Path(__file__).parent / "packs"
DEFAULT_PACK = PACKS_DIR / "channel_crossing.yaml"
SEVERITIES = ("INFO", "LOW", "MEDIUM", "HIGH", "SAFEGUARDING", "DISCLOSURE")
SCORED = ("LOW", "MEDIUM", "HIGH")
FLAGS = ("SAFEGUARDING", "DISCLOSURE")  # never scored, always surfaced
FAMILIES = ("geo", "comms", "payments", "phones", "media", "apps", "composite", "safeguarding")
PRIMITIVES = {
    "geofence",
    "lexicon",
    "direction",
    "payment",
    "watchlist",
    "local_hours",
    "from_media",
    "own_position",
    "known_media",
    "all_of",
    "any_of",
    "rules",
    "sequence",
    "counterparts",
    "span",
    "distinct",  # PHN-01/02: different SIM cards, countries, messaging accounts (rules/distinct.py)
}
# the catalogue rules' primitives (issue 18 item 4): record-level in rules/primitives.py, aggregates in
# rules/aggregates.py
PRIMITIVES |= {"links", "ledger"}
PRIMITIVES |= {"nights", "crossings", "senders", "number_churn", "media_spread", "hub", "per_device"}
PRIMITIVES |= {"group_lexicon", "group_role"}  # APP-01: rules/group_role.py
PROTECTED = ("nationality", "ethnicity", "ethnic", "religion", "language", "race")


class RulePackError(ValueError):
    pass


@dataclass
class Rule:
    id: str
    version: str
    title: str
    severity: str
    reads: list[str]
    condition: dict[str, Any]
    family: str = "comms"
    role_hint: str = ""
    scope: str = "record"  # record | thread | device
    window_hours: float | None = None
    facilitation: bool = False  # sender-side indicator: received-only content is capped
    received_severity: str = "LOW"
    escalate: dict[str, Any] | None = None
    rationale: str = ""
    innocent: list[str] = field(default_factory=list)  # innocent explanations, printed in the statement's annex
    sources: list[str] = field(default_factory=list)
    examples: dict[str, list[Any]] = field(default_factory=dict)


@dataclass
class RulePack:
    name: str
    version: str
    path: Path
    sha256: str
    rules: list[Rule]
    zones: ZoneSet
    lexicon: Lexicon

    def identity(self) -> dict[str, Any]:
        """Versions and hashes that go into every report (repeatability)."""
        return {
            "pack": self.name,
            "version": self.version,
            "file": self.path.name,
            "sha256": self.sha256,
            "data": {self.zones.path.name: self.zones.sha256, self.lexicon.path.name: self.lexicon.sha256},
            "lexicon": self.lexicon.identity(),
            "rules": {r.id: r.version for r in self.rules},
        }

    def rule(self, rule_id: str) -> Rule:
        return next(r for r in self.rules if r.id == rule_id)


def load_pack(path: Path = DEFAULT_PACK) -> RulePack:
    raw = path.read_bytes()
    doc = load_yaml(raw)
    rules = [Rule(**r) for r in doc["rules"]]
    zones = ZoneSet.load((path.parent / doc["data"]["zones"]).resolve())
    lexicon = Lexicon((path.parent / doc["data"]["lexicon"]).resolve())
    pack = RulePack(doc["pack"], str(doc["version"]), path, hashlib.sha256(raw).hexdigest(), rules, zones, lexicon)
    validate(pack)
    return pack


def validate(pack: RulePack) -> None:
    ids = [r.id for r in pack.rules]
    if len(ids) != len(set(ids)):
        raise RulePackError(f"{pack.path.name}: duplicate rule ids")
    for position, rule in enumerate(pack.rules):
        where = f"{pack.path.name}: rule {rule.id}"
        if rule.severity not in SEVERITIES:
            raise RulePackError(f"{where}: unknown severity {rule.severity!r}")
        if rule.family not in FAMILIES:
            raise RulePackError(f"{where}: unknown family {rule.family!r}")
        _check_condition(rule.condition, where, pack, ids[:position])
        _check_protected(rule.condition, where)


def _check_condition(condition: Any, where: str, pack: RulePack, earlier: list[str]) -> None:
    if not isinstance(condition, dict):
        raise RulePackError(f"{where}: a condition must be a mapping, got {condition!r}")
    for key, spec in condition.items():
        if key not in PRIMITIVES:
            raise RulePackError(f"{where}: unknown primitive {key!r} (known: {', '.join(sorted(PRIMITIVES))})")
        if key in ("all_of", "any_of"):
            for part in spec:
                _check_condition(part, where, pack, earlier)
        elif key == "sequence":
            _check_condition(spec["first"], where, pack, earlier)
            _check_condition(spec["then"], where, pack, earlier)
        elif key == "lexicon":
            unknown = set(spec.get("concepts", [])) - set(pack.lexicon.concepts)
            if unknown:
                raise RulePackError(f"{where}: lexicon concepts not in {pack.lexicon.path.name}: {sorted(unknown)}")
        elif key == "rules":
            later = (set(spec.get("any_of", [])) | set(spec.get("require_any", []))) - set(earlier)
            if later:
                raise RulePackError(f"{where}: composite uses rules defined after it or unknown: {sorted(later)}")


def _check_protected(condition: Any, where: str) -> None:
    """Nationality, ethnicity, religion and language are never scoring inputs
    (docs/domain/rule_catalogue.md "Guardrails")."""
    if isinstance(condition, dict):
        for key, value in condition.items():
            if any(word in str(key).lower() for word in PROTECTED):
                raise RulePackError(f"{where}: '{key}' would score on a protected characteristic; not allowed")
            _check_protected(value, where)
    elif isinstance(condition, list):
        for value in condition:
            _check_protected(value, where)
