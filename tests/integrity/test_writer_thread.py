"""The report's pages are written by a thread of their own (triage/integrity/exclusive.py WriterThread): the
files are those given, in the order given, created exclusively; the first failure stops the rest and reaches
the caller."""

from __future__ import annotations

import hashlib

import pytest

from triage.integrity.exclusive import ExistingFileError, WriterThread


def test_every_file_is_written_before_the_block_ends(tmp_path):
    texts = {f"page-{n}.html": f"<p>{n}</p>\n" * (n + 1) + "é\r\n" for n in range(50)}
    with WriterThread(pending=2) as output:
        for name, text in texts.items():
            output.write_text(tmp_path / name, text)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == {
        name: text.encode("utf-8")
        for name, text in texts.items()  # UTF-8, newlines kept as given
    }
    # each file's SHA-256 as written, the same as read back
    assert output.sha256 == {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in tmp_path.iterdir()}


def test_an_existing_file_is_never_replaced_and_stops_the_rest(tmp_path):
    (tmp_path / "page-3.html").write_text("planted")
    with pytest.raises(ExistingFileError, match="page-3.html already exists"):
        with WriterThread(pending=1) as output:
            for n in range(10):
                output.write_text(tmp_path / f"page-{n}.html", "ours")
    assert (tmp_path / "page-3.html").read_text() == "planted"
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"page-{n}.html" for n in range(4)]  # none after it


def test_the_callers_own_error_is_not_replaced_by_the_writers(tmp_path):
    (tmp_path / "page-0.html").write_text("planted")
    with pytest.raises(ValueError, match="the caller's"):
        with WriterThread() as output:
            output.write_text(tmp_path / "page-0.html", "ours")
            raise ValueError("the caller's")
    assert (tmp_path / "page-0.html").read_text() == "planted"


def test_writing_outside_the_block_is_refused(tmp_path):
    with pytest.raises(RuntimeError, match="outside its with block"):
        WriterThread().write_text(tmp_path / "page.html", "ours")
    assert list(tmp_path.iterdir()) == []
