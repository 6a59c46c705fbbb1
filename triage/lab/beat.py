"""A write to the lab database repeated from a thread of its own while a worker's main thread is busy (it
may be parsing a large database for minutes): the job's heartbeat, the claims on the media chunks it holds."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("triage.lab")


class Beat:
    """Calls `write` every `interval` seconds until the `with` block ends; a failed write (the database is
    briefly away) is logged as `what` and tried again at the next beat."""

    def __init__(self, write: Callable[[], None], interval: float, what: str, name: str) -> None:
        self.write, self.interval, self.what = write, interval, what
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=name, daemon=True)

    def __enter__(self) -> Beat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.write()
            except Exception as e:  # noqa: BLE001 - the database is briefly away: say so, beat again later
                log.warning("%s: %s", self.what, e)
