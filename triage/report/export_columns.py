"""records/<type>.jsonl and .csv made a page of records and a column at a time: a phone's 500,000 messages.

The files are those `export.exported_records` + `export.dumps` and `tables.flat` + `tables.CsvTable` write,
byte for byte, and the values are read and converted as those read and convert them; only the order of the
work changes. The old way makes each record a dict, encodes it whole (sorting its keys each time) and hands
its cells to the csv module one by one: about 40 µs a message, most of it Python per value. Here a page of
records is read from the store's own SQLite connection as tuples, turned into columns (`zip`), and each
column is converted with a C function mapped over it (`json.encoder.encode_basestring` for a column of text,
`int.__repr__` for one of integers), or value by value the general way where its values are of mixed types.
The JSON lines and the CSV lines are then filled into one format string per record type, keys already
sorted. Per column, not per cell, the CSV is checked for cells to defuse (`tables.defuse`) and to quote (a
comma, a quote, CR or LF: what the csv module quotes), and only such a column is gone through cell by cell.

Read in SQL: a time, from the store's UTC text to `timeutil.iso`'s form (times.iso_text cuts it the same
way), when the text has the store's form; a page holding one that has not is made the old way
(`export.exported_page`), as is a page SQLite cannot read (text that is not UTF-8) and one with a source file id
that is not a number. The source file's
provenance and SHA-256 (a join, in `store_rows.record_select`) are looked up once per page for the source
files the page names: a phone's messages come from a few databases.
Other databases than SQLite (PostgreSQL) go the old way (tables.write_records_and_tables).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain, compress, repeat
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime

from triage.model.records import Base, SourceFile, UTCDateTime
from triage.report.export import PROVENANCE_COLUMNS
from triage.report.store_rows import IN_LIST_ROWS, StoredJSON, record_columns
from triage.report.tables import FORMULA_STARTS, PLAIN_NUMBER, defuse

# Records per keyset page (one query each, as store_rows.paged reads; memory: one page). Small enough for a
# page's columns to stay in the processor's cache: 200,000 messages took 3.2 s of CPU in pages of 500, 3.6 s
# in pages of 2,000 and 4.6 s in pages of 5,000 (bench/exports_step.py).
PAGE = 500
# JSON text (characters, as stored) a page's part decodes at once. A party's `refs` names every record it is
# linked from: 4 MB of text for one number at N = 1,000,000, and a page of 500 parties decoded whole took the
# second process from 95 to 267 MB. A page is made in parts of about this much text (a single larger value in a
# part of its own); messages (a few hundred characters of `extra`) stay one part a page.
PART_JSON_CHARS = 1_000_000

# export.dumps's encoder (ensure_ascii off, keys sorted, default=str) as the C function JSONEncoder.encode
# makes at each call, made once; without the check for circular values: these are single or decoded values.
_ENCODE = c_make_encoder(None, str, encode_basestring, None, ": ", ", ", True, False, True)
# json.loads without its Python wrapping (see `_decoded`)
_SCAN = json.decoder.JSONDecoder().scan_once  # type: ignore[attr-defined]
_STORED = StoredJSON()
# the store's UTC text (times.py `_STORE_TEXT`) as a GLOB: digits where digits go; and 26 bytes long
_STORE_TIME_GLOB = (
    "'[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]'"
)
_NOT_STORE_TIME = 0  # what the time column's SQL gives for a time not in the store's text form
_NONE = type(None)
# the separator, then a character a formula starts with (tables.FORMULA_STARTS): one pass over a column
_FORMULA_AFTER_SEPARATOR = re.compile("\x1f[" + re.escape("".join(FORMULA_STARTS)) + "]")
# cells that are each a plain number (tables.PLAIN_NUMBER), each followed by the separator
_PLAIN_NUMBERS = re.compile(f"(?:(?:{PLAIN_NUMBER.pattern})\x1f)*")
_BOOLEAN_JSON = {0: "false", 1: "true", None: "null"}
_BOOLEAN_CELL = {0: "False", 1: "True", None: ""}

Texts = tuple[list[str], list[str]]  # a column's JSON texts and CSV cells (before defusing and quoting)
SlowPage = Callable[[int | None, int], list[tuple[int, str, list[str]]]]  # (after id, count) -> (id, line, cells)


def sqlite_connection(session: Any) -> sqlite3.Connection | None:
    """The session's own DB-API connection (same transaction) when the store is SQLite, else None."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return None
    raw = connection.connection.driver_connection
    return raw if isinstance(raw, sqlite3.Connection) else None


# --- one value the general way: what the old way makes of it -------------------------------------------------


def value_texts(value: Any) -> tuple[str, str]:
    """A value as export.dumps writes it, and as tables.flat makes its cell (before defusing)."""
    if value is None:
        return "null", ""
    encoded = "".join(_ENCODE(value, 0))  # a str, int, float, dict or list; anything else as str() (default=str)
    kind = type(value)
    if kind is str:
        return encoded, value
    if kind is dict or kind is list:
        return encoded, encoded  # flat: nested values as the same compact, sorted JSON
    return encoded, str(value)


def json_value_texts(value: Any) -> tuple[str, str]:
    """A JSON column's stored value, decoded as the old way decodes it (store_rows.StoredJSON), then as a value."""
    if type(value) is str:
        if value == "{}":  # most records' extra
            return "{}", "{}"
        return value_texts(_decoded(value))
    return value_texts(_STORED.process_result_value(value, None))


def _decoded(text: str) -> Any:
    """json.loads(text), its scanner called directly when the text is one value from its first character to
    its last (else loads itself: white space around it, or loads' own error)."""
    try:
        value, end = _SCAN(text, 0)
    except StopIteration:
        return json.loads(text)
    if end != len(text):
        return json.loads(text)
    return value


# --- a column at a time ----------------------------------------------------------------------------------------


def _unzipped(pairs: list[tuple[str, str]]) -> Texts:
    if not pairs:
        return [], []
    texts, cells = zip(*pairs, strict=True)
    return list(texts), list(cells)


def scalar_column(values: Sequence[Any]) -> Texts:
    """Text, integer and float columns, and any value as it is read."""
    kinds = set(map(type, values))
    if kinds <= {str}:
        return list(map(encode_basestring, values)), list(values)
    if kinds <= {int}:
        texts = list(map(int.__repr__, values))
        return texts, texts
    if kinds <= {str, _NONE}:
        return (
            [encode_basestring(v) if v is not None else "null" for v in values],
            [v if v is not None else "" for v in values],
        )
    if kinds <= {int, _NONE}:
        texts = [int.__repr__(v) if v is not None else "null" for v in values]
        return texts, [text if text != "null" else "" for text in texts]
    return _unzipped(list(map(value_texts, values)))


def json_column(values: Sequence[Any]) -> Texts:
    """A JSON column: numbers as SQLite's numeric affinity keeps them, text decoded (StoredJSON)."""
    kinds = set(map(type, values))
    if kinds <= {int, _NONE}:
        return scalar_column(values)
    if kinds <= {str}:
        decoded = _all_decoded(values)
        if decoded is not None and set(map(type, decoded)) <= {dict, list}:
            texts = list(map("".join, map(_ENCODE, decoded, repeat(0))))
            return texts, texts  # flat: nested values as the same compact, sorted JSON
    return _unzipped(list(map(json_value_texts, values)))


def _all_decoded(texts: Sequence[str]) -> list[Any] | None:
    """Each text as json.loads decodes it, when every text is one JSON value from its first character to
    its last; else None (the texts are then decoded one by one, with json.loads' own errors)."""
    scanned = list(map(_SCAN, texts, repeat(0)))  # a StopIteration (not JSON) ends map early: counted below
    if len(scanned) != len(texts):
        return None
    values, ends = zip(*scanned, strict=True) if scanned else ((), ())
    if list(ends) != list(map(len, texts)):
        return None
    return list(values)


def boolean_column(values: Sequence[Any]) -> Texts:
    """bool() of what SQLite holds (0 and 1)."""
    try:
        return list(map(_BOOLEAN_JSON.__getitem__, values)), list(map(_BOOLEAN_CELL.__getitem__, values))
    except (KeyError, TypeError):  # another value: bool() of it, one by one
        pairs = [("null", "") if v is None else (("true", "True") if v else ("false", "False")) for v in values]
        return _unzipped(pairs)


def time_column(values: Sequence[Any]) -> Texts:
    """Times already in timeutil.iso's form (the SQL made them), or NULL."""
    if None not in values:
        return ['"' + v + '"' for v in values], list(values)
    return ['"' + v + '"' if v is not None else "null" for v in values], [v if v is not None else "" for v in values]


def csv_column(cells: list[str]) -> list[str]:
    """A column's cells as CsvTable writes them: defused (tables.defuse), then quoted as the csv module
    quotes a cell (excel dialect: a comma, a quote, CR or LF in it); checked once for the whole column."""
    joined = "\x1f" + "\x1f".join(cells)  # each cell after a separator: its start is "\x1f" + its first character
    if _FORMULA_AFTER_SEPARATOR.search(joined):
        formulas = list(compress(cells, map(str.startswith, cells, repeat(FORMULA_STARTS))))
        plain = "\x1f".join(formulas) + "\x1f"
        if plain.count("\x1f") != len(formulas) or not _PLAIN_NUMBERS.fullmatch(plain):
            cells = list(map(defuse, cells))  # else: every would-be formula is a number (a phone's +44…), kept
    if "," in joined or '"' in joined or "\n" in joined or "\r" in joined:
        if all(map(str.__contains__, cells, repeat('"'))):
            # a quote in every cell (a column of JSON objects): every cell quoted, in one go (cells as defused)
            text = "\x1f".join(cells)
            if text.count("\x1f") == len(cells) - 1:
                return ('"' + text.replace('"', '""').replace("\x1f", '"\x1f"') + '"').split("\x1f")
        cells = list(map(quoted, cells))
    return cells


def quoted(cell: str) -> str:
    if "," in cell or '"' in cell or "\n" in cell or "\r" in cell:
        return '"' + cell.replace('"', '""') + '"'
    return cell


# --- one record type's plan ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """One record type's page queries, how each selected column is converted, and the two line formats."""

    first: str  # the first page: ? = page size
    after: str  # the next pages: ? = last id of the previous page, ? = page size
    converters: tuple[Callable[[Sequence[Any]], Texts], ...]  # per selected column
    keys: tuple[str, ...]  # per selected column: its key (provenance ones as "provenance_<key>")
    times: tuple[int, ...]  # the selected time columns (a page with a time not in the store's form: old way)
    json: tuple[int, ...]  # the selected JSON columns (their text decides how a page is cut into parts)
    source: int | None  # the selected column of the source file id, when the type has one
    json_format: str  # a record's JSON line, %s for each of `json_keys`' texts
    json_keys: tuple[str, ...]
    csv_format: str  # a record's CSV line, %s for each of `header`'s cells
    header: list[str]  # the CSV header: the flat keys, sorted (as CsvTable takes them from a first row)


def _name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _time_sql(c: str) -> str:
    """times.iso_text of the store's text ('YYYY-MM-DD HH:MM:SS.ffffff'): 'YYYY-MM-DDTHH:MM:SS', then '.mmm'
    unless the microseconds are all zero, then 'Z'; 0 for a text not in that form."""
    seconds = f"CASE WHEN substr({c}, 21, 6) = '000000' THEN 8 ELSE 12 END"
    iso = f"substr({c}, 1, 10) || 'T' || substr({c}, 12, {seconds}) || 'Z'"
    return (
        f"CASE WHEN {c} IS NULL THEN NULL WHEN {c} GLOB {_STORE_TIME_GLOB} AND length(CAST({c} AS BLOB)) = 26 "
        f"THEN {iso} ELSE {_NOT_STORE_TIME} END"
    )


def _json_key(key: str) -> str:
    return _json_text(key) + ": "


def _json_text(text: str) -> str:
    return "".join(_ENCODE(text, 0))


def _provenance_keys(key: str, keys: list[str]) -> list[str]:
    """The texts a JSON key takes, in order: provenance's, those of its sub-keys a type has; "type": none."""
    if key == "provenance":
        return [f"provenance_{sub}" for sub in sorted(_PROVENANCE) if f"provenance_{sub}" in keys]
    return [] if key == "type" else [key]


# export._exporter's provenance: its key -> the record column it is read from ("path" and "sha256": the source's)
_PROVENANCE = {
    "source_file_id": "source_file_id",
    "path": None,
    "sha256": None,
    "table": "source_table",
    "row": "source_row",
    "offset": "source_offset",
    "row_sha256": "source_row_sha256",
}


def plan_for(cls: type[Base]) -> Plan:
    """The page queries and line formats of one record type. Provenance nests in the JSON and spreads over
    provenance_* cells; a record's own "provenance" column is then replaced by it (as export and
    tables.flat do)."""
    table = cls.__table__
    columns = dict(record_columns(cls))
    nested = "source_file_id" in columns
    selected: list[str] = []
    converters: list[Callable[[Sequence[Any]], Texts]] = []
    keys: list[str] = []
    times: list[int] = []
    for key, column in columns.items():
        if nested and key == "provenance":
            continue
        if key in PROVENANCE_COLUMNS:
            if not nested:
                continue
            key = "provenance_" + next(k for k, v in _PROVENANCE.items() if v == key)
        c = f"r.{_name(column.name)}"
        kind = column.type
        if isinstance(kind, UTCDateTime):
            times.append(len(selected))
            selected.append(_time_sql(c))
            converters.append(time_column)
        elif isinstance(kind, DateTime):
            raise TypeError(f"{cls.__name__}.{key}: a time column that is not UTCDateTime")
        else:
            selected.append(c)
            if isinstance(kind, JSON):
                converters.append(json_column)
            elif isinstance(kind, Boolean):
                converters.append(boolean_column)
            else:
                converters.append(scalar_column)
        keys.append(key)

    if nested:
        keys += ["provenance_path", "provenance_sha256"]  # looked up per page from the source file
    if any("%" in key for key in [*keys, cls.record_type]):
        raise ValueError(f"{cls.__name__}: a key with % in it cannot go into the line formats")

    # JSON: the keys sorted, each "key": %s (a text per record), provenance nested; "type" as it is
    json_keys: list[str] = []
    parts: dict[str, str] = {"type": _json_key("type") + _json_text(cls.record_type)}
    for key in keys:
        if not key.startswith("provenance_"):
            json_keys.append(key)
            parts[key] = _json_key(key) + "%s"
    if nested:
        inner = []
        for sub in sorted(_PROVENANCE):
            inner.append(_json_key(sub) + ("%s" if f"provenance_{sub}" in keys else "null"))
        parts["provenance"] = _json_key("provenance") + "{" + ", ".join(inner) + "}"
    json_keys = [key for key in sorted(parts) for key in _provenance_keys(key, keys)] if nested else sorted(json_keys)
    json_format = "{" + ", ".join(parts[key] for key in sorted(parts)) + "}\n"

    # CSV: the flat keys sorted; "type", and provenance a type has no column for, as they are
    literals = {"type": cls.record_type}
    if nested:
        literals.update({f"provenance_{sub}": "" for sub in _PROVENANCE if f"provenance_{sub}" not in keys})
    header = sorted([*keys, *literals])
    csv_format = ",".join("%s" if key not in literals else literals[key] for key in header) + "\r\n"
    record_id = f"r.{_name(table.c.id.name)}"
    select = f"SELECT {record_id}, {', '.join(selected)} FROM {_name(cls.__tablename__)} AS r"
    return Plan(
        first=f"{select} ORDER BY {record_id} LIMIT ?",
        after=f"{select} WHERE {record_id} > ? ORDER BY {record_id} LIMIT ?",
        converters=tuple(converters),
        keys=tuple(keys[: len(selected)]),
        times=tuple(times),
        json=tuple(n for n, convert in enumerate(converters) if convert is json_column),
        source=keys.index("provenance_source_file_id") if nested else None,
        json_format=json_format,
        json_keys=tuple(json_keys),
        csv_format=csv_format,
        header=header,
    )


_PLANS: dict[type[Base], Plan] = {}


def plan_of(cls: type[Base]) -> Plan:
    if cls not in _PLANS:
        _PLANS[cls] = plan_for(cls)
    return _PLANS[cls]


# --- the pages -------------------------------------------------------------------------------------------------


def record_pages(
    db: sqlite3.Connection, cls: type[Base], slow_page: SlowPage, page: int | None = None
) -> Iterator[tuple[str, str, list[list[str]]]]:
    """Every record of one type in id order, a page at a time: the page's JSON lines as one text, its CSV
    lines as one text, and the CSV rows (cells for csv.writer) of a page made the old way.
    `slow_page(after, count)`: up to `count` records after id `after`, made the old way."""
    plan = plan_of(cls)
    page = page or PAGE
    last: int | None = None
    while True:
        try:
            rows = (
                db.execute(plan.first, (page,)) if last is None else db.execute(plan.after, (last, page))
            ).fetchall()
        except sqlite3.Error:  # text that is not UTF-8: the old way reads it, or fails, as before
            rows = None
        if rows is not None and not rows:
            return
        made_all = rows is not None
        for part in _parts(plan, rows) if rows is not None else ():
            made = _page_texts(db, plan, part)
            if made is None:
                made_all = False
                break
            yield made
            last = part[-1][0]
        if made_all:
            assert rows is not None
            count = len(rows)
        else:  # a time not in the store's form, a source id that is not a number, a page SQLite could not read
            done = slow_page(last, page)
            if not done:
                return
            yield "".join(line for _, line, _ in done), "", [cells for _, _, cells in done]
            count, last = len(done), done[-1][0]
        if count < page:
            return


def _parts(plan: Plan, rows: list[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    """The page's rows in parts of about PART_JSON_CHARS of JSON text each (the whole page when it holds less)."""
    columns = [list(map(itemgetter(n + 1), rows)) for n in plan.json]  # row[0] is the id
    if sum(map(_chars, columns)) <= PART_JSON_CHARS:
        yield rows
        return
    start = held = 0
    for n, size in enumerate(map(sum, zip(*(map(_text_chars, column) for column in columns), strict=True))):
        if held and held + size > PART_JSON_CHARS:
            yield rows[start:n]
            start, held = n, 0
        held += size
    yield rows[start:]


def _chars(values: list[Any]) -> int:
    try:
        return sum(map(len, values))  # JSON stored as text: the usual case, counted in C
    except TypeError:  # a NULL or a number (SQLite's numeric affinity) among them
        return sum(map(_text_chars, values))


def _text_chars(value: Any) -> int:
    return len(value) if type(value) is str else 0


def _page_texts(
    db: sqlite3.Connection, plan: Plan, rows: list[tuple[Any, ...]]
) -> tuple[str, str, list[list[str]]] | None:
    columns = list(zip(*rows, strict=True))[1:]  # the id (first) only pages
    for n in plan.times:
        if _NOT_STORE_TIME in columns[n]:
            return None
    if plan.source is not None and not set(map(type, columns[plan.source])) <= {int, _NONE}:
        return None  # a source file id that is not a number: the old way's join decides what it names
    json_texts: dict[str, list[str]] = {}
    cells: dict[str, list[str]] = {}
    for key, convert, values in zip(plan.keys, plan.converters, columns, strict=True):
        json_texts[key], cells[key] = convert(values)
    if plan.source is not None:
        (
            json_texts["provenance_path"],
            cells["provenance_path"],
            json_texts["provenance_sha256"],
            cells["provenance_sha256"],
        ) = _source_texts(db, columns[plan.source])
    lines = _filled(plan.json_format, [json_texts[key] for key in plan.json_keys], len(rows))
    table = _filled(plan.csv_format, [csv_column(cells[key]) for key in plan.header if key in cells], len(rows))
    return lines, table, []


def _filled(line_format: str, columns: list[list[str]], count: int) -> str:
    """`count` lines, the n-th filled with the n-th text of each column: one format of the page's lines
    (a third cheaper than one format per line, joined)."""
    return (line_format * count) % tuple(chain.from_iterable(zip(*columns, strict=True)))


def _source_texts(db: sqlite3.Connection, ids: Sequence[Any]) -> tuple[list[str], list[str], list[str], list[str]]:
    """Per record: its source file's provenance and SHA-256 as JSON texts and cells (null and "" when it has
    none or it names no source file: the old way's outer join)."""
    wanted = list({i for i in ids if i is not None})
    found: dict[Any, tuple[str, str, str, str]] = {}
    table, id_column = _name(SourceFile.__tablename__), _name(SourceFile.__table__.c.id.name)
    path, sha256 = _name(SourceFile.__table__.c.provenance.name), _name(SourceFile.__table__.c.sha256.name)
    for start in range(0, len(wanted), IN_LIST_ROWS):
        chunk = wanted[start : start + IN_LIST_ROWS]
        query = (
            f"SELECT {id_column}, {path}, {sha256} FROM {table} WHERE {id_column} IN ({', '.join('?' * len(chunk))})"
        )
        for source_id, source_path, source_sha256 in db.execute(query, chunk):
            path_json, path_cell = value_texts(source_path)
            sha_json, sha_cell = value_texts(source_sha256)
            found[source_id] = (path_json, path_cell, sha_json, sha_cell)
    none = ("null", "", "null", "")
    looked_up = list(map(found.get, ids, repeat(none)))
    path_jsons, path_cells, sha_jsons, sha_cells = zip(*looked_up, strict=True) if looked_up else ((), (), (), ())
    return list(path_jsons), list(path_cells), list(sha_jsons), list(sha_cells)
