"""Android account manager databases: the accounts apps registered on the phone (Google, WhatsApp, Telegram …),
one Account record per row of `accounts` (docs/formats/android_device_state.md "Account databases").

Three generations, told apart by structure:
- accounts.db (`/data/system/users/<n>/`, Android before 7): one database with `accounts` (name, type,
  password …) and `grants`;
- accounts_ce.db (`/data/system_ce/<n>/`, 7 and later, readable only after the first unlock): `accounts`
  with the password, and `extras`;
- accounts_de.db (`/data/system_de/<n>/`, 7 and later): `accounts` without the password, and `grants`.

What an account's name holds is its app's choice: Telegram writes its numeric user id, other apps a phone
number, an e-mail address or a label. The name is kept as stored, except that a Telegram user id is written
`user:<id>` as the Telegram parsers write it, so that it is never read as a phone number.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from parsers.base import ParseContext, Schema, SqliteParser
from parsers.device.messenger_apps import BY_PACKAGE
from parsers.sqlite_query import present
from triage.model.records import Account, Base

FIXTURE = "fixtures/device_state/data/system_ce/0/accounts_ce.db"
ACCOUNTS = {"_id", "name", "type"}


class AndroidAccountsParser(SqliteParser):
    name = "android_accounts"
    description = "Android accounts.db / accounts_ce.db / accounts_de.db: the accounts apps registered"
    app = "System (account manager)"
    platform = "Android"
    produces = (Account,)
    path_patterns = (
        "*/system/users/*/accounts.db",
        "*/system_ce/*/accounts_ce.db",
        "*/system_de/*/accounts_de.db",
    )
    # first match wins: the single database of old releases has both the password and `grants`
    schemas = (
        Schema(
            "accounts.db (before Android 7)",
            {"accounts": ACCOUNTS | {"password"}, "grants": {"accounts_id", "auth_token_type", "uid"}},
            "fixtures/device_state_legacy/data/system/users/0/accounts.db",
        ),
        Schema(
            "accounts_ce.db (Android 7+, credential-encrypted)",
            {"accounts": ACCOUNTS | {"password"}, "extras": {"accounts_id", "key", "value"}},
            FIXTURE,
        ),
        Schema(
            "accounts_de.db (Android 7+, device-encrypted)",
            {"accounts": ACCOUNTS, "grants": {"accounts_id", "auth_token_type", "uid"}},
            "fixtures/device_state/data/system_de/0/accounts_de.db",
        ),
    )

    def parse_db(self, db: sqlite3.Connection, ctx: ParseContext) -> Iterator[Base]:
        previous = "previous_name" in present(db, "accounts", ["previous_name"])
        columns = "_id, name, type" + (", previous_name" if previous else "")
        for row in db.execute(f"SELECT {columns} FROM accounts ORDER BY _id"):
            name, kind = (row["name"] or "").strip(), (row["type"] or "").strip()
            if not name or not kind:
                ctx.warn(f"accounts row {row['_id']} has no name or no type: not read")
                continue
            yield Account(
                app=app_of(kind),
                identifier=identifier_of(name, kind),
                display_name=describe(kind, row["previous_name"] if previous else None),
                source_table="accounts",
                source_row=str(row["_id"]),
            )


def app_of(account_type: str) -> str:
    """A messaging app's label ("whatsapp business"), else the account type as stored ("com.google")."""
    known = BY_PACKAGE.get(account_type)
    return known.label if known is not None else account_type[:64]


def identifier_of(name: str, account_type: str) -> str:
    known = BY_PACKAGE.get(account_type)
    if known is not None and known.family == "telegram" and name.isdigit():
        return f"user:{name}"  # Telegram names its account by user id: not a phone number
    return name[:256]


def describe(account_type: str, previous_name: str | None) -> str:
    text = f"Android account of type {account_type}"
    return text + (f", previously named {previous_name}" if previous_name else "")
