"""Query analysis, the first stage: a question cleaned, its language form found, and, for an English
question over Chinese documents, the documents' own terms for its phrases added to its search."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace

from corpus.dates import chinese_dates
from corpus.parsing import CONTROL_CHARACTERS, INVISIBLE_CHARACTERS, SURROGATES
from index.lexicon import BilingualLexicon
from qa.errors import InvalidRequestError, SettingsError
from qa.language import AnalyzedQuery, analyze

_CONTROL = re.compile(f"[{CONTROL_CHARACTERS}]")
_INVISIBLE = re.compile(f"[{INVISIBLE_CHARACTERS}]")
"""Zero-width, soft-hyphen and bidi-control characters: dropped from questions so that 川\u200b普 is 川普."""
_SURROGATE = re.compile(f"[{SURROGATES}]")
"""Half of a UTF-16 pair, alone: dropped from questions."""


class QueryAnalyzer:
    """A question as the later stages read it (:class:`~qa.language.AnalyzedQuery`)."""

    def __init__(
        self,
        lexicon: BilingualLexicon,
        english_words: Callable[[], Collection[str]],
        *,
        expand_english: bool = True,
        weigh_lexical_by_coverage: bool = True,
        max_chars: int = 2000,
    ) -> None:
        """``english_words()``: the English words the documents use (read when first needed);
        ``max_chars``: longer questions are cut to their first ``max_chars`` characters."""
        if max_chars < 1:
            raise SettingsError(f"max_question_chars must be at least 1, got {max_chars}")
        self.lexicon = lexicon
        self.english_words = english_words
        self.expand_english = expand_english
        self.weigh_lexical_by_coverage = weigh_lexical_by_coverage
        self.max_chars = max_chars

    def run(self, question: str) -> AnalyzedQuery:
        """The analysed question; :class:`InvalidRequestError` when it is not text or is empty."""
        if not isinstance(question, str):
            raise InvalidRequestError(f"the question must be text, not {type(question).__name__}")
        text = _CONTROL.sub(" ", _INVISIBLE.sub("", _SURROGATE.sub("", question))).strip()
        text = text[: self.max_chars].strip()
        if not text:
            raise InvalidRequestError("the question is empty; type a question about the document")
        query = analyze(text)
        if not self.expand_english:
            return query
        if query.language == "en":
            carried = self.lexicon.carry_over(query.text, self.english_words().__contains__)
            return replace(
                query,
                expansion=(*carried.terms, *chinese_dates(query.text)),
                lexical_coverage=carried.coverage if self.weigh_lexical_by_coverage else 1.0,
            )
        if self.lexicon.bridges_to_english:
            return replace(query, expansion=tuple(self.lexicon.to_english(query.search_text)))
        return query

    def previous(self, history: Sequence[str]) -> AnalyzedQuery | None:
        """The last question of ``history`` that can be analysed, if any."""
        for earlier in reversed(history):
            try:
                return self.run(earlier)
            except InvalidRequestError:
                continue
        return None

    def notice(self, question: str) -> str:
        """What the reader should know about how ``question`` is taken (empty if nothing): that a
        question longer than ``max_chars`` is searched on its first characters."""
        n = len(question.strip()) if isinstance(question, str) else 0
        if n <= self.max_chars:
            return ""
        return f"The question is {n:,} characters long; only its first {self.max_chars:,} were used."
