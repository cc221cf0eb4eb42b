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
    expansion: tuple[str, ...] = ()
    """Chinese terms for an English question's phrases (see ``index.lexicon``), for the lexical search."""
    lexical_coverage: float = 1.0
    """Share of the question's words that lexical search can match (translated, numbers, or words
    the documents use): an English question about Chinese text that it barely carries over leans on
    the dense retrievers instead."""

    @property
    def expanded_text(self) -> str:
        return " ".join((self.search_text, *self.expansion))


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


# Words that point back to something said earlier: pronouns and demonstratives, "what about …",
# a trailing 呢, an ordinal with no noun ("第二次"). A question holding one is read as a follow-up.
_REFERS_BACK_ZH = re.compile(
    r"[它她他]們|[它她他]们|[它她]|該|该|這|这|那|此|其|上述|前者|後者|后者|兩者|两者|雙方|双方|當時|当时|同年|之後|之后"
    r"|^(而|還有|还有|另外|此外)|呢[？?。.!！]*\s*$|第[二三四五六七八九十兩两\d]+次"
)
_REFERS_BACK_EN = re.compile(
    r"\b(it|its|they|them|their|he|him|his|she|her|that|those|these|this|there|then|both|the latter|the former)\b"
    r"|^\s*(and|also|what about|how about)\b",
    re.IGNORECASE,
)


def refers_back(text: str) -> bool:
    """Whether a question points back to an earlier one ("那是哪一年？", "What did they agree on?")."""
    return bool(_REFERS_BACK_ZH.search(text) or _REFERS_BACK_EN.search(text))
