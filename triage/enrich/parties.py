"""Link the people in the records: one Party per phone number, across contacts, messages and calls.

Runs after parsing. Country hints come from the Device records (SIM ICCID/MCC, network, the phone's
own number, the device locale) and, for a contact, from that contact's other numbers. A number whose
country stays unknown is linked by its national digits, so `07501234567` in the SMS and in the
contacts is still one party, marked ambiguous with its candidate countries.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from triage.identifiers.phones import Hint, NumberReading, read_number, region_of_iccid, region_of_locale, region_of_mcc
from triage.model.records import Account, Base, Call, Contact, Device, Message, Party
from triage.store.rows import column_rows

if TYPE_CHECKING:
    from triage.store import CaseStore
    from triage.store.rows import StoreReader

LINKED_KINDS = ("number", "whatsapp-jid")


@dataclass
class _PartyDraft:
    reading: NumberReading
    names: set[str] = field(default_factory=set)
    apps: set[str] = field(default_factory=set)
    raw_forms: set[str] = field(default_factory=set)
    # (type, field, raw, ids): one group per way the records name the number, their ids packed (8 bytes each):
    # a number named by 100,000 messages is one group, not 100,000 entries, until its record is made
    refs: list[tuple[str, str, str, Sequence[int]]] = field(default_factory=list)

    def to_record(self, key: str) -> Party:
        r = self.reading
        flat = sorted((t, i, f, raw) for t, f, raw, ids in self.refs for i in ids)
        return Party(
            key=key,
            e164=r.e164,
            region=r.region,
            basis=r.basis,
            ambiguous=r.ambiguous,
            candidates=list(r.candidates),
            names=sorted(self.names),
            apps=sorted(self.apps),
            raw_forms=sorted(self.raw_forms),
            refs=[{"type": t, "id": i, "field": f, "raw": raw} for t, i, f, raw in flat],
        )


def device_hints(devices: Iterable[Device]) -> list[Hint]:
    """Country hints from device facts, strongest first: SIM, then network, then locale."""
    sim: list[Hint] = []
    network: list[Hint] = []
    locale: list[Hint] = []
    for device in devices:
        for number in device.phone_numbers or []:
            reading = read_number(str(number))
            if reading and reading.e164 and reading.region:
                sim.append(Hint(reading.region, f"the device's own number {reading.e164}"))
        for key, value in _flatten(device.extra or {}):
            sim, network, locale = _hint_from_fact(key, str(value), sim, network, locale)
    return _dedupe([*sim, *network, *locale])


def _hint_from_fact(
    key: str, value: str, sim: list[Hint], network: list[Hint], locale: list[Hint]
) -> tuple[list[Hint], list[Hint], list[Hint]]:
    name = key.lower()
    if "iccid" in name or "icc_id" in name:
        region = region_of_iccid(value)
        if region:
            sim.append(Hint(region, f"SIM country from ICCID {value[:6]}…"))
    elif name.endswith("mcc") or name.endswith("mcc_string"):
        region = region_of_mcc(value)
        if region:
            sim.append(Hint(region, f"SIM country from MCC {value}"))
    elif "sim" in name and "iso-country" in name or name in ("sim_country", "sim_country_iso"):
        if len(value.strip()) == 2:
            sim.append(Hint(value.strip().upper(), f"SIM country ({key}={value})"))
    elif "operator.iso-country" in name or name in ("network_country", "network_country_iso"):
        if len(value.strip()) == 2:
            network.append(Hint(value.strip().upper(), f"network country ({key}={value})"))
    elif "locale" in name or name in ("persist.sys.country", "ro.product.country"):
        region = region_of_locale(value) if "locale" in name else value.strip().upper()[:2] or None
        if region:
            locale.append(Hint(region, f"device locale ({key}={value})"))
    return sim, network, locale


def _flatten(data: Any, prefix: str = "") -> Iterable[tuple[str, Any]]:
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _flatten(v, str(k))
    elif isinstance(data, list):
        for v in data:
            yield from _flatten(v, prefix)
    elif data not in (None, ""):
        yield prefix, data


def _dedupe(hints: list[Hint]) -> list[Hint]:
    seen, out = set(), []
    for hint in hints:
        if hint.region not in seen:
            seen.add(hint.region)
            out.append(hint)
    return out


# The columns each record type is linked by: a pass reads these rows, not whole records (triage/store/rows.py).
PARTY_COLUMNS: dict[type[Base], tuple[str, ...]] = {
    Contact: ("id", "app", "name", "phone_numbers", "handles"),
    Message: ("id", "app", "counterpart", "sender"),
    Call: ("id", "app", "counterpart", "extra"),
    Account: ("id", "app", "identifier", "display_name"),
}


def link_parties_in(store: CaseStore) -> list[Party]:
    """`link_parties` over the case store, reading only the columns that name a number."""
    return list(parties_in(store))


def parties_in(store: StoreReader) -> Iterator[Party]:
    """`parties` over the case store, reading only the columns that name a number."""
    return parties(lambda cls: column_rows(store, cls, PARTY_COLUMNS[cls]) if cls in PARTY_COLUMNS else store.all(cls))


def link_parties(fetch: Callable[[type[Base]], Iterable[Any]]) -> list[Party]:
    """Party records (not yet stored), one per number key, in key order (deterministic). `fetch(cls)` gives
    the records of a type, or rows holding at least their PARTY_COLUMNS and `record_type`."""
    return list(parties(fetch))


def parties(fetch: Callable[[type[Base]], Iterable[Any]]) -> Iterator[Party]:
    """`link_parties` one party at a time: each record (with its refs spelled out) is made as it is taken,
    so a phone's parties are never all in memory with every ref they name (issue 14: memory flat in N)."""
    hints = device_hints(fetch(Device))
    drafts: dict[str, _PartyDraft] = {}
    # a phone repeats a few hundred numbers across hundreds of thousands of messages: read each form once
    readings: dict[tuple[str | None, tuple[tuple[str, str], ...]], NumberReading | None] = {}
    plain: dict[str, NumberReading | None] = {}  # without any hint: what a contact's own numbers say

    def read_once(raw: Any, extra_hints: list[Hint] | None) -> NumberReading | None:
        text = None if raw is None else str(raw)
        key = (text, tuple((h.region, h.basis) for h in extra_hints) if extra_hints else ())
        if key not in readings:
            readings[key] = read_number(text, [*(extra_hints or []), *hints])
        return readings[key]

    def read_plain(text: str) -> NumberReading | None:
        if text not in plain:
            plain[text] = read_number(text)
        return plain[text]

    def mention(
        raw: Any,
        record_type: str,
        ids: Sequence[int],
        field_name: str,
        app: str,
        name: str | None = None,
        extra_hints: list[Hint] | None = None,
    ) -> None:
        """`raw` as stored in `field_name` of these records (one record, or every message naming it)."""
        reading = read_once(raw, extra_hints)
        if reading is None or reading.kind not in LINKED_KINDS or reading.key is None:
            return
        draft = drafts.get(reading.key)
        if draft is None:
            draft = drafts[reading.key] = _PartyDraft(reading)
        if reading.e164 and not draft.reading.e164:
            draft.reading = reading
        elif reading.ambiguous and not draft.reading.ambiguous:
            # any form of the number that fits several countries makes the party ambiguous, whichever came first
            draft.reading = NumberReading(
                **{
                    **draft.reading.__dict__,
                    "ambiguous": True,
                    "candidates": tuple(sorted(set(draft.reading.candidates) | set(reading.candidates))),
                    "basis": f"{draft.reading.basis}; the form {reading.raw!r} also fits "
                    f"{', '.join(reading.candidates)}",
                }
            )
        draft.apps.add(app)
        draft.raw_forms.add(str(raw))
        if name:
            draft.names.add(name)
        draft.refs.append((record_type, field_name, str(raw), ids))

    for device in fetch(Device):
        for number in device.phone_numbers or []:
            mention(number, device.record_type, (device.id,), "phone_numbers", "device", "device owner")
    for contact in fetch(Contact):
        own = _contact_hints(contact, read_plain)
        for number in [*(contact.phone_numbers or []), *(contact.handles or [])]:
            mention(number, contact.record_type, (contact.id,), "phone_numbers", contact.app, contact.name, own)
    for (field_name, app, raw), ids in _message_mentions(fetch(Message)).items():
        mention(raw, Message.record_type, ids, field_name, app)
    for call in fetch(Call):
        mention(call.counterpart, call.record_type, (call.id,), "counterpart", call.app, extra_hints=_call_hints(call))
    for account in fetch(Account):
        mention(account.identifier, account.record_type, (account.id,), "identifier", account.app, account.display_name)
    _merge_national_into_known(drafts)
    for key in sorted(drafts):
        yield drafts.pop(key).to_record(key)


def _message_mentions(messages: Iterable[Any]) -> dict[tuple[str, str, str | None], array[int]]:
    """(field, app, number as stored) -> ids of the messages naming it, in order of first appearance.

    A phone has hundreds of thousands of messages but a few thousand numbers: each number is then linked
    once with all its messages. The order of first appearance is the order a message-by-message reading
    meets each form, so the first form with a country still decides the party's reading."""
    mentions: dict[tuple[str, str, str | None], array[int]] = {}
    for message in messages:
        key = ("counterpart", message.app, message.counterpart)
        ids = mentions.get(key)
        if ids is None:
            ids = mentions[key] = array("q")
        ids.append(message.id)
        if message.sender and message.sender != message.counterpart:
            key = ("sender", message.app, message.sender)
            ids = mentions.get(key)
            if ids is None:
                ids = mentions[key] = array("q")
            ids.append(message.id)
    return mentions


def _merge_national_into_known(drafts: dict[str, _PartyDraft]) -> None:
    """A national number whose one candidate is a number seen elsewhere in full joins that party.

    The evidence itself then resolves the country (`basis` says so); with two or more such candidates
    the number stays on its own, ambiguous.
    """
    known = {key for key, d in drafts.items() if d.reading.e164}
    for key in [k for k in drafts if k.startswith("national:")]:
        draft = drafts[key]
        candidates = {c.split(" ", 1)[0] for c in draft.reading.candidates}
        matches = sorted(candidates & known)
        if len(matches) != 1:
            continue
        target = drafts[matches[0]]
        target.names |= draft.names
        target.apps |= draft.apps
        target.raw_forms |= draft.raw_forms
        target.refs += draft.refs
        note = f"national form {', '.join(sorted(draft.raw_forms))} linked: the only candidate seen in full"
        target.reading = NumberReading(
            **{
                **target.reading.__dict__,
                "basis": f"{target.reading.basis}; {note}",
                "ambiguous": target.reading.ambiguous or draft.reading.ambiguous,
                "candidates": tuple(sorted(set(target.reading.candidates) | set(draft.reading.candidates))),
            }
        )
        del drafts[key]


def _call_hints(call: Any) -> list[Hint]:
    """The call log's own country for the number (Android `countryiso`, iOS `ZISO_COUNTRY_CODE`)."""
    for key in ("countryiso", "ZISO_COUNTRY_CODE"):
        value = str((call.extra or {}).get(key) or "").strip()
        if len(value) == 2 and value.isalpha():
            return [Hint(value.upper(), f"call log country ({key}={value})")]
    return []


def _contact_hints(contact: Any, read: Callable[[str], NumberReading | None] = read_number) -> list[Hint]:
    """A contact's international numbers say which country its national numbers belong to."""
    hints = []
    for number in [*(contact.phone_numbers or []), *(contact.handles or [])]:
        reading = read(str(number))
        if reading and reading.e164 and reading.region:
            hints.append(Hint(reading.region, f"the same contact's other number {reading.e164}"))
    return _dedupe(hints)
