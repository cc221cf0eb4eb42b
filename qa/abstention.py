"""When to say the documents do not answer: a question about specifics they never mention.

Scores alone do not tell an on-topic question the documents cannot answer from one they can (on
the dev set the e5, USE and BM25 scores of both kinds overlap). Specifics are different: if a
question asks about June 2019 and no document mentions June 2019, about the Hwasong-15 when the
documents only ever write Hwasong-14, or about Abe Shinzo when no document names him, no passage
can hold the answer.

Scores do tell off-topic questions ("What is the weather in Paris?") from on-topic ones, except
for short questions about one thing the documents name ("What is THAAD?", "JSA是什麼？"): those
score as low; unlike off-topic ones, every term they use is the documents' (:class:`DocumentTerms`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Iterable, Sequence

from corpus.script import to_simplified
from index.lexicon import MAX_HEADWORD_CHARS, BilingualLexicon, Person, english_words, load_cedict_people
from index.tokenize import normalize_for_search, tokenize
from qa.language import AnalyzedQuery, Language

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
_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_ZH_YEAR_MONTH = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月")
_ZH_MONTH_DAY = re.compile(r"(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_DOTTED = re.compile(r"(?<![\d.])(\d{4})\.(\d{1,2})(?:\.(\d{1,2}))?(?!\d)")
_EN_MONTH_DAY = re.compile(rf"\b({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b", re.I)
_EN_DAY_MONTH = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH})\b", re.I)
_EN_MONTH_YEAR = re.compile(rf"\b({_MONTH})\.?\s+(?:\d{{1,2}}(?:st|nd|rd|th)?,?\s+)?(\d{{4}})\b", re.I)
_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)")
# What tells whether such a number is a year (see :func:`years`).
_ZH_YEAR_AFTER = re.compile(r"(?:\s*[-–—~～、,，至到和與与及或]\s*(?:1[89]|20)?\d\d)*\s*年")
_HAN_BESIDE_AFTER = re.compile(rf"\s*[{_HAN}]")
_HAN_BESIDE_BEFORE = re.compile(rf"[{_HAN}]\s*$")
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
_DESIGNATION = re.compile(r"\b([a-z]{2,})-?(\d{1,3})\b")
"""A named thing with a number: hwasong-15, kn-23, sm3 (matched in lower case)."""


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
    """Whether a key of :meth:`MentionCheck.unknown` is a date (else a designation)."""
    return _DATE_KEY.fullmatch(key) is not None


def describe(key: str, language: Language) -> str:
    """A key of :meth:`MentionCheck.unknown` as a reader writes it: ``"ym2019-6"`` → "June 2019"
    (English) or "2019年6月", ``"md6-12"`` → "June 12" or "6月12日", ``"hwasong-15"`` → "Hwasong-15"."""
    match = _DATE_KEY.fullmatch(key)
    if match is None:
        return key.capitalize()
    kind, first, second = match.group(1), int(match.group(2)), int(match.group(3) or 0)
    english = language == "en"
    if kind == "y":
        return f"{first}" if english else f"{first}年"
    if kind == "ym":
        return f"{_MONTH_FORMS[second - 1][0].capitalize()} {first}" if english else f"{first}年{second}月"
    return f"{_MONTH_FORMS[first - 1][0].capitalize()} {second}" if english else f"{first}月{second}日"


def missing_reason(language: Language, unmentioned: Sequence[str], counted: str | None = None) -> str:
    """Why the documents cannot answer, in ``language``: what they never mention (dates, names as
    the question writes them), and the thing a Chinese question counts that no passage gives a
    number for; empty when there is nothing to say."""
    out = []
    if unmentioned:
        if language == "en":
            named = ", ".join(unmentioned[:-1]) + " or " + unmentioned[-1] if len(unmentioned) > 1 else unmentioned[0]
            out.append(f"It never mentions {named}.")
        else:
            out.append(f"文件中未提及：{'、'.join(unmentioned)}。")
    if counted:
        out.append(f"最接近的段落中沒有「{counted}」的數字。")
    if language == "en":
        return " ".join(out)
    return to_simplified("".join(out)) if language == "zh-Hans" else "".join(out)


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

    A month the documents name without a year counts in the year named before it ("2017年…10月10日"
    mentions October 2017), so "October 2017" is not taken for a month they never speak of.

    A designation counts only when the documents name its family with another number (they write
    Hwasong-14, the question asks about Hwasong-15); a name they never write in Latin letters at
    all may be written in Chinese, so it is left alone.
    """

    def __init__(self, texts: Iterable[str]) -> None:
        self.dates: set[str] = set()
        self.designations: set[tuple[str, str]] = set()
        for text in texts:
            self.dates |= anchored_dates(text)
            self.designations |= designations(text)
        self._families = {name for name, _ in self.designations}

    def unknown(self, question: str) -> list[str]:
        """What the question names that no document mentions: date keys and designations (sorted)."""
        missing = date_mentions(question) - self.dates
        missing |= {
            f"{name}-{number}" for name, number in designations(question) - self.designations if name in self._families
        }
        return sorted(missing)


_HAN_RUN = re.compile(f"[{_HAN}]+")
_CAPITALISED = re.compile(r"[A-Z][A-Za-z]*(?:-[A-Za-z]+)*")
_POSSESSIVE = re.compile(r"['’]s?$")


class PersonCheck:
    """People a question names whom the documents never mention.

    A person counts when CC-CEDICT knows them as one ("安倍晉三 Abe Shinzo (1954-2022)"; in an
    English question, by a full name such as "Vladimir Putin") and the documents write no Chinese
    form of the name, nor, in English or through the lexicon, any word of it: "特朗普" is mentioned
    when they write 川普 (glossed "Trump"). People CC-CEDICT does not know are left alone, since the
    documents may write their names in a form no dictionary links to the question's.
    """

    def __init__(self, texts: Iterable[str], lexicon: BilingualLexicon, english: Collection[str]) -> None:
        """``english``: the documents' English words, stemmed (see :class:`DocumentTerms`)."""
        self._text = normalize_for_search("\n".join(texts))
        self._lexicon = lexicon
        self._english = english

    @functools.cached_property
    def _people(self) -> dict[str, Person]:
        return load_cedict_people()

    @functools.cached_property
    def _by_name(self) -> dict[frozenset[str], list[Person]]:
        """People by the words of their full name (two words or more)."""
        out: dict[frozenset[str], list[Person]] = {}
        for person in self._people.values():
            if len(person.names) > 1:
                out.setdefault(frozenset(person.names), []).append(person)
        return out

    def _mentioned(self, person: Person) -> bool:
        namesakes = self._by_name.get(frozenset(person.names), [person])  # 普丁 and 普京 are one person
        if any(p.headword in self._text for p in (person, *namesakes)):
            return True
        return any(self._lexicon.terms.get(w) or w in self._english for w in english_words(" ".join(person.names)))

    def _named(self, query: AnalyzedQuery) -> list[tuple[str, Person]]:
        """``(as written, person)`` for each person the dictionary knows in ``query``."""
        if query.language == "en":
            found = []
            for run in re.split(r"[^A-Za-z'’\- ]+", query.text):
                words = run.split()
                for n in (3, 2):
                    for i in range(len(words) - n + 1):
                        name = [_POSSESSIVE.sub("", w) for w in words[i : i + n]]  # "Shinzo Abe's"
                        if all(_CAPITALISED.fullmatch(w) for w in name):
                            key = frozenset(w.lower().replace("-", "") for w in name)
                            found += [(" ".join(name), p) for p in self._by_name.get(key, ())]
            return found
        text = normalize_for_search(query.search_text)
        found = []
        for run in _HAN_RUN.findall(text):
            for i in range(len(run)):
                for j in range(i + 2, min(i + MAX_HEADWORD_CHARS, len(run)) + 1):
                    person = self._people.get(run[i:j])
                    # not a part of a longer term the documents use ("哈里" in 哈里斯)
                    if person and not any(
                        run[a:b] in self._text
                        for a in range(0, i + 1)
                        for b in range(j, min(a + MAX_HEADWORD_CHARS, len(run)) + 1)
                        if b - a > j - i
                    ):
                        found.append((run[i:j], person))
        return found

    def unknown(self, query: AnalyzedQuery) -> list[str]:
        """The people ``query`` names whom no document mentions, as the question writes them (sorted)."""
        return sorted({written for written, person in self._named(query) if not self._mentioned(person)})


ASKS_DATE = re.compile(
    r"哪一?天|何時|何时|什麼時候|什么时候|[幾几](?:月|日|號|号|時|时)|哪一?年|日期|\bwhen\b|\bwhat date\b", re.I
)
"""A question that asks for a date: "哪一天", "幾月幾日", "什么时候", "when", "what date"."""
HOW_MANY_ZH = r"(?<!第)[幾几](?![月日號号時时點点乎])"
"""幾 asking for a number: not an ordinal (第幾), a date or hour (幾月, 幾時, 幾點), nor 幾乎 (almost)."""
# How a Chinese question (in search form: Traditional characters) asks for a number.
ASKS_QUANTITY_ZH = rf"多少|多大|多長|多长|多高|多遠|多远|多久|多重|{HOW_MANY_ZH}"
"""A Chinese question asking for a number: 多少, 多長, 幾 (as :data:`HOW_MANY_ZH`)."""
_ASKS_QUANTITY = re.compile(ASKS_QUANTITY_ZH)
_CLAUSE_BREAK = re.compile(r"[，。？?！!、；;,：:\s]")
_MEASURES = r"(?:階段|[個家次名人輛枚架具件項年天輪位處座所種條筆億萬元倍步份張艘發支場屆批趟回國方])"
"""Measure words: what a number counts in ("三階段", "幾家", "16次")."""
_MEASURE_WORD = re.compile(f"^{_MEASURES}")
_LINK_WORDS = re.compile(r"(?:總共|一共|大約|共|約|有|是|為|達|了|到|至|花|增加|提高|降低|減少)+$")
_WRITTEN_DATE = re.compile(r"\d{4}\s*年|\d{1,2}\s*月\s*(?:\d{1,2}\s*日)?|\d{4}\.\d{1,2}(?:\.\d{1,2})?")
_QUANTITY = re.compile(rf"\d|[一二三四五六七八九十百千兩]+\s*(?:{_MEASURES}|[大成])")
QUANTITY_SHARE = 0.4
"""How much of what a Chinese question counts a sentence must name, beside a number, to answer it."""


def quantity_focus(question: str) -> str | None:
    """What a Chinese question (in search form) asks the number of, if it asks for one:
    "共有多少家南韓企業進駐" → 南韓企業進駐, "施政支持度是多少" → 施政支持度; ``None`` otherwise."""
    match = _ASKS_QUANTITY.search(question)
    if match is None or ASKS_DATE.search(question):
        return None
    after = _MEASURE_WORD.sub("", _CLAUSE_BREAK.split(question[match.end() :])[0]).rstrip("呢嗎啊")
    if len(after) >= 2:
        return after
    before = _LINK_WORDS.sub("", _CLAUSE_BREAK.split(question[: match.start()])[-1].split("的")[-1])
    return before or None


def states_quantity(focus: str, sentences: Iterable[str], share: float = QUANTITY_SHARE) -> bool:
    """Whether some sentence holds a number (not a date) and at least ``share`` of the characters of
    ``focus``: the sentence that answers "施政支持度是多少" must give a number and speak of 支持度."""
    wanted = set("".join(_HAN_RUN.findall(focus))) - {"的", "之"}
    if not wanted:
        return True
    for sentence in sentences:
        text = normalize_for_search(sentence)
        if _QUANTITY.search(_WRITTEN_DATE.sub(" ", text)) and sum(c in text for c in wanted) >= share * len(wanted):
            return True
    return False


# What a Chinese question asks with rather than about: question words, particles, "tell me".
ZH_QUESTION_WORDS = re.compile(
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
        terms = [t for t in tokenize(ZH_QUESTION_WORDS.sub("，", query.search_text)) if len(t) > 1]
        return bool(terms) and all(t in self.tokens for t in terms)
