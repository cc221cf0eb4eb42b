"""Dates written in text, one definition for every reader of them: which numbers are years, the
dates a text mentions as keys (``"y2019"``, ``"ym2019-6"``, ``"md6-12"``), months read in the year
named before them, and English dates in their Chinese form."""

from __future__ import annotations

import re

from corpus.characters import HAN

_MONTH_FORMS = (
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
)
"""Each month's English forms, the full name first."""
_MONTHS = {name: i for i, names in enumerate(_MONTH_FORMS, start=1) for name in names}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_PLAIN_MONTH = "|".join(names[0] for names in _MONTH_FORMS if names[0] not in ("march", "may"))
"""Month names that are no other English word; "march", "may" and abbreviations ("mar") also are."""
_ZH_YEAR_MONTH = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月")
_ZH_MONTH_DAY = re.compile(r"(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_DOTTED = re.compile(r"(?<![\d.])(\d{4})\.(\d{1,2})(?:\.(\d{1,2}))?(?!\d)")
_EN_MONTH_DAY = re.compile(rf"\b({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b", re.I)
_EN_DAY_MONTH = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH})\b", re.I)
_EN_MONTH_YEAR = re.compile(rf"\b({_MONTH})\.?\s+(?:\d{{1,2}}(?:st|nd|rd|th)?,?\s+)?(\d{{4}})\b", re.I)
_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)")
# What tells whether such a number is a year (see :func:`years`).
_ZH_YEAR_AFTER = re.compile(r"(?:\s*[-–—~～、,，至到和與与及或]\s*(?:1[89]|20)?\d\d)*\s*年")
_HAN_BESIDE_AFTER = re.compile(rf"\s*[{HAN}]")
_HAN_BESIDE_BEFORE = re.compile(rf"[{HAN}]\s*$")
_POSSESSIVE_AFTER = re.compile(r"['’]s\b")
_YEAR_WORD_BEFORE = re.compile(
    rf"\b(?:in|since|by|until|till|from|during|before|after|circa|early|late|mid|{_MONTH})\.?"
    r"(?:\s+\d{1,2}(?:st|nd|rd|th)?,?)?[\s-]+$",
    re.I,
)
_QUANTITY_WORD_BEFORE = re.compile(
    r"\b(?:about|around|approximately|roughly|nearly|almost|over|under|than|some|least|most|total of|up to)\s+$",
    re.I,
)
_DETERMINER_BEFORE = re.compile(r"\b(?:the|its|their|his|her|our|this|that)\s+$|['’]s\s+$", re.I)
_COUNTED_AFTER = re.compile(
    r"\s+(?!(?:was|has|is|this|thus|its|his|as|us|plus|always|whereas|perhaps|unless|less)\b)"
    r"(?:[a-z]{2,}s\b(?!['’])|(?:people|personnel|staff|men|women|km|kg|kt|ft|lb|won|yen|yuan|percent)\b)",
    re.I,
)


def _is_year(text: str, start: int, end: int) -> bool:
    """Whether the number 1800–2099 at ``text[start:end]`` is written as a year (see :func:`years`)."""
    if _ZH_YEAR_AFTER.match(text, end):
        return True
    before = text[max(0, start - 24) : start]
    if _HAN_BESIDE_AFTER.match(text, end) or _HAN_BESIDE_BEFORE.search(before):
        return False
    if _POSSESSIVE_AFTER.match(text, end) or _YEAR_WORD_BEFORE.search(before):
        return True
    if _QUANTITY_WORD_BEFORE.search(before):
        return False
    return not _COUNTED_AFTER.match(text, end) or bool(_DETERMINER_BEFORE.search(before))


def years(text: str) -> list[tuple[int, int]]:
    """``(offset, year)`` of each year ``text`` writes. A number 1800–2099 is a year when written as one:

    - followed by 年, alone or closing a list or range ("2018年", "2016、2017年", "2018-2019年"), or
      opening a dotted date ("2018.6.12");
    - otherwise never beside a Chinese character, since Chinese writes 年 ("2000枚飛彈" is a count);
    - in English, unless it counts something: a year when possessive ("2019's"), after a month or a
      time word ("June 2019", "in 2019", "since 2019"), or on its own ("2019 was tense", "(2018)");
      a count after a quantity word ("about 2000", "more than 1900") or before a plural noun or unit
      ("2000 missiles", "1900 people"), unless a determiner comes before it ("the 2018 talks").
    """
    found = [(m.start(), int(m.group(1))) for m in _YEAR.finditer(text) if _is_year(text, m.start(), m.end())]
    found += [(m.start(), int(m.group(1))) for m in _DOTTED.finditer(text)]
    return sorted(set(found))


def date_mentions(text: str) -> set[str]:
    """Dates in ``text`` as keys: ``"y2019"``, ``"ym2019-6"``, ``"md6-12"`` (Chinese or English forms)."""
    keys = {f"y{y}" for _, y in years(text)}
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


# A month named without its year: "7月1日", "on July 1" (not "2018年7月", "July 1, 2018"). A month
# form that is also another English word ("may", "march", "mar") counts beside a day only ("May 12",
# "12 May"): "Kim may visit" names no month.
_ZH_MONTH = re.compile(r"(?<![\d.年])(?<!年\s)(\d{1,2})\s*月")
_EN_MONTH_NAME = re.compile(
    rf"(?:\b({_PLAIN_MONTH})\b|\b({_MONTH})\.?(?=\s+\d{{1,2}}(?:st|nd|rd|th)?\b)"
    rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH})\b)"
    rf"(?!\.?\s+(?:\d{{1,2}}(?:st|nd|rd|th)?,?\s+)?\d{{4}})",
    re.I,
)


class YearContext:
    """Reads a text's dates in order, as a reader takes them: a month named without a year is in
    the year named last before it (after "2018年1月1日", "7月1日" is July 2018, ``"ym2018-7"``).
    The two last distinct years both count, since a text that looks ahead ("完成於2021年1月") goes
    on in its own year. Feed a document's passages in order to carry the years over."""

    def __init__(self) -> None:
        self.years: list[int] = []

    def read(self, text: str) -> set[str]:
        """:func:`date_mentions` of ``text`` plus the year-months of the months it names without a year."""
        keys = date_mentions(text)
        events = [(start, "y", year) for start, year in years(text)]
        events += [(m.start(), "m", int(m.group(1))) for m in _ZH_MONTH.finditer(text)]
        events += [
            (m.start(), "m", _MONTHS[next(g for g in m.groups() if g).lower()]) for m in _EN_MONTH_NAME.finditer(text)
        ]
        for _, kind, value in sorted(events):
            if kind == "y":
                self.years = [value, *[y for y in self.years if y != value][:1]]
            elif 1 <= value <= 12:
                keys.update(f"ym{year}-{value}" for year in self.years)
        return keys


def anchored_dates(text: str) -> set[str]:
    """The dates of ``text`` read with :class:`YearContext`."""
    return YearContext().read(text)


_DATE_KEY = re.compile(r"(y|ym|md)(\d+)(?:-(\d+))?")


def is_date_key(key: str) -> bool:
    """Whether ``key`` is a date key of :func:`date_mentions` (else, e.g., a designation)."""
    return _DATE_KEY.fullmatch(key) is not None


def chinese_dates(text: str) -> list[str]:
    """English dates of ``text`` written the Chinese way: "June 12, 2018" → ``6月12日``, ``2018年6月``."""
    out = [f"{_MONTHS[m.lower()]}月{int(d)}日" for m, d in _EN_MONTH_DAY.findall(text)]
    out += [f"{_MONTHS[m.lower()]}月{int(d)}日" for d, m in _EN_DAY_MONTH.findall(text)]
    out += [f"{int(y)}年{_MONTHS[m.lower()]}月" for m, y in _EN_MONTH_YEAR.findall(text)]
    return list(dict.fromkeys(out))


def month_name(month: int) -> str:
    """The English name of month 1–12: ``6`` → "June"."""
    return _MONTH_FORMS[month - 1][0].capitalize()


def parse_date_key(key: str) -> tuple[str, int, int] | None:
    """``(kind, first, second)`` of a date key (``"ym2019-6"`` → ``("ym", 2019, 6)``), else ``None``."""
    match = _DATE_KEY.fullmatch(key)
    if match is None:
        return None
    return match.group(1), int(match.group(2)), int(match.group(3) or 0)
