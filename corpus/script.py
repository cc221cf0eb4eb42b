"""Traditional/Simplified Chinese conversion with OpenCC."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=4)
def _converter(config: str):  # type: ignore[no-untyped-def]
    import opencc

    return opencc.OpenCC(config)


def to_traditional(text: str) -> str:
    """Simplified → Traditional (Taiwan standard, OpenCC ``s2tw``); Traditional text is unchanged."""
    return _converter("s2tw").convert(text)


def to_simplified(text: str) -> str:
    """Traditional → Simplified (OpenCC ``t2s``)."""
    return _converter("t2s").convert(text)


def to_simplified_mainland(text: str) -> str:
    """Traditional (Taiwan) → Simplified with mainland phrasing (OpenCC ``tw2sp``: 軟體 → 软件,
    滑鼠 → 鼠标): how a reader who writes Simplified is shown Traditional text."""
    return _converter("tw2sp").convert(text)
