"""Context that changes the meaning of crossing indicators: journalistic material, legal advice,
humanitarian work, victim support (docs/domain/assessment.md "Context caps").

Why a module and not rules of the pack: the evidence is a contact's name, organisation and e-mail
domain, the user's own accounts and e-mail footers, which no primitive of the rule language reads, and
the outcome is a flag about how material must be handled (docs/domain/legal.md "PACE ss.10–14"), not an
indicator. The terms and organisations are data (rules/data/context.yaml, each entry with its source and
reason); the engine calls `context_findings` once after the pack's rules.

Each recognised kind gives one Finding, never scored: SPECIAL PROCEDURE (journalism, legal advice),
DISCLOSURE (humanitarian work: a line of enquiry pointing away from the user) or SAFEGUARDING (victim
support). `extra["side"]` says whose the context is: "user" when the device user's own words, accounts or
footers show it (the user may be a journalist, an adviser, a volunteer), "counterpart" when only the
people the user deals with do (a solicitor in the contacts). The assessment reads both
(rules/assessment.py).

Scale: contacts and accounts are few; messages are read once, as plain rows of four columns in chunks,
and only outgoing text and e-mail footers are matched (one Aho-Corasick pass per message).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import ahocorasick

from rules.normalise import is_word_char, normalise
from rules.yaml_data import load_yaml
from triage.enrich.citation import Citation
from triage.model.records import Account, Base, Contact, Finding, Message

if TYPE_CHECKING:
    from triage.store import CaseStore

CONTEXT_DATA = Path(__file__).parent / "data" / "context.yaml"
MIN_OWN_WORD_MESSAGES = 2  # one message in the user's words may be chance; two show the user's own work
MAX_CITED = 100  # records a context finding cites (the explanation gives the total)
MAX_REASONS_IN_TEXT = 5
FOOTER_CHARS = 400  # the end of a received message where a footer ("legally privileged") is looked for
CONTEXT_NOTE = (
    "Recognising this context is machine output for the examiner to check; it neither clears nor "
    "accuses anyone, and the material is listed so that it can be handled under the right procedure."
)
WHERE = ("own_words", "roles", "signatures", "organisations")

RecordReader = Callable[[type[Base]], Iterable[Base]]
Describer = Callable[[Base], Citation]


@dataclass(frozen=True)
class Kind:
    name: str
    rule_id: str
    title: str
    severity: str
    note: str


@dataclass(frozen=True)
class Term:
    kind: str
    where: str  # own_words / roles / signatures / organisations
    text: str  # as listed
    length: int  # of its normalised form
    label: str  # what the report says: the organisation's name, or the term


class ContextData:
    """rules/data/context.yaml: the kinds, their terms (one automaton) and the organisations' domains."""

    def __init__(self, path: Path = CONTEXT_DATA) -> None:
        raw = path.read_bytes()
        doc = load_yaml(raw)
        self.path, self.sha256, self.version = path, hashlib.sha256(raw).hexdigest(), str(doc["version"])
        self.kinds = {
            name: Kind(name, k["rule_id"], k["title"], k["severity"], " ".join(k["note"].split()))
            for name, k in doc["kinds"].items()
        }
        self.domains: dict[str, tuple[str, str]] = {}  # domain -> (kind, organisation)
        self._automaton = ahocorasick.Automaton()
        found: dict[str, list[Term]] = {}
        for where in WHERE:
            for entry in doc.get(where, []):
                self._check(entry, where, path)
                for text, label in self._terms(entry, where):
                    key = normalise(text)
                    found.setdefault(key, []).append(Term(entry["kind"], where, text, len(key), label))
                for domain in entry.get("domains", []):
                    self.domains[domain.lower()] = (entry["kind"], entry["name"])
        for key, terms in found.items():
            self._automaton.add_word(key, tuple(terms))
        self._automaton.make_automaton()

    def _check(self, entry: dict[str, Any], where: str, path: Path) -> None:
        if entry.get("kind") not in self.kinds:
            raise ValueError(f"{path.name}: {where} entry of unknown kind {entry.get('kind')!r}")
        if not entry.get("source") or not entry.get("reason"):
            raise ValueError(
                f"{path.name}: {where} entry {entry.get('name') or entry.get('terms')} lacks source or reason"
            )

    @staticmethod
    def _terms(entry: dict[str, Any], where: str) -> Iterator[tuple[str, str]]:
        if where == "organisations":
            yield from ((str(n), entry["name"]) for n in entry.get("names", []))
            return
        terms = entry["terms"]
        for term in terms if isinstance(terms, list) else [t for group in terms.values() for t in group]:
            yield str(term), str(term)

    def terms_in(self, text: str | None, where: Iterable[str]) -> list[Term]:
        """Whole-word terms of the given lists in `text` (normalised as the lexicon's)."""
        if not text:
            return []
        wanted = set(where)
        folded = normalise(text)
        hits = []
        for end, terms in self._automaton.iter(folded):
            for term in terms:
                if term.where in wanted and _whole_word(folded, end - term.length + 1, end + 1):
                    hits.append(term)
        return hits

    def mentions(self, folded: str) -> bool:
        """Whether text already normalised holds any term of any list: a necessary condition for
        `terms_in` to find one, checked in the run's one scan of the message text (triage/enrich/text_scan.py)
        so the messages that name none are not folded a second time."""
        for end, terms in self._automaton.iter(folded):
            if any(_whole_word(folded, end - term.length + 1, end + 1) for term in terms):
                return True
        return False

    def organisation_of(self, address: str | None) -> tuple[str, str] | None:
        """(kind, organisation) when `address` is an e-mail at a listed domain or one of its sub-domains."""
        if not address or "@" not in address:
            return None
        domain = address.rsplit("@", 1)[1].strip().lower().rstrip(">")
        while domain:
            if domain in self.domains:
                return self.domains[domain]
            domain = domain.partition(".")[2]
        return None

    def identity(self) -> dict[str, str]:
        return {"file": self.path.name, "version": self.version, "sha256": self.sha256}


def _whole_word(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return not (is_word_char(before) and is_word_char(text[start])) and not (
        is_word_char(after) and is_word_char(text[end - 1])
    )


@lru_cache(maxsize=1)
def default_context() -> ContextData:
    return ContextData()


# -- what was seen ---------------------------------------------------------------------------------
@dataclass
class Seen:
    """What points to one kind of context: the records, whose side each is on, and why."""

    user: dict[tuple[str, int], str] = field(default_factory=dict)  # (record type, id) -> why
    counterpart: dict[tuple[str, int], str] = field(default_factory=dict)
    own_word_messages: dict[tuple[str, int], str] = field(default_factory=dict)  # until the threshold holds

    def add(self, side: str, key: tuple[str, int], why: str) -> None:
        getattr(self, side).setdefault(key, why)


def recognise(
    data: ContextData, read: RecordReader, store: CaseStore | None = None, mentioning: set[int] | None = None
) -> dict[str, Seen]:
    """Every kind of context the records show, by kind (empty when none). `mentioning`: the ids of the
    messages whose text names a term of the lists (`ContextData.mentions`, from the run's text scan); the
    others' text is not searched again. None: every message's text is searched."""
    seen: dict[str, Seen] = {name: Seen() for name in data.kinds}
    for account in _rows(store, read, Account, ("id", "identifier", "display_name")):
        org = data.organisation_of(account.identifier)
        if org:
            seen[org[0]].add(
                "user", ("account", account.id), f"the device's own account {account.identifier} ({org[1]})"
            )
    parties = _contacts(data, read, store, seen)
    for m in _messages(store, read, mentioning):
        _message(data, m, parties, seen, mentioning is None or m.id in mentioning)
    for kind in seen.values():
        if len(kind.own_word_messages) >= MIN_OWN_WORD_MESSAGES:
            for key, why in kind.own_word_messages.items():
                kind.add("user", key, why)
    return {name: s for name, s in seen.items() if s.user or s.counterpart}


def _contacts(
    data: ContextData, read: RecordReader, store: CaseStore | None, seen: dict[str, Seen]
) -> dict[str, tuple[str, str]]:
    """Contacts with a context role or organisation; returns their numbers/handles/e-mails -> (kind, why)."""
    parties: dict[str, tuple[str, str]] = {}
    for c in _rows(store, read, Contact, ("id", "name", "phone_numbers", "emails", "handles", "extra")):
        extra = c.extra or {}
        described = " · ".join(
            str(v) for v in (c.name, extra.get("organisation"), extra.get("company"), extra.get("status")) if v
        )
        found = [(t.kind, f"'{t.label}'") for t in data.terms_in(described, ("roles", "organisations"))]
        found += [(org[0], f"e-mail {e} ({org[1]})") for e in c.emails or [] if (org := data.organisation_of(str(e)))]
        if not found:
            continue
        kind, what = found[0]
        why = f"contact '{c.name or '(no name)'}' saved with {what}"
        seen[kind].add("counterpart", ("contact", c.id), why)
        for address in [*(c.phone_numbers or []), *(c.emails or []), *(c.handles or [])]:
            parties.setdefault(_party_key(str(address)), (kind, why))
    return parties


def _message(
    data: ContextData, m: Any, parties: dict[str, tuple[str, str]], seen: dict[str, Seen], search_text: bool = True
) -> None:
    key = ("message", m.id)
    outgoing = m.direction == "outgoing"
    side = "user" if outgoing else "counterpart"
    party = parties.get(_party_key(m.counterpart or ""))
    if party:
        seen[party[0]].add("counterpart", key, f"message {'to' if outgoing else 'from'} a {party[1]}")
    org = data.organisation_of(m.counterpart)
    if org:
        seen[org[0]].add("counterpart", key, f"message {'to' if outgoing else 'from'} {m.counterpart} ({org[1]})")
    if not search_text:
        return
    text, signature = split_signature(m.body or "")
    verb = "sent" if outgoing else "received"
    # a signature block names its writer's job and organisation: the user's own when the message is sent
    for term in data.terms_in(signature, ("roles", "signatures", "organisations")):
        seen[term.kind].add(side, key, f"message {verb} signed with '{term.label}'")
    for address in EMAIL.findall(signature):
        if org := data.organisation_of(address):
            seen[org[0]].add(side, key, f"message {verb} signed with an address at {org[1]}")
    lists = ("own_words", "signatures") if outgoing else ("signatures",)
    if not outgoing:
        text = text[-FOOTER_CHARS:]  # only a footer is looked for in what others wrote: it is at the end
    for term in data.terms_in(text, lists):
        if term.where == "signatures":
            seen[term.kind].add(side, key, f"message {verb} with the footer '{term.label}'")
        else:
            seen[term.kind].own_word_messages.setdefault(key, f"the user's own words '{term.label}'")


SIGNATURE_SEPARATOR = re.compile(r"(?m)^-- ?$")  # the usual separator of a signature block (RFC 3676 4.3)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def split_signature(body: str) -> tuple[str, str]:
    """(text, signature): the signature is what follows the last '-- ' line, when there is one."""
    found = list(SIGNATURE_SEPARATOR.finditer(body))
    if not found:
        return body, ""
    return body[: found[-1].start()], body[found[-1].end() :]


def _party_key(address: str) -> str:
    """Numbers compared on their last nine digits (national and international forms of one number meet);
    anything else (handles, e-mails) case-folded."""
    digits = re.sub(r"\D", "", address.split("@")[0]) if "@s.whatsapp.net" in address or "@" not in address else ""
    return digits[-9:] if len(digits) >= 7 else address.strip().casefold()


class _Addressed(NamedTuple):
    id: int
    direction: str | None
    counterpart: str | None
    body: str | None


def _messages(store: CaseStore | None, read: RecordReader, mentioning: set[int] | None) -> Iterable[Any]:
    """Every message's id, direction and counterpart, in id order; its body only when its text names a term
    (`mentioning`, read by id: a phone's 500,000 bodies are not read a second time for the few that do)."""
    if store is None or mentioning is None:
        yield from _rows(store, read, Message, ("id", "direction", "counterpart", "body"))
        return
    from triage.store.rows import column_rows, column_rows_by_id

    bodies = iter(column_rows_by_id(store, Message, ("id", "body"), mentioning))
    next_body = next(bodies, None)
    for m in column_rows(store, Message, ("id", "direction", "counterpart")):
        body = None
        if next_body is not None and next_body.id == m.id:
            body, next_body = next_body.body, next(bodies, None)
        yield _Addressed(m.id, m.direction, m.counterpart, body)


def _rows(store: CaseStore | None, read: RecordReader, cls: type[Base], columns: tuple[str, ...]) -> Iterable[Any]:
    if store is not None:
        from triage.store.rows import column_rows

        return column_rows(store, cls, columns)
    return read(cls)


# -- findings --------------------------------------------------------------------------------------
TYPES: dict[str, type[Base]] = {"account": Account, "contact": Contact, "message": Message}


def context_findings(
    read: RecordReader,
    describe: Describer,
    store: CaseStore | None = None,
    data: ContextData | None = None,
    mentioning: set[int] | None = None,
) -> list[Finding]:
    """One never-scored finding per kind of context the records show, citing the records that show it."""
    data = data or default_context()
    findings = []
    for name, seen in sorted(recognise(data, read, store, mentioning).items()):
        findings.append(_finding(data, data.kinds[name], seen, read, describe, store))
    return findings


def _finding(
    data: ContextData, kind: Kind, seen: Seen, read: RecordReader, describe: Describer, store: CaseStore | None
) -> Finding:
    reasons = {**seen.user, **{k: v for k, v in seen.counterpart.items() if k not in seen.user}}
    keys = sorted(reasons, key=lambda k: (k not in seen.user, k[0], k[1]))
    cited = _load(keys[:MAX_CITED], read, store)
    side = "user" if seen.user else "counterpart"
    whose = (
        "the device user's own words, accounts or messages show it"
        if side == "user"
        else "only the people the device user deals with show it"
    )
    lines = list(dict.fromkeys(reasons[k] for k in keys))[:MAX_REASONS_IN_TEXT]
    more = f" … and {len(keys) - MAX_REASONS_IN_TEXT} more record(s)." if len(keys) > MAX_REASONS_IN_TEXT else ""
    cut = f" The first {MAX_CITED} are cited." if len(keys) > MAX_CITED else ""
    explanation = (
        f"{kind.title}: {len(keys)} record(s); {whose}. "
        + "; ".join(lines)
        + "."
        + more
        + cut
        + " "
        + kind.note
        + " "
        + CONTEXT_NOTE
        + f" (Terms and organisations: {data.path.name} version {data.version}, SHA-256 {data.sha256[:12]}….)"
    )
    return Finding(
        rule_id=kind.rule_id,
        rule_version=data.version,
        severity=kind.severity,
        title=kind.title,
        explanation=explanation,
        evidence=[describe(r).ref for r in cited],
        family="safeguarding",
        extra={
            "role_hint": "-",
            "context": kind.name,
            "side": side,
            "records_total": len(keys),
            "user_records": len(seen.user),
            "note": kind.note,
            "context_data": data.identity(),
        },
    )


def _load(keys: list[tuple[str, int]], read: RecordReader, store: CaseStore | None) -> list[Base]:
    """The cited records as objects, in the order of `keys` (few: at most MAX_CITED)."""
    wanted = set(keys)
    found: dict[tuple[str, int], Base] = {}
    for type_name, cls in TYPES.items():
        ids = [i for t, i in keys if t == type_name]
        if not ids:
            continue
        if store is not None:
            from triage.store.rows import load_by_id

            records: Iterable[Base] = load_by_id(store, cls, ids)
        else:
            records = (r for r in read(cls) if (type_name, r.id) in wanted)
        for r in records:
            found[(type_name, r.id)] = r
    return [found[k] for k in keys if k in found]
