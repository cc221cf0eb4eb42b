"""Fitted passage ranking: each retriever's evidence for a candidate passage, weighed by a model
fitted on public question sets (``benchmarks/fit.py``), not by hand.

Every passage that any retriever returns is a candidate. Its features are, for each retriever, its
min-max scaled score and reciprocal rank, the rarity of the question's dates it mentions, and its
share of bibliographic references (and that share when the question asks for a source); an English
question has a second copy of each, and BM25's scaled scores times the share of its words lexical
search can match. The model's probability that the passage answers is its score. (Richer features —
how far a cosine lies below the best, the share of the question's words a passage holds, the kind of
answer it holds, its length — scored the same on the external sets' held-out folds and worse on the
chapter's question sets, so they were left out.)
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

import numpy as np

from index.tokenize import tokenize
from qa.evidence import DateMatcher
from qa.fitted import LinearModel, english_copies, with_english_copies
from qa.language import AnalyzedQuery
from qa.question_types import AnswerType, holds_type
from qa.references import asks_for_source
from qa.retrieval import LEXICAL, Granularity, Hit, Rankings, RetrieverId

_SENTENCE = Granularity.SENTENCE
DENSE_MEMBERS = (RetrieverId("e5"), RetrieverId("use"), RetrieverId("e5", _SENTENCE), RetrieverId("use", _SENTENCE))
LEXICAL_MEMBERS = (RetrieverId(LEXICAL), RetrieverId(LEXICAL, _SENTENCE))
MEMBERS = (*DENSE_MEMBERS, *LEXICAL_MEMBERS)
"""The retrievers whose rankings the fitted model reads."""


def _base_features() -> tuple[str, ...]:
    names = [f"{m} {kind}" for m in MEMBERS for kind in ("scaled", "1/rank")]
    return (*names, "dates", "references", "references, source asked")


BASE_FEATURES = _base_features()
FEATURES = (
    *with_english_copies(BASE_FEATURES),
    *(f"en: coverage × {m} scaled" for m in LEXICAL_MEMBERS),
)
"""The features of a candidate passage, in the model's order."""


class CandidateFeatures:
    """The :data:`FEATURES` of every candidate passage of a question; ``texts`` are the indexed
    passages, ``dates`` and ``references`` (row → share of bibliographic references) describe them."""

    def __init__(self, texts: Sequence[str], dates: DateMatcher, references: Mapping[int, float]) -> None:
        self.texts = texts
        self.dates = dates
        self.references = references
        self._tokens: dict[int, frozenset[str]] = {}
        self._holds: dict[tuple[int, AnswerType], bool] = {}
        self._lock = threading.Lock()

    def tokens(self, row: int) -> frozenset[str]:
        """A passage's search tokens (kept once read)."""
        found = self._tokens.get(row)
        if found is None:
            found = frozenset(tokenize(self.texts[row]))
            with self._lock:
                self._tokens[row] = found
        return found

    def holds(self, row: int, kind: AnswerType | None) -> bool:
        """Whether a passage holds an answer of ``kind`` (kept once read; see :func:`holds_type`)."""
        if kind is None:
            return False
        found = self._holds.get((row, kind))
        if found is None:
            found = holds_type(self.texts[row], kind)
            with self._lock:
                self._holds[row, kind] = found
        return found

    def run(self, query: AnalyzedQuery, rankings: Rankings) -> tuple[np.ndarray, np.ndarray]:
        """The candidate rows (every row some retriever returned, ascending) and their feature matrix."""
        if not all(isinstance(rid, RetrieverId) for rid in rankings):
            raise TypeError(f"rankings are keyed by RetrieverId, got {[type(k).__name__ for k in rankings]}")
        rows = np.array(sorted({h.row for hits in rankings.values() for h in hits}), dtype=np.int64)
        position = {int(r): i for i, r in enumerate(rows)}
        base = np.zeros((len(rows), len(BASE_FEATURES)))
        column = {name: i for i, name in enumerate(BASE_FEATURES)}
        for member in MEMBERS:
            hits = rankings.get(member) or []
            if not hits:
                continue
            scores = np.array([h.score for h in hits])
            at = np.array([position[h.row] for h in hits])
            high, low = scores.max(), scores.min()
            base[at, column[f"{member} scaled"]] = (scores - low) / (high - low) if high > low else 1.0
            base[at, column[f"{member} 1/rank"]] = 1.0 / np.arange(1, len(hits) + 1)
        for row, score in self.dates.run(query, position).items():
            base[position[row], column["dates"]] = score
        asked = asks_for_source(query.text)
        for row, i in position.items():
            share = self.references.get(row, 0.0)
            base[i, column["references"]] = share
            base[i, column["references, source asked"]] = share if asked else 0.0
        coverage = np.zeros((len(rows), 2))
        if query.language == "en":
            coverage = query.lexical_coverage * base[:, [column[f"{m} scaled"] for m in LEXICAL_MEMBERS]]
        return rows, np.hstack([english_copies(base, query.language), coverage])


class FittedRanker:
    """Candidate passages scored by a fitted :class:`~qa.fitted.LinearModel` over their
    :class:`CandidateFeatures`; scores are probabilities."""

    def __init__(self, model: LinearModel, features: CandidateFeatures) -> None:
        self.columns = model.columns(FEATURES)
        self.model = model
        self.features = features

    def reads(self, query: AnalyzedQuery, retriever: RetrieverId) -> bool:
        """Whether the model reads ``retriever``'s ranking."""
        return retriever in MEMBERS

    def run(self, query: AnalyzedQuery, rankings: Rankings) -> list[Hit]:
        """Every candidate passage with the model's probability that it answers ``query``, best first."""
        rows, x = self.features.run(query, rankings)
        if not len(rows):
            return []
        scores = self.model.probabilities(x[:, self.columns])
        order = np.lexsort((rows, -scores))
        return [Hit(int(rows[i]), float(scores[i])) for i in order]
