"""The statement's two parts: the cited records stated as neutral facts, then the annex of indicators.

Part 1 states what the phone holds, without inference (issue 15 item 6): each record a finding cites,
once however many findings cite it (item 7: one message was quoted four times), in time order, untimed
records last. Each fact says what the record is (a message, a call, a position, a photo or video file, a
payment detail, a contact, group or channel entry, an account held on the device) in neutral words,
when (UTC, UK local time, and the value as stored with its encoding), where it is in the evidence (the
file's layer path, table and row or byte offset), and the numbers of the findings that cite it. No rule
title, severity or indicator word is printed in it.

The annex then gives, per finding, the rule (id, version, title), its definition as the rule pack states
it (what it reads, its condition, its rationale), the innocent explanations the pack names, the severity,
and which facts of part 1 it cites, by number.

The statement's size follows the findings, not the phone (issue 14): at most PDF_CITED_PER_FINDING
records per finding are taken, and at most STATEMENT_FACTS facts are stated; the statement says how many
more there are, and that findings.json and schedule_findings.csv list every one.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from markupsafe import Markup

from triage.model.records import Account, Call, Contact, Location, MediaFile, Message, Payment
from triage.report.bidi import evidence_block
from triage.report.display import NOWRAP_CHARS, isolated, left_to_right, shown
from triage.report.times import local_times, utc_text

STATEMENT_FACTS = 400  # facts stated in part 1 at most (then: how many more, and where all are listed)
WHERE_ALL_ARE = "findings.json and schedule_findings.csv"

DIRECTION_WORDS = {"incoming": "received from", "outgoing": "sent to"}
CALL_WORDS = {
    "incoming": "incoming call from",
    "outgoing": "outgoing call to",
    "missed": "missed call from",
    "rejected": "rejected call from",
}


@dataclass
class Fact:
    """One cited record as part 1 states it."""

    key: tuple[str, int]  # (record type, id)
    card: Any  # html.Card: the reference and the record read from the store
    findings: list[int] = field(default_factory=list)  # numbers (1-based) of the findings citing it
    number: int = 0  # its number in part 1, once ordered

    @property
    def time(self) -> datetime | None:
        return record_time(self.card.record)


@dataclass
class StatedFacts:
    facts: list[Fact]  # the facts stated, numbered 1… in time order
    not_stated: int  # cited records beyond STATEMENT_FACTS
    numbers: dict[tuple[str, int], int]  # (type, id) → fact number, for the stated ones


def record_time(record: Any) -> datetime | None:
    if isinstance(record, MediaFile):
        return record.taken_utc
    return getattr(record, "time_utc", None)


def stated_facts(finding_views: list[dict[str, Any]], per_finding: int, limit: int = STATEMENT_FACTS) -> StatedFacts:
    """Every record the findings cite (the first `per_finding` of each), once, in time order (untimed last,
    then by type and id), numbered, at most `limit` of them."""
    by_key: dict[tuple[str, int], Fact] = {}
    cited: set[tuple[str, Any]] = set()  # every record cited, stated or not (keys only: cheap)
    for n, view in enumerate(finding_views, start=1):
        cited.update((str(ref.get("type")), ref.get("id")) for ref in view["f"]["evidence"])
        for card in view["cards"][:per_finding]:
            key = (str(card.ref.get("type")), card.ref.get("id"))
            fact = by_key.setdefault(key, Fact(key, card))
            if n not in fact.findings:
                fact.findings.append(n)
    stated = sorted(by_key.values(), key=_order)[:limit]
    for number, fact in enumerate(stated, start=1):
        fact.number = number
    return StatedFacts(stated, len(cited) - len(stated), {f.key: f.number for f in stated})


def _order(fact: Fact) -> tuple[Any, ...]:
    t = fact.time
    return (
        t is None,
        t.timestamp() if t is not None else 0.0,
        fact.key[0],
        fact.key[1] if isinstance(fact.key[1], int) else 0,
    )


# -- what each fact says -------------------------------------------------------------------------------

# Part 1 states hundreds of facts of about ten values each, and WeasyPrint lays out each inline element as a
# box of its own, as costly as a line of text (bench/pdf_step.py: it was most of the statement's time). So a
# value is printed as plain text where its element would change nothing on the page: it holds no right-to-left
# character (isolating it would move nothing) and, for a short figure kept on one line (display.NOWRAP_CHARS),
# no place a line could break (only letters, digits and _ . : # +). The others keep their <bdi> or
# <span dir="ltr">, and every value that holds right-to-left text is isolated (the app, origin and encoding
# too), so no fact line has right-to-left text outside an isolate: a plain value keeps the order it had inside
# its element (docs/report_safety.md).
_RIGHT_TO_LEFT = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc\U00010800-\U00010fff\U0001e800-\U0001efff]")
_UNBREAKABLE = re.compile(r"[0-9A-Za-z_.:#+]+")


def name_text(value: Any, kind: str = "name", where: str | None = None) -> Markup:
    """A name, path or stored word: as text, in <bdi> when it holds right-to-left text (display.isolated)."""
    text = shown(value, kind, where)
    return text if _RIGHT_TO_LEFT.search(text) is None else isolated(value, kind, where)


def figure_text(value: Any, kind: str = "text", where: str | None = None) -> Markup:
    """A hash, identifier, number or time: as text when no element is needed, else display.left_to_right's."""
    if value is None or value == "":
        return Markup("")
    text = shown(value, kind, where)
    if _RIGHT_TO_LEFT.search(text) is None and (len(text) > NOWRAP_CHARS or _UNBREAKABLE.fullmatch(text)):
        return text
    return left_to_right(value, kind, where)


def what(fact: Fact, names: Any = None) -> Markup:
    """What the record is, in neutral words: its kind and the identifiers it holds."""
    card, r = fact.card, fact.card.record
    if r is None:
        return Markup("{} record #{} (not found in the case store)").format(card.ref.get("type"), card.ref.get("id"))
    if isinstance(r, Message):
        verb = DIRECTION_WORDS.get(r.direction, f"direction as stored: {r.direction}; other party")
        state = Markup("; marked deleted in its source") if r.deleted else Markup("")
        return Markup("Message #{} ({}), {} {}{}").format(
            r.id, name_text(r.app), verb, party(r.counterpart, names), state
        )
    if isinstance(r, Call):
        verb = CALL_WORDS.get(r.direction, f"call ({r.direction}) with")
        duration = Markup(", {} s").format(figure_text(f"{r.duration_s:g}")) if r.duration_s is not None else Markup("")
        return Markup("Call #{} ({}), {} {}{}").format(
            r.id, name_text(r.app), verb, party(r.counterpart, names), duration
        )
    if isinstance(r, Location):
        accuracy = (
            Markup(", accuracy {} m").format(figure_text(f"{r.accuracy_m:g}"))
            if r.accuracy_m is not None
            else Markup("")
        )
        photo = (
            Markup(", from the metadata of file {}").format(name_text(card.media.name, "name"))
            if card.media is not None
            else Markup("")
        )
        return Markup("Position #{}: latitude, longitude {}{} (origin: {}){}").format(
            r.id, figure_text(f"{r.latitude:.6f}, {r.longitude:.6f}"), accuracy, name_text(r.origin), photo
        )
    if isinstance(r, MediaFile):
        camera = " ".join(x for x in (r.make, r.model) if x)
        position = (
            Markup(", position {}").format(figure_text(f"{card.location.latitude:.6f}, {card.location.longitude:.6f}"))
            if card.location is not None
            else Markup(", no position in its metadata")
        )
        return Markup("Photo or video file #{} {}, {} bytes, SHA-256 {}{}{}").format(
            r.id,
            name_text(r.path, "path", "records/media_file.jsonl"),
            figure_text(f"{r.size:,}" if r.size else "?"),
            figure_text(r.sha256 or "not computed"),
            Markup(", camera {}").format(name_text(camera, "name")) if camera else Markup(""),
            position,
        )
    if isinstance(r, Payment):
        amount = (
            Markup(", amount {}").format(figure_text(f"{r.amount:,.2f} {r.currency or ''}".strip()))
            if r.amount is not None
            else Markup("")
        )
        ident = Markup(" {}").format(figure_text(_masked(r), "name")) if r.identifier else Markup("")
        other = Markup(", other party {}").format(party(r.counterpart, names)) if r.counterpart else Markup("")
        return Markup("Payment detail #{} read from the phone's content: {}{}{}{}").format(
            r.id, name_text(r.method), ident, amount, other
        )
    if isinstance(r, Contact):
        return _contact(r)
    if isinstance(r, Account):
        name = Markup(", display name {}").format(name_text(r.display_name, "name")) if r.display_name else Markup("")
        return Markup("Account #{} ({}) held on the device: identifier {}{}").format(
            r.id, name_text(r.app), figure_text(r.identifier, "name", "records/account.jsonl"), name
        )
    return Markup("{} record #{}").format(card.ref.get("type"), card.ref.get("id"))


# a contact's stored values part 1 states besides its identifiers: the app's own words for what the entry is
# (a person, a group, a channel) and the user's role in it, as stored (APP-01 reads the role: rules/group_role.py)
CONTACT_STORED = (("peer_type", "kind as stored"), ("own_role", "the device user's role as stored"))
CONTACT_LISTED = 5  # identifiers of each kind stated at most (then: how many more)


def _contact(r: Contact) -> Markup:
    """A contact, group or channel entry: its name and identifiers as stored, and what the app says it is."""
    parts = [Markup("name {}").format(name_text(r.name, "name"))] if r.name else [Markup("no name stored")]
    for label, values in (("phone number(s)", r.phone_numbers), ("e-mail(s)", r.emails), ("handle(s)", r.handles)):
        if values:
            shown_values = Markup(", ").join(
                figure_text(str(v), "name", "records/contact.jsonl") for v in values[:CONTACT_LISTED]
            )
            more = Markup(" and {} more").format(len(values) - CONTACT_LISTED) if len(values) > CONTACT_LISTED else ""
            parts.append(Markup("{} {}{}").format(label, shown_values, more))
    extra = r.extra if isinstance(r.extra, dict) else {}
    for key, label in CONTACT_STORED:
        if extra.get(key) not in (None, ""):
            parts.append(Markup("{} {}").format(label, name_text(str(extra[key]))))
    return Markup("Contact #{} ({}): {}").format(r.id, name_text(r.app), Markup("; ").join(parts))


def _masked(payment: Payment) -> str:
    from triage.report.html import shown_identifier

    return shown_identifier(payment)


def party(raw: str | None, names: Any = None) -> Markup:
    """The other party's identifier as stored, with the name(s) the phone gives it."""
    if not raw:
        return Markup("an unknown party")
    named = names.of_number(raw) if names is not None else None
    text = figure_text(raw, "name", "records/message.jsonl")
    if named is not None:  # where the phone names it is on the people pages and in records/party.jsonl
        text += Markup(" (named {} in the phone's records)").format(name_text(named.text, "name"))
    return text


def text_of(fact: Fact) -> Markup:
    """The evidence text of the record, as its own block with its own direction (bidi.py); empty when none."""
    r = fact.card.record
    if isinstance(r, Message) and r.body:
        return evidence_block(r.body, "message_body", "records/message.jsonl")
    if isinstance(r, Payment) and r.context:
        return evidence_block(r.context, "text", "records/payment.jsonl")
    return Markup("")


def when(fact: Fact) -> Markup:
    """UTC and UK local time, with the value as stored and its encoding."""
    r = fact.card.record
    if r is None:
        return Markup("time not known")
    name = "taken" if isinstance(r, MediaFile) else "time"
    t = record_time(r)
    raw, encoding = getattr(r, f"{name}_raw", None), getattr(r, f"{name}_encoding", None)
    stored = (
        Markup("; stored as {}{}").format(
            figure_text(raw if isinstance(raw, str) else json.dumps(raw), "name"),
            Markup(" ({})").format(name_text(encoding)) if encoding else "",
        )
        if raw not in (None, "")
        else Markup("")
    )
    if t is None and isinstance(r, (Contact, Account)):
        return Markup("the record has no time of its own")  # an entry of a list, not an event
    if t is None:
        return Markup("time not placed in UTC{}").format(stored)
    local = local_times(t)
    return Markup("{} ({} UK){}").format(figure_text(utc_text(t)), figure_text(local[0] if local else ""), stored)


def where(fact: Fact) -> Markup:
    ref = fact.card.ref
    text = name_text(ref.get("provenance") or "source not recorded", "path", "findings.json")
    if ref.get("table"):
        # a table's name is an identifier of the database, kept whole on its line like the row (display.ltr_html)
        text += Markup(", table {} row {}").format(figure_text(ref["table"], "name"), figure_text(ref["row"], "name"))
    elif ref.get("offset") is not None:
        text += Markup(", byte offset {}").format(figure_text(ref["offset"]))
    if ref.get("sha256"):
        text += Markup("; file SHA-256 {}").format(figure_text(ref["sha256"]))
    return text


# -- the annex of indicators -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleText:
    """What the rule pack says about a rule, for the annex."""

    title: str
    reads: list[str]
    condition: str  # the condition as the pack writes it (compact YAML)
    rationale: str
    innocent: list[str]  # innocent explanations the pack names for it (field `innocent`, when the pack has one)
    sources: list[str]


def rule_texts(pack: Any) -> dict[str, RuleText]:
    """The annex's text of every rule of a loaded pack (rules.pack.RulePack)."""
    import yaml

    return {
        r.id: RuleText(
            r.title,
            list(r.reads),
            yaml.safe_dump(
                r.condition, default_flow_style=True, sort_keys=True, allow_unicode=True, width=10_000
            ).strip(),
            " ".join((r.rationale or "").split()),
            _innocent(r),
            list(r.sources or []),
        )
        for r in pack.rules
    }


def _innocent(rule: Any) -> list[str]:
    for name in ("innocent", "innocent_explanations", "alternatives", "alternative_explanations"):
        value = getattr(rule, name, None)
        if value:
            return [value] if isinstance(value, str) else [str(v) for v in value]
    return []


def rules_of_run(identity: dict[str, Any]) -> dict[str, RuleText] | None:
    """The rule texts of the pack the run used, found by its SHA-256 among the packs shipped with the tool;
    None when it is not one of them (a pack given on the command line: pass `rule_texts(pack)` instead)."""
    from rules.pack import PACKS_DIR, load_pack

    wanted = identity.get("sha256")
    for path in sorted(PACKS_DIR.glob("*.yaml")):
        if hashlib.sha256(path.read_bytes()).hexdigest() == wanted:
            return rule_texts(load_pack(Path(path)))
    return None


@dataclass
class AnnexEntry:
    number: int  # the finding's number, F1…
    finding: dict[str, Any]
    rule: RuleText | None
    facts: list[int]  # part 1's numbers of the records it cites
    not_stated: int  # records it cites that part 1 does not state (beyond the caps)
    defined_at: int | None = None  # the earlier finding of the same rule version whose entry gives its definition

    @property
    def account(self) -> Markup:
        """The rule's own explanation of this finding, figures and quoted right-to-left words isolated."""
        return evidence_block(self.finding.get("explanation") or "", "text", "findings.json", css_class="account")

    @property
    def facts_text(self) -> str:
        return fact_list(self.facts)


def annex(
    finding_views: list[dict[str, Any]], numbers: dict[tuple[str, int], int], rules: dict[str, RuleText] | None
) -> list[AnnexEntry]:
    entries = []
    first: dict[tuple[str, str], int] = {}  # (rule, version) → the finding whose entry defines it
    for n, view in enumerate(finding_views, start=1):
        x = view["f"]
        cited = list(dict.fromkeys((str(ref.get("type")), ref.get("id")) for ref in x["evidence"]))
        stated = sorted({numbers[k] for k in cited if k in numbers})
        defined_at = first.setdefault((x["rule_id"], x["rule_version"]), n)
        entries.append(
            AnnexEntry(
                n,
                x,
                (rules or {}).get(x["rule_id"]),
                stated,
                sum(1 for k in cited if k not in numbers),
                defined_at if defined_at != n else None,
            )
        )
    return entries


def fact_list(numbers: Iterable[int]) -> str:
    """'1, 3–5, 9': fact numbers with runs joined, so a finding citing 200 facts takes one line."""
    out: list[str] = []
    run: list[int] = []
    for n in sorted(set(numbers)):
        if run and n == run[-1] + 1:
            run.append(n)
            continue
        if run:
            out.append(_run_text(run))
        run = [n]
    if run:
        out.append(_run_text(run))
    return ", ".join(out)


def _run_text(run: list[int]) -> str:
    if len(run) == 1:
        return str(run[0])
    if len(run) == 2:
        return f"{run[0]}, {run[1]}"
    return f"{run[0]}\u2013{run[-1]}"
