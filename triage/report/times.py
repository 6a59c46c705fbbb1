"""Times as the report shows them: UTC, and the same instant in the report's local zones (London, Paris).

A phone's pages show hundreds of thousands of instants, each in both zones, so the local text is made
with isoformat (a third faster than strftime, the same characters for years 1000 to 9999; strftime
writes the others, whose year it does not pad).

The pages read times as the case store's text (`StoreTime`, 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC) and never
make a datetime for most of them: the UTC text is a slice of it, and the local text is the UTC hour moved by
the zone's offset, worked out once per UTC day (`LocalDays`), followed by the minutes and seconds, which a
zone whose offset is whole hours leaves as they are. A day in which a zone changes its offset (or whose
offset is not whole hours, or whose year isoformat writes otherwise than strftime) takes the exact way.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

LOCAL_ZONES = (("London", ZoneInfo("Europe/London")), ("Paris", ZoneInfo("Europe/Paris")))
_ZONES = tuple(zone for _, zone in LOCAL_ZONES)
_STORE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}")
DAYS_KEPT = 8192  # UTC days whose zone offsets are remembered (22 years; a few hundred bytes each)


class StoreTime(str):
    """A UTC instant as the case store's SQLite text writes it: 'YYYY-MM-DD HH:MM:SS.ffffff' (always six
    digits of microseconds, so text order is time order)."""

    __slots__ = ()


def store_time(t: datetime) -> StoreTime:
    """The StoreTime of an aware datetime."""
    return StoreTime(t.astimezone(UTC).isoformat(" ", "microseconds")[:26])


def parse_store_time(text: str) -> StoreTime | None:
    """`text` as a StoreTime when it is in the store's format (digits where digits go), else None."""
    return StoreTime(text) if _STORE_TEXT.fullmatch(text) else None


def as_datetime(t: StoreTime) -> datetime:
    return datetime.fromisoformat(t).replace(tzinfo=UTC)


def _utc(value: datetime | str | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    if type(value) is StoreTime:
        return as_datetime(value)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _local_text(t: datetime) -> str:
    """'2025-05-14 18:02:11 BST' for a time already in its zone."""
    if t.year >= 1000:
        return t.isoformat(" ", "seconds")[:19] + " " + str(t.tzname())
    return t.strftime("%Y-%m-%d %H:%M:%S %Z")


def local_times(value: datetime | str | None) -> list[str]:
    """The instant in each local zone of the report, e.g. ['2025-05-14 18:02:11 BST', '… 19:02:11 CEST']."""
    if type(value) is StoreTime:
        return LOCAL_DAYS.texts(value)
    t = _utc(value)
    if t is None:
        return []
    return [_local_text(t.astimezone(zone)) for zone in _ZONES]


def utc_text(value: datetime | str | None) -> str:
    t = _utc(value)
    return "" if t is None else t.strftime("%Y-%m-%d %H:%M:%S UTC")


def iso_text(t: StoreTime) -> str:
    """timeutil.iso of the instant: '2025-05-14T17:02:11.530Z', milliseconds only when it has a fraction."""
    if t.endswith("000000", 20):
        return t[:10] + "T" + t[11:19] + "Z"
    return t[:10] + "T" + t[11:23] + "Z"


def day_of(t: StoreTime) -> str:
    """The UTC day as strftime('%Y-%m-%d') names it (years before 1000 unpadded, as the pages always named them)."""
    return t[:10] if t[0] != "0" else as_datetime(t).strftime("%Y-%m-%d")


class LocalDays:
    """The local texts of StoreTimes through their UTC day: per day, each zone's whole-hour offset and
    abbreviation when the zone keeps them through that day (checked at every hour and at its last
    microsecond: no zone changes twice within an hour), else None and the exact way. A row then costs an
    hour's addition and a few joins; a day costs 25 conversions per zone, once."""

    def __init__(self) -> None:
        self.days: dict[str, tuple[str, str, str, tuple[tuple[int, str], ...]] | None] = {}

    def texts(self, t: StoreTime) -> list[str]:
        day = t[:10]
        try:
            known = self.days[day]
        except KeyError:  # a day not seen yet (or no longer kept)
            if len(self.days) >= DAYS_KEPT:
                self.days.clear()
            known = self.days[day] = _day_offsets(day)
        if known is None:
            utc = as_datetime(t)
            return [_local_text(utc.astimezone(zone)) for zone in _ZONES]
        before, same, after, zones = known
        hour = int(t[11:13])
        rest = t[13:19]
        texts = []
        for offset, abbreviation in zones:
            local = hour + offset
            if local < 0:
                texts.append(before + _HOURS[local + 24] + rest + abbreviation)
            elif local < 24:
                texts.append(same + _HOURS[local] + rest + abbreviation)
            else:
                texts.append(after + _HOURS[local - 24] + rest + abbreviation)
        return texts

    def around(self, t: StoreTime, before: str, after: str) -> str:
        """`before + text + after` for each of `texts(t)`, as one string (a row's cells, a bubble's times)."""
        texts = self.texts(t)
        if len(texts) == 2:  # London and Paris (LOCAL_ZONES): no loop
            return before + texts[0] + after + before + texts[1] + after
        return "".join([before + text + after for text in texts])


_HOURS = tuple(f"{h:02d}" for h in range(24))
_HOUR = timedelta(hours=1)


def _day_offsets(day: str) -> tuple[str, str, str, tuple[tuple[int, str], ...]] | None:
    """('YYYY-MM-DD ' of the day before, of the day, of the day after, ((offset hours, ' ABBR') per zone)), or
    None when a zone's offset or abbreviation changes during the UTC day, is not whole hours, or a local
    date falls outside the years isoformat writes as strftime does (1000 to 9999)."""
    if day[0] == "0" or day >= "9999-12-31":
        return None
    start = datetime.fromisoformat(day).replace(tzinfo=UTC)
    instants = [start + n * _HOUR for n in range(24)] + [start + timedelta(days=1, microseconds=-1)]
    zones = []
    for zone in _ZONES:
        local = [t.astimezone(zone) for t in instants]
        offset, name = local[0].utcoffset(), local[0].tzname()
        if offset is None or offset % _HOUR or any(x.utcoffset() != offset or x.tzname() != name for x in local):
            return None
        if local[0].year < 1000:
            return None
        zones.append((offset // _HOUR, " " + str(name)))
    before = (start - timedelta(days=1)).date()
    if before.year < 1000 or any(not -24 < hours < 24 for hours, _ in zones):
        return None
    after = (start + timedelta(days=1)).date()
    return before.isoformat() + " ", day + " ", after.isoformat() + " ", tuple(zones)


LOCAL_DAYS = LocalDays()
