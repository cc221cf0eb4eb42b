"""Which language form a question is written in, and its Traditional-character form."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from corpus.script import to_simplified, to_traditional

Language = Literal["zh-Hant", "zh-Hans", "en"]
LANGUAGES: tuple[Language, ...] = ("zh-Hant", "zh-Hans", "en")

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")


@dataclass(frozen=True)
class AnalyzedQuery:
    """A question as typed, its language form, and the form used for search."""

    text: str
    language: Language
    search_text: str
    """Simplified characters converted to Traditional (OpenCC); otherwise the text as typed."""


def detect_language(text: str) -> Language:
    """``en`` when Latin letters outnumber Chinese characters; Simplified when OpenCC says so."""
    han = len(_HAN.findall(text))
    latin_words = len(re.findall(r"[A-Za-z]+", text))
    if han == 0 or latin_words > han:
        return "en"
    if to_simplified(text) == text and to_traditional(text) != text:
        return "zh-Hans"
    return "zh-Hant"


def analyze(text: str) -> AnalyzedQuery:
    """Detect the language form and convert Simplified characters to Traditional."""
    language = detect_language(text)
    search_text = to_traditional(text) if language == "zh-Hans" else text
    return AnalyzedQuery(text=text, language=language, search_text=search_text)
