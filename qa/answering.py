"""Extractive answers: the best sentence or two of the top passages, with ``[n]`` markers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from corpus.dates import date_mentions
from index.embedders import Embedder
from index.sentences import sentence_spans
from index.tokenize import token_set
from qa.fitted import LinearModel, english_copies, with_english_copies
from qa.language import AnalyzedQuery, Language
from qa.model import Answer, Citation, Quote
from qa.question_types import QuestionTerms, asked_type, holds_type
from qa.references import asks_for_source, is_reference

SIMILARITIES = ("e5", "use")
"""The embedders (by settings key) whose question–sentence cosines are features of a sentence."""
_BASE_FEATURES = (
    "question terms",
    *(f"{key} cosine" for key in SIMILARITIES),
    "passage score",
    "passage 1/rank",
    "answer type",
    "dates asked",
    "reference",
    "reference, source asked",
    "length",
)
SENTENCE_FEATURES = with_english_copies(_BASE_FEATURES)
"""The features of a candidate answer sentence, in the answer model's order."""


def _is_heading(sentence: Sentence) -> bool:
    return sentence.text in sentence.citation.section


NO_ANSWER: dict[Language, str] = {
    "zh-Hant": "文件中沒有找到這個問題的答案；以下是最接近的段落。",
    "zh-Hans": "文件中没有找到这个问题的答案；以下是最接近的段落。",
    "en": "The document does not seem to answer this question; the closest passages are listed below.",
}


@dataclass(frozen=True)
class Sentence:
    """A sentence of a cited passage, with its span in the document text."""

    citation: Citation
    rank: int
    text: str
    start: int
    end: int


def split_sentences(citation: Citation, rank: int = 0) -> list[Sentence]:
    """Sentences of a passage (ending at 。！？； or a line break), with document offsets."""
    return [
        Sentence(citation, rank, citation.text[a:b], citation.start + a, citation.start + b)
        for a, b in sentence_spans(citation.text)
    ]


def answer_candidates(query: AnalyzedQuery, citations: Sequence[Citation], passages: int = 3) -> list[Sentence]:
    """The sentences that may answer: those of the top ``passages`` passages, headings left out, and
    references too unless the question asks for a source."""
    sentences = [s for rank, c in enumerate(citations[:passages]) for s in split_sentences(c, rank)]
    source = asks_for_source(query.text)
    prose = [s for s in sentences if not _is_heading(s) and (source or not is_reference(s.text))]
    return prose or sentences


SentenceVectors = Mapping[str, tuple[np.ndarray, Mapping[tuple[int, int], np.ndarray]]]
"""Per embedder key: the question's vector and the sentences' vectors by document span."""


def sentence_features(query: AnalyzedQuery, sentences: Sequence[Sentence], vectors: SentenceVectors) -> np.ndarray:
    """The :data:`SENTENCE_FEATURES` of each sentence (a sentence whose vector is missing has cosine 0)."""
    terms = QuestionTerms(query.expanded_text)
    kind = asked_type(query.text)
    asked_dates = {k for k in date_mentions(query.expanded_text) if not k.startswith("y")}
    source = asks_for_source(query.text)
    rows = []
    for s in sentences:
        reference = is_reference(s.text)
        cosines = []
        for key in SIMILARITIES:
            query_vector, known = vectors.get(key, (None, {}))
            vector = known.get((s.start, s.end))
            cosines.append(float(vector @ query_vector) if vector is not None and query_vector is not None else 0.0)
        rows.append(
            [
                terms.share(token_set(s.text)),
                *cosines,
                s.citation.score or 0.0,
                1.0 / (1 + s.rank),
                holds_type(s.text, kind),
                len(asked_dates & date_mentions(s.text)) / len(asked_dates) if asked_dates else 0.0,
                reference,
                reference and source,
                len(s.text) / 100,
            ]
        )
    base = np.array(rows, dtype=np.float64).reshape(len(sentences), len(_BASE_FEATURES))
    return english_copies(base, query.language)


class ExtractiveAnswerer:
    """Choose the answering sentence(s) across the top ``passages`` passages by a fitted model
    (``benchmarks/fit.py``) over each sentence's :func:`sentence_features`: the best sentence, and the
    next best too when the model gives it even odds or better and both fit in ``max_chars``.
    Headings are never answers; bibliographic references only when a source is asked for.
    """

    def __init__(
        self,
        model: LinearModel,
        embedders: Mapping[str, Embedder] | None = None,
        *,
        passages: int = 3,
        max_sentences: int = 2,
        max_chars: int = 160,
    ) -> None:
        """``embedders`` (by settings key, see :data:`SIMILARITIES`) embed sentences whose vectors the
        index does not hold."""
        if passages < 1 or max_sentences < 1 or max_chars < 1:
            raise ValueError("passages, max_sentences and max_chars must be at least 1")
        self.columns = model.columns(SENTENCE_FEATURES)
        self.model = model
        self.embedders = dict(embedders or {})
        self.passages = passages
        self.max_sentences = max_sentences
        self.max_chars = max_chars

    def _vectors(self, sentences: Sequence[Sentence], vectors: SentenceVectors) -> SentenceVectors:
        """``vectors`` completed by embedding the sentences they lack (with :attr:`embedders`)."""
        out = dict(vectors)
        for key, embedder in self.embedders.items():
            query_vector, known = out.get(key, (None, {}))
            if query_vector is None:
                continue
            missing = [s for s in sentences if (s.start, s.end) not in known]
            if missing:
                embedded = embedder.embed_documents([s.text for s in missing])
                known = {**known, **{(s.start, s.end): v for s, v in zip(missing, embedded, strict=True)}}
                out[key] = (query_vector, known)
        return out

    def run(
        self,
        query: AnalyzedQuery,
        citations: Sequence[Citation],
        *,
        abstain: bool = False,
        reason: str = "",
        vectors: SentenceVectors | None = None,
    ) -> Answer:
        """An :class:`Answer` citing ``citations`` (best first, scored by the ranking).

        ``vectors`` (per embedder key: the question's vector and the index's sentence vectors by
        document span) spare embedding again. When abstaining, ``reason`` (why the documents cannot
        answer, in the question's language) follows the refusal.
        """
        if abstain or not citations:
            text = NO_ANSWER[query.language] + (" " if query.language == "en" and reason else "") + reason
            return Answer(query.text, text, True, tuple(citations), (), query.language)
        sentences = answer_candidates(query, citations, self.passages)
        features = sentence_features(query, sentences, self._vectors(sentences, vectors or {}))
        odds = self.model.probabilities(features[:, self.columns])
        quotes = quotes_of(self.choose(sentences, odds), citations)
        text = " ".join(f"{q.text} [{q.marker}]" for q in quotes)
        return Answer(query.text, text, False, tuple(citations), quotes, query.language)

    def choose(self, sentences: Sequence[Sentence], odds: np.ndarray) -> list[Sentence]:
        """The best sentence by ``odds``, and the next best too at even odds or better when both fit
        in :attr:`max_chars`; in reading order."""
        order = np.argsort(-odds, kind="stable")
        chosen: list[Sentence] = [sentences[order[0]]]
        for i in order[1:]:
            s = sentences[i]
            if len(chosen) >= self.max_sentences or odds[i] < 0.5:
                break
            if sum(len(c.text) for c in chosen) + len(s.text) <= self.max_chars and s.text not in [
                c.text for c in chosen
            ]:
                chosen.append(s)
        return sorted(chosen, key=lambda s: (s.rank, s.start))


def quotes_of(sentences: Sequence[Sentence], citations: Sequence[Citation]) -> tuple[Quote, ...]:
    """The sentences as an answer quotes them, each with the ``[n]`` of its passage among ``citations``."""
    markers = {c.id: i for i, c in enumerate(citations, start=1)}
    return tuple(Quote(s.citation.id, markers[s.citation.id], s.text, s.start, s.end) for s in sentences)
