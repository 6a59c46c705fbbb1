"""The passes over the stored records after parsing, in order: one list for `triage run`, `triage parse`
and `triage rules` (so a loose database shows its payments and findings exactly as a full run would).

A pass reads the case store (in chunks or in SQL, never a whole record type held in a list), writes
what it derives back through `CaseStore.insert`, and returns what the examination record should say
about it (or None when it had nothing to do: a media watch-list that was not given).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from triage.enrich.citation import Citation, describe
from triage.enrich.media_grouping import group_media
from triage.enrich.parties import parties_in
from triage.enrich.payments import extract_payments
from triage.enrich.text_scan import MessageTextScan, joined, scan_message_text, split_id
from triage.enrich.watchlist_media import MediaWatchlist, mark_watchlisted
from triage.evidence.loose import sidecars_of
from triage.model.records import Base, Finding, SourceFile
from triage.store import CaseStore
from triage.store.forked_reader import ForkedReader, ReadingSession, failure_details, fork_url

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from rules.lexicon import Lexicon
    from rules.pack import RulePack
    from rules.watchlist import Watchlists
    from triage.store.rows import StoreReader

Details = dict[str, Any]


@dataclass
class PassInput:
    """What the passes may use: the store, and the examiner's rule pack and lists when given."""

    store: CaseStore
    pack: RulePack | None = None
    watchlists: Watchlists | None = None
    media_watchlist: MediaWatchlist | None = None
    describe: Callable[[Base], Citation] | None = None  # how a finding cites a record (default: triage.enrich.citation)
    findings: list[Finding] = field(default_factory=list)  # filled by the rules pass
    text_elsewhere: TextScanElsewhere | None = None  # the later messages' scan, in a fork (`triage run`)
    # what a pass met on the way that its custody entry says (run_passes adds them to the pass's details)
    notes: Details = field(default_factory=dict)
    _text_scan: MessageTextScan | None = field(default=None, init=False, repr=False)

    def message_text(self) -> MessageTextScan:
        """The one scan of the message text (payment prefilter and lexicon hits), made by the first pass
        that asks and shared with the next: the texts do not change between passes. With `text_elsewhere`,
        this process scans the messages before the fork's first id and joins the fork's scan of the rest."""
        if self._text_scan is None:
            lexicon = self.pack.lexicon if self.pack else None
            if self.text_elsewhere is None:
                self._text_scan = scan_message_text(self.store, lexicon, _mentions(lexicon))
            else:
                split = self.text_elsewhere.from_id
                first = scan_message_text(self.store, lexicon, _mentions(lexicon), before_id=split)
                self._text_scan = joined(first, self.text_elsewhere.result(self.store.session))
                failed = self.text_elsewhere.job.fell_back
                self.notes.update(failure_details(failed, "the later messages were scanned here instead"))
        return self._text_scan


def _mentions(lexicon: Lexicon | None) -> Callable[[str], bool] | None:
    """What the scan asks of each folded text for the context lists (rules/context.py), with a lexicon only."""
    if lexicon is None:
        return None
    from rules.context import default_context

    return default_context().mentions


@dataclass(frozen=True)
class Pass:
    action: str  # its entry in the custody log
    run: Callable[[PassInput], Details | None]


PARTY_REFS_PER_FLUSH = 200_000  # refs held in inserted-but-unflushed parties before they are written


def link_parties_pass(given: PassInput) -> Details:
    return _link_parties(given.store, given.store)


def _link_parties(source: StoreReader, target: CaseStore) -> Details:
    """Parties of the records in `source`, inserted into `target` (the same store, or a fork's own file)."""
    count = ambiguous = without_country = pending_refs = 0
    for party in parties_in(source):  # one at a time: a party's refs can name 100,000 messages
        target.insert(party)
        count, ambiguous, without_country = (
            count + 1,
            ambiguous + party.ambiguous,
            without_country + (party.e164 is None),
        )
        pending_refs += len(party.refs)
        if pending_refs >= PARTY_REFS_PER_FLUSH:
            target.flush()
            pending_refs = 0
    target.flush()
    return {"parties": count, "ambiguous": ambiguous, "without_country": without_country}


# Below this many messages the scan is not split. The parties' fork then takes longer than the whole scan, and a
# third process slows it: N = 200,000 measured ~1.3 s slower split (5 runs each way), N = 1,000,000 ~1.7 s faster
# (the scan ~6 s, the parties ~3.5 s; bench/RESULTS.md)
TEXT_SCAN_SPLIT_FROM = 400_000
# The share of the messages (the first, by id) this process scans itself: it also groups the media before, and
# reads the payments from the scan after (N = 1,000,000: ~0.9 s, ~6 s for the whole scan, ~3 s; bench/RESULTS.md)
TEXT_SCAN_HERE = 0.4


@dataclass
class TextScanElsewhere:
    """The later messages' share of the message text scan (by id) in a fork of this process, started with the
    parties' fork, while this one groups the media and scans the rest (PassInput.message_text). At N = 1,000,000
    the scan is most of the payments pass (~6 of ~9 s) and ran on one core once the parties were linked."""

    job: ForkedReader[MessageTextScan]
    from_id: int

    @classmethod
    def start(cls, store: CaseStore, pack: RulePack | None) -> TextScanElsewhere | None:
        """The fork, started now; None where the store cannot be read by another process or holds too few
        messages (the scan then runs whole, in turn)."""
        url = fork_url(store.session)
        if url is None:
            return None
        split = split_id(store, TEXT_SCAN_HERE, TEXT_SCAN_SPLIT_FROM)
        if split is None:
            return None
        lexicon = pack.lexicon if pack else None
        mentions = _mentions(lexicon)  # loaded before the fork: both processes ask the same lists

        def scan(session: Session) -> MessageTextScan:
            return scan_message_text(ReadingSession(session), lexicon, mentions, from_id=split)

        # nothing to remove when it fails: the scan writes nothing, it is done here instead
        return cls(ForkedReader(scan, url, "scanning the message text", again=lambda: None), split)

    def result(self, session: Session) -> MessageTextScan:
        return self.job.result(session)

    def stop(self) -> None:
        self.job.stop()


PARTIES_LINKED = "parties linked"  # the parties pass's action: `triage run` runs it in a fork (below)
PAYMENTS_EXTRACTED = "payments extracted"
RULES_EVALUATED = "rules evaluated"


@dataclass
class PartiesElsewhere:
    """The parties pass in a fork of this process while this one runs the other passes: no later pass reads a
    party (the report does), so on two cores it need not wait its turn. The fork reads the store on its own
    connection and inserts the parties into an SQLite file of its own; `merge` appends its rows to the case store
    (`CaseStore.append_case_file`: ids go on from the store's), so the rows and their ids are those the pass would
    have stored here."""

    job: ForkedReader[Details]
    file: Path

    @classmethod
    def start(cls, store: CaseStore, folder: Path) -> PartiesElsewhere | None:
        """The fork, started now; None where the case store is not an SQLite file (the pass then runs in turn)."""
        url = fork_url(store.session)
        if url is None or store.engine.dialect.name != "sqlite":
            return None
        file = folder / "parties.sqlite"

        def link(session: Session) -> Details:
            own = CaseStore(f"sqlite:///{file}")
            try:
                details = _link_parties(ReadingSession(session), own)
                own.commit()
            finally:
                own.close()
            return details

        return cls(ForkedReader(link, url, "linking parties", again=lambda: _remove_case_file(file)), file)

    def merge(self, store: CaseStore) -> Details:
        """Wait for the fork, then append its parties to `store` in id order; what the pass says of them. A fork
        that failed costs time only: the parties are linked here into a new file, and the details say why."""
        details = self.job.result(store.session)
        store.append_case_file(self.file)
        return {**details, **failure_details(self.job.fell_back, "the parties were linked here instead")}

    def stop(self) -> None:
        self.job.stop()


def _remove_case_file(file: Path) -> None:
    """A case file of the run's own work folder, with its journal files, as a failed fork left it."""
    for part in (file, *sidecars_of(file)):
        part.unlink(missing_ok=True)


def group_media_pass(given: PassInput) -> Details:
    groups = group_media(given.store)
    given.store.flush()
    return {
        "duplicate_groups": groups.duplicate_groups,
        "duplicate_files": groups.duplicate_files,
        "near_duplicate_groups": groups.near_groups,
        "near_duplicate_files": groups.near_files,
    }


def media_watchlist_pass(given: PassInput) -> Details | None:
    if given.media_watchlist is None:
        return None
    marked = mark_watchlisted(given.store, given.media_watchlist)
    given.store.flush()
    return {**given.media_watchlist.identity(), "files_marked": marked}


def payments_pass(given: PassInput) -> Details:
    payments = extract_payments(given.store, given.message_text().may_hold_payment)
    for payment in payments:
        given.store.insert(payment)
    given.store.flush()
    methods = sorted({p.method for p in payments})
    return {"from_text": len(payments), "by_method": {m: sum(p.method == m for p in payments) for m in methods}}


def rules_pass(given: PassInput) -> Details | None:
    if given.pack is None:
        return None
    from rules.context import default_context
    from rules.engine import evaluate
    from rules.entities import close, model_name

    store = given.store
    cite = given.describe or _citer(store)
    try:
        given.findings = evaluate(given.pack, store.all, cite, given.watchlists, store=store, scan=given.message_text())
    finally:
        close()  # the named-entity reader's process, if a cited message needed it
    for finding in given.findings:
        store.add(finding)
    store.flush()
    return {
        "pack": given.pack.name,
        "version": given.pack.version,
        "findings": len(given.findings),
        # the context lists (journalism, legal, NGO, research) the assessment read, even when none matched
        "context_data": default_context().identity(),
        "named_entities": model_name() or "not used (no spaCy English model installed)",
    }


def _citer(store: CaseStore) -> Callable[[Base], Citation]:
    """triage.enrich.citation.describe, with the cited records' source files kept loaded: the session holds records
    weakly, and a thousand findings citing a dozen files would otherwise read each file's row again."""
    sources: dict[int, SourceFile | None] = {}

    def cite(record: Base) -> Citation:
        source_id = getattr(record, "source_file_id", None)
        if source_id is not None and source_id not in sources:
            sources[source_id] = store.get(SourceFile, source_id)
        return describe(record, store)

    return cite


# Parties come last: no other pass reads them (the report does), so `triage run` links them in a fork while the
# others run (PartiesElsewhere) and records them here, in their place, whatever the store
PASSES: tuple[Pass, ...] = (
    Pass("media grouped", group_media_pass),
    Pass("media watch-list applied", media_watchlist_pass),
    Pass(PAYMENTS_EXTRACTED, payments_pass),
    Pass(RULES_EVALUATED, rules_pass),
    Pass(PARTIES_LINKED, link_parties_pass),
)
TEXT_SCANNERS = (PAYMENTS_EXTRACTED, RULES_EVALUATED)  # the passes that read PassInput.message_text


def run_passes(
    given: PassInput,
    record: Callable[..., Any] | None = None,
    only: tuple[str, ...] | None = None,
    on_start: Callable[[str], Any] | None = None,
) -> None:
    """Every registered pass in order (or those named in `only`); `record(action, **details)` logs each."""
    for step in PASSES:
        if only is not None and step.action not in only:
            continue
        if on_start is not None:
            on_start(step.action)
        details = step.run(given)
        if given.notes:  # what the pass met on the way (a second process that failed): said in its entry
            details, given.notes = {**(details or {}), **given.notes}, {}
        if details is not None and record is not None:
            record(step.action, **details)
