"""Fusion: the retrievers' rankings of one question made into one, by weights per query language."""

from __future__ import annotations

from collections.abc import Mapping

from qa.errors import SettingsError
from qa.language import LANGUAGES, AnalyzedQuery, Language
from qa.retrieval import DATES, Hit, Rankings, RetrieverId


class FusionWeights:
    """Per query language, each retriever's weight (a retriever missing from a table weighs 1) and
    the date evidence's (``"dates"``, else ``date_weight``); checked when made."""

    def __init__(self, tables: Mapping[str, Mapping[str, float]] | None = None, date_weight: float = 0.0) -> None:
        self.retrievers: dict[str, dict[RetrieverId, float]] = {}
        self._dates: dict[str, float] = {}
        if date_weight < 0:
            raise SettingsError(f"date_weight must be non-negative, got {date_weight}")
        self.date_weight = date_weight
        for language, table in (tables or {}).items():
            if language not in LANGUAGES:
                raise SettingsError(f"fusion weights for unknown language {language!r}; use {LANGUAGES}")
            for key, weight in table.items():
                if not isinstance(weight, int | float) or weight < 0:
                    raise SettingsError(f"fusion weight {language}/{key} must be a non-negative number, got {weight!r}")
            self.retrievers[language] = {RetrieverId.parse(k): float(w) for k, w in table.items() if k != DATES}
            if DATES in table:
                self._dates[language] = float(table[DATES])

    def weight(self, language: Language, retriever: RetrieverId) -> float:
        return self.retrievers.get(language, {}).get(retriever, 1.0)

    def dates(self, language: Language) -> float:
        """The date evidence's weight for questions in ``language``."""
        return self._dates.get(language, self.date_weight)

    def named(self) -> set[RetrieverId]:
        """Every retriever some table names."""
        return {rid for table in self.retrievers.values() for rid in table}


class RankFuser:
    """Weighted reciprocal-rank fusion: ``score = Σ w_r / (k + rank_r)``; BM25's weight for an
    English question is scaled by the share of its words lexical search can match."""

    def __init__(self, weights: FusionWeights | Mapping[str, Mapping[str, float]] | None = None, k: int = 60) -> None:
        if k < 0:
            raise SettingsError(f"k must be non-negative, got {k}")
        self.weights = weights if isinstance(weights, FusionWeights) else FusionWeights(weights)
        self.k = k

    def weight(self, query: AnalyzedQuery, retriever: RetrieverId) -> float:
        """A retriever's weight for this question."""
        scale = query.lexical_coverage if retriever.is_lexical else 1.0
        return self.weights.weight(query.language, retriever) * scale

    def reads(self, query: AnalyzedQuery, retriever: RetrieverId) -> bool:
        """Whether the fusion reads ``retriever``'s ranking for ``query``'s language."""
        return self.weights.weight(query.language, retriever) > 0

    def run(self, query: AnalyzedQuery, rankings: Rankings) -> list[Hit]:
        """Fused hits, best first."""
        fused: dict[int, float] = {}
        for rid, hits in rankings.items():
            w = self.weight(query, rid)
            if w == 0:
                continue
            for rank, hit in enumerate(hits, start=1):
                fused[hit.row] = fused.get(hit.row, 0.0) + w / (self.k + rank)
        return _best_first(fused)


class ScoreFuser(RankFuser):
    """Weighted sum of min-max normalised scores: ``score = Σ w_r · (s - min_r) / (max_r - min_r)``.

    Each retriever's scores are scaled over its own candidate list, so a passage that one strong
    member scores far above the rest keeps that margin, where rank fusion would flatten it to
    "first". Weights as in :class:`RankFuser`.
    """

    def run(self, query: AnalyzedQuery, rankings: Rankings) -> list[Hit]:
        fused: dict[int, float] = {}
        for rid, hits in rankings.items():
            w = self.weight(query, rid)
            if w == 0 or not hits:
                continue
            high, low = hits[0].score, hits[-1].score
            span = high - low
            for hit in hits:
                fused[hit.row] = fused.get(hit.row, 0.0) + w * ((hit.score - low) / span if span > 0 else 1.0)
        return _best_first(fused)


def _best_first(scores: Mapping[int, float]) -> list[Hit]:
    return [Hit(r, s) for r, s in sorted(scores.items(), key=lambda item: (-item[1], item[0]))]
