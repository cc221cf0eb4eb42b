"""What kind of answer a question asks for, whether a text holds one, and how much of a question a
text holds: the evidence that ranking and answer choice share (one definition of each)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import Enum

from corpus.dates import date_mentions
from index.tokenize import tokenize

ASKS_DATE = re.compile(
    r"哪一?天|何時|何时|什麼時候|什么时候|[幾几](?:月|日|號|号|時|时)|哪一?年|日期|\bwhen\b|\bwhat date\b", re.I
)
"""A question that asks for a date: "哪一天", "幾月幾日", "什么时候", "when", "what date"."""
HOW_MANY_ZH = r"(?<!第)[幾几](?![月日號号時时點点乎])"
"""幾 asking for a number: not an ordinal (第幾), a date or hour (幾月, 幾時, 幾點), nor 幾乎 (almost)."""
# How a Chinese question (in search form: Traditional characters) asks for a number.
ASKS_QUANTITY_ZH = rf"多少|多大|多長|多长|多高|多遠|多远|多久|多重|{HOW_MANY_ZH}"
"""A Chinese question asking for a number: 多少, 多長, 幾 (as :data:`HOW_MANY_ZH`)."""
# What a Chinese question asks with rather than about: question words, particles, "tell me".
ZH_QUESTION_WORDS = re.compile(
    r"請問|請|告訴我|介紹一下|介紹|一下|為什麼|什麼|甚麼|為何|怎麼樣|怎麼|怎樣|如何|哪裡|哪兒|哪些|哪個|哪一|哪"
    r"|誰|多少|幾|嗎|呢|吧|啊|的|了|是|有|意思|指"
)


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
    :func:`~corpus.dates.date_mentions` reads); a number in digits or Chinese numerals."""
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
