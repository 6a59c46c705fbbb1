"""WhatsApp Pay in msgstore.db (docs/formats/whatsapp.md "Payments in msgstore.db"): `pay_transaction`
(modern, JIDs by row id), the legacy `pay_transactions` (JIDs as text), and `message_payment` rows no
transaction row explains.

Selected by structure only (the tables' names and columns), so a msgstore.db without payments, the
usual case outside India and Brazil, is simply not this parser's file and raises no warning.
`amount_1000` is the amount × 1000, declared without a type (it may come back as TEXT: coerced).
The unit of `timestamp` is not documented: it is read as milliseconds when the value is that large,
else as seconds, and the record says which was chosen.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from parsers.base import ParseContext, Schema, SqliteParser, table_columns
from parsers.sqlite_query import present, tables
from triage.identifiers.amounts import find_amounts
from triage.model.records import Base, Payment, times
from triage.model.timeutil import decode

METHOD = "whatsapp_pay"
MODERN = {
    "pay_transaction": {
        "_id",
        "message_row_id",
        "remote_jid_row_id",
        "id",
        "timestamp",
        "status",
        "sender_jid_row_id",
        "receiver_jid_row_id",
        "type",
        "currency_code",
        "amount_1000",
    },
    "jid": {"_id", "raw_string"},
}
LEGACY = {
    "pay_transactions": {
        "key_remote_jid",
        "key_from_me",
        "key_id",
        "id",
        "timestamp",
        "status",
        "sender",
        "receiver",
        "type",
        "currency",
        "amount_1000",
    }
}
EXTRA_COLUMNS = [
    "key_id",
    "interop_id",
    "error_code",
    "credential_id",
    "methods",
    "bank_transaction_id",
    "metadata",
    "init_timestamp",
    "request_key_id",
    "country",
    "version",
    "service_id",
]
MS_THRESHOLD = 100_000_000_000  # 1973 in ms, 5138 in s: larger values are milliseconds


class WhatsAppPaymentsParser(SqliteParser):
    name = "whatsapp_payments"
    description = "WhatsApp Pay transactions in msgstore.db (pay_transaction, legacy pay_transactions, message_payment)"
    app = "WhatsApp"
    platform = "Android"
    produces = (Payment,)
    order = 220
    path_patterns = ()  # structure decides: see the module docstring

    schemas = (
        Schema("modern (pay_transaction, JIDs by row id)", MODERN, "fixtures/build_payments.py"),
        Schema("legacy (pay_transactions, JIDs as text)", LEGACY, "fixtures/build_payments.py"),
    )

    def parse_db(self, db: sqlite3.Connection, ctx: ParseContext) -> Iterator[Base]:
        names = tables(db)
        jids = {r[0]: r[1] for r in db.execute("SELECT _id, raw_string FROM jid")} if "jid" in names else {}
        explained: set[int] = set()
        if "pay_transaction" in names and "jid" in names:
            yield from _modern(db, jids, explained)
        if "pay_transactions" in names:
            yield from _legacy(db)
        if "message_payment" in names and "message" in names and "jid" in names:
            yield from _message_payments(db, jids, explained, ctx)


def _modern(db: sqlite3.Connection, jids: dict[int | None, str], explained: set[int]) -> Iterator[Payment]:
    extra_cols = present(db, "pay_transaction", EXTRA_COLUMNS)
    has_message = "from_me" in table_columns(db, "message")
    join = "LEFT JOIN message m ON m._id = p.message_row_id" if has_message else ""
    from_me = "m.from_me" if has_message else "NULL"
    sql = f"SELECT p.*, {from_me} AS message_from_me FROM pay_transaction p {join} ORDER BY p._id"
    for row in db.execute(sql):
        row = dict(row)
        if row["message_row_id"] is not None:
            explained.add(row["message_row_id"])
        sender, receiver = jids.get(row["sender_jid_row_id"]), jids.get(row["receiver_jid_row_id"])
        direction = _direction(row["message_from_me"])
        counterpart = jids.get(row["remote_jid_row_id"]) or (receiver if direction == "sent" else sender)
        extra = _extra(row, extra_cols, sender=sender, receiver=receiver)
        extra["message_row_id"] = row["message_row_id"]
        yield _payment(row, row["currency_code"], direction, counterpart, extra, "pay_transaction", row["_id"])


def _legacy(db: sqlite3.Connection) -> Iterator[Payment]:
    extra_cols = present(db, "pay_transactions", EXTRA_COLUMNS)
    for row in db.execute("SELECT rowid AS _rowid, * FROM pay_transactions ORDER BY rowid"):
        row = dict(row)
        direction = _direction(row["key_from_me"])
        counterpart = row["key_remote_jid"] or (row["receiver"] if direction == "sent" else row["sender"])
        extra = _extra(row, extra_cols, sender=row["sender"], receiver=row["receiver"])
        yield _payment(row, row["currency"], direction, counterpart, extra, "pay_transactions", row["_rowid"])


def _message_payments(
    db: sqlite3.Connection, jids: dict[int | None, str], explained: set[int], ctx: ParseContext
) -> Iterator[Payment]:
    """Payment messages whose transaction row is gone: the amount survives as display text."""
    sql = (
        (
            "SELECT mp.*, m.from_me, m.timestamp AS message_timestamp, c.jid_row_id AS chat_jid_row_id "
            "FROM message_payment mp LEFT JOIN message m ON m._id = mp.message_row_id "
            "LEFT JOIN chat c ON c._id = m.chat_row_id ORDER BY mp.message_row_id"
        )
        if "chat" in tables(db)
        else (
            "SELECT mp.*, m.from_me, m.timestamp AS message_timestamp, NULL AS chat_jid_row_id "
            "FROM message_payment mp LEFT JOIN message m ON m._id = mp.message_row_id ORDER BY mp.message_row_id"
        )
    )
    for row in db.execute(sql):
        row = dict(row)
        if row["message_row_id"] in explained:
            continue
        text = row.get("amount_with_symbol") or ""
        found = find_amounts(text)
        if text and not found:
            ctx.warn(f"message_payment row {row['message_row_id']}: amount '{text}' not understood; kept as text")
        amount = found[0] if found else None
        sender, receiver = jids.get(row.get("sender_jid_row_id")), jids.get(row.get("receiver_jid_row_id"))
        yield Payment(
            method=METHOD,
            identifier=None,
            amount=amount.value if amount else None,
            currency=amount.currency if amount else None,
            direction=_direction(row["from_me"]),
            counterpart=jids.get(row["chat_jid_row_id"]) or sender or receiver,
            context=text or None,
            **times("time", decode(row["message_timestamp"], "unix_ms")),
            extra={
                "amount_with_symbol": text,
                "sender": sender,
                "receiver": receiver,
                "message_row_id": row["message_row_id"],
                "note": "payment message without a pay_transaction row",
            },
            source_table="message_payment",
            source_row=str(row["message_row_id"]),
        )


def _payment(
    row: dict, currency: Any, direction: str | None, counterpart: str | None, extra: dict, table: str, rowid: int
) -> Payment:
    raw_time = row["timestamp"]
    encoding = "unix_ms" if isinstance(raw_time, (int, float)) and raw_time >= MS_THRESHOLD else "unix_s"
    extra["time_unit"] = f"{encoding} (chosen by magnitude: WhatsApp does not document the unit)"
    amount, note = amount_from_1000(row["amount_1000"])
    if note:
        extra["amount_note"] = note
    return Payment(
        method=METHOD,
        identifier=row["id"],
        amount=amount,
        currency=currency or None,
        direction=direction,
        counterpart=counterpart,
        context=None,
        **times("time", decode(raw_time, encoding)),
        extra=extra,
        source_table=table,
        source_row=str(rowid),
    )


def amount_from_1000(raw: Any) -> tuple[float | None, str | None]:
    """amount_1000 (int, real or TEXT by SQLite affinity) → amount; a value that is not a number is kept raw."""
    if raw is None or raw == "":
        return None, None
    try:
        return float(Decimal(str(raw).strip()) / 1000), None
    except InvalidOperation:
        return None, f"amount_1000 is not a number: {raw!r}"


def _direction(from_me: Any) -> str | None:
    if from_me is None:
        return None
    return "sent" if int(from_me) == 1 else "received"


def _extra(row: dict, columns: list[str], sender: str | None, receiver: str | None) -> dict[str, Any]:
    extra: dict[str, Any] = {
        "status": row.get("status"),
        "type": row.get("type"),
        "sender": sender,
        "receiver": receiver,
    }
    for column in columns:
        value = row.get(column)
        if value not in (None, ""):
            extra[column] = value if not isinstance(value, bytes) else value.hex()
    return extra
