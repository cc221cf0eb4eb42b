"""Sentences of a passage: the unit the answer is quoted in, and a finer unit for dense search."""

from __future__ import annotations

import re

SENTENCE_RULES_VERSION = "cjk-punct-v2"
"""Changes whenever :func:`sentence_spans` would split some text otherwise (part of the index key)."""
_SENTENCE_END = re.compile(r"[。！？!?；;]+[」』”’）)]*|\n+")
_OPENING = "（(「『《"
_CLOSING = "）)」』》"


def _inside_brackets(text: str) -> bool:
    """Whether ``text`` leaves a bracket or quote open: （2016年2次；2017年1次） is one clause."""
    return sum(text.count(c) for c in _OPENING) > sum(text.count(c) for c in _CLOSING)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence of ``text`` (ending at 。！？； or a line break), stripped.

    A semicolon inside brackets or quotes does not end a sentence.
    """
    spans: list[tuple[int, int]] = []
    pos = 0
    for match in [*_SENTENCE_END.finditer(text), None]:
        if match is not None and match.group()[0] in "；;" and _inside_brackets(text[pos : match.start()]):
            continue
        end = match.end() if match else len(text)
        piece = text[pos:end]
        stripped = piece.strip()
        if stripped:
            start = pos + len(piece) - len(piece.lstrip())
            spans.append((start, start + len(stripped)))
        pos = end
    return spans
