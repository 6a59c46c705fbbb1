"""Record-level primitives of the rule language: does one record meet one condition, and why.

Each primitive returns None (no match) or a list of plain-English notes naming what matched, so the
finding's explanation can say exactly why a rule fired. `Context` holds what the primitives look up:
zones, the lexicon (hits cached per message), payments by message and the watch-lists.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from rules.lexicon import CONFIDENCE_ORDER, Lexicon, LexiconHit
from rules.watchlist import Watchlists
from rules.zones import ZoneSet
from triage.identifiers.payment_ids import ascii_digits
from triage.model.records import Base, Location, MediaFile, Message, Payment

Notes = list[str]
AGGREGATES = ("counterparts", "rules", "sequence", "span", "distinct")  # applied by the engine over many records
# the catalogue rules' aggregates (issue 18 item 4), applied by rules/aggregates.py
CATALOGUE_AGGREGATES = ("nights", "crossings", "senders", "number_churn", "media_spread", "hub", "per_device")


@dataclass
class Context:
    zones: ZoneSet
    lexicon: Lexicon
    watchlists: Watchlists
    payments_by_message: dict[int, list[Payment]] = field(default_factory=dict)
    _lexicon_cache: dict[Any, list[LexiconHit]] = field(default_factory=dict)
    _lexicon_complete: set[str] = field(default_factory=set)  # record types whose stored hits are all cached
    _last_miss: tuple[Any, Any] | None = None  # (key, record) of the last record without hits

    pools: dict[tuple[str, ...], list[Base]] = field(default_factory=dict)  # records by the types a rule reads
    prefiltered: dict[tuple[Any, ...], list[Base]] = field(default_factory=dict)  # by id() of a pool and needs
    _threads_with_hits: dict[int, set[str]] = field(default_factory=dict)  # by id() of a pool in `pools`
    # a thread's records holding crossing words, by (id() of a pool in `pools`, thread key): engine._part_pool
    thread_word_members: dict[tuple[int, str], list[Base]] = field(default_factory=dict)
    # a pool's records by thread key, by id() of the pool: engine._threads_of
    pool_threads: dict[int, dict[str, list[Base]]] = field(default_factory=dict)
    # the whole case, for catalogue rules that count over every record (PHN-03, MED-02: rules/aggregates.py)
    read: Callable[[type[Base]], Iterable[Base]] | None = None
    store: Any = None  # the CaseStore when the rules run on one (counts in SQL); None for records as data

    def threads_with_hits(self, pool: list[Base], key: Any) -> set[str]:
        """Threads of `pool` holding at least one record with a lexicon hit (once per pool)."""
        if id(pool) not in self._threads_with_hits:
            self._threads_with_hits[id(pool)] = {key(r) for r in pool if self.lexicon_hits(r)}
        return self._threads_with_hits[id(pool)]

    def lexicon_hits(self, record: Base) -> list[LexiconHit]:
        # keyed by the stored id: the engine streams records and may read one again as a new object;
        # only non-empty results are kept, so the cache grows with the hits, not with the messages
        stored = getattr(record, "id", None) is not None
        key = (type(record).__name__, record.id) if stored else id(record)
        hits = self._lexicon_cache.get(key)
        if hits is None:
            if stored and type(record).__name__ in self._lexicon_complete:
                return []  # every stored record of its type was matched already: no entry, no hit
            if self._last_miss is not None and self._last_miss[1] is record and self._last_miss[0] == key:
                return []  # the rules ask about one record many times in a row: a miss is kept for the next ask
            hits = self.lexicon.match(text_of(record))
            if hits:
                self._lexicon_cache[key] = hits
            else:
                self._last_miss = (key, record)
        return hits

    def seed_lexicon_hits(self, cls: type[Base], hits: dict[int, list[LexiconHit]]) -> None:
        """Hits already found for every stored record of `cls` (by id; a shared scan of the text)."""
        for id_, found in hits.items():
            self._lexicon_cache[(cls.__name__, id_)] = found
        self._lexicon_complete.add(cls.__name__)

    def lexicon_hits_of(self, cls: type[Base]) -> list[int]:
        """Ids of the stored records of `cls` with hits (complete once seeded)."""
        return [key[1] for key in self._lexicon_cache if isinstance(key, tuple) and key[0] == cls.__name__]


def needs(condition: dict[str, Any], primitive: str) -> bool:
    """True when no record can meet `condition` without meeting `primitive` (used to skip records early)."""
    if primitive in condition:
        return True
    if any(needs(part, primitive) for part in condition.get("all_of", [])):
        return True
    parts = condition.get("any_of", [])
    return bool(parts) and all(needs(part, primitive) for part in parts)


def text_of(record: Base) -> str | None:
    if isinstance(record, Message):
        return record.body
    if isinstance(record, MediaFile):
        return (record.extra or {}).get("caption")
    return None


def match(condition: dict[str, Any], record: Base, ctx: Context) -> Notes | None:
    """Notes when every primitive of `condition` holds for `record`, else None."""
    notes: Notes = []
    for key, spec in condition.items():
        if key in AGGREGATES or key in CATALOGUE_AGGREGATES:
            continue  # aggregate primitives: applied by the engine over many records
        found = PRIMITIVE_FUNCTIONS[key](spec, record, ctx)
        if found is None:
            return None
        notes.extend(found)
    return notes


def _all_of(spec: list[dict], record: Base, ctx: Context) -> Notes | None:
    notes: Notes = []
    for part in spec:
        found = match(part, record, ctx)
        if found is None:
            return None
        notes.extend(found)
    return notes


def _any_of(spec: list[dict], record: Base, ctx: Context) -> Notes | None:
    for part in spec:
        found = match(part, record, ctx)
        if found is not None:
            return found
    return None


def _geofence(spec: dict, record: Base, ctx: Context) -> Notes | None:
    if not isinstance(record, Location):
        return None
    limit = spec.get("max_accuracy_m")
    if limit is not None and record.accuracy_m is not None and record.accuracy_m > limit:
        return None  # too coarse to place in a zone
    placements = ctx.zones.place(record.latitude, record.longitude, spec["zone"], record.accuracy_m)
    placed = [p for p in placements if p.counts]
    if not placed:
        return None  # outside, or on the coast where the zone is the sea (the coast rule: rules/zones.py)
    for other in spec.get("exclude", []):
        if ctx.zones.containing(record.latitude, record.longitude, other, record.accuracy_m):
            return None
    return [f"at {fmt_latlon(record.latitude, record.longitude)}, {placed[0].describe()}"]


def _lexicon(spec: dict, record: Base, ctx: Context) -> Notes | None:
    hits = ctx.lexicon_hits(record)
    if not hits:
        return None
    wanted = set(spec.get("concepts", []))
    floor = CONFIDENCE_ORDER[spec.get("min_confidence", "M")]
    strong = [h for h in hits if CONFIDENCE_ORDER[h.confidence] >= CONFIDENCE_ORDER["M"]]
    usable = [h for h in hits if h.concept in wanted and CONFIDENCE_ORDER[h.confidence] >= floor]
    # a low-confidence term counts only next to another, stronger indicator in the same text
    usable = [h for h in usable if h.confidence != "L" or any(s.concept != h.concept for s in strong)]
    concepts = sorted({h.concept for h in usable})
    if len(concepts) < spec.get("min_concepts", 1):
        return None
    text = ctx.lexicon.normalised(text_of(record) or "")
    words = ", ".join(f"'{text[h.start : h.end]}' ({h.concept}, {h.confidence})" for h in _distinct(usable))
    return [f"words {words}"]


def _distinct(hits: list[LexiconHit]) -> list[LexiconHit]:
    seen, out = set(), []
    for h in hits:
        if h.concept not in seen:
            seen.add(h.concept)
            out.append(h)
    return out


def message_of(record: Base) -> Base:
    """A position shared in a message speaks with that message's direction and counterpart."""
    if isinstance(record, Location) and record.message is not None:
        return record.message
    return record


def _direction(spec: dict, record: Base, ctx: Context) -> Notes | None:
    direction = getattr(message_of(record), "direction", None)
    wanted = spec.get("is")
    if direction != wanted:
        return None
    return [f"{'sent by the device user' if wanted == 'outgoing' else 'received'}"]


def _payment(spec: dict, record: Base, ctx: Context) -> Notes | None:
    payments = (
        [record]
        if isinstance(record, Payment)
        else ctx.payments_by_message.get(record.id, [])
        if isinstance(record, Message)
        else []
    )
    notes = []
    for p in payments:
        if spec.get("methods") and p.method not in spec["methods"]:
            continue
        if "min_amount" in spec and (p.amount is None or p.amount < spec["min_amount"]):
            continue
        if "max_amount" in spec and (p.amount is None or p.amount > spec["max_amount"]):
            continue
        if spec.get("currencies") and p.currency not in spec["currencies"]:
            continue
        value = f"{p.amount:g} {p.currency or ''}".strip() if p.amount is not None else (p.identifier or "")
        notes.append(f"{p.method} {value}".strip())
    return [f"payment details: {'; '.join(notes)}"] if notes else None


def _watchlist(spec: dict, record: Base, ctx: Context) -> Notes | None:
    if not ctx.watchlists.entries:
        return None
    values = [getattr(record, name, None) for name in ("counterpart", "sender", "identifier")]
    if isinstance(record, Message):
        values += [p.identifier for p in ctx.payments_by_message.get(record.id, [])]
    for value in values:
        hit = ctx.watchlists.lookup(value, spec.get("kinds"))
        if hit:
            return [f"'{value}' is on watch-list {hit}"]
    return None


def _known_media(spec: bool, record: Base, ctx: Context) -> Notes | None:
    """A photo or video whose sha256 or phash is on a --watchlist (kinds sha256 and phash)."""
    if not isinstance(record, MediaFile):
        return None
    listed = (record.extra or {}).get("watchlist")
    if listed:
        hits = listed if isinstance(listed, list) else [listed]
        return [f"{record.name} matches media watch-list " + "; ".join(_listed(h) for h in hits if isinstance(h, dict))]
    if not record.sha256:
        return None
    hit = ctx.watchlists.lookup(record.sha256, ["sha256"])
    return [f"{record.name} (SHA-256 {record.sha256[:12]}…) is on watch-list {hit}"] if hit else None


def _listed(hit: dict) -> str:
    label = f" '{hit['label']}'" if hit.get("label") else ""
    distance = f", distance {hit['distance']}" if hit.get("distance") else ""
    return f"{hit.get('list')} row {hit.get('row')}{label} ({hit.get('match')} match{distance})"


def _own_position(spec: bool, record: Base, ctx: Context) -> Notes | None:
    """A position of the device itself, not one that someone else sent to it (a pin in a received message)."""
    received = isinstance(record, Location) and record.message is not None and record.message.direction == "incoming"
    return [] if (not received) == bool(spec) else None


def _from_media(spec: bool, record: Base, ctx: Context) -> Notes | None:
    """Positions from the device's own photos/videos (MED-01), not from messages or location stores."""
    is_media = isinstance(record, Location) and record.media_file_id is not None
    return ["from the metadata of a photo or video on the device"] if is_media == bool(spec) else None


def _local_hours(spec: dict, record: Base, ctx: Context) -> Notes | None:
    when = getattr(record, "time_utc", None)
    if when is None:
        return None
    tz = ZoneInfo(spec.get("timezone", "UTC"))
    start, end = (time.fromisoformat(x) for x in spec["between"])
    local = when.astimezone(tz)
    if not in_window(local.time(), start, end):
        return None
    return [f"at {local:%H:%M} local time ({tz.key})"]


def in_window(t: time, start: time, end: time) -> bool:
    return start <= t or t < end if start > end else start <= t < end


def fmt_latlon(lat: float, lon: float) -> str:
    return f"{abs(lat):.5f} {'N' if lat >= 0 else 'S'} {abs(lon):.5f} {'E' if lon >= 0 else 'W'}"


def record_time(record: Base) -> datetime | None:
    """The record's own time; a shared position without one takes its message's."""
    own = getattr(record, "time_utc", None) or getattr(record, "taken_utc", None)
    if own is None and isinstance(record, Location) and record.message is not None:
        return record.message.time_utc
    return own


Primitive = Callable[[Any, Base, Context], Notes | None]  # (the rule's spec for it, record, context)
PRIMITIVE_FUNCTIONS: dict[str, Primitive] = {
    "geofence": _geofence,
    "lexicon": _lexicon,
    "direction": _direction,
    "payment": _payment,
    "watchlist": _watchlist,
    "local_hours": _local_hours,
    "from_media": _from_media,
    "own_position": _own_position,
    "known_media": _known_media,
    "all_of": _all_of,
    "any_of": _any_of,
}


# -- catalogue rules (issue 18 item 4): record-level primitives ------------------------------------
# What they look for is written in docs/domain/rule_catalogue.md under each rule that uses them.
URL_HOST = re.compile(r"(?:https?://)?(?:www\.)?((?:[a-z0-9-]+\.)+[a-z]{2,})(?=[/?#:\s,;.!)\]]|$)", re.IGNORECASE)
PHONE_IN_TEXT = re.compile(r"(?<![\w+])(?:\+|00|0)\d(?:[ \-.]?\d){8,13}(?![\d])")
LEDGER_AMOUNT = re.compile(r"(?<![\d.,])(\d{1,3}(?:[ ,.\u202f]\d{3})+|\d{3,5})(?:\s?([kK])\b)?(?![\d])")
LEDGER_SMALL_AMOUNT = re.compile(r"(?<![\d.,])(\d{1,2}(?:[.,]\d)?)\s?([kK])\b")
NOT_A_NAME = {"eur", "euro", "euros", "gbp", "usd", "pound", "pounds", "dollar", "dollars", "total", "k"}
# What a text must hold for `ledger_rows` or `numbers_in` to find anything in it (a necessary condition, looked
# for on the text as stored: `\d` takes the Arabic-Indic and Persian digits that ascii_digits turns into ASCII):
# three digits in a row (every LEDGER_AMOUNT), a digit before k (LEDGER_SMALL_AMOUNT), or nine digits with at
# most one separator between each two (PHONE_IN_TEXT). "I'll be there in 10 minutes" holds none of them.
MAY_HOLD_NUMBER = re.compile(r"\d{3}|\d(?:[.,]\d)?\s?[kK]|\d(?:[ \-.]?\d){8}")


def may_hold_number(text: str | None) -> bool:
    """False when neither a ledger row's amount nor a phone number can be in `text` (MAY_HOLD_NUMBER)."""
    return bool(text) and MAY_HOLD_NUMBER.search(text) is not None  # type: ignore[arg-type]


def _links(spec: dict, record: Base, ctx: Context) -> Notes | None:
    """A link to one of `domains` (or a subdomain) in the record's text: a weather forecast, for MED-04."""
    text = text_of(record)
    if not text:
        return None
    domains = [d.lower() for d in spec.get("domains", [])]
    found = sorted(
        {
            host
            for m in URL_HOST.finditer(text)
            if any((host := m.group(1).lower()) == d or host.endswith("." + d) for d in domains)
        }
    )
    return [f"link to {', '.join(found)} ({spec.get('label', 'listed site')})"] if found else None


def ledger_rows(text: str | None, low: float, high: float) -> list[str]:
    """Lines of `text` holding a name or a phone number and an amount between `low` and `high`: the rows of
    a list of people and what each paid or owes (PAY-04)."""
    rows = []
    for line in (text or "").splitlines():
        plain = ascii_digits(line)
        amounts = [_ledger_value(m) for m in LEDGER_AMOUNT.finditer(plain)]
        amounts += [float(m.group(1).replace(",", ".")) * 1000 for m in LEDGER_SMALL_AMOUNT.finditer(plain)]
        if not any(low <= a <= high for a in amounts):
            continue
        named = any(w.isalpha() and len(w) >= 2 and w.lower() not in NOT_A_NAME for w in re.split(r"[\W\d_]+", line))
        if named or PHONE_IN_TEXT.search(plain):
            rows.append(line.strip())
    return list(dict.fromkeys(rows))


def _ledger_value(m: re.Match[str]) -> float:
    value = float(re.sub(r"\D", "", m.group(1)))
    return value * 1000 if m.group(2) else value


def _ledger(spec: dict, record: Base, ctx: Context) -> Notes | None:
    rows = ledger_rows(text_of(record), spec.get("min_amount", 300), spec.get("max_amount", 25000))
    if len(rows) < spec.get("min_rows", 5):
        return None
    shown = "; ".join(f"'{r[:40]}'" for r in rows[:3])
    return [f"{len(rows)} rows of a name or number with an amount ({shown}…)"]


def numbers_in(text: str | None, own: str | None = None) -> list[str]:
    """Phone numbers written in `text` (digits only), other than `own` (the sender's number)."""
    mine = re.sub(r"\D", "", own or "")[-9:]
    found = (re.sub(r"\D", "", m.group(0)) for m in PHONE_IN_TEXT.finditer(ascii_digits(text or "")))
    return list(dict.fromkeys(n for n in found if not (mine and n.endswith(mine))))


PRIMITIVE_FUNCTIONS.update(
    {
        "links": _links,
        "ledger": _ledger,
    }
)


# -- APP-01 (issue 18): the device user's role in a group or channel (rules/group_role.py) ----------
from rules.group_role import GROUP_PRIMITIVES  # noqa: E402 - registered after the primitives above

PRIMITIVE_FUNCTIONS.update(GROUP_PRIMITIVES)
