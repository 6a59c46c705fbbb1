"""iOS Contacts: AddressBook.sqlitedb `ABPerson` + `ABMultiValue` (docs/formats/contacts_calls.md "iOS AddressBook").

Multi-values: property 3 phone, 4 email, 13 instant-messaging, 22 URL, 46 social profile. Labels are
stored as `_$!<Mobile>!$_` and shown as `Mobile`. Creation/modification dates are Cocoa seconds.
"""

from __future__ import annotations

import re
import sqlite3
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from parsers.base import ParseContext, Schema, SqliteParser
from parsers.sqlite_query import present, tables
from triage.model.records import Base, Contact, build
from triage.model.timeutil import decode, iso

PHONE, EMAIL, IM, URL, SOCIAL = 3, 4, 13, 22, 46
LABEL = re.compile(r"^_\$!<(.*)>!\$_$")
NAME_COLUMNS = [
    "First",
    "Middle",
    "Last",
    "Prefix",
    "Suffix",
    "DisplayName",
    "Nickname",
    "Organization",
    "Department",
    "JobTitle",
    "Note",
    "CreationDate",
    "ModificationDate",
]


def label_text(label: str | None) -> str | None:
    if not label:
        return None
    match = LABEL.match(label)
    return match.group(1) if match else label


class IosContactsParser(SqliteParser):
    name = "ios_contacts"
    description = "iOS Contacts AddressBook.sqlitedb"
    app = "Contacts"
    platform = "iOS"
    produces = (Contact,)
    order = 80
    path_patterns = ("*/Library/AddressBook/AddressBook.sqlitedb", "*/31bb7ba8914766d4ba40d6dfb6113c8b614be442")
    schemas = (
        Schema(
            "AddressBook (ABPerson + ABMultiValue)",
            {"ABPerson": {"ROWID"}, "ABMultiValue": {"record_id", "property", "value"}},
            "fixtures/build_ios_dbs.py",
        ),
    )

    def parse_db(self, db: sqlite3.Connection, ctx: ParseContext) -> Iterator[Base]:
        values = self._multi_values(db)
        cols = present(db, "ABPerson", NAME_COLUMNS)
        for row in db.execute(f"SELECT ROWID{''.join(', ' + c for c in cols)} FROM ABPerson ORDER BY ROWID"):
            row = dict(row)
            mv = values.get(row["ROWID"], {})
            yield build(
                Contact,
                app="contacts",
                name=display_name(row),
                phone_numbers=[v for v, _ in mv.get(PHONE, [])],
                emails=[v for v, _ in mv.get(EMAIL, [])],
                handles=[v for p in (IM, SOCIAL) for v, _ in mv.get(p, [])],
                extra=self._extra(row, mv),
                source_table="ABPerson",
                source_row=str(row["ROWID"]),
            )

    def _multi_values(self, db: sqlite3.Connection) -> dict[int, dict[int, list[tuple[str, str | None]]]]:
        labels: dict[int, str] = {}
        if "ABMultiValueLabel" in tables(db):
            labels = {r[0]: r[1] for r in db.execute("SELECT ROWID, value FROM ABMultiValueLabel")}
        has_label = "label" in present(db, "ABMultiValue", ["label"])
        found: dict[int, dict[int, list[tuple[str, str | None]]]] = defaultdict(lambda: defaultdict(list))
        query = (
            f"SELECT record_id, property, value{', label' if has_label else ''} FROM ABMultiValue "
            "ORDER BY record_id, property, UID"
        )
        for row in db.execute(query):
            if row["value"] in (None, ""):
                continue
            label = label_text(labels.get(row["label"])) if has_label and row["label"] is not None else None
            found[row["record_id"]][row["property"]].append((str(row["value"]), label))
        return found

    def _extra(self, row: dict[str, Any], mv: dict[int, list[tuple[str, str | None]]]) -> dict[str, Any]:
        extra: dict[str, Any] = {
            k: row[k] for k in ("Organization", "Department", "JobTitle", "Nickname", "Note") if row.get(k)
        }
        for column in ("CreationDate", "ModificationDate"):
            if row.get(column) is not None:
                ts = decode(row[column], "cocoa_s")
                extra[column] = {"raw": ts.raw, "utc": iso(ts.utc)}
        phone_labels = [label for _, label in mv.get(PHONE, [])]
        if any(phone_labels):
            extra["phone_labels"] = phone_labels
        if mv.get(URL):
            extra["urls"] = [v for v, _ in mv[URL]]
        return extra


def display_name(row: dict[str, Any]) -> str | None:
    parts = [row.get(k) for k in ("Prefix", "First", "Middle", "Last", "Suffix")]
    name = " ".join(p for p in parts if p) or row.get("DisplayName") or row.get("Nickname") or row.get("Organization")
    return name or None
