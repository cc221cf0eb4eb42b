"""Which language form a question is written in, and its Traditional-character form."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from corpus.characters import HAN_CHARACTER
from corpus.script import to_simplified, to_traditional

Language = Literal["zh-Hant", "zh-Hans", "en"]
LANGUAGES: tuple[Language, ...] = ("zh-Hant", "zh-Hans", "en")

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
    han = len(HAN_CHARACTER.findall(text))
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


# A question is read as a follow-up when it points back to something said earlier (anaphora):
#
# - Chinese: a pronoun or demonstrative (他們, 它, 該, 這, 那, 此, 其), a word for what was named
#   (上述, 前者, 雙方, 當時), an opening link (而, 還有, 此外), "what about" (a trailing 呢), or an
#   ordinal with no noun ("第二次"); never a demonstrative inside a longer common word (因此, 其他,
#   那麼, 應該: _NOT_POINTING_ZH), and 之後 only opening the question (not "川金會之後");
# - English: a personal pronoun or possessive (they, them, their, he, his, her, its), "it" unless
#   it stands for a clause that follows ("What is it that …", "Is it true that …", "How long did it
#   take to …"), "this/these/those", "that" only as a demonstrative (opening or closing the question,
#   after a preposition or an auxiliary: "after that", "Why did that happen?", not "the treaty that
#   ended the war"), "there" only as a place (not "Is there …", "there are"), "then", "the latter",
#   "the former", and an opening "and", "also", "what about"; a personal pronoun after a name in the
#   question itself stands for that name ("What did Moon Jae-in propose in his speech?").
_REFERS_BACK_ZH = re.compile(
    r"[它她他]們|[它她他]们|[它她]|該|该|這|这|那|此|其|上述|前者|後者|后者|兩者|两者|雙方|双方|當時|当时|同年"
    r"|呢[？?。.!！]*\s*$|第[二三四五六七八九十兩两\d]+次"
)
_OPENS_FOLLOW_UP_ZH = re.compile(r"^\s*(?:而|還有|还有|另外|此外|之後|之后)")
_NOT_POINTING_ZH = re.compile(
    r"因此|如此|彼此|從此|从此|此外|其他|其它|其中|其實|其实|其次|尤其|極其|极其|與其|与其"
    r"|那麼|那么|這麼|这么|應該|应该|活該|活该"
)
_AUXILIARY = r"is|was|are|were|do|does|did|will|would|can|could|should|has|have|had"
_PREPOSITION = r"after|before|about|of|on|in|at|with|by|from|since|to|for|like|under|during|despite|than"
_REFERS_BACK_EN = re.compile(
    r"\b(they|them|their|theirs|he|him|his|she|her|its|it|there|this|these|those|the latter|the former)\b"
    rf"|\bthen\b(?!-)|^\s*that\b|\bthat\s*[?.!]*\s*$|\b(?:{_PREPOSITION}|{_AUXILIARY})\s+that\b"
    r"|^\s*(and|also|what about|how about)\b",
    re.IGNORECASE,
)
# "it" standing for a clause that follows ("What is it that …", "Is it true that …", "How long did it
# take to …") and "there" saying that something exists ("Is there …", "there are"): no pointing back.
_COPULA = r"is|was|will be|would be"
_EXPLETIVE_EN = re.compile(
    rf"\b(?:(?:{_COPULA})\s+it|it\s+(?:{_COPULA}|'s|’s|seems|seemed))"
    r"\s+(?:(?:\w+\s+)?(?:that|whether)|(?!\w+(?:ed|en)\b)\w+\s+to)\b"
    r"|\bit\s+(?:takes?|took|taken)\b(?=.*\bto\b)"
    rf"|\b(?:{_AUXILIARY}|be|been)\s+there\b(?!\s*[?.!]*\s*$)|\bthere\s+(?:{_AUXILIARY}|be|been|'s|’s|seems?)\b",
    re.IGNORECASE,
)


_PERSONAL_EN = re.compile(r"they|them|their|theirs|he|him|his|she|her|its|it", re.IGNORECASE)
_NAME_EN = re.compile(r"(?<=\s)(?!I\b)[A-Z][\w'’.-]*")
"""A capitalised word after the first: a name a later personal pronoun may stand for."""


def _points_back_en(text: str) -> bool:
    """Whether an English question points back: a personal pronoun counts only when no name comes
    before it in the question itself ("Moon Jae-in … his speech" is about Moon; "his speech" alone
    is about someone named earlier); a demonstrative ("that", "then", "there") always counts."""
    text = _EXPLETIVE_EN.sub(" ", text)
    for m in _REFERS_BACK_EN.finditer(text):
        if not (_PERSONAL_EN.fullmatch(m.group()) and _NAME_EN.search(text, 0, m.start())):
            return True
    return False


def refers_back(text: str) -> bool:
    """Whether a question points back to an earlier one ("那是哪一年？", "What did they agree on?"),
    by the words above."""
    return bool(
        _OPENS_FOLLOW_UP_ZH.search(text)
        or _REFERS_BACK_ZH.search(_NOT_POINTING_ZH.sub("，", text))
        or _points_back_en(text)
    )
