"""Choosing and running parsers on the files of an evidence item. Shared by `triage run` (records go to
the case store) and `triage parse` (records go to stdout); storage is the caller's business."""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import re
import shutil
import struct
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from parsers import ALL_PARSERS, ParseContext, Parser, Schema, SqliteParser
from parsers.base import open_sqlite, quote_ident
from triage.evidence import Evidence, FileEntry
from triage.limits import ParseLimits
from triage.model.records import Base, SourceFile
from triage.parsing.db_shape import DatabaseShape, named_tables
from triage.parsing.row_digest import RowDigests
from triage.parsing.sidecars import sidecar_notes
from triage.parsing.signatures import describe
from triage.sqlite_budget import SqliteBudget, SqliteBudgetReached, spending

if TYPE_CHECKING:
    from triage.parsing.parallel import PreparedFile

HEADER_BYTES = 64
SQLITE_SIDECARS = ("-wal", "-journal")  # -shm is rebuilt by SQLite; the WAL carries the data

# (stage, component, level, message, provenance, source) -> None
WarningSink = Callable[[str, str, str, str, "str | None", "SourceFile | None"], None]


@dataclass
class Candidate:
    entry: FileEntry
    header: bytes
    parsers: list[Parser]
    # (parser, why) for parsers whose paths name this file but that refused it on its first bytes
    refused: list[tuple[str, str]] = field(default_factory=list)


# a parser's path test, made once for the listing: (parser, its expression, what a path it names ends with or None)
PathRule = tuple[Parser, re.Pattern[str], tuple[str, ...] | None]


def path_rules(parsers: Iterable[Parser]) -> list[PathRule]:
    return [(p, rx, p.paths_tails()) for p in parsers if (rx := p.paths_regex()) is not None]


def claim(rules: list[PathRule], lowered_path: str) -> list[Parser]:
    """The parsers whose path patterns name a file (`Parser.path_matches`), from their expressions and the
    file's lower-cased path. The ending is tested first: most files end as no parser's paths do, and
    `str.endswith` costs a fraction of an expression that must scan the path (51,640 files x 33 parsers at
    N = 1,000,000: 0.82 s of the listing's ~3 s, bench/RESULTS.md)."""
    return [
        p
        for p, rx, tails in rules
        if (tails is None or lowered_path.endswith(tails)) and rx.match(lowered_path) is not None
    ]


class ParseRunner:
    """Selects the files parsers want and runs the parsers, reporting records and warnings by callback.

    Records reach `on_record` with their `source_file_id` set to the id their SourceFile has then (given by
    `on_source`, which sees the SourceFile before its first record): the caller need not set it. `on_source_final`
    sees the same SourceFile once nothing about it changes any more (its status, record count and parsers, after its
    last record and warning): a store can then write it as it writes records, once (CaseStore.announce/settle).

    A file at a path some parser claims (`Parser.path_matches`) is never dropped in silence: when no
    parser can read it (a link, an empty file, a deleted entry, a text file where a database should
    be, a database of another shape, an encrypted or unreadable member) it gets a SourceFile with
    status "not parsed" (the report's "files not parsed") and a warning naming the file and why.
    """

    def __init__(
        self,
        evidence: Evidence,
        workdir: Path,
        on_source: Callable[[SourceFile], None],
        on_record: Callable[[Base, SourceFile], None],
        on_warning: WarningSink,
        parsers: Iterable[Parser] | None = None,
        limits: ParseLimits = ParseLimits(),
        on_source_final: Callable[[SourceFile], None] = lambda source: None,
    ) -> None:
        self.evidence, self.workdir = evidence, workdir
        self.on_source, self.on_record, self.warn = on_source, on_record, on_warning
        self.on_source_final = on_source_final
        # ALL_PARSERS looked up when the runner is made, not when this module was imported (tests swap it)
        self.parsers = tuple(ALL_PARSERS if parsers is None else parsers)
        self.limits = limits
        self.sidecars: dict[tuple[str, str], FileEntry] = {}
        # files read at a path no parser that read them names: (path, ["parser: generation", …]) — a renamed
        # or moved database, recognised by schema, not path; the caller says so (`triage parse`)
        self.recognised_by_schema: list[tuple[str, list[str]]] = []

    def select(self, tick: Callable[[], None] = lambda: None) -> list[Candidate]:
        """One pass over the listing: files some parser accepts, and the SQLite sidecars beside them.

        Files at a claimed path that cannot be read are reported as "not parsed" here, as they are met."""
        candidates = []
        # every parser is asked about every file (51,493 files x 34 parsers at N = 1,000,000): each parser's path
        # expression made once, the path lowered once, and a parser whose `accepts` is its path test not asked twice
        rules = path_rules(self.parsers)
        by_path = {p for p in self.parsers if p.accepts_by_path_alone()}
        for entry in self.evidence.walk():
            tick()
            if entry.path.endswith(SQLITE_SIDECARS) and entry.type == "file" and entry.allocated and entry.size:
                self.sidecars[(entry.volume, entry.path)] = entry
                continue
            claimed = claim(rules, entry.path.lower())
            unreadable = _why_unreadable(entry)
            if unreadable:
                if claimed:
                    self._not_parsed(entry, [(p.name, unreadable) for p in claimed])
                continue
            try:
                header = self._header(entry)
            except Exception as e:  # noqa: BLE001 - an unreadable file is reported, the run goes on
                if claimed:
                    self._not_parsed(entry, [(p.name, f"cannot be read: {_reason(e)}") for p in claimed])
                else:
                    self.warn("evidence", "file reader", "warning", f"cannot read: {e}", entry.provenance, None)
                continue
            chosen = [p for p in self.parsers if (p in claimed if p in by_path else p.accepts(entry, header))]
            refused = [(p.name, refusal(p, entry, header)) for p in claimed if p not in chosen]
            if chosen:
                candidates.append(Candidate(entry, header, chosen, refused))
            elif refused:
                self._not_parsed(entry, refused)
        return candidates

    def parse(
        self,
        cand: Candidate,
        prepared: PreparedFile | None = None,
        copy: SqliteCopy | None = None,
        no_decoding: str | None = None,
    ) -> SourceFile | None:
        """Run every accepting parser on one file; the SourceFile is announced before its first record.

        `prepared`: the file's hash and parser output computed ahead in a worker (triage.parsing.parallel);
        `copy`: the file's private SQLite copy made ahead (`sqlite_copy`; a database parsed in a fork that never
        reads the evidence itself, triage/run/database_forks.py). Removed when the file is parsed.
        `no_decoding`: why the image decoders must not read this file in this process (ParseContext.no_decoding)."""
        entry = cand.entry
        copy = copy if copy is not None else self.sqlite_copy(entry)
        budget = copy.budget
        misfits: list[tuple[str, str]] = list(cand.refused)  # parsers named for this file that could not read it
        announced: list[SourceFile] = []
        try:
            return self._parse(cand, prepared, budget, copy, misfits, announced, no_decoding)
        finally:
            copy.remove()
            for source in announced:  # final, however the parse ended: what it read is kept
                self.on_source_final(source)

    def sqlite_copy(self, entry: FileEntry) -> SqliteCopy:
        """The file's private SQLite copy (made on first use), with the file's own SQLite budget: one per file,
        every parser and connection spends it."""
        return SqliteCopy(self.evidence, entry, self.sidecars, self.workdir, SqliteBudget(self.limits))

    def _parse(
        self,
        cand: Candidate,
        prepared: PreparedFile | None,
        budget: SqliteBudget,
        copy: SqliteCopy,
        misfits: list[tuple[str, str]],
        announced: list[SourceFile],
        no_decoding: str | None = None,
    ) -> SourceFile | None:
        entry = cand.entry
        # the file's structure is read once for every SQLite parser (triage/parsing/db_shape.py)
        recognised, copied = self._recognise_all(cand.parsers, copy, entry, misfits)
        only_sqlite = all(isinstance(p, SqliteParser) for p in cand.parsers)
        if only_sqlite and copied and not recognised and not any(p.path_matches(entry) for p in cand.parsers):
            return None  # a database at a path no parser names, of no known structure: not ours, not hashed
        source = source_file(entry)
        try:
            # a database's hash was taken from the bytes its copy was made of: the evidence is read once
            source.sha256 = prepared.sha256 if prepared is not None else copy.sha256 or self._sha256(entry)
        except Exception as e:  # noqa: BLE001 - an unreadable file is reported as not parsed; the run goes on
            self._not_parsed(entry, [(p.name, f"cannot be read: {_reason(e)}") for p in cand.parsers])
            return None
        parsed_by: list[str] = []
        schemas: list[str] = []  # "parser: generation" of each SQLite parser that recognised the file
        with spending(budget):
            for parser in cand.parsers:
                if budget.reached:  # spent by an earlier parser, which said so: the others are named
                    if parsed_by:
                        self.warn(
                            "parser",
                            parser.name,
                            "warning",
                            f"not run on this file: {budget.message()}",
                            entry.provenance,
                            source,
                        )
                    continue
                if isinstance(parser, SqliteParser):
                    schema = recognised.get(parser.name)
                    if schema is None:
                        continue
                    schemas.append(f"{parser.name}: {schema.name}")
                if not parsed_by:
                    self.on_source(source)
                    announced.append(source)
                parsed_by.append(parser.name)
                ctx = ParseContext(
                    entry=entry,
                    open=lambda: self.evidence.open(entry),
                    sha256=source.sha256,
                    header=cand.header,
                    sqlite_copy=copy.path,
                    no_decoding=no_decoding,
                )
                done = prepared.replay(parser.name, ctx) if prepared is not None else None
                self._run_parser(parser, ctx, source, copy, done, budget)
        if not parsed_by:  # one generation's parser not fitting is normal when another one read the file
            if budget.reached and not misfits:
                misfits = [(p.name, budget.message()) for p in cand.parsers]
            self._not_parsed(entry, misfits, source.sha256)
            return None
        self._note_refusals(cand, parsed_by, source)
        self._note_sidecars(copy, source)
        source.parser = ", ".join(parsed_by)
        source.schema = "; ".join(schemas) or None
        if schemas and not any(named_for(p, entry) for p in cand.parsers if p.name in parsed_by):
            self.recognised_by_schema.append((source.path, schemas))
        return source

    def _note_refusals(self, cand: Candidate, parsed_by: list[str], source: SourceFile) -> None:
        """Parsers whose path names the file but that refused its first bytes, when another parser read it.

        A JPEG saved as mmssms.db is read as a photo, but the examiner must still learn that the SMS
        database the path promises is not there (a different generation's schema not fitting is not
        said: that is normal when the other generation's parser read the file)."""
        readers = ", ".join(parsed_by)
        for name, reason in cand.refused:
            self.warn("parser", name, "warning", f"{reason}; read by {readers} instead", source.provenance, source)
        if cand.refused:
            _mark_warned(source)

    def _note_sidecars(self, copy: SqliteCopy, source: SourceFile) -> None:
        """What SQLite did with the -journal/-wal when the copy was opened (rolled back, frames ignored):
        the records are the database after that, so the examination record says so."""
        for note in copy.notes:
            self.warn("parser", "sqlite", "warning", note, source.provenance, source)
        if copy.notes:
            _mark_warned(source)
        problem = copy.digest_problem()
        if problem:  # the records stand; what they lack is said, once per file
            self.warn("parser", "row digest", "warning", problem, source.provenance, source)
            _mark_warned(source)

    def _not_parsed(self, entry: FileEntry, why: list[tuple[str, str]], sha256: str | None = None) -> None:
        """A file a parser claims but none could read: a "not parsed" SourceFile and one warning per parser."""
        if not why:
            return
        source = source_file(entry)
        source.sha256 = sha256 if sha256 is not None else self._sha256_if_readable(entry)
        source.parser = ", ".join(dict.fromkeys(name for name, _ in why))
        source.status = "not parsed"
        self.on_source(source)
        for name, reason in why:
            self.warn("parser", name, "not parsed", reason, entry.provenance, source)
        self.on_source_final(source)

    def _header(self, entry: FileEntry) -> bytes:
        return self.evidence.head(entry, HEADER_BYTES)

    def _sha256(self, entry: FileEntry) -> str:
        with self.evidence.open(entry) as f:
            # typing.BinaryIO declares no readinto; every evidence reader has it (triage/evidence/streams.py)
            return hashlib.file_digest(f, "sha256").hexdigest()  # type: ignore[arg-type]

    def _sha256_if_readable(self, entry: FileEntry) -> str | None:
        if _why_unreadable(entry) and not (entry.type == "file" and entry.allocated and entry.size == 0):
            return None
        try:
            return self._sha256(entry)
        except Exception:  # noqa: BLE001 - the reason is in the warning already
            return None

    def _recognise_all(
        self, parsers: Iterable[Parser], copy: SqliteCopy, entry: FileEntry, misfits: list[tuple[str, str]]
    ) -> tuple[dict[str, Schema], bool]:
        """The schema generation each SQLite parser recognises the database as (by parser name), and whether
        the file could be copied out of the evidence to be opened (a database that will not open counts as
        copied: it is simply of no known structure). Why a parser at whose path the file sits could not read
        it goes into `misfits`; a parser the file is not named for is asked only when its schema fits the
        shape read once (triage/parsing/db_shape.py): a thousand unrelated databases cost one query each,
        not one per parser."""
        sqlite_parsers = [p for p in parsers if isinstance(p, SqliteParser)]
        found: dict[str, Schema] = {}
        if not sqlite_parsers:
            return found, False
        try:
            copy.path()
        except Exception as e:  # noqa: BLE001 - the evidence could not be read: said below when the file is hashed
            misfits += [(p.name, f"cannot be read: {_reason(e)}") for p in sqlite_parsers if p.path_matches(entry)]
            return found, False
        try:
            with open_sqlite(copy.path(), copy.budget) as db:
                shape = DatabaseShape(db, named_tables(sqlite_parsers))
                for parser in sqlite_parsers:
                    if not parser.path_matches(entry) and not shape.may_be_read_by(parser):
                        continue
                    schema, missing = parser.recognise(db)
                    if schema is not None:
                        found[parser.name] = schema
                    elif parser.path_matches(entry):
                        # named like ours but shaped differently: an unknown generation or a look-alike
                        misfits.append((parser.name, f"unknown schema: missing {', '.join(missing)}"))
        except Exception as e:  # noqa: BLE001 - sqlite raises many kinds; reported for a file at the parser's path
            why = copy.budget.message() if copy.budget.reached else f"database cannot be opened: {e}"
            misfits += [(p.name, why) for p in sqlite_parsers if p.path_matches(entry) and p.name not in found]
        return found, True

    def _run_parser(
        self,
        parser: Parser,
        ctx: ParseContext,
        source: SourceFile,
        copy: SqliteCopy | None = None,
        done: Iterator[Base] | None = None,
        budget: SqliteBudget | None = None,
    ) -> None:
        count = 0
        stopped = False
        try:
            sqlite_copy = copy if isinstance(parser, SqliteParser) else None
            for record in done if done is not None else parser.parse(ctx):
                if sqlite_copy is not None:
                    sqlite_copy.mark_wal_only(record)
                    sqlite_copy.digest_row(record)
                if _provenanced(type(record)):  # set in its values: no ORM bookkeeping for each of a million records
                    record.__dict__["source_file_id"] = source.id
                self.on_record(record, source)
                count += 1
        except Exception as e:  # noqa: BLE001 - a parser bug or hostile file: keep what was read, say what was not
            stopped = True
            if not (budget is not None and (budget.reached or isinstance(e, SqliteBudgetReached))):
                ctx.warn(f"stopped after {count} record(s): {type(e).__name__}: {e}")
        if budget is not None and budget.reached:
            # the limit, how much was read and the option that raises it; records read so far are kept
            ctx.warn(f"stopped after {count} record(s): {budget.message()}")
            stopped = True
        if stopped:
            source.status = "parsed in part" if count or source.record_count else "not parsed"
        source.record_count += count
        for message in ctx.warnings:
            self.warn("parser", parser.name, "warning", message, source.provenance, source)
        if ctx.warnings:
            _mark_warned(source)


def named_for(parser: Parser, entry: FileEntry) -> bool:
    """The file is where (or, for a file given alone, as what) the parser expects its files: its path
    matches, or a loose file (`triage parse`, no folders known) bears the name a pattern ends with."""
    if parser.path_matches(entry):
        return True
    if entry.path != "/" + entry.name:
        return False
    name = entry.name.lower()
    return any(fnmatch.fnmatchcase(name, p.rsplit("/", 1)[-1].lower()) for p in parser.path_patterns)


def _mark_warned(source: SourceFile) -> None:
    if source.status == "parsed":  # "parsed in part" / "not parsed" already say more
        source.status = "parsed with warnings"


def refusal(parser: Parser, entry: FileEntry, header: bytes) -> str:
    """The parser's reason for refusing a file at its path, and what the first bytes say the file is."""
    reason = parser.refusal(entry, header)
    what = describe(header)
    if what is None:
        return reason
    article = "" if what == "text" else "an " if what[0] in "AEIOU" else "a "
    return f"{reason}: the file is {article}{what}"


def source_file(entry: FileEntry) -> SourceFile:
    """The SourceFile of an entry: its path as shown, its stored bytes (hex) when they differ."""
    return SourceFile(
        path=entry.path,
        layers=list(entry.layers),
        provenance=entry.provenance,
        volume=entry.volume,
        inode=entry.inode,
        size=entry.size,
        mtime=entry.mtime,
        raw_name_hex=entry.raw_name_hex,
    )


def _why_unreadable(entry: FileEntry) -> str | None:
    """Why an entry has no content a parser could read, or None when it is a regular file with bytes."""
    if entry.type == "link":
        return "is a symbolic link; links are never followed, so it is not read"
    if entry.type != "file":
        return (
            f"is a {'directory' if entry.type == 'dir' else 'special file (device, FIFO, socket …)'}, not a "
            f"regular file"
        )
    if not entry.allocated:
        return "is a deleted or superseded entry (unallocated); its content is not parsed"
    if not entry.size:
        return "is empty (0 bytes)"
    return None


def _reason(e: BaseException) -> str:
    return str(e) or type(e).__name__


@functools.cache
def _provenanced(cls: type[Base]) -> bool:
    """Whether records of this type point at their SourceFile (asked once per type, not per record)."""
    return hasattr(cls, "source_file_id")


@functools.cache
def _has_row_digest(cls: type[Base]) -> bool:
    """Whether records of this type carry a source-row SHA-256 (asked once per type, not per record)."""
    return hasattr(cls, "source_row_sha256")


class SqliteCopy:
    """A private copy of a database and its -wal/-journal, made on first use (evidence stays untouched).

    Every read of the copy spends `budget`, the file's SQLite budget (triage/sqlite_budget.py)."""

    def __init__(
        self, evidence: Evidence, entry: FileEntry, sidecars: dict, workdir: Path, budget: SqliteBudget | None = None
    ) -> None:
        self.evidence, self.entry, self.sidecars, self.workdir = evidence, entry, sidecars, workdir
        self.budget = budget if budget is not None else SqliteBudget()
        self._dir: Path | None = None
        self._wal = sidecars.get((entry.volume, entry.path + "-wal"))
        self.notes: list[str] = []  # what SQLite does with the -journal/-wal (triage/parsing/sidecars.py)
        self._main_rows: dict[str, set[str] | None] = {}  # row ids per table without the -wal (read once each)
        self._main_tables: set[str] | None = None
        self._digests: RowDigests | None = None
        self.sha256: str | None = None  # of the database file's bytes as copied, once copied

    def path(self) -> Path:
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(dir=self.workdir))
            self.sha256 = self._copy(self.entry, self._dir / "db")
            for suffix in SQLITE_SIDECARS:
                side = self.sidecars.get((self.entry.volume, self.entry.path + suffix))
                if side is not None:
                    self._copy(side, self._dir / f"db{suffix}")
            # read before SQLite opens the copy: opening replays the journal or WAL and removes the evidence of it
            try:
                self.notes = sidecar_notes(self._dir / "db", self.entry.name)
            except (OSError, ValueError, struct.error) as e:  # a hostile sidecar: say so, SQLite decides as usual
                self.notes = [
                    f"the -journal/-wal beside {self.entry.name} could not be checked ({_reason(e)}); "
                    "SQLite replays it as it finds it"
                ]
        return self._dir / "db"

    def fetch(self) -> None:
        """Everything the parse will read copied out of the evidence now: the database with its sidecars, and
        the database alone when a -wal is beside it (see `mark_wal_only`)."""
        self.path()
        if self._wal is not None:
            self._main_only()

    def mark_wal_only(self, record: Base) -> None:
        """Flag a record whose row exists only in the -wal: not yet checkpointed into the database file.

        Such rows are the newest, and a tool that reads the main file alone would not see them; the
        flag (`extra["wal_only"]`) lets an examiner explain why another tool's count differs.
        """
        if self._wal is None:
            return  # no -wal: every row is in the database file
        table, row = getattr(record, "source_table", None), getattr(record, "source_row", None)
        extra = getattr(record, "extra", None)
        if table is None or row is None or not isinstance(extra, dict):
            return
        main = self._rows_without_wal(table)
        if main is not None and row not in main:
            extra["wal_only"] = True

    def digest_row(self, record: Base) -> None:
        """Give a record the SHA-256 of its source row (triage/parsing/row_digest.py), read from this copy as the
        parser saw it; records whose table or row is not a rowid table's row get none."""
        # the values themselves, not the ORM's descriptors: this runs for each of a phone's million records
        values = record.__dict__
        table = values.get("source_table")
        if table is None or not _has_row_digest(type(record)):
            return
        if self._digests is None:
            self._digests = RowDigests(self.path(), self.budget)
        values["source_row_sha256"] = self._digests.of(table, values.get("source_row"))

    def digest_problem(self) -> str | None:
        """How many records' rows could not be read again for their digest, and why (said once per file)."""
        if self._digests is None or not self._digests.unread:
            return None
        return (
            f"{self._digests.unread} record(s) without a source-row SHA-256: their row could not be read "
            f"again ({self._digests.error})"
        )

    def _rows_without_wal(self, table: str) -> set[str] | None:
        """Row ids of `table` in the database file without its -wal (read once per table); None when the
        label is not a table of the file or its rows cannot be compared."""
        if table not in self._main_rows:
            self._main_rows[table] = self._read_main_rows(table)
        return self._main_rows[table]

    def _read_main_rows(self, table: str) -> set[str] | None:
        alone = self._main_only()
        # bookkeeping, not a parser's read: it spends the file's time budget but not its row budget
        with open_sqlite(alone, self.budget, count_rows=False) as db:
            if self._main_tables is None:
                self._main_tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if table not in self._main_tables:  # a table the -wal creates has only -wal rows
                return set() if table in self._tables_with_wal() else None
            try:
                return {str(r[0]) for r in db.execute(f"SELECT rowid FROM {quote_ident(table)}")}
            except Exception:  # noqa: BLE001 - WITHOUT ROWID, damaged pages, budget spent: not comparable, never flagged
                return None

    def _tables_with_wal(self) -> set[str]:
        with open_sqlite(self.path(), self.budget, count_rows=False) as db:
            return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def _main_only(self) -> Path:
        """A second copy of the database file alone, without its -wal (made once)."""
        self.path()
        assert self._dir is not None
        alone = self._dir / "main-only"
        if not alone.exists():
            alone.mkdir()
            self._copy(self.entry, alone / "db")
        return alone / "db"

    def _copy(self, entry: FileEntry, target: Path) -> str:
        """Copy the entry's bytes to `target`; their SHA-256."""
        digest = hashlib.sha256()
        with self.evidence.open(entry) as src, open(target, "wb") as dst:
            while chunk := src.read(1 << 20):
                digest.update(chunk)
                dst.write(chunk)
        return digest.hexdigest()

    def remove(self) -> None:
        if self._digests is not None:
            self._digests.close()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
