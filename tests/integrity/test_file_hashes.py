"""The evidence files' own SHA-256 (triage/integrity/file_hashes.py): the digest and the byte count of every file,
whatever its size against the read buffer."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from triage.integrity.file_hashes import READ_SIZE, sha256_batch


def test_each_file_is_hashed_whole_in_order_with_its_size(tmp_path: Path) -> None:
    contents = {
        "empty": b"",
        "one byte": b"\x00",
        "small": b"-- a database page --" * 40,
        "exactly one read": os.urandom(READ_SIZE),
        "one read and a byte": os.urandom(READ_SIZE + 1),
        "several reads": os.urandom(3 * READ_SIZE + 12_345),
    }
    paths = []
    for name, data in contents.items():
        (tmp_path / name).write_bytes(data)
        paths.append(str(tmp_path / name))
    paths.reverse()  # the answer follows the order asked, not the folder's

    found = sha256_batch(paths)

    assert found == [(hashlib.sha256(contents[Path(p).name]).hexdigest(), len(contents[Path(p).name])) for p in paths]


def test_a_file_that_cannot_be_opened_raises_for_the_caller_to_report(tmp_path: Path) -> None:
    (tmp_path / "there").write_bytes(b"x")
    with pytest.raises(FileNotFoundError):
        sha256_batch([str(tmp_path / "there"), str(tmp_path / "gone")])
