"""Shared fixtures. Forensic invariant 1 in the tests: evidence a test opens is never changed.

- `unchanged` (from tests/evidence_guard.py): per test; call `unchanged(path, ...)` before using
  evidence, and the test fails if any of it has a different SHA-256 afterwards.
- `evidence_guard` (here): session-wide and autouse; it records every committed third-party fixture at
  the start and fails the session if one changed. Tests may also call `evidence_guard(path)` to keep
  files of their own (built images) under the same check until the end of the session.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.evidence_guard import sha256_of, unchanged  # noqa: F401 - `unchanged` is a fixture

THIRD_PARTY = Path(__file__).parent.parent / "fixtures" / "third_party"

# Runs in tests never sign with (or create) the examiner's real key in the home folder; the keys made in the
# session's own folder are removed with it when the session ends (they were left in the temp folder, one a session).
os.environ["TRIAGE_KEY_DIR"] = tempfile.mkdtemp(prefix="triage-test-keys-")
atexit.register(shutil.rmtree, os.environ["TRIAGE_KEY_DIR"], ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def evidence_guard() -> Iterator[Callable[..., None]]:
    """guard(path, ...): record SHA-256 now; the session fails if a recorded file changes or vanishes."""
    before: dict[Path, str] = {}

    def guard(*paths: Path) -> None:
        for p in map(Path, paths):
            files = sorted(x for x in p.rglob("*") if x.is_file()) if p.is_dir() else [p]
            for f in files:
                before.setdefault(f, sha256_of(f))

    if THIRD_PARTY.is_dir():
        guard(THIRD_PARTY)
    yield guard
    changed = [str(p) for p, digest in before.items() if not p.exists() or sha256_of(p) != digest]
    assert not changed, f"evidence modified during the test session: {changed}"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slow: a long test (e.g. 100,000 files through a run); deselect with -m 'not slow'"
    )
