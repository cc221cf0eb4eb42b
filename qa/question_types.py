"""What kind of answer a question asks for, whether a text holds one, and how much of a question a
text holds: the evidence that ranking and answer choice share (one definition of each)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import Enum

from index.tokenize import tokenize
from qa.abstention import ASKS_DATE, ASKS_QUANTITY_ZH, date_mentions


class AnswerType(Enum):
    """The kind of answer a question asks for, when its question words say so."""

    YEAR = "year"
    DATE = "date"
    NUMBER = "number"


_ASKS_YEAR = re.compile(r"哪一?年|\b(?:what|which) year\b|\bin what year\b", re.I)
_ASKS_NUMBER = re.compile(
    rf"{ASKS_QUANTITY_ZH}|\bhow (?:many|much|long|far|old|large|big|high)\b"
    r"|\bwhat (?:percentage|share|number|proportion|amount)\b",
    re.I,
)
_NUMBER = re.compile(r"\d|[一二三四五六七八九十百千萬億两兩]")


def asked_type(question: str) -> AnswerType | None:
    """A year ("哪一年", "what year"), a date ("哪一天", "when") or a number ("多少", "how many")."""
    if _ASKS_YEAR.search(question):
        return AnswerType.YEAR
    if ASKS_DATE.search(question):
        return AnswerType.DATE
    if _ASKS_NUMBER.search(question):
        return AnswerType.NUMBER
    return None


def holds_type(text: str, kind: AnswerType | None) -> bool:
    """Whether ``text`` holds an answer of ``kind``: a year; a month with its day or year (any form
    :func:`~qa.abstention.date_mentions` reads); a number in digits or Chinese numerals."""
    if kind is None:
        return False
    if kind is AnswerType.NUMBER:
        return bool(_NUMBER.search(text))
    keys = date_mentions(text)
    if kind is AnswerType.YEAR:
        return any(k.startswith("y") for k in keys)
    return any(k.startswith(("ym", "md")) for k in keys)


class QuestionTerms:
    """A question's search tokens, weighted as evidence: a bigram or word 2, a single character 1."""

    def __init__(self, text: str) -> None:
        tokens = set(tokenize(text))
        self.weights = {t: 2.0 if len(t) > 1 else 1.0 for t in tokens}
        self.total = sum(self.weights.values()) or 1.0

    def share(self, tokens: Iterable[str]) -> float:
        """The weighted share of the question's tokens among ``tokens`` (0 to 1)."""
        return sum(self.weights[t] for t in self.weights.keys() & set(tokens)) / self.total
