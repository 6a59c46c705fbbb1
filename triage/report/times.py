"""Times as the report shows them: UTC, and the same instant in the report's local zones (London, Paris).

A phone's pages show hundreds of thousands of instants, each in both zones, so the local text is made
with isoformat (a third faster than strftime, the same characters for years 1000 to 9999; strftime
writes the others, whose year it does not pad).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

LOCAL_ZONES = (("London", ZoneInfo("Europe/London")), ("Paris", ZoneInfo("Europe/Paris")))
_ZONES = tuple(zone for _, zone in LOCAL_ZONES)


def _utc(value: datetime | str | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _local_text(t: datetime) -> str:
    """'2025-05-14 18:02:11 BST' for a time already in its zone."""
    if t.year >= 1000:
        return t.isoformat(" ", "seconds")[:19] + " " + str(t.tzname())
    return t.strftime("%Y-%m-%d %H:%M:%S %Z")


def local_times(value: datetime | str | None) -> list[str]:
    """The instant in each local zone of the report, e.g. ['2025-05-14 18:02:11 BST', '… 19:02:11 CEST']."""
    t = _utc(value)
    if t is None:
        return []
    return [_local_text(t.astimezone(zone)) for zone in _ZONES]


def utc_text(value: datetime | str | None) -> str:
    t = _utc(value)
    return "" if t is None else t.strftime("%Y-%m-%d %H:%M:%S UTC")
