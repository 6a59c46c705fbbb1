"""The report step's second process: the record exports, then report.pdf, while this process writes the pages.

At the size of a real phone the report step is three large jobs: the record exports (records/<type>.jsonl and
.csv, one line and one row per record), the paged listings (pages/, a bubble or a row per record) and the
statement (report.pdf, laid out by WeasyPrint). Each reads the case store or the report's context and
writes its own files, so on a machine with two cores they share the work:

    this process:   findings.json, index.html's context, print HTML, then pages/ (a fork of it writes the
                    timeline's and the last conversations'), index.html
    second process: records/ of what no pass changes (messages, calls, contacts, positions); after the
                    hand-over the schedules, KML/GeoJSON, CASE and the other records/; then the SHA-256 of
                    every export and report.pdf

A message is final once parsing ends (the passes add parties, payments and findings, never change a message),
so `triage run` lets the second process begin during the passes (`CaseStore.let_readers_in`; from the rules
pass on, triage/run/pipeline.py REPORT_WORKER_FROM): its exports of the bulk overlap the passes, which keep
one core busy. It starts the process earlier, with the run (`ReportWorker(begin=False)`): loading its modules
and WeasyPrint takes ~1.3 CPU-s, on the core the run's start leaves idle. The rest it reads on a new connection
after the hand-over, when the report step has committed every record (the pages are the larger job: this
split keeps both processes about equally busy).

The statement names every export with its SHA-256, so it is laid out once they are all written: its HTML is
made here (pdf.render_print_html, with a place for the exports) and finished there (pdf.fill_exports).

The second process is `main` below in a new interpreter (`python -c`, SECOND_PROCESS_COMMAND: run with `-m` this
module would be executed twice, the package's __init__ importing it first). Its requests come on its stdin, never on
its command line (where a database password would show): first the store's URL, the output folder and a private file
where it names each file it creates (`journal_creations`); then, at the hand-over (once findings.json is written and
every record committed), findings.json's name and the case's names for the CASE files, so it writes the other
exports while the report step builds the report; last the print HTML (in a private temporary file; no line: no PDF).
It opens the store on connections of its own and only reads it (in SQLite's write-ahead log a reader neither waits
for the writer nor blocks it); every file it writes is created exclusively, as everywhere else. It says first, in a
line of JSON on stdout, whether this machine can make report.pdf (it loads WeasyPrint, which makes it, so the run's
process never loads it: 28 MB and 0.4 s saved there); its answer is the last line: the files it wrote, the SHA-256
of every export, what became of report.pdf, or the error that stopped it. An existing file stops the report
(`ReportWorker.finish` raises ExistingFileError); any other failure, or its death, costs time, not the run: the
files it created are removed (but for the exports it had said were final) and this process does what was left, the
same files, and says why (`Finished.fell_back`, the custody entry's `second_process_failed`). A store no other
process can open (SQLite in memory) is handled in this process, in the same order.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from triage.errors import TriageError
from triage.integrity.exclusive import ExistingFileError, created_files, journal_creations
from triage.integrity.file_hashes import sha256_of
from triage.lifeline import exit_with
from triage.report.pdf import pdf_unavailable
from triage.store.forked_reader import fork_url

if TYPE_CHECKING:
    from triage.report.pdf import PdfOutcome
    from triage.store import CaseStore


# The record types whose exports the second process writes: those no pass changes after parsing (a phone's bulk,
# its messages, and its calls, contacts and positions), so that `triage run` can start it while the passes run.
# Media files are not among them (the passes mark duplicates and watch-list hits on them), nor what the passes and
# the report add (parties, payments, findings, warnings, custody events). This process writes the others before
# it hands over, then the pages; report.pdf waits for every export to be hashed.
SECOND_PROCESS_TYPES = frozenset({"message", "call", "contact", "location"})


def write_record_exports(store: Any, out: Path, types: Collection[str] | None = None) -> list[Path]:
    """records/<type>.jsonl, then records/<type>.csv (one pass over the store for both); `types`: only these."""
    from triage.report.tables import write_records_and_tables

    lines, tables = write_records_and_tables(store, out / "records", types)
    return [*lines.values(), *tables]


def later_record_exports(store: Any, out: Path) -> list[Path]:
    """The record exports of the types the passes and the report add or change (every type but
    SECOND_PROCESS_TYPES): written once the report step has committed the store."""
    from triage.model.records import EXPORTED_RECORDS

    return write_record_exports(
        store, out, [cls.record_type for cls in EXPORTED_RECORDS if cls.record_type not in SECOND_PROCESS_TYPES]
    )


def write_other_exports(store: Any, case: dict[str, str], out: Path, case_records: bool = True) -> list[Path]:
    """The schedules, locations.geojson and .kml, case.jsonld and (`case_records`) case-records.jsonld."""
    from triage.report.case_export import write_case
    from triage.report.geo_export import write_geo
    from triage.report.tables import write_schedules

    return [
        *write_schedules(store, out),
        *write_geo(store, out),
        *write_case(store, case, out / "case.jsonld", with_records=case_records),
    ]


@dataclass(frozen=True)
class RestOfExports:
    """What the second process writes after the hand-over: the schedules, KML/GeoJSON and CASE files of the
    case `case` (`case_records`: with case-records.jsonld), then the later record exports."""

    case: dict[str, str]
    case_records: bool

    def write(self, store: Any, out: Path) -> list[Path]:
        return [*write_other_exports(store, self.case, out, self.case_records), *later_record_exports(store, out)]

    def to_json(self) -> dict[str, Any]:
        return {"case": self.case, "case_records": self.case_records}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RestOfExports:
        return cls(dict(data["case"]), bool(data["case_records"]))


def hash_and_print(
    out: Path, exports: list[str], page: str | None, hashed: Callable[[dict[str, str]], None] = lambda _: None
) -> tuple[dict[str, str], PdfOutcome | None]:
    """The SHA-256 of each export (relative names), said to `hashed`, then report.pdf from the print HTML,
    which names them."""
    from triage.report.pdf import fill_exports, make_pdf

    hashes = {name: sha256_of(out / name) for name in exports if (out / name).is_file()}
    hashed(hashes)
    return hashes, (make_pdf(fill_exports(page, hashes), out) if page is not None else None)


# what the second process runs (see the module's docstring)
SECOND_PROCESS_COMMAND = "import sys; from triage.report.worker import main; sys.exit(main())"


def _same_code() -> dict[str, str]:
    """The environment of the second process: this one's, with the folder this `triage` was imported from
    first on its path, so it runs the same code whatever the installation."""
    import triage

    root = str(Path(triage.__file__).resolve().parent.parent)
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": root + (os.pathsep + path if path else "")}


@dataclass
class Finished:
    hashes: dict[str, str]  # each export file (relative name) → SHA-256, in the report's order
    pdf: PdfOutcome | None  # None: no PDF was asked for (no engine)
    fell_back: str | None = None  # why the second process failed and this one did its work (None: it did not)


class SecondProcessFailed(TriageError):
    """The report's second process failed or died (the message says how); `ReportWorker.finish` then does its work
    in the run's process."""


class ReportWorker:
    """The second process, started on the store (or, for a store it cannot open, this process later).

    `begin=False`: the process is started now but waits, its modules and WeasyPrint loaded, until `begin` says the
    store may be read (`triage run` starts it with the run, when a core is idle, and lets it begin once the
    messages are final)."""

    def __init__(self, store: CaseStore, out: Path, begin: bool = True) -> None:
        self.store, self.out = store, out
        self.first_request: dict[str, str] | None = None  # what `begin` sends, until it has
        self.child: subprocess.Popen[bytes] | None = None
        self.errors: IO[bytes] | None = None
        self.html: Path | None = None
        self.first: Path = out
        self.rest: RestOfExports | None = None
        self.page: str | None = None
        self.engine: tuple[str | None] | None = None  # (why report.pdf cannot be made, or None) once known
        self.said: Any = None  # the second process's answer when `exports_written` read it instead of its line
        self.printing = False  # print_from called: the second process hashes the exports, then lays out the PDF
        self.final: list[Path] | None = None  # the exports the second process said were written and hashed
        self.journal: Path | None = None  # where the second process names each file it creates
        url = fork_url(store.session)  # None: no other process can open it (SQLite in memory)
        if url is not None:
            self.errors = tempfile.TemporaryFile()  # a file, not a pipe: a talkative child never blocks on it
            fd, name = tempfile.mkstemp(prefix="triage-created-", suffix=".jsonl")  # private: mode 0600
            os.close(fd)
            self.journal = Path(name)
            try:
                self.child = subprocess.Popen(
                    [sys.executable, "-c", SECOND_PROCESS_COMMAND],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=self.errors,
                    env=_same_code(),
                )
            except BaseException:
                self.close()  # no process to be had: its temporary files go too
                raise
            self.first_request = {"url": url, "out": str(out), "journal": name}
            if begin:
                self.begin()

    def begin(self) -> None:
        """Let the second process read the store: it writes the first exports from now on (once only)."""
        request, self.first_request = self.first_request, None
        if request is None:
            return  # begun already, or no second process
        try:
            self._send(request)
        except BrokenPipeError:
            pass  # the child has stopped: `finish` says why

    def __enter__(self) -> ReportWorker:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _send(self, request: dict[str, Any]) -> None:
        assert self.child is not None and self.child.stdin is not None
        self.child.stdin.write(json.dumps(request).encode("utf-8") + b"\n")
        self.child.stdin.flush()

    def pdf_unavailable(self) -> str | None:
        """Why this machine cannot make report.pdf, or None when it can: as the second process found when it
        started (its first line); this process's own check when there is no such process or it said nothing."""
        if self.engine is None:
            self.engine = (self._engine_line(),) if self.child is not None else (pdf_unavailable(),)
        return self.engine[0]

    def _engine_line(self) -> str | None:
        assert self.child is not None and self.child.stdout is not None
        try:
            said = json.loads(self.child.stdout.readline())
            if isinstance(said, dict) and set(said) == {"pdf_unavailable"}:
                return said["pdf_unavailable"]
        except ValueError:
            pass
        return pdf_unavailable()  # the child stopped (`finish` says why) or said something else

    def hand_over(self, first: Path, rest: RestOfExports | None = None) -> None:
        """Once `first` (findings.json) is written and the store committed with every record: the second process
        writes `rest` (None: nothing more) while this one builds the report, then waits for `print_from`."""
        self.first, self.rest = first, rest
        if self.child is None:
            return  # done here, in `finish`
        self.begin()  # if it has not yet
        request = {"first": str(first.relative_to(self.out)), "rest": rest.to_json() if rest is not None else None}
        try:
            self._send(request)
        except BrokenPipeError:
            pass  # the child has stopped: `finish` says why

    def print_from(self, page: str | None) -> None:
        """The second process hashes every export, then makes report.pdf from `page` (the print HTML, its exports
        left to fill; None: no PDF)."""
        self.page, self.printing = page, True
        if self.child is None:
            return  # done here, in `finish`
        if page is not None:
            fd, name = tempfile.mkstemp(prefix="triage-print-", suffix=".html")  # private: mode 0600
            self.html = Path(name)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(page)
        try:
            self._send({"html": str(self.html) if self.html else None})
        except BrokenPipeError:
            pass  # the child has stopped: `finish` says why

    def exports_written(self) -> list[Path]:
        """The exports the second process has written and hashed, once it has (it then lays out report.pdf,
        which names them: they are final). Empty when there is no second process (`finish` writes them here),
        when `print_from` was not called (it waits for the print HTML before hashing) or when it stopped before
        saying so (`finish` says why)."""
        if self.child is None or self.child.stdout is None or not self.printing:
            return []
        self.pdf_unavailable()  # its first line, read once
        if self.child is None or self.child.stdout is None:
            return []
        try:
            said = json.loads(self.child.stdout.readline())
        except ValueError:
            return []
        if isinstance(said, dict) and set(said) == {"exports"} and isinstance(said["exports"], list):
            self.final = [self.out / name for name in said["exports"]]
            return self.final
        self.said = said  # the answer itself (the child failed): `finish` reads it
        return []

    def finish(self) -> Finished:
        """Every export with its SHA-256, and what became of report.pdf. When the second process failed or died,
        its work is done here (`Finished.fell_back` says why); an export already there is raised as itself."""
        if self.child is None:  # nobody else can read the store: the same work, here
            return self._here()
        try:
            answer = self._answer()
        except SecondProcessFailed as e:
            return self._again(str(e))
        finally:
            self._remove_journal()
        from triage.report.pdf import PdfOutcome

        return Finished(answer["hashes"], PdfOutcome.from_json(answer["pdf"]) if answer["pdf"] is not None else None)

    def _here(self, fell_back: str | None = None) -> Finished:
        """The second process's work in this process: the exports, their SHA-256, then report.pdf."""
        written = [self.first, *write_record_exports(self.store, self.out, SECOND_PROCESS_TYPES)]
        written += self.rest.write(self.store, self.out) if self.rest is not None else []
        return Finished(*self._hash_and_print(written), fell_back)

    def _hash_and_print(self, exports: list[Path]) -> tuple[dict[str, str], PdfOutcome | None]:
        return hash_and_print(self.out, [str(p.relative_to(self.out)) for p in exports], self.page)

    def _again(self, why: str) -> Finished:
        """After the second process failed or died: the files it created are removed but for the exports it had
        said were final (the run may have zipped them: seal.py BundleZip), and what it had left to do is done here,
        the same files. Its creation journal names only files it made, never one that was there before."""
        final = set(self.final or ())
        for path in created_files(self.journal) if self.journal is not None else ():
            if path not in final:
                path.unlink(missing_ok=True)
        fell_back = f"{why}; its work done here instead"
        if self.final is not None:  # every export written and hashed there: hashed again here, then report.pdf
            return Finished(*self._hash_and_print(self.final), fell_back)
        return self._here(fell_back)

    def _remove_journal(self) -> None:
        if self.journal is not None:
            self.journal.unlink(missing_ok=True)
            self.journal = None

    def _answer(self) -> dict[str, Any]:
        assert self.child is not None and self.child.stdout is not None and self.child.stdin is not None
        try:
            self.child.stdin.close()
        except BrokenPipeError:
            # the child stopped before reading the hand-over (an export already there, a store it cannot open):
            # what was left to send is dropped with the pipe, and its answer below says why it stopped
            pass
        text = self.child.stdout.read().decode("utf-8", "replace").strip()
        if not text and self.said is not None:  # `exports_written` read the answer already
            text = json.dumps(self.said)
        code = self.child.wait()
        self.child.stdout.close()
        self.child = None
        errors = self._errors()
        self.close(journal=False)  # read by `finish` when the second process failed
        try:
            answer = json.loads(text.split("\n")[-1]) if text else {}
        except ValueError:
            answer = {}
        if code == 0 and "files" in answer:
            return answer
        if answer.get("error") == "ExistingFileError":
            raise ExistingFileError(answer["message"])
        if "error" in answer:
            raise SecondProcessFailed(f"the report's second process failed ({answer['error']}: {answer['message']})")
        raise SecondProcessFailed(f"the report's second process ended with code {code} ({errors or 'it said nothing'})")

    def _errors(self) -> str:
        if self.errors is None:
            return ""
        self.errors.seek(0)
        text = self.errors.read().decode("utf-8", "replace").strip()
        return text.splitlines()[-1] if text else ""

    def close(self, journal: bool = True) -> None:
        """Stop the child if it still runs (the report step failed here) and remove the temporary files (and,
        `journal`, its creation journal)."""
        if self.child is not None:
            self.child.kill()  # the process this object started, by its own handle
            self.child.wait()
            for stream in (self.child.stdin, self.child.stdout):
                if stream is not None and not stream.closed:
                    stream.close()
            self.child = None
        if self.errors is not None:
            self.errors.close()
            self.errors = None
        if self.html is not None:
            self.html.unlink(missing_ok=True)
            self.html = None
        if journal:
            self._remove_journal()


class ReadStore:
    """The case store as the exporters read it, on this process's own connection (nothing is written)."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)
        self.session = Session(self.engine, autoflush=False)

    def flush(self) -> None:
        """Nothing is buffered here: this process only reads what was committed before it started."""

    def close(self) -> None:
        self.session.close()
        self.engine.dispose()


def serve(requests: IO[str], say: Callable[[dict[str, Any]], None] = lambda _: None) -> dict[str, Any]:
    """The second process's work, request by request; its answer. `say` hears, before report.pdf is laid
    out, the names of the exports written and hashed (ReportWorker.exports_written)."""
    first = json.loads(requests.readline())
    out = Path(first["out"])
    if first.get("journal"):  # each file made here named there: the run removes them if this process dies
        journal_creations(Path(first["journal"]))
    files = _exporting(first["url"], lambda store: write_record_exports(store, out, SECOND_PROCESS_TYPES))
    second = json.loads(requests.readline())
    if second["rest"] is not None:  # on a connection opened now: it sees what the passes and the report committed
        rest = RestOfExports.from_json(second["rest"])
        files += _exporting(first["url"], lambda store: rest.write(store, out))
    third = requests.readline()  # the print HTML's file; nothing: no PDF asked for (print_from not called)
    html = json.loads(third)["html"] if third else None
    page = Path(html).read_text(encoding="utf-8") if html else None
    names = [str(p.relative_to(out)) for p in files]
    hashes, pdf = hash_and_print(out, [second["first"], *names], page, lambda h: say({"exports": [*h]}))
    return {"files": names, "hashes": hashes, "pdf": pdf.to_json() if pdf is not None else None}


def _exporting(url: str, write: Callable[[ReadStore], list[Path]]) -> list[Path]:
    store = ReadStore(url)
    try:
        return write(store)
    finally:
        store.close()


def _load_exporters() -> None:
    """The modules the exports use, loaded before the first request: a process started early (ReportWorker's
    `begin=False`) loads them while a core is idle, not while the passes keep both busy."""
    from triage.report import case_export, export_columns, geo_export, tables  # noqa: F401


def main() -> int:
    exit_with(os.getppid())  # the run that started it killed outright: nothing more written (triage/lifeline.py)
    try:
        print(json.dumps({"pdf_unavailable": pdf_unavailable()}), flush=True)  # ReportWorker.pdf_unavailable
        _load_exporters()
        answer = serve(sys.stdin, lambda line: print(json.dumps(line), flush=True))
    except Exception as e:  # noqa: BLE001 - said to the parent, which raises it in the run
        print(json.dumps({"error": type(e).__name__, "message": str(e)}), flush=True)
        return 1
    print(json.dumps(answer), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
