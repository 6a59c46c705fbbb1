"""The rules engine: a pack's rules over the stored records, into Findings that explain themselves.

Scopes (rules/packs/*.yaml, `scope`):
- record: every record the rule reads that meets the condition is a hit; hits are grouped into one
  finding per thread (messages) or one per rule (positions);
- thread: messages of one conversation; each part of an `all_of` must be met by some message, all of
  them within `window_hours` of each other (co-occurrence in a thread:
  docs/domain/crossing_indicators.md "Lexicon");
- device: aggregate conditions over all records (`sequence` of positions, composites over `rules`).
`counterparts: {min: N, within_hours: H}` asks for hits sent to N distinct counterparts within H hours.

Guardrails applied here for every rule: a facilitation rule whose evidence the user only *received* is
capped at the rule's `received_severity` (received ≠ authored); every explanation ends by saying the
finding is an indicator for review; protected characteristics are refused when the pack is loaded.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from rules import aggregates, word_escalation
from rules.candidates import READS, load_candidates, load_candidates_from_store, thread_key
from rules.distinct import alternatives, distinct_met, distinct_reasons
from rules.entities import entities, model_name
from rules.group_role import role_reasons
from rules.pack import DEFAULT_PACK, SEVERITIES, Rule, RulePack, load_pack
from rules.primitives import Context, fmt_latlon, in_window, match, message_of, needs, record_time
from rules.watchlist import Watchlists
from rules.zones import Placement, Zone, ZoneSet
from triage.enrich.citation import Citation
from triage.model.records import Account, Base, Device, Finding, Location, Message, Payment

if TYPE_CHECKING:
    from triage.enrich.text_scan import MessageTextScan
    from triage.store import CaseStore

__all__ = [
    "DEFAULT_PACK",
    "RulePack",
    "load_pack",
    "evaluate",
    "geofence_hits",
    "escalated_severity",
    "fmt_latlon",
    "INDICATOR_NOTE",
    "READS",
    "thread_key",
]

INDICATOR_NOTE = "This is an indicator for the examiner to assess, not a conclusion."
MAX_CITED_IN_TEXT = 5
NO_TIME = datetime.min.replace(tzinfo=UTC)

RecordReader = Callable[[type[Base]], Iterable[Base]]
Describer = Callable[[Base], Citation]


@dataclass
class Hit:
    """Records that together meet a rule, with the notes that say why."""

    records: list[Base]
    notes: dict[int, list[str]] = field(default_factory=dict)  # index in records -> notes


def evaluate(
    pack: RulePack,
    read: RecordReader,
    describe: Describer,
    watchlists: Watchlists | None = None,
    *,
    store: CaseStore | None = None,
    scan: MessageTextScan | None = None,
) -> list[Finding]:
    """Every rule of the pack, in pack order (composites see the findings of the rules before them).

    `read(cls)` gives the records of a type. With the case store they come from (`store`), only the
    records some rule could use are read whole (rules/candidates.py), reusing the run's scan of the
    message text when given; the findings are the same either way."""
    payments = list(read(Payment))  # payments are few next to messages, and every message rule asks for them
    ctx = Context(pack.zones, pack.lexicon, watchlists or Watchlists(), _payments_by_message(payments))
    ctx.read, ctx.store = read, store  # the catalogue rules that count over the whole case (rules/aggregates.py)
    if store is not None:
        records = load_candidates_from_store(pack, store, ctx, payments, scan)
    else:
        records = load_candidates(pack, read, ctx, payments)
    records.update(phone_records(pack, read))  # PHN-01/02: the phone's SIM, app and account records
    findings: list[Finding] = []
    fired: dict[str, list[Finding]] = {}
    for rule in pack.rules:
        produced = _evaluate_rule(rule, records, ctx, describe, fired)
        fired[rule.id] = produced
        findings.extend(produced)
    findings.extend(_context_findings(read, describe, store, scan.context_mentions if scan else None))
    return findings


def _payments_by_message(payments: list[Base]) -> dict[int, list[Payment]]:
    by_message: dict[int, list[Payment]] = defaultdict(list)
    for p in payments:
        assert isinstance(p, Payment)  # read(Payment) gives payments only
        source = (p.extra or {}).get("source") or {}
        if source.get("type") == "message" and source.get("id") is not None:
            by_message[int(source["id"])].append(p)
    return by_message


def _evaluate_rule(
    rule: Rule, records: dict[str, list[Base]], ctx: Context, describe: Describer, fired: dict[str, list[Finding]]
) -> list[Finding]:
    if "rules" in rule.condition:
        return _composite(rule, fired)
    reads = tuple(rule.reads)
    if reads not in ctx.pools:  # built once per set of record types, already in time order
        ctx.pools[reads] = sorted(
            (r for name in reads for r in records.get(name, [])),
            key=lambda r: (record_time(r) is None, record_time(r) or NO_TIME, r.id),
        )
    pool = ctx.pools[reads]
    if aggregates.either_order(rule):
        hits = []  # a sequence in either order: made by rules/aggregates.py below
    elif "sequence" in rule.condition:
        hits = _sequence_hits(rule, pool, ctx)
    elif rule.scope == "thread":
        hits = _thread_hits(rule, pool, ctx)
    else:
        hits = _record_hits(rule, pool, ctx)
    if "counterparts" in rule.condition:
        hits = _enough_counterparts(rule.condition["counterparts"], hits)
    if "span" in rule.condition:
        hits = [h for h in hits if _span_hours(h) >= rule.condition["span"].get("min_hours", 0)]
    if "distinct" in rule.condition:
        hits = _distinct_hits(rule.condition["distinct"], hits)
    if aggregates.applies(rule):  # the catalogue rules' aggregates (issue 18 item 4)
        groups = aggregates.apply(rule, [(h.records, h.notes) for h in hits], pool, ctx, fired)
        hits = [Hit(records, notes) for records, notes in groups]
    produced = [_with_cited_basis(_finding(rule, hit, describe), rule, hit, ctx) for hit in hits]
    aggregates.raise_with_context(rule, [(h.records, h.notes) for h in hits], produced, ctx, fired, INDICATOR_NOTE)
    word_escalation.raise_with_words(rule, [h.records for h in hits], produced, ctx, INDICATOR_NOTE)
    return produced


# -- scopes ----------------------------------------------------------------------------------------
def _prefilter(condition: dict[str, Any], pool: list[Base], ctx: Context) -> list[Base]:
    """Only records that can meet `condition` (a rule's, or one part of a thread rule's): most messages
    carry no crossing word and no payment, and an empty watch-list matches nothing."""
    if needs(condition, "lexicon"):
        pool = [r for r in pool if ctx.lexicon_hits(r)]
    if needs(condition, "payment"):
        pool = [r for r in pool if isinstance(r, Payment) or ctx.payments_by_message.get(r.id)]
    if needs(condition, "watchlist") and not ctx.watchlists.entries:
        pool = []
    return pool


def _pool_prefilter(condition: dict[str, Any], pool: list[Base], ctx: Context) -> list[Base]:
    """`_prefilter` of a whole pool, made once per pool and kind of condition: a dozen rules read the
    messages, and most of them need crossing words."""
    kind = (id(pool), *(needs(condition, p) for p in ("lexicon", "payment", "watchlist")))
    if kind not in ctx.prefiltered:  # (pools live as long as ctx, so their id() stays theirs)
        ctx.prefiltered[kind] = _prefilter(condition, pool, ctx)
    return ctx.prefiltered[kind]


def _record_hits(rule: Rule, pool: list[Base], ctx: Context) -> list[Hit]:
    pool = _pool_prefilter(rule.condition, pool, ctx)
    matched = [(r, notes) for r in pool if (notes := match(rule.condition, r, ctx)) is not None]
    if not matched:
        return []
    if all(isinstance(r, Location) for r, _ in matched):
        return [Hit([r for r, _ in matched], {i: n for i, (_, n) in enumerate(matched)})]
    groups: dict[str, list[tuple[Base, list[str]]]] = defaultdict(list)
    for r, notes in matched:
        groups[thread_key(r)].append((r, notes))
    return [Hit([r for r, _ in g], {i: n for i, (_, n) in enumerate(g)}) for _, g in sorted(groups.items())]


def _thread_hits(rule: Rule, pool: list[Base], ctx: Context) -> list[Hit]:
    parts = rule.condition.get("all_of") or [rule.condition]
    window = timedelta(hours=rule.window_hours or 48)
    # a thread can only qualify when it holds a message with crossing words (when a part needs them)
    keep = ctx.threads_with_hits(pool, thread_key) if any(needs(p, "lexicon") for p in parts) else None
    by_thread = _threads_of(pool, ctx)
    hits = []
    for key in sorted(by_thread):
        if keep is not None and key not in keep:
            continue
        messages = by_thread[key]  # in time order
        per_part = [
            [(m, n) for m in _prefilter(part, tried, ctx) if (n := match(part, m, ctx)) is not None]
            for part in parts
            for tried in (_part_pool(part, messages, (id(pool), key), ctx),)
        ]
        if any(not found for found in per_part):
            continue
        chosen = _within_window(per_part, window)
        if chosen:
            unique: dict[int, tuple[Base, list[str]]] = {}
            for m, notes in chosen:
                unique.setdefault(m.id, (m, []))[1].extend(notes)
            ordered = sorted(unique.values(), key=lambda x: x[0].id)
            hits.append(Hit([m for m, _ in ordered], {i: n for i, (_, n) in enumerate(ordered)}))
    return hits


def _threads_of(pool: list[Base], ctx: Context) -> dict[str, list[Base]]:
    """The pool's records by thread, each in time order (the pool's): grouped once per pool for every thread
    rule that reads it, not once per rule."""
    found = ctx.pool_threads.get(id(pool))
    if found is None:
        grouped: dict[str, list[Base]] = defaultdict(list)
        for r in pool:
            grouped[thread_key(r)].append(r)
        found = ctx.pool_threads[id(pool)] = dict(grouped)
    return found


def _part_pool(part: dict[str, Any], messages: list[Base], thread: tuple[int, str], ctx: Context) -> list[Base]:
    """The thread's messages a part is tried on: for a part that needs crossing words, only those holding
    some (found once per pool and thread, shared by every thread rule, not once per rule and part)."""
    if not needs(part, "lexicon"):
        return messages
    found = ctx.thread_word_members.get(thread)
    if found is None:
        found = ctx.thread_word_members[thread] = [m for m in messages if ctx.lexicon_hits(m)]
    return found


def _within_window(
    per_part: list[list[tuple[Base, list[str]]]], window: timedelta
) -> list[tuple[Base, list[str]]] | None:
    """One match per part, all within `window` of the earliest (records without a time are not placed)."""
    timed = [[(m, n, t) for m, n in part if (t := record_time(m)) is not None] for part in per_part]
    if any(not part for part in timed):
        return None
    times = [[t for _, _, t in part] for part in timed]
    for anchor in sorted(t for part in times for t in part):
        chosen = []
        for part, part_times in zip(timed, times, strict=True):
            i = bisect_left(part_times, anchor)
            j = bisect_right(part_times, anchor + window)
            if i >= j:
                break
            # the user's own record when one meets the part in the window: a received one alone would cap
            # the finding as received-only although the user wrote the same thing minutes later
            m, n, _ = next(
                (x for x in part[i:j] if getattr(message_of(x[0]), "direction", None) == "outgoing"), part[i]
            )
            chosen.append((m, n))
        else:
            return chosen
    return None


def _sequence_hits(rule: Rule, pool: list[Base], ctx: Context) -> list[Hit]:
    spec = rule.condition["sequence"]
    within = timedelta(hours=spec.get("within_hours", 6))
    at_least = timedelta(hours=spec.get("min_hours", 0))
    timed = sorted(((r, t) for r in pool if (t := record_time(r)) is not None), key=lambda x: (x[1], x[0].id))
    firsts = [(r, t, n) for r, t in timed if (n := match(spec["first"], r, ctx)) is not None]
    thens = [(r, t, n) for r, t in timed if (n := match(spec["then"], r, ctx)) is not None]
    pairs: list[tuple[tuple[Base, datetime, list[str]], tuple[Base, datetime, list[str]]]] = []
    for first in firsts:
        for then in thens:
            delta = then[1] - first[1]
            if then[0].id != first[0].id and timedelta(0) < delta <= within and delta >= at_least:
                pairs.append((first, then))
    if not pairs:
        return []
    unique: dict[tuple[str, int], tuple[Base, datetime, list[str]]] = {}
    for first, then in pairs:
        unique.setdefault((first[0].record_type, first[0].id), first)
        unique.setdefault((then[0].record_type, then[0].id), then)
    ordered = sorted(unique.values(), key=lambda x: (x[1], x[0].id))
    return [Hit([r for r, _, _ in ordered], {i: n for i, (_, _, n) in enumerate(ordered)})]


def _enough_counterparts(spec: dict[str, Any], hits: list[Hit]) -> list[Hit]:
    """Keep the hits only when, together, they reach `min` distinct counterparts within `within_hours`."""
    records = sorted(((r, t) for h in hits for r in h.records if (t := record_time(r))), key=lambda x: x[1])
    window = timedelta(hours=spec.get("within_hours", 24 * 365 * 100))
    for i, (_, first) in enumerate(records):
        group = [r for r, t in records[i:] if t - first <= window]
        if len({getattr(message_of(r), "counterpart", None) for r in group} - {None}) >= spec.get("min", 1):
            notes: dict[int, list[str]] = {k: [] for k in range(len(group))}
            return [Hit(group, notes)]
    return []


def _span_hours(hit: Hit) -> float:
    times = sorted(t for t in (record_time(r) for r in hit.records) if t is not None)
    return (times[-1] - times[0]).total_seconds() / 3600 if times else 0.0


def _composite(rule: Rule, fired: dict[str, list[Finding]]) -> list[Finding]:
    spec = rule.condition["rules"]
    floor = SEVERITIES.index(spec.get("min_severity", "LOW"))
    used = [
        f
        for rid in spec.get("any_of", [])
        for f in fired.get(rid, [])
        if f.severity in SEVERITIES[:4] and SEVERITIES.index(f.severity) >= floor
    ]
    families = sorted({f.family for f in used})
    rule_ids = {f.rule_id for f in used}
    if len(families) < spec.get("min_families", 1) or len(rule_ids) < spec.get("min_rules", 1):
        return []
    if spec.get("require_any") and not rule_ids & set(spec["require_any"]):
        return []
    evidence = [ref for f in used for ref in f.evidence]
    lines = list(dict.fromkeys(f"{f.rule_id} ({f.severity}, {f.family}): {f.title}" for f in used))
    explanation = (
        f"Indicators from {len(families)} independent families ({', '.join(families)}) point the "
        f"same way: " + "; ".join(lines) + ". " + rule.rationale.strip() + " " + INDICATOR_NOTE
    )
    times = sorted(f.time_utc for f in used if f.time_utc)
    return [
        Finding(
            rule_id=rule.id,
            rule_version=rule.version,
            severity=rule.severity,
            title=rule.title,
            explanation=explanation,
            evidence=evidence,
            time_utc=times[0] if times else None,
            family=rule.family,
            extra={"based_on": [f"{f.rule_id}#{i}" for i, f in enumerate(used)]},
        )
    ]


# -- findings --------------------------------------------------------------------------------------
def _finding(rule: Rule, hit: Hit, describe: Describer) -> Finding:
    citations = [describe(r) for r in hit.records]
    severity, adjustments = _severity(rule, hit.records)
    lines, machine_notes = [], []
    for i, (c, r) in enumerate(zip(citations, hit.records, strict=True)):
        if i == MAX_CITED_IN_TEXT:
            lines.append(f"… and {len(citations) - MAX_CITED_IN_TEXT} more (all listed as evidence).")
            break
        notes = "; ".join(hit.notes.get(i, []))
        lines.append(f"{c.text}{': ' + notes if notes else ''}.")
        machine_notes.extend(_named(r, c.ref))
    explanation = " ".join(
        [f"{rule.title}: {len(hit.records)} record(s)."]
        + lines
        + adjustments
        + [rule.rationale.strip(), INDICATOR_NOTE]
    )
    times = sorted(t for t in (record_time(r) for r in hit.records) if t is not None)
    extra: dict[str, Any] = {"role_hint": rule.role_hint}
    if machine_notes:  # kept apart from the explanation: machine output, not evidential text (issue 15 item 5)
        extra["machine_notes"] = machine_notes
    if any("received" in a for a in adjustments):
        extra["received_only"] = True
    return Finding(
        rule_id=rule.id,
        rule_version=rule.version,
        severity=severity,
        title=rule.title,
        explanation=explanation,
        evidence=[c.ref for c in citations],
        time_utc=times[0] if times else None,
        family=rule.family,
        extra=extra,
    )


def _named(record: Base, ref: dict[str, Any]) -> list[dict[str, Any]]:
    """Optional NER note for a cited message: what a model read as names in its text, with the model and
    the record it read. Machine output for review, kept out of the explanation and the schedules; it never
    affects firing or severity."""
    if not isinstance(record, Message):
        return []
    found = entities(record.body)
    if not found:
        return []
    return [
        {
            "record": {"type": ref.get("type"), "id": ref.get("id")},
            "model": _model_label(),
            "entities": [{"text": text, "label": label} for text, label in found],
        }
    ]


@lru_cache(maxsize=1)
def _model_label() -> str | None:
    return model_name()  # (spaCy builds its `meta` anew on each read: once per run, not once per cited message)


def _severity(rule: Rule, records: list[Base]) -> tuple[str, list[str]]:
    severity, notes = escalated_severity(rule, [record_time(r) for r in records], records)
    messages = [m for m in (message_of(r) for r in records) if isinstance(m, Message)]
    if rule.facilitation and messages and all(m.direction == "incoming" for m in messages):
        capped = rule.received_severity
        if SEVERITIES.index(capped) < SEVERITIES.index(severity):
            notes = [
                f"The device user only received this content: severity held at {capped} "
                f"(received content is not authored content)."
            ]
            severity = capped
    return severity, notes


def escalated_severity(
    rule: Rule, instants: list[datetime | None], records: list[Base] | None = None
) -> tuple[str, list[str]]:
    """The rule's severity, raised when its escalation conditions hold, and the reasons (one note, or none).

    `records` are needed only for conditions that look at the records themselves (distinct counterparts);
    the times alone decide the others."""
    spec = rule.escalate
    if not spec:
        return rule.severity, []
    reasons = escalation_reasons(spec, instants, records)
    if not reasons:
        return rule.severity, []
    return spec["severity"], [f"Severity raised to {spec['severity']}: " + "; ".join(reasons) + "."]


def escalation_reasons(spec: dict, instants: list[datetime | None], records: list[Base] | None) -> list[str]:
    """Which of the rule's `escalate.any_of` conditions hold, each said in words."""
    tz = ZoneInfo(spec.get("timezone", "UTC"))
    local = [t.astimezone(tz) for t in instants if t is not None]
    reasons = []
    conditions = spec.get("any_of", {})
    if "distinct_local_dates" in conditions:
        dates = sorted({t.date() for t in local})
        if len(dates) >= conditions["distinct_local_dates"]:
            reasons.append(f"records on {len(dates)} different days ({', '.join(map(str, dates))})")
    if "local_hours_between" in conditions:
        start, end = (time.fromisoformat(x) for x in conditions["local_hours_between"])
        night = [t for t in local if in_window(t.time(), start, end)]
        if night:
            reasons.append(f"{len(night)} record(s) between {start:%H:%M} and {end:%H:%M} local time ({tz.key})")
    if "sent_to_distinct_counterparts" in conditions and records is not None:
        sent = {m.counterpart for m in records if isinstance(m, Message) and m.direction == "outgoing"} - {None}
        if len(sent) >= conditions["sent_to_distinct_counterparts"]:
            reasons.append(f"sent by the device user to {len(sent)} different counterparts")
    if "distinct" in conditions and records is not None:  # PHN-01/02 (rules/distinct.py)
        reasons.extend(distinct_reasons(conditions["distinct"], records))
    if "own_role" in conditions and records is not None:  # APP-01: owner or admin of the group (rules/group_role.py)
        reasons.extend(role_reasons(conditions["own_role"], records))
    return reasons


# -- issue 18: what the assessment policy needs to know (docs/domain/assessment.md) ----------------
# Whose the cited records are (sent, received, the phone's own positions), whether money was received,
# which escalation conditions held, and the context findings (journalism, legal advice, humanitarian
# work, victim support: rules/context.py). Recorded in `extra`, never changing firing or severity.
TRANSFER_REFERENCES = ("mtcn", "moneygram")  # a transfer reference is given to the person who collects


MAX_GEOFENCE_DETAILS = 1000  # placements kept in a finding's extra; its explanation names every position


def _with_cited_basis(finding: Finding, rule: Rule, hit: Hit, ctx: Context) -> Finding:
    finding.extra = {**(finding.extra or {}), "cited": cited_basis(hit.records, ctx)}
    if geo := geofence_extra(rule, ctx.zones, hit.records[:MAX_GEOFENCE_DETAILS]):
        # each position's distance to the zone's edge and its uncertainty (docs/domain/crossing_indicators.md)
        finding.extra["geofence"] = geo
        if len(hit.records) > MAX_GEOFENCE_DETAILS:
            finding.extra["geofence_not_detailed"] = len(hit.records) - MAX_GEOFENCE_DETAILS
    if rule.escalate:
        instants = [record_time(r) for r in hit.records]
        held = [
            name
            for name, value in rule.escalate.get("any_of", {}).items()
            if escalation_reasons({**rule.escalate, "any_of": {name: value}}, instants, hit.records)
        ]
        if held:
            finding.extra["escalated_by"] = held
    return finding


def cited_basis(records: list[Base], ctx: Context) -> dict[str, int]:
    """Counts of the cited records by whose they are: messages the device user sent or received; the
    phone's own positions, positions the user sent, positions others sent; payments received or sent."""
    keys = ("sent", "received", "own_positions", "sent_positions", "received_positions")
    basis = dict.fromkeys((*keys, "payments_received", "payments_sent"), 0)
    for record in records:
        if isinstance(record, Location):
            direction = record.message.direction if record.message is not None else None
            where = {None: "own_positions", "outgoing": "sent_positions"}.get(direction, "received_positions")
            basis[where] += 1
        elif isinstance(record, Message):
            if record.direction in ("outgoing", "incoming"):
                basis["sent" if record.direction == "outgoing" else "received"] += 1
            for p in ctx.payments_by_message.get(record.id, []):
                _count_payment(basis, p.method, "received" if record.direction == "incoming" else "sent", p)
        elif isinstance(record, Payment):
            _count_payment(basis, record.method, record.direction, record)
    return basis


def _count_payment(basis: dict[str, int], method: str, direction: str | None, payment: Payment) -> None:
    """A payment app's own record says its direction; in message text only a money-transfer reference
    the user is given shows money coming to the user (a price or an account number does not)."""
    source = (payment.extra or {}).get("source") or {}
    from_text = source.get("type") == "message" and source.get("field", "body") == "body"
    if direction in ("received", "sent") and (not from_text or method in TRANSFER_REFERENCES):
        basis[f"payments_{direction}"] += 1


def _context_findings(
    read: RecordReader, describe: Describer, store: CaseStore | None, mentioning: set[int] | None
) -> list[Finding]:
    from rules.context import context_findings  # (the context data is loaded once per process)

    return context_findings(read, describe, store, mentioning=mentioning)


# -- PHN-01/02: SIM cards and messaging identities (rules/distinct.py) -------------------------------
PHONE_RECORDS: dict[str, type[Base]] = {"device": Device, "account": Account}


def phone_records(pack: RulePack, read: RecordReader) -> dict[str, list[Base]]:
    """The device and account records, whole, for the rules that read them: a phone has a handful (one per
    SIM, per system file, per registered account), so they are read in full, never filtered first."""
    wanted = sorted({name for rule in pack.rules for name in rule.reads if name in PHONE_RECORDS})
    return {name: list(read(PHONE_RECORDS[name])) for name in wanted}


def _distinct_hits(spec: Any, hits: list[Hit]) -> list[Hit]:
    """One hit of the records that count when some alternative of the `distinct` spec holds; what was
    counted is said first, in the first record's notes."""
    records = list({(r.record_type, r.id): r for h in hits for r in h.records}.values())
    notes: dict[int, list[str]] = {}
    summary: list[str] = []
    for alternative in alternatives(spec):
        met = distinct_met(alternative, records)
        if met is None:
            continue
        summary.extend(met[0])
        for index, said in met[1].items():
            notes.setdefault(index, []).extend(s for s in said if s not in notes.get(index, []))
    if not notes:
        return []
    chosen = sorted(notes)
    hit = Hit([records[i] for i in chosen], {k: notes[i] for k, i in enumerate(chosen)})
    hit.notes[0] = summary + hit.notes[0]
    return [hit]


# -- kept for callers of the first engine (GEO-01 tests, report) ---------------------------------
@dataclass
class GeofenceHit:
    """A position inside the zone a geofence asks for, with how sure that placement is: the distance to the
    zone's edge, the position's own uncertainty and the zone's source (rules/zones.py, the coast rule)."""

    record: Location
    zone: Zone
    distance_to_edge_m: float | None = None
    uncertainty_m: float | None = None  # the record's accuracy; None when it states none
    zone_source: str | None = None
    placement: Placement | None = None

    def describe(self) -> str:
        """Neutral words for a finding: the position, the zone, its source and precision, the distances."""
        where = f"at {fmt_latlon(self.record.latitude, self.record.longitude)}"
        return f"{where}, {self.placement.describe()}" if self.placement else f"{where}, inside '{self.zone.name}'"

    def as_extra(self) -> dict[str, Any]:
        """The machine-readable part, for a finding's `extra`."""
        return self.placement.as_dict() if self.placement else {"zone": self.zone.kind, "zone_name": self.zone.name}


def geofence_hits(rule: Rule, zones: ZoneSet, locations: Iterable[Location]) -> list[GeofenceHit]:
    """The locations the rule's `geofence` places in its zone: not when the fix is coarser than the rule's
    `max_accuracy_m`, not when it also lies in a zone it `exclude`s, and never in a `clear_of_edge` zone
    (the Channel waters) when within its uncertainty plus the coastline's precision of the coast."""
    spec = rule.condition["geofence"]
    limit = spec.get("max_accuracy_m")
    hits = []
    for loc in locations:
        if limit is not None and loc.accuracy_m is not None and loc.accuracy_m > limit:
            continue
        placed = [p for p in zones.place(loc.latitude, loc.longitude, spec["zone"], loc.accuracy_m) if p.counts]
        if not placed or any(
            zones.containing(loc.latitude, loc.longitude, x, loc.accuracy_m) for x in spec.get("exclude", [])
        ):
            continue
        first = placed[0]
        hits.append(
            GeofenceHit(loc, first.zone, first.distance_to_edge_m, first.uncertainty_m, first.zone.source, first)
        )
    return hits


def geofence_extra(rule: Rule, zones: ZoneSet, records: Iterable[Base]) -> list[dict[str, Any]]:
    """For a finding's `extra["geofence"]`: each cited position placed in a zone the rule's condition asks
    for, with `distance_to_edge_m`, `uncertainty_m` and `zone_source` (empty for rules without a geofence)."""
    kinds = sorted(set(_geofence_zones(rule.condition)))
    details = []
    for record in records:
        if not isinstance(record, Location):
            continue
        for kind in kinds:
            placed = [p for p in zones.place(record.latitude, record.longitude, kind, record.accuracy_m) if p.counts]
            if placed:
                details.append({"record": {"type": "location", "id": record.id}, **placed[0].as_dict()})
    return details


def _geofence_zones(condition: Any) -> Iterable[str]:  # noqa: ANN401 - any part of a rule's condition
    """The zone kinds of every `geofence` in a condition, however deeply nested (any_of, sequence…)."""
    if isinstance(condition, dict):
        for key, value in condition.items():
            if key == "geofence" and isinstance(value, dict) and "zone" in value:
                yield value["zone"]
            else:
                yield from _geofence_zones(value)
    elif isinstance(condition, list):
        for part in condition:
            yield from _geofence_zones(part)
