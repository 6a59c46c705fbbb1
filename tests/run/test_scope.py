"""The scope of a run (triage/run/scope.py): categories and a date window applied before records are stored, so the
bundle holds nothing outside it and the custody log says what was left out; `triage run --scope-*`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.bundle_layout import payload
from tests.report_demo import DEMO_E01, read_jsonl
from triage.cli import main
from triage.model.records import Account, Call, Contact, Device, Location, MediaFile, Message, Payment
from triage.run.scope import EVERYTHING, PAYMENTS_PASS, Scope, ScopeError, ScopeFilter, parse_scope


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def message(when: datetime | None) -> Message:
    return Message(
        app="sms",
        thread="t",
        direction="incoming",
        counterpart="+33612345678",
        sender=None,
        body="x",
        time_utc=when,
        time_raw=None,
        time_encoding="unix_ms",
    )


def photo(when: datetime | None) -> MediaFile:
    return MediaFile(path="/DCIM/a.jpg", name="a.jpg", size=1, sha256=None, taken_utc=when)


WINDOW = parse_scope("messages,locations", "2025-05-12", "2025-05-19")


def test_the_window_is_whole_utc_days_inclusive() -> None:
    assert WINDOW.keeps(message(utc("2025-05-12T00:00:00")))
    assert WINDOW.keeps(message(utc("2025-05-19T23:59:59.999999")))
    assert not WINDOW.keeps(message(utc("2025-05-11T23:59:59.999999")))
    assert not WINDOW.keeps(message(utc("2025-05-20T00:00:00")))


def test_categories_decide_first_and_the_exhibits_identity_is_always_kept() -> None:
    inside = utc("2025-05-15T12:00:00")
    assert not WINDOW.keeps(
        Call(
            app="phone", direction="incoming", counterpart="1", time_utc=inside, time_raw=None, time_encoding="unix_ms"
        )
    )
    assert not WINDOW.keeps(Contact(app="contacts", name="A"))
    assert not WINDOW.keeps(photo(inside))
    assert not WINDOW.keeps(Payment(method="iban", time_utc=inside))
    assert WINDOW.keeps(Device(model="X")) and WINDOW.keeps(Account(app="whatsapp", identifier="+44"))
    assert WINDOW.keeps(Location(origin="exif", latitude=51.0, longitude=2.0, time_utc=inside))


def test_undated_records_are_kept_only_when_chosen_and_contacts_have_no_window() -> None:
    assert not WINDOW.keeps(message(None))
    keep = parse_scope("messages,contacts", "2025-05-12", "2025-05-19", keep_undated=True)
    assert keep.keeps(message(None))
    assert keep.keeps(Contact(app="contacts", name="A"))  # no event time: only its category decides
    assert parse_scope("messages", None, None).keeps(message(None))  # no window: nothing is undated


def test_a_kept_position_loses_its_link_to_an_out_of_scope_photo() -> None:
    inside = utc("2025-05-15T12:00:00")
    position = Location(origin="exif", latitude=51.0, longitude=2.0, time_utc=inside, media_file=photo(inside))
    filtering = ScopeFilter(WINDOW)
    assert filtering.admit(position)
    assert position.media_file is None and position.media_file_id is None
    assert not filtering.admit(photo(inside)) and not filtering.admit(message(utc("2025-06-01T00:00:00")))
    assert filtering.summary()["left_out"] == {"media_file": 1, "message": 1}
    assert filtering.summary()["links_cut"] == {"location.media_file": 1}


def test_the_payments_pass_runs_only_when_payments_are_in_scope() -> None:
    names = ("parties linked", PAYMENTS_PASS, "rules evaluated")
    assert WINDOW.passes(names) == ("parties linked", "rules evaluated")
    assert EVERYTHING.passes(names) == names


@pytest.mark.parametrize(
    "categories, start, end, words",
    [
        ("messages,browsing", None, None, "unknown data category browsing"),
        ("", None, None, "names no data category"),
        ("messages", "2025-05-19", "2025-05-12", "swap the dates"),
        ("messages", "12/05/2025", None, "not a date as YYYY-MM-DD"),
    ],
)
def test_a_scope_that_cannot_be_applied_is_refused(categories: str, start, end, words: str) -> None:  # noqa: ANN001
    with pytest.raises(ScopeError, match=words):
        parse_scope(categories, start, end)


def test_scope_descriptions_for_the_record() -> None:
    assert EVERYTHING.is_everything and not WINDOW.is_everything
    assert WINDOW.describe() == (
        "locations, messages; 2025-05-12 to 2025-05-19 (UTC, inclusive); undated records left out"
    )
    assert WINDOW.to_json()["categories"] == ["locations", "messages"]
    assert Scope(frozenset({"calls"})).to_json()["from_utc"] is None


def test_triage_run_with_a_scope_stores_nothing_outside_it(tmp_path: Path, evidence_guard) -> None:
    evidence_guard(DEMO_E01)
    out = tmp_path / "scoped"
    assert (
        main(
            [
                "run",
                str(DEMO_E01),
                "--out",
                str(out),
                "--quiet",
                "--case",
                "C",
                "--exhibit",
                "E",
                "--examiner",
                "Scope Test",
                "--scope-categories",
                "calls,payments",
                "--scope-from",
                "2025-05-14",
                "--scope-to",
                "2025-05-20",
            ]
        )
        == 0
    )
    data = payload(out)
    low, high = utc("2025-05-14T00:00:00"), utc("2025-05-20T23:59:59.999999")
    for kind in ("message", "contact", "media_file", "location"):
        assert read_jsonl(data / "records" / f"{kind}.jsonl") == [], kind
    calls = read_jsonl(data / "records" / "call.jsonl")
    assert calls and all(low <= datetime.fromisoformat(c["time_utc"].replace("Z", "+00:00")) <= high for c in calls)
    # the demo holds 8 calls, 3 of them outside the window: the custody log counts what was left out
    custody = [json.loads(line) for line in (data / "custody.jsonl").read_text(encoding="utf-8").splitlines()]
    started = custody[0]["details"]
    assert started["scope"] == "calls, payments; 2025-05-14 to 2025-05-20 (UTC, inclusive); undated records left out"
    applied = next(e["details"] for e in custody if e["action"] == "scope applied")
    assert applied["left_out"]["call"] == 8 - len(calls)
    assert applied["left_out"]["message"] > 0 and applied["left_out"]["contact"] > 0
    # no message is stored, so no payment is read from message text and no finding cites a message
    findings = json.loads((data / "findings.json").read_text(encoding="utf-8"))
    cited = {ref["type"] for f in findings["findings"] for ref in f["evidence"]}
    assert cited <= {"call", "payment", "account", "device"}


def test_triage_run_refuses_a_bad_scope_before_writing(tmp_path: Path) -> None:
    out = tmp_path / "never"
    assert main(["run", str(DEMO_E01), "--out", str(out), "--quiet", "--scope-categories", "messages,diaries"]) == 2
    assert not out.exists()
