"""Create-exclusive output: nothing mobile-triage writes may ever replace an existing file.

Every report, export, bundle file and zip is opened with O_CREAT|O_EXCL, so a path that already
exists (the evidence itself, an earlier bundle, a file planted in the output folder) stops the write
with a one-line error instead of being overwritten.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import threading
from pathlib import Path
from typing import IO, Any

from triage.errors import TriageError


class ExistingFileError(TriageError):
    """An output path is already taken."""


class _Journal:
    """Where this process names each file it creates, when asked to (`journal_creations`)."""

    lock = threading.Lock()
    file: IO[str] | None = None


def journal_creations(path: Path) -> None:
    """From now on, name in `path` each file this process creates, a line of JSON each: the report's second process
    does, so that the run can remove what it created if it dies half-way (triage/report/worker.py). A name is
    written before the file is made, so that a death between the two leaves no file unnamed; when the open fails (the
    file already there: O_EXCL refused), a second line takes the name back (`created_files` leaves it out), and the
    error stops the report as everywhere. Only a death in the instant between that refusal and its line would leave a
    file this process did not make named as its own."""
    with _Journal.lock:
        _Journal.file = open(path, "a", encoding="utf-8", buffering=1)  # line-buffered: each name reaches the file


def created_files(journal: Path) -> list[Path]:
    """The files a process named in its creation journal and did not take back (a last line cut short by its death
    is left out): each was made by it, or was about to be when it died (then it may not exist)."""
    try:
        lines = journal.read_text(encoding="utf-8").split("\n")
    except FileNotFoundError:
        return []
    named: dict[str, None] = {}
    for line in lines[:-1]:  # every complete line ends with "\n"
        entry = json.loads(line)
        if isinstance(entry, dict):
            named.pop(entry[NOT_MADE], None)
        else:
            named[entry] = None
    return [Path(name) for name in named]


NOT_MADE = "not made"  # a journal line taking a name back: the open failed (most often: the file was there already)


def _journal(entry: str | dict[str, str]) -> None:
    with _Journal.lock:
        if _Journal.file is not None:
            _Journal.file.write(json.dumps(entry) + "\n")


def create_exclusive(path: Path, mode: str = "wb", encoding: str | None = None, **kwargs: Any) -> IO[Any]:
    """Open a new file for writing; fails if anything (file, link, folder) is already at `path`."""
    if "w" not in mode or "+" in mode:
        raise ValueError(f"create_exclusive is for writing new files, not mode {mode!r}")
    if "b" not in mode and encoding is None:
        encoding = "utf-8"
    _journal(str(path))  # before the file exists: a death right after its making leaves it named (journal_creations)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except OSError as e:
        _journal({NOT_MADE: str(path)})  # nothing was made here: what is at `path` (if anything) is not ours
        if isinstance(e, FileExistsError):
            raise ExistingFileError(
                f"{path} already exists; mobile-triage never replaces a file (choose a new output location)"
            ) from None
        raise
    return os.fdopen(fd, mode.replace("x", "w"), encoding=encoding, **kwargs)


def write_bytes_exclusive(path: Path, data: bytes) -> None:
    with create_exclusive(path, "wb") as f:
        f.write(data)


def write_text_exclusive(path: Path, text: str, encoding: str = "utf-8") -> None:
    with create_exclusive(path, "w", encoding=encoding, newline="") as f:
        f.write(text)


class WriterThread:
    """Text files created exclusively and written by a thread of their own, in the order given, while the caller
    goes on to the next one. Creating a file can wait on the file system's journal (the report's pages: 3,209
    files took 1.7 s in os.open alone at N = 200,000, bench/RESULTS.md) and a thread waiting there lets go of the
    interpreter. At most `pending` files wait to be written. A use is a `with` block: leaving it waits for every
    file; the first write that failed (an existing file: ExistingFileError) stops the writing of the rest and is
    raised at the next `write_text` or when the block ends. `sha256`: each file written, by its path, with the
    SHA-256 of the bytes written (so the caller need not read them back to record it)."""

    def __init__(self, pending: int = 8) -> None:
        self._queue: queue.Queue[tuple[Path, str] | None] = queue.Queue(pending)
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self.sha256: dict[Path, str] = {}

    def __enter__(self) -> WriterThread:
        self._thread = threading.Thread(target=self._write_all, name="exclusive-writer", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, *_rest: object) -> None:
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if kind is None:  # an exception already on its way is not replaced by the writer's
            self._raise()

    def write_text(self, path: Path, text: str) -> None:
        """`text` into the new file `path` (UTF-8, newlines as given), written in turn."""
        if self._thread is None:
            raise RuntimeError("WriterThread.write_text outside its with block")
        self._raise()
        self._queue.put((path, text))

    def _write_all(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is None:
                try:
                    path, text = item
                    data = text.encode("utf-8")  # as write_text_exclusive writes it: no newline translation
                    write_bytes_exclusive(path, data)
                    self.sha256[path] = hashlib.sha256(data).hexdigest()
                except BaseException as e:  # noqa: BLE001 - raised in the caller's thread
                    self._error = e

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error
