"""The creation journal of the report's second process (triage/integrity/exclusive.py): the run removes what that
process made when it dies half-way, so every file it made must be named, and no file it did not make."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from triage.integrity import exclusive
from triage.integrity.exclusive import ExistingFileError, create_exclusive, created_files, journal_creations


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "created.jsonl"
    journal_creations(path)
    try:
        yield path
    finally:
        with exclusive._Journal.lock:  # this test process journals nothing after the test
            assert exclusive._Journal.file is not None
            exclusive._Journal.file.close()
            exclusive._Journal.file = None


def test_files_made_are_named_and_a_file_already_there_is_not(tmp_path: Path, journal: Path) -> None:
    planted = tmp_path / "planted.csv"
    planted.write_text("not ours\n", encoding="utf-8")
    with create_exclusive(tmp_path / "a.jsonl", "w") as f:
        f.write("{}\n")
    with pytest.raises(ExistingFileError):
        create_exclusive(planted, "w")
    with pytest.raises(FileNotFoundError):  # a folder that is not there: nothing made either
        create_exclusive(tmp_path / "missing" / "b.csv", "w")
    with create_exclusive(tmp_path / "c.csv", "wb") as f:
        f.write(b"x")
    assert created_files(journal) == [tmp_path / "a.jsonl", tmp_path / "c.csv"]
    assert planted.read_text(encoding="utf-8") == "not ours\n"


def test_a_name_is_written_before_its_file_is_made(
    tmp_path: Path, journal: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A death between the making of a file and anything after it leaves the file named: the line comes first."""
    target = tmp_path / "records.csv"
    seen: list[list[Path]] = []
    real_open = os.open

    def open_seeing_the_journal(path: str, flags: int, mode: int = 0o777) -> int:
        seen.append(created_files(journal))  # what the run would read if this process died now
        return real_open(path, flags, mode)

    monkeypatch.setattr(os, "open", open_seeing_the_journal)
    create_exclusive(target, "wb").close()
    monkeypatch.undo()
    assert seen == [[target]] and created_files(journal) == [target]


def test_a_line_cut_short_by_a_death_is_left_out(tmp_path: Path) -> None:
    journal = tmp_path / "created.jsonl"
    journal.write_text(json.dumps(str(tmp_path / "a")) + "\n" + '"' + str(tmp_path / "b")[:5], encoding="utf-8")
    assert created_files(journal) == [tmp_path / "a"]
