"""What every benchmark shares: latency percentiles, and printing (and saving) its Markdown."""

from __future__ import annotations

import statistics
from pathlib import Path


def percentiles(values: list[float]) -> tuple[float, float]:
    """Median and 95th percentile (nearest rank)."""
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def publish(text: str, out: Path | None) -> None:
    """Print the report, and write it to ``out`` when given."""
    print(text)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, "utf-8")
