"""pytest plugin: evidence a test opens must have the same SHA-256 after the test as before."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


def sha256_of(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


@pytest.fixture
def unchanged() -> Iterator[Callable[..., None]]:
    """Call unchanged(path, ...) before using evidence; the test fails if any of it is modified."""
    before: dict[Path, str] = {}

    def guard(*paths: Path) -> None:
        for p in paths:
            p = Path(p)
            files = sorted(x for x in p.rglob("*") if x.is_file()) if p.is_dir() else [p]
            for f in files:
                before.setdefault(f, sha256_of(f))

    yield guard
    changed = [str(p) for p, h in before.items() if not p.exists() or sha256_of(p) != h]
    assert not changed, f"evidence modified by the test: {changed}"
