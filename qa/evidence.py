"""Evidence that adjusts fused scores: the question's dates a passage mentions, and bibliographic
references (a penalty, or a boost when the question asks for a source)."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Collection, Sequence

from corpus.dates import YearContext, date_mentions
from qa.errors import SettingsError
from qa.language import AnalyzedQuery, Language
from qa.references import asks_for_source, reference_share
from qa.retrieval import Hit


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
    """Adjusts fused scores by what a passage holds: the date weight × its :class:`DateMatcher`
    score, minus ``reference_penalty`` × its share of bibliographic references (plus
    ``source_boost`` × that share instead, when the question asks for a source)."""

    def __init__(
        self,
        texts: Sequence[str],
        documents: Sequence[str] | None = None,
        *,
        date_weight: float | Callable[[Language], float] = 2.0,
        reference_penalty: float = 0.25,
        source_boost: float = 1.0,
    ) -> None:
        """``date_weight``: one weight, or the weight for a question's language (e.g.
        :meth:`qa.fusion.FusionWeights.dates`)."""
        weights = [reference_penalty, source_boost] + ([] if callable(date_weight) else [date_weight])
        if min(weights) < 0:
            raise SettingsError("date_weight, reference_penalty and source_boost must be non-negative")
        self._texts = texts
        self._documents = documents
        self._date_weight = date_weight
        self.reference_penalty = reference_penalty
        self.source_boost = source_boost

    @functools.cached_property
    def dates(self) -> DateMatcher:
        return DateMatcher(self._texts, self._documents)

    @functools.cached_property
    def references(self) -> dict[int, float]:
        """Row → reference share, for the passages holding any reference."""
        return {row: share for row, text in enumerate(self._texts) if (share := reference_share(text)) > 0}

    def date_weight(self, language: Language) -> float:
        return self._date_weight(language) if callable(self._date_weight) else self._date_weight

    def run(self, query: AnalyzedQuery, hits: list[Hit], *, date_weight: float | None = None) -> list[Hit]:
        """``hits`` (fused, best first) with adjusted scores, best first again; ``date_weight`` for
        this question instead of the adjuster's."""
        scores = {h.row: h.score for h in hits}
        weight = self.date_weight(query.language) if date_weight is None else date_weight
        if weight:
            for row, score in self.dates.run(query, scores).items():
                scores[row] += weight * score
        factor = self.source_boost if asks_for_source(query.text) else -self.reference_penalty
        if factor:
            for row, share in self.references.items():
                if row in scores:
                    scores[row] += factor * share
        return [Hit(r, s) for r, s in sorted(scores.items(), key=lambda item: (-item[1], item[0]))]
