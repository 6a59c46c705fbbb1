"""schemathesis against the kiosk's own OpenAPI schema: generated requests to every route, signed out and
signed in, never a server error (a hostile or broken form is refused with a 4xx, never a crash)."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="pip install schemathesis")
pytest.importorskip("fastapi", reason="pip install fastapi uvicorn argon2-cffi python-multipart")
from fastapi.testclient import TestClient  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

from tests.kiosk_setup import OPERATOR, PIN, case_id_of, csrf_of, kiosk_setup  # noqa: E402
from triage.kiosk.app import create_app  # noqa: E402

_base = Path(tempfile.mkdtemp(prefix="kiosk-schema-"))  # the schema is loaded at collection time
atexit.register(shutil.rmtree, _base, True)
_setup = kiosk_setup(_base)
app = create_app(_setup.config)
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


def _signed_in_cookie() -> tuple[str, str]:
    """A signed-in session with an open case: generated requests then reach the steps' own checks."""
    client = TestClient(app)
    page = client.get("/")
    home = client.post("/signin", data={"csrf": csrf_of(page.text), "name": OPERATOR, "pin": PIN})
    opened = client.post("/cases", data={"csrf": csrf_of(home.text)})
    return client.cookies["kiosk_session"], case_id_of(str(opened.url))


SESSION, CASE = _signed_in_cookie()


def test_the_schema_lists_the_flow() -> None:
    paths = set(schema.raw_schema["paths"])
    assert {
        "/",
        "/signin",
        "/cases",
        "/cases/{case_id}/{slug}",
        "/cases/{case_id}/legal",
        "/cases/{case_id}/export",
    } <= paths


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_error_signed_out(case) -> None:  # noqa: ANN001 - schemathesis Case
    case.headers = {**(case.headers or {}), "host": "testserver"}
    response = case.call()
    assert response.status_code < 500, (case.method, case.formatted_path, response.status_code)


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_error_signed_in(case) -> None:  # noqa: ANN001 - schemathesis Case
    if case.path_parameters and "case_id" in case.path_parameters and hash(case.path_parameters["case_id"]) % 2:
        case.path_parameters["case_id"] = CASE  # half of them aim at the open case itself
    case.cookies = {**(case.cookies or {}), "kiosk_session": SESSION}
    session = app.state.kiosk.sessions.get(SESSION)
    if isinstance(case.body, dict) and "csrf" in case.body and session is not None and hash(str(case.body)) % 2:
        case.body["csrf"] = session.csrf  # past the CSRF check: the step's own validation meets the input
    response = case.call()
    assert response.status_code < 500, (case.method, case.formatted_path, response.status_code)
