"""Retrievers over a :class:`index.store.PassageStore` (dense, sentence-level, BM25), named by
:class:`RetrieverId`, and :class:`Retrievers`, the stage that runs them all on one question."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from enum import Enum
from typing import NamedTuple

import numpy as np

from index.embedders import Embedder
from index.store import PassageStore
from qa.errors import SettingsError
from qa.language import AnalyzedQuery

LEXICAL = "bm25"
"""The source name of the lexical (BM25) retrievers."""
DATES = "dates"
"""The key of the date evidence's weight in a fusion-weight table (not a retriever)."""
SENTENCES_PER_PASSAGE = 8
"""Sentences searched per passage wanted, so that max-pooling still yields enough passages."""


class Granularity(str, Enum):
    """What a retriever scores: whole passages, or each passage by its best sentence."""

    PASSAGE = "passages"
    SENTENCE = "sentences"


class RetrieverId(NamedTuple):
    """A retriever: its source (an embedder's settings key, ``"e5"``, ``"use"``, ``"st:…"``, or
    ``"bm25"``) and granularity. Written ``"e5"`` or ``"e5:sentences"`` in weight tables."""

    source: str
    granularity: Granularity = Granularity.PASSAGE

    def __str__(self) -> str:
        return self.source if self.granularity is Granularity.PASSAGE else f"{self.source}:{self.granularity.value}"

    @classmethod
    def parse(cls, key: str | RetrieverId) -> RetrieverId:
        """``"e5"`` → passages of e5, ``"bm25:sentences"`` → sentences of BM25; :class:`SettingsError`
        for anything else."""
        if isinstance(key, RetrieverId):
            return key
        if not isinstance(key, str) or not key.strip():
            raise SettingsError(f"a retriever is named like 'e5', 'use:sentences' or 'bm25', not {key!r}")
        source, colon, level = key.rpartition(":")
        if colon and level == Granularity.SENTENCE.value and source:
            return cls(source, Granularity.SENTENCE)
        if colon and level == Granularity.PASSAGE.value and source:
            return cls(source)
        return cls(key)

    @property
    def is_lexical(self) -> bool:
        return self.source == LEXICAL


class Hit(NamedTuple):
    """A passage row of the index and its score from one retriever (or the fusion)."""

    row: int
    score: float


Rankings = dict[RetrieverId, list[Hit]]
"""Each retriever's hits for one question, best first."""


def _only(doc_ids: Collection[str] | None) -> dict[str, Collection[str]]:
    """The ``doc_ids`` keyword for a store's search, only when there is a filter (so that a store
    without filtering still serves unfiltered searches)."""
    return {} if doc_ids is None else {"doc_ids": doc_ids}


class DenseRetriever:
    """Nearest passages by cosine similarity of one embedder's vectors."""

    def __init__(self, index: PassageStore, embedder: Embedder, key: str | None = None) -> None:
        """``key``: the embedder's settings key (its name if not given)."""
        if embedder.name not in index.dense:
            raise SettingsError(f"the index has no vectors from {embedder.name!r}; rebuild it with that embedder")
        self.index = index
        self.embedder = embedder
        self.id = RetrieverId(key or embedder.name)

    def run(
        self, query: AnalyzedQuery, vector: np.ndarray | None, top_k: int, doc_ids: Collection[str] | None = None
    ) -> list[Hit]:
        """Nearest passages (of the documents ``doc_ids``, if given) to ``vector``, the question
        embedded by this embedder (embedded here if ``None``)."""
        if vector is None:
            vector = self.embedder.embed_queries([query.expanded_text])[0]
        return [Hit(r, s) for r, s in self.index.search_dense(self.embedder.name, vector, top_k, **_only(doc_ids))]


class SentenceRetriever:
    """Passages ranked by their best sentence under one embedder: finer than whole passages, so a
    question meets the one sentence that answers it rather than a passage's average."""

    def __init__(self, index: PassageStore, embedder: Embedder, key: str | None = None) -> None:
        if embedder.name not in index.sentence_dense:
            raise SettingsError(f"the index has no sentence vectors from {embedder.name!r}; rebuild it")
        self.index = index
        self.embedder = embedder
        self.id = RetrieverId(key or embedder.name, Granularity.SENTENCE)

    def run(
        self, query: AnalyzedQuery, vector: np.ndarray | None, top_k: int, doc_ids: Collection[str] | None = None
    ) -> list[Hit]:
        if vector is None:
            vector = self.embedder.embed_queries([query.expanded_text])[0]
        hits = self.index.search_sentences(self.embedder.name, vector, SENTENCES_PER_PASSAGE * top_k, **_only(doc_ids))
        return [Hit(r, s) for r, s in hits[:top_k]]


class LexicalRetriever:
    """BM25 over Chinese character unigrams/bigrams and English words, of passages or (passages by
    their best sentence) of sentences."""

    def __init__(self, index: PassageStore, granularity: Granularity = Granularity.PASSAGE) -> None:
        self.index = index
        self.id = RetrieverId(LEXICAL, Granularity(granularity))
        self._search = index.search_lexical if granularity is Granularity.PASSAGE else index.search_lexical_sentences

    def run(
        self, query: AnalyzedQuery, vector: np.ndarray | None, top_k: int, doc_ids: Collection[str] | None = None
    ) -> list[Hit]:
        return [Hit(r, s) for r, s in self._search(query.expanded_text, top_k, **_only(doc_ids))]


Retriever = DenseRetriever | SentenceRetriever | LexicalRetriever


class Retrieval(NamedTuple):
    """What :class:`Retrievers` found: each retriever's hits, and the question's vector per embedder key."""

    rankings: Rankings
    vectors: dict[str, np.ndarray]


class Retrievers:
    """Every retriever of an index, run on one question: the dense and BM25 retrievers of passages
    always, those of sentences when the fusion reads them for the question's language."""

    def __init__(
        self,
        index: PassageStore,
        embedders: Mapping[str, Embedder],
        sentence_keys: Collection[str] = (),
        *,
        top_k: int = 50,
    ) -> None:
        """``embedders`` by settings key; ``sentence_keys``: the keys whose sentences are searched
        too (the index must hold their sentence vectors); ``top_k``: passages each returns."""
        if top_k < 1:
            raise SettingsError(f"candidates must be at least 1, got {top_k}")
        unknown = sorted(set(sentence_keys) - set(embedders))
        if unknown:
            raise SettingsError(f"sentence embedders {unknown} are not among the embedders {list(embedders)}")
        self.embedders = dict(embedders)
        self.top_k = top_k
        self.retrievers: list[Retriever] = [DenseRetriever(index, e, key) for key, e in self.embedders.items()]
        self.retrievers += [
            SentenceRetriever(index, self.embedders[key], key)
            for key in self.embedders
            if key in sentence_keys and self.embedders[key].name in index.sentence_dense
        ]
        self.retrievers += [LexicalRetriever(index), LexicalRetriever(index, Granularity.SENTENCE)]

    @property
    def ids(self) -> tuple[RetrieverId, ...]:
        return tuple(r.id for r in self.retrievers)

    def embed(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Questions (their expanded text) embedded by every embedder in one batch: key → matrix."""
        return {key: embedder.embed_queries(list(texts)) for key, embedder in self.embedders.items()}

    def run(
        self,
        query: AnalyzedQuery,
        *,
        depth: int | None = None,
        vectors: Mapping[str, np.ndarray] | None = None,
        doc_ids: Collection[str] | None = None,
        reads: Callable[[AnalyzedQuery, RetrieverId], bool] | None = None,
    ) -> Retrieval:
        """Each retriever's ``depth`` best passages (``top_k`` by default), from the documents
        ``doc_ids`` only if given (the store filters before it cuts, so a chosen document's passages
        are never crowded out). ``vectors``: the question already embedded, by key; ``reads``:
        whether the fusion reads a sentence retriever for this question (all if not given)."""
        found = dict(vectors) if vectors else {}
        for key, embedder in self.embedders.items():
            if key not in found:
                found[key] = embedder.embed_queries([query.expanded_text])[0]
        rankings: Rankings = {}
        for retriever in self.retrievers:
            rid = retriever.id
            if rid.granularity is Granularity.SENTENCE and reads is not None and not reads(query, rid):
                continue
            vector = None if rid.is_lexical else found[rid.source]
            rankings[rid] = retriever.run(query, vector, depth or self.top_k, doc_ids)
        return Retrieval(rankings, found)
