"""Names beside identifiers: what the phone itself calls a number or a conversation, and where it says so.

A conversation shows `33612345678@s.whatsapp.net` where the phone's contacts say "Abu Jamal", and a group
`…@g.us` where WhatsApp stores its subject. The report shows the name beside the identifier (never instead
of it), with its source on hover, so the examiner reads the phone as its user did and can still check it:

- a conversation's title: the WhatsApp group subject, the Telegram dialog name or the WhatsApp (iOS) contact
  name its messages carry (`Message.extra`), read in one grouped query;
- a number's names: those of the Party linking it (triage/enrich/parties.py), found by any raw form the records
  store it in (`Party.raw_forms`): contacts, WhatsApp push names, accounts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Executable, func, select, text
from sqlalchemy.orm import Session

from triage.model.records import Message, Party

# keys of Message.extra that name the conversation, with the words that say where the name comes from
THREAD_NAME_KEYS = (
    ("group_subject", "the WhatsApp group's subject"),
    ("dialog_name", "the Telegram dialog's name"),
    ("contact_name", "the name WhatsApp shows for the chat"),
)
NAMES_SHOWN = 3  # a number's names beside it (all are on the people pages)


@dataclass(frozen=True)
class Named:
    text: str  # the name(s) as shown
    source: str  # where the phone says so (a hover title and the record)


# The titles on SQLite, by a scan of the table instead of the thread index: in the index's order every message's
# `extra` is a read of its own (1,000,000 messages: 1.9 -> 1.0 s, bench/RESULTS.md). Only messages whose JSON
# holds one of the keys are decoded (instr: the store's JSON is json.dumps's, whose keys are these very words);
# the others would give no title. A JSON text SQLite's functions refuse (a NaN json.dumps wrote) names nothing,
# never stops the query.
_SQLITE_THREAD_TITLES = text(
    "SELECT app, thread, "
    + ", ".join(
        f"min(CASE WHEN json_valid(extra) = 1 THEN json_extract(extra, '$.{key}') END)" for key, _ in THREAD_NAME_KEYS
    )
    + f" FROM {Message.__tablename__} NOT INDEXED WHERE thread IS NOT NULL AND ("
    + " OR ".join(f"instr(extra, '\"{key}\"') > 0" for key, _ in THREAD_NAME_KEYS)
    + ") GROUP BY app, thread"
)


class Names:
    """The names of a report's conversations and numbers, read once from the store."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._by_raw: dict[str, Named] | None = None

    def on(self, session: Session) -> Names:
        """These names, reading what they have not read yet on `session` (a forked child's own connection)."""
        moved = Names(session)
        moved._by_raw = self._by_raw
        return moved

    def of_threads(self, threads: Iterable[Any]) -> None:
        """Set `name` and `name_source` on each ThreadInfo: its messages' own title, else the names of its
        first counterpart."""
        titles = self._thread_titles()
        for t in threads:
            named = titles.get((t.app, t.thread)) or (self.of_number(t.counterparts[0]) if t.counterparts else None)
            if named is not None:
                t.name, t.name_source = named.text, named.source

    def of_number(self, raw: str | None) -> Named | None:
        if not raw:
            return None
        if self._by_raw is None:
            self._by_raw = self._party_names()
        return self._by_raw.get(raw)

    def _thread_titles(self) -> dict[tuple[str, str | None], Named]:
        statement: Executable
        if self.session.get_bind().dialect.name == "sqlite":
            statement = _SQLITE_THREAD_TITLES
        else:
            extra = Message.__table__.c.extra
            titles = [func.min(extra[key].as_string()) for key, _ in THREAD_NAME_KEYS]
            statement = (
                select(Message.app, Message.thread, *titles)
                .where(Message.thread.is_not(None))
                .group_by(Message.app, Message.thread)
            )
        found: dict[tuple[str, str | None], Named] = {}
        for app, thread, *values in self.session.execute(statement):
            for (_, source), value in zip(THREAD_NAME_KEYS, values, strict=True):
                if value:
                    found[(app, thread)] = Named(value, f"{source}, as stored with its messages")
                    break
        return found

    def _party_names(self) -> dict[str, Named]:
        """Every raw form of a number that has a name → its names (a phone has a few thousand numbers)."""
        table = Party.__table__
        by_raw: dict[str, Named] = {}
        for party_id, names, raw_forms in self.session.execute(
            select(table.c.id, table.c.names, table.c.raw_forms).order_by(table.c.id)
        ):
            if not names:
                continue
            shown = ", ".join(names[:NAMES_SHOWN]) + (
                f" (+{len(names) - NAMES_SHOWN})" if len(names) > NAMES_SHOWN else ""
            )
            named = Named(
                shown,
                f"names the phone's records give this number (contacts, apps, accounts): "
                f"person #{party_id} on the people pages",
            )
            for raw in raw_forms or []:
                by_raw.setdefault(str(raw), named)
        return by_raw
