"""One private work folder per process: SQLite working copies, decrypted backup indexes, spooled
members all go there, and it is removed on exit, on Ctrl-C and on SIGTERM/SIGHUP.

The folder is made by `tempfile.mkdtemp` (mode 0700, owner only) under the system temp folder and
becomes `tempfile.tempdir` while it exists, so every temporary file any module or library makes
(tempfile.mkdtemp, SpooledTemporaryFile, multiprocessing) lands inside it and goes with it. Its name
carries the process id; a folder left by a process that no longer exists (killed with SIGKILL, power
loss) is removed at the next start and named, so decrypted evidence never outlives a dead run for long.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

PREFIX = "triage-run-"
_NAME = re.compile(rf"^{re.escape(PREFIX)}(\d+)-")
_HANDLED_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class Terminated(BaseException):
    """Raised in the main thread on SIGTERM/SIGHUP so that every `finally` (and this cleanup) runs."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum


@dataclass
class WorkArea:
    path: Path
    stale_removed: list[str] = field(default_factory=list)  # folders of dead runs removed at start


_current: WorkArea | None = None
_owner_pid: int | None = None  # forked workers inherit the handlers and the folder, never own them


def current() -> WorkArea | None:
    """The work area of this process, when one is open."""
    return _current


@contextmanager
def private_workdir() -> Iterator[WorkArea]:
    """Create the process's private work folder; remove it (and restore the temp setting) on any exit."""
    global _current, _owner_pid
    if _current is not None:  # nested use (a command calling another): one folder per process
        yield _current
        return
    base = Path(tempfile.gettempdir())
    area = WorkArea(Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=base)), remove_stale(base))
    previous_tempdir, previous_handlers = tempfile.tempdir, _install_signal_handlers()
    tempfile.tempdir, _current, _owner_pid = str(area.path), area, os.getpid()
    try:
        yield area
    finally:
        if os.getpid() == _owner_pid:  # a forked child unwinding here must not remove its parent's folder
            tempfile.tempdir, _current, _owner_pid = previous_tempdir, None, None
            _restore_signal_handlers(previous_handlers)
            _forget_multiprocessing_state_in(area.path)
            shutil.rmtree(area.path, ignore_errors=True)


def _forget_multiprocessing_state_in(folder: Path) -> None:
    """multiprocessing caches its temp folder and fork-server socket for the life of the process: when
    they were made inside the work folder, stop/forget them so a later run in this process makes new ones."""
    import multiprocessing.forkserver as forkserver
    import multiprocessing.process as mp_process
    import multiprocessing.util as mp_util

    config = mp_process.current_process()._config  # type: ignore[attr-defined]
    cached = config.get("tempdir")
    if cached and Path(cached).is_relative_to(folder):
        config.pop("tempdir", None)
        # its removal at exit would find it gone with the work folder and print a traceback
        remover = mp_util._remove_temp_dir  # type: ignore[attr-defined]  # private, not in typeshed
        for finalizer in list(mp_util._finalizer_registry.values()):  # type: ignore[attr-defined]
            if getattr(finalizer, "_callback", None) is remover and str(cached) in map(
                str, getattr(finalizer, "_args", ())
            ):
                finalizer.cancel()
    server = forkserver._forkserver
    address = getattr(server, "_forkserver_address", None)
    if isinstance(address, str) and Path(address).is_relative_to(folder) and hasattr(server, "_stop"):
        # `_stop` waits for the server to end, and the server waits for every worker it made (each holds its "alive"
        # pipe): a pool left running by a run that failed would make that wait last for ever. Its workers end with
        # this process (triage/lifeline.py); the server is told to end now
        pid = getattr(server, "_forkserver_pid", None)
        if isinstance(pid, int):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass  # already gone: _stop reaps it
        server._stop()


def remove_stale(base: Path) -> list[str]:
    """Remove work folders whose process is gone; return their paths (said in the custody log)."""
    removed: list[str] = []
    try:
        names = sorted(os.listdir(base))
    except OSError:
        return removed
    for name in names:
        match = _NAME.match(name)
        if not match or _alive(int(match.group(1))):
            continue
        path = base / name
        try:
            if path.is_dir() and not path.is_symlink() and path.stat().st_uid == os.getuid():
                shutil.rmtree(path)
                removed.append(str(path))
        except Exception:  # noqa: BLE001 - a folder that cannot be removed now is tried again next start
            continue
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    if os.getpid() != _owner_pid:  # a forked worker: die as the signal says, as it would without us
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    raise Terminated(signum)


def _install_signal_handlers() -> dict[int, object]:
    previous: dict[int, object] = {}
    try:
        for sig in _HANDLED_SIGNALS:
            previous[sig] = signal.signal(sig, _raise_terminated)
    except ValueError:  # not the main thread (e.g. inside a server's worker): the caller cleans up
        pass
    return previous


def _restore_signal_handlers(previous: dict[int, object]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)  # type: ignore[arg-type]
