"""The records some rule of a pack could use: what the rules engine loads, and nothing else.

A record is kept when it meets a record rule's condition (or a sequence's step), or belongs to a thread
holding crossing words when a thread rule needs them; a record type read by a rule with no selective
primitive is kept whole. Memory then grows with what the rules can use, not with the phone's size.

Two ways to the same set:
- `load_candidates(pack, read, …)` streams every record through `read(cls)` (records written as data,
  any iterable source);
- `load_candidates_from_store(pack, store, …)` asks the case store first which records *may* meet each
  selective primitive, from a few columns (the shared text scan for crossing words, coordinates for zones,
  hashes for media lists), loads only those as records, and keeps the ones that meet the condition exactly,
  with the same checks as the streaming way. Thread members come from one query per batch of threads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Text, and_, cast, func
from sqlalchemy.orm import selectinload

from rules.group_role import GROUP_KINDS, group_extra, group_text
from rules.pack import Rule, RulePack
from rules.primitives import CATALOGUE_AGGREGATES, Context, match, may_hold_number, needs
from triage.enrich.text_scan import MessageTextScan, scan_message_text
from triage.model.records import Base, Call, Contact, Location, MediaFile, Message, Payment
from triage.store.rows import column_rows, column_rows_by_id, load_by_id

if TYPE_CHECKING:
    from triage.store import CaseStore

READS: dict[str, type[Base]] = {
    "message": Message,
    "location": Location,
    "payment": Payment,
    "contact": Contact,
    "call": Call,
    "media_file": MediaFile,
}
# primitives a record must meet (group_lexicon, APP-01: only groups and channels named with crossing words)
SELECTIVE = ("lexicon", "geofence", "payment", "known_media", "watchlist", "group_lexicon")
THREAD_BATCH = 400  # threads per member query (two bound parameters each at most)

RecordReader = Callable[[type[Base]], Iterable[Base]]


def thread_key(record: Any) -> str:
    if isinstance(record, Message):
        return message_thread_key(record.app, record.thread, record.counterpart)
    if group_extra(record) is not None:  # a group or channel is a conversation of its own: one finding each (APP-01)
        return message_thread_key(record.app, (record.handles or [None])[0], record.name)
    return f"{record.record_type}"


def message_thread_key(app: str, thread: str | None, counterpart: str | None) -> str:
    return f"{app}:{thread or counterpart or ''}"


def selectors(rule: Rule) -> list[dict[str, Any]]:
    """The conditions one record must meet to take part in `rule` (thread rules: see thread_rule)."""
    if "sequence" in rule.condition:
        return [rule.condition["sequence"]["first"], rule.condition["sequence"]["then"]]
    return [rule.condition]


def thread_rule(rule: Rule) -> bool:
    """A thread rule whose threads must hold crossing words: its other parts apply inside those threads."""
    parts = rule.condition.get("all_of") or [rule.condition]
    return rule.scope == "thread" and "sequence" not in rule.condition and any(needs(p, "lexicon") for p in parts)


def selective(rule: Rule) -> bool:
    if rule.scope == "thread" and "sequence" not in rule.condition:
        return thread_rule(rule)
    return all(any(needs(c, p) for p in SELECTIVE) for c in selectors(rule))


def _rules_reading(pack: RulePack, name: str) -> list[Rule]:
    return [r for r in pack.rules if name in r.reads and "rules" not in r.condition]


# -- streaming every record ------------------------------------------------------------------------
def load_candidates(pack: RulePack, read: RecordReader, ctx: Context, payments: list[Base]) -> dict[str, list[Base]]:
    """Per record type, the records some rule could use, streaming each type once (twice for thread rules)."""
    return _per_type(pack, payments, read, lambda rules, cls: _streamed_candidates(rules, read, cls, ctx))


def _per_type(
    pack: RulePack,
    payments: list[Base],
    read_all: RecordReader,
    candidates: Callable[[list[Rule], type[Base]], list[Base]],
) -> dict[str, list[Base]]:
    """For each type the rules read: nothing, everything (a rule with no selective primitive), or the
    candidates the given strategy finds."""
    records: dict[str, list[Base]] = {"payment": payments}
    for name, cls in READS.items():
        if name == "payment":
            continue
        rules = _rules_reading(pack, name)
        if not rules:
            records[name] = []
        elif not all(selective(rule) for rule in rules):
            records[name] = list(read_all(cls))
        else:
            records[name] = candidates(rules, cls)
    return records


def _streamed_candidates(rules: list[Rule], read: RecordReader, cls: type[Base], ctx: Context) -> list[Base]:
    record_rules = [r for r in rules if not thread_rule(r)]
    by_threads = any(thread_rule(r) for r in rules)
    kept: dict[int, Base] = {}
    threads: set[str] = set()
    for record in read(cls):
        if by_threads and ctx.lexicon_hits(record):
            threads.add(thread_key(record))
        if _meets_some(record_rules, record, ctx):
            kept[_identity(record)] = record
    if threads:  # a second pass: the messages of a thread with crossing words that a thread rule can use
        kinds = member_kinds(rules)
        for record in read(cls):
            if thread_key(record) in threads and (kinds is None or _may_matter(record, kinds, ctx)):
                kept.setdefault(_identity(record), record)
    return list(kept.values())


# -- which messages of a thread the thread rules can use ------------------------------------------------
# A thread rule's part only ever tries the thread's messages its prefilter lets through (engine._prefilter):
# those with crossing words when the part needs them, with a payment when it needs one; a ledger (PAY-04) needs
# an amount, and a new number given in the thread (TXT-13's number_churn reads the pool) a phone number: a text
# that may hold either (primitives.may_hold_number; a digit alone kept twice as many, "in 10 minutes"). Loading
# only those keeps memory with what can match: a phone's chatter often holds an ordinary arrival word ("I
# arrived"), and loading whole threads for it held 1.2 GB at 1,000,000 messages (bench/RESULTS.md).


def member_kinds(rules: list[Rule]) -> frozenset[str] | None:
    """What a thread member must have for some thread rule to use it ("words", "payment", "digits"); None when
    some part could use any message (then every member is kept)."""
    kinds: set[str] = set()
    for rule in rules:
        if not thread_rule(rule):
            continue
        for part in rule.condition.get("all_of") or [rule.condition]:
            found = _part_kinds(part)
            if found is None:
                return None
            kinds |= found
        for key in rule.condition:
            if key == "number_churn":
                kinds.add("digits")
            elif key in CATALOGUE_AGGREGATES:
                return None  # an aggregate that may read any message of the pool
    return frozenset(kinds)


def _part_kinds(part: dict[str, Any]) -> set[str] | None:
    if needs(part, "lexicon"):
        return {"words"}
    if needs(part, "payment"):
        return {"payment"}
    if "ledger" in part:
        return {"digits"}
    for sub in part.get("all_of", []):  # every sub-part must hold: one that narrows is enough
        if (found := _part_kinds(sub)) is not None:
            return found
    branches = part.get("any_of", [])
    if not branches:
        return None
    union: set[str] = set()
    for branch in branches:
        found = _part_kinds(branch)
        if found is None:
            return None
        union |= found
    return union


def _may_matter(record: Base, kinds: frozenset[str], ctx: Context) -> bool:
    if not isinstance(record, Message):
        return True  # other records form one thread per type: kept whole
    return bool(
        ("words" in kinds and ctx.lexicon_hits(record))
        or ("payment" in kinds and ctx.payments_by_message.get(record.id))
        or ("digits" in kinds and may_hold_number(record.body))
    )


def _identity(record: Base) -> int:
    return record.id if getattr(record, "id", None) is not None else id(record)


def _meets_some(record_rules: list[Rule], record: Base, ctx: Context) -> bool:
    return any(could_meet(c, record, ctx) for rule in record_rules for c in selectors(rule))


def could_meet(condition: dict[str, Any], record: Base, ctx: Context) -> bool:
    """Cheap necessary checks first (no text match, no zone, no payment: no), then the exact match."""
    for primitive in SELECTIVE:
        if needs(condition, primitive) and not _may_have(primitive, record, ctx):
            return False
    return match(condition, record, ctx) is not None


def _may_have(primitive: str, record: Base, ctx: Context) -> bool:
    if primitive == "lexicon":
        return bool(ctx.lexicon_hits(record))
    if primitive == "geofence":
        return isinstance(record, Location) and bool(ctx.zones.containing(record.latitude, record.longitude))
    if primitive == "payment":
        return isinstance(record, Payment) or bool(ctx.payments_by_message.get(record.id))
    if primitive == "known_media":
        return isinstance(record, MediaFile)
    if primitive == "group_lexicon":  # APP-01: the exact check (the group's name) is the match itself
        return group_extra(record) is not None
    return bool(ctx.watchlists.entries)


# -- asking the case store -------------------------------------------------------------------------
def load_candidates_from_store(
    pack: RulePack, store: CaseStore, ctx: Context, payments: list[Base], scan: MessageTextScan | None = None
) -> dict[str, list[Base]]:
    """The same records as `load_candidates` over `store.all`, reading whole records only for candidates.
    `scan`: the run's scan of the message text, when made with this pack's lexicon (else one is made)."""
    if scan is None or scan.lexicon is not pack.lexicon:
        scan = scan_message_text(store, pack.lexicon)
    ctx.seed_lexicon_hits(Message, scan.lexicon_hits)  # every message was matched: no hit means none
    return _per_type(pack, payments, store.all, lambda rules, cls: _stored_candidates(rules, store, cls, ctx))


def _stored_candidates(rules: list[Rule], store: CaseStore, cls: type[Base], ctx: Context) -> list[Base]:
    record_rules = [r for r in rules if not thread_rule(r)]
    may = _MayHave(store, cls, ctx)
    ids: set[int] = set()
    for rule in record_rules:
        for condition in selectors(rule):
            ids |= may.all_of([p for p in SELECTIVE if needs(condition, p)])
    by_threads = any(thread_rule(r) for r in rules)
    members = _thread_members(store, cls, may.ids("lexicon"), member_kinds(rules), ctx) if by_threads else set()
    options = (selectinload(Location.message),) if cls is Location else ()  # positions speak with their message
    return [
        record
        for record in load_by_id(store, cls, ids | members, options)
        if record.id in members or _meets_some(record_rules, record, ctx)
    ]


class _MayHave:
    """Ids of the records of one type that may meet a selective primitive: a superset of those that do,
    read from a few columns (the exact check runs on the loaded records). Each set is made once."""

    def __init__(self, store: CaseStore, cls: type[Base], ctx: Context) -> None:
        self.store, self.cls, self.ctx = store, cls, ctx
        self._ids: dict[str, set[int]] = {}

    def all_of(self, primitives: list[str]) -> set[int]:
        found: set[int] | None = None
        for primitive in primitives:
            ids = self.ids(primitive)
            found = set(ids) if found is None else found & ids
        return found if found is not None else set()  # `selective` rules always name one

    def ids(self, primitive: str) -> set[int]:
        if primitive not in self._ids:
            self._ids[primitive] = getattr(self, f"_{primitive}")()
        return self._ids[primitive]

    def _lexicon(self) -> set[int]:
        if self.cls is Message:
            return set(self.ctx.lexicon_hits_of(Message))
        if self.cls is MediaFile:  # a caption (rules/primitives.text_of)
            return {
                row.id
                for row in column_rows(self.store, MediaFile, ("id", "extra"))
                if self.ctx.lexicon.match((row.extra or {}).get("caption"))
            }
        return set()  # no other record has text the lexicon reads

    def _group_lexicon(self) -> set[int]:
        """APP-01: groups and channels (Contacts with a group `peer_type`) whose name holds crossing words."""
        if self.cls is not Contact:
            return set()
        rows = column_rows(self.store, Contact, ("id", "name", "extra"))
        groups = (row for row in rows if (row.extra or {}).get("peer_type") in GROUP_KINDS)
        return {row.id for row in groups if self.ctx.lexicon.match(group_text(row.name, row.extra))}

    def _geofence(self) -> set[int]:
        if self.cls is not Location:
            return set()
        return {
            row.id
            for row in column_rows(self.store, Location, ("id", "latitude", "longitude"))
            if self.ctx.zones.containing(row.latitude, row.longitude)
        }

    def _payment(self) -> set[int]:
        return set(self.ctx.payments_by_message) if self.cls is Message else set()  # through its message

    def _known_media(self) -> set[int]:
        if self.cls is not MediaFile:
            return set()
        lists = self.ctx.watchlists
        # without a list of hashes only files a media watch-list marked can match: those hold the word
        marked = None if lists.entries else cast(MediaFile.extra, Text).contains("watchlist", autoescape=True)
        return {
            row.id
            for row in column_rows(self.store, MediaFile, ("id", "sha256", "extra"), marked)
            if (row.extra or {}).get("watchlist") or (row.sha256 and lists.lookup(row.sha256, ["sha256"]))
        }

    def _watchlist(self) -> set[int]:
        lists = self.ctx.watchlists
        columns = [c for c in ("counterpart", "sender", "identifier") if hasattr(self.cls, c)]
        if not lists.entries or not columns:
            return set()
        listed: dict[str, bool] = {}  # a phone repeats a few hundred numbers: look each up once

        def on_list(value: Any) -> bool:
            if value not in listed:
                listed[value] = lists.lookup(value) is not None  # any kind: a superset of a rule's kinds
            return listed[value]

        ids = {
            row.id
            for row in column_rows(self.store, self.cls, ("id", *columns))
            if any(on_list(getattr(row, c)) for c in columns)
        }
        if self.cls is Message:  # a message also speaks for the payment identifiers read from it
            ids |= set(self.ctx.payments_by_message)
        return ids


def _thread_members(
    store: CaseStore, cls: type[Base], with_hits: set[int], kinds: frozenset[str] | None, ctx: Context
) -> set[int]:
    """Ids of the records in a thread that holds crossing words that a thread rule may use (`_may_matter`, on a
    few columns; records other than messages form one thread per type, see thread_key, and are all kept).
    The thread's messages are streamed and only those kept: a phone's threads with an ordinary crossing word
    hold most of its messages (at N = 1,000,000 their ids alone, and their bodies read again, took ~60 MB)."""
    if not with_hits:
        return set()
    if cls is not Message:
        return {row.id for row in column_rows(store, cls, ("id",))}
    keys = ("id", "app", "thread", "counterpart")
    threads = {
        (row.app, row.thread or row.counterpart or "") for row in column_rows_by_id(store, Message, keys, with_hits)
    }
    may_matter = _member_test(kinds, with_hits, ctx)
    columns = (*keys, "body") if kinds is not None and "digits" in kinds else keys
    ordered = sorted(threads)
    members: set[int] = set()
    part = func.coalesce(func.nullif(Message.thread, ""), func.nullif(Message.counterpart, ""), "")
    for start in range(0, len(ordered), THREAD_BATCH):
        batch = ordered[start : start + THREAD_BATCH]
        # a superset in SQL (apps × parts), then the exact thread of each row
        where = and_(Message.app.in_(sorted({a for a, _ in batch})), part.in_(sorted({p for _, p in batch})))
        members |= {
            row.id
            for row in column_rows(store, Message, columns, where)
            if (row.app, row.thread or row.counterpart or "") in threads and may_matter(row)
        }
    return members


def _member_test(kinds: frozenset[str] | None, with_hits: set[int], ctx: Context) -> Callable[[Any], bool]:
    """`_may_matter` on a row of a thread's message: words and payments from what is known already, digits
    from its body (read only when a rule needs them)."""
    if kinds is None:
        return lambda row: True
    words, payment, digits = "words" in kinds, "payment" in kinds, "digits" in kinds
    paid = ctx.payments_by_message
    return lambda row: bool(
        (words and row.id in with_hits) or (payment and paid.get(row.id)) or (digits and may_hold_number(row.body))
    )
