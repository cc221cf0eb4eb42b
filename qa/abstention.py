"""When to say the documents do not answer: a question about specifics they never mention.

Scores alone do not tell an on-topic question the documents cannot answer from one they can (on
the dev set the e5, USE and BM25 scores of both kinds overlap). Specifics are different: if a
question asks about June 2019 and no document mentions June 2019, or about the Hwasong-15 when the
documents only ever write Hwasong-14, no passage can hold the answer.

Scores do tell off-topic questions ("What is the weather in Paris?") from on-topic ones, except
for short questions about one thing the documents name ("What is THAAD?", "JSA是什麼？"): those
score as low; unlike off-topic ones, every term they use is the documents' (:class:`DocumentTerms`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from index.lexicon import BilingualLexicon, english_words
from index.tokenize import tokenize
from qa.language import AnalyzedQuery

_MONTHS = {
    name: i
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_ZH_YEAR_MONTH = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月")
_ZH_MONTH_DAY = re.compile(r"(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_DOTTED = re.compile(r"\b(\d{4})\.(\d{1,2})(?:\.(\d{1,2}))?\b")
_EN_MONTH_DAY = re.compile(rf"\b({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b", re.I)
_EN_DAY_MONTH = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH})\b", re.I)
_EN_MONTH_YEAR = re.compile(rf"\b({_MONTH})\.?\s+(?:\d{{1,2}}(?:st|nd|rd|th)?,?\s+)?(\d{{4}})\b", re.I)
_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)")
_DESIGNATION = re.compile(r"\b([a-z]{2,})-?(\d{1,3})\b")
"""A named thing with a number: hwasong-15, kn-23, sm3 (matched in lower case)."""


def date_mentions(text: str) -> set[str]:
    """Dates in ``text`` as keys: ``"y2019"``, ``"ym2019-6"``, ``"md6-12"`` (Chinese or English forms)."""
    keys = {f"y{y}" for y in _YEAR.findall(text)}
    keys |= {f"ym{int(y)}-{int(m)}" for y, m in _ZH_YEAR_MONTH.findall(text)}
    keys |= {f"md{int(m)}-{int(d)}" for m, d in _ZH_MONTH_DAY.findall(text)}
    for y, m, d in _DOTTED.findall(text):
        keys.add(f"ym{int(y)}-{int(m)}")
        if d:
            keys.add(f"md{int(m)}-{int(d)}")
    keys |= {f"md{_MONTHS[m.lower()]}-{int(d)}" for m, d in _EN_MONTH_DAY.findall(text)}
    keys |= {f"md{_MONTHS[m.lower()]}-{int(d)}" for d, m in _EN_DAY_MONTH.findall(text)}
    keys |= {f"ym{int(y)}-{_MONTHS[m.lower()]}" for m, y in _EN_MONTH_YEAR.findall(text)}
    return keys


def chinese_dates(text: str) -> list[str]:
    """English dates of ``text`` written the Chinese way: "June 12, 2018" → ``6月12日``, ``2018年6月``."""
    out = [f"{_MONTHS[m.lower()]}月{int(d)}日" for m, d in _EN_MONTH_DAY.findall(text)]
    out += [f"{_MONTHS[m.lower()]}月{int(d)}日" for d, m in _EN_DAY_MONTH.findall(text)]
    out += [f"{int(y)}年{_MONTHS[m.lower()]}月" for m, y in _EN_MONTH_YEAR.findall(text)]
    return list(dict.fromkeys(out))


def designations(text: str) -> set[tuple[str, str]]:
    """``(name, number)`` of each designation such as ``Hwasong-15`` in ``text``."""
    return {(name, str(int(number))) for name, number in _DESIGNATION.findall(text.lower())}


class MentionCheck:
    """Which dates and numbered designations of a question the documents never mention.

    A designation counts only when the documents name its family with another number (they write
    Hwasong-14, the question asks about Hwasong-15); a name they never write in Latin letters at
    all may be written in Chinese, so it is left alone.
    """

    def __init__(self, texts: Iterable[str]) -> None:
        self.dates: set[str] = set()
        self.designations: set[tuple[str, str]] = set()
        for text in texts:
            self.dates |= date_mentions(text)
            self.designations |= designations(text)
        self._families = {name for name, _ in self.designations}

    def unknown(self, question: str) -> list[str]:
        """What the question names that no document mentions: date keys and designations (sorted)."""
        missing = date_mentions(question) - self.dates
        missing |= {
            f"{name}-{number}" for name, number in designations(question) - self.designations if name in self._families
        }
        return sorted(missing)


# What a Chinese question asks with rather than about: question words, particles, "tell me".
_ZH_QUESTION_WORDS = re.compile(
    r"請問|請|告訴我|介紹一下|介紹|一下|為什麼|什麼|甚麼|為何|怎麼樣|怎麼|怎樣|如何|哪裡|哪兒|哪些|哪個|哪一|哪"
    r"|誰|多少|幾|嗎|呢|吧|啊|的|了|是|有|意思|指"
)


class DocumentTerms:
    """The terms the documents use: Chinese bigrams and English words (as the lexical index reads
    them), and English word stems.

    A question speaks only of them when every bigram and word of a Chinese question (its question
    words left out) is one of them, or every content word of an English question is carried over
    by the lexicon, a number, or one of the documents' own English words.
    """

    def __init__(self, texts: Iterable[str]) -> None:
        self.tokens: set[str] = set()
        self.english: set[str] = set()
        for text in texts:
            self.tokens.update(t for t in tokenize(text) if len(t) > 1)
            self.english.update(english_words(text))

    def covers(self, query: AnalyzedQuery, lexicon: BilingualLexicon) -> bool:
        """Whether ``query`` has content and all of it is the documents' terms."""
        if query.language == "en":
            carried = lexicon.carry_over(query.text, self.english.__contains__)
            return carried.words > 0 and carried.coverage == 1.0
        terms = [t for t in tokenize(_ZH_QUESTION_WORDS.sub("，", query.search_text)) if len(t) > 1]
        return bool(terms) and all(t in self.tokens for t in terms)
