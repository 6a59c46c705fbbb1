"""The SHA-256 of files: the evidence's own (the "before" and "after" hashes), worked out beside other work, and the
run's own outputs (`sha256_of`, read without following a link: `open_regular`).

An image's few large files are hashed on a thread: hashlib lets go of the interpreter while it hashes. A folder
extraction's tens of thousands of small files are not: opening, reading and closing each one holds the interpreter,
so on a thread beside the listing or the passes both waited on it (51,493 files: 4.3 -> 5.2 s, bench/RESULTS.md).
They are hashed in a process of their own, spawned (it copies nothing of the run: no lock, no open store), in
batches, so the run follows the progress batch by batch. This module is all that process imports of the project.
"""

from __future__ import annotations

import hashlib
import io
import multiprocessing
import os
import stat
from concurrent.futures import Executor, ThreadPoolExecutor
from pathlib import Path

from triage.process_pool import process_pool

# past this many files the evidence is a folder's tree: hashed in a process of its own, this many files a batch
MANY_FILES = 64
BATCH = 500


# bytes read at a time: one buffer for a whole batch. hashlib.file_digest makes (and zeroes) a 256 KiB buffer for each
# file, through a buffered reader: ~1.7x the CPU on a phone's small files (51,493 files read from the page cache:
# 1.02-1.21 -> 0.61-0.63 CPU-s a pass, bench/RESULTS.md)
READ_SIZE = 1 << 20


def sha256_batch(paths: list[str]) -> list[tuple[str, int]]:
    """(SHA-256, bytes read) of each file, in order."""
    buffer = bytearray(READ_SIZE)
    view = memoryview(buffer)
    found = []
    for path in paths:
        digest, size = hashlib.sha256(), 0
        with open(path, "rb", buffering=0) as f:
            while read := f.readinto(buffer):
                digest.update(view[:read])
                size += read
        found.append((digest.hexdigest(), size))
    return found


def hashing_pool(files: list[str]) -> Executor:
    """Where `files` are hashed beside other work: a spawned process for many files, a thread for a few."""
    if len(files) > MANY_FILES:
        return process_pool(1, multiprocessing.get_context("spawn"))
    return ThreadPoolExecutor(1, thread_name_prefix="evidence-hash")


def batch_size(files: list[str]) -> int:
    """Files a batch: one each for a few large files (progress file by file), BATCH for many small ones."""
    return BATCH if len(files) > MANY_FILES else 1


def open_regular(path: Path) -> io.BufferedReader:
    """Open for reading without following a link swapped in since the file was listed or written."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(f"{path} is no longer a regular file")
    return os.fdopen(fd, "rb")


def sha256_of(path: Path) -> str:
    """The SHA-256 of one of the run's own files (its exports, pages, reports), read without following a link."""
    with open_regular(path) as f:  # streamed: record exports are large
        return hashlib.file_digest(f, "sha256").hexdigest()
