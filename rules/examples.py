"""Records written as data (rule examples, labelled scenarios) loaded into an in-memory case store.

A record is a mapping with `type` (message, location, payment, contact, call, media_file, device, account) and the
record's fields; `time` is an ISO 8601 UTC string; `ref` names a record so that a position or a payment
can point at its message with `message: <ref>`, and a position at its photo with `media_file: <ref>`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypeVar

from triage.enrich.citation import describe
from triage.model.records import Account, Base, Call, Contact, Device, Location, MediaFile, Message, Payment
from triage.store import CaseStore

R = TypeVar("R", bound=Base)

BUILDERS = {
    "message": Message,
    "location": Location,
    "payment": Payment,
    "contact": Contact,
    "call": Call,
    "media_file": MediaFile,
}
DEFAULTS: dict[str, dict[str, Any]] = {
    "message": {
        "app": "whatsapp",
        "thread": None,
        "direction": "incoming",
        "counterpart": None,
        "sender": None,
        "body": None,
        "time_raw": None,
        "time_encoding": "example",
    },
    "location": {"origin": "example"},
    "payment": {"method": "amount"},
    "contact": {"app": "contacts"},
    "call": {
        "app": "phone",
        "direction": "incoming",
        "counterpart": None,
        "time_raw": None,
        "time_encoding": "example",
    },
    "media_file": {"path": "/example.jpg", "name": "example.jpg", "size": None, "sha256": None},
}


# PHN-01/02: a SIM the phone has seen (`device` with extra.sim, as parsers/device/android.py writes it), the
# apps installed (`device` with extra.installed_apps) and the accounts registered (`account`)
BUILDERS.update({"device": Device, "account": Account})
DEFAULTS.update({"device": {"os_name": "Android"}, "account": {"app": "whatsapp"}})


def utc(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00"))


def load_records(items: Iterable[dict[str, Any]], store: CaseStore | None = None) -> CaseStore:
    store = store or CaseStore("sqlite://")
    refs: dict[str, Base] = {}
    for item in items:
        data = dict(item)
        kind = data.pop("type")
        ref = data.pop("ref", None)
        fields = {**DEFAULTS.get(kind, {}), **data}
        if "time" in fields:
            fields["time_utc"] = utc(fields.pop("time"))
        if kind == "message" and fields.get("sender") is None and fields["direction"] == "incoming":
            fields["sender"] = fields["counterpart"]
        message_ref = fields.pop("message", None)
        media_ref = fields.pop("media_file", None)
        if kind == "message":
            fields["thread"] = fields.get("thread") or fields.get("counterpart")
            fields.setdefault("time_utc", None)
        if kind == "call":
            fields.setdefault("time_utc", None)
        record = BUILDERS[kind](**fields)
        store.add(record)
        store.flush()
        if message_ref is not None:
            target = _ref_of(refs, message_ref, Message)
            if isinstance(record, Location):
                record.message = target
            else:
                record.extra = {**(record.extra or {}), "source": {"type": "message", "id": target.id}}
        if media_ref is not None and isinstance(record, Location):
            record.media_file = _ref_of(refs, media_ref, MediaFile)
        if ref:
            refs[ref] = record
    store.flush()
    return store


def describer(store: CaseStore):  # noqa: ANN201 - the engine's Describer
    return lambda record: describe(record, store)


def _ref_of(refs: dict[str, Base], ref: str, kind: type[R]) -> R:
    """The example record `ref` names, which must be of `kind` (a position's message, a photo's media file)."""
    target = refs[ref]
    if not isinstance(target, kind):
        raise ValueError(f"example ref {ref!r} is a {target.record_type}, not a {kind.record_type}")
    return target
