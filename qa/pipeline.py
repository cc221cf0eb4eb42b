"""A question's path, stage by stage: query analysis → retrievers → ranking (fusion and evidence
adjustment, or the fitted ranking) → refusal policy → answer choice. One :class:`Request` travels
through :class:`QuestionPipeline`; each stage is a component of its own module."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import numpy as np

from corpus.model import Document
from index.store import PassageStore
from qa.answering import ExtractiveAnswerer, SentenceVectors
from qa.errors import InvalidRequestError, SettingsError
from qa.evidence import EvidenceAdjuster
from qa.language import AnalyzedQuery, refers_back
from qa.model import Answer, Citation
from qa.query_analysis import QueryAnalyzer
from qa.reader_script import ReaderScript
from qa.refusal_policy import RefusalPolicy
from qa.retrieval import Hit, Rankings, RetrieverId, Retrievers
from qa.short_answer import ShortAnswerer

MAX_K = 100
"""The most passages one request may ask for."""


@dataclass(frozen=True)
class Request:
    """One question and how to answer it, as it travels through the stages (checked by the
    :class:`~qa.assistant.Assistant` that makes it)."""

    question: str
    k: int = 5
    documents: frozenset[str] | None = None
    """The document ids to search; ``None``: all."""
    history: tuple[str, ...] = ()
    """The chat's earlier questions, oldest first."""
    vectors: Mapping[str, np.ndarray] | None = None
    """The question already embedded, per embedder key (when questions are embedded in a batch)."""

    @classmethod
    def checked(
        cls,
        question: str,
        k: int = 5,
        *,
        history: Sequence[str] | None = (),
        documents: Iterable[str] | None = None,
        known: Sequence[str] = (),
    ) -> Request:
        """A request whose ``k``, ``history`` and ``documents`` (ids among ``known``) are checked;
        :class:`InvalidRequestError` says what is wrong. ``k`` above :data:`MAX_K` is cut to it."""
        if isinstance(k, bool) or not isinstance(k, int):
            raise InvalidRequestError(f"k must be a whole number, not {k!r}")
        if k < 1:
            raise InvalidRequestError(f"k must be at least 1, got {k}")
        history = () if history is None else history
        if isinstance(history, str) or not all(isinstance(h, str) for h in history):
            raise InvalidRequestError("history must be a list of earlier questions (strings)")
        return cls(question, min(k, MAX_K), _chosen(documents, known), tuple(history))


def _chosen(documents: Iterable[str] | None, known: Sequence[str]) -> frozenset[str] | None:
    """The document ids to search (``None``: all of them)."""
    if documents is None:
        return None
    if isinstance(documents, str) or not isinstance(documents, Iterable):
        raise InvalidRequestError("documents must be a list of document ids, e.g. ['notes']")
    documents = list(documents)
    if not all(isinstance(d, str) for d in documents):
        raise InvalidRequestError("documents must be a list of document ids, e.g. ['notes']")
    chosen = frozenset(d.strip() for d in documents)
    if not chosen:
        raise InvalidRequestError(f"choose at least one document (of: {', '.join(known)}), or all with None")
    unknown = sorted(chosen - set(known))
    if unknown:
        raise InvalidRequestError(
            f"unknown document id {', '.join(map(repr, unknown))}; the documents are: {', '.join(known)}"
        )
    return None if len(chosen) == len(known) else chosen


class Ranker(Protocol):
    """A ranking stage: fused (or fitted) scores of the candidate passages, best first."""

    def reads(self, query: AnalyzedQuery, retriever: RetrieverId) -> bool: ...

    def run(self, query: AnalyzedQuery, rankings: Rankings) -> list[Hit]: ...


class Found(NamedTuple):
    """What retrieval and ranking found for a request."""

    query: AnalyzedQuery
    ranked: list[Hit]
    """Every candidate passage, best first."""
    rankings: Rankings
    """Each retriever's hits (for a follow-up, each retriever's best hit of either search)."""
    vectors: dict[str, np.ndarray]
    """The question's vector per embedder (for a follow-up, with the joined search's added)."""


def _unit(vector: np.ndarray) -> np.ndarray:
    """``vector`` scaled to length 1 (unchanged when it is 0)."""
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector


class QuestionPipeline:
    """The stages, wired: :meth:`search` returns ranked passages, :meth:`answer` an :class:`Answer`."""

    def __init__(
        self,
        index: PassageStore,
        documents: Mapping[str, Document],
        *,
        analyzer: QueryAnalyzer,
        retrievers: Retrievers,
        ranker: Ranker,
        adjuster: EvidenceAdjuster | None,
        refusal: RefusalPolicy,
        answerer: ExtractiveAnswerer,
        short_answerer: ShortAnswerer,
        reader_script: ReaderScript | None = None,
        history_weight: float = 0.5,
    ) -> None:
        """``adjuster``: the evidence adjustment after ``ranker`` (``None`` when the ranker weighs the
        evidence itself); ``short_answerer`` puts the fact first; ``reader_script`` shows the answer
        in the question's script; ``history_weight``: how much the previous question steers a follow-up."""
        if history_weight < 0:
            raise SettingsError(f"history_weight must be non-negative, got {history_weight}")
        self.index = index
        self.documents = documents
        self.analyzer = analyzer
        self.retrievers = retrievers
        self.ranker = ranker
        self.adjuster = adjuster
        self.refusal = refusal
        self.answerer = answerer
        self.short_answerer = short_answerer
        self.reader_script = reader_script or ReaderScript()
        self.history_weight = history_weight

    def rank(self, query: AnalyzedQuery, rankings: Rankings) -> list[Hit]:
        """The retrievers' rankings made into one, then adjusted for the evidence passages hold."""
        ranked = self.ranker.run(query, rankings)
        return self.adjuster.run(query, ranked) if self.adjuster is not None else ranked

    def _search(self, query: AnalyzedQuery, request: Request, vectors: Mapping[str, np.ndarray] | None) -> Found:
        depth = max(request.k, self.retrievers.top_k)
        rankings, found = self.retrievers.run(
            query, depth=depth, vectors=vectors, doc_ids=request.documents, reads=self.ranker.reads
        )
        return Found(query, self.rank(query, rankings), rankings, found)

    def find(self, request: Request) -> Found:
        """The request's question analysed, searched and ranked.

        When the question points back (a pronoun, "那…", "…呢？", see :func:`refers_back`) and there
        is history, the previous question joined to this one is searched too and its scores are
        added at ``history_weight``: "那是哪一年決定的？" then finds passages about the earlier topic,
        and the answer's sentences are compared with the two questions' vectors added at the same
        weight (``Found.vectors``), while a self-contained question ("What is the weather in Paris?")
        is searched, and refused, on its own.
        """
        query = self.analyzer.run(request.question)
        found = self._search(query, request, request.vectors)
        previous = self.analyzer.previous(request.history)
        if previous is None or self.history_weight == 0 or not refers_back(query.text):
            return found
        joined = AnalyzedQuery(
            f"{previous.text} {query.text}",
            query.language,
            f"{previous.search_text} {query.search_text}",
            previous.expansion + query.expansion,
            query.lexical_coverage,
        )
        other = self._search(joined, request, None)
        scores = {h.row: h.score for h in found.ranked}
        for hit in other.ranked:
            scores[hit.row] = scores.get(hit.row, 0.0) + self.history_weight * hit.score
        best = {
            rid: max(hits[:1] + other.rankings[rid][:1], key=lambda h: h.score, default=None)
            for rid, hits in found.rankings.items()
        }
        merged = [Hit(r, s) for r, s in sorted(scores.items(), key=lambda item: (-item[1], item[0]))]
        # the answer's sentences are weighed against both searches, as the passages are
        vectors = {
            key: _unit(v + self.history_weight * other.vectors[key]) if key in other.vectors else v
            for key, v in found.vectors.items()
        }
        return Found(query, merged, {rid: [h] if h else [] for rid, h in best.items()}, vectors)

    def citation(self, row: int, score: float | None = None) -> Citation:
        """The passage at ``row`` of the index as a citation."""
        passage = self.index.passages[row]
        return Citation(
            id=passage.id,
            doc_id=passage.doc_id,
            doc_title=self.documents[passage.doc_id].title,
            section=passage.section,
            text=passage.content,
            start=passage.start,
            end=passage.end,
            score=score,
            footnotes=passage.footnotes,
            page=passage.page,
            page_end=passage.page_end,
        )

    def search(self, request: Request) -> list[Citation]:
        """The ``k`` best passages, best first."""
        found = self.find(request)
        return [self.citation(h.row, round(h.score, 6)) for h in found.ranked[: request.k]]

    def answer(self, request: Request) -> Answer:
        """The answer with its ``k`` cited passages (the fact first, in the reader's script), or the
        refusal and why."""
        found = self.find(request)
        citations = [self.citation(h.row, round(h.score, 6)) for h in found.ranked[: request.k]]
        refusal = self.refusal.run(found.query, found.rankings, found.ranked, citations, request.documents)
        vectors = {} if refusal.refused else self._sentence_vectors(citations, found.vectors)
        answer = self.answerer.run(
            found.query, citations, abstain=refusal.refused, reason=refusal.reason, vectors=vectors
        )
        return self.reader_script.run(self.short_answerer.run(found.query, answer))

    def _sentence_vectors(self, citations: Sequence[Citation], vectors: Mapping[str, np.ndarray]) -> SentenceVectors:
        """Per embedder key the answer model reads: the question's vector and the index's vectors
        of the sentences of the passages an answer is drawn from."""
        rows = [r for c in citations[: self.answerer.passages] if (r := self.index.row(c.id)) is not None]
        return {
            key: (vectors[key], self.index.sentence_vectors(embedder.name, rows))
            for key, embedder in self.answerer.embedders.items()
            if key in vectors
        }
