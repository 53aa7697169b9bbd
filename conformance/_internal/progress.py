"""What a long run shows on the terminal: a progress bar, or plain lines.

A rich progress bar (tests done/total, the profile being tested, failures so far) when
standard output is a terminal; one line per failing test and a line every
``PlainProgress.every`` tests otherwise, so CI logs stay readable and greppable.
"""

from __future__ import annotations

from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from bmdx.conformance._internal.plugin import Outcome, ProgressSink

__all__ = ["PlainProgress", "RichProgress", "choose_progress"]


class RichProgress:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.failures = 0
        self._progress = Progress(
            TextColumn("[bold]{task.fields[profile]:<14}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[red]{task.fields[failures]} failing"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._task: TaskID | None = None

    def start(self, total: int) -> None:
        self._progress.start()
        self._task = self._progress.add_task("tests", total=total, profile="", failures=0)

    def test_started(self, nodeid: str, profile: str | None) -> None:
        if self._task is not None:
            self._progress.update(self._task, profile=profile or "")

    def test_finished(self, nodeid: str, outcome: Outcome) -> None:
        if outcome in ("failed", "error"):
            self.failures += 1
            self._progress.console.print(
                f"[red]{outcome.upper()}[/red] {nodeid}", markup=True, highlight=False
            )
        if self._task is not None:
            self._progress.update(self._task, advance=1, failures=self.failures)

    def finish(self) -> None:
        self._progress.stop()


class PlainProgress:
    every = 50

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.total = 0
        self.done = 0
        self.failures = 0

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def start(self, total: int) -> None:
        self.total = total
        self._line(f"running {total} tests")

    def test_started(self, nodeid: str, profile: str | None) -> None:
        return

    def test_finished(self, nodeid: str, outcome: Outcome) -> None:
        self.done += 1
        if outcome in ("failed", "error"):
            self.failures += 1
            self._line(f"{outcome.upper()} {nodeid}")
        if self.done % self.every == 0 or self.done == self.total:
            self._line(f"{self.done}/{self.total} tests, {self.failures} failing")

    def finish(self) -> None:
        return


def choose_progress(stream: TextIO, *, rich_bar: bool = True) -> ProgressSink:
    """The rich bar on a terminal, plain lines elsewhere or with ``--no-progress``."""
    if rich_bar and stream.isatty():
        return RichProgress(Console(file=stream))
    return PlainProgress(stream)
