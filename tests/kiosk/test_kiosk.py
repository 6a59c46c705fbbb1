"""The kiosk through HTTP (FastAPI's TestClient): sign-in and lock-out, CSRF, the order of the steps, the intake
as the only source of evidence, one operator's case closed to another, export refused without a legal basis,
idle expiry wiping the case, the security headers; and the users command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="pip install fastapi uvicorn argon2-cffi python-multipart")
from datetime import UTC

from fastapi.testclient import TestClient  # noqa: E402

from tests.kiosk_setup import LEGAL_FORM, OPERATOR, PIN, SECOND, SUPERVISOR, case_id_of, csrf_of, kiosk_setup  # noqa: E402
from triage.cli import main  # noqa: E402
from triage.integrity.custody import verify_chain  # noqa: E402
from triage.kiosk.app import create_app  # noqa: E402
from triage.kiosk.flow import KioskCase, Step  # noqa: E402
from triage.kiosk.intake import list_intake  # noqa: E402
from triage.kiosk.record import ExportRefused, export_bundle  # noqa: E402
from triage.kiosk.users import MAX_FAILURES, UserFile  # noqa: E402


@pytest.fixture()
def kiosk(tmp_path: Path):  # noqa: ANN201 - (setup, app)
    setup = kiosk_setup(tmp_path)
    app = create_app(setup.config)
    return setup, app


def audit(setup) -> list[dict]:  # noqa: ANN001
    path = setup.config.outbox / "kiosk-audit.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def sign_in(client: TestClient, name: str = OPERATOR, pin: str = PIN):  # noqa: ANN201 - httpx.Response
    page = client.get("/")
    return client.post("/signin", data={"csrf": csrf_of(page.text), "name": name, "pin": pin})


def open_case(client: TestClient) -> tuple[str, str]:
    home = sign_in(client)
    assert home.status_code == 200
    opened = client.post("/cases", data={"csrf": csrf_of(home.text)})
    return case_id_of(str(opened.url)), csrf_of(opened.text)


def test_wrong_pins_lock_the_name_even_for_the_right_pin(kiosk) -> None:
    setup, app = kiosk
    with TestClient(app) as client:
        for _attempt in range(1, MAX_FAILURES):
            refused = sign_in(client, pin="000000")
            assert refused.status_code == 401 and "Name or PIN not accepted" in refused.text
        locked = sign_in(client, pin="000000")
        assert locked.status_code == 423 and "locked" in locked.text
        still_locked = sign_in(client, pin=PIN)  # the right PIN does not open a locked name
        assert still_locked.status_code == 423
        assert "Start a new case" not in still_locked.text
        other = sign_in(client, name=SECOND)  # the lock is per name
        assert other.status_code == 200 and "Start a new case" in other.text
    stored = {op.name: op for op in UserFile(setup.config.users).names()}
    assert stored[OPERATOR].locked_until is not None
    entries = [e for e in audit(setup) if e["actor"] == OPERATOR]
    assert [e["action"] for e in entries] == ["sign-in refused"] * (MAX_FAILURES + 1)
    assert entries[MAX_FAILURES - 1]["details"]["why"].startswith("wrong PIN: locked")
    assert verify_chain(setup.config.outbox / "kiosk-audit.jsonl", require_closed=False).ok


def test_posts_without_the_session_csrf_token_are_refused(kiosk) -> None:
    _, app = kiosk
    with TestClient(app) as client:
        page = client.get("/")
        assert client.post("/signin", data={"name": OPERATOR, "pin": PIN}).status_code == 403
        assert client.post("/signin", data={"csrf": "x" * 43, "name": OPERATOR, "pin": PIN}).status_code == 403
        home = client.post("/signin", data={"csrf": csrf_of(page.text), "name": OPERATOR, "pin": PIN})
        assert home.status_code == 200
        case_id = case_id_of(str(client.post("/cases", data={"csrf": csrf_of(home.text)}).url))
        forged = client.post(f"/cases/{case_id}/case", data={"csrf": "forged", "case_ref": "X", "exhibit": "Y"})
        assert forged.status_code == 403
        assert app.state.kiosk.cases[case_id].details == {}


def test_the_session_cookie_and_the_security_headers(kiosk) -> None:
    _, app = kiosk
    with TestClient(app) as client:
        page = client.get("/")
        cookie = page.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie
        csp = page.headers["content-security-policy"]
        assert csp.startswith("default-src 'none'") and "script-src" not in csp and "form-action 'self'" in csp
        assert page.headers["cache-control"] == "no-store" and page.headers["x-frame-options"] == "DENY"
        assert "<script" not in page.text and "http://" not in page.text and "https://" not in page.text
        # a name-based request for another host (DNS rebinding) is refused
        assert client.get("/", headers={"host": "evil.example"}).status_code == 400
        assert client.get("/docs").status_code == 404  # the API docs page would load scripts from a CDN


def test_steps_cannot_be_skipped_by_url(kiosk) -> None:
    _, app = kiosk
    with TestClient(app) as client:
        case_id, token = open_case(client)
        case = app.state.kiosk.cases[case_id]
        for slug in ("legal", "scope", "evidence", "run", "result", "export"):
            jumped = client.get(f"/cases/{case_id}/{slug}", follow_redirects=False)
            assert jumped.status_code == 303 and jumped.headers["location"] == f"/cases/{case_id}/case", slug
        # posting a later step's form does nothing but send the officer back to the step not done yet
        client.post(f"/cases/{case_id}/case", data={"csrf": token, "case_ref": "OP-9", "exhibit": "EX-9"})
        an_entry = list_intake(app.state.kiosk.config.intake)[0].id
        skipped = client.post(
            f"/cases/{case_id}/evidence", data={"csrf": token, "entry": an_entry}, follow_redirects=False
        )
        assert skipped.status_code == 303 and skipped.headers["location"] == f"/cases/{case_id}/legal"
        ran = client.post(f"/cases/{case_id}/run", data={"csrf": token}, follow_redirects=False)
        assert ran.headers["location"] == f"/cases/{case_id}/legal"
        assert case.evidence is None and case.run.status == "not started" and case.done == {Step.CASE}
        refused = [e["details"]["asked"] for e in _log(case) if e["action"] == "step out of order refused"]
        assert refused == ["legal", "scope", "evidence", "run", "result", "export", "evidence", "run"]


def _log(case: KioskCase) -> list[dict]:
    return [json.loads(line) for line in case.log.path.read_text(encoding="utf-8").splitlines()]


def _to_evidence_step(client: TestClient, case_id: str, token: str) -> None:
    client.post(f"/cases/{case_id}/case", data={"csrf": token, "case_ref": "OP-9", "exhibit": "EX-9"})
    client.post(f"/cases/{case_id}/legal", data={"csrf": token, **LEGAL_FORM})
    scoped = client.post(
        f"/cases/{case_id}/scope",
        data={
            "csrf": token,
            "categories": ["messages"],
            "date_from": "2025-05-12",
            "date_to": "2025-05-19",
            "why": "the week of the crossing",
        },
    )
    assert str(scoped.url).endswith("/evidence")


@pytest.mark.parametrize(
    "asked",
    ["../../../etc/passwd", "/etc/passwd", "demo.E01", "..%2F..%2Fetc%2Fpasswd", "notes.txt/../../users.json", ""],
)
def test_evidence_is_named_only_by_an_id_of_the_intake_listing(kiosk, asked: str) -> None:
    setup, app = kiosk
    with TestClient(app) as client:
        case_id, token = open_case(client)
        _to_evidence_step(client, case_id, token)
        refused = client.post(f"/cases/{case_id}/evidence", data={"csrf": token, "entry": asked})
        assert refused.status_code == 400 and "Choose one of the listed items" in refused.text
        case = app.state.kiosk.cases[case_id]
        assert case.evidence is None and Step.EVIDENCE not in case.done
        assert "demo.E01" in refused.text and "users.json" not in refused.text
    assert any(e["action"] == "evidence choice refused" for e in audit(setup))


@pytest.mark.parametrize(
    "path",
    [
        "/static/../users.json",
        "/static/..%2f..%2fusers.json",
        "/static/kiosk.css/..%2f..",
        "/cases/..%2f..%2fetc/case",
        "/%2e%2e/%2e%2e/etc/passwd",
    ],
)
def test_no_url_reaches_a_file_outside_the_kiosk(kiosk, path: str) -> None:
    _, app = kiosk
    with TestClient(app) as client:
        sign_in(client)
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 404
        assert "operators" not in answer.text and "root:" not in answer.text and "argon2" not in answer.text


def test_a_second_operator_cannot_open_the_first_ones_case(kiosk) -> None:
    setup, app = kiosk
    with TestClient(app) as first, TestClient(app) as second:
        case_id, token = open_case(first)
        first.post(f"/cases/{case_id}/case", data={"csrf": token, "case_ref": "SECRET-CASE", "exhibit": "EX-1"})
        home = sign_in(second, name=SECOND)
        assert "Start a new case" in home.text
        other_token = csrf_of(home.text)
        for slug in ("case", "legal", "scope", "evidence", "run", "result", "export", "close"):
            seen = second.get(f"/cases/{case_id}/{slug}")
            assert seen.status_code == 404 and "SECRET-CASE" not in seen.text, slug
        posted = second.post(f"/cases/{case_id}/case", data={"csrf": other_token, "case_ref": "X", "exhibit": "Y"})
        assert posted.status_code == 404
        closed = second.post(f"/cases/{case_id}/close", data={"csrf": other_token})
        assert closed.status_code == 404
        assert app.state.kiosk.cases[case_id].details["case"] == "SECRET-CASE"  # untouched, still open
        assert (setup.config.work / case_id).is_dir()
        # even a supervisor does not open an operator's case
        boss = TestClient(app)
        sign_in(boss, name=SUPERVISOR)
        assert boss.get(f"/cases/{case_id}/case").status_code == 404
    refusals = [e for e in audit(setup) if e["action"] == "case refused"]
    assert {e["actor"] for e in refusals} == {SECOND, SUPERVISOR}


def test_export_is_refused_without_a_recorded_legal_basis(kiosk) -> None:
    setup, app = kiosk
    with TestClient(app) as client:
        case_id, token = open_case(client)
        client.post(f"/cases/{case_id}/case", data={"csrf": token, "case_ref": "OP-1", "exhibit": "EX-1"})
        refused = client.post(f"/cases/{case_id}/export", data={"csrf": token, "reason": "to the DFU"})
        assert refused.status_code == 409 and "no recorded legal basis" in refused.text
        case = app.state.kiosk.cases[case_id]
        assert [p.name for p in setup.config.outbox.iterdir()] == ["kiosk-audit.jsonl"]
        assert [e["details"]["why"] for e in _log(case) if e["action"] == "export refused"] == [
            "no legal basis recorded"
        ]
        # and at the export itself, whatever state the case was brought into: a finished run, no legal basis
        fake = case.work / "fake.zip"
        fake.write_bytes(b"PK")
        case.run.status, case.run.bundle_zip = "finished", fake
        with pytest.raises(ExportRefused, match="no legal basis"):
            export_bundle(case, setup.config.outbox, "to the DFU")
        assert not (setup.config.outbox / "fake.zip").exists()
        case.run.status = "failed"
    # the kiosk stopped: the case was closed and its record sealed; nothing was exported
    assert sorted(p.name.endswith("-kiosk-record.zip") for p in setup.config.outbox.iterdir()) == [False, True]


def test_a_legal_basis_needs_what_its_power_needs(kiosk) -> None:
    _, app = kiosk
    with TestClient(app) as client:
        case_id, token = open_case(client)
        client.post(f"/cases/{case_id}/case", data={"csrf": token, "case_ref": "OP-1", "exhibit": "EX-1"})
        partial = {**LEGAL_FORM, "no_undue_pressure": "", "notice_ref": ""}
        refused = client.post(f"/cases/{case_id}/legal", data={"csrf": token, **partial})
        assert refused.status_code == 400
        assert "written notice" in refused.text and "no undue pressure" in refused.text
        warrant = client.post(f"/cases/{case_id}/legal", data={"csrf": token, **LEGAL_FORM, "power": "warrant"})
        assert warrant.status_code == 400 and "warrant reference" in warrant.text
        assert app.state.kiosk.cases[case_id].legal is None
        ok = client.post(
            f"/cases/{case_id}/legal",
            data={"csrf": token, **LEGAL_FORM, "power": "warrant", "power_details": "W-123/2026"},
        )
        assert str(ok.url).endswith("/scope")
        assert app.state.kiosk.cases[case_id].legal["details"] == "W-123/2026"


def test_an_operator_must_give_a_date_window(kiosk) -> None:
    _, app = kiosk
    with TestClient(app) as client:
        case_id, token = open_case(client)
        client.post(f"/cases/{case_id}/case", data={"csrf": token, "case_ref": "OP-1", "exhibit": "EX-1"})
        client.post(f"/cases/{case_id}/legal", data={"csrf": token, **LEGAL_FORM})
        wide = client.post(f"/cases/{case_id}/scope", data={"csrf": token, "categories": ["messages"], "why": "all"})
        assert wide.status_code == 400 and "needs a supervisor" in wide.text
        backwards = client.post(
            f"/cases/{case_id}/scope",
            data={
                "csrf": token,
                "categories": ["messages"],
                "date_from": "2025-05-19",
                "date_to": "2025-05-12",
                "why": "w",
            },
        )
        assert backwards.status_code == 400 and "swap the dates" in backwards.text
        unknown = client.post(
            f"/cases/{case_id}/scope",
            data={
                "csrf": token,
                "categories": ["browsing"],
                "date_from": "2025-05-12",
                "date_to": "2025-05-19",
                "why": "w",
            },
        )
        assert unknown.status_code == 400 and "unknown data category browsing" in unknown.text
        assert app.state.kiosk.cases[case_id].scope is None


def test_an_idle_sign_in_expires_and_its_case_is_wiped(kiosk) -> None:
    setup, app = kiosk
    with TestClient(app) as client:
        case_id, token = open_case(client)
        client.post(f"/cases/{case_id}/case", data={"csrf": token, "case_ref": "OP-1", "exhibit": "EX-1"})
        session = next(s for s in app.state.kiosk.sessions.signed_in() if s.user == OPERATOR)
        session.last_seen -= setup.config.idle_seconds + 1  # as if the officer walked away
        after = client.get(f"/cases/{case_id}/legal", follow_redirects=False)
        assert after.status_code == 303 and after.headers["location"] == "/"
        assert "Sign in" in client.get("/").text
        assert case_id not in app.state.kiosk.cases
        assert list(setup.config.work.iterdir()) == []
    records = [p.name for p in setup.config.outbox.iterdir() if p.name.endswith("-kiosk-record.zip")]
    assert len(records) == 1  # what was done is kept (sealed), the working files are not
    closed = [e for e in audit(setup) if e["action"] == "case closed"]
    assert closed[0]["details"]["why"].startswith("sign-in expired") and closed[0]["details"]["work_folder_removed"]


def test_users_are_added_from_stdin_hashed_and_disabled(tmp_path: Path, capsys) -> None:
    users = tmp_path / "users.json"
    import io
    import sys

    stdin = sys.stdin
    try:
        sys.stdin = io.StringIO("13572468\n")
        assert main(["kiosk", "users", "add", "PC New", "--role", "supervisor", "--users", str(users)]) == 0
    finally:
        sys.stdin = stdin
    text = users.read_text(encoding="utf-8")
    assert "13572468" not in text and "$argon2id$" in text
    assert oct(users.stat().st_mode & 0o777) == "0o600"
    assert UserFile(users).check("PC New", "13572468").ok
    assert main(["kiosk", "users", "disable", "PC New", "--users", str(users)]) == 0
    refused = UserFile(users).check("PC New", "13572468")
    assert not refused.ok and refused.reason == "unknown or disabled name"
    sys.stdin = io.StringIO("123\n")
    try:
        assert main(["kiosk", "users", "add", "PC Short", "--users", str(users)]) == 2
    finally:
        sys.stdin = stdin
    assert "6 to 12 digits" in capsys.readouterr().err


def test_the_intake_listing_ids_segments_and_hidden_files(tmp_path: Path) -> None:
    from triage.kiosk.intake import find_entry

    intake = tmp_path / "intake"
    intake.mkdir()
    for name in (
        "phone.E01",
        "phone.E02",
        "phone.E10",
        "split.000",
        "split.001",
        "split.002",
        "other.001",
        ".hidden",
        "notes.txt",
    ):
        (intake / name).write_bytes(name.encode())
    (intake / "folder-extraction").mkdir()
    (intake / "dangling").symlink_to(tmp_path / "gone")
    listed = {e.name: e for e in list_intake(intake)}
    assert sorted(listed) == ["folder-extraction", "notes.txt", "other.001", "phone.E01", "split.000"]
    assert listed["folder-extraction"].kind == "folder" and listed["phone.E01"].size == len("phone.E01")
    entry = listed["notes.txt"]
    assert find_entry(intake, entry.id) == entry
    (intake / "notes.txt").write_bytes(b"replaced after it was listed")
    assert find_entry(intake, entry.id) is None  # a file replaced between listing and choice is refused
    assert find_entry(intake, "notes.txt") is None and find_entry(intake, "../intake/notes.txt") is None


def test_a_lock_out_ends_after_its_time_and_enable_clears_it(tmp_path: Path) -> None:
    from datetime import datetime, timedelta

    from triage.kiosk.users import LOCK_MINUTES

    users = UserFile(tmp_path / "users.json")
    users.add("PC Lock", "operator", PIN)
    now = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
    outcomes = [users.check("PC Lock", "999999", now) for _ in range(MAX_FAILURES)]
    assert [o.locked_now for o in outcomes] == [False] * (MAX_FAILURES - 1) + [True]
    assert not users.check("PC Lock", PIN, now + timedelta(minutes=LOCK_MINUTES - 1)).ok
    assert users.check("PC Lock", PIN, now + timedelta(minutes=LOCK_MINUTES, seconds=1)).ok
    for _ in range(MAX_FAILURES):
        users.check("PC Lock", "999999", now)
    users.unlock("PC Lock")
    assert users.check("PC Lock", PIN, now).ok


def test_the_sweeper_closes_an_idle_case_without_any_request(kiosk) -> None:
    setup, app = kiosk
    with TestClient(app) as client:
        case_id, token = open_case(client)
        client.post(f"/cases/{case_id}/case", data={"csrf": token, "case_ref": "OP-5", "exhibit": "EX-5"})
        session = next(s for s in app.state.kiosk.sessions.signed_in() if s.user == OPERATOR)
        session.last_seen -= setup.config.idle_seconds + 1
        app.state.kiosk.sweep()  # what the kiosk's sweeper thread does every few seconds
        assert case_id not in app.state.kiosk.cases and list(setup.config.work.iterdir()) == []
        assert app.state.kiosk.sessions.get(session.id) is None
    signed_out = [e for e in audit(setup) if e["action"] == "signed out"]
    assert signed_out[0]["actor"] == OPERATOR and signed_out[0]["details"]["why"].startswith("sign-in expired")


def test_a_record_that_cannot_be_sealed_is_kept_not_lost(kiosk) -> None:
    setup, app = kiosk
    with TestClient(app) as client:
        case_id, token = open_case(client)
        client.post(f"/cases/{case_id}/case", data={"csrf": token, "case_ref": "OP-6", "exhibit": "EX-6"})
        case = app.state.kiosk.cases[case_id]
        (case.work / "run").mkdir()
        (case.work / "run" / "copy.sqlite").write_bytes(b"phone data")
        taken = setup.config.outbox / f"{case.bundle_name()}-kiosk-record.zip"
        taken.write_bytes(b"someone else's file")  # the kiosk never replaces a file
        failed = client.post(f"/cases/{case_id}/close", data={"csrf": token})
        assert failed.status_code == 500 and "could not be sealed" in failed.text
        assert taken.read_bytes() == b"someone else's file"
        left = sorted(str(p.relative_to(case.work)) for p in case.work.rglob("*") if p.is_file())
        assert left == ["record/kiosk-log.jsonl"]  # the phone's data is gone, the log of who did what is not
        assert _log(case)[-1]["action"] == "kiosk case closed"
    assert any(e["action"] == "case close failed" for e in audit(setup))


@pytest.mark.parametrize(
    "change, words",
    [
        ({"--host": "0.0.0.0"}, "is not loopback"),
        ({"--users": "missing.json"}, "no kiosk users file"),
        ({"--signing-key": None}, "no signing key"),
        ({"--outbox": "intake/inner"}, "must be separate folders"),
    ],
)
def test_serve_refuses_an_unsafe_or_incomplete_setup(
    tmp_path: Path,
    monkeypatch,
    capsys,  # noqa: ANN001
    change: dict,
    words: str,
) -> None:
    setup = kiosk_setup(tmp_path)
    (tmp_path / "intake" / "inner").mkdir()
    monkeypatch.setenv("TRIAGE_KEY_DIR", str(tmp_path / "no-keys"))
    options = {
        "--intake": str(setup.config.intake),
        "--outbox": str(setup.config.outbox),
        "--users": str(setup.config.users),
        "--signing-key": str(setup.key),
    }
    for option, value in change.items():
        options[option] = str(tmp_path / value) if value and option != "--host" else value
    args = ["kiosk", "serve"] + [
        part for option, value in options.items() if value is not None for part in (option, value)
    ]
    assert main(args) == 2
    assert words in capsys.readouterr().err


def test_cases_left_by_a_kiosk_that_died_are_wiped_at_start(tmp_path: Path) -> None:
    setup = kiosk_setup(tmp_path)
    stale = setup.config.work / ("A" * 22)
    (stale / "run").mkdir(parents=True)
    (stale / "run" / "case.sqlite").write_bytes(b"phone data")
    with TestClient(create_app(setup.config)):
        assert list(setup.config.work.iterdir()) == []
    started = next(e for e in audit(setup) if e["action"] == "kiosk started")
    assert started["details"]["left_by_a_previous_start_removed"] == ["A" * 22]
    (setup.config.work / "holiday-photos").mkdir()
    from triage.errors import TriageError

    with pytest.raises(TriageError, match="holiday-photos, which the kiosk did not make"):
        create_app(setup.config)  # a work folder that holds anything else is never wiped
