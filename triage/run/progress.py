"""Progress for long work: a rich bar on stderr for people, nothing for tests and pipes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)


class Tracker:
    """Handed to the work inside a stage: advance by n, or report absolute progress."""

    def advance(self, n: int = 1) -> None:
        pass

    def update(self, done: int, total: int | None = None) -> None:
        pass


class Reporter:
    """Silent by default; `stage()` yields a Tracker."""

    @contextmanager
    def stage(self, description: str, total: int | None = None, unit: str = "items") -> Iterator[Tracker]:
        yield Tracker()


class _RichTracker(Tracker):
    def __init__(self, bar: Progress, task: TaskID) -> None:
        self.bar, self.task = bar, task

    def advance(self, n: int = 1) -> None:
        self.bar.advance(self.task, n)

    def update(self, done: int, total: int | None = None) -> None:
        self.bar.update(self.task, completed=done, total=total)


class RichReporter(Reporter):
    def __init__(self) -> None:
        self.console = Console(stderr=True)

    @contextmanager
    def stage(self, description: str, total: int | None = None, unit: str = "items") -> Iterator[Tracker]:
        amount = DownloadColumn() if unit == "bytes" else MofNCompleteColumn()
        columns = (TextColumn("{task.description}"), BarColumn(), amount, TimeRemainingColumn())
        with Progress(*columns, console=self.console) as bar:
            task = bar.add_task(description, total=total)
            yield _RichTracker(bar, task)
