"""Sentences of a passage: the unit the answer is quoted in, and a finer unit for dense search."""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"[。！？!?；;]+[」』”’）)]*|\n+")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence of ``text`` (ending at 。！？； or a line break), stripped."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for match in [*_SENTENCE_END.finditer(text), None]:
        end = match.end() if match else len(text)
        piece = text[pos:end]
        stripped = piece.strip()
        if stripped:
            start = pos + len(piece) - len(piece.lstrip())
            spans.append((start, start + len(stripped)))
        pos = end
    return spans
