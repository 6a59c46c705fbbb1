"""Progress for long work: a rich bar on stderr for people, nothing for tests and pipes."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

Advance = Callable[[int], None]


class Reporter:
    """Stages with a total; `stage()` yields a function that advances the bar."""

    @contextmanager
    def stage(self, description: str, total: int | None = None, unit: str = "items") -> Iterator[Advance]:
        yield lambda n=1: None

    def note(self, text: str) -> None:
        pass


class RichReporter(Reporter):
    def __init__(self) -> None:
        self.console = Console(stderr=True)

    @contextmanager
    def stage(self, description: str, total: int | None = None, unit: str = "items") -> Iterator[Advance]:
        amount = DownloadColumn() if unit == "bytes" else MofNCompleteColumn()
        columns = (TextColumn("{task.description}"), BarColumn(), amount, TimeRemainingColumn())
        with Progress(*columns, console=self.console, transient=False) as bar:
            task = bar.add_task(description, total=total)
            yield lambda n=1: bar.advance(task, n)
            bar.update(task, completed=total) if total is not None else None

    def note(self, text: str) -> None:
        self.console.print(text)
