"""Choosing and running parsers on the files of an evidence item. Shared by `triage run` (records go to
the case store) and `triage parse` (records go to stdout); storage is the caller's business."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

from parsers import ALL_PARSERS, ParseContext, Parser, SqliteParser
from parsers.base import open_sqlite, quote_ident
from triage.evidence import Evidence, FileEntry
from triage.records import Base, SourceFile

if TYPE_CHECKING:
    from triage.parallel_media import PreparedFile

HEADER_BYTES = 64
SQLITE_SIDECARS = ("-wal", "-journal")  # -shm is rebuilt by SQLite; the WAL carries the data

# (stage, component, level, message, provenance, source) -> None
WarningSink = Callable[[str, str, str, str, "str | None", "SourceFile | None"], None]


@dataclass
class Candidate:
    entry: FileEntry
    header: bytes
    parsers: list[Parser]


class ParseRunner:
    """Selects the files parsers want and runs the parsers, reporting records and warnings by callback."""

    def __init__(self, evidence: Evidence, workdir: Path, on_source: Callable[[SourceFile], None],
                 on_record: Callable[[Base, SourceFile], None], on_warning: WarningSink,
                 parsers: Iterable[Parser] = ALL_PARSERS) -> None:
        self.evidence, self.workdir = evidence, workdir
        self.on_source, self.on_record, self.warn = on_source, on_record, on_warning
        self.parsers = tuple(parsers)
        self.sidecars: dict[tuple[str, str], FileEntry] = {}

    def select(self, tick: Callable[[], None] = lambda: None) -> list[Candidate]:
        """One pass over the listing: files some parser accepts, and the SQLite sidecars beside them."""
        candidates = []
        for entry in self.evidence.walk():
            tick()
            if entry.type != "file" or not entry.allocated or not entry.size:
                continue
            if entry.path.endswith(SQLITE_SIDECARS):
                self.sidecars[(entry.volume, entry.path)] = entry
                continue
            header = self._header(entry)
            chosen = [p for p in self.parsers if p.accepts(entry, header)]
            if chosen:
                candidates.append(Candidate(entry, header, chosen))
        return candidates

    def parse(self, cand: Candidate, prepared: "PreparedFile | None" = None) -> SourceFile | None:
        """Run every accepting parser on one file; the SourceFile is announced before its first record.

        `prepared`: the file's hash and parser output computed ahead in a worker (triage.parallel_media)."""
        entry = cand.entry
        source = SourceFile(path=entry.path, layers=list(entry.layers), provenance=entry.provenance,
                            volume=entry.volume, inode=entry.inode, size=entry.size, mtime=entry.mtime)
        try:
            source.sha256 = prepared.sha256 if prepared is not None else self._sha256(entry)
        except Exception as e:
            self.warn("parser", "file reader", "not parsed", f"cannot read file: {e}", entry.provenance, None)
            return None
        copy = SqliteCopy(self.evidence, entry, self.sidecars, self.workdir)
        parsed_by: list[str] = []
        misfits: list[tuple[str, str]] = []  # (parser, why) for parsers named for this file that could not read it
        try:
            for parser in cand.parsers:
                if isinstance(parser, SqliteParser) and not self._structure_ok(parser, copy, entry, misfits):
                    continue
                if not parsed_by:
                    self.on_source(source)
                parsed_by.append(parser.name)
                ctx = ParseContext(entry=entry, open=lambda: self.evidence.open(entry), sha256=source.sha256,
                                   header=cand.header, sqlite_copy=copy.path)
                done = prepared.replay(parser.name, ctx) if prepared is not None else None
                self._run_parser(parser, ctx, source, copy, done)
        finally:
            copy.remove()
        if not parsed_by:  # one generation's parser not fitting is normal when another one read the file
            for name, why in misfits:
                self.warn("parser", name, "not parsed", why, entry.provenance, None)
        source.parser = ", ".join(parsed_by) or None
        return source if parsed_by else None

    def _header(self, entry: FileEntry) -> bytes:
        try:
            with self.evidence.open(entry) as f:
                return f.read(HEADER_BYTES)
        except Exception as e:  # an unreadable file is reported, the run goes on
            self.warn("evidence", "file reader", "warning", f"cannot read: {e}", entry.provenance, None)
            return b""

    def _sha256(self, entry: FileEntry) -> str:
        with self.evidence.open(entry) as f:
            return hashlib.file_digest(f, "sha256").hexdigest()

    def _structure_ok(self, parser: SqliteParser, copy: "SqliteCopy", entry: FileEntry,
                      misfits: list[tuple[str, str]]) -> bool:
        try:
            with open_sqlite(copy.path()) as db:
                missing = parser.missing_structure(db)
        except Exception as e:
            if parser.path_matches(entry):
                misfits.append((parser.name, f"database cannot be opened: {e}"))
            return False
        if missing and parser.path_matches(entry):
            # named like ours but shaped differently: an unknown generation or a look-alike
            misfits.append((parser.name, f"unknown schema: missing {', '.join(missing)}"))
        return not missing

    def _run_parser(self, parser: Parser, ctx: ParseContext, source: SourceFile,
                    copy: "SqliteCopy | None" = None, done: "Iterator[Base] | None" = None) -> None:
        count = 0
        try:
            for record in (done if done is not None else parser.parse(ctx)):
                if copy is not None and isinstance(parser, SqliteParser):
                    copy.mark_wal_only(record)
                self.on_record(record, source)
                count += 1
        except Exception as e:  # a parser bug or hostile file: keep what was read, say what was not
            ctx.warn(f"stopped after {count} record(s): {type(e).__name__}: {e}")
            source.status = "parsed in part" if count else "not parsed"
        source.record_count += count
        for message in ctx.warnings:
            self.warn("parser", parser.name, "warning", message, source.provenance, source)
        if ctx.warnings and source.status == "parsed":
            source.status = "parsed with warnings"


class SqliteCopy:
    """A private copy of a database and its -wal/-journal, made on first use (evidence stays untouched)."""

    def __init__(self, evidence: Evidence, entry: FileEntry, sidecars: dict, workdir: Path) -> None:
        self.evidence, self.entry, self.sidecars, self.workdir = evidence, entry, sidecars, workdir
        self._dir: Path | None = None
        self._wal = sidecars.get((entry.volume, entry.path + "-wal"))
        self._main_rows: dict[str, set[str]] | None = None  # row ids per table without the -wal (made once)
        self._tables_with_wal: set[str] = set()

    def path(self) -> Path:
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(dir=self.workdir))
            self._copy(self.entry, self._dir / "db")
            for suffix in SQLITE_SIDECARS:
                side = self.sidecars.get((self.entry.volume, self.entry.path + suffix))
                if side is not None:
                    self._copy(side, self._dir / f"db{suffix}")
        return self._dir / "db"

    def mark_wal_only(self, record: Base) -> None:
        """Flag a record whose row exists only in the -wal: not yet checkpointed into the database file.

        Such rows are the newest, and a tool that reads the main file alone would not see them; the
        flag (`extra["wal_only"]`) lets an examiner explain why another tool's count differs.
        """
        table, row = getattr(record, "source_table", None), getattr(record, "source_row", None)
        if table is None or row is None or not isinstance(getattr(record, "extra", None), dict):
            return
        if self._wal is None:
            return  # no -wal: every row is in the database file
        main = self._main_file_rows()
        if table not in self._tables_with_wal:
            return  # a label that is not a table name: nothing to compare
        if row not in main.get(table, set()):
            record.extra["wal_only"] = True

    def _main_file_rows(self) -> dict[str, set[str]]:
        """Row ids per table in the database file without its -wal (read once)."""
        if self._main_rows is None:
            with open_sqlite(self.path()) as db:
                self._tables_with_wal = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
            self._main_rows = self._rows_without_wal()
        return self._main_rows

    def _rows_without_wal(self) -> dict[str, set[str]]:
        assert self._dir is not None
        alone = self._dir / "main-only"
        alone.mkdir()
        self._copy(self.entry, alone / "db")
        rows: dict[str, set[str]] = {}
        with open_sqlite(alone / "db") as db:
            names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            for name in names:
                try:
                    rows[name] = {str(r[0]) for r in db.execute(f"SELECT rowid FROM {quote_ident(name)}")}
                except Exception:  # WITHOUT ROWID tables, damaged pages: not comparable, never flagged
                    continue
        return rows

    def _copy(self, entry: FileEntry, target: Path) -> None:
        with self.evidence.open(entry) as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)

    def remove(self) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)


