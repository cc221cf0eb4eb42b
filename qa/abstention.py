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

from corpus.characters import HAN
from corpus.dates import anchored_dates, date_mentions, month_name, parse_date_key
from corpus.script import to_simplified
from index.lexicon import MAX_HEADWORD_CHARS, BilingualLexicon, Person, english_words, load_cedict_people
from index.tokenize import normalize_for_search, tokenize
from qa.language import AnalyzedQuery, Language
from qa.question_types import ASKS_DATE, ASKS_QUANTITY_ZH, ZH_QUESTION_WORDS

_DESIGNATION = re.compile(r"\b([a-z]{2,})-?(\d{1,3})\b")
"""A named thing with a number: hwasong-15, kn-23, sm3 (matched in lower case)."""


def describe(key: str, language: Language) -> str:
    """A key of :meth:`MentionCheck.unknown` as a reader writes it: ``"ym2019-6"`` → "June 2019"
    (English) or "2019年6月", ``"md6-12"`` → "June 12" or "6月12日", ``"hwasong-15"`` → "Hwasong-15"."""
    parsed = parse_date_key(key)
    if parsed is None:
        return key.capitalize()
    kind, first, second = parsed
    english = language == "en"
    if kind == "y":
        return f"{first}" if english else f"{first}年"
    if kind == "ym":
        return f"{month_name(second)} {first}" if english else f"{first}年{second}月"
    return f"{month_name(first)} {second}" if english else f"{first}月{second}日"


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


_HAN_RUN = re.compile(f"[{HAN}]+")
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


class ScopedChecks:
    """The checks above for the documents a question is asked of (all, or a chosen few), made once
    per choice of documents and kept for the next questions."""

    def __init__(
        self,
        documents: Sequence[tuple[str, str]],
        passages: Sequence[tuple[str, str]],
        lexicon: BilingualLexicon,
        cached: int = 32,
    ) -> None:
        """``documents`` and ``passages``: ``(document id, text)`` of each; ``cached``: how many
        choices of documents are kept."""
        self.documents = documents
        self.passages = passages
        self.lexicon = lexicon
        self.mentions = functools.lru_cache(maxsize=cached)(self._mentions)
        self.terms = functools.lru_cache(maxsize=cached)(self._terms)
        self.people = functools.lru_cache(maxsize=cached)(self._people)

    @staticmethod
    def _of(texts: Sequence[tuple[str, str]], doc_ids: frozenset[str] | None) -> list[str]:
        return [text for doc_id, text in texts if doc_ids is None or doc_id in doc_ids]

    def _mentions(self, doc_ids: frozenset[str] | None) -> MentionCheck:
        return MentionCheck(self._of(self.documents, doc_ids))

    def _terms(self, doc_ids: frozenset[str] | None) -> DocumentTerms:
        return DocumentTerms(self._of(self.passages, doc_ids))

    def _people(self, doc_ids: frozenset[str] | None) -> PersonCheck:
        return PersonCheck(self._of(self.passages, doc_ids), self.lexicon, self.terms(doc_ids).english)
