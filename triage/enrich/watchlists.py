"""Investigator-supplied watch-lists (CSV): phone numbers, usernames, wallet addresses, IBANs, media hashes.

One format for every list, given with `--watchlist` (repeatable): CSV with a header row and the columns
`kind,value[,label][,max_distance]`. Kinds: phone, username, wallet, iban, sha256, phash, or any other
word. Phone numbers are compared in E.164 when they can be read without a guessed country (see
triage.identifiers.phones), otherwise as digits; other values case-insensitively without spaces.

Media kinds are checked when the list is read, and a malformed one stops the run naming its line:
- `sha256`: a file's content, 64 hex digits;
- `phash`: a 64-bit perceptual hash as 16 hex digits (imagehash pHash, as in MediaFile.extra["phash"]),
  which also finds the same picture re-compressed or resized; `max_distance` (optional, 0-16, default
  `DEFAULT_MAX_DISTANCE`) is the largest difference in bits still counted as a match.
Those rows also become `Watchlists.media` entries, which triage/enrich/watchlist_media.py marks on MediaFile records.

The older media-list layout (columns `sha256`, `phash`, `label`, `max_distance`, once given with the
deprecated `--media-watchlist`) is still read: each hash becomes a row of its kind, and `Watchlists.notes`
says the file should be converted. Lines starting with `#` are comments; row numbers are the file's line
numbers as an editor shows them.
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from triage.errors import TriageError
from triage.identifiers.phones import read_number

DEFAULT_MAX_DISTANCE = 4  # conservative: a watch-list hit must hold up as "the same picture"
MEDIA_KINDS = ("sha256", "phash")
LEGACY_MEDIA_COLUMNS = {"sha256", "phash"}
PHASH_HEX = re.compile(r"^[0-9a-f]{16}$")
_HEX = {"sha256": re.compile(r"^[0-9a-f]{64}$"), "phash": PHASH_HEX}
_DIGITS = {"sha256": 64, "phash": 16}


class WatchlistError(TriageError, ValueError):
    """A watch-list that cannot be read as given (names the file and line, and what to fix)."""


@dataclass(frozen=True)
class MediaEntry:
    """A sha256 or phash row of a watch-list."""

    list: str  # file name, as findings cite it
    list_sha256: str
    row: int
    kind: str  # "sha256" or "phash"
    value: str  # lower-case hex
    label: str
    max_distance: int

    @property
    def phash(self) -> int | None:
        return int(self.value, 16) if self.kind == "phash" else None


@dataclass(frozen=True)
class Row:
    """One entry of a list, whichever layout it came from."""

    line: int
    kind: str
    value: str
    label: str
    max_distance: str


@dataclass
class Watchlists:
    entries: dict[str, dict[str, str]] = field(default_factory=dict)  # key -> {kind, list, row, label}
    files: dict[str, str] = field(default_factory=dict)  # file name -> sha256
    media: list[MediaEntry] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the examiner should know (old layouts read)

    @classmethod
    def load(cls, paths: list[Path]) -> Watchlists:
        lists = cls()
        for path in paths:
            lists.add_file(path)
        return lists

    def add_file(self, path: Path) -> None:
        raw = read_raw(path)
        digest = hashlib.sha256(raw).hexdigest()
        self.files[path.name] = digest
        rows, legacy = read_rows(path, raw)
        if legacy:
            self.notes.append(
                f"{path.name}: read in the old media-list layout (sha256/phash columns); "
                f"convert it to 'kind,value,label[,max_distance]' rows"
            )
        for row in rows:
            self.add_row(path, digest, row)

    def add_row(self, path: Path, digest: str, row: Row) -> None:
        if row.kind in MEDIA_KINDS:
            value = checked_hash(path, row)
            self.media.append(
                MediaEntry(path.name, digest, row.line, row.kind, value, row.label, checked_distance(path, row))
            )
            entry_value = value
        else:
            entry_value = row.value
        self.entries[key_of(entry_value, row.kind)] = {
            "kind": row.kind,
            "list": path.name,
            "row": str(row.line),
            "label": row.label,
        }

    def lookup(self, value: str | None, kinds: list[str] | None = None) -> str | None:
        """'<list> row <n> (<label>)' when `value` is listed (optionally only of these kinds)."""
        if not value:
            return None
        for kind in ("phone", None):
            entry = self.entries.get(key_of(str(value), kind))
            if entry and (not kinds or entry["kind"] in kinds):
                label = f" ({entry['label']})" if entry["label"] else ""
                return f"{entry['list']} row {entry['row']}{label}"
        return None


def read_raw(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise WatchlistError(f"watch-list {path} cannot be read ({e}); check the path") from e


def read_rows(path: Path, raw: bytes) -> tuple[list[Row], bool]:
    """The list's rows, and whether it was in the old media-list layout."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise WatchlistError(f"watch-list {path} is not UTF-8 text ({e}); save it as UTF-8 CSV") from e
    lines = [
        (n, cells)
        for n, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
        for cells in csv.reader([line])
    ]
    if not lines:
        raise WatchlistError(f"watch-list {path} is empty: it needs a header row 'kind,value[,label]' and entries")
    header = [c.strip().lower() for c in lines[0][1]]
    # strict=False: a row may leave out the trailing optional columns (label, max_distance)
    records = [(n, dict(zip(header, (c.strip() for c in cells), strict=False))) for n, cells in lines[1:]]
    if {"kind", "value"} <= set(header):
        return [
            Row(
                n,
                (v.get("kind") or "").lower(),
                v.get("value") or "",
                v.get("label") or "",
                v.get("max_distance") or "",
            )
            for n, v in records
            if v.get("value")
        ], False
    if LEGACY_MEDIA_COLUMNS & set(header):
        return [row for n, v in records for row in legacy_rows(path, n, v)], True
    raise WatchlistError(
        f"{path.name}: a watch-list needs a header row with 'kind,value[,label]' (the old "
        f"media-list layout needs a 'sha256' or 'phash' column)"
    )


def legacy_rows(path: Path, line: int, values: dict[str, str]) -> list[Row]:
    """One row per hash of an old media-list line (a line may give both a sha256 and a phash)."""
    rows = [
        Row(line, kind, values[kind], values.get("label", ""), values.get("max_distance", ""))
        for kind in MEDIA_KINDS
        if values.get(kind)
    ]
    if not rows:
        raise WatchlistError(f"watch-list {path} line {line}: neither sha256 nor phash given")
    return rows


def checked_hash(path: Path, row: Row) -> str:
    value = row.value.lower()
    if not _HEX[row.kind].match(value):
        raise WatchlistError(
            f"watch-list {path} line {row.line}: {row.kind} {row.value!r} is not "
            f"{_DIGITS[row.kind]} hex digits; fix the row"
        )
    return value


def checked_distance(path: Path, row: Row) -> int:
    distance = row.max_distance or str(DEFAULT_MAX_DISTANCE)
    if not distance.isdigit() or int(distance) > 16:
        raise WatchlistError(f"watch-list {path} line {row.line}: max_distance {distance!r} must be 0-16")
    return int(distance)


def key_of(value: str, kind: str | None) -> str:
    if kind == "phone":
        reading = read_number(value)
        if reading is not None and reading.key:
            return "phone:" + reading.key
    return "value:" + "".join(value.split()).casefold()
