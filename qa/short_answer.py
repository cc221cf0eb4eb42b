"""The fact first: the shortest stretch of the answering sentences that answers a question asking
for a date, a number, a person, a place or an organisation (2018年6月12日, 28,500名, 平澤市), written
also in the question's language where it can be (June 12, 2018; 28,500; a name the documents pair
with its English form). Which stretch is chosen by a model that ``benchmarks/short_answers.py``
fits on the external sets' folds; when no stretch of the kind asked for is there, there is none.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from corpus.characters import HAN
from corpus.dates import date_mentions
from index.dictionary_tables import derived_table
from index.lexicon import MAX_HEADWORD_CHARS, load_cedict, load_cedict_people, paired_english
from index.tokenize import TOKENIZER_VERSION, normalize_for_search
from qa.abstention import describe, quantity_focus
from qa.fitted import LinearModel, english_copies, with_english_copies
from qa.language import AnalyzedQuery
from qa.model import Answer, Quote
from qa.question_types import (
    ASKS_DAY,
    NAMES,
    UNIT_AFTER,
    AnswerType,
    QuestionTerms,
    Span,
    asked_kind,
    asked_units,
    date_spans,
    digits_of,
    number_spans,
    number_value,
    written_number,
)

SHORT_ANSWER_MODEL = "short_answer"
"""The fitted model that chooses among the candidate stretches: ``qa/models/short_answer.json``."""
WINDOW = 12
"""Characters each side of a stretch in which the question's terms count as just before or after it
(twice as many: near it)."""
_BASE_FEATURES = (
    "question terms inside",
    "question terms near",
    "question terms before",
    "question terms after",
    "distance to question terms",
    "in question",
    "unit asked",
    "unit named in question",
    "percent asked, percent",
    "counted thing near",
    "date asked just before",
    "has unit",
    "approximate",
    "chinese numerals",
    "digits only",
    "year asked, year only",
    "year asked, holds month",
    "date asked, holds day",
    "day asked, holds day",
    "date asked, holds month",
    "date asked, year only",
    "range",
    "number asked, whole reading",
    "name paired with english",
    "person asked, person name",
    "place asked, place name",
    "organisation asked, organisation name",
    "name in dictionary",
    "first of its kind",
    "first sentence",
    "length",
    "unit dropped",
    "question terms in its clause",
)
FAMILIES = ("date", "number", "name")
"""The kinds of stretch the model weighs apart: each fills only its own copy of the features."""
SHORT_FEATURES = with_english_copies(tuple(f"{family}: {f}" for family in FAMILIES for f in _BASE_FEATURES))
"""The features of a candidate stretch, in the short-answer model's order: a copy of them for each
of :data:`FAMILIES` (a stretch fills only its own family's), then their English copies."""

_TRANSLITERATED = re.compile(f"[{HAN}]{{1,6}}(?:[·‧•・][{HAN}]{{1,8}})+")
"""A foreign name written in Chinese with a middle dot: 喬治·華盛頓."""
_SPEAKER = re.compile(f"(?<=[{HAN}])(?=表示|指出|說|说|稱|称|認為|认为|強調|强调|宣布|透露|坦言|撰文)")
_TITLE = re.compile(
    r"(?:部長|部长|外長|外长|總統|总统|發言人|发言人|司令|主席|總理|总理|顧問|顾问|助理|大使|議員|议员|首相|國務卿|国务卿"
    r"|委員長|委员长|將軍|将军|教授|博士|國王|国王|皇帝|院長|院长|市長|市长|董事長|董事长|總裁|总裁|作家|導演|导演)"
)
"""Titles that a person's name follows: 外交部長李洙墉, 發言人懷特."""
_PERSON_NAME = re.compile(r"[A-Z][a-z]+(?:-[a-z]+)?(?: [A-Z][a-z]+(?:-[A-Za-z][a-z]+)?){1,3}")
"""An English name of a person as a text pairs one with a Chinese one: Dana White, Kang Kyung-wha."""
_PLACE_END = re.compile(
    r"(?:市|縣|县|省|州|島|岛|港|營區|营区|營|营|基地|機場|机场|半島|半岛|灣|湾|區|区|鎮|镇|村|山|河|江|湖|道|郡|城)"
)
_ORGANISATION_END = re.compile(
    r"(?:部|署|局|委員會|委员会|協會|协会|公司|大學|大学|銀行|银行|組織|组织|聯盟|联盟|中心|研究所|研究院|學院|学院|黨|党"
    r"|集團|集团|政府|議會|议会|法院|報|报|社|電視台|电视台|司令部|聯軍|联军|理事會|理事会|基金會|基金会)"
)
_PLACE_GLOSS = re.compile(
    r"\b(?:city|province|county|country|capital|island|river|mountain|district|prefecture|town|state|port|region"
    r"|peninsula|lake|sea|base|village)\b",
    re.I,
)
_ORGANISATION_GLOSS = re.compile(
    r"\b(?:organi[sz]ation|agency|company|university|party|ministry|association|council|committee|bank|newspaper"
    r"|institute|department|office|bureau|corporation|league|union|army|command|group)\b",
    re.I,
)
_RANGE = re.compile(r"至|到|[-–—~～]")
"""What joins the two ends of a range of dates (9月18日至20日)."""
_CLAUSE = re.compile(r"[，,；;：:。！？!?（）()「」『』]")
"""What ends a clause: the stretch of a sentence in which a stretch's own question words count."""
_ASKS_PERCENT = re.compile(r"百分|比例|比率|比重|[%％]|\bper\s?cent(?:age)?\b|\bshare\b|\bproportion\b", re.I)


_PROPER_GLOSS = r"(?:\(\w+\)\s*)?[A-Z]"


@derived_table("cedict-proper-names", json.dumps([_PROPER_GLOSS, MAX_HEADWORD_CHARS, TOKENIZER_VERSION]))
def _proper_names() -> dict[str, str]:
    """CC-CEDICT's headwords (search form) glossed as proper names → their first gloss."""
    out = {}
    for term, entries in load_cedict().items():
        if 2 <= len(term) <= MAX_HEADWORD_CHARS:
            gloss = entries[0].glosses[0] if entries[0].glosses else ""
            if re.match(_PROPER_GLOSS, gloss):
                out[term] = gloss
    return out


@dataclass(frozen=True)
class Candidate:
    """A stretch of a quoted sentence that may be the short answer."""

    quote: int
    """Which of the answer's quotes it lies in."""
    span: Span
    """Offsets into that quote's text."""
    paired: str = ""
    """The English form the sentence gives it in parentheses (康京和 (Kang Kyung-wha))."""
    person: bool = False
    place: bool = False
    organisation: bool = False
    in_dictionary: bool = False


def name_candidates(text: str) -> list[Candidate]:
    """Stretches of ``text`` that may be names: terms it pairs with English, CC-CEDICT's proper
    names, names written with a middle dot, speakers (文正仁表示), places and organisations by how
    their names end (平澤市, 國防部)."""
    found: dict[tuple[int, int], dict[str, object]] = {}

    def add(start: int, end: int, **evidence: object) -> None:
        if end - start >= 2:
            slot = found.setdefault((start, end), {})
            slot.update({k: v for k, v in evidence.items() if v})

    for m in re.finditer(f"[{HAN}]{{2,12}}(?=\\s*[（(]\\s*([A-Za-z][A-Za-z0-9 .,'’&/\\-]{{1,80}}?)\\s*[)）])", text):
        english = m.group(1).strip(" .,")
        for start in range(m.start(), m.end() - 1):
            add(start, m.end(), paired=english, person=bool(_PERSON_NAME.fullmatch(english)) and m.end() - start <= 5)
    for m in _TITLE.finditer(text):
        for n in (2, 3, 4):
            if re.fullmatch(f"[{HAN}]{{{n}}}", text[m.end() : m.end() + n]):
                add(m.end(), m.end() + n, person=True)
    search = normalize_for_search(text)
    if len(search) == len(text):
        names, people = _proper_names(), load_cedict_people()
        for i in range(len(search)):
            for n in range(2, min(MAX_HEADWORD_CHARS, len(search) - i) + 1):
                word = search[i : i + n]
                if word in names or word in people:
                    gloss = names.get(word, "")
                    add(
                        i,
                        i + n,
                        in_dictionary=True,
                        person=word in people,
                        place=bool(_PLACE_GLOSS.search(gloss)),
                        organisation=bool(_ORGANISATION_GLOSS.search(gloss)),
                    )
    for m in _TRANSLITERATED.finditer(text):
        add(m.start(), m.end(), person=True)
    for m in _SPEAKER.finditer(text):
        for n in (2, 3, 4):
            if m.start() - n >= 0 and re.fullmatch(f"[{HAN}]+", text[m.start() - n : m.start()]):
                add(m.start() - n, m.start(), person=True)
    for pattern, kind in ((_PLACE_END, "place"), (_ORGANISATION_END, "organisation")):
        for m in pattern.finditer(text):
            for n in range(1, 6):
                start = m.start() - n
                if start >= 0 and re.fullmatch(f"[{HAN}]+", text[start : m.end()]):
                    add(start, m.end(), **{kind: True})
    return [
        Candidate(0, Span(a, b, AnswerType.PERSON), **evidence)  # type: ignore[arg-type]
        for (a, b), evidence in sorted(found.items())
    ]


_EVIDENCE = {AnswerType.PERSON: "person", AnswerType.PLACE: "place", AnswerType.ORGANISATION: "organisation"}


def typed_candidates(text: str, kind: AnswerType) -> list[Candidate]:
    """The stretches of ``text`` of the kind asked for; a name only with evidence of that kind
    (a person's name is not a place's)."""
    if kind in (AnswerType.YEAR, AnswerType.DATE):
        return [Candidate(0, s) for s in date_spans(text)]
    if kind is AnswerType.NUMBER:
        return [Candidate(0, s) for s in number_spans(text)]
    return [replace(c, span=c.span._replace(kind=kind)) for c in name_candidates(text) if getattr(c, _EVIDENCE[kind])]


def short_candidates(query: AnalyzedQuery, quotes: Sequence[Quote]) -> tuple[AnswerType | None, list[Candidate]]:
    """The kind of answer ``query`` asks for and the stretches of ``quotes`` of that kind (a name
    the question itself uses is not the answer to it)."""
    kind = asked_kind(query.text)
    if kind is None:
        return None, []
    found = [replace(c, quote=i) for i, q in enumerate(quotes) for c in typed_candidates(q.text, kind)]
    if kind in NAMES:
        asked = normalize_for_search(query.search_text)
        found = [c for c in found if normalize_for_search(quotes[c.quote].text[c.span.start : c.span.end]) not in asked]
    return kind, found


def _term_positions(text: str, terms: QuestionTerms) -> list[tuple[int, float]]:
    """Where in ``text`` the question's terms occur (a Chinese bigram or character, an English word
    or number), with their weights."""
    search = normalize_for_search(text)
    if len(search) != len(text):
        search = text
    out = []
    for term, weight in terms.weights.items():
        start = search.find(term)
        while start >= 0:
            out.append((start, weight))
            start = search.find(term, start + 1)
    return out


def _clause(text: str, start: int, end: int) -> tuple[int, int]:
    """The clause of ``text`` around ``text[start:end]``: from the last break before it to the next after."""
    before = [m.end() for m in _CLAUSE.finditer(text, 0, start)]
    after = _CLAUSE.search(text, end)
    return (before[-1] if before else 0), (after.start() if after else len(text))


def candidate_features(
    query: AnalyzedQuery, kind: AnswerType, texts: Sequence[str], candidates: Sequence[Candidate]
) -> np.ndarray:
    """The :data:`SHORT_FEATURES` of each candidate (``texts``: the quoted sentences they lie in)."""
    terms = QuestionTerms(query.expanded_text)
    positions = [_term_positions(t, terms) for t in texts]
    asked_digits = digits_of(query.text)
    asked_search = normalize_for_search(query.search_text)
    units = asked_units(query.search_text)  # what follows 多少 / 幾, or the English measure word
    percent = bool(_ASKS_PERCENT.search(query.text))
    day_asked = bool(ASKS_DAY.search(query.text))
    asked_dates = date_mentions(query.text)
    focus = quantity_focus(asked_search) if query.language != "en" else None
    focus_terms = QuestionTerms(focus) if focus else None
    focus_positions = [_term_positions(t, focus_terms) for t in texts] if focus_terms else None
    seen: set[tuple[int, AnswerType]] = set()
    rows = []
    for c in candidates:
        text, s = texts[c.quote], c.span
        stretch = text[s.start : s.end]
        end = s.end - len(s.unit)  # a number's readings with and without its unit stand in the same place
        inside = sum(w for p, w in positions[c.quote] if s.start <= p < end) / terms.total
        near = sum(w for p, w in positions[c.quote] if s.start - 2 * WINDOW <= p < end + 2 * WINDOW) / terms.total
        before = sum(w for p, w in positions[c.quote] if s.start - WINDOW <= p < s.start) / terms.total
        after = sum(w for p, w in positions[c.quote] if end <= p < end + WINDOW) / terms.total
        gaps = [min(abs(p - s.start), abs(p - end)) for p, _ in positions[c.quote]]
        digits = digits_of(stretch)
        follows = UNIT_AFTER.match(text, s.end) if s.kind is AnswerType.NUMBER and not s.unit else None
        counted = normalize_for_search(s.unit or (follows.group().strip(" 多餘余") if follows else ""))
        clause = _clause(text, s.start, s.end)
        in_clause = sum(w for p, w in positions[c.quote] if clause[0] <= p < clause[1]) / terms.total
        keys = date_mentions(stretch) if s.kind is AnswerType.DATE else set()
        year_only = bool(keys) and all(k.startswith("y") and not k.startswith("ym") for k in keys)
        month = any(k.startswith(("ym", "md")) for k in keys) or "月" in stretch
        day = any(k.startswith("md") for k in keys) or bool(re.search(r"[日號号]", stretch))
        first = (c.quote, s.kind) not in seen
        seen.add((c.quote, s.kind))
        rows.append(
            [
                inside,
                near,
                before,
                after,
                min(min(gaps, default=50), 50) / 10,
                bool(digits and digits <= asked_digits) or normalize_for_search(stretch) in asked_search,
                bool(counted and counted in units),
                bool(s.unit) and normalize_for_search(s.unit) in asked_search,
                percent and s.unit in ("%", "％"),
                sum(w for p, w in focus_positions[c.quote] if s.start - WINDOW <= p < s.end + WINDOW)
                / focus_terms.total
                if focus_positions and focus_terms
                else 0.0,
                bool(asked_dates & date_mentions(text[max(0, s.start - WINDOW) : s.start])),
                bool(s.unit),
                s.approximate,
                not digits and s.kind is not AnswerType.PERSON,
                bool(re.fullmatch(r"[\d,.]+", stretch)),
                kind is AnswerType.YEAR and year_only,
                kind is AnswerType.YEAR and month,
                kind is AnswerType.DATE and day,
                day_asked and day,
                kind is AnswerType.DATE and month,
                kind is AnswerType.DATE and year_only,
                bool(_RANGE.search(stretch)),
                kind is AnswerType.NUMBER and bool(s.unit) and not s.approximate,
                bool(c.paired),
                kind is AnswerType.PERSON and c.person,
                kind is AnswerType.PLACE and c.place,
                kind is AnswerType.ORGANISATION and c.organisation,
                c.in_dictionary,
                first,
                c.quote == 0,
                len(stretch) / 10,
                follows is not None,
                in_clause,
            ]
        )
    base = np.array(rows, dtype=np.float64).reshape(len(candidates), len(_BASE_FEATURES))
    family = "name" if kind in NAMES else "number" if kind is AnswerType.NUMBER else "date"
    blocks = [base if f == family else np.zeros_like(base) for f in FAMILIES]
    return english_copies(np.hstack(blocks), query.language)


def english_date(text: str) -> str | None:
    """A single date of Chinese text as English writes it (2018年6月12日 → June 12, 2018); ``None``
    for a range or what :func:`~qa.abstention.date_mentions` cannot read."""
    if _RANGE.search(text):
        return None
    keys = date_mentions(text)
    year = [k for k in keys if k.startswith("y") and not k.startswith("ym")]
    month = [k for k in keys if k.startswith("ym")]
    day = [k for k in keys if k.startswith("md")]
    if len(year) > 1 or len(month) > 1 or len(day) > 1 or not keys:
        return None
    if day and month:
        return f"{describe(day[0], 'en')}, {month[0][2:].split('-')[0]}"
    return describe((day or month or year)[0], "en")


def shown_in(language: str, stretch: str, candidate: Candidate, english: str | None) -> str:
    """The short answer as a reader of ``language`` sees it: for an English question a date or
    number written the English way and a name in the English the documents give, the stretch
    itself in parentheses; for a Chinese question the stretch."""
    if language != "en":
        return stretch
    if candidate.span.kind is AnswerType.DATE:
        english = english_date(stretch)
    elif candidate.span.kind is AnswerType.NUMBER:
        value = number_value(stretch)
        english = None if value is None else written_number(value)
    if not english or english == stretch:
        return stretch
    return f"{english} ({stretch})"


class ShortAnswerer:
    """Put the fact first: the stretch of an answer's quoted sentences that the fitted model
    (:data:`SHORT_FEATURES`) rates best among those of the kind the question asks for."""

    def __init__(self, model: LinearModel, documents: Mapping[str, str] | None = None) -> None:
        """``documents`` (id → text) are where a name's English form is looked up when its own
        sentence does not give it."""
        self.columns = model.columns(SHORT_FEATURES)
        self.model = model
        self.documents = dict(documents or {})

    def best(self, query: AnalyzedQuery, quotes: Sequence[Quote]) -> Candidate | None:
        """The candidate the model rates best, ``None`` when there is none of the kind asked for."""
        kind, found = short_candidates(query, quotes)
        if kind is None or not found:
            return None
        x = candidate_features(query, kind, [q.text for q in quotes], found)
        return found[int(np.argmax(self.model.logits(x[:, self.columns])))]

    def run(self, query: AnalyzedQuery, answer: Answer) -> Answer:
        """``answer`` with its short answer: as shown (``short``) and as the document writes it
        (``short_quote``, with document offsets); unchanged when it abstained or no stretch fits."""
        if answer.abstained or not answer.quotes:
            return answer
        best = self.best(query, answer.quotes)
        if best is None:
            return answer
        quote = answer.quotes[best.quote]
        stretch = quote.text[best.span.start : best.span.end]
        english = best.paired
        if best.span.kind in NAMES and not english and query.language == "en":
            english = paired_english(stretch, self.documents.values()) or ""
        short = Quote(
            quote.citation_id, quote.marker, stretch, quote.start + best.span.start, quote.start + best.span.end
        )
        return replace(answer, short=shown_in(query.language, stretch, best, english), short_quote=short)
