"""The report header's device block: every Device record's facts merged, each value with its sources.

Device records are kept one per source file (build.prop, settings, SIM table, plists, backup Info.plist);
here the same value said by several files is shown once, followed by every file that says it, and
different values for one fact (two SIMs, two build.props that disagree) are all shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from triage.identifiers.phones import read_number
from triage.model.records import Account, Device, SourceFile

# (label, where the value is: a Device attribute, or keys looked up in `extra` and its nested dicts)
FACTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Manufacturer", ("manufacturer",)),
    ("Model", ("model",)),
    ("Operating system", ("os",)),
    ("Device name", ("device_name", "DeviceName")),
    ("Serial number", ("serial",)),
    ("IMEI", ("imei",)),
    ("Phone number", ("phone_numbers",)),
    ("ICCID (SIM)", ("icc_id", "iccid", "ICCID", "kCTICCID", "LastKnownICCID")),
    ("Carrier", ("carrier_name", "OperatorName")),
    ("Build fingerprint", ("fingerprint",)),
    ("Security patch", ("security_patch",)),
    ("Bluetooth name / address", ("bluetooth_name", "bluetooth_address")),
    ("App account", ()),  # the phone's own accounts (Account records), not a Device attribute
)
_ATTRIBUTES = {"manufacturer", "model", "serial", "imei", "phone_numbers"}


@dataclass
class Fact:
    label: str
    value: str
    sources: list[str] = field(default_factory=list)  # provenance strings, in record order


def device_facts(
    devices: Iterable[Device], sources: Mapping[int, SourceFile | Any], accounts: Iterable[Account] = ()
) -> list[Fact]:
    """Facts in FACTS order, values in the order records state them, each with its sources. The phone's own
    app accounts are listed ("App account": app, identifier, display name) and add the numbers they are
    registered with (a Telegram account's number is the user's, even when no SIM table names it: issue 15
    item 9), each source naming the app."""
    facts: dict[tuple[str, str], Fact] = {}

    def state(label: str, value: str, where: str) -> None:
        fact = facts.setdefault((label, value), Fact(label, value))
        if where not in fact.sources:
            fact.sources.append(where)

    for device in devices:
        where = _where(device, sources)
        for label, keys in FACTS:
            for value in _values(device, keys):
                state(label, value, where)
    for account in accounts:
        named = f" ({account.display_name})" if account.display_name else ""
        state("App account", f"{account.app}: {account.identifier}{named}", _where(account, sources))
        reading = read_number(account.identifier or "")
        if reading is not None and reading.e164 and account.identifier.lstrip().startswith("+"):
            state("Phone number", reading.e164, f"{account.app} account: {_where(account, sources)}")
    order = {label: i for i, (label, _) in enumerate(FACTS)}
    return sorted(facts.values(), key=lambda f: order[f.label])  # stable: record order within a label


def _where(record: Device | Account, sources: Mapping[int, SourceFile | Any]) -> str:
    source = sources.get(record.source_file_id) if record.source_file_id is not None else None
    where = source.provenance if source is not None else "(source not recorded)"
    if record.source_table:
        where += f" (table {record.source_table}, row {record.source_row})"
    return where


def _values(device: Device, keys: tuple[str, ...]) -> list[str]:
    found: list[Any] = []
    for key in keys:
        if key == "os":
            os_text = " ".join(x for x in (device.os_name, device.os_version) if x)
            found.append(os_text if device.os_version else None)
        elif key in _ATTRIBUTES:
            value = getattr(device, key)
            found.extend(value if isinstance(value, list) else [value])
        else:
            found.extend(_in_extra(device.extra or {}, key))
    return [str(v) for v in found if v not in (None, "")]


def _in_extra(extra: dict, key: str) -> list[Any]:
    """`key` at the top of `extra` or one level down (e.g. extra["sim"]["icc_id"])."""
    hits = [extra[key]] if key in extra else []
    hits += [v[key] for v in extra.values() if isinstance(v, dict) and key in v and v is not extra.get("properties")]
    return hits
