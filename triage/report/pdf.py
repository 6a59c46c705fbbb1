"""report.pdf: the statement for print (WeasyPrint), opening with an SFR1-style summary of the exhibit.

The statement states, per exhibit, the identifiers, tool and rule-pack versions with hashes, the times of
the examination in UTC and local time, the operator and the evidence hashes; then Part 1, the records the
findings cite as neutral facts, each once, in time order, with where it is in the evidence (statement.py),
and the device's identifiers and accounts with their sources; then the limitations and the declarations;
then Annex A, the indicators (each finding's rule, definition, innocent explanations, severity and the
facts it cites by number), and Annex B, the country reading of each ambiguous number cited
(number_notes.py). No rule title or indicator word comes before Annex A (issue 15). The full report
follows (`_sections.html.j2`: case, device, evidence, assessment, every finding open with its cited
records, the map, the record counts), then the exports named with their SHA-256, the first parse warnings
and the examination record in words (examination.py), on landscape pages. It never lists the phone's
records: they are in the exports and on the pages of index.html. Its size depends on the findings, not
on the phone.

Evidence text is printed as its own block with its own direction, its amounts and numbers isolated and
kept on one line (bidi.py); emoji come from a colour emoji font when one is installed (report.css).

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
from triage.integrity.exclusive import create_exclusive
from triage.report.examination import examination_steps
from triage.report.html import NOT_TRANSLATED, Report, environment, local_times, utc_text
from triage.report.names import Names
from triage.report.number_notes import ambiguous_cited
from triage.report.statement import (
    Fact,
    annex,
    fact_list,
    rules_of_run,
    stated_facts,
    text_of,
    what,
    when,
    where,
)

if TYPE_CHECKING:
    from triage.integrity.custody import CustodyLog

PDF_NAME = "report.pdf"
INSTALL_HINT = (
    "install the Python package weasyprint and its Debian libraries "
    "(apt-get install libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core)"
)


@lru_cache(maxsize=1)
def pdf_unavailable() -> str | None:
    """Why WeasyPrint cannot be used here, or None when it can (it loads Pango when imported)."""
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as e:
        return f"WeasyPrint cannot be loaded ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})"
    return None


def unavailable_warning(reason: str | None) -> str | None:
    """The warning the run records before the report when this machine cannot make report.pdf (`reason`, from
    `pdf_unavailable`), so every output, findings.json and the record exports included, lists it; None when it
    can."""
    return f"report.pdf not written: {reason}; {INSTALL_HINT}" if reason else None


@dataclass
class PdfOutcome:
    """What became of report.pdf: written (with WeasyPrint's complaints, normally none), or not and why."""

    written: bool
    problems: list[str] = field(default_factory=list)
    failure: str | None = None  # why the engine could not make it (the run goes on without it)

    def to_json(self) -> dict[str, Any]:
        return {"written": self.written, "problems": self.problems, "failure": self.failure}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PdfOutcome:
        return cls(bool(data["written"]), list(data["problems"]), data["failure"])


def make_pdf(page: str, out: Path) -> PdfOutcome:
    """Lay out the print HTML and write out/report.pdf (in this process or the report's second one).

    Laid out first, written after: a document that fails to lay out leaves no file behind. The file is
    created exclusively (an existing report.pdf is never replaced: ExistingFileError), and a failure of
    the disk while writing it (no space, no permission) is not the engine's: it ends the run."""
    _draw_each_emoji_image_once()
    try:
        document, problems = layout_html(page, out)
    except Exception as e:  # noqa: BLE001 - an engine failure must not lose the rest of the bundle; returned
        return PdfOutcome(False, failure=f"rendering failed ({type(e).__name__}: {e})")
    try:
        problems = sorted(set(problems + _write_document(document, out / PDF_NAME)))
    except (OSError, TriageError):
        raise
    except Exception as e:  # noqa: BLE001 - the engine's own failure while writing: returned, recorded by the run
        return PdfOutcome(False, failure=f"writing failed ({type(e).__name__}: {e})")
    return PdfOutcome(True, problems)


def record_outcome(
    outcome: PdfOutcome | None, out: Path, custody: CustodyLog, unavailable: str | None
) -> tuple[list[Path], str | None]:
    """The PDF's outcome in the record: the file written, or a custody entry and the error for the run to
    record as a warning (the report never writes warnings itself: the run counts them); complaints as an
    entry. None: no engine, for the reason `unavailable` (the run recorded the warning before the report,
    unavailable_warning)."""
    if outcome is None:
        return _not_written(unavailable or "no PDF engine", custody), None
    if not outcome.written:
        reason = outcome.failure or "unknown failure"
        return _not_written(reason, custody), f"report.pdf not written: {reason}"
    if outcome.problems:  # e.g. a picture that could not be embedded: the PDF is kept, the record says so
        custody.record("report.pdf written with problems", problems=outcome.problems)
    return [out / PDF_NAME], None


def _not_written(reason: str, custody: CustodyLog) -> list[Path]:
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


def render_pdf(report: Report, target: Path | BinaryIO) -> list[str]:
    """Render into `target` (a new path, created exclusively, or an open binary file); returns WeasyPrint's
    complaints about resources it could not load (normally none)."""
    document, problems = layout_pdf(report)
    if isinstance(target, Path):
        return sorted(set(problems + _write_document(document, target)))
    with _captured_weasyprint_log() as messages:
        document.write_pdf(target)
    return sorted(set(problems + _problems(messages)))


def layout_pdf(report: Report) -> tuple[Any, list[str]]:
    """The laid-out document (weasyprint.Document) and the resources it could not load."""
    return layout_html(render_print_html(report), report.out)


class _GlyphImages:
    """WeasyPrint's image class for a colour emoji's glyph, made once per glyph of a document. WeasyPrint 70 makes
    one for every emoji it draws, decoding the font's PNG and encoding it again each time (1.8 ms an emoji: a
    message of 1,300 emoji took 2.6 s, and a statement of 400 emoji-filled cited messages most of an hour), then
    writes a glyph's picture into the PDF once, by the image's id: the same object every time draws the same
    page (tests/report/test_report_pdf.py compares the pages drawn with and without)."""

    def __init__(self, make: Any) -> None:
        self.make = make
        self.made: dict[Any, Any] = {}

    def __call__(self, pillow_image: Any, image_id: Any, image_data: Any, *args: Any, **kwargs: Any) -> Any:
        image = self.made.get(image_id)
        if image is None:
            image = self.made[image_id] = self.make(pillow_image, image_id, image_data, *args, **kwargs)
        return image


def _draw_each_emoji_image_once() -> None:
    """Put _GlyphImages in the place WeasyPrint's text drawing makes emoji images from (it makes no other image
    there), emptied for each document; nothing when the engine is laid out otherwise."""
    try:
        from weasyprint.draw import text
    except (ImportError, OSError):  # no engine here: report.pdf is not made (pdf_unavailable)
        return
    current = getattr(text, "RasterImage", None)
    if isinstance(current, _GlyphImages):
        current.made.clear()
    elif current is not None:
        text.RasterImage = _GlyphImages(current)


def layout_html(page: str, out: Path) -> tuple[Any, list[str]]:
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
    context = dict(
        report.context,
        sfr1=sfr1(report),
        export_list=exports,
        exports_placeholder=Markup(EXPORTS_PLACEHOLDER),
        links=None,
        up="",
        index_href="",
    )
    return environment().get_template("report_pdf.html.j2").render(print=True, **context)


def statement_html(report: Report, unavailable: str | None) -> str | None:
    """The print HTML with a place for the exports (fill_exports), or None when this machine cannot make
    report.pdf (`unavailable`, pdf_unavailable's reason: already a warning, unavailable_warning)."""
    if unavailable is not None:
        return None
    return render_print_html(report, exports_later=True)


def fill_exports(page: str, exports: dict[str, str]) -> str:
    """The print HTML with its exports section: each export file with its SHA-256, sorted by name."""
    if page.count(EXPORTS_PLACEHOLDER) != 1:
        raise ValueError("the print HTML has no single place for the exports")
    module = environment().get_template("_exports.html.j2").module
    # a macro of the template: jinja2 makes the module's attributes at run time
    section = module.exports_section(sorted(exports.items()))  # type: ignore[attr-defined]
    return page.replace(EXPORTS_PLACEHOLDER, str(section))


# -- the SFR1-style summary ----------------------------------------------------------------------

FLAG_SEVERITIES = ("SAFEGUARDING", "DISCLOSURE")


def sfr1(report: Report) -> dict[str, Any]:
    """The statement's context: part 1 (the cited records as neutral facts, the device's identifiers),
    the annexes (indicators; the country of each ambiguous number) and the examination record (statement.py,
    number_notes.py, examination.py)."""
    c = report.context
    f = c["f"]
    views = c["finding_views"]
    stated = stated_facts(views, PDF_CITED_PER_FINDING)
    session = _session_of(views)
    names = Names(session) if session is not None else None
    numbers, numbers_more = ambiguous_cited(session, stated.numbers) if session is not None else ([], 0)
    rules = c.get("rule_texts") or rules_of_run(f["rule_pack"])
    return {
        "facts": [_fact_view(x, names) for x in stated.facts],
        "not_stated": stated.not_stated,
        "cited_total": len(stated.facts) + stated.not_stated,
        "annex": annex(views, stated.numbers, rules),
        "rules_known": rules is not None,
        "numbers": numbers,
        "numbers_more": numbers_more,
        "flag_findings": [n for n, x in enumerate(f["findings"], start=1) if x["severity"] in FLAG_SEVERITIES],
        "examination": examination_steps(c["custody"]),
        "started": _both(f["run"]["started_utc"]),
        "written": _both(f["run"]["report_utc"]),
        "device": _device_summary(c["device_facts"]),
        "limitations": _limitations(c),
    }


def _fact_view(fact: Fact, names: Names | None) -> dict[str, Any]:
    return {
        "n": fact.number,
        "what": what(fact, names),
        "text": text_of(fact),
        "when": when(fact),
        "where": where(fact),
        "findings": fact_list(fact.findings),
        "type": fact.key[0],
        "id": fact.key[1],
        "thumb": fact.card.thumb if fact.card.kind == "media_file" else None,  # a cited photo's picture
    }


def _session_of(views: list[dict[str, Any]]) -> Any:
    """The case store's session the cited records were read with (None when no record was found)."""
    from sqlalchemy.orm import object_session

    for view in views:
        for card in view["cards"]:
            if card.record is not None:
                return object_session(card.record)
    return None


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
    out = [
        f"Message texts are quoted as stored: {NOT_TRANSLATED}.",
        f"{c['warning_count']} parse warning(s); {c['not_parsed_count']} file(s) not parsed or parsed with "
        "warnings (listed on the pages of index.html under 'Parse warnings' and 'Files not parsed', and in "
        "records/parse_warning.jsonl and records/source_file.jsonl).",
        "Positions are as recorded by the device or in photo metadata; their accuracy is not known unless stated.",
        "Findings are indicators produced by rules for review; they are not conclusions and draw no inference "
        "about any person's role. Part 1 states records only; the rules that selected them are in Annex A.",
        "Only the file types the tool parses were examined; other material in the extraction was not reviewed.",
    ]
    if c["untimed_count"]:
        out.append(f"{c['untimed_count']} time(s) could not be placed in UTC and are given as stored.")
    out.append(
        "This statement lists the records the findings cite, not every record of the phone: all are in the "
        "exports named below with their SHA-256, and on the pages of index.html."
    )
    return out


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
