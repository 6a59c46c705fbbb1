"""The kiosk's web application: server-rendered pages, one per step, no script.

Security shape (README "Kiosk"): served on loopback; every POST carries the session's CSRF token; a strict
content-security policy (nothing but this server's own stylesheet, no script, no frames, forms only to
this server); pages are never cached, so nothing of a closed case comes back with the Back button; a case
belongs to the operator who opened it and is not found for anyone else; the browser names evidence only by
an id from the intake listing, never by a path.
"""

from __future__ import annotations

import re
import threading
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.middleware.trustedhost import TrustedHostMiddleware

from triage.errors import TriageError
from triage.kiosk.audit import AuditLog
from triage.kiosk.flow import PCSC_S37, POWERS, STEP_SLUGS, STEP_TITLES, TAGS, KioskCase, Step
from triage.kiosk.intake import find_entry, list_intake
from triage.kiosk.record import ExportRefused, close_case, export_bundle
from triage.kiosk.runner import start_run
from triage.kiosk.sessions import COOKIE, Session, Sessions, csrf_ok
from triage.kiosk.users import UserFile
from triage.run.scope import CATEGORIES, CATEGORY_LABELS, ScopeError, parse_scope

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
TEXT_MAX = 2000  # free text an officer types (line of enquiry …): a paragraph, not a document
LINE_MAX = 120
STATIC = Path(__file__).parent / "static"
SLUG_STEPS = {slug: step for step, slug in STEP_SLUGS.items()}
CASE_FOLDER = re.compile(r"^[A-Za-z0-9_-]{22}$")  # a case's folder in the work folder: its id (flow.KioskCase.open)

# form fields (module level: the route annotations are strings, resolved in this module's namespace)
Text = Annotated[str, Form(max_length=TEXT_MAX)]
Line = Annotated[str, Form(max_length=LINE_MAX)]
Token = Annotated[str, Form(max_length=100)]
Categories = Annotated[list[str], Form(max_length=len(CATEGORIES))]

_env = Environment(loader=PackageLoader("triage.kiosk", "templates"), autoescape=select_autoescape(["html", "j2"]))


@dataclass
class KioskConfig:
    intake: Path
    outbox: Path
    work: Path
    users: Path
    signing_key: Path | None = None
    audit_log: Path | None = None  # default: <outbox>/kiosk-audit.jsonl
    idle_seconds: float = 300.0
    allowed_hosts: list[str] = field(default_factory=lambda: ["127.0.0.1", "localhost", "[::1]"])
    sweep_seconds: float = 15.0  # how often idle sign-ins are looked for (and their cases closed)


class Kiosk:
    """The kiosk's state: users, sessions, open cases, the audit log."""

    def __init__(self, config: KioskConfig) -> None:
        self.config = config
        self.users = UserFile(config.users)
        self.sessions = Sessions(config.idle_seconds)
        self.cases: dict[str, KioskCase] = {}
        self.audit = AuditLog(config.audit_log or config.outbox / "kiosk-audit.jsonl")
        self._lock = threading.RLock()

    def close(self, case: KioskCase, why: str, actor: str | None) -> Path | None:
        """Close and wipe a case; the audit log says so, and whether the wipe left anything."""
        with self._lock:
            self.cases.pop(case.id, None)
        with case.lock:
            try:
                record = close_case(case, self.config.outbox, self.config.signing_key, why)
            except Exception as e:  # noqa: BLE001 - recorded, then shown
                self.audit.record(actor, "case close failed", case=case.id, why=why, error=str(e))
                raise
        self.audit.record(
            actor,
            "case closed",
            case=case.id,
            reference=case.details.get("case", ""),
            why=why,
            record=record.name if record else None,
            work_folder_removed=not case.work.exists(),
        )
        return record

    def expire(self, session: Session, why: str) -> None:
        """End a sign-in; its open case is closed and wiped (a case lives only within one sign-in)."""
        self.sessions.drop(session)
        case = self.cases.get(session.case_id or "")
        if case is not None and case.run.status != "running":
            try:
                self.close(case, why, session.user)
            except (TriageError, OSError):
                pass  # recorded in the audit log by close(); the sign-in ends all the same
        elif case is not None:
            case.record("sign-in ended while the run was working", why=why)
        self.audit.record(session.user, "signed out", why=why)

    def sweep(self) -> None:
        for session in self.sessions.idle_signed_in():
            self.expire(session, f"sign-in expired after {int(self.config.idle_seconds)} s without use")
        # a run that finished after its sign-in ended: its case has no one to close it but the kiosk
        signed = {s.case_id for s in self.sessions.signed_in()}
        for case in list(self.cases.values()):
            if case.id not in signed and case.run.status in ("finished", "failed", "not started"):
                self.close(case, "its sign-in had ended", None)


def create_app(config: KioskConfig) -> FastAPI:
    for folder in (config.intake, config.outbox):
        if not folder.is_dir():
            raise TriageError(f"{folder} is not a folder; create it (README 'Kiosk') and start the kiosk again")
    config.work.mkdir(mode=0o700, parents=True, exist_ok=True)
    foreign = sorted(p.name for p in config.work.iterdir() if not CASE_FOLDER.match(p.name))
    if foreign:  # the kiosk wipes its work folder: it must not be a folder that holds anything else
        raise TriageError(
            f"the work folder {config.work} holds {', '.join(foreign[:5])}, which the kiosk did not "
            "make; give --work an empty folder used by the kiosk alone"
        )
    kiosk = Kiosk(config)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):  # noqa: ANN202
        leftovers = sorted(p.name for p in config.work.iterdir())
        for name in leftovers:  # a kiosk that stopped without closing its cases (power cut): nothing is kept
            _remove(config.work / name)
        kiosk.audit.record(
            None,
            "kiosk started",
            intake=str(config.intake),
            outbox=str(config.outbox),
            work=str(config.work),
            left_by_a_previous_start_removed=leftovers,
        )
        stop = threading.Event()
        sweeper = threading.Thread(target=_sweep_until, args=(kiosk, stop), daemon=True, name="kiosk-sweep")
        sweeper.start()
        try:
            yield
        finally:
            stop.set()
            for case in list(kiosk.cases.values()):
                try:
                    kiosk.close(case, "the kiosk was stopped", None)
                except (TriageError, OSError):
                    continue  # in the audit log; the other cases are closed all the same
            kiosk.audit.record(None, "kiosk stopped")

    app = FastAPI(title="mobile-triage kiosk", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.kiosk = kiosk
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=config.allowed_hosts)

    @app.middleware("http")
    async def headers(request: Request, call_next):  # noqa: ANN001, ANN202
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    _routes(app, kiosk)
    return app


def _sweep_until(kiosk: Kiosk, stop: threading.Event) -> None:
    while not stop.wait(kiosk.config.sweep_seconds):
        try:
            kiosk.sweep()
        except Exception as e:  # noqa: BLE001 - the sweeper must keep going; the failure is in the audit log
            kiosk.audit.record(None, "sweep failed", error=f"{type(e).__name__}: {e}")


def _remove(path: Path) -> None:
    import shutil

    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


# -- rendering ------------------------------------------------------------------------------------
def page(template: str, session: Session | None, status: int = 200, **values: Any) -> HTMLResponse:
    html = _env.get_template(template).render(session=session, steps=STEP_TITLES, slugs=STEP_SLUGS, Step=Step, **values)
    return HTMLResponse(html, status_code=status)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _set_cookie(response: Response, session: Session) -> Response:
    response.set_cookie(COOKIE, session.id, httponly=True, samesite="strict", path="/")
    return response


def _routes(app: FastAPI, kiosk: Kiosk) -> None:  # noqa: C901 - one place that lists every route
    def current(request: Request) -> Session | None:
        """The signed-in session of this request, or None (unknown, anonymous, or expired now)."""
        session = kiosk.sessions.get(request.cookies.get(COOKIE))
        if session is None or session.user is None:
            return None
        if kiosk.sessions.expired(session):
            kiosk.expire(session, f"sign-in expired after {int(kiosk.config.idle_seconds)} s without use")
            return None
        session.last_seen = time.monotonic()
        return session

    def owned_case(session: Session, case_id: str) -> KioskCase | None:
        case = kiosk.cases.get(case_id)
        if case is None or case.owner != session.user or session.case_id != case_id:
            kiosk.audit.record(
                session.user,
                "case refused",
                asked=case_id[:64],
                why="not a case of this sign-in (another operator's, closed, or unknown)",
            )
            return None
        return case

    def not_found(session: Session | None) -> HTMLResponse:
        return page(
            "message.html.j2", session, 404, title="Not found", text="There is no such page or case for this sign-in."
        )

    def refused_post(session: Session | None) -> HTMLResponse:
        kiosk.audit.record(session.user if session else None, "request refused", why="missing or wrong CSRF token")
        return page(
            "message.html.j2",
            session,
            403,
            title="Form expired",
            text="This form is out of date. Go back to the start and try again.",
        )

    def out_of_order(case: KioskCase, asked: str) -> RedirectResponse:
        step = case.next_step()
        case.record("step out of order refused", asked=asked, shown=STEP_SLUGS[step])
        return redirect(f"/cases/{case.id}/{STEP_SLUGS[step]}")

    # -- sign-in ----------------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse)
    def home(request: Request) -> Response:
        session = current(request)
        if session is None:
            anonymous = kiosk.sessions.get(request.cookies.get(COOKIE))
            anonymous = anonymous if anonymous is not None and anonymous.user is None else kiosk.sessions.new()
            return _set_cookie(page("signin.html.j2", anonymous, error=""), anonymous)
        if session.case_id in kiosk.cases:
            case = kiosk.cases[session.case_id]
            return redirect(f"/cases/{case.id}/{STEP_SLUGS[case.next_step()]}")
        return page("home.html.j2", session)

    @app.post("/signin", response_class=HTMLResponse)
    def signin(request: Request, csrf: Token = "", name: Line = "", pin: Line = "") -> Response:
        session = kiosk.sessions.get(request.cookies.get(COOKIE))
        if session is None or session.user is not None or not csrf_ok(session, csrf):
            return refused_post(session)
        outcome = kiosk.users.check(name.strip(), pin)
        kiosk.audit.record(
            name.strip()[:64] or None, "sign-in" if outcome.ok else "sign-in refused", why=outcome.reason
        )
        if not outcome.ok:
            locked = outcome.operator is not None and "locked" in outcome.reason
            error = (
                "This name is locked after repeated wrong PINs. Try again later or ask a supervisor."
                if locked
                else "Name or PIN not accepted."
            )
            return page("signin.html.j2", session, 423 if locked else 401, error=error, name=name)
        assert outcome.operator is not None  # users.check names the operator of every accepted sign-in
        session = kiosk.sessions.rotate(session)
        session.user, session.role = outcome.operator.name, outcome.operator.role
        session.signed_in_at = session.last_seen = time.monotonic()
        return _set_cookie(redirect("/"), session)

    @app.post("/signout", response_class=HTMLResponse)
    def signout(request: Request, csrf: Token = "") -> Response:
        session = current(request)
        if session is None:
            return redirect("/")
        if not csrf_ok(session, csrf):
            return refused_post(session)
        kiosk.expire(session, "signed out by the operator")
        response = redirect("/")
        response.delete_cookie(COOKIE, path="/")
        return response

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)  # browsers ask for one; an icon file would be one more thing to check

    @app.get("/static/kiosk.css")
    def stylesheet() -> Response:
        return Response((STATIC / "kiosk.css").read_bytes(), media_type="text/css")

    # -- the case ---------------------------------------------------------------------------
    @app.post("/cases", response_class=HTMLResponse)
    def open_case(request: Request, csrf: Token = "") -> Response:
        session = current(request)
        if session is None:
            return redirect("/")
        if not csrf_ok(session, csrf):
            return refused_post(session)
        if session.case_id in kiosk.cases:
            return redirect("/")  # one case at a time per sign-in
        assert session.user is not None and session.role is not None  # current(): signed in, so both are set
        case = KioskCase.open(session.user, session.role, kiosk.config.work)
        session.case_id = case.id  # first: the sweeper closes a case no sign-in holds
        with kiosk._lock:
            kiosk.cases[case.id] = case
        case.record_step("kiosk case opened", operator=session.user, role=session.role)
        kiosk.audit.record(session.user, "case opened", case=case.id)
        return redirect(f"/cases/{case.id}/case")

    def step_page(request: Request, case_id: str, slug: str):  # noqa: ANN202
        """(session, case, step) when the step may be shown now, else the response to send instead."""
        session = current(request)
        if session is None:
            return redirect("/")
        step = SLUG_STEPS.get(slug)
        case = owned_case(session, case_id)
        if case is None or step is None:
            return not_found(session)
        if not case.may_open(step):
            return out_of_order(case, slug)
        return session, case, step

    def posted(request: Request, case_id: str, slug: str, csrf: str):  # noqa: ANN202
        got = step_page(request, case_id, slug)
        if isinstance(got, Response):
            return got
        session, case, step = got
        if not csrf_ok(session, csrf):
            return refused_post(session)
        return got

    def show(
        template: str, session: Session, case: KioskCase, step: Step, status: int = 200, **values: Any
    ) -> HTMLResponse:
        return page(template, session, status, case=case, step=step, **values)

    @app.get("/cases/{case_id}/{slug}", response_class=HTMLResponse)
    def get_step(request: Request, case_id: str, slug: str) -> Response:
        got = step_page(request, case_id, slug)
        if isinstance(got, Response):
            return got
        session, case, step = got
        if step == Step.EVIDENCE:
            return show("evidence.html.j2", session, case, step, entries=list_intake(kiosk.config.intake), errors=[])
        if step == Step.RUN:
            return run_page(session, case)
        if step == Step.RESULT:
            case.record(
                "result viewed",
                level=case.level,
                findings=[f.get("id") for f in case.findings],
                why="triage review by the operator",
            )
            return show("result.html.j2", session, case, step, tags=TAGS, errors=[])
        return show(
            f"{slug}.html.j2",
            session,
            case,
            step,
            errors=[],
            form={},
            powers=POWERS,
            pcsc=PCSC_S37,
            categories=CATEGORY_LABELS,
        )

    def run_page(session: Session, case: KioskCase) -> Response:
        if case.run.status == "finished":
            return redirect(f"/cases/{case.id}/result")
        return show("run.html.j2", session, case, Step.RUN)

    @app.post("/cases/{case_id}/case", response_class=HTMLResponse)
    def post_case(
        request: Request,
        case_id: str,
        csrf: Token = "",
        case_ref: Line = "",
        exhibit: Line = "",
        officer_in_charge: Line = "",
        device: Line = "",
    ) -> Response:
        got = posted(request, case_id, "case", csrf)
        if isinstance(got, Response):
            return got
        session, case, step = got
        form = {
            "case_ref": case_ref.strip(),
            "exhibit": exhibit.strip(),
            "officer_in_charge": officer_in_charge.strip(),
            "device": device.strip(),
        }
        errors = [
            label for key, label in (("case_ref", "Case reference"), ("exhibit", "Exhibit reference")) if not form[key]
        ]
        if errors:
            return show(
                "case.html.j2", session, case, step, 400, errors=[f"{e} is required." for e in errors], form=form
            )
        case.details = {
            "case": form["case_ref"],
            "exhibit": form["exhibit"],
            "officer_in_charge": form["officer_in_charge"],
            "device": form["device"],
        }
        case.record_step("case and exhibit recorded", **case.details)
        case.done.add(Step.CASE)
        return redirect(f"/cases/{case.id}/legal")

    @app.post("/cases/{case_id}/legal", response_class=HTMLResponse)
    def post_legal(
        request: Request,
        case_id: str,
        csrf: Token = "",
        power: Line = "",
        notice_ref: Line = "",
        agreement_ref: Line = "",
        agreement_time: Line = "",
        no_undue_pressure: Line = "",
        told_may_refuse: Line = "",
        power_details: Text = "",
        line_of_enquiry: Text = "",
        necessity: Text = "",
        proportionality: Text = "",
        less_intrusive: Text = "",
    ) -> Response:
        got = posted(request, case_id, "legal", csrf)
        if isinstance(got, Response):
            return got
        session, case, step = got
        form = {
            k: v.strip()
            for k, v in dict(
                power=power,
                notice_ref=notice_ref,
                agreement_ref=agreement_ref,
                agreement_time=agreement_time,
                no_undue_pressure=no_undue_pressure,
                told_may_refuse=told_may_refuse,
                power_details=power_details,
                line_of_enquiry=line_of_enquiry,
                necessity=necessity,
                proportionality=proportionality,
                less_intrusive=less_intrusive,
            ).items()
        }
        errors = legal_errors(form)
        if errors:
            return show(
                "legal.html.j2", session, case, step, 400, errors=errors, form=form, powers=POWERS, pcsc=PCSC_S37
            )
        case.legal = legal_basis(form)
        case.record_step("legal basis recorded", **case.legal)
        case.done.add(Step.LEGAL)
        return redirect(f"/cases/{case.id}/scope")

    @app.post("/cases/{case_id}/scope", response_class=HTMLResponse)
    def post_scope(
        request: Request,
        case_id: str,
        csrf: Token = "",
        categories: Categories = [],  # noqa: B006 - FastAPI copies defaults
        date_from: Line = "",
        date_to: Line = "",
        keep_undated: Line = "",
        why: Text = "",
    ) -> Response:
        got = posted(request, case_id, "scope", csrf)
        if isinstance(got, Response):
            return got
        session, case, step = got
        form = {
            "categories": categories,
            "date_from": date_from,
            "date_to": date_to,
            "keep_undated": keep_undated,
            "why": why.strip(),
        }
        errors, scope = [], None
        try:
            scope = parse_scope([c for c in categories if c], date_from or None, date_to or None, bool(keep_undated))
        except ScopeError as e:
            errors.append(str(e))
        if not form["why"]:
            errors.append("Say why this scope is needed for the line of enquiry.")
        if scope is not None and session.role != "supervisor" and (scope.start is None or scope.end is None):
            errors.append("Give both dates of the window: a scope without a date window needs a supervisor.")
        if errors or scope is None:  # no scope means parse_scope's error is listed
            return show("scope.html.j2", session, case, step, 400, errors=errors, form=form, categories=CATEGORY_LABELS)
        case.scope, case.scope_why = scope, form["why"]
        case.record_step("scope recorded", **scope.to_json(), why=case.scope_why)
        case.done.add(Step.SCOPE)
        return redirect(f"/cases/{case.id}/evidence")

    @app.post("/cases/{case_id}/evidence", response_class=HTMLResponse)
    def post_evidence(request: Request, case_id: str, csrf: Token = "", entry: Line = "") -> Response:
        got = posted(request, case_id, "evidence", csrf)
        if isinstance(got, Response):
            return got
        session, case, step = got
        chosen = find_entry(kiosk.config.intake, entry)
        if chosen is None:
            case.record("evidence choice refused", asked=entry[:LINE_MAX], why="not an entry of the intake folder")
            kiosk.audit.record(session.user, "evidence choice refused", case=case.id, asked=entry[:LINE_MAX])
            return show(
                "evidence.html.j2",
                session,
                case,
                step,
                400,
                entries=list_intake(kiosk.config.intake),
                errors=["Choose one of the listed items of the intake folder."],
            )
        case.evidence = chosen
        case.record_step("evidence chosen", **chosen.to_json(), folder="kiosk intake")
        case.done.add(Step.EVIDENCE)
        return redirect(f"/cases/{case.id}/run")

    @app.post("/cases/{case_id}/run", response_class=HTMLResponse)
    def post_run(request: Request, case_id: str, csrf: Token = "") -> Response:
        got = posted(request, case_id, "run", csrf)
        if isinstance(got, Response):
            return got
        session, case, step = got
        with case.lock:
            if case.run.status == "not started":
                if not case.legal:  # unreachable through the flow; never run without a recorded basis
                    return page(
                        "message.html.j2",
                        session,
                        409,
                        title="No legal basis",
                        text="A legal basis must be recorded before the evidence is examined.",
                    )
                start_run(case, kiosk.config.intake, kiosk.config.signing_key)
        return redirect(f"/cases/{case.id}/run")

    @app.post("/cases/{case_id}/result", response_class=HTMLResponse)
    async def post_tags(request: Request, case_id: str) -> Response:
        form = await request.form()
        csrf = form.get("csrf")
        got = posted(request, case_id, "result", csrf if isinstance(csrf, str) else "")
        if isinstance(got, Response):
            return got
        session, case, step = got
        known = {f.get("id") for f in case.findings}
        for finding in case.findings:
            fid = finding.get("id")
            tag = form.get(f"tag-{fid}")
            note = form.get(f"note-{fid}")
            note = note.strip()[:TEXT_MAX] if isinstance(note, str) else ""
            if isinstance(tag, str) and tag in TAGS and case.tags.get(fid) != tag:
                case.tags[fid] = tag
                case.record(
                    "finding tagged",
                    finding=fid,
                    rule=finding.get("rule_id"),
                    tag=tag,
                    label=TAGS[tag],
                    why=note or "no note given",
                )
        unknown = [k for k in form.keys() if k.startswith("tag-") and k[4:].isdigit() and int(k[4:]) not in known]
        if unknown:
            case.record("tags for unknown findings ignored", fields=unknown[:20])
        case.done.add(Step.RESULT)
        return redirect(f"/cases/{case.id}/export")

    @app.post("/cases/{case_id}/export", response_class=HTMLResponse)
    def post_export(request: Request, case_id: str, csrf: Token = "", reason: Text = "") -> Response:
        session = current(request)
        if session is None:
            return redirect("/")
        case = owned_case(session, case_id)
        if case is None:
            return not_found(session)
        if not csrf_ok(session, csrf):
            return refused_post(session)
        if not case.legal:  # before the order check: this refusal is the one that matters, and it is recorded
            case.record("export refused", why="no legal basis recorded")
            kiosk.audit.record(session.user, "export refused", case=case.id, why="no legal basis recorded")
            return page(
                "message.html.j2",
                session,
                409,
                title="Export refused",
                text="There is no recorded legal basis for this case: nothing can be exported.",
            )
        if not case.may_open(Step.EXPORT):
            return out_of_order(case, "export")
        if not reason.strip():
            return show("export.html.j2", session, case, Step.EXPORT, 400, errors=["Say why the bundle is exported."])
        try:
            target = export_bundle(case, kiosk.config.outbox, reason.strip())
        except (ExportRefused, TriageError, OSError) as e:
            kiosk.audit.record(session.user, "export failed", case=case.id, error=str(e))
            return show("export.html.j2", session, case, Step.EXPORT, 409, errors=[str(e)])
        kiosk.audit.record(session.user, "bundle exported", case=case.id, file=target.name)
        return redirect(f"/cases/{case.id}/close")

    @app.post("/cases/{case_id}/close", response_class=HTMLResponse)
    def post_close(request: Request, case_id: str, csrf: Token = "", why: Line = "") -> Response:
        got = posted(request, case_id, "close", csrf)
        if isinstance(got, Response):
            return got
        session, case, step = got
        if case.run.status == "running":
            return show(
                "close.html.j2",
                session,
                case,
                step,
                409,
                errors=["The run is still working; wait for it to finish, then close."],
            )
        try:
            record = kiosk.close(case, why.strip() or "closed by the operator", session.user)
        except (TriageError, OSError) as e:  # in the audit log already; the officer must see it and call for help
            session.case_id = None
            return page("message.html.j2", session, 500, title="Close failed", text=str(e))
        session.case_id = None
        return page("closed.html.j2", session, record=record.name if record else None)


def legal_errors(form: dict[str, str]) -> list[str]:
    """What is missing for the chosen power
    (docs/domain/legal.md, "PCSC Act 2022 s.37 code (extraction of information)")."""
    errors = []
    if form["power"] not in POWERS:
        errors.append("Choose the legal power the examination is made under.")
    if form["power"] == PCSC_S37:
        if not form["notice_ref"]:
            errors.append("For s.37: give the reference of the written notice given to the device user.")
        if not form["agreement_ref"]:
            errors.append("For s.37: give the reference of the user's recorded agreement.")
        if form["no_undue_pressure"] != "yes":
            errors.append("For s.37: confirm that no undue pressure was put on the user to agree.")
        if form["told_may_refuse"] != "yes":
            errors.append("For s.37: confirm the user was told they may refuse.")
    if form["power"] in ("warrant", "other") and not form["power_details"]:
        errors.append("Give the warrant reference or the details of the power.")
    for key, label in (
        ("line_of_enquiry", "the reasonable line of enquiry"),
        ("necessity", "why it is necessary"),
        ("proportionality", "why it is proportionate"),
    ):
        if not form[key]:
            errors.append(f"Describe {label}.")
    return errors


def legal_basis(form: dict[str, str]) -> dict[str, Any]:
    basis: dict[str, Any] = {
        "power": form["power"],
        "details": form["power_details"] or None,
        "line_of_enquiry": form["line_of_enquiry"],
        "necessity": form["necessity"],
        "proportionality": form["proportionality"],
        "less_intrusive_means": form["less_intrusive"] or None,
    }
    if form["power"] == PCSC_S37:
        basis["s37"] = {
            "written_notice": form["notice_ref"],
            "agreement": form["agreement_ref"],
            "agreement_time": form["agreement_time"] or None,
            "no_undue_pressure": True,
            "told_may_refuse": True,
        }
    return basis
