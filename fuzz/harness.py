"""What every harness under fuzz/ shares: instrumented imports and the atheris entry point.

A harness is a script: `python fuzz/fuzz_X.py [libFuzzer options] CORPUS_DIR`. It feeds each input to
the project's public decoding entry point and re-raises only what that entry point's contract does
not allow (see each harness's docstring); libFuzzer then stops and writes the input as `crash-…`.
Time and memory are findings too: run with `-timeout=10 -rss_limit_mb=2048` (fuzz/run_all.sh does).

Only the code under test is instrumented for coverage (the project's decoder and the third-party
decoder it wraps): instrumenting everything the project imports would slow every execution for
edges nobody is fuzzing.
"""

from __future__ import annotations

import contextlib
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the project imports by package name (parsers.…, triage.…)


def instrumented(modules: list[str]) -> contextlib.AbstractContextManager[object]:
    """Coverage instrumentation of `modules` (and their submodules) imported inside the block.

    Only when the harness runs as a fuzzer; a plain import (a test replaying a saved input) gets no
    instrumentation and needs no atheris.
    """
    main = sys.modules.get("__main__")
    if not Path(getattr(main, "__file__", None) or "-").name.startswith("fuzz_"):
        return contextlib.nullcontext()
    import atheris

    return atheris.instrument_imports(include=modules)


@contextlib.contextmanager
def known_findings(known: tuple[tuple[str, str, str], ...]) -> Iterator[None]:
    """Let through crashes already reported in fuzz/RESULTS.md whose fix belongs to another file's owner,
    so that a long run explores past them: (exception type, file path suffix, function) of the
    innermost frame. Every entry has a strict-xfail test in tests/project/test_fuzz_regressions.py, which
    fails once the fix lands, and then the entry is removed here."""
    try:
        yield
    except Exception as e:
        frame = traceback.extract_tb(e.__traceback__)[-1]
        if (type(e).__name__, frame.name) in {(t, f) for t, path, f in known if frame.filename.endswith(path)}:
            return
        raise


def fuzz(test_one_input: Callable[[bytes], None]) -> None:
    """Hand control to libFuzzer (argv carries its options and the corpus directories)."""
    import atheris

    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


def replay(test_one_input: Callable[[bytes], None], paths: list[str]) -> int:
    """Run saved inputs through a harness without libFuzzer (`python fuzz/fuzz_X.py --replay FILE…`)."""
    for path in paths:
        test_one_input(Path(path).read_bytes())
        print(f"{path}: ok")
    return 0


def main(test_one_input: Callable[[bytes], None]) -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--replay":
        sys.exit(replay(test_one_input, sys.argv[2:]))
    fuzz(test_one_input)


READ_CAP = 1 << 20  # bytes read from one member or file: enough to reach damage, bounded per input
READ_CHUNK = 1 << 16


def read_capped(open_stream: Callable[[], Any], refused: type[BaseException]) -> None:
    """Open and read up to READ_CAP bytes; `refused` (the reader's own error) from `open` and OSError
    while reading are the documented outcomes, anything else propagates as a crash."""
    try:
        stream = open_stream()
    except refused:
        return
    with stream:
        done = 0
        try:
            while done < READ_CAP:
                chunk = stream.read(READ_CHUNK)
                if not chunk:
                    break
                done += len(chunk)
        except OSError:
            return
