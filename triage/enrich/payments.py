"""Payments found in text: a pass over the stored records after parsing (like triage/enrich/parties.py).

Every message body, contact field and media caption/description is read for payment identifiers
(triage/identifiers/payment_ids.py) and amounts with a currency (triage/identifiers/amounts.py); a message
body only when the shared scan of the message text (triage/enrich/text_scan.py) found that it may hold one.
Each becomes a Payment:
- `method` = the identifier kind (iban, card, btc, eth, tron, uk_account, mtcn, moneygram, paypal,
  revolut, wise) or "amount" for a price or sum named without an identifier;
- `direction` = "sent" for an outgoing message, "received" for an incoming one (the direction of
  the message that carries it: who wrote the words, not who paid);
- `context` = the words around it (card numbers masked), `time_*` = the message's time;
- the provenance (file, table, row) of the record it was read from, and `extra.source` naming that
  record, so the finding can always be checked against the evidence;
- `extra.validation` = what was checked ("IBAN mod-97 ok …", "format only …").
The same sum named twice in one text (a bilingual message) is one record (`extra.repeated_as`).
When a message names exactly one amount and one or more identifiers, the amount is put on the
identifier records (`extra.amount_text`) instead of a separate "amount" record, so a sum is not
counted twice for one instruction ("send £2,500 to sort code … account …").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Text, cast

from triage.identifiers.amounts import Amount, find_amounts
from triage.identifiers.payment_ids import Identifier, find_identifiers, mask_card
from triage.model.records import Base, Contact, MediaFile, Message, Payment
from triage.store.rows import column_rows, column_rows_by_id

if TYPE_CHECKING:
    from triage.store import CaseStore

CONTEXT_CHARS = 60
DIRECTIONS = {"outgoing": "sent", "incoming": "received"}
CAPTION_KEYS = ("caption", "description", "comment", "title", "note", "subject", "usercomment", "imagedescription")


@dataclass
class TextSource:
    """One piece of text and what a Payment read from it inherits."""

    record: Base  # or a row of its columns (triage/store/rows.py)
    field: str
    text: str
    direction: str | None = None
    counterpart: str | None = None
    message: Message | None = None


# The columns each source of text is read with (rows, not ORM objects: see triage/store/rows.py).
PROVENANCE = ("source_file_id", "source_table", "source_row", "source_offset", "source_row_sha256")
MESSAGE_COLUMNS = (
    "id",
    "body",
    "direction",
    "sender",
    "counterpart",
    "time_utc",
    "time_raw",
    "time_encoding",
    *PROVENANCE,
)
SERVICE_COLUMNS = (*MESSAGE_COLUMNS, "extra")
CONTACT_COLUMNS = ("id", "name", "phone_numbers", "handles", "extra", *PROVENANCE)
MEDIA_COLUMNS = ("id", "extra", *PROVENANCE)


def provenance_of(record: Any) -> dict[str, Any]:
    """A payment read in a record's text comes from the same file, table, row (and row digest) as that record."""
    return {name: getattr(record, name, None) for name in PROVENANCE}


def extract_payments(store: CaseStore, may_hold: Iterable[int]) -> list[Payment]:
    """Payment records (not yet stored) for every identifier and amount in the stored texts, and the app's
    own payment records. `may_hold`: the ids of the messages whose body may name a payment (the shared
    prefilter, triage/enrich/text_scan.py); the others cannot yield one, so they are not read again."""
    messages = column_rows_by_id(store, Message, MESSAGE_COLUMNS, may_hold)
    contacts = column_rows(store, Contact, CONTACT_COLUMNS)
    media = column_rows(store, MediaFile, MEDIA_COLUMNS)
    payments = [p for source in _texts(messages, contacts, media) for p in payments_in(source)]
    service = column_rows(store, Message, SERVICE_COLUMNS, where=_service_action())
    return payments + service_payments(service)


def _service_action() -> Any:
    """Messages that may be payment service messages: their stored `extra` names a payment action (a
    substring test in the database, a fraction of a JSON parse per row; service_payments checks exactly)."""
    return cast(Message.extra, Text).contains(SERVICE_ACTION_PREFIX, autoescape=True)


# Telegram payment service actions: total_amount is in the currency's smallest unit
# (docs/formats/telegram.md "Message constructors").
TELEGRAM_PAYMENT_ACTIONS = {
    "messageActionPaymentSent": "sent",
    "messageActionPaymentSentMe": "received",
    "messageActionPaymentRefunded": "refunded",
}
SERVICE_ACTION_PREFIX = "messageActionPayment"  # what every name above starts with
# ISO 4217 minor units that are not 2 (Telegram follows ISO 4217; "XTR" is Telegram Stars, whole units).
MINOR_UNITS = {
    "BHD": 3,
    "IQD": 3,
    "JOD": 3,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "TND": 3,
    "JPY": 0,
    "KRW": 0,
    "VND": 0,
    "XTR": 0,
    "ISK": 0,
    "CLP": 0,
    "UGX": 0,
    "XAF": 0,
    "XOF": 0,
}


def service_payments(messages: Iterable[Message]) -> list[Payment]:
    """Payments made inside an app (Telegram payment service messages), not read from text."""
    out = []
    for message in messages:
        action = (message.extra or {}).get("action") or {}
        direction = TELEGRAM_PAYMENT_ACTIONS.get(action.get("name") or "")
        if direction is None or action.get("total_amount") is None:
            continue
        currency = str(action.get("currency") or "").upper() or None
        amount = int(action["total_amount"]) / 10 ** MINOR_UNITS.get(currency or "", 2)
        out.append(
            Payment(
                method="telegram payment",
                identifier=action.get("invoice_slug"),
                amount=amount,
                currency=currency,
                direction=direction,
                counterpart=message.counterpart,
                context=f"{action['name']}: {action['total_amount']} (smallest units of {currency})",
                time_utc=message.time_utc,
                time_raw=message.time_raw,
                time_encoding=message.time_encoding,
                message_id=message.id,
                extra={
                    "source": {"type": "message", "id": message.id, "field": "extra.action"},
                    "validation": "app payment record (service message), amount converted with ISO 4217 minor units",
                    "raw": {
                        k: v
                        for k, v in action.items()
                        if k in ("name", "constructor", "currency", "total_amount", "invoice_slug")
                    },
                },
                **provenance_of(message),
            )
        )
    return out


def _texts(messages: Iterable[Any], contacts: Iterable[Any], media_files: Iterable[Any]) -> Iterator[TextSource]:
    """The texts in the order their payments are stored: messages, contacts, media (each by id)."""
    for message in messages:
        if message.body:
            who = message.sender if message.direction == "incoming" and message.sender else message.counterpart
            yield TextSource(message, "body", message.body, DIRECTIONS.get(message.direction), who, message)
    for contact in contacts:
        label = contact.name or next(iter(contact.phone_numbers or []), None)
        for field_name, value in [
            ("name", contact.name),
            *[(f"handles[{i}]", h) for i, h in enumerate(contact.handles or [])],
            *_strings(contact.extra or {}, "extra"),
        ]:
            if isinstance(value, str) and value:
                yield TextSource(contact, field_name, value, None, label)
    for media in media_files:
        for field_name, value in _strings(media.extra or {}, "extra"):
            if any(key in field_name.lower() for key in CAPTION_KEYS):
                yield TextSource(media, field_name, value, None, None)


def _strings(data: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(data, dict):
        for key in sorted(data, key=str):
            yield from _strings(data[key], f"{path}.{key}")
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _strings(value, f"{path}[{i}]")
    elif isinstance(data, str) and data:
        yield path, data


# Every amount and every identifier but a pay-link handle or a (digit-free) TRON address holds a digit,
# so a text without one is skipped before the dozen expressions run: most messages are chatter.
_MAY_HOLD_PAYMENT = re.compile(
    r"\d|paypal|revolut\.me|wise\.com|(?<![1-9A-HJ-NP-Za-km-z])T[1-9A-HJ-NP-Za-km-z]{33}", re.IGNORECASE
)


def may_hold_payment(text: str) -> bool:
    return _MAY_HOLD_PAYMENT.search(text) is not None


def payments_in(source: TextSource) -> list[Payment]:
    if not may_hold_payment(source.text):
        return []
    identifiers = find_identifiers(source.text)
    amounts, repeats = _distinct(
        [a for a in find_amounts(source.text) if not any(a.start < i.end and i.start < a.end for i in identifiers)]
    )
    shared = amounts[0] if len(amounts) == 1 and identifiers else None
    out = [_payment(source, ident.kind, ident, shared) for ident in identifiers]
    if shared is None:
        out += [_payment(source, "amount", None, amount) for amount in amounts]
    for payment in out:
        again = repeats.get((payment.amount, payment.extra.get("amount_high"), payment.currency))
        if again and payment.amount is not None:
            payment.extra["repeated_as"] = again
    return sorted(out, key=lambda p: p.extra["span"])


def _distinct(amounts: list[Amount]) -> tuple[list[Amount], dict[tuple, list[str]]]:
    """One record per sum: a bilingual message that names "£2,500" twice quotes one price, not two."""
    first: dict[tuple, Amount] = {}
    repeats: dict[tuple, list[str]] = {}
    for amount in amounts:
        key = (amount.value, amount.high, amount.currency)
        if key in first:
            repeats.setdefault(key, []).append(amount.raw)
        else:
            first[key] = amount
    return list(first.values()), repeats


def _payment(source: TextSource, method: str, ident: Identifier | None, amount: Amount | None) -> Payment:
    span = (ident or amount).start, (ident or amount).end  # type: ignore[union-attr]
    record = source.record
    extra: dict[str, Any] = {
        "source": {"type": record.record_type, "id": record.id, "field": source.field},
        "raw": source.text[span[0] : span[1]],
        "span": list(span),
    }
    if ident is not None:
        extra["validation"] = ident.evidence
        if amount is not None:
            extra["amount_text"] = amount.raw
    if amount is not None and amount.high is not None:
        extra["amount_high"] = amount.high
    message = source.message
    return Payment(
        method=method,
        identifier=ident.value if ident else None,
        amount=amount.value if amount else None,
        currency=amount.currency if amount else None,
        direction=source.direction,
        counterpart=source.counterpart,
        context=context(source.text, span[0], span[1], find_identifiers(source.text)),
        time_utc=message.time_utc if message else None,
        time_raw=message.time_raw if message else None,
        time_encoding=message.time_encoding if message else None,
        message_id=message.id if message else None,
        extra=extra,
        **provenance_of(record),
    )


def context(text: str, start: int, end: int, identifiers: list[Identifier]) -> str:
    """The words around [start, end): whole words only, '…' where cut; card numbers masked."""
    left = max(0, start - CONTEXT_CHARS)
    right = min(len(text), end + CONTEXT_CHARS)
    if left > 0:
        space = text.find(" ", left, start)
        left = space + 1 if space != -1 else left
    if right < len(text):
        space = text.rfind(" ", end, right)
        right = space if space != -1 else right
    snippet = text[left:right]
    for ident in identifiers:
        if ident.kind == "card" and ident.raw in snippet:
            snippet = snippet.replace(ident.raw, mask_card(ident.value))
    return ("…" if left > 0 else "") + " ".join(snippet.split()) + ("…" if right < len(text) else "")
