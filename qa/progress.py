"""A progress bar on a terminal while the index is built."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from index.embedding_cache import ProgressCallback


@contextmanager
def terminal_progress(enabled: bool | None = None) -> Iterator[ProgressCallback | None]:
    """Yield a progress callback drawing a rich bar on stderr (``None`` when not enabled)."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    tasks: dict[str, int] = {}
    with Progress(
        TextColumn("Indexing: embedding with {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update
