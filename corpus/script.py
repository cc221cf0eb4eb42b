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
