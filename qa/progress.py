"""One progress line on a terminal while models and the index load or build: a spinner, the stage
(named in :mod:`index.stages`), a bar with its count when the stage has one, and its time so far."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from index.stages import STARTING, Progress

REFRESHES_PER_SECOND = 8
"""The spinner and the clock move this often, so the line never sits still while a stage runs."""


class StageLine:
    """A :class:`~index.stages.Progress` that keeps one rich task on one line: a new stage replaces
    the old one's label, count and clock."""

    def __init__(self, bar: Any) -> None:
        self.bar = bar
        self.task = bar.add_task(STARTING, total=None, count="")
        self.stage = ""

    def __call__(self, stage: str, done: int, total: int, /) -> None:
        count = f"{done}/{total}" if total else ""
        if stage != self.stage:
            self.stage = stage
            self.bar.reset(self.task, total=total or None, completed=done, description=stage, count=count)
        else:
            self.bar.update(self.task, total=total or None, completed=done, count=count)


@contextmanager
def terminal_progress(enabled: bool | None = None, console: Any = None) -> Iterator[Progress | None]:
    """Yield a :class:`StageLine` drawing on ``console`` (a rich console on stderr by default), or
    ``None`` when not enabled (``None``: enabled when stderr is a terminal). The line is gone once
    the block ends."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[count]}"),
        TimeElapsedColumn(),
        console=console or Console(stderr=True),
        transient=True,
        refresh_per_second=REFRESHES_PER_SECOND,
    ) as bar:
        yield StageLine(bar)
