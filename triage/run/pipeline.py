"""One examination run: evidence → parsers → store → rules → report, every step in the custody log."""

from __future__ import annotations

import getpass
import hashlib
import os
import platform
import shutil
import socket
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from concurrent.futures import BrokenExecutor, Executor, Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.exc import DBAPIError

from parsers import ALL_PARSERS
from rules.engine import DEFAULT_PACK, RulePack, load_pack
from triage import TOOL_NAME, __version__
from triage.addenda.declarations import BUNDLE_NAME as DECLARATIONS_NAME
from triage.addenda.declarations import LoadedDeclarations, load_declarations
from triage.bundle.seal import PAYLOAD_DIR, BundleZip, seal_entry_details
from triage.enrich.watchlist_media import media_watchlist
from triage.enrich.watchlists import Watchlists
from triage.errors import TriageError
from triage.evidence import Evidence, open_evidence
from triage.evidence.model import shown_path
from triage.evidence.partition_roles import volume_roles
from triage.integrity.custody import CustodyLog
from triage.integrity.exclusive import write_bytes_exclusive, write_text_exclusive
from triage.integrity.file_hashes import MANY_FILES, batch_size, hashing_pool, sha256_batch
from triage.integrity.output_location import check_output_location
from triage.limits import ParseLimits
from triage.model.records import Base, CustodyEvent, EvidenceItem, Finding, ParseWarning, SourceFile
from triage.parsing import Candidate, ParseRunner
from triage.parsing.parallel import ParallelStats, parse_in_order
from triage.process_pool import submitted
from triage.report.display import DISPLAY_LIMITS
from triage.report.worker import ReportWorker
from triage.run.database_forks import DatabaseForks, database_forks
from triage.run.media_hash import MediaHashFork, MediaHashing
from triage.run.passes import (
    PARTIES_LINKED,
    PASSES,
    TEXT_SCANNERS,
    PartiesElsewhere,
    PassInput,
    TextScanElsewhere,
    run_passes,
)
from triage.run.progress import Reporter, Tracker
from triage.run.scope import EVERYTHING, Scope, ScopeFilter
from triage.run.workdir import WorkArea, private_workdir
from triage.store import CaseStore
from triage.store.forked_reader import failure_details

if TYPE_CHECKING:
    from triage.enrich.thumbnails import Thumbnails
    from triage.evidence.opener import OpenOptions


@dataclass
class RunOptions:
    evidence: Path
    out: Path
    case: str = ""
    exhibit: str = ""
    examiner: str = field(default_factory=getpass.getuser)
    db_url: str | None = None
    pack: Path = DEFAULT_PACK
    watchlists: list[Path] = field(default_factory=list)  # CSV kind,value[,label] (triage/enrich/watchlists.py)
    signing_key: Path | None = None  # Ed25519 PEM; default: the examiner's key from `triage keys init`
    media_watchlist: Path | None = None  # deprecated: read as one more of `watchlists` (same format)
    open_options: OpenOptions | None = None  # backup password, archive limits (None: defaults + environment)
    parse_limits: ParseLimits = field(default_factory=ParseLimits)  # per-file SQLite time/row budgets
    case_records: bool = False  # also case-records.jsonld: every record as CASE/UCO (as large as records/*.jsonl)
    declarations: Path | None = None  # YAML (triage/addenda/declarations.py): printed into the sealed report.pdf
    # categories and date window (triage/run/scope.py): records outside are never stored, so never shown or exported
    scope: Scope = EVERYTHING
    # (action, details) of steps taken before the run that belong to its record (the kiosk's sign-in, legal
    # basis, scope and evidence choice, triage/kiosk/): recorded right after "run started", in order
    prior_steps: list[tuple[str, dict]] = field(default_factory=list)
    # where per-file media work runs (triage/parsing/parallel.py): None, this machine's process pool; the lab
    # gives a pool that spreads it over its workers (triage/lab/media.py). Records are the same either way.
    media_pool: Callable[[], Executor] | None = None


# what a fork that parsed a database counted: warnings, records the scope left out and links it cut, by type
ForkTally = tuple[int, Counter, Counter]

# the pass the report's second process begins its exports with: the parties' fork has the other core until about
# then, and the second process's exports are done long before the report step needs them
REPORT_WORKER_FROM = "rules evaluated"


@dataclass
class RunResult:
    out: Path
    report: Path
    findings: int
    warnings: int
    records: dict[str, int]
    verified: bool | None
    unchanged: bool
    bundle: Path | None = None  # the zip beside the folder
    signed: bool = False


def run(opts: RunOptions, progress: Reporter | None = None) -> RunResult:
    progress = progress or Reporter()
    # every refusal comes before the first byte is written: nothing to clean up, nothing replaced
    check_output_location(opts.evidence, opts.out, opts.db_url)
    key = _signing_key(opts)
    declarations = load_declarations(opts.declarations) if opts.declarations is not None else None
    with private_workdir() as work, BundleZip(opts.out) as bundle:  # a zip left unfinished is removed
        _prepare_out(opts.out)
        custody = CustodyLog(opts.out / "custody.jsonl", actor=opts.examiner)
        store = _open_store(opts, custody)
        custody.on_entry = _mirror_into(store)
        try:
            result = Examination(opts, store, custody, progress, key, work, declarations, bundle).run()
        finally:
            store.close()
        # sealed last: the manifest covers every file, the closed case store and the full custody log
        with progress.stage("Sealing the bundle", None):
            result.bundle = _seal_or_record_failure(opts, key, bundle)
    result.signed = key is not None
    result.report = opts.out / PAYLOAD_DIR / result.report.relative_to(opts.out)
    return result


def _open_store(opts: RunOptions, custody: CustodyLog) -> CaseStore:
    """The case store; when it cannot be made (disk full, bad URL, a used database) the log says so."""
    try:
        return CaseStore(opts.db_url) if opts.db_url else CaseStore.in_folder(opts.out)
    except BaseException as e:
        _record_run_failed(custody, f"the case store could not be opened: {_reason(e)}")
        raise


def _seal_or_record_failure(opts: RunOptions, key, bundle: BundleZip) -> Path:  # noqa: ANN001 - Ed25519PrivateKey | None
    """Seal the folder; if sealing fails (disk full …), the custody log ends with "run failed" (the zip it
    could not finish is removed when `bundle` is left; one it did not create is never touched)."""
    try:
        return bundle.seal(key)
    except BaseException as e:
        # the log is wherever sealing left it: still at the top, or moved into the payload
        for path in (opts.out / PAYLOAD_DIR / "custody.jsonl", opts.out / "custody.jsonl"):
            if path.is_file():
                _record_run_failed(CustodyLog(path, actor=opts.examiner), f"sealing the bundle failed: {_reason(e)}")
                break
        raise


def _record_run_failed(custody: CustodyLog, reason: str) -> None:
    """Close the log with "run failed"; a second failure here (disk full) must not hide the first."""
    try:
        custody.record("run failed", reason=reason)
    except Exception:  # noqa: BLE001 - disk full, the store's mirror failing: the caller's error is the one to see
        pass


def _reason(e: BaseException) -> str:
    """One line for the record: what failed, in words an examiner can act on."""
    if isinstance(e, OSError) and e.strerror:
        where = f" ({e.filename})" if e.filename else ""
        return f"{e.strerror}{where}"
    if isinstance(e, KeyboardInterrupt):
        return "interrupted (Ctrl-C)"
    if isinstance(e, DBAPIError):  # the database's own words, without the SQL statement
        return f"case store: {e.orig}"
    return f"{type(e).__name__}: {e}"


def _signing_key(opts: RunOptions):  # noqa: ANN202 - Ed25519PrivateKey | None
    """The explicit key, else the examiner's default key when one exists, else None (unsigned)."""
    from triage.bundle.keys import PRIVATE_NAME, key_dir, load_private

    if opts.signing_key is not None:
        return load_private(opts.signing_key)
    default = key_dir() / PRIVATE_NAME
    return load_private(default) if default.exists() else None


def _prepare_out(out: Path) -> None:
    """Make the output folder (check_output_location has refused files, non-empty folders and overlaps)."""
    out.mkdir(parents=True, exist_ok=True)
    if any(out.iterdir()):  # filled between the check and now
        raise TriageError(f"output folder {out} is not empty; choose a new folder (results are never overwritten)")


def _mirror_into(store: CaseStore):
    def mirror(entry: dict, sha256: str) -> None:
        from datetime import datetime

        store.add(
            CustodyEvent(
                seq=entry["seq"],
                time_utc=datetime.fromisoformat(entry["time_utc"].replace("Z", "+00:00")),
                actor=entry["actor"],
                action=entry["action"],
                details=entry["details"],
                prev_sha256=entry["prev_sha256"],
                sha256=sha256,
            )
        )

    return mirror


# a folder extraction's files are its containers: past this many, their hashes go to a list file in the bundle
INLINE_EVIDENCE_FILES = MANY_FILES


class HashedBeside:
    """The SHA-256 of `files` worked out on `pool` (file_hashes.hashing_pool) in batches, counting the bytes done: a
    stage waiting for them still shows progress (a large image's hashing outlasts the listing beside it). A pool
    that breaks (its process could not start or died) costs only time: the rest is hashed here."""

    def __init__(self, pool: Executor, files: list[str]) -> None:
        self.done = 0
        size = batch_size(files)
        self.batches = [
            (paths, submitted(pool, sha256_batch, paths))  # failed at once when the pool is broken already
            for paths in (files[i : i + size] for i in range(0, len(files), size))
        ]

    def result(self, bar: Tracker, total: int) -> dict[str, str]:
        """The hashes by shown path, once worked out; `bar` follows the bytes done meanwhile."""
        hashes = {}
        for paths, batch in self.batches:
            for path, (digest, size) in zip(paths, self._batch(paths, batch, bar, total), strict=True):
                hashes[shown_path(path)] = digest
                self.done += size
            bar.update(self.done, total)
        return hashes

    def _batch(self, paths: list[str], batch: Future, bar: Tracker, total: int) -> list[tuple[str, int]]:
        while True:
            try:
                return batch.result(timeout=0.25)
            except TimeoutError:
                bar.update(self.done, total)
            except BrokenExecutor:
                return sha256_batch(paths)


class Examination:
    """The steps of one run, in order. Each step leaves its trace in the custody log."""

    def __init__(
        self,
        opts: RunOptions,
        store: CaseStore,
        custody: CustodyLog,
        progress: Reporter,
        key=None,
        work: WorkArea | None = None,  # noqa: ANN001 - Ed25519PrivateKey | None
        declarations: LoadedDeclarations | None = None,
        bundle: BundleZip | None = None,
    ) -> None:
        self.opts, self.store, self.custody, self.progress = opts, store, custody, progress
        self.key = key
        self.bundle = bundle  # the bundle's zip, which the report's finished files join early (seal.py)
        self.declarations = declarations
        self.work = work
        # private SQLite copies: inside the run's 0700 work folder when there is one (removed with it)
        self.workdir = Path(tempfile.mkdtemp(prefix="sqlite-copies-"))
        self.warnings = 0
        self._recorded: dict[str, dict[str, str]] = {}  # evidence file hashes as recorded, "before"/"after"
        self._evidence_warnings_seen = 0
        self.scope = ScopeFilter(opts.scope)
        self.report_worker: ReportWorker | None = None  # the report's second process, from the run's start

    def run(self) -> RunResult:
        try:
            self.custody.record("run started", **self._run_parameters())
            # the report's second process starts now and loads its modules and WeasyPrint (~1.3 CPU-s) on the core
            # the start leaves idle; it reads nothing until the messages are final (`begin`, triage/report/worker.py)
            report_worker = self.report_worker = ReportWorker(self.store, self.opts.out, begin=False)
            for action, details in self.opts.prior_steps:
                self.custody.record(action, **details)
            if self.work is not None and self.work.stale_removed:
                self.custody.record(
                    "stale work folders removed",
                    folders=self.work.stale_removed,
                    why="left by runs whose process no longer exists",
                )
            self._seal_in_declarations()
            pack = load_pack(self.opts.pack)
            self.custody.record("rule pack loaded", **pack.identity())
            # a bad watch-list stops the run before parsing, not after
            list_files = [*self.opts.watchlists, *([self.opts.media_watchlist] if self.opts.media_watchlist else [])]
            self.watchlists = Watchlists.load(list_files)
            if list_files:
                self.custody.record(
                    "watch-lists loaded",
                    sha256=self.watchlists.files,
                    entries=len(self.watchlists.entries),
                    media_entries=len(self.watchlists.media),
                    **({"notes": self.watchlists.notes} if self.watchlists.notes else {}),
                )
            self.media_watchlist = media_watchlist(self.watchlists)
            with open_evidence(self.opts.evidence, self.opts.open_options) as evidence, ExitStack() as forked:
                # an image's acquisition hash is read by a fork from now on, on the core the listing leaves idle
                # (triage/run/media_hash.py); made before this run starts a thread of its own
                early = MediaHashFork(evidence)
                forked.callback(early.stop)
                # listed once, as text: a folder extraction holds tens of thousands of files, kept until the
                # second hash (as Path objects they held 90 MB at 51,000 files)
                files = [os.fspath(p) for p in evidence.container_files]
                # hashed while the evidence is listed (the listing only reads): an image's few large files on a
                # thread, a folder's many small ones in a process of their own (triage/integrity/file_hashes.py).
                # 4 GiB E01: hashed + selected 8.0 -> 7.1 s; the entries keep their order, the first saying what ran
                # beside it. The pool has ended before the database forks below are made.
                with hashing_pool(files) as hashing:
                    hashed = HashedBeside(hashing, files)
                    runner, candidates = self._select(evidence)
                    before = self._hash_containers(files, "before", hashed, read_while="listing")
                self._opened(evidence, files)
                self._selected(candidates)
                # the large databases are copied out and parsed in forks, made before this run starts a thread
                # of its own (triage/run/database_forks.py); their rows join the store at each file's turn
                sinks = (self._into_fork_store, self._absorb_fork_tally)
                with (
                    database_forks(
                        runner, candidates, self.store, sinks, self.workdir / "forks", self.progress
                    ) as forks,
                    ThreadPoolExecutor(1, thread_name_prefix="media-hash") as hashing,
                ):
                    # other evidence's acquisition hash reads the media on the other core while this one parses
                    # (the readers are safe to share: triage/evidence/images.py); it is waited for, and
                    # recorded, before anything else is said about the evidence
                    media = early.or_on(hashing, evidence, lambda path: before.get(shown_path(path)))
                    parallel = self._parse(runner, candidates, forks)
                    item = self._acquire(evidence, files, before, media)
                self._parsed(evidence, runner, parallel)
                # the listing's entries (a phone's tens of thousands of FileEntry objects) are not needed again:
                # what they held is reused by the passes and the report instead of the process growing past it
                del runner, candidates
            # the parsed records are final: other processes may read them now. A fork scans the message text
            # while the parties are linked; then the report's second process starts on them (the messages'
            # exports) while the payments and rules passes run (triage/report/worker.py)
            self.store.let_readers_in()
            with ExitStack() as stack:
                # forked before any thread is started: the parties are linked on the other core (passes.py)
                parties = PartiesElsewhere.start(self.store, self.workdir) if self._runs(PARTIES_LINKED) else None
                if parties is not None:
                    stack.callback(parties.stop)
                # and the later messages' text, which the payments and rules passes read (passes.py TextScanElsewhere)
                texts = TextScanElsewhere.start(self.store, pack) if self._runs_any(TEXT_SCANNERS) else None
                if texts is not None:
                    stack.callback(texts.stop)

                def start_report_worker(action: str) -> None:
                    if action == REPORT_WORKER_FROM:
                        report_worker.begin()

                with hashing_pool(files) as hashing:
                    # the evidence is closed: its files are hashed again on the other core while the passes run
                    after = HashedBeside(hashing, files)
                    skip = (PARTIES_LINKED,) if parties else ()
                    self._run_passes(pack, start_report_worker, skip, texts)
                    if parties is not None:
                        self.custody.record(PARTIES_LINKED, **parties.merge(self.store))
                    self._verify_unchanged(item, files, after)
                report_worker.begin()  # if the passes did not (a pack without rules)
                self.store.commit()
                self._announce_seal()  # before the report, which shows the key from this entry
                report = self._write_report(pack, self._make_thumbnails(), report_worker)
            self.custody.record("seal", **seal_entry_details(self.opts.out, self.key))
            self.custody.record("run finished", warnings=self.warnings, findings=self.store.count(Finding))
            self.store.commit()
        except BaseException as e:
            # the examination record must say the run did not complete, and why (Ctrl-C and SIGTERM too)
            self._record_failure(e)
            raise
        finally:
            if self.report_worker is not None:
                self.report_worker.close()  # stopped if the run failed before the report
            shutil.rmtree(self.workdir, ignore_errors=True)  # private SQLite copies: nothing left behind
        return RunResult(
            out=self.opts.out,
            report=report,
            findings=self.store.count(Finding),
            warnings=self.warnings,
            records=self.store.counts(),
            verified=item.media.get("verified"),
            unchanged=bool(item.unchanged),
        )

    def _record_failure(self, e: BaseException) -> None:
        """Close the log with "run failed" and keep what the store holds; neither may hide the error."""
        _record_run_failed(self.custody, _reason(e))
        try:
            self.store.commit()
        except Exception:  # noqa: BLE001 - the original error is the one the examiner must see
            pass

    # -- steps ---------------------------------------------------------------------------------
    def _seal_in_declarations(self) -> None:
        """The declarations file, as given, into the bundle (so its manifest seals it) and its SHA-256 into
        the record; the report prints what it says."""
        if self.declarations is None:
            return
        copy = self.opts.out / DECLARATIONS_NAME
        write_bytes_exclusive(copy, self.declarations.raw)
        self.custody.record(
            "declarations given",
            file=shown_path(self.declarations.source.resolve()),
            sha256=self.declarations.sha256,
            bundle_copy=DECLARATIONS_NAME,
            name=self.declarations.declarations.name,
            date=self.declarations.declarations.date.isoformat(),
        )

    def _announce_seal(self) -> None:
        """Say in the record how the bundle will be sealed (the seal itself comes after the last entry)."""
        from triage.bundle.keys import fingerprint

        if self.key is None:
            self.warn(
                "bundle",
                "signature",
                "warning",
                "no examiner signing key: the bundle is sealed with a SHA-256 "
                "manifest but not signed; create a key with `triage keys init`",
            )
            self.custody.record("bundle to be sealed", signed=False)
        else:
            self.custody.record("bundle to be sealed", signed=True, key_fingerprint=fingerprint(self.key.public_key()))

    def _run_parameters(self) -> dict:
        from triage.evidence.opener import OpenOptions

        # the backup password is recorded as given or not, never its value
        open_options = self.opts.open_options or OpenOptions()
        password = open_options.backup_password
        return {
            "tool": TOOL_NAME,
            "tool_version": __version__,
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "host": socket.gethostname(),
            "operator": self.opts.examiner,
            "case": self.opts.case,
            "exhibit": self.opts.exhibit,
            "evidence": shown_path(self.opts.evidence.resolve()),
            "output": shown_path(self.opts.out.resolve()),
            "store": self.store.engine.url.render_as_string(hide_password=True),
            "parsers": [p.name for p in ALL_PARSERS],
            "scope": "all files" if self.opts.scope.is_everything else self.opts.scope.describe(),
            "scope_filter": self.opts.scope.to_json(),
            "backup_password": "given (not recorded)" if password else "none",
            "archive_limits": {
                "max_expansion_ratio": open_options.max_expansion_ratio,
                "max_total_bytes": open_options.max_total_bytes,
            },
            # every limit that can cut what is read or shown is a parameter of the run (triage/limits.py,
            # triage/report/display.py): another examiner repeats the run with the same values
            "parse_limits": self.opts.parse_limits.to_json(),
            "case_records": self.opts.case_records,
            "display_limits": dict(DISPLAY_LIMITS),
        }

    def _hash_containers(self, files: list[str], when: str, beside: HashedBeside, read_while: str) -> dict[str, str]:
        """SHA-256 of every evidence file (all of them compared before/after); the record names them inline,
        or, for a folder extraction of many files, through a list file in the bundle and that file's hash.
        `beside`: the hashes being worked out elsewhere while this process did `read_while` (listed the evidence,
        ran the passes)."""
        total = sum(os.stat(p).st_size for p in files)
        with self.progress.stage(f"SHA-256 of evidence files ({when})", total, "bytes") as bar:
            hashes = beside.result(bar, total)
        recorded = self._recorded_hashes(hashes, when)
        self.custody.record(
            f"evidence files hashed ({when})", sha256=recorded, files=len(hashes), bytes=total, read_while=read_while
        )
        self._recorded[when] = recorded
        return hashes

    def _recorded_hashes(self, hashes: dict[str, str], when: str) -> dict[str, str]:
        if len(hashes) <= INLINE_EVIDENCE_FILES:
            return hashes
        listing = self.opts.out / f"evidence-files-sha256-{when}.txt"  # sha256sum's format, sorted
        text = "".join(f"{digest}  {path}\n" for path, digest in sorted(hashes.items()))
        write_text_exclusive(listing, text)
        return {listing.name: hashlib.sha256(text.encode("utf-8")).hexdigest()}

    def _listed(self, files: list[str]) -> list[str]:
        if len(files) <= INLINE_EVIDENCE_FILES:
            return [shown_path(p) for p in files]
        return [
            f"{len(files)} files of {shown_path(self.opts.evidence)}, each with its SHA-256 in "
            "evidence-files-sha256-before.txt and evidence-files-sha256-after.txt"
        ]

    def _opened(self, evidence: Evidence, files: list[str]) -> None:
        self.custody.record(
            "evidence opened",
            kind=evidence.kind,
            container_files=self._listed(files),
            volume_roles=volume_roles(evidence),
        )  # which volume is userdata, system …
        self._record_evidence_warnings(evidence)

    def _acquire(
        self,
        evidence: Evidence,
        files: list[str],
        before: dict[str, str],
        computed: MediaHashing,
    ) -> EvidenceItem:
        """The acquisition hash, worked out beside other work, recorded with the evidence item."""
        with self.progress.stage("Hashing media (MD5, SHA-1, SHA-256)", None, "bytes") as bar:
            media = computed.result(bar.update)
        self.custody.record(
            "media hashed",
            **media.to_json(),
            started_utc=computed.started,
            read_while=computed.read_while,
            **failure_details(computed.fell_back),
        )
        if media.verified is False:
            self.warn(
                "evidence",
                "acquisition hash",
                "error",
                f"stored acquisition hash does not match the media (stored {media.stored}, computed md5 "
                f"{media.md5}); read errors: {media.read_errors or 'none'}",
            )
        self._before = before
        item = EvidenceItem(
            source=shown_path(self.opts.evidence),
            kind=evidence.kind,
            container_files=self._listed(files),
            media=media.to_json(),
            files_sha256_before=self._recorded["before"],
        )
        self.store.add(item)
        return item

    def _select(self, evidence: Evidence) -> tuple[ParseRunner, list[Candidate]]:
        runner = ParseRunner(
            evidence,
            self.workdir,
            on_source=self._store_source,
            on_record=self._store_record,
            on_warning=self._parse_warning,
            limits=self.opts.parse_limits,
            on_source_final=self._store_final_source,
        )
        with self.progress.stage("Listing files", None) as bar:
            candidates = runner.select(tick=bar.advance)
        return runner, candidates

    def _selected(self, candidates: list[Candidate]) -> None:
        self.custody.record(
            "files selected for parsing",
            files=len(candidates),
            by_parser={p.name: sum(p in c.parsers for c in candidates) for p in ALL_PARSERS},
        )

    def _parse(self, runner: ParseRunner, candidates: list[Candidate], forks: DatabaseForks | None) -> ParallelStats:
        with self.progress.stage("Parsing", len(candidates)) as bar:
            # photos are parsed in worker processes, large databases in forks; records are still stored in
            # listing order
            return parse_in_order(runner, candidates, bar.advance, pool_factory=self.opts.media_pool, forks=forks)

    def _into_fork_store(self, store: CaseStore) -> tuple[Callable[[], ForkTally], Callable[[], None]]:
        """In a fork parsing a large database (or in the run, parsing the files after one it waits for): this
        examination stores what the parsers give into `store`, a case file of its own, counting its own warnings
        and what the scope leaves out; the count goes back to the run (`_absorb_fork_tally`). Returns the count,
        and what puts the run's own store, count and scope back."""
        saved = self.store, self.warnings, self.scope
        self.store, self.warnings, self.scope = store, 0, ScopeFilter(self.opts.scope)

        def restore() -> None:
            self.store, self.warnings, self.scope = saved

        return (lambda: (self.warnings, self.scope.left_out, self.scope.links_cut)), restore

    def _absorb_fork_tally(self, tally: ForkTally) -> None:
        """What a fork counted while parsing a database whose rows have joined the store."""
        warnings, left_out, links_cut = tally
        self.warnings += warnings
        self.scope.left_out.update(left_out)
        self.scope.links_cut.update(links_cut)

    def _parsed(self, evidence: Evidence, runner: ParseRunner, parallel: ParallelStats) -> None:
        for fallback in parallel.fallbacks:
            self.warn("parser", "parallel media", "warning", f"worker failed: {fallback}")
        self._record_evidence_warnings(evidence)  # listing and reading add warnings of their own
        self.store.flush()
        self.custody.record(
            "parsing finished",
            records=self.store.counts(),
            warnings=self.warnings,
            workers=parallel.workers,
            files_parsed_in_workers=parallel.parallel_files,
            **({"databases_parsed_in_forks": parallel.forked_files} if parallel.forked_files else {}),
            # files read at a path no parser names, recognised by their tables (triage/parsing/db_shape.py)
            **({"recognised_by_schema": by_schema} if (by_schema := self._recognised_by_schema(runner)) else {}),
        )
        if not self.opts.scope.is_everything:
            self.custody.record("scope applied", **self.scope.summary())

    @staticmethod
    def _recognised_by_schema(runner: ParseRunner) -> list[str]:
        return [f"{path}: {'; '.join(schemas)}" for path, schemas in runner.recognised_by_schema]

    def _record_evidence_warnings(self, evidence: Evidence) -> None:
        """Record the reader's warnings not yet recorded (the list only grows while the evidence is read)."""
        messages = getattr(evidence, "warnings", [])
        for message in messages[self._evidence_warnings_seen :]:
            self.warn("evidence", "evidence reader", "warning", message)
        self._evidence_warnings_seen = len(messages)

    def _store_source(self, source: SourceFile) -> None:
        self.store.announce(source)  # its records point at it; stored once final (_store_final_source)

    def _store_final_source(self, source: SourceFile) -> None:
        self.store.settle(source)

    def _store_record(self, record: Base, source: SourceFile) -> None:
        if not self.scope.admit(record):  # outside the scope: never stored, counted in "scope applied"
            return
        self.store.insert(record)  # the runner has set its source_file_id (triage/parsing/__init__.py)

    def _parse_warning(
        self, stage: str, component: str, level: str, message: str, provenance: str | None, source: SourceFile | None
    ) -> None:
        self.warn(stage, component, level, message, provenance, source.id if source else None)

    def _run_passes(
        self,
        pack: RulePack,
        on_start: Callable[[str], None],
        skip: tuple[str, ...] = (),
        texts: TextScanElsewhere | None = None,
    ) -> None:
        """Media, payments, rules, parties: the registered passes (triage/run/passes.py) in the run's scope but
        those in `skip` (run elsewhere), each in the record; `on_start(action)` as each pass starts. `texts`: the
        fork scanning the later messages' text."""
        given = PassInput(self.store, pack, self.watchlists, self.media_watchlist, text_elsewhere=texts)
        passes = tuple(p.action for p in PASSES if self._runs(p.action) and p.action not in skip)
        with self.progress.stage("Passes over the records", len(PASSES)) as bar:

            def started(action: str) -> None:
                bar.advance()
                on_start(action)

            run_passes(given, record=self.custody.record, on_start=started, only=passes)

    def _runs(self, action: str) -> bool:
        """Whether the run's scope keeps the pass `action`."""
        return action in self.opts.scope.passes(tuple(p.action for p in PASSES))

    def _runs_any(self, actions: tuple[str, ...]) -> bool:
        return any(self._runs(action) for action in actions)

    def _verify_unchanged(self, item: EvidenceItem, files: list[str], computed: HashedBeside) -> None:
        after = self._hash_containers(files, "after", computed, read_while="passes")
        item.files_sha256_after = self._recorded["after"]
        item.unchanged = after == self._before
        if not item.unchanged:
            self.warn(
                "evidence",
                "integrity",
                "error",
                "evidence files changed during the run: compare the before/after SHA-256 in the custody log",
            )

    def _make_thumbnails(self) -> Thumbnails:
        """Pictures of the photos for the report, read again from the evidence after it was hashed (the
        report itself never opens the evidence)."""
        from triage.enrich.thumbnails import cited_media, make_thumbnails

        with self.progress.stage("Thumbnails", None):
            return make_thumbnails(
                self.store.session,
                self.opts.evidence,
                self.opts.open_options,
                self.opts.out,
                first=cited_media(self.store.session),
            )

    def _write_report(self, pack: RulePack, thumbnails: Thumbnails, worker: ReportWorker) -> Path:
        from triage.report import write_report
        from triage.report.context import ReportContext
        from triage.report.pdf import unavailable_warning

        no_pdf = unavailable_warning(worker.pdf_unavailable())
        if no_pdf:  # recorded before the report, so findings.json and every export list it
            self.warn("report", "report.pdf", "warning", no_pdf)
            self.store.flush()
        ctx = ReportContext(
            out=self.opts.out,
            case=self.opts.case,
            exhibit=self.opts.exhibit,
            examiner=self.opts.examiner,
            case_records=self.opts.case_records,
            thumbnails=thumbnails,
            declarations=self.declarations,
        )
        finished = self.bundle.add_finished if self.bundle is not None else None
        # a stage of its own: at a phone's size the report is about half the run (bench/RESULTS.md), and the kiosk's
        # progress page would show the thumbnails' stage all that time
        with self.progress.stage("Writing the report (pages, exports, report.pdf)", None):
            written = write_report(self.store, ctx, pack, self.custody, worker, finished)
        for problem in written.problems:
            self.warn("report", "report.pdf", "error", problem)
        return written.index

    def warn(
        self,
        stage: str,
        component: str,
        level: str,
        message: str,
        provenance: str | None = None,
        source_file_id: int | None = None,
    ) -> None:
        self.warnings += 1
        self.store.insert(  # never changed once stored
            ParseWarning(
                stage=stage,
                component=component,
                level=level,
                message=message,
                provenance=provenance,
                source_file_id=source_file_id,
            )
        )
