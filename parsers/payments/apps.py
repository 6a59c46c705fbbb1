"""Payment and wallet apps that the public tools know (docs/formats/payments.md "Payment apps").

Readable layouts are parsed into Payment records:
- Cash App (Android) `cash_money.db`: `payment` joined to `customer` by sender_id / recipient_id,
  `display_date` (unix ms), `render_data` JSON (`amount.amount` in cents, `note`), `state`, `role`;
- Revolut (Android) `payments_recent_db`: `payments_recent_v2` recipients and transaction ids;
- MetaMask (iOS) `persist-root` and Coinbase (iOS) MMKV storage: the crypto addresses they hold, found
  by scanning the bytes and kept only when their checksum is valid (triage/identifiers/payment_ids.py).
Stores that cannot be read are reported by name, never passed over in silence: PayPal's encrypted
shared preferences and BRD's encrypted key-value store, and Apple Wallet's passes23.sqlite, whose
`payment_transaction` layout this tool has not verified against a real database.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from typing import Any

from parsers.base import ParseContext, Parser, Schema, SqliteParser
from triage.identifiers.payment_ids import check_btc, check_eth, check_tron
from triage.model.records import Base, Payment, times
from triage.model.timeutil import decode

MAX_SCAN_BYTES = 64 * 1024 * 1024  # wallet state files are small; a larger one is scanned in part and says so


class CashAppParser(SqliteParser):
    name = "cash_app"
    description = "Cash App (Android) cash_money.db payments"
    app = "Cash App"
    platform = "Android"
    produces = (Payment,)
    order = 230
    path_patterns = ("*/com.squareup.cash/databases/cash_money.db",)
    schemas = (
        Schema(
            "cash_money.db (payment + customer)",
            {
                "payment": {"role", "sender_id", "recipient_id", "state", "display_date", "render_data"},
                "customer": {"customer_id", "cashtag", "customer_display_name"},
            },
            "fixtures/build_payments.py",
        ),
    )

    def parse_db(self, db: sqlite3.Connection, ctx: ParseContext) -> Iterator[Base]:
        customers = {
            r["customer_id"]: (r["cashtag"], r["customer_display_name"])
            for r in db.execute("SELECT customer_id, cashtag, customer_display_name FROM customer")
        }
        for row in db.execute(
            "SELECT rowid AS _rowid, role, sender_id, recipient_id, state, display_date, "
            "render_data FROM payment ORDER BY rowid"
        ):
            yield self._payment(dict(row), customers, ctx)

    def _payment(self, row: dict, customers: dict, ctx: ParseContext) -> Payment:
        render = _json(row["render_data"])
        if row["render_data"] and render is None:
            ctx.warn(f"payment row {row['_rowid']}: render_data is not JSON; amount and note not read")
        money = (render or {}).get("amount") or {}
        cents = money.get("amount") if isinstance(money, dict) else None
        role = str(row["role"] or "")
        direction = "sent" if "SEND" in role.upper() else "received" if "RECIP" in role.upper() else None
        other = row["recipient_id"] if direction == "sent" else row["sender_id"] if direction == "received" else None
        cashtag, display = customers.get(other, (None, None)) if other else (None, None)
        return Payment(
            method="cash_app",
            identifier=cashtag or other,
            amount=cents / 100 if isinstance(cents, (int, float)) else None,
            currency=money.get("currency_code") if isinstance(money, dict) else None,
            direction=direction,
            counterpart=display or cashtag or other,
            context=(render or {}).get("note"),
            **times("time", decode(row["display_date"], "unix_ms")),
            extra={
                "role": row["role"],
                "state": row["state"],
                "sender_id": row["sender_id"],
                "recipient_id": row["recipient_id"],
                "sender": customers.get(row["sender_id"]),
                "recipient": customers.get(row["recipient_id"]),
                **({} if direction else {"note": f"role {role!r} not understood: direction unknown"}),
            },
            source_table="payment",
            source_row=str(row["_rowid"]),
        )


class RevolutRecentParser(SqliteParser):
    name = "revolut"
    description = "Revolut (Android) payments_recent_db recipients"
    app = "Revolut"
    platform = "Android"
    produces = (Payment,)
    order = 240
    path_patterns = ("*/com.revolut.revolut/databases/payments_recent_db",)
    schemas = (
        Schema(
            "payments_recent_db (payments_recent_v2)",
            {"payments_recent_v2": {"recipientId", "recipientType", "itemId", "itemType", "unreadSyncTimestamp"}},
            "fixtures/build_payments.py",
        ),
    )

    def parse_db(self, db: sqlite3.Connection, ctx: ParseContext) -> Iterator[Base]:
        for row in db.execute("SELECT rowid AS _rowid, * FROM payments_recent_v2 ORDER BY rowid"):
            row = dict(row)
            yield Payment(
                method="revolut",
                identifier=row["recipientId"],
                counterpart=row["recipientId"],
                **times("time", decode(row["unreadSyncTimestamp"], "unix_ms")),
                extra={k: row[k] for k in ("recipientType", "itemId", "itemType", "unreadCounter") if k in row},
                source_table="payments_recent_v2",
                source_row=str(row["_rowid"]),
            )


# path pattern -> why the store cannot be read (reported as a warning naming the file)
UNREADABLE_STORES: dict[str, str] = {
    "*/com.paypal.android.p2pmobile/shared_prefs/*_encrypted.xml": (
        "not readable: PayPal keeps account and transaction data in AndroidX EncryptedSharedPreferences "
        "(key in the Android Keystore)"
    ),
    "*/com.breadwallet/databases/platform.db": (
        "not readable: BRD kvStoreTable values (txn2-* transaction metadata) are encrypted; keys and sizes only"
    ),
    "*/library/passes/passes23.sqlite": (
        "not parsed: Apple Wallet payment_transaction layout not verified by this tool; examine the file manually"
    ),
}
WALLET_TEXT_STORES: dict[str, str] = {
    "*/documents/persiststore/persist-root": "metamask",
    "*/documents/mmkv/cb_rrn_mmkv_storage": "coinbase",
}
ADDRESS = re.compile(
    rb"(?<![A-Za-z0-9])(0x[0-9a-fA-F]{40}|T[1-9A-HJ-NP-Za-km-z]{33}|bc1[02-9ac-hj-np-z]{6,87}|"
    rb"[13][1-9A-HJ-NP-Za-km-z]{25,34})(?![A-Za-z0-9])"
)
CHECKS = (("eth", "0x", check_eth), ("tron", "T", check_tron), ("btc", "", check_btc))


class WalletStoresParser(Parser):
    """Wallet files read as bytes: addresses from MetaMask/Coinbase, warnings for stores that are locked."""

    name = "wallet_stores"
    description = "MetaMask/Coinbase wallet addresses; PayPal, BRD and Apple Wallet stores reported when unreadable"
    app = "Wallet apps"
    platform = "any"
    produces = (Payment,)
    order = 250
    fixtures = ("tests/enrich/test_payments.py",)  # the test writes each wallet store it reads
    path_patterns = (*UNREADABLE_STORES, *WALLET_TEXT_STORES)

    def parse(self, ctx: ParseContext) -> Iterator[Base]:
        path = ctx.entry.path.lower()
        for pattern, reason in UNREADABLE_STORES.items():
            if _match(path, pattern):
                ctx.warn(f"{ctx.entry.path}: {reason}")
                return
        app = next(a for p, a in WALLET_TEXT_STORES.items() if _match(path, p))
        data, longer = ctx.read_head(MAX_SCAN_BYTES)
        if longer:
            ctx.warn(f"{ctx.entry.path}: only the first {MAX_SCAN_BYTES} bytes scanned for wallet addresses")
        seen: set[str] = set()
        for m in ADDRESS.finditer(data):
            yield from self._address(m, app, seen)

    def _address(self, m: re.Match[bytes], app: str, seen: set[str]) -> Iterator[Payment]:
        text = m.group(1).decode("ascii")
        for kind, prefix, check in CHECKS:
            if not text.startswith(prefix) or (kind == "btc" and text.startswith(("0x", "T"))):
                continue
            verdict = check(text)
            if verdict.ok and verdict.value not in seen:
                seen.add(verdict.value)
                yield Payment(
                    method=kind,
                    identifier=verdict.value,
                    context=f"{app} wallet storage",
                    extra={"app": app, "validation": verdict.evidence},
                    source_offset=m.start(1),
                )
            return


def _match(path: str, pattern: str) -> bool:
    import fnmatch

    return fnmatch.fnmatchcase(path, pattern.lower())


def _json(value: Any) -> dict | None:
    if value is None:
        return None
    try:
        data = json.loads(value if isinstance(value, str) else bytes(value).decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None
