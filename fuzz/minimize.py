#!/usr/bin/env python3
"""Shrink a crashing input while it still raises the same exception type at the same place.

    .venv/bin/python fuzz/minimize.py HARNESS[:FUNCTION] CRASH_FILE [OUT_FILE]
        e.g.  minimize.py abx /tmp/fuzz-artifacts/abx-crash-…
              minimize.py exif:exifread_only /tmp/fuzz-artifacts/exif-timeout-…   (a function of the harness
              other than check_one, e.g. one that makes a stall inside a library raise once it is fixed)

(atheris's -minimize_crash re-executes argv[0], which is the script, not the interpreter; this does the
same job in-process: delete chunks of halving size, then zero bytes, keeping every change that still
crashes the same way.)
"""

from __future__ import annotations

import importlib
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def signature(check: Callable[[bytes], None], data: bytes) -> tuple[str, str] | None:
    """(exception type, innermost project frame) of the crash, or None when the input passes."""
    try:
        check(data)
    except Exception as e:  # noqa: BLE001 - any exception is what we are looking for
        frames = [f for f in traceback.extract_tb(e.__traceback__) if "/fuzz/" not in f.filename]
        where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "harness"
        return type(e).__name__, where
    return None


def shrink(check: Callable[[bytes], None], data: bytes) -> bytes:
    want = signature(check, data)
    if want is None:
        raise SystemExit("the input does not crash the harness")
    chunk = max(1, len(data) // 2)
    while chunk >= 1:
        i = 0
        while i < len(data):
            trial = data[:i] + data[i + chunk :]
            if trial and signature(check, trial) == want:
                data = trial
            else:
                i += chunk
        chunk //= 2
    for i in range(len(data)):  # simplest bytes: zeros where they do not matter
        if data[i]:
            trial = data[:i] + b"\0" + data[i + 1 :]
            if signature(check, trial) == want:
                data = trial
    return data


def main(argv: list[str]) -> int:
    (harness, _, function), crash = argv[0].partition(":"), Path(argv[1])
    out = Path(argv[2]) if len(argv) > 2 else crash.with_name(crash.name + ".min")
    check = getattr(importlib.import_module(f"fuzz_{harness}"), function or "check_one")
    data = shrink(check, crash.read_bytes())
    out.write_bytes(data)
    print(f"{len(crash.read_bytes())} -> {len(data)} bytes: {data!r}"[:400])
    print(f"crash: {signature(check, data)}; written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
