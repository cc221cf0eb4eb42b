"""Retrievers over a :class:`index.store.PassageIndex` (dense, sentence-level, BM25), and their fusion."""

from __future__ import annotations

import functools
import math
from collections.abc import Collection, Mapping, Sequence
from typing import NamedTuple

import numpy as np

from corpus.dates import YearContext, date_mentions
from index.embedders import Embedder
from index.store import PassageStore
from qa.language import AnalyzedQuery, Language
from qa.references import asks_for_source, reference_share

LEXICAL = "bm25"
DATES = "dates"
"""The key of the question's dates' weight in a fusion-weight table."""
SENTENCES = ":sentences"
"""Suffix of a sentence-level retriever's name in fusion weights: ``"e5:sentences"``."""
SENTENCES_PER_PASSAGE = 8
"""Sentences searched per passage wanted, so that max-pooling still yields enough passages."""


def _only(doc_ids: Collection[str] | None) -> dict[str, Collection[str]]:
    """The ``doc_ids`` keyword for a store's search, only when there is a filter (so that a store
    without filtering still serves unfiltered searches)."""
    return {} if doc_ids is None else {"doc_ids": doc_ids}


class Hit(NamedTuple):
    """A passage row of the index and its score from one retriever (or the fusion)."""

    row: int
    score: float


class DenseRetriever:
    """Nearest passages by cosine similarity of one embedder's vectors (FAISS)."""

    def __init__(self, index: PassageStore, embedder: Embedder, top_k: int = 50) -> None:
        if embedder.name not in index.dense:
            raise ValueError(f"the index has no vectors from {embedder.name!r}")
        if top_k < 1:
            raise ValueError("top_k must be at least 1")
        self.index = index
        self.embedder = embedder
        self.name = embedder.name
        self.top_k = top_k

    def embed(self, query: AnalyzedQuery) -> np.ndarray:
        return self.embedder.embed_queries([query.expanded_text])[0]

    def run(
        self,
        query: AnalyzedQuery,
        top_k: int | None = None,
        vector: np.ndarray | None = None,
        doc_ids: Collection[str] | None = None,
    ) -> list[Hit]:
        """Nearest passages (of the documents ``doc_ids``, if given); pass ``vector`` when the query
        was already embedded with this embedder."""
        vector = self.embed(query) if vector is None else vector
        return [Hit(r, s) for r, s in self.index.search_dense(self.name, vector, top_k or self.top_k, **_only(doc_ids))]


class SentenceRetriever:
    """Passages ranked by their best sentence under one embedder: finer than whole passages, so a
    question meets the one sentence that answers it rather than a passage's average."""

    def __init__(self, index: PassageStore, embedder_name: str, top_k: int = 50) -> None:
        if embedder_name not in index.sentence_dense:
            raise ValueError(f"the index has no sentence vectors from {embedder_name!r}")
        if top_k < 1:
            raise ValueError("top_k must be at least 1")
        self.index = index
        self.name = embedder_name
        self.top_k = top_k

    def run(self, vector: np.ndarray, top_k: int | None = None, doc_ids: Collection[str] | None = None) -> list[Hit]:
        """Passages by best sentence; ``vector`` is the question embedded by the same embedder."""
        k = top_k or self.top_k
        hits = self.index.search_sentences(self.name, vector, SENTENCES_PER_PASSAGE * k, **_only(doc_ids))
        return [Hit(r, s) for r, s in hits[:k]]


class LexicalRetriever:
    """BM25 over Chinese character unigrams/bigrams and English words."""

    name = LEXICAL

    def __init__(self, index: PassageStore, top_k: int = 50) -> None:
        if top_k < 1:
            raise ValueError("top_k must be at least 1")
        self.index = index
        self.top_k = top_k

    def run(self, query: AnalyzedQuery, top_k: int | None = None, doc_ids: Collection[str] | None = None) -> list[Hit]:
        k = top_k or self.top_k
        return [Hit(r, s) for r, s in self.index.search_lexical(query.expanded_text, k, **_only(doc_ids))]


class SentenceLexicalRetriever(LexicalRetriever):
    """BM25 over single sentences, passages ranked by their best sentence."""

    name = LEXICAL + SENTENCES

    def run(self, query: AnalyzedQuery, top_k: int | None = None, doc_ids: Collection[str] | None = None) -> list[Hit]:
        k = top_k or self.top_k
        return [Hit(r, s) for r, s in self.index.search_lexical_sentences(query.expanded_text, k, **_only(doc_ids))]


class RankFuser:
    """Weighted reciprocal-rank fusion: ``score = Σ w_r / (k + rank_r)``.

    ``weights`` maps a query language to per-retriever weights (a retriever missing from the
    mapping gets weight 1); weights are calibrated on the evaluation data per language, never
    per question.
    """

    def __init__(self, weights: Mapping[str, Mapping[str, float]] | None = None, k: int = 60) -> None:
        if k < 0:
            raise ValueError("k must be non-negative")
        for language, table in (weights or {}).items():
            if any(w < 0 for w in table.values()):
                raise ValueError(f"fusion weights for {language} must be non-negative")
        self.weights = {lang: dict(table) for lang, table in (weights or {}).items()}
        self.k = k

    def weight(self, language: Language, retriever: str, scale: Mapping[str, float] | None = None) -> float:
        """A retriever's weight for a query language, times its ``scale`` for this query (if given)."""
        return self.weights.get(language, {}).get(retriever, 1.0) * (scale or {}).get(retriever, 1.0)

    def run(
        self, rankings: Mapping[str, list[Hit]], language: Language, scale: Mapping[str, float] | None = None
    ) -> list[Hit]:
        """Fused hits, best first; ``scale`` multiplies some retrievers' weights for this query."""
        fused: dict[int, float] = {}
        for name, hits in rankings.items():
            w = self.weight(language, name, scale)
            if w == 0:
                continue
            for rank, hit in enumerate(hits, start=1):
                fused[hit.row] = fused.get(hit.row, 0.0) + w / (self.k + rank)
        return [Hit(r, s) for r, s in sorted(fused.items(), key=lambda item: (-item[1], item[0]))]


class ScoreFuser(RankFuser):
    """Weighted sum of min-max normalised scores: ``score = Σ w_r · (s - min_r) / (max_r - min_r)``.

    Each retriever's scores are scaled over its own candidate list, so a passage that one strong
    member scores far above the rest keeps that margin, where rank fusion would flatten it to
    "first". Weights as in :class:`RankFuser`.
    """

    def run(
        self, rankings: Mapping[str, list[Hit]], language: Language, scale: Mapping[str, float] | None = None
    ) -> list[Hit]:
        fused: dict[int, float] = {}
        for name, hits in rankings.items():
            w = self.weight(language, name, scale)
            if w == 0 or not hits:
                continue
            high, low = hits[0].score, hits[-1].score
            span = high - low
            for hit in hits:
                fused[hit.row] = fused.get(hit.row, 0.0) + w * ((hit.score - low) / span if span > 0 else 1.0)
        return [Hit(r, s) for r, s in sorted(fused.items(), key=lambda item: (-item[1], item[0]))]


class DateMatcher:
    """Passages that mention the dates a question names ("截至2018年9月20日", "on June 22").

    BM25 sees a date only as common digits and characters (``2018``, ``9``, ``月``), so the one
    passage that holds "2018年9月20日" gains little over any other of 2018. Here each date of the
    question (a year, a month of a year, a day of a month; Chinese or English forms) counts by how
    rare it is among the passages: ``score = Σ idf(date) / log N`` over the dates a passage shares.
    """

    def __init__(self, texts: Sequence[str], documents: Sequence[str] | None = None) -> None:
        """``documents``: the document id of each text, when the texts are passages in document
        order; a month a passage names without its year then reads in the year named before it,
        in that passage or an earlier one of its document (see :class:`corpus.dates.YearContext`)."""
        if documents is not None and len(documents) != len(texts):
            raise ValueError("documents must give one document id per text")
        self._rows: dict[str, list[int]] = {}
        context, previous = YearContext(), None
        for row, text in enumerate(texts):
            document = documents[row] if documents is not None else row
            if document != previous:
                context, previous = YearContext(), document
            for key in context.read(text):
                self._rows.setdefault(key, []).append(row)
        self._n = len(texts)
        self._norm = math.log(self._n) if self._n > 1 else 1.0

    def run(self, query: AnalyzedQuery, rows: Collection[int] | None = None) -> dict[int, float]:
        """Passage row → score, for the passages (of ``rows``, if given) sharing a date with ``query``."""
        scores: dict[int, float] = {}
        for key in date_mentions(query.expanded_text):
            matched = self._rows.get(key, [])
            if not matched:
                continue
            weight = math.log(self._n / len(matched)) / self._norm
            for row in matched:
                if rows is None or row in rows:
                    scores[row] = scores.get(row, 0.0) + weight
        return scores


class EvidenceAdjuster:
    """Adjusts fused scores by what a passage holds: ``date_weight`` × its :class:`DateMatcher`
    score, minus ``reference_penalty`` × its share of bibliographic references (plus
    ``source_boost`` × that share instead, when the question asks for a source)."""

    def __init__(
        self,
        texts: Sequence[str],
        documents: Sequence[str] | None = None,
        *,
        date_weight: float = 2.0,
        reference_penalty: float = 0.25,
        source_boost: float = 1.0,
    ) -> None:
        if min(date_weight, reference_penalty, source_boost) < 0:
            raise ValueError("date_weight, reference_penalty and source_boost must be non-negative")
        self._texts = texts
        self._documents = documents
        self.date_weight = date_weight
        self.reference_penalty = reference_penalty
        self.source_boost = source_boost

    @functools.cached_property
    def dates(self) -> DateMatcher:
        return DateMatcher(self._texts, self._documents)

    @functools.cached_property
    def references(self) -> dict[int, float]:
        """Row → reference share, for the passages holding any reference."""
        return {row: share for row, text in enumerate(self._texts) if (share := reference_share(text)) > 0}

    def run(self, query: AnalyzedQuery, hits: list[Hit], date_weight: float | None = None) -> list[Hit]:
        """``hits`` (fused, best first) with adjusted scores, best first again; ``date_weight`` for
        this question instead of the adjuster's."""
        scores = {h.row: h.score for h in hits}
        weight = self.date_weight if date_weight is None else date_weight
        if weight:
            for row, score in self.dates.run(query, scores).items():
                scores[row] += weight * score
        factor = self.source_boost if asks_for_source(query.text) else -self.reference_penalty
        if factor:
            for row, share in self.references.items():
                if row in scores:
                    scores[row] += factor * share
        return [Hit(r, s) for r, s in sorted(scores.items(), key=lambda item: (-item[1], item[0]))]
