"""Whether a question is about what a collection holds at all: a model fitted on public question sets.

``benchmarks/fit_off_topic.py`` asks each question of XQuAD a and DRCD dev twice: of its own set,
which holds its article (answerable), and of the same set with its whole article taken out, other
Wikipedia articles on other subjects (not answerable: the question is about something the collection
does not hold). A logistic regression reads what retrieval found and what the collection holds: the
best e5 and USE cosines, the share of the question's terms in the best passages, and the share (and
count) of its terms written anywhere in the collection. Its threshold is set on the folds left out
of the fit so that few answerable questions are refused there. Nothing here depends on the ranking
method, so the model judges every pipeline whose e5 and USE passage retrievers run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np

from index.lexicon import MAX_PHRASE_WORDS, BilingualLexicon, english_words
from index.tokenize import tokenize
from qa.fitted import ThresholdJudge, english_copies, with_english_copies
from qa.language import AnalyzedQuery
from qa.question_types import ZH_QUESTION_WORDS, QuestionTerms
from qa.retrieval import Granularity, Rankings, RetrieverId

COSINES = (RetrieverId("e5"), RetrieverId("use"))
"""The passage retrievers whose best cosine the model reads (they run for every question)."""
_BASE = (
    *(f"{m} best cosine" for m in COSINES),
    "question terms in the best passages",
    "question terms in the collection",
    "question terms not in the collection",
    "question tokens",
)
OFF_TOPIC_FEATURES = with_english_copies(_BASE)


class CollectionTerms:
    """What a collection writes, as two tests: a search token (``tokenize``'s, two characters or
    more) and a stemmed English word; with the lexicon that carries English phrases to its terms."""

    def __init__(
        self, has_token: Callable[[str], bool], has_english: Callable[[str], bool], lexicon: BilingualLexicon
    ) -> None:
        self.has_token = has_token
        self.has_english = has_english
        self.lexicon = lexicon

    def writes(self, term: str) -> bool:
        """Whether the collection writes ``term`` (a Chinese term: each of its bigrams)."""
        tokens = [t for t in tokenize(term) if len(t) > 1]
        return bool(tokens) and all(self.has_token(t) for t in tokens)

    def held(self, query: AnalyzedQuery) -> tuple[int, int]:
        """How many of the question's terms the collection writes, and how many terms it has: for a
        Chinese question its tokens (question words left out), for an English one its content words,
        each held when the collection writes it, a number, or a Chinese term the lexicon gives for
        a phrase it is part of."""
        if query.language == "en":
            words = english_words(query.text)
            held = [w.isdigit() or self.has_english(w) for w in words]
            for n in range(min(MAX_PHRASE_WORDS, len(words)), 0, -1):
                for i in range(len(words) - n + 1):
                    if not all(held[i : i + n]) and any(
                        self.writes(t) for t in self.lexicon.terms.get(" ".join(words[i : i + n]), ())
                    ):
                        held[i : i + n] = [True] * n
            return sum(held), len(words)
        terms = {t for t in tokenize(ZH_QUESTION_WORDS.sub("，", query.search_text)) if len(t) > 1}
        return sum(self.has_token(t) for t in terms), len(terms)


def off_topic_features(
    query: AnalyzedQuery,
    rankings: Rankings,
    terms: CollectionTerms,
    passage_tokens: Callable[[int], Iterable[str]],
    top: int = 3,
) -> np.ndarray | None:
    """The :data:`OFF_TOPIC_FEATURES` of a question from each retriever's ranking, what the collection
    writes and the tokens of a passage by row (``top``: how many best passages of each passage
    retriever, e5, USE and BM25, are read); ``None`` when the e5 or USE ranking is missing."""
    if not all(m in rankings for m in COSINES):
        return None
    question = QuestionTerms(query.expanded_text)
    rows = {h.row for rid, hits in rankings.items() if rid.granularity is Granularity.PASSAGE for h in hits[:top]}
    held, total = terms.held(query)
    base = np.array(
        [
            *(rankings[m][0].score if rankings[m] else 0.0 for m in COSINES),
            max((question.share(passage_tokens(r)) for r in rows), default=0.0),
            held / total if total else 1.0,
            math.log1p(total - held),
            math.log1p(len(question.weights)),
        ],
        dtype=np.float64,
    )
    return english_copies(base, query.language)


class OffTopicJudge(ThresholdJudge):
    """Whether a question is about something the collection does not hold: the probability of it,
    at or above the fitted model's threshold."""

    features = OFF_TOPIC_FEATURES
    what = "the off-topic model"
