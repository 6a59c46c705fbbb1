"""Android contacts: contacts2.db `raw_contacts` + `data` + `mimetypes`
(docs/formats/contacts_calls.md "Android contacts2.db").

One Contact per raw contact (per account), so the account a number came from (phone, SIM, WhatsApp,
Google …) stays visible; deleted raw contacts still present in the table are reported, flagged.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from parsers.base import ParseContext, Schema, SqliteParser
from parsers.sqlite_query import present, tables
from triage.model.records import Base, Contact, build

NAME = "vnd.android.cursor.item/name"
PHONE = "vnd.android.cursor.item/phone_v2"
EMAIL = "vnd.android.cursor.item/email_v2"


class AndroidContactsParser(SqliteParser):
    name = "android_contacts"
    description = "Android contacts (contacts2.db)"
    app = "Contacts"
    platform = "Android"
    produces = (Contact,)
    order = 40
    path_patterns = (
        "*/com.android.providers.contacts/databases/contacts2.db",
        "*/com.samsung.android.providers.contacts/databases/contacts2.db",
    )
    schemas = (
        Schema(
            "raw_contacts/data/mimetypes tables",
            {
                "raw_contacts": {"_id"},
                "data": {"raw_contact_id", "mimetype_id", "data1"},
                "mimetypes": {"_id", "mimetype"},
            },
            "fixtures/build_demo.py",
        ),
    )

    def parse_db(self, db: sqlite3.Connection, ctx: ParseContext) -> Iterator[Base]:
        details = self._details(db)
        for row in db.execute(
            f"SELECT {', '.join(self._raw_columns(db))} FROM raw_contacts r {self._account_join(db)} ORDER BY r._id"
        ):
            row = dict(row)
            d = details.get(row["_id"], {})
            name = d.get("name") or row.get("display_name")
            if not (name or d.get("phones") or d.get("emails")):
                continue  # an empty raw contact carries nothing to report
            extra = {
                k: row[k]
                for k in ("account_name", "account_type", "times_contacted", "starred")
                if row.get(k) not in (None, "", 0)
            }
            if row.get("deleted"):
                extra["deleted"] = True
            if d.get("normalized"):
                extra["normalized_numbers"] = d["normalized"]
            yield build(
                Contact,
                app="contacts",
                name=name,
                phone_numbers=d.get("phones", []),
                emails=d.get("emails", []),
                extra=extra,
                source_table="raw_contacts",
                source_row=str(row["_id"]),
            )

    def _raw_columns(self, db: sqlite3.Connection) -> list[str]:
        cols = ["r._id"] + [
            f"r.{c}" for c in present(db, "raw_contacts", ["display_name", "deleted", "times_contacted", "starred"])
        ]
        if "accounts" in tables(db) and "account_id" in [c for c in present(db, "raw_contacts", ["account_id"])]:
            cols += ["a.account_name", "a.account_type"]
        else:
            cols += [f"r.{c}" for c in present(db, "raw_contacts", ["account_name", "account_type"])]
        return cols

    def _account_join(self, db: sqlite3.Connection) -> str:
        if "accounts" in tables(db) and present(db, "raw_contacts", ["account_id"]):
            return "LEFT JOIN accounts a ON a._id = r.account_id"
        return ""

    def _details(self, db: sqlite3.Connection) -> dict[int, dict[str, Any]]:
        out: dict[int, dict[str, Any]] = defaultdict(lambda: defaultdict(list))
        data4 = "d.data4" if present(db, "data", ["data4"]) else "NULL"
        sql = (
            f"SELECT d.raw_contact_id, m.mimetype, d.data1, {data4} FROM data d "
            "JOIN mimetypes m ON m._id = d.mimetype_id WHERE m.mimetype IN (?, ?, ?) ORDER BY d._id"
        )
        for raw_id, mimetype, value, normalized in db.execute(sql, (NAME, PHONE, EMAIL)):
            if value in (None, ""):
                continue
            entry = out[raw_id]
            if mimetype == NAME:
                entry["name"] = value
            elif mimetype == PHONE:
                entry["phones"].append(value)
                if normalized:
                    entry["normalized"].append(normalized)
            else:
                entry["emails"].append(value)
        return out
