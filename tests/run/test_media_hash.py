"""An image's acquisition hash read by a fork from the moment the evidence is open (triage/run/media_hash.py): the
same hashes as read here, on a handle of its own; other evidence, and a run that cannot fork, hash while parsing as
before; a fork that dies costs time (the run reads the hash itself and says why) unless the image at its path is no
longer the file the run opened, which is an error; a stopped run leaves no child behind."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import redirect_stdout
from pathlib import Path
from typing import NoReturn

import pytest

from tests.bundle_layout import payload
from triage.cli import main
from triage.errors import TriageError
from triage.evidence import open_evidence
from triage.evidence.opener import hash_evidence
from triage.run import media_hash
from triage.run.media_hash import READ_HERE, MediaHashFork

ROOT = Path(__file__).parents[2]
DEMO_E01 = ROOT / "fixtures" / "demo" / "demo.E01"
FOLDER = ROOT / "fixtures" / "device_info"


def test_an_images_media_hash_is_read_by_a_fork_and_is_the_hash_read_here() -> None:
    expected = hash_evidence(DEMO_E01).hashes
    with open_evidence(DEMO_E01) as evidence:
        early = MediaHashFork(evidence)
        assert early.hashing is not None and early.hashing.read_while == "listing and parsing"
        child = early._job.pid if early._job else None
        assert child is not None and child != os.getpid()
        with ThreadPoolExecutor(1) as pool:
            assert early.or_on(pool, evidence, lambda path: None) is early.hashing  # nothing started twice
        got = early.hashing.result()
    assert got == expected
    assert got.verified is True and got.stored["md5"] == got.md5 and got.read_errors == []
    with pytest.raises(ChildProcessError):
        os.waitpid(child, os.WNOHANG)  # reaped with its answer: no zombie left


def test_a_folder_is_hashed_while_parsing_on_the_runs_pool() -> None:
    with open_evidence(FOLDER) as evidence:
        early = MediaHashFork(evidence)
        assert early.hashing is None
        with ThreadPoolExecutor(1) as pool:
            hashing = early.or_on(pool, evidence, lambda path: None)
            assert hashing.read_while == "parsing"
            got, here = hashing.result(), evidence.media_hashes()
            assert (got.md5, got.sha1, got.sha256) == (here.md5, here.sha1, here.sha256)
            assert got.headers["file_hashes"] == "as read for the 'before' hash; read now: 4 file(s)"


def test_a_run_in_a_side_thread_hashes_while_parsing_without_a_fork() -> None:
    """A fork copies only the thread that forks: from any other thread the hash is left to the parsing's pool."""
    made: list[MediaHashFork] = []
    with open_evidence(DEMO_E01) as evidence:
        thread = threading.Thread(target=lambda: made.append(MediaHashFork(evidence)))
        thread.start()
        thread.join()
        assert made[0].hashing is None
        with ThreadPoolExecutor(1) as pool:
            hashing = made[0].or_on(pool, evidence, lambda path: None)
            assert hashing.read_while == "parsing" and hashing.result() == hash_evidence(DEMO_E01).hashes


def test_an_image_the_fork_cannot_open_again_is_an_error_naming_the_step(tmp_path: Path) -> None:
    """The fork opens the image again by its path: an image moved away after the run opened it is not hashed
    from the run's handle in silence, the run is told why it has no acquisition hash."""
    image = tmp_path / "phone.E01"
    shutil.copyfile(DEMO_E01, image)
    with open_evidence(image) as evidence:
        image.rename(tmp_path / "moved.E01")
        early = MediaHashFork(evidence)
        assert early.hashing is not None
        with pytest.raises(
            TriageError, match=r"hashing the media, in a second process: EvidenceError: .*does not exist"
        ):
            early.hashing.result()


def test_stop_ends_the_fork_and_reaps_it() -> None:
    with open_evidence(DEMO_E01) as evidence:
        early = MediaHashFork(evidence)
        child = early._job.pid if early._job else None
        assert child is not None
        early.stop()
        early.stop()  # the run's clean-up may come after the result was taken: nothing left to end
    with pytest.raises(ChildProcessError):
        os.waitpid(child, os.WNOHANG)


def test_no_fork_to_be_had_leaves_the_hash_to_the_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine that refuses a new process (a process limit) costs time, not the acquisition hash."""

    def refused() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", refused)
    with open_evidence(DEMO_E01) as evidence:
        early = MediaHashFork(evidence)
        assert early.hashing is None
        with ThreadPoolExecutor(1) as pool:
            hashing = early.or_on(pool, evidence, lambda path: None)
            assert hashing.read_while == "parsing" and hashing.result().verified is True


def _dies(image: Path) -> NoReturn:
    """The fork's job killed before it answers, as the kernel kills a process for memory."""
    os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("not reached")


def test_a_fork_that_dies_costs_time_the_run_reads_the_hash_itself_and_says_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(media_hash, "_hash_image_at", _dies)
    seen: list[tuple[int, int]] = []
    with open_evidence(DEMO_E01) as evidence:
        early = MediaHashFork(evidence)
        assert early.hashing is not None
        started = early.hashing.started
        got = early.hashing.result(lambda done, total: seen.append((done, total)))
        assert (
            early.hashing.fell_back
            == "hashing the media, in a second process: TriageError: it stopped without an answer"
        )
        assert early.hashing.read_while == READ_HERE and early.hashing.started >= started
    assert got == hash_evidence(DEMO_E01).hashes and got.verified is True
    assert seen and seen[-1][0] == seen[-1][1] == got.size  # the examiner sees the bytes read here


def test_a_fork_that_dies_after_the_image_was_replaced_leaves_the_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same path, another file: the run's handle reads the file it opened, not the one the examiner's path names
    now. Hashing it would state a hash for a file no longer there: the fork's error stands."""
    monkeypatch.setattr(media_hash, "_hash_image_at", _dies)
    image = tmp_path / "phone.E01"
    shutil.copyfile(DEMO_E01, image)
    with open_evidence(image) as evidence:
        early = MediaHashFork(evidence)
        assert early.hashing is not None
        replacement = tmp_path / "other.E01"
        shutil.copyfile(DEMO_E01, replacement)
        replacement.replace(image)  # same bytes even: another inode
        with pytest.raises(TriageError, match="it stopped without an answer"):
            early.hashing.result()
        assert early.hashing.fell_back is None


def test_a_run_whose_hashing_fork_dies_ends_normally_with_the_same_hashes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(media_hash, "_hash_image_at", _dies)
    with redirect_stdout(io.StringIO()):
        assert main(["run", str(DEMO_E01), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    out = payload(tmp_path / "out")
    log = (out / "custody.jsonl").read_text(encoding="utf-8")
    entries = [json.loads(line) for line in log.split("\n") if line]  # entries end at "\n" only
    hashed = next(e["details"] for e in entries if e["action"] == "media hashed")
    expected = hash_evidence(DEMO_E01).hashes
    assert (hashed["md5"], hashed["sha1"], hashed["sha256"]) == (expected.md5, expected.sha1, expected.sha256)
    assert hashed["verified"] is True and hashed["read_while"] == READ_HERE
    assert hashed["second_process_failed"].endswith("it stopped without an answer")
    statement = subprocess.run(["pdftotext", str(out / "report.pdf"), "-"], capture_output=True, text=True, check=True)
    assert (  # the examination record in report.pdf says it
        "computed hashes match the stored acquisition hashes; read by the run's own process after its second "
        "process failed (hashing the media, in a second process: TriageError: it stopped without an answer)"
    ) in " ".join(statement.stdout.split())
