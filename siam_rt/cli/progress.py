"""One progress display for the long-running commands: rich bars on stderr, so stdout stays for results."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


class Bars:
    """Named tasks on one rich Progress; ``task(description, total)`` returns an ``advance(n)`` callable."""

    def __init__(self, progress: Any) -> None:
        self.progress = progress

    def task(self, description: str, total: float | None) -> Callable[[int], None]:
        tid = self.progress.add_task(description, total=total)

        def advance(n: int = 1) -> None:
            self.progress.update(tid, advance=n)

        return advance

    def print(self, text: str) -> None:
        self.progress.console.print(text, highlight=False)


@contextmanager
def bars() -> Iterator[Bars]:
    """A live progress display on stderr; none when stderr is not a terminal (a log stays clean)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, disable=not console.is_terminal) as progress:
        yield Bars(progress)
