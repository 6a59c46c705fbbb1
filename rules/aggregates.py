"""The catalogue rules' aggregate primitives: conditions over many records at once (issue 18 item 4).

The engine (rules/engine.py) first finds the records that meet a rule's record-level condition (or the
threads that meet a thread rule); the aggregates below then decide whether those records, together, meet
the rule, and which of them the finding cites. What each rule means is in docs/domain/rule_catalogue.md:

- `nights` (GEO-05): positions on many distinct nights over a span, or in several launch areas at night;
- `crossings` (GEO-06): separate night launches from a beach followed, hours later, by the sea or England;
- `senders` (TXT-12): messages from many distinct senders;
- `number_churn` (TXT-13): a crossing thread whose counterpart gives new numbers, or whose contact name
  holds several numbers;
- `media_spread` (MED-02): the same media (by its hash) sent to many distinct recipients;
- `hub` (PHN-03): many counterparts first seen around the date of a crossing indicator;
- `per_device` (MED-04): every hit in one finding, so that recipients are counted across conversations.

Three rules read beyond their own hits (PHN-03, MED-02, TXT-13's contacts): they ask the case store in
SQL for a few columns, or stream the records when the rules run on records written as data; nothing
holds a record type in a list. `either_order` (GEO-08) and the escalations that look beyond one finding
(`escalate.with_rules`, `escalate.distinct_payers`) are here too.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Text, and_, cast, func, or_, select

from rules.candidates import thread_key
from rules.pack import SEVERITIES, Rule
from rules.primitives import Context, in_window, match, message_of, numbers_in, record_time
from triage.identifiers.phones import read_number
from triage.model.records import Base, Call, Contact, Finding, Location, Message

Group = tuple[list[Base], dict[int, list[str]]]  # records that together meet a rule, and notes by index
Aggregate = Callable[[dict[str, Any], list[Group], list[Base], Context, dict[str, list[Finding]]], list[Group]]
MEDIA_HASH_KEYS = ("file_hash", "hash", "media_hash", "sha256")  # as the message parsers keep them
COUNTERPART_BATCH = 400


def apply(
    rule: Rule, groups: list[Group], pool: list[Base], ctx: Context, fired: dict[str, list[Finding]]
) -> list[Group]:
    """The rule's catalogue aggregates, in the order written, over the groups the engine found."""
    if either_order(rule):
        groups = _either_order_groups(rule.condition["sequence"], pool, ctx)
    for key, spec in rule.condition.items():
        if key in AGGREGATE_FUNCTIONS:
            groups = AGGREGATE_FUNCTIONS[key](spec, groups, pool, ctx, fired)
    return groups


def applies(rule: Rule) -> bool:
    return either_order(rule) or any(key in AGGREGATE_FUNCTIONS for key in rule.condition)


def either_order(rule: Rule) -> bool:
    return bool((rule.condition.get("sequence") or {}).get("either_order"))


def _records(groups: list[Group]) -> list[Base]:
    seen: dict[tuple[str, int], Base] = {}
    for records, _ in groups:
        for r in records:
            seen.setdefault((r.record_type, r.id), r)
    return sorted(seen.values(), key=lambda r: (record_time(r) or datetime.min.replace(tzinfo=UTC), r.id))


def _group(records: list[Base], notes: dict[int, list[str]] | None = None) -> Group:
    return records, {i: (notes or {}).get(i, []) for i in range(len(records))}


# -- GEO-08: two kinds of record close in time, in either order ---------------------------------------
def _either_order_groups(spec: dict[str, Any], pool: list[Base], ctx: Context) -> list[Group]:
    """`sequence` with `either_order: true`: a `first` record and a `then` record within `within_hours` of
    each other, whichever came first (a visit to a storage area and talk of engines, GEO-08)."""
    within = timedelta(hours=spec.get("within_hours", 6))
    timed = [(r, t) for r in pool if (t := record_time(r)) is not None]
    firsts = [(r, t, n) for r, t in timed if (n := match(spec["first"], r, ctx)) is not None]
    if not firsts:  # most phones never go near a storage area: no need to read the messages' words
        return []
    thens = sorted(((r, t, n) for r, t in timed if (n := match(spec["then"], r, ctx)) is not None), key=lambda x: x[1])
    then_times = [t for _, t, _ in thens]
    chosen: dict[tuple[str, int], tuple[Base, datetime, list[str]]] = {}
    for first in firsts:  # the `then` records within the window around each `first` (bisect: no n×m scan)
        near = thens[bisect_left(then_times, first[1] - within) : bisect_right(then_times, first[1] + within)]
        for then in near:
            if (first[0].record_type, first[0].id) != (then[0].record_type, then[0].id):
                chosen.setdefault((first[0].record_type, first[0].id), first)
                chosen.setdefault((then[0].record_type, then[0].id), then)
    if not chosen:
        return []
    ordered = sorted(chosen.values(), key=lambda x: (x[1], x[0].record_type, x[0].id))
    return [_group([r for r, _, _ in ordered], {i: n for i, (_, _, n) in enumerate(ordered)})]


# -- GEO-05: repeated nights on the launch beaches ----------------------------------------------------
def _nights(spec: dict[str, Any], groups: list[Group], pool: list[Base], ctx: Context, fired: Any) -> list[Group]:
    """Night-time positions (local `between`) on `min_nights` distinct nights spread over `min_days`, or in
    `min_places` distinct areas of `zone`. A night is named by the evening it began."""
    tz = ZoneInfo(spec.get("timezone", "Europe/Paris"))
    start, end = (time.fromisoformat(x) for x in spec.get("between", ["22:00", "08:00"]))
    nights: dict[str, list[Base]] = defaultdict(list)
    places: dict[str, list[Base]] = defaultdict(list)
    for r in _records(groups):
        when = record_time(r)
        if when is None or not isinstance(r, Location) or not in_window(when.astimezone(tz).time(), start, end):
            continue
        night = (when.astimezone(tz) - timedelta(hours=12)).date().isoformat()
        nights[night].append(r)
        zones = ctx.zones.containing(r.latitude, r.longitude, spec.get("zone", "embarkation"))
        if zones:
            places[zones[0].name].append(r)
    dates = sorted(nights)
    days = (datetime.fromisoformat(dates[-1]) - datetime.fromisoformat(dates[0])).days if dates else 0
    reasons = []
    if len(dates) >= spec.get("min_nights", 5) and days >= spec.get("min_days", 14):
        reasons.append(f"night-time positions on {len(dates)} distinct nights over {days} days ({', '.join(dates)})")
    if len(places) >= spec.get("min_places", 3):
        reasons.append(f"night-time positions in {len(places)} distinct launch areas ({'; '.join(sorted(places))})")
    if not reasons:
        return []
    cited = sorted({(r.record_type, r.id): r for rs in nights.values() for r in rs}.values(), key=_time_key)
    notes = {i: [f"the night of {_night_of(r, tz)} (local time {tz.key})"] for i, r in enumerate(cited)}
    notes[0] = [*reasons, *notes[0]]
    return [_group(cited, notes)]


def _night_of(record: Base, tz: ZoneInfo) -> str:
    when = record_time(record)
    return (when.astimezone(tz) - timedelta(hours=12)).date().isoformat() if when else "?"


def _time_key(record: Base) -> tuple[datetime, str, int]:
    return record_time(record) or datetime.min.replace(tzinfo=UTC), record.record_type, record.id


# -- GEO-06: several crossings ------------------------------------------------------------------------
def _crossings(spec: dict[str, Any], groups: list[Group], pool: list[Base], ctx: Context, fired: Any) -> list[Group]:
    """Separate crossings: a night-time position on a launch beach followed, `min_hours`–`within_hours`
    later, by a position at sea or at an English landing point; one per night, `min` nights or more.
    The last beach position before the sea counts, so a ferry (in port, then 90 minutes to England) and a
    walk on the beach the day before do not make a crossing."""
    tz = ZoneInfo(spec.get("timezone", "Europe/Paris"))
    start, end = (time.fromisoformat(x) for x in spec.get("night", ["20:00", "10:00"]))
    low, high = timedelta(hours=spec.get("min_hours", 3)), timedelta(hours=spec.get("within_hours", 12))
    crossings: dict[str, tuple[Location, Location, timedelta, str]] = {}
    launch: Location | None = None
    for r in _records(groups):
        when = record_time(r)
        if not isinstance(r, Location) or when is None:
            continue
        where = _crossing_place(r, ctx)
        if where == "embarkation":
            launch = r if in_window(when.astimezone(tz).time(), start, end) else None
        elif where and launch is not None and launch.time_utc is not None:
            gap = when - launch.time_utc
            night = _night_of(launch, tz)
            if low <= gap <= high and night not in crossings:
                crossings[night] = (launch, r, gap, where)
                launch = None
    if len(crossings) < spec.get("min", 2):
        return []
    cited: list[Base] = []
    notes: dict[int, list[str]] = {}
    for n, (night, (beach, after, gap, where)) in enumerate(sorted(crossings.items()), start=1):
        notes[len(cited)] = [f"crossing {n}: launch-beach position at night ({night}, local time {tz.key})"]
        cited.append(beach)
        notes[len(cited)] = [f"crossing {n}: {where} {gap.total_seconds() / 3600:.1f} hours later"]
        cited.append(after)
    notes[0].insert(0, f"{len(crossings)} separate crossings on different nights")
    return [_group(cited, notes)]


def _crossing_place(record: Location, ctx: Context) -> str | None:
    lat, lon = record.latitude, record.longitude
    if ctx.zones.containing(lat, lon, "embarkation"):
        return "embarkation"
    if ctx.zones.containing(lat, lon, "uk_landing"):
        return "at an English landing point"
    if ctx.zones.containing(lat, lon, "channel_waters"):
        return "at sea"
    return None


# -- MED-04: one finding for the whole device ---------------------------------------------------------
def _per_device(spec: Any, groups: list[Group], pool: list[Base], ctx: Context, fired: Any) -> list[Group]:
    """All the rule's hits as one finding, each record with its own notes, so that an escalation counts
    recipients across conversations (a forecast sent to three people in three chats)."""
    if not spec or not groups:
        return groups
    ordered = _noted(groups)
    return [_group([r for r, _ in ordered], {i: n for i, (_, n) in enumerate(ordered)})]


def _noted(groups: list[Group]) -> list[tuple[Base, list[str]]]:
    """Every record of the groups once, in time order, with all the notes it was given."""
    noted: dict[tuple[str, int], tuple[Base, list[str]]] = {}
    for records, notes in groups:
        for i, r in enumerate(records):
            noted.setdefault((r.record_type, r.id), (r, []))[1].extend(notes.get(i, []))
    return sorted(noted.values(), key=lambda x: _time_key(x[0]))


# -- TXT-12: many distinct senders --------------------------------------------------------------------
def _senders(spec: dict[str, Any], groups: list[Group], pool: list[Base], ctx: Context, fired: Any) -> list[Group]:
    """At least `min` distinct senders (the author in a group, else the counterpart) within `within_hours`."""
    noted = [(r, n, t) for r, n in _noted(groups) if (t := record_time(r)) is not None]
    window = timedelta(hours=spec.get("within_hours", 24 * 30))
    counts: Counter[str] = Counter()
    start = 0
    for end, (record, _, when) in enumerate(noted):  # a sliding window: each record enters and leaves once
        if (sender := _sender(record)) is not None:
            counts[sender] += 1
        while when - noted[start][2] > window:
            if (gone := _sender(noted[start][0])) is not None:
                counts[gone] -= 1
                if not counts[gone]:
                    del counts[gone]
            start += 1
        if len(counts) >= spec.get("min", 5):
            group = noted[start : end + 1]
            notes = {k: list(n) for k, (_, n, _) in enumerate(group)}
            notes[0].insert(0, f"from {len(counts)} distinct senders")
            return [_group([r for r, _, _ in group], notes)]
    return []


def _sender(record: Base) -> str | None:
    message = message_of(record)
    if not isinstance(message, Message):
        return None
    return message.sender or (message.counterpart if message.direction == "incoming" else None)


# -- TXT-13: a crossing counterpart gives new numbers ------------------------------------------------
def _number_churn(spec: dict[str, Any], groups: list[Group], pool: list[Base], ctx: Context, fired: Any) -> list[Group]:
    """Threads (already found to hold crossing talk) whose counterpart gives `min` or more phone numbers other
    than its own (each message that gives one is cited), or whose number is saved under a contact name that
    holds `min_numbers_per_name` or more numbers (those contacts are cited)."""
    wanted = {thread_key(records[0]) for records, _ in groups if records}
    givers: dict[str, list[tuple[Message, list[str]]]] = defaultdict(list)
    for r in pool:
        if isinstance(r, Message) and r.direction == "incoming" and thread_key(r) in wanted:
            numbers = numbers_in(r.body, r.sender or r.counterpart)
            if numbers:
                givers[thread_key(r)].append((r, numbers))
    names = _NamesWithManyNumbers(ctx, spec.get("min_numbers_per_name", 3)) if groups else None
    out = []
    for records, notes in groups:
        key = thread_key(records[0])
        given = givers.get(key, [])
        numbers = list(dict.fromkeys(n for _, found in given for n in found))
        counterpart = getattr(records[0], "counterpart", None)
        saved = names.of(counterpart) if names is not None else []
        cited = list(records)
        merged = {i: list(n) for i, n in notes.items()}
        summary = []
        if len(numbers) >= spec.get("min", 2):
            summary.append(f"the counterpart gives {len(numbers)} other numbers")
            for message, found in given:
                if all((message.record_type, message.id) != (c.record_type, c.id) for c in cited):
                    merged[len(cited)] = [f"gives the number(s) {', '.join(found)}"]
                    cited.append(message)
        for name, contacts, count in saved:
            summary.append(f"the counterpart's number is saved under '{name}' with {count} numbers in all")
            for contact in contacts:
                merged[len(cited)] = [f"contact '{name}': {', '.join(map(str, contact.phone_numbers or []))}"]
                cited.append(contact)
        if summary:
            merged.setdefault(0, [])[:0] = summary
            out.append(_group(cited, merged))
    return out


class _NamesWithManyNumbers:
    """Contact names holding several numbers, found by one of their numbers (TXT-13's "three or more numbers
    under one name"). Contacts are few next to messages: read once, a few columns, in the store."""

    def __init__(self, ctx: Context, least: int) -> None:
        self.ctx, self.least = ctx, least
        self._names: dict[str, dict[int, Any]] = defaultdict(dict)  # name → contacts (id → row)
        self._by_number: dict[str, set[str]] = defaultdict(set)  # last nine digits → names
        if ctx.store is not None:
            from triage.store.rows import column_rows

            rows: Iterable[Any] = column_rows(ctx.store, Contact, ("id", "name", "phone_numbers"))
        else:
            rows = ctx.read(Contact) if ctx.read is not None else ()
        for row in rows:
            name = (row.name or "").strip()
            if not name:
                continue
            self._names[name.casefold()][row.id] = row
            for number in row.phone_numbers or []:
                if digits := _last_digits(number):
                    self._by_number[digits].add(name.casefold())

    def of(self, counterpart: str | None) -> list[tuple[str, list[Contact], int]]:
        """(name, its contact records, how many numbers) for each name holding `counterpart` and enough numbers."""
        found = []
        for key in sorted(self._by_number.get(_last_digits(counterpart) or "", set())):
            rows = list(self._names[key].values())
            numbers = {d for row in rows for n in row.phone_numbers or [] if (d := _last_digits(n))}
            if len(numbers) >= self.least:
                found.append((rows[0].name.strip(), self._records(rows), len(numbers)))
        return found

    def _records(self, rows: list[Any]) -> list[Contact]:
        if self.ctx.store is None:
            return [r for r in rows if isinstance(r, Contact)]
        from triage.store.rows import load_by_id

        return list(load_by_id(self.ctx.store, Contact, [r.id for r in rows]))


def _last_digits(number: str | None) -> str | None:
    """The last nine digits: the same number written nationally, internationally or as a WhatsApp JID."""
    digits = "".join(c for c in str(number or "").split("@")[0] if c.isdigit())
    return digits[-9:] if len(digits) >= 9 else None


# -- MED-02: the same media sent to many ---------------------------------------------------------------
def media_hash(record: Base) -> str | None:
    """The hash a messaging app keeps for a message's photo or video (WhatsApp keeps a SHA-256)."""
    media = (getattr(record, "extra", None) or {}).get("media")
    if not isinstance(media, dict):
        return None
    return next((str(media[k]) for k in MEDIA_HASH_KEYS if media.get(k)), None)


def _media_spread(spec: dict[str, Any], groups: list[Group], pool: list[Base], ctx: Context, fired: Any) -> list[Group]:
    """Media found by the rule's condition (a crossing caption) whose hash the user sent, in any message,
    to `min` or more distinct recipients."""
    seeds: dict[str, list[Base]] = defaultdict(list)
    for r in _records(groups):
        if (h := media_hash(r)) is not None:
            seeds[h].append(r)
    sent = _sent_with_media(ctx, set(seeds)) if seeds else {}
    out = []
    for digest, found in sorted(seeds.items()):
        recipients = sorted({m.counterpart for m in sent.get(digest, []) if m.counterpart})
        if len(recipients) < spec.get("min", 5):
            continue
        cited = sorted({(r.record_type, r.id): r for r in [*found, *sent[digest]]}.values(), key=_time_key)
        note = f"the same media (hash {digest[:16]}…) sent to {len(recipients)} distinct recipients"
        out.append(_group(cited, {0: [note]}))
    return out


def _sent_with_media(ctx: Context, digests: set[str]) -> dict[str, list[Message]]:
    """The user's sent messages whose media has one of these hashes, in one pass: in the store, the sent
    messages whose JSON holds a hash key (a superset, read a few columns at a time), then the exact check;
    a stream of the messages when the rules run on records written as data."""
    found: dict[str, list[Message]] = defaultdict(list)
    if ctx.store is not None:
        from triage.store.rows import column_rows, load_by_id

        text = cast(Message.extra, Text)
        where = and_(Message.direction == "outgoing", or_(text.contains("hash"), text.contains("sha256")))
        ids = [
            row.id
            for row in column_rows(ctx.store, Message, ("id", "extra"), where)
            if (h := media_hash(row)) is not None and h in digests
        ]
        candidates: Iterable[Base] = load_by_id(ctx.store, Message, ids)
    else:
        candidates = ctx.read(Message) if ctx.read is not None else ()
    for m in candidates:
        if isinstance(m, Message) and m.direction == "outgoing" and (h := media_hash(m)) in digests:
            found[h].append(m)
    return found


# -- PHN-03: many new counterparts around a crossing --------------------------------------------------
def _hub(
    spec: dict[str, Any], groups: list[Group], pool: list[Base], ctx: Context, fired: dict[str, list[Finding]]
) -> list[Group]:
    """Around each time a crossing indicator (`after_rules`) fired: at least `min` distinct counterparts
    first seen from `before_days` before it to `within_hours` after it, most of them with a country code
    outside `home` (counterparts that are not numbers, such as groups, are not counted)."""
    events = sorted({f.time_utc for rid in spec.get("after_rules", []) for f in fired.get(rid, []) if f.time_utc})
    if not events:
        return []
    first_seen = _first_seen(ctx)
    before, after = timedelta(days=spec.get("before_days", 7)), timedelta(hours=spec.get("within_hours", 72))
    home = set(spec.get("home", ["GB"]))
    for event in events:
        event = event if event.tzinfo else event.replace(tzinfo=UTC)
        new = {cp: t for cp, t in first_seen.items() if event - before <= t <= event + after}
        regions = {cp: _region(cp) for cp in new}
        numbers = {cp: region for cp, region in regions.items() if region is not None}
        foreign = [cp for cp, region in numbers.items() if region not in home]
        if len(numbers) >= spec.get("min", 15) and len(foreign) * 2 > len(numbers):
            cited = _first_records(ctx, sorted(numbers))
            note = (
                f"{len(numbers)} counterparts first seen between {before.days} days before and "
                f"{after.total_seconds() / 3600:g} hours after {event:%Y-%m-%d %H:%M} UTC (a crossing indicator), "
                f"{len(foreign)} of them with a country code outside {', '.join(sorted(home))}"
            )
            return [_group(cited, {0: [note]})] if cited else []
    return []


def _region(counterpart: str) -> str | None:
    reading = read_number(counterpart)
    if reading is None or reading.kind not in ("number", "whatsapp-jid"):
        return None
    return reading.region


def _first_seen(ctx: Context) -> dict[str, datetime]:
    """When each counterpart first appears in messages or calls: GROUP BY in the store, else a stream."""
    seen: dict[str, datetime] = {}

    def keep(counterpart: str | None, when: datetime | None) -> None:
        if counterpart and when is not None:
            when = when if when.tzinfo else when.replace(tzinfo=UTC)
            if counterpart not in seen or when < seen[counterpart]:
                seen[counterpart] = when

    for cls in (Message, Call):
        if ctx.store is not None:
            statement = select(cls.counterpart, func.min(cls.time_utc)).group_by(cls.counterpart)
            for counterpart, when in ctx.store.session.execute(statement):
                keep(counterpart, when)
        elif ctx.read is not None:
            for r in ctx.read(cls):
                keep(getattr(r, "counterpart", None), record_time(r))
    return seen


def _first_records(ctx: Context, counterparts: list[str]) -> list[Base]:
    """The first message or call of each counterpart (the record that first shows it). In the store: three
    columns of their records, then only the chosen records loaded whole."""
    first: dict[str, Any] = {}
    wanted = set(counterparts)

    def keep(r: Any) -> None:
        cp, when = getattr(r, "counterpart", None), record_time(r)
        if cp in wanted and when is not None and (cp not in first or _time_key(r) < _time_key(first[cp])):
            first[cp] = r

    for cls in (Message, Call):
        if ctx.store is not None:
            from triage.store.rows import column_rows

            for start in range(0, len(counterparts), COUNTERPART_BATCH):
                where = cls.counterpart.in_(counterparts[start : start + COUNTERPART_BATCH])
                for row in column_rows(ctx.store, cls, ("id", "counterpart", "time_utc"), where):
                    keep(row)
        elif ctx.read is not None:
            for r in ctx.read(cls):
                keep(r)
    if ctx.store is None:
        return sorted(first.values(), key=_time_key)
    from triage.store.rows import load_by_id

    records: list[Base] = []
    for cls in (Message, Call):
        records += load_by_id(ctx.store, cls, [r.id for r in first.values() if r.record_type == cls.record_type])
    return sorted(records, key=_time_key)


AGGREGATE_FUNCTIONS: dict[str, Aggregate] = {
    "nights": _nights,
    "crossings": _crossings,
    "senders": _senders,
    "number_churn": _number_churn,
    "media_spread": _media_spread,
    "hub": _hub,
    "per_device": _per_device,
}


# -- escalations that look beyond one finding --------------------------------------------------------
def raise_with_context(
    rule: Rule, groups: list[Group], produced: list[Finding], ctx: Context, fired: dict[str, list[Finding]], tail: str
) -> None:
    """Raise the rule's findings to `escalate.severity` when `escalate.with_rules` (HIGH findings of other
    rules, e.g. GEO-05 with TXT-04/05) or `escalate.distinct_payers` (receipts received from that many
    counterparts, PAY-03) hold. Received-only findings keep their cap. `tail` is the explanation's last
    sentence; the reason goes before it."""
    spec = rule.escalate or {}
    target = spec.get("severity")
    if not target or not produced:
        return
    reasons, held = [], []
    with_rules = [rid for rid in spec.get("with_rules", []) if any(f.severity == "HIGH" for f in fired.get(rid, []))]
    if with_rules:
        reasons.append(f"HIGH findings of {', '.join(with_rules)} on the same device")
        held.append("with_rules")
    if "distinct_payers" in spec:
        payers = {
            m.counterpart
            for records, _ in groups
            for m in records
            if isinstance(m, Message) and m.direction == "incoming" and ctx.payments_by_message.get(m.id)
        } - {None}
        if len(payers) >= spec["distinct_payers"]:
            reasons.append(f"payment details received from {len(payers)} distinct counterparts")
            held.append("distinct_payers")
    if not reasons:
        return
    note = f"Severity raised to {target}: " + "; ".join(reasons) + "."
    for finding in produced:
        if (finding.extra or {}).get("received_only") or SEVERITIES.index(finding.severity) >= SEVERITIES.index(target):
            continue
        finding.severity = target
        finding.explanation = finding.explanation.replace(tail, f"{note} {tail}")
        escalated = [*((finding.extra or {}).get("escalated_by") or []), *held]  # as the engine records its own
        finding.extra = {**(finding.extra or {}), "escalated_by": escalated}
