"""report.pdf: the statement for print (WeasyPrint), opening with an SFR1-style summary of the exhibit.

The first part states, per exhibit, the identifiers, tool and rule-pack versions with hashes, the times
of the examination in UTC and local time, the operator, the evidence hashes and the findings as facts
with their locations in the evidence, then the declarations (accreditation, FSR Code compliance or the
mitigation table, statement of truth) as fields for the examiner. The second part is the front page's
content (`_sections.html.j2`: case, device, evidence, assessment, every finding open with its cited
records, the map, the record counts), then the exports named with their SHA-256, the first parse
warnings and the examination record. It never lists the phone's records: they are in the exports and
on the pages of index.html. Its size depends on the findings, not on the phone.

WeasyPrint needs Pango from the system. When it cannot be loaded the run goes on: a warning
"report.pdf not written: …" is recorded (before the other outputs are written, so they all list it).
Rendering fetches nothing from the network: only data: URIs and files inside the output folder.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import unquote, urlparse

from markupsafe import Markup

from triage.errors import TriageError
from triage.exclusive import create_exclusive
from triage.records import ParseWarning
from triage.report.display import isolated, left_to_right, shown
from triage.report.html import NOT_TRANSLATED, Card, Report, environment, local_times, utc_text

if TYPE_CHECKING:
    from triage.custody import CustodyLog
    from triage.store import CaseStore

PDF_NAME = "report.pdf"
INSTALL_HINT = ("install the Python package weasyprint and its Debian libraries "
                "(apt-get install libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core)")


@lru_cache(maxsize=1)
def pdf_unavailable() -> str | None:
    """Why WeasyPrint cannot be used here, or None when it can (it loads Pango when imported)."""
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as e:
        return f"WeasyPrint cannot be loaded ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})"
    return None


def note_if_unavailable(store: "CaseStore") -> None:
    """Record the missing PDF as a warning before the records are exported, so every output lists it."""
    reason = pdf_unavailable()
    if reason:
        store.add(ParseWarning(stage="report", component="report.pdf", level="warning",
                               message=f"report.pdf not written: {reason}; {INSTALL_HINT}"))
        store.flush()


@dataclass
class PdfOutcome:
    """What became of report.pdf: written (with WeasyPrint's complaints, normally none), or not and why."""

    written: bool
    problems: list[str] = field(default_factory=list)
    failure: str | None = None  # why the engine could not make it (the run goes on without it)

    def to_json(self) -> dict[str, Any]:
        return {"written": self.written, "problems": self.problems, "failure": self.failure}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "PdfOutcome":
        return cls(bool(data["written"]), list(data["problems"]), data["failure"])


def write_pdf(report: Report, store: "CaseStore", custody: "CustodyLog") -> list[Path]:
    """Write out/report.pdf; when the engine cannot make it, record why and return [] (the run goes on)."""
    reason = pdf_unavailable()
    if reason is not None:
        return _not_written(reason, custody)
    return record_outcome(make_pdf(render_print_html(report), report.out), report.out, store, custody)


def make_pdf(page: str, out: Path) -> PdfOutcome:
    """Lay out the print HTML and write out/report.pdf (in this process or the report's second one).

    Laid out first, written after: a document that fails to lay out leaves no file behind. The file is
    created exclusively (an existing report.pdf is never replaced: ExistingFileError), and a failure of
    the disk while writing it (no space, no permission) is not the engine's: it ends the run."""
    try:
        document, problems = layout_html(page, out)
    except Exception as e:  # an engine failure must not lose the rest of the bundle
        return PdfOutcome(False, failure=f"rendering failed ({type(e).__name__}: {e})")
    try:
        problems = sorted(set(problems + _write_document(document, out / PDF_NAME)))
    except (OSError, TriageError):
        raise
    except Exception as e:
        return PdfOutcome(False, failure=f"writing failed ({type(e).__name__}: {e})")
    return PdfOutcome(True, problems)


def record_outcome(outcome: PdfOutcome | None, out: Path, store: "CaseStore", custody: "CustodyLog") -> list[Path]:
    """The PDF's outcome in the record: a failure as a warning and a custody entry, complaints as an entry;
    None: no engine (already a warning, note_if_unavailable)."""
    if outcome is None:
        return _not_written(pdf_unavailable() or "no PDF engine", custody)
    if not outcome.written:
        return _not_written(outcome.failure or "unknown failure", custody, store)
    if outcome.problems:  # e.g. a picture that could not be embedded: the PDF is kept, the record says so
        custody.record("report.pdf written with problems", problems=outcome.problems)
    return [out / PDF_NAME]


def _not_written(reason: str, custody: "CustodyLog", store: "CaseStore | None" = None) -> list[Path]:
    if store is not None:  # a missing engine was recorded before the exports (note_if_unavailable)
        store.add(ParseWarning(stage="report", component="report.pdf", level="error",
                               message=f"report.pdf not written: {reason}"))
        store.flush()
    custody.record("report.pdf not written", reason=reason)
    return []


def _write_document(document: Any, target: Path) -> list[str]:
    f = create_exclusive(target, "wb")  # an existing file stops here, before anything is written
    try:
        with f, _captured_weasyprint_log() as messages:
            document.write_pdf(f)
    except BaseException:
        target.unlink(missing_ok=True)  # ours, created above: a truncated report.pdf must not look like one
        raise
    return _problems(messages)


def _problems(messages: list[str]) -> list[str]:
    return sorted({m for m in messages if "fetch" in m.lower() or "failed" in m.lower()})


def render_pdf(report: Report, target: "Path | BinaryIO") -> list[str]:
    """Render into `target` (a new path, created exclusively, or an open binary file); returns WeasyPrint's
    complaints about resources it could not load (normally none)."""
    document, problems = layout_pdf(report)
    if isinstance(target, Path):
        return sorted(set(problems + _write_document(document, target)))
    with _captured_weasyprint_log() as messages:
        document.write_pdf(target)
    return sorted(set(problems + _problems(messages)))


def layout_pdf(report: Report) -> "tuple[Any, list[str]]":
    """The laid-out document (weasyprint.Document) and the resources it could not load."""
    return layout_html(render_print_html(report), report.out)


def layout_html(page: str, out: Path) -> "tuple[Any, list[str]]":
    from weasyprint import HTML

    with _captured_weasyprint_log() as messages:
        document = HTML(string=page, base_url=str(out) + "/", url_fetcher=_local_fetcher(out)).render()
    return document, _problems(messages)


# Cited records printed per finding. A rule can cite thousands of positions on a large phone (GEO-02 cited 5,351
# on the 4 GiB bench image: a 1,023-page statement that took WeasyPrint 2.9 GB); the statement prints the
# first ones and says how many more, all of them in findings.json and schedule_findings.csv, which it names
# with their SHA-256. Its size then depends on the number of findings, not on the phone (issue 14).
PDF_CITED_PER_FINDING = 200

# where the exports go in the print HTML when it is made before they are written (fill_exports puts them in)
EXPORTS_PLACEHOLDER = "<!-- mobile-triage: the exports with their SHA-256 -->"


def render_print_html(report: Report, exports_later: bool = False) -> str:
    """The statement as HTML. `exports_later`: the exports section is left as EXPORTS_PLACEHOLDER, for
    `fill_exports` once they are written and hashed (by the report's second process)."""
    exports = None if exports_later else sorted(report.context["exports"].items())
    context = dict(report.context, sfr1=sfr1(report), export_list=exports, cited_printed=PDF_CITED_PER_FINDING,
                   exports_placeholder=Markup(EXPORTS_PLACEHOLDER), links=None, up="", index_href="")
    return environment().get_template("report_pdf.html.j2").render(print=True, **context)


def statement_html(report: Report) -> str | None:
    """The print HTML with a place for the exports (fill_exports), or None when this machine cannot make
    report.pdf (no engine: already a warning, note_if_unavailable)."""
    if pdf_unavailable() is not None:
        return None
    return render_print_html(report, exports_later=True)


def fill_exports(page: str, exports: dict[str, str]) -> str:
    """The print HTML with its exports section: each export file with its SHA-256, sorted by name."""
    if page.count(EXPORTS_PLACEHOLDER) != 1:
        raise ValueError("the print HTML has no single place for the exports")
    section = environment().get_template("_exports.html.j2").module.exports_section(sorted(exports.items()))
    return page.replace(EXPORTS_PLACEHOLDER, str(section))


# -- the SFR1-style summary ----------------------------------------------------------------------

def sfr1(report: Report) -> dict[str, Any]:
    c = report.context
    f = c["f"]
    return {
        "facts": [{"f": v["f"], "lines": [fact(card) for card in v["cards"][:PDF_CITED_PER_FINDING]],
                   "more": max(0, len(v["cards"]) - PDF_CITED_PER_FINDING)} for v in c["finding_views"]],
        "started": _both(f["run"]["started_utc"]),
        "written": _both(f["run"]["report_utc"]),
        "device": _device_summary(c["device_facts"]),
        "limitations": _limitations(c),
    }


def _both(value: str | None) -> str:
    if not value:
        return "—"
    return f"{utc_text(value)} ({'; '.join(local_times(value))})"


def _device_summary(facts: list[Any]) -> list[tuple[str, str]]:
    wanted = ("Manufacturer", "Model", "IMEI", "Serial number", "ICCID (SIM)", "Phone number", "Operating system")
    rows: dict[str, list[str]] = {}
    for fct in facts:
        if fct.label in wanted:
            rows.setdefault(fct.label, []).append(fct.value)
    return [(label, ", ".join(rows[label]) if label in rows else "not found in the evidence") for label in wanted]


def _limitations(c: dict[str, Any]) -> list[str]:
    out = [f"Message texts are quoted as stored: {NOT_TRANSLATED}.",
           f"{c['warning_count']} parse warning(s); {c['not_parsed_count']} file(s) not parsed or parsed with "
           "warnings (listed on the pages of index.html under 'Parse warnings' and 'Files not parsed', and in "
           "records/parse_warning.jsonl and records/source_file.jsonl).",
           "Positions are as recorded by the device or in photo metadata; their accuracy is not known unless stated.",
           "Findings are indicators produced by rules for review; they are not conclusions and draw no inference "
           "about any person's role.",
           "Only the file types the tool parses were examined; other material in the extraction was not reviewed."]
    if c["untimed_count"]:
        out.append(f"{c['untimed_count']} time(s) could not be placed in UTC and are given as stored.")
    out.append("This statement lists the records the findings cite, not every record of the phone: all are in the "
               "exports named below with their SHA-256, and on the pages of index.html.")
    return out


def fact(card: Card) -> Markup:
    """One evidence item stated as a fact with its location in the evidence.

    Markup: evidence text in it is capped, its controls made visible, names and paths isolated from
    the hashes and numbers beside them (display.py)."""
    where = _where(card.ref)
    r = card.record
    if r is None:
        return Markup("{} #{}: {}.").format(card.ref["type"], card.ref["id"], where)
    if card.kind == "message":
        verb = "received from" if r.direction == "incoming" else "sent to"
        who = isolated(r.counterpart, "name", "records/message.jsonl") if r.counterpart else "an unknown party"
        return Markup("{} message #{} {} {} {}; text as stored (not translated): \u201c{}\u201d. Location: {}.").format(
            shown(r.app.upper(), "name"), r.id, verb, who, _at(r.time_utc),
            shown(r.body or "", "message_body", "records/message.jsonl"), where)
    if card.kind == "location":
        zones = Markup("; inside {}").format(shown(", ".join(card.zones))) if card.zones else ""
        photo = (Markup(" of photo {}").format(isolated(card.media.name, "name", "records/media_file.jsonl"))
                 if card.media is not None else "")
        return Markup("Position {} ({}{}) {}{}. Location: {}.").format(
            left_to_right(f"{r.latitude:.6f}, {r.longitude:.6f}"), shown(r.origin, "name"), photo, _at(r.time_utc),
            zones, where)
    if card.kind == "media_file":
        taken = (_at(r.taken_utc) if r.taken_utc else
                 Markup("camera time {} (not placed in UTC)").format(left_to_right(r.taken_raw or "unknown", "name")))
        position = (Markup(", position {}").format(
            left_to_right(f"{card.location.latitude:.6f}, {card.location.longitude:.6f}"))
                    if card.location is not None else ", no position")
        return Markup("File {}, {} bytes, SHA-256 {}, taken {}{}. Location: {}.").format(
            isolated(r.path, "path", "records/media_file.jsonl"), left_to_right(r.size), left_to_right(r.sha256),
            taken, position, where)
    if card.kind == "payment":
        amount = (Markup(" {} {}").format(left_to_right(f"{r.amount:,.2f}"), shown(r.currency or ""))
                  if r.amount is not None else "")
        return Markup("Payment detail ({}){} in content {} {} {}. Location: {}.").format(
            shown(r.method, "name"), amount, shown(r.direction or ""),
            isolated(r.counterpart, "name", "records/payment.jsonl"), _at(r.time_utc), where)
    return Markup("{} #{}. Location: {}.").format(card.ref["type"], card.ref["id"], where)


def _at(t: Any) -> str:
    if t is None:
        return "at an unknown time"
    return f"at {utc_text(t)} ({'; '.join(local_times(t))})"


def _where(ref: dict[str, Any]) -> Markup:
    text = isolated(ref.get("provenance") or "source not recorded", "path", "findings.json")
    if ref.get("table"):
        text += Markup(", table {} row {}").format(shown(ref["table"], "name"), left_to_right(ref["row"], "name"))
    elif ref.get("offset") is not None:
        text += Markup(", byte offset {}").format(left_to_right(ref["offset"]))
    return text


# -- WeasyPrint plumbing --------------------------------------------------------------------------

def _local_fetcher(out: Path):  # noqa: ANN202 - a weasyprint URLFetcher
    """Only data: URIs and files inside the output folder; anything else is refused (no network)."""
    from weasyprint.urls import URLFetcher

    root = out.resolve()

    class LocalOnly(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            parsed = urlparse(url)
            if parsed.scheme == "file":
                path = Path(unquote(parsed.path)).resolve()
                if path != root and root not in path.parents:
                    raise ValueError(f"refused: {url} is outside the output folder")
            elif parsed.scheme != "data":
                raise ValueError(f"refused: {url} (the report loads nothing from the network)")
            return super().fetch(url, headers)

    return LocalOnly(allowed_protocols=("file", "data"))


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


class _captured_weasyprint_log:  # noqa: N801 - used as a context manager
    """Collect WeasyPrint's warnings instead of letting them reach the examiner's terminal."""

    def __enter__(self) -> list[str]:
        self.logger = logging.getLogger("weasyprint")
        self.handler = _ListHandler()
        self.propagate = self.logger.propagate
        self.logger.addHandler(self.handler)
        self.logger.propagate = False
        return self.handler.messages

    def __exit__(self, *exc: object) -> None:
        self.logger.removeHandler(self.handler)
        self.logger.propagate = self.propagate
