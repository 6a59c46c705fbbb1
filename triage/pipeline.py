"""One examination run: evidence → parsers → store → rules → report, every step in the custody log."""

from __future__ import annotations

import getpass
import hashlib
import platform
import shutil
import socket
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from parsers import ALL_PARSERS, ParseContext, Parser, SqliteParser
from parsers.base import open_sqlite
from rules.engine import DEFAULT_PACK, RulePack, evaluate, load_pack
from triage import TOOL_NAME, __version__
from triage.citation import describe
from triage.custody import CustodyLog
from triage.errors import TriageError
from triage.evidence import Evidence, FileEntry, open_evidence
from triage.progress import Reporter
from triage.records import CustodyEvent, EvidenceItem, Finding, ParseWarning, SourceFile
from triage.store import CaseStore
from triage.timeutil import iso

HEADER_BYTES = 64
SQLITE_SIDECARS = ("-wal", "-journal")  # -shm is rebuilt by SQLite; the WAL carries the data


@dataclass
class RunOptions:
    evidence: Path
    out: Path
    case: str = ""
    exhibit: str = ""
    examiner: str = field(default_factory=getpass.getuser)
    db_url: str | None = None
    pack: Path = DEFAULT_PACK


@dataclass
class Candidate:
    entry: FileEntry
    header: bytes
    parsers: list[Parser]


@dataclass
class RunResult:
    out: Path
    report: Path
    findings: int
    warnings: int
    records: dict[str, int]
    verified: bool | None
    unchanged: bool


def run(opts: RunOptions, progress: Reporter | None = None) -> RunResult:
    progress = progress or Reporter()
    _prepare_out(opts.out)
    store = CaseStore(opts.db_url) if opts.db_url else CaseStore.in_folder(opts.out)
    custody = CustodyLog(opts.out / "custody.jsonl", actor=opts.examiner, on_entry=_mirror_into(store))
    try:
        return Examination(opts, store, custody, progress).run()
    finally:
        store.close()


def _prepare_out(out: Path) -> None:
    if out.exists() and any(out.iterdir()):
        raise TriageError(f"output folder {out} is not empty; choose a new folder (results are never overwritten)")
    out.mkdir(parents=True, exist_ok=True)


def _mirror_into(store: CaseStore):
    def mirror(entry: dict, sha256: str) -> None:
        from datetime import datetime

        store.add(CustodyEvent(
            seq=entry["seq"], time_utc=datetime.fromisoformat(entry["time_utc"].replace("Z", "+00:00")),
            actor=entry["actor"], action=entry["action"], details=entry["details"],
            prev_sha256=entry["prev_sha256"], sha256=sha256,
        ))
    return mirror


def sha256_file(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


class Examination:
    """The steps of one run, in order. Each step leaves its trace in the custody log."""

    def __init__(self, opts: RunOptions, store: CaseStore, custody: CustodyLog, progress: Reporter) -> None:
        self.opts, self.store, self.custody, self.progress = opts, store, custody, progress
        self.workdir = Path(tempfile.mkdtemp(prefix="triage-work-"))
        self.warnings = 0

    def run(self) -> RunResult:
        from triage.report import write_report

        try:
            self.custody.record("run started", **self._run_parameters())
            pack = load_pack(self.opts.pack)
            self.custody.record("rule pack loaded", **pack.identity())
            with open_evidence(self.opts.evidence) as evidence:
                files = evidence.container_files
                item = self._acquire(evidence, self._hash_containers(files, "before"))
                self._parse_all(evidence)
            self._apply_rules(pack)
            self._verify_unchanged(item, files)
            self.store.commit()
            report = write_report(self.store, self.opts, pack, self.custody)
            self.custody.record("run finished", warnings=self.warnings, findings=self.store.count(Finding))
            self.store.commit()
        except Exception as e:
            # the examination record must say the run did not complete, and why
            self.custody.record("run failed", reason=f"{type(e).__name__}: {e}")
            self.store.commit()
            raise
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)  # private SQLite copies: nothing left behind
        return RunResult(
            out=self.opts.out, report=report, findings=self.store.count(Finding), warnings=self.warnings,
            records=report_counts(self.store), verified=item.media.get("verified"), unchanged=bool(item.unchanged),
        )

    # -- steps ---------------------------------------------------------------------------------
    def _run_parameters(self) -> dict:
        return {
            "tool": TOOL_NAME, "tool_version": __version__,
            "python": sys.version.split()[0], "platform": platform.platform(), "host": socket.gethostname(),
            "operator": self.opts.examiner, "case": self.opts.case, "exhibit": self.opts.exhibit,
            "evidence": str(self.opts.evidence.resolve()), "output": str(self.opts.out.resolve()),
            "store": self.store.engine.url.render_as_string(hide_password=True),
            "parsers": [p.name for p in ALL_PARSERS], "scope": "all files",
        }

    def _hash_containers(self, files: list[Path], when: str) -> dict[str, str]:
        hashes = {}
        total = sum(p.stat().st_size for p in files)
        with self.progress.stage(f"SHA-256 of evidence files ({when})", total, "bytes") as bar:
            for path in files:
                hashes[str(path)] = sha256_file(path)
                bar.advance(path.stat().st_size)
        self.custody.record(f"evidence files hashed ({when})", sha256=hashes)
        return hashes

    def _acquire(self, evidence: Evidence, before: dict[str, str]) -> EvidenceItem:
        self.custody.record("evidence opened", kind=evidence.kind, container_files=[str(p) for p in evidence.container_files])
        for message in getattr(evidence, "warnings", []):
            self.warn("evidence", "evidence reader", "warning", message)
        with self.progress.stage("Hashing media (MD5, SHA-1, SHA-256)", None, "bytes") as bar:
            media = evidence.media_hashes(progress=bar.update)
        self.custody.record("media hashed", **media.to_json())
        if media.verified is False:
            self.warn("evidence", "acquisition hash", "error",
                      f"stored acquisition hash does not match the media (stored {media.stored}, computed md5 "
                      f"{media.md5}); read errors: {media.read_errors or 'none'}")
        item = EvidenceItem(source=str(self.opts.evidence), kind=evidence.kind,
                            container_files=[str(p) for p in evidence.container_files],
                            media=media.to_json(), files_sha256_before=before)
        self.store.add(item)
        return item

    def _parse_all(self, evidence: Evidence) -> None:
        candidates, sidecars = self._select(evidence)
        self.custody.record("files selected for parsing", files=len(candidates),
                            by_parser={p.name: sum(p in c.parsers for c in candidates) for p in ALL_PARSERS})
        with self.progress.stage("Parsing", len(candidates)) as bar:
            for cand in candidates:
                self._parse_file(evidence, cand, sidecars)
                bar.advance()
        self.store.flush()
        self.custody.record("parsing finished", records=report_counts(self.store), warnings=self.warnings)

    def _select(self, evidence: Evidence) -> tuple[list[Candidate], dict[tuple[str, str], FileEntry]]:
        candidates, sidecars = [], {}
        with self.progress.stage("Listing files", None) as bar:
            for entry in evidence.walk():
                bar.advance()
                if entry.type != "file" or not entry.allocated or not entry.size:
                    continue
                if entry.path.endswith(SQLITE_SIDECARS):
                    sidecars[(entry.volume, entry.path)] = entry
                    continue
                header = self._header(evidence, entry)
                chosen = [p for p in ALL_PARSERS if p.accepts(entry, header)]
                if chosen:
                    candidates.append(Candidate(entry, header, chosen))
        return candidates, sidecars

    def _header(self, evidence: Evidence, entry: FileEntry) -> bytes:
        try:
            with evidence.open(entry) as f:
                return f.read(HEADER_BYTES)
        except Exception as e:  # an unreadable file is reported, the run goes on
            self.warn("evidence", "file reader", "warning", f"cannot read: {e}", entry.provenance)
            return b""

    def _parse_file(self, evidence: Evidence, cand: Candidate, sidecars: dict) -> None:
        entry = cand.entry
        source = SourceFile(path=entry.path, layers=list(entry.layers), provenance=entry.provenance,
                            volume=entry.volume, inode=entry.inode, size=entry.size, mtime=entry.mtime)
        try:
            source.sha256 = self._sha256_entry(evidence, entry)
        except Exception as e:
            self.warn("parser", "file reader", "not parsed", f"cannot read file: {e}", entry.provenance)
            return
        copy = SqliteCopy(evidence, entry, sidecars, self.workdir)
        parsed_by = []
        for parser in cand.parsers:
            if isinstance(parser, SqliteParser) and not self._structure_ok(parser, copy, entry):
                continue
            ctx = ParseContext(entry=entry, open=lambda: evidence.open(entry), sha256=source.sha256,
                              header=cand.header, sqlite_copy=copy.path)
            if not parsed_by:
                self.store.add(source)
                self.store.flush()
            parsed_by.append(parser.name)
            self._run_parser(parser, ctx, source)
        copy.remove()
        source.parser = ", ".join(parsed_by) or None

    def _structure_ok(self, parser: SqliteParser, copy: "SqliteCopy", entry: FileEntry) -> bool:
        try:
            with open_sqlite(copy.path()) as db:
                missing = parser.missing_structure(db)
        except Exception as e:
            if parser.path_matches(entry):
                self.warn("parser", parser.name, "not parsed", f"database cannot be opened: {e}", entry.provenance)
            return False
        if missing and parser.path_matches(entry):
            # named like ours but shaped differently: an unknown generation or a look-alike
            self.warn("parser", parser.name, "not parsed",
                      f"unknown schema: missing {', '.join(missing)}", entry.provenance)
        return not missing

    def _run_parser(self, parser: Parser, ctx: ParseContext, source: SourceFile) -> None:
        count = 0
        try:
            for record in parser.parse(ctx):
                record.source_file_id = source.id
                self.store.add(record)
                count += 1
        except Exception as e:  # a parser bug or hostile file: keep what was read, say what was not
            ctx.warn(f"stopped after {count} record(s): {type(e).__name__}: {e}")
            source.status = "parsed in part" if count else "not parsed"
        source.record_count += count
        for message in ctx.warnings:
            self.warn("parser", parser.name, "warning", message, source.provenance, source.id)
        if ctx.warnings and source.status == "parsed":
            source.status = "parsed with warnings"

    def _sha256_entry(self, evidence: Evidence, entry: FileEntry) -> str:
        with evidence.open(entry) as f:
            return hashlib.file_digest(f, "sha256").hexdigest()

    def _apply_rules(self, pack: RulePack) -> None:
        findings = evaluate(pack, self.store.all, lambda r: describe(r, self.store))
        for finding in findings:
            self.store.add(finding)
        self.store.flush()
        self.custody.record("rules evaluated", pack=pack.name, version=pack.version, findings=len(findings))

    def _verify_unchanged(self, item: EvidenceItem, files: list[Path]) -> None:
        after = self._hash_containers(files, "after")
        item.files_sha256_after = after
        item.unchanged = after == item.files_sha256_before
        if not item.unchanged:
            self.warn("evidence", "integrity", "error", "evidence files changed during the run: "
                      "compare the before/after SHA-256 in the custody log")

    def warn(self, stage: str, component: str, level: str, message: str,
             provenance: str | None = None, source_file_id: int | None = None) -> None:
        self.warnings += 1
        self.store.add(ParseWarning(stage=stage, component=component, level=level, message=message,
                                    provenance=provenance, source_file_id=source_file_id))


class SqliteCopy:
    """A private copy of a database and its -wal/-journal, made on first use (evidence stays untouched)."""

    def __init__(self, evidence: Evidence, entry: FileEntry, sidecars: dict, workdir: Path) -> None:
        self.evidence, self.entry, self.sidecars, self.workdir = evidence, entry, sidecars, workdir
        self._dir: Path | None = None

    def path(self) -> Path:
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(dir=self.workdir))
            self._copy(self.entry, self._dir / "db")
            for suffix in SQLITE_SIDECARS:
                side = self.sidecars.get((self.entry.volume, self.entry.path + suffix))
                if side is not None:
                    self._copy(side, self._dir / f"db{suffix}")
        return self._dir / "db"

    def _copy(self, entry: FileEntry, target: Path) -> None:
        with self.evidence.open(entry) as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)

    def remove(self) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)


def report_counts(store: CaseStore) -> dict[str, int]:
    from triage.records import EXPORTED_RECORDS

    return {cls.record_type: store.count(cls) for cls in EXPORTED_RECORDS}
