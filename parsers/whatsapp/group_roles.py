"""The device user's role in each WhatsApp group of msgstore.db (docs/formats/whatsapp.md "Group membership and
roles"): one Contact per group the user is listed in, named by the group's subject, with `extra.own_role`
(owner / admin / member) for the rules (APP-01, docs/domain/rule_catalogue.md).

Only the user's own participant row is read: the other members' rows are many on a big phone and say
nothing about the user's role. Both generations: `group_participant_user.rank` (modern) and
`group_participants.admin` (legacy), where 0 is a member, 1 an admin and 2 the group's creator.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

from parsers.base import table_columns
from parsers.sqlite_query import tables
from triage.model.records import Base, Contact, build

APP = "whatsapp"
ROLES = {0: "member", 1: "admin", 2: "owner"}  # 2: WhatsApp's "superadmin", the group's creator


def group_roles(db: sqlite3.Connection) -> Iterator[Base]:
    """Contacts for the groups the user's own participant row names (modern table first, then legacy)."""
    names = tables(db)
    seen: set[str] = set()
    if "group_participant_user" in names and "jid" in names:
        yield from _modern(db, seen)
    if "group_participants" in names:
        yield from _legacy(db, seen, names)


def _modern(db: sqlite3.Connection, seen: set[str]) -> Iterator[Base]:
    if not {"group_jid_row_id", "user_jid_row_id", "rank"} <= table_columns(db, "group_participant_user"):
        return
    has_subject = "subject" in table_columns(db, "chat")
    subject = "c.subject" if has_subject else "NULL"
    chat_join = "LEFT JOIN chat c ON c.jid_row_id = gp.group_jid_row_id" if has_subject else ""
    # the user's own row: a user jid with an empty address, or none at all (the app's marker for "me")
    sql = (
        f"SELECT gp._id AS row_id, g.raw_string AS group_jid, gp.rank AS rank, {subject} AS subject "
        "FROM group_participant_user gp JOIN jid g ON g._id = gp.group_jid_row_id "
        "LEFT JOIN jid u ON u._id = gp.user_jid_row_id "
        f"{chat_join} WHERE IFNULL(u.raw_string, '') = '' ORDER BY gp._id"
    )
    for row in db.execute(sql):
        if row["group_jid"] and row["group_jid"] not in seen:
            seen.add(row["group_jid"])
            yield _group(dict(row), "group_participant_user", "rank")


def _legacy(db: sqlite3.Connection, seen: set[str], names: set[str]) -> Iterator[Base]:
    if not {"gjid", "jid", "admin"} <= table_columns(db, "group_participants"):
        return
    has_subject = "chat_list" in names and {"key_remote_jid", "subject"} <= table_columns(db, "chat_list")
    subject = "cl.subject" if has_subject else "NULL"
    join = "LEFT JOIN chat_list cl ON cl.key_remote_jid = gp.gjid" if has_subject else ""
    sql = (
        f"SELECT gp._id AS row_id, gp.gjid AS group_jid, gp.admin AS rank, {subject} AS subject "
        f"FROM group_participants gp {join} WHERE IFNULL(gp.jid, '') = '' ORDER BY gp._id"
    )
    for row in db.execute(sql):
        if row["group_jid"] and row["group_jid"] not in seen:
            seen.add(row["group_jid"])
            yield _group(dict(row), "group_participants", "admin")


def _group(row: dict[str, Any], table: str, column: str) -> Contact:
    rank = row["rank"]
    return build(
        Contact,
        app=APP,
        name=row["subject"],
        handles=[row["group_jid"]],
        extra={
            "peer_type": "group",
            "own_role": ROLES.get(rank, "unknown") if isinstance(rank, int) else "unknown",
            "own_role_raw": {"table": table, column: rank},
        },
        source_table=table,
        source_row=str(row["row_id"]),
    )
