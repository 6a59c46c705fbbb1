"""Investigator-supplied watch-lists (CSV): phone numbers, usernames, wallet addresses, IBANs, media hashes.

CSV columns: `kind,value[,label]` with a header row; kinds: phone, username, wallet, iban, sha256, phash,
or any other word. Phone numbers are compared in E.164 when they can be read without a guessed
country (see triage.phones), otherwise as digits; other values case-insensitively without spaces.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from triage.phones import read_number


@dataclass
class Watchlists:
    entries: dict[str, dict[str, str]] = field(default_factory=dict)  # key -> {kind, list, row, label}
    files: dict[str, str] = field(default_factory=dict)  # file name -> sha256

    @classmethod
    def load(cls, paths: list[Path]) -> "Watchlists":
        lists = cls()
        for path in paths:
            raw = path.read_bytes()
            lists.files[path.name] = hashlib.sha256(raw).hexdigest()
            reader = csv.DictReader(raw.decode("utf-8-sig").splitlines())
            if not reader.fieldnames or not {"kind", "value"} <= set(reader.fieldnames):
                raise ValueError(f"{path.name}: a watch-list needs a header row with 'kind,value[,label]'")
            for row_number, row in enumerate(reader, start=2):
                kind, value = (row.get("kind") or "").strip().lower(), (row.get("value") or "").strip()
                if value:
                    lists.entries[key_of(value, kind)] = {"kind": kind, "list": path.name, "row": str(row_number),
                                                          "label": (row.get("label") or "").strip()}
        return lists

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


def key_of(value: str, kind: str | None) -> str:
    if kind == "phone":
        reading = read_number(value)
        if reading is not None and reading.key:
            return "phone:" + reading.key
    return "value:" + "".join(value.split()).casefold()
