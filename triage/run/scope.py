"""The scope of an examination: which categories of data, from which dates, may be kept at all.

The PCSC Act 2022 s.37 code and the ICO's findings ask that extraction be limited to what a reasonable line
of enquiry needs: categories and a date window
(docs/domain/legal.md, "PCSC Act 2022 s.37 code (extraction of information)"). The scope
is applied where parsed records are stored (triage/run/pipeline.py), so a record outside it never reaches the
case store, and therefore never the rules, the report, the exports or the kiosk's screens. What was left
out is counted by type in the custody log, never silently.

Decisions (README "Scope"):
- Categories name record types: messages, calls, contacts, media, locations, payments. The device record
  and the device's own app accounts are always kept: they identify the exhibit, not its user's life.
- The date window is inclusive, in whole UTC days: FROM 00:00:00 to TO 23:59:59.999999 UTC.
- It applies to the records that have an event time (a message's or call's time, a photo's taken time, a
  position's or payment's time). A contact has no event time: only its category decides.
- A dated kind of record without a time (a photo without EXIF date) is left out unless the officer chose
  to keep undated records: with no time it cannot be shown to be inside the window.
- A kept position that came from a photo or message outside the scope loses that link (the position stays,
  the out-of-scope record is not stored through it).
- Payments read from message text (triage/run/passes.py "payments extracted") are derived only when payments
  are in scope; they derive from in-scope messages only.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from triage.errors import TriageError
from triage.model.records import Account, Base, Call, Contact, Device, Location, MediaFile, Message, Payment

CATEGORIES: dict[str, tuple[type[Base], ...]] = {
    "messages": (Message,),
    "calls": (Call,),
    "contacts": (Contact,),
    "media": (MediaFile,),
    "locations": (Location,),
    "payments": (Payment,),
}
CATEGORY_LABELS = {
    "messages": "Messages (SMS, MMS, chat apps)",
    "calls": "Call logs",
    "contacts": "Contacts and address books",
    "media": "Photos and videos",
    "locations": "Locations (GPS, shared places, photo positions)",
    "payments": "Payments and payment identifiers",
}
ALWAYS_KEPT: tuple[type[Base], ...] = (Device, Account)  # the exhibit's identity
# the attribute holding each dated record type's event time
EVENT_TIME: dict[type[Base], str] = {
    Message: "time_utc",
    Call: "time_utc",
    MediaFile: "taken_utc",
    Location: "time_utc",
    Payment: "time_utc",
}
# links by which CaseStore.insert would store another record along with this one
LINKS = ("media_file", "message")
PAYMENTS_PASS = "payments extracted"  # triage/run/passes.py


class ScopeError(TriageError):
    """A scope that cannot be applied as given (unknown category, window ending before it starts)."""


@dataclass(frozen=True)
class Scope:
    categories: frozenset[str] = frozenset(CATEGORIES)
    start: date | None = None  # first day inside the window (UTC), None: no lower bound
    end: date | None = None  # last day inside the window (UTC), None: no upper bound
    keep_undated: bool = False  # dated kinds of record without a time: kept only when chosen

    def __post_init__(self) -> None:
        unknown = sorted(set(self.categories) - set(CATEGORIES))
        if unknown:
            raise ScopeError(
                f"unknown data categor{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)}; "
                f"choose from {', '.join(CATEGORIES)}"
            )
        if not self.categories:
            raise ScopeError("the scope names no data category; choose at least one of " + ", ".join(CATEGORIES))
        if self.start and self.end and self.end < self.start:
            raise ScopeError(f"the date window ends ({self.end}) before it starts ({self.start}); swap the dates")

    @property
    def is_everything(self) -> bool:
        return set(self.categories) == set(CATEGORIES) and self.start is None and self.end is None

    @property
    def window(self) -> tuple[datetime | None, datetime | None]:
        low = datetime.combine(self.start, time.min, UTC) if self.start else None
        high = datetime.combine(self.end, time.max, UTC) if self.end else None
        return low, high

    def keeps(self, record: Base) -> bool:
        """True when the record is inside the scope (category, then date window)."""
        if isinstance(record, ALWAYS_KEPT):
            return True
        category = category_of(record)
        if category is None or category not in self.categories:
            return False
        return self._in_window(record)

    def _in_window(self, record: Base) -> bool:
        attr = EVENT_TIME.get(type(record))
        if attr is None or (self.start is None and self.end is None):
            return True  # no event time (a contact), or no window
        when = getattr(record, attr, None)
        if when is None:
            return self.keep_undated
        low, high = self.window
        return (low is None or when >= low) and (high is None or when <= high)

    def passes(self, names: tuple[str, ...]) -> tuple[str, ...]:
        """The passes to run: the payments pass only when payments are in scope."""
        return tuple(n for n in names if n != PAYMENTS_PASS or "payments" in self.categories)

    def to_json(self) -> dict[str, Any]:
        """The run parameter the custody log records ("scope")."""
        return {
            "categories": sorted(self.categories),
            "from_utc": self.start.isoformat() if self.start else None,
            "to_utc": self.end.isoformat() if self.end else None,
            "undated_records": "kept" if self.keep_undated else "left out",
            "always_kept": [cls.record_type for cls in ALWAYS_KEPT],
            "window_applies_to": sorted(cls.record_type for cls in EVENT_TIME),
        }

    def describe(self) -> str:
        """One line for people: "messages, locations; 2025-05-12 to 2025-05-19 (UTC); undated left out"."""
        low = self.start.isoformat() if self.start else "the earliest record"
        high = self.end.isoformat() if self.end else "the latest record"
        window = "any date" if not (self.start or self.end) else f"{low} to {high} (UTC, inclusive)"
        undated = "undated records kept" if self.keep_undated else "undated records left out"
        return f"{', '.join(sorted(self.categories))}; {window}; {undated}"


EVERYTHING = Scope()


def category_of(record: Base) -> str | None:
    for name, kinds in CATEGORIES.items():
        if isinstance(record, kinds):
            return name
    return None


def parse_scope(
    categories: str | list[str] | None, start: str | date | None, end: str | date | None, keep_undated: bool = False
) -> Scope:
    """A Scope from text as given on the command line or in a form (comma-separated categories, ISO dates)."""
    if isinstance(categories, str):
        names = [c.strip().lower() for c in categories.split(",") if c.strip()]
    else:
        names = [c.strip().lower() for c in categories or []]
    return Scope(
        frozenset(names) if categories is not None else frozenset(CATEGORIES),
        _day(start, "from"),
        _day(end, "to"),
        keep_undated,
    )


def _day(value: str | date | None, which: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ScopeError(f"the scope's '{which}' date {value!r} is not a date as YYYY-MM-DD") from None


@dataclass
class ScopeFilter:
    """Applies a Scope to records on their way into the store, counting what it left out by type."""

    scope: Scope
    left_out: Counter = field(default_factory=Counter)
    links_cut: Counter = field(default_factory=Counter)

    def admit(self, record: Base) -> bool:
        """True when the record may be stored; a kept record's links to out-of-scope records are cut."""
        if not self.scope.keeps(record):
            self.left_out[record.record_type] += 1
            return False
        for link in LINKS:
            target = getattr(record, link, None)
            if isinstance(target, Base) and not self.scope.keeps(target):
                setattr(record, link, None)
                setattr(record, f"{link}_id", None)
                self.links_cut[f"{record.record_type}.{link}"] += 1
        return True

    def summary(self) -> dict[str, Any]:
        """The custody log's "scope applied" entry: what was left out, by record type."""
        return {
            "scope": self.scope.to_json(),
            "left_out": dict(sorted(self.left_out.items())),
            "links_cut": dict(sorted(self.links_cut.items())),
        }
