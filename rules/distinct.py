"""The `distinct` aggregate: how many different SIM cards, SIM countries, messaging accounts or messaging app
copies the phone's own records name (PHN-01, PHN-02: docs/domain/rule_catalogue.md).

A rule's condition `distinct: {of: FACET, min: N, families: [...]}` (or a list of such, any one enough) holds
when the records a rule reads give at least N different values of FACET in one group. Each facet is a
function of one record giving (group, value, how the value is said) triples:

- `sim_card`: a SIM's ICCID (Android siminfo rows; iOS records naming their ICCID); one group;
- `sim_country`: the country that issued a SIM, from its MCC, else its IMSI's first three digits, else its
  ICCID's country code (docs/formats/android_device_state.md "SIM history"); one group;
- `messaging_identity`: an account's phone number or user id, grouped by the messaging app's family
  (WhatsApp and WhatsApp Business are one family): the catalogue's "different numbers";
- `messaging_instance`: a messaging app present on the phone (an account's app, an installed package and its
  copies), grouped by family: two copies of one family, whatever their numbers.

Counting is over the handful of device and account records of a phone, never over messages. The country
of a SIM is where the card was issued: the count of countries is scored, never which they are.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from triage.identifiers.phones import region_of_iccid, region_of_mcc
from triage.model.records import Account, Base, Device

Facet = tuple[str, str, str]  # (group, value, the value as the finding says it)
Met = tuple[list[str], dict[int, list[str]]]  # (what was counted, in words; notes by index of the record)

ICCID_KEYS = ("icc_id", "iccid", "ICCID", "kCTICCID", "LastKnownICCID")  # the names the device parsers keep
TELEGRAM_USER = re.compile(r"\buser:(\d+)\b")
PHONE_LIKE = re.compile(r"^\+?\d{7,15}$")
WORDS = {
    "sim_card": "different SIM cards",
    "sim_country": "SIM cards from different countries",
    "messaging_identity": "accounts with different numbers or user ids",
    "messaging_instance": "copies or variants of the app",
}


def alternatives(spec: Any) -> list[dict[str, Any]]:
    """A `distinct` spec as its list of alternatives (one mapping, or a list of them)."""
    return list(spec) if isinstance(spec, list) else [spec]


def distinct_met(spec: dict[str, Any], records: list[Base]) -> Met | None:
    """What `spec` counted (in words) and the notes of the records that count, when some group reaches `min`;
    None otherwise."""
    facet = FACETS[spec["of"]]
    wanted = set(spec.get("families", []))
    groups: dict[str, dict[str, list[int]]] = {}
    said: dict[tuple[str, int], list[str]] = {}
    for index, record in enumerate(records):
        for group, value, words in facet(record):
            if wanted and group not in wanted:
                continue
            groups.setdefault(group, {}).setdefault(value, []).append(index)
            said.setdefault((group, index), [])
            if words not in said[(group, index)]:
                said[(group, index)].append(words)
    met = {group: values for group, values in groups.items() if len(values) >= spec.get("min", 2)}
    if not met:
        return None
    summary = [
        f"{len(values)} {WORDS[spec['of']]}{f' ({group})' if group else ''}: {', '.join(sorted(values))}"
        for group, values in sorted(met.items())
    ]
    notes: dict[int, list[str]] = {}
    for group, values in sorted(met.items()):
        for index in sorted({i for found in values.values() for i in found}):
            notes.setdefault(index, []).extend(said[(group, index)])
    return summary, notes


def distinct_reasons(spec: Any, records: Iterable[Base]) -> list[str]:
    """The sentences of every alternative of `spec` that holds (an escalation condition's reasons)."""
    listed = list(records)
    return [line for alt in alternatives(spec) if (met := distinct_met(alt, listed)) for line in met[0]]


# -- facets ----------------------------------------------------------------------------------------
def _sim_of(record: Base) -> dict[str, Any]:
    if not isinstance(record, Device):
        return {}
    extra = record.extra or {}
    sim = extra.get("sim")
    if isinstance(sim, dict):
        return sim
    iccid = next((extra[k] for k in ICCID_KEYS if extra.get(k)), None)  # iOS: the card the phone last held
    return {"icc_id": iccid} if iccid else {}


def iccid_of(sim: dict[str, Any]) -> str | None:
    """The card's ICCID as digits (some cards pad it with a trailing F); None when absent or too short."""
    raw = next((str(sim[k]) for k in ICCID_KEYS if sim.get(k)), "")
    digits = re.sub(r"[\s-]", "", raw).upper().rstrip("F")
    return digits if len(digits) >= 10 and digits.isdigit() else None


def sim_country(sim: dict[str, Any]) -> tuple[str, str] | None:
    """(country, basis): from the MCC (text, else number), else the IMSI's first digits, else the ICCID."""
    mcc = str(sim.get("mcc_string") or "").strip()
    if not mcc and isinstance(sim.get("mcc"), int) and sim["mcc"] > 0:
        mcc = f"{sim['mcc']:03d}"
    imsi = str(sim.get("imsi") or "").strip()
    for code, basis in ((mcc, f"MCC {mcc}"), (imsi[:3] if len(imsi) >= 5 else "", f"IMSI {imsi[:3]}…")):
        if code.isdigit() and len(code) == 3 and (country := region_of_mcc(code)):
            return country, basis
    iccid = iccid_of(sim)
    country = region_of_iccid(iccid) if iccid else None
    return (country, f"ICCID {iccid[:5]}…") if country and iccid else None


def _sim_card(record: Base) -> list[Facet]:
    iccid = iccid_of(_sim_of(record))
    return [("", iccid, f"SIM card {iccid}")] if iccid else []


def _sim_country(record: Base) -> list[Facet]:
    sim = _sim_of(record)
    found = sim_country(sim) if sim else None
    if found is None:
        return []
    country, basis = found
    return [("", country, f"SIM issued in {country} ({basis})")]


def family_of(app: str) -> str:
    """A messaging app's family: the first word of its label ("whatsapp business" → whatsapp)."""
    return (app or "").strip().lower().split(" ")[0]


def account_identity(account: Account) -> str | None:
    """The number or user id an account is registered with; None for a label (an app's name)."""
    if family_of(account.app) == "telegram":  # the Telegram parsers name the user id; the phone is one field of it
        found = TELEGRAM_USER.search(f"{account.identifier} {account.display_name or ''}")
        if found:
            return f"user:{found.group(1)}"
    identifier = (account.identifier or "").strip()
    plain = re.sub(r"[\s().-]", "", identifier)
    return plain if PHONE_LIKE.match(plain) else None


def _messaging_identity(record: Base) -> list[Facet]:
    if not isinstance(record, Account):
        return []
    identity = account_identity(record)
    return [(family_of(record.app), identity, f"{record.app} account {identity}")] if identity else []


def _messaging_instance(record: Base) -> list[Facet]:
    if isinstance(record, Account):
        return [(family_of(record.app), record.app, f"{record.app} account on the phone")]
    if not isinstance(record, Device):
        return []
    installed = (record.extra or {}).get("installed_apps") or {}
    found = []
    for app in installed.get("messaging", []):
        if not isinstance(app, dict) or not app.get("app"):
            continue
        user = f" (user {app['user']})" if app.get("user") else ""
        found.append((app.get("family") or family_of(app["app"]), app["app"] + user, f"{app['package']} installed"))
    return found


FACETS: dict[str, Callable[[Base], list[Facet]]] = {
    "sim_card": _sim_card,
    "sim_country": _sim_country,
    "messaging_identity": _messaging_identity,
    "messaging_instance": _messaging_instance,
}
