"""The passes read the case store by columns and candidates (issue 14, "Passes"), with the same results.

Each pass is run on real SQLite case stores both ways where two ways exist (the rules engine streaming
every record vs asking the store for candidates; parties over whole records vs over rows), and the
results are compared value by value. Other tests count the ORM objects a pass builds (SQLAlchemy's `load`
event): chatter messages must not be built at all.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

import rules.candidates
import triage.store.rows
from rules.engine import evaluate
from rules.examples import describer, load_records
from rules.normalise import _strip_latin_marks, normalise
from rules.pack import load_pack
from rules.primitives import Context
from rules.testing import example_watchlists
from rules.watchlist import Watchlists
from triage.enrich.parties import link_parties, link_parties_in
from triage.enrich.payments import SERVICE_ACTION_PREFIX, TELEGRAM_PAYMENT_ACTIONS, extract_payments
from triage.enrich.text_scan import scan_message_text
from triage.model.records import Call, Contact, Device, Message, Party, Payment
from triage.run.passes import PartiesElsewhere, PassInput, run_passes
from triage.store import CaseStore

PACK = load_pack()
SCENARIOS = Path(__file__).parents[2] / "fixtures" / "scenarios" / "channel_scenarios.json"
T0 = datetime(2025, 5, 10, 9, 0, tzinfo=UTC)
CHATTER = [
    "ok see you later",
    "where are you?",
    "happy birthday brother",
    "شكرا جزيلا",
    "باشە برا 🙂",
    "merci à demain",
    "I'll be there in 10 minutes",
]


def case_store(tmp_path: Path) -> CaseStore:
    return CaseStore(f"sqlite:///{tmp_path / 'case.sqlite'}")


def message(
    i: int,
    body: str | None,
    counterpart: str | None = "+33612345678",
    thread: str | None = None,
    direction: str = "incoming",
    sender: str | None = None,
    **extra: Any,
) -> Message:
    return Message(
        app="whatsapp",
        thread=thread,
        direction=direction,
        counterpart=counterpart,
        sender=sender,
        body=body,
        time_utc=T0 + timedelta(minutes=i),
        time_raw=i,
        time_encoding="test",
        extra=extra,
    )


@pytest.fixture
def loaded() -> Iterator[Counter]:
    """Counts the ORM objects built per record type while the test runs."""
    counts: Counter = Counter()
    listeners = [
        (cls, (lambda c: lambda target, context: counts.update([c.__name__]))(cls)) for cls in (Message, Contact, Call)
    ]
    for cls, listener in listeners:
        event.listen(cls, "load", listener)
    yield counts
    for cls, listener in listeners:
        event.remove(cls, "load", listener)


def findings_of(findings: list) -> list[tuple]:
    return [
        (
            f.rule_id,
            f.severity,
            f.explanation,
            json.dumps(f.evidence, sort_keys=True),
            f.time_utc,
            json.dumps(f.extra, sort_keys=True),
        )
        for f in findings
    ]


def both_ways(records: list[dict[str, Any]], watchlists: Watchlists) -> tuple[list[tuple], list[tuple]]:
    """Findings of the pack over one store: streaming every record, and asking the store for candidates."""
    store = load_records(records)
    try:
        run_passes(PassInput(store, PACK, watchlists), only=("payments extracted",))
        streamed = evaluate(PACK, store.all, describer(store), watchlists)
        asked = evaluate(PACK, store.all, describer(store), watchlists, store=store)
        return findings_of(streamed), findings_of(asked)
    finally:
        store.close()


def scenario_records() -> list[tuple[str, list[dict[str, Any]]]]:
    doc = json.loads(SCENARIOS.read_text(encoding="utf-8"))
    return [(s["name"], s["records"]) for s in doc["scenarios"]]


def example_records() -> list[tuple[str, list[dict[str, Any]]]]:
    out = []
    for rule in PACK.rules:
        for kind in ("positive", "negative"):
            for n, example in enumerate(rule.examples.get(kind, []) or []):
                records = example["records"] if isinstance(example, dict) and "records" in example else [example]
                out.append((f"{rule.id} {kind} {n}", records))
    return out


@pytest.mark.parametrize("name, records", scenario_records() + example_records())
def test_rules_from_the_store_equal_rules_over_every_record(
    name: str, records: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # one id and one thread per query: the batching is exercised even on a handful of records
    monkeypatch.setattr(triage.store.rows, "ID_BATCH", 1)
    monkeypatch.setattr(rules.candidates, "THREAD_BATCH", 1)
    streamed, asked = both_ways(records, example_watchlists())
    assert asked == streamed


def test_the_scenarios_fire_through_the_store() -> None:
    """The equality above is not between two empty lists."""
    fired = Counter()
    for _, records in scenario_records():
        fired.update(f[0] for f in both_ways(records, example_watchlists())[1])
    assert {"TXT-01", "GEO-01", "PAY-01"} <= set(fired), fired


def test_thread_members_without_words_join_through_one_query(tmp_path: Path, loaded: Counter) -> None:
    """A thread rule's other parts apply to the messages of a thread holding crossing words: those members
    are found by the store (a thread named by its counterpart when the app stores no thread id), only those
    a part could use are built as records (words, a payment, or a digit for a ledger or a number given), and
    the chatter of other threads never is."""
    store = case_store(tmp_path)
    records = [message(i, CHATTER[i % len(CHATTER)], counterpart=f"+3361234{i % 40:04d}") for i in range(400)]
    records += [
        message(500, "Boat to England tomorrow, 1500 euro per person", counterpart="+447700900123", thread=""),
        message(501, "how much?", counterpart="+447700900123", direction="outgoing"),
        message(502, "Send it by hawala to the agent", counterpart="+447700900123", thread=None),
        message(503, "new number 07700 900456", counterpart="+447700900123"),  # digits: a number given (TXT-13)
    ]
    for record in records:
        store.insert(record)
    store.flush()
    streamed = evaluate(PACK, store.all, describer(store))
    loaded.clear()
    asked = evaluate(PACK, store.all, describer(store), store=store)
    assert findings_of(asked) == findings_of(streamed)
    assert loaded["Message"] == 3  # of the thread with crossing words: 500, 502, 503, not "how much?"
    store.close()


def test_payments_and_rules_share_one_scan_of_the_text(tmp_path: Path, loaded: Counter) -> None:
    store = case_store(tmp_path)
    for i in range(300):
        store.insert(message(i, CHATTER[i % len(CHATTER)]))
    store.insert(message(300, "Boat to England tomorrow, 1500 euro per person", counterpart="+447700900123"))
    store.insert(message(301, "send 200 GBP to sort code 20-00-00 account 55779911", counterpart="+447700900124"))
    store.flush()
    ids = {m.body: m.id for m in store.all(Message)}
    loaded.clear()
    given = PassInput(store, PACK, Watchlists())
    run_passes(given, only=("payments extracted", "rules evaluated"))
    scan = given.message_text()
    assert scan is given._text_scan and scan.lexicon is PACK.lexicon  # made once, by the payments pass
    assert set(scan.lexicon_hits) == {ids["Boat to England tomorrow, 1500 euro per person"]}
    assert ids["send 200 GBP to sort code 20-00-00 account 55779911"] in scan.may_hold_payment
    assert ids["happy birthday brother"] not in scan.may_hold_payment
    # "I'll be there in 10 minutes" holds a digit: a candidate for payments, read as a row, never a record
    assert ids["I'll be there in 10 minutes"] in scan.may_hold_payment
    assert loaded["Message"] <= 2, loaded  # only messages a finding can use are built as records
    assert {(p.method, p.message_id) for p in store.all(Payment)} >= {
        ("uk_account", ids["send 200 GBP to sort code 20-00-00 account 55779911"])
    }
    store.close()


def test_payments_read_only_the_messages_the_scan_kept(tmp_path: Path) -> None:
    store = case_store(tmp_path)
    store.insert(message(0, "pay 300 EUR by western union MTCN 1234567890"))
    store.flush()
    assert extract_payments(store, []) == []  # not a candidate: never read again
    [payment, *_] = extract_payments(store, scan_message_text(store).may_hold_payment)
    assert payment.extra["source"]["type"] == "message" and payment.time_raw == 0
    store.close()


def test_app_payment_service_messages_are_found_by_the_store(tmp_path: Path) -> None:
    store = case_store(tmp_path)
    store.insert(
        message(
            0,
            None,
            action={
                "name": "messageActionPaymentSent",
                "currency": "EUR",
                "total_amount": 150000,
                "invoice_slug": "seat-42",
            },
        )
    )
    store.insert(message(1, None, action={"name": "messageActionChatJoinedByLink"}))
    store.insert(message(2, None, note="messageActionPaymentSent is only a word here"))
    store.flush()
    payments = extract_payments(store, [])
    assert [(p.method, p.amount, p.currency, p.identifier, p.time_raw) for p in payments] == [
        ("telegram payment", 1500.0, "EUR", "seat-42", 0)
    ]
    assert all(name.startswith(SERVICE_ACTION_PREFIX) for name in TELEGRAM_PAYMENT_ACTIONS)
    store.close()


def test_parties_from_rows_equal_parties_from_records(tmp_path: Path, loaded: Counter) -> None:
    """Messages are linked per number, in the order a message-by-message reading meets each form: the first
    form with a country decides the reading, and an ambiguous national form marks the party."""
    store = case_store(tmp_path)
    store.insert(Device(phone_numbers=["+447700900001"], extra={"sim_country_iso": "gb"}))
    store.insert(Contact(app="contacts", name="Karwan", phone_numbers=["0612345678", "+9647501234567"]))
    forms = ["07501234567", "+447501234567", "0612345678", "+33612345678", None, "447501234567@s.whatsapp.net"]
    for i in range(60):
        store.insert(
            message(
                i, "hi", counterpart=forms[i % len(forms)], sender=forms[(i + 1) % len(forms)] if i % 3 == 0 else None
            )
        )
    store.insert(
        Call(
            app="phone",
            direction="incoming",
            counterpart="0612345678",
            time_utc=T0,
            time_raw=0,
            time_encoding="test",
            extra={"countryiso": "FR"},
        )
    )
    store.flush()
    from_records = link_parties(store.all)
    loaded.clear()
    from_rows = link_parties_in(store)
    assert loaded == Counter()  # rows only
    assert [_party(p) for p in from_rows] == [_party(p) for p in from_records]
    by_key = {p.key: p for p in from_rows}
    # 50 counterparts (every sixth is empty) and 10 senders other than the counterpart
    assert sum(r["type"] == "message" for p in from_rows for r in p.refs) == 50 + 10
    assert by_key["+447501234567"].raw_forms == ["+447501234567", "07501234567", "447501234567@s.whatsapp.net"]
    # the first message names the national form: its reading (country from the device) is the party's
    assert (by_key["+447501234567"].basis, by_key["+447501234567"].ambiguous) == (
        "the device's own number +447700900001",
        True,
    )
    store.close()


def _store_naming_numbers(folder: Path) -> CaseStore:
    folder.mkdir()
    store = case_store(folder)
    store.insert(Device(phone_numbers=["+447700900001"], extra={"sim_country_iso": "gb"}))
    store.insert(Contact(app="contacts", name="Karwan", phone_numbers=["0612345678", "+9647501234567"]))
    forms = ["07501234567", "+447501234567", "0612345678", "+33612345678", "447501234567@s.whatsapp.net"]
    for i in range(40):
        store.insert(message(i, "hi", counterpart=forms[i % len(forms)]))
    store.commit()
    return store


def _party_rows(store: CaseStore) -> list[tuple]:
    return [tuple(r) for r in store.session.connection().exec_driver_sql("SELECT * FROM party ORDER BY id")]


def test_parties_linked_in_a_fork_join_the_store_as_the_pass_would_store_them(tmp_path: Path) -> None:
    here = _store_naming_numbers(tmp_path / "here")
    here.insert(_placeholder("earlier"))  # ids go on after it
    here.commit()
    details_here = run_passes_recorded(here, "parties linked")
    forked = _store_naming_numbers(tmp_path / "forked")
    forked.insert(_placeholder("earlier"))
    forked.let_readers_in()
    elsewhere = PartiesElsewhere.start(forked, tmp_path)
    assert elsewhere is not None and elsewhere.job.pid is not None  # a child process links them
    details_forked = elsewhere.merge(forked)
    forked.commit()
    assert details_forked == details_here == {"parties": 4, "ambiguous": 2, "without_country": 0}
    assert _party_rows(forked) == _party_rows(here)  # every column, ids included
    forked.insert(_placeholder("later"))
    forked.commit()
    assert _party_rows(forked)[-1][0] == 6  # the store numbers on after the rows the fork made
    here.close()
    forked.close()


def _store_with_chatter_and_crossing_talk(folder: Path, n: int) -> CaseStore:
    """`n` messages of chatter with crossing talk and payment details on both sides of the halfway id."""
    folder.mkdir()
    store = case_store(folder)
    for i in range(n):
        body = CHATTER[i % len(CHATTER)]
        if i % 997 == 5:
            body = "Boat to England tomorrow, 1500 euro per person"
        elif i % 1499 == 7:
            body = "send 200 GBP to sort code 20-00-00 account 55779911"
        store.insert(message(i, body, counterpart=f"+4477009{i % 50:05d}"))
    store.commit()
    return store


def test_the_text_scanned_in_two_parts_equals_one_scan_and_the_passes_find_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`triage run` scans the later messages (by id) in a fork (passes.TextScanElsewhere): the
    joined scan is the scan of the whole, hit for hit and in the same order, and so are the payments and
    findings made from it."""
    import triage.run.passes as passes

    monkeypatch.setattr(passes, "TEXT_SCAN_SPLIT_FROM", 1000)
    whole = _store_with_chatter_and_crossing_talk(tmp_path / "whole", 6000)
    split = _store_with_chatter_and_crossing_talk(tmp_path / "split", 6000)
    unasked = passes.TextScanElsewhere.start(whole, PACK)
    assert unasked is not None
    unasked.stop()  # a run that fails before the payments pass: the fork is ended, the store unharmed
    split.let_readers_in()
    elsewhere = passes.TextScanElsewhere.start(split, PACK)
    assert (
        elsewhere is not None and elsewhere.job.pid is not None and elsewhere.from_id == 2401
    )  # 40 % here, 60 % there
    one = PassInput(whole, PACK, Watchlists())
    two = PassInput(split, PACK, Watchlists(), text_elsewhere=elsewhere)
    for given in (one, two):
        run_passes(given, only=("payments extracted", "rules evaluated"))
    a, b = one.message_text(), two.message_text()
    assert len(a.may_hold_payment) > 10 and len(a.lexicon_hits) > 4
    assert a.may_hold_payment == b.may_hold_payment and list(a.lexicon_hits.items()) == list(b.lexicon_hits.items())
    assert a.context_mentions == b.context_mentions and b.lexicon is PACK.lexicon
    assert min(b.lexicon_hits) < elsewhere.from_id < max(b.lexicon_hits)  # hits from both processes
    assert [(p.method, p.message_id, p.extra) for p in whole.all(Payment)] == [
        (p.method, p.message_id, p.extra) for p in split.all(Payment)
    ]
    assert findings_of(one.findings) == findings_of(two.findings) and one.findings
    in_memory = CaseStore("sqlite://")
    assert passes.TextScanElsewhere.start(in_memory, PACK) is None  # no other process can read it
    in_memory.close()
    whole.close()
    split.close()


def test_a_store_in_memory_links_its_parties_in_turn() -> None:
    assert PartiesElsewhere.start(CaseStore("sqlite://"), Path("/nonexistent")) is None


def _placeholder(key: str) -> Party:
    return Party(
        key=key,
        e164=None,
        region=None,
        basis=None,
        ambiguous=False,
        candidates=[],
        names=[],
        apps=[],
        raw_forms=[],
        refs=[],
    )


def run_passes_recorded(store: CaseStore, action: str) -> dict[str, Any]:
    said: dict[str, Any] = {}
    run_passes(PassInput(store), record=lambda a, **details: said.update(details), only=(action,))
    store.commit()
    return said


def _party(party: Party) -> dict[str, Any]:
    return {c.key: getattr(party, c.key) for c in Party.__table__.columns if c.key != "id"}


@pytest.mark.parametrize("text", ["لە کوێی؟ شەو باش", "🎉 ok", "ቤንዚን", "Áo phao", "e\u0301te\u0301", "नमस्ते"])
def test_latin_marks_fast_path_keeps_the_result(text: str) -> None:
    """Text with no combining mark skips the per-character loop; the folded text is what the loop gives."""
    import unicodedata

    decomposed = unicodedata.normalize("NFD", text)
    kept, latin = [], False
    for char in decomposed:  # the loop as written before the fast path
        if unicodedata.combining(char):
            if not latin:
                kept.append(char)
            continue
        latin = char.isascii() or "LATIN" in unicodedata.name(char, "")
        kept.append(char)
    assert _strip_latin_marks(text) == "".join(kept)
    assert normalise("Áo phao") == "ao phao"


def test_seeded_lexicon_hits_are_complete_for_their_type(tmp_path: Path) -> None:
    """After the shared scan, a message without an entry has no hits: it is not matched again."""
    store = case_store(tmp_path)
    store.insert(message(0, "Boat to England tomorrow"))
    store.insert(message(1, "happy birthday"))
    store.flush()
    crossing, chatter = list(store.all(Message))
    ctx = Context(PACK.zones, PACK.lexicon, Watchlists())
    ctx.seed_lexicon_hits(Message, scan_message_text(store, PACK.lexicon).lexicon_hits)
    assert ctx.lexicon_hits_of(Message) == [crossing.id]
    assert {h.concept for h in ctx.lexicon_hits(crossing)} >= {"vessel", "destination_uk"}
    chatter.body = "Boat to England"  # changed after the scan: the scan is what the run matched
    assert ctx.lexicon_hits(chatter) == []
    store.close()


def test_a_parties_fork_that_fails_leaves_the_parties_to_this_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The parties' second process failing costs time, not the run: the file it left is removed, the parties are
    linked here (the same rows), and the pass's custody details say why."""
    import triage.run.passes as passes

    here = _store_naming_numbers(tmp_path / "here")
    details_here = run_passes_recorded(here, "parties linked")
    parent, link = os.getpid(), passes._link_parties

    def fails_in_the_child(source: Any, target: CaseStore) -> dict[str, Any]:
        details = link(source, target)
        if os.getpid() != parent:
            target.commit()  # its parties written, then the failure: the file must not be appended
            raise sqlite3.OperationalError("database is locked")
        return details

    monkeypatch.setattr(passes, "_link_parties", fails_in_the_child)
    forked = _store_naming_numbers(tmp_path / "forked")
    forked.let_readers_in()
    elsewhere = PartiesElsewhere.start(forked, tmp_path)
    assert elsewhere is not None and elsewhere.job.pid is not None
    details = elsewhere.merge(forked)
    forked.commit()
    failed = details.pop("second_process_failed")
    assert details == details_here
    assert re.fullmatch(  # the locks on the case file when it failed, when there were any (sqlite_locks.py)
        r"linking parties, in a second process: OperationalError: database is locked"
        r"(; locks on the case file then: [^;]+(; [^;]+)*)?; the parties were linked here instead",
        failed,
    )
    assert _party_rows(forked) == _party_rows(here)  # no row twice, ids as the pass gives them
    here.close()
    forked.close()


def test_a_text_scan_fork_that_fails_is_scanned_here_and_said_in_the_pass_that_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import triage.run.passes as passes

    monkeypatch.setattr(passes, "TEXT_SCAN_SPLIT_FROM", 1000)
    whole = _store_with_chatter_and_crossing_talk(tmp_path / "whole", 3000)
    split = _store_with_chatter_and_crossing_talk(tmp_path / "split", 3000)
    parent, scan = os.getpid(), passes.scan_message_text

    def fails_in_the_child(*args: Any, **kwargs: Any) -> Any:
        if os.getpid() != parent:
            raise sqlite3.OperationalError("database is locked")
        return scan(*args, **kwargs)

    monkeypatch.setattr(passes, "scan_message_text", fails_in_the_child)
    split.let_readers_in()
    elsewhere = passes.TextScanElsewhere.start(split, PACK)
    assert elsewhere is not None and elsewhere.job.pid is not None
    said: dict[str, dict[str, Any]] = {}
    one = PassInput(whole, PACK, Watchlists())
    two = PassInput(split, PACK, Watchlists(), text_elsewhere=elsewhere)
    run_passes(one, only=("payments extracted", "rules evaluated"))
    run_passes(two, record=lambda a, **d: said.update({a: d}), only=("payments extracted", "rules evaluated"))
    assert re.fullmatch(
        r"scanning the message text, in a second process: OperationalError: database is locked"
        r"(; locks on the case file then: [^;]+(; [^;]+)*)?; the later messages were scanned here instead",
        said["payments extracted"]["second_process_failed"],
    )
    assert "second_process_failed" not in said["rules evaluated"]  # said once, by the pass that asked first
    a, b = one.message_text(), two.message_text()
    assert a.may_hold_payment == b.may_hold_payment and list(a.lexicon_hits.items()) == list(b.lexicon_hits.items())
    assert findings_of(one.findings) == findings_of(two.findings) and one.findings
    whole.close()
    split.close()
