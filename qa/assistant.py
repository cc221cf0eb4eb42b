"""The public entry point: :class:`Assistant` answers questions over indexed documents."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from corpus.loading import DocumentLoader, load_default_document
from corpus.model import Document
from corpus.parsing import CONTROL_CHARACTERS, INVISIBLE_CHARACTERS, SURROGATES
from index.chunking import ChunkSplitter, Passage
from index.embedders import BUNDLED_EMBEDDERS, Embedder, load_embedder
from index.embedding_cache import EmbeddingCache, ProgressCallback
from index.locations import open_store
from index.store import IndexBuilder
from index.tokenize import normalize_for_search
from qa.abstention import (
    DocumentTerms,
    MentionCheck,
    PersonCheck,
    chinese_dates,
    describe,
    is_date_key,
    missing_reason,
    quantity_focus,
    states_quantity,
)
from qa.answering import SIMILARITIES, ExtractiveAnswerer, split_sentences
from qa.collection import Collection
from qa.config import Settings
from qa.errors import InvalidRequestError, UnknownCitationError
from qa.fitted import load_model
from qa.language import AnalyzedQuery, analyze, refers_back
from qa.model import Answer, Citation, IndexedDocument, PassageContext, Section, outline
from qa.progress import terminal_progress
from qa.ranking import MEMBERS, CandidateFeatures, FittedRanker
from qa.refusal import RefusalJudge, refusal_features, unheld_terms, unsupported_reason
from qa.retrieval import (
    DATES,
    LEXICAL,
    SENTENCES,
    DenseRetriever,
    EvidenceAdjuster,
    Hit,
    LexicalRetriever,
    RankFuser,
    ScoreFuser,
    SentenceLexicalRetriever,
    SentenceRetriever,
)
from qa.threads import one_openmp_thread

_CONTROL = re.compile(f"[{CONTROL_CHARACTERS}]")
_INVISIBLE = re.compile(f"[{INVISIBLE_CHARACTERS}]")
"""Zero-width, soft-hyphen and bidi-control characters: dropped from questions so that 川\u200b普 is 川普."""
_SURROGATE = re.compile(f"[{SURROGATES}]")
"""Half of a UTF-16 pair, alone: dropped from questions."""
MAX_K = 100


def _settings_key(embedder: Embedder, specs: Sequence[str]) -> str:
    """The settings spec (``"e5"``, ``"use"``, ``"st:…"``) an embedder was loaded from, else its name:
    fusion weights, sentence embedders and abstention floors are keyed by spec."""
    for spec in specs:
        bundled = BUNDLED_EMBEDDERS.get(spec)
        name = bundled.name if bundled is not None else f"sentence-transformers/{spec[3:]}"
        if embedder.name == name:
            return spec
    return embedder.name


class Assistant:
    """Cited-passage question answering over documents (the bundled chapter by default), a named
    :class:`~qa.collection.Collection` of them, or files given by path (:meth:`from_paths`).

    >>> assistant = Assistant()
    >>> answer = assistant.ask("川金會在哪一天舉行？")
    >>> answer.citations[0].id in answer.text or answer.abstained
    False
    """

    def __init__(
        self,
        documents: Sequence[Document] | None = None,
        settings: Settings | None = None,
        *,
        collection: str | Collection | None = None,
        embedders: Sequence[Embedder] | None = None,
        rebuild: bool = False,
        progress: ProgressCallback | None = None,
    ) -> None:
        """Answer over ``documents``, or the documents of ``collection`` (a name or a
        :class:`Collection`), or else the bundled chapter.

        ``embedders`` are loaded models to use instead of loading ``settings.embedders`` (another
        assistant's ``embedders`` keep their settings keys, so no model loads twice);
        ``progress(stage, done, total)`` hears how indexing goes (else a terminal bar, see settings).
        """
        self.settings = settings or Settings()
        if collection is not None and documents is not None:
            raise InvalidRequestError("give documents or a collection, not both")
        self.collection: Collection | None = None
        if collection is not None:
            if not isinstance(collection, Collection):
                collection = Collection(collection, self.settings)
            self.collection = collection
            documents = self.collection.documents()  # CollectionError when it has none
        self.documents: tuple[Document, ...] = tuple(documents) if documents else (load_default_document(),)
        if embedders is None:
            self._keys = list(self.settings.embedders)
            self.embedders = [load_embedder(spec) for spec in self._keys]
        else:
            self.embedders = list(embedders)
            self._keys = [_settings_key(e, self.settings.embedders) for e in self.embedders]
        cache = self.settings.cache_dir
        builder = IndexBuilder(
            ChunkSplitter(self.settings.chunk_size, self.settings.chunk_overlap),
            self.embedders,
            header=self.settings.header,
            embedding_cache=EmbeddingCache(cache / "embeddings" if cache else None),
            sentence_embedders=[
                e.name for k, e in zip(self._keys, self.embedders, strict=True) if k in self.settings.sentence_embedders
            ],
        )
        with terminal_progress(self.settings.progress if progress is None else False) as bar:
            self.index, self.index_built = open_store(
                self.settings.store,
                self.documents,
                builder,
                cache,
                scope=f"collection:{self.collection.name}" if self.collection else None,
                rebuild=rebuild,
                progress=progress or bar,
            )
        self._documents = {d.id: d for d in self.documents}
        self._dense = [
            (key, DenseRetriever(self.index, e, self.settings.candidates))
            for key, e in zip(self._keys, self.embedders, strict=True)
        ]
        self._sentences = [
            (key, SentenceRetriever(self.index, e.name, self.settings.candidates))
            for key, e in zip(self._keys, self.embedders, strict=True)
            if e.name in self.index.sentence_dense
        ]
        self._lexical = LexicalRetriever(self.index, self.settings.candidates)
        self._sentence_lexical = SentenceLexicalRetriever(self.index, self.settings.candidates)
        fuser = RankFuser if self.settings.fusion == "rrf" else ScoreFuser
        self._fuser = fuser(self.settings.fusion_weights, k=self.settings.rrf_k)
        self._texts = [p.content for p in self.index.passages]
        self._evidence = EvidenceAdjuster(
            self._texts,
            [p.doc_id for p in self.index.passages],
            date_weight=self.settings.date_weight,
            reference_penalty=self.settings.reference_penalty,
            source_boost=self.settings.source_boost,
        )
        available = {key for key, _ in self._dense} | {key + SENTENCES for key, _ in self._sentences}
        self._ranker: FittedRanker | None = None
        if self.settings.fusion == "logistic" and available >= set(MEMBERS) - {LEXICAL, LEXICAL + SENTENCES}:
            model = load_model(self.settings.ranking_model)
            self._ranker = FittedRanker(model, self.candidate_features)
        self._mentions = lru_cache(maxsize=32)(self._mention_check)
        self._terms = lru_cache(maxsize=32)(self._document_terms)
        self._people = lru_cache(maxsize=32)(self._person_check)

    @functools.cached_property
    def _answerer(self) -> ExtractiveAnswerer:
        by_key = dict(zip(self._keys, self.embedders, strict=True))
        model = load_model(self.settings.answer_model)
        return ExtractiveAnswerer(model, {k: by_key[k] for k in SIMILARITIES if k in by_key})

    @functools.cached_property
    def _refusal(self) -> RefusalJudge:
        return RefusalJudge(load_model(self.settings.refusal_model))

    @functools.cached_property
    def candidate_features(self) -> CandidateFeatures:
        """What the fitted ranking reads of each candidate passage (see ``qa.ranking``)."""
        return CandidateFeatures(self._texts, self._evidence.dates, self._evidence.references)

    @classmethod
    def from_paths(cls, paths: Iterable[str | Path], settings: Settings | None = None, **kwargs: object) -> Assistant:
        """An assistant over the user's own files, as they are now (no collection is kept): PDF,
        ``.docx``, HTML, Markdown or UTF-8 text (``corpus.loading.SUPPORTED_SUFFIXES``)."""
        return cls(DocumentLoader().run(paths), settings, **kwargs)  # type: ignore[arg-type]

    def indexed_documents(self) -> list[IndexedDocument]:
        """The documents being searched, in order: id, title, source and how many passages each has
        (what a document picker shows; the ids are what ``documents=`` of :meth:`ask` takes)."""
        counts: dict[str, int] = {}
        for p in self.index.passages:
            counts[p.doc_id] = counts.get(p.doc_id, 0) + 1
        return [IndexedDocument(d.id, d.title, d.source, counts.get(d.id, 0)) for d in self.documents]

    def _mention_check(self, doc_ids: frozenset[str] | None) -> MentionCheck:
        return MentionCheck(d.text for d in self.documents if doc_ids is None or d.id in doc_ids)

    def _document_terms(self, doc_ids: frozenset[str] | None) -> DocumentTerms:
        return DocumentTerms(p.content for p in self.index.passages if doc_ids is None or p.doc_id in doc_ids)

    def _person_check(self, doc_ids: frozenset[str] | None) -> PersonCheck:
        return PersonCheck(
            (p.content for p in self.index.passages if doc_ids is None or p.doc_id in doc_ids),
            self.index.lexicon,
            self._terms(doc_ids).english,
        )

    def _missing_specifics(
        self, query: AnalyzedQuery, citations: Sequence[Citation], doc_ids: frozenset[str] | None
    ) -> str:
        """Why the documents (of ``doc_ids``) cannot answer ``query``, in its language; empty when
        nothing it asks about is missing. Missing are dates, designations and people no document
        mentions, and, in a Chinese question, a number of something that no sentence of the
        passages the answer would come from gives (see ``qa.abstention``)."""
        if not self.settings.refuse_missing_specifics:
            return ""
        checks = set(self.settings.specific_checks)
        unmentioned = [
            describe(key, query.language)
            for key in self._mentions(doc_ids).unknown(query.text)
            if ("dates" if is_date_key(key) else "designations") in checks
        ]
        if "people" in checks:
            unmentioned += self._people(doc_ids).unknown(query)
        counted = None
        if "counts" in checks and query.language != "en":
            counted = quantity_focus(normalize_for_search(query.search_text))
        if counted:
            sentences = [s.text for c in citations[: self._answerer.passages] for s in split_sentences(c)]
            if states_quantity(counted, sentences):
                counted = None
        return missing_reason(query.language, unmentioned, counted)

    def _chosen(self, documents: Sequence[str] | None) -> frozenset[str] | None:
        """The document ids to search (``None``: all of them); :class:`InvalidRequestError` for ids
        that are not indexed."""
        if documents is None:
            return None
        if isinstance(documents, str) or not isinstance(documents, Iterable):
            raise InvalidRequestError("documents must be a list of document ids, e.g. ['notes']")
        documents = list(documents)
        if not all(isinstance(d, str) for d in documents):
            raise InvalidRequestError("documents must be a list of document ids, e.g. ['notes']")
        chosen = frozenset(d.strip() for d in documents)
        known = list(self._documents)
        if not chosen:
            raise InvalidRequestError(f"choose at least one document (of: {', '.join(known)}), or all with None")
        unknown = sorted(chosen - set(known))
        if unknown:
            raise InvalidRequestError(
                f"unknown document id {', '.join(map(repr, unknown))}; the documents are: {', '.join(known)}"
            )
        return None if len(chosen) == len(known) else chosen

    # -- requests -------------------------------------------------------------------------
    def _query(self, question: str) -> AnalyzedQuery:
        if not isinstance(question, str):
            raise InvalidRequestError(f"the question must be text, not {type(question).__name__}")
        text = _CONTROL.sub(" ", _INVISIBLE.sub("", _SURROGATE.sub("", question))).strip()
        text = text[: self.settings.max_question_chars].strip()
        if not text:
            raise InvalidRequestError("the question is empty; type a question about the document")
        query = analyze(text)
        lexicon = self.index.lexicon
        if query.language == "en" and self.settings.expand_english:
            carried = lexicon.carry_over(query.text, self._terms(None).english.__contains__)
            query = replace(
                query,
                expansion=(*carried.terms, *chinese_dates(query.text)),
                lexical_coverage=carried.coverage if self.settings.weigh_lexical_by_coverage else 1.0,
            )
        elif query.language != "en" and self.settings.expand_english and lexicon.bridges_to_english:
            query = replace(query, expansion=tuple(lexicon.to_english(query.search_text)))
        return query

    def notice(self, question: str) -> str:
        """What the reader should know about how ``question`` is taken (empty if nothing): that a
        question longer than ``settings.max_question_chars`` is searched on its first characters."""
        limit = self.settings.max_question_chars
        n = len(question.strip()) if isinstance(question, str) else 0
        if n <= limit:
            return ""
        return f"The question is {n:,} characters long; only its first {limit:,} were used."

    @staticmethod
    def _check_k(k: int) -> int:
        if isinstance(k, bool) or not isinstance(k, int):
            raise InvalidRequestError(f"k must be a whole number, not {k!r}")
        if k < 1:
            raise InvalidRequestError(f"k must be at least 1, got {k}")
        return min(k, MAX_K)

    def _rankings(
        self,
        query: AnalyzedQuery,
        depth: int,
        vectors: dict[str, np.ndarray] | None = None,
        doc_ids: frozenset[str] | None = None,
    ) -> tuple[dict[str, list[Hit]], dict[str, np.ndarray]]:
        """Each retriever's ``depth`` best passages, from the documents ``doc_ids`` only if given (the
        store filters before it cuts, so a chosen document's passages are never crowded out)."""
        vectors = vectors or {key: r.embed(query) for key, r in self._dense}
        rankings: dict[str, list[Hit]] = {key: r.run(query, depth, vectors[key], doc_ids) for key, r in self._dense}
        for key, sentences in self._sentences:
            if self._uses(query, key + SENTENCES):
                rankings[key + SENTENCES] = sentences.run(vectors[key], depth, doc_ids)
        rankings[LEXICAL] = self._lexical.run(query, depth, doc_ids)
        if self._uses(query, LEXICAL + SENTENCES):
            rankings[LEXICAL + SENTENCES] = self._sentence_lexical.run(query, depth, doc_ids)
        return rankings, vectors

    def _uses(self, query: AnalyzedQuery, member: str) -> bool:
        """Whether the fusion reads ``member``'s ranking for ``query``."""
        if self._ranker is not None:
            return member in MEMBERS
        return self._fuser.weight(query.language, member) > 0

    def _retrieve(
        self,
        query: AnalyzedQuery,
        k: int,
        history: Sequence[str] = (),
        vectors: dict[str, np.ndarray] | None = None,
        doc_ids: frozenset[str] | None = None,
    ) -> tuple[list[Hit], dict[str, list[Hit]], dict[str, np.ndarray]]:
        """Fused hits, each retriever's best hits, and the question's vector per embedder key.

        When the question points back (a pronoun, "那…", "…呢？", see :func:`refers_back`) and there
        is ``history``, the previous question joined to this one is searched too and its fused scores
        are added at ``settings.history_weight``: "那是哪一年決定的？" then finds passages about the
        earlier topic, while a self-contained question ("What is the weather in Paris?") is searched,
        and refused, on its own.
        """
        depth = max(k, self.settings.candidates)
        rankings, vectors = self._rankings(query, depth, vectors, doc_ids)
        fused = self._fuse(query, rankings)
        previous = self._previous_question(history)
        if previous is None or self.settings.history_weight == 0 or not refers_back(query.text):
            return fused, rankings, vectors
        joined = AnalyzedQuery(
            f"{previous.text} {query.text}",
            query.language,
            f"{previous.search_text} {query.search_text}",
            previous.expansion + query.expansion,
            query.lexical_coverage,
        )
        joined_rankings, _ = self._rankings(joined, depth, None, doc_ids)
        scores = {h.row: h.score for h in fused}
        for hit in self._fuse(joined, joined_rankings):
            scores[hit.row] = scores.get(hit.row, 0.0) + self.settings.history_weight * hit.score
        best = {
            key: max(hits[:1] + joined_rankings[key][:1], key=lambda h: h.score, default=None)
            for key, hits in rankings.items()
        }
        merged = [Hit(r, s) for r, s in sorted(scores.items(), key=lambda item: (-item[1], item[0]))]
        return merged, {key: [h] if h else [] for key, h in best.items()}, vectors

    def _fuse(self, query: AnalyzedQuery, rankings: dict[str, list[Hit]]) -> list[Hit]:
        """The retrievers' rankings fused (the lexical ones weighed by how much of the question they
        can match), then adjusted for the dates and references passages hold (the dates weighed as
        ``fusion_weights`` says for the question's language)."""
        if self._ranker is not None:
            return self._ranker.run(query, rankings)
        scale = {LEXICAL: query.lexical_coverage, LEXICAL + SENTENCES: query.lexical_coverage}
        dates = self.settings.fusion_weights.get(query.language, {}).get(DATES, self.settings.date_weight)
        return self._evidence.run(query, self._fuser.run(rankings, query.language, scale), date_weight=dates)

    def _previous_question(self, history: Sequence[str]) -> AnalyzedQuery | None:
        if isinstance(history, str) or not all(isinstance(h, str) for h in history):
            raise InvalidRequestError("history must be a list of earlier questions (strings)")
        for earlier in reversed(history):
            try:
                return self._query(earlier)
            except InvalidRequestError:
                continue
        return None

    def _citation(self, passage: Passage, score: float | None = None) -> Citation:
        return Citation(
            id=passage.id,
            doc_id=passage.doc_id,
            doc_title=self._documents[passage.doc_id].title,
            section=passage.section,
            text=passage.content,
            start=passage.start,
            end=passage.end,
            score=score,
            footnotes=passage.footnotes,
            page=passage.page,
            page_end=passage.page_end,
        )

    def search(
        self, query: str, k: int = 10, *, history: Sequence[str] = (), documents: Sequence[str] | None = None
    ) -> list[Citation]:
        """The ``k`` best passages for ``query``, best first (``history`` and ``documents`` as in :meth:`ask`)."""
        k = self._check_k(k)
        doc_ids = self._chosen(documents)
        with one_openmp_thread():
            fused, _, _ = self._retrieve(self._query(query), k, history, None, doc_ids)
        return [self._citation(self.index.passages[h.row], round(h.score, 6)) for h in fused[:k]]

    def ask(
        self, question: str, k: int = 5, *, history: Sequence[str] = (), documents: Sequence[str] | None = None
    ) -> Answer:
        """A short extractive answer with ``[n]`` markers and the ``k`` cited passages.

        ``history`` holds the chat's earlier questions, oldest first; the last one informs
        retrieval, so a follow-up need not repeat what it is about. ``documents`` (ids, see
        :meth:`indexed_documents`) searches only those documents; ``None`` searches all.
        """
        k = self._check_k(k)
        doc_ids = self._chosen(documents)
        query = self._query(question)
        with one_openmp_thread():
            answer = self._answer(query, k, history, None, doc_ids)
        notice = self.notice(question)
        return replace(answer, notice=notice) if notice else answer

    def ask_many(self, questions: Sequence[str], k: int = 5, *, documents: Sequence[str] | None = None) -> list[Answer]:
        """Answers to several independent questions, in order; each embedder embeds them in one batch."""
        if isinstance(questions, str):
            raise InvalidRequestError("ask_many takes a list of questions; use ask() for one")
        k = self._check_k(k)
        doc_ids = self._chosen(documents)
        questions = list(questions)
        queries = [self._query(q) for q in questions]
        if not queries:
            return []
        batches = {key: r.embedder.embed_queries([q.expanded_text for q in queries]) for key, r in self._dense}
        with one_openmp_thread():
            answers = [
                self._answer(query, k, (), {key: batch[i] for key, batch in batches.items()}, doc_ids)
                for i, query in enumerate(queries)
            ]
        return [replace(a, notice=self.notice(q)) for a, q in zip(answers, questions, strict=True)]

    def _answer(
        self,
        query: AnalyzedQuery,
        k: int,
        history: Sequence[str],
        vectors: dict[str, np.ndarray] | None = None,
        doc_ids: frozenset[str] | None = None,
    ) -> Answer:
        fused, rankings, vectors = self._retrieve(query, k, history, vectors, doc_ids)
        citations = [self._citation(self.index.passages[h.row], round(h.score, 6)) for h in fused[:k]]
        floors = self.settings.abstain_floor
        below_floor = any(key in floors and (not hits or hits[0].score < floors[key]) for key, hits in rankings.items())
        if below_floor and self._terms(doc_ids).covers(query, self.index.lexicon):
            below_floor = False  # "What is THAAD?": short, so it scores low, but it names only the documents' terms
        reason = self._missing_specifics(query, citations, doc_ids)
        if not reason and not below_floor and self._unsupported(query, fused, rankings):
            texts = [c.text for c in citations[: self._answerer.passages]]
            reason = unsupported_reason(query.language, unheld_terms(query, texts, self.index.lexicon))
        abstain = below_floor or not citations or bool(reason)
        sentence_vectors: dict[str, tuple[np.ndarray, dict[tuple[int, int], np.ndarray]]] = {}
        if not abstain:
            rows = [r for c in citations[: self._answerer.passages] if (r := self.index.row(c.id)) is not None]
            for key, embedder in self._answerer.embedders.items():
                if key in vectors:
                    sentence_vectors[key] = (vectors[key], self.index.sentence_vectors(embedder.name, rows))
        return self._answerer.run(query, citations, abstain=abstain, reason=reason, vectors=sentence_vectors)

    def _unsupported(self, query: AnalyzedQuery, fused: list[Hit], rankings: dict[str, list[Hit]]) -> bool:
        """Whether the fitted refusal model judges that the best passages do not answer (only with
        the fitted ranking, whose scores it reads; see ``qa.refusal``)."""
        if self._ranker is None or not self.settings.refuse_unsupported or not fused:
            return False
        return self._refusal.run(refusal_features(query, fused, rankings, self.candidate_features))

    def cite(self, citation_id: str) -> Citation:
        """The passage with this id; :class:`UnknownCitationError` if there is none."""
        key = citation_id.strip() if isinstance(citation_id, str) else ""
        row = self.index.row(key)
        if row is None:
            raise UnknownCitationError(
                f"unknown citation id {citation_id!r}; ids look like 'p1a2b3c4' and come from ask or search"
            )
        return self._citation(self.index.passages[row])

    def context(self, citation_id: str, chars: int = 200) -> PassageContext:
        """The passage in place: up to ``chars`` characters around it, the footnotes it cites, and
        for a PDF the rest of its page(s)."""
        citation = self.cite(citation_id)
        document = self._documents[citation.doc_id]
        text = document.text
        page_before = page_after = ""
        if citation.page is not None:
            span = document.page_span(citation.page, citation.page_end)
            if span is not None:
                page_before, page_after = text[span[0] : citation.start], text[citation.end : span[1]]
        footnotes = tuple(
            self._citation(p)
            for p in self.index.passages
            if p.doc_id == citation.doc_id and p.is_footnote and p.section[-1] in {f"註{n}" for n in citation.footnotes}
        )
        return PassageContext(
            citation=citation,
            before=text[max(0, citation.start - chars) : citation.start],
            after=text[citation.end : citation.end + chars],
            footnotes=footnotes,
            page_before=page_before,
            page_after=page_after,
        )

    def outline(self) -> list[Section]:
        """Each document (``path == ()``) followed by its sections, in reading order."""
        return outline(self.documents)

    def passages_in(self, section: Section) -> list[Citation]:
        """The passages of a section and its subsections (footnotes included), in reading order."""
        if section.doc_id not in self._documents:
            raise UnknownCitationError(f"no indexed document has the id {section.doc_id!r}")
        n = len(section.path)
        return [
            self._citation(p)
            for p in self.index.passages
            if p.doc_id == section.doc_id and tuple(p.section[:n]) == tuple(section.path)
        ]

    @property
    def passages(self) -> list[Citation]:
        """Every indexed passage in reading order."""
        return [self._citation(p) for p in self.index.passages]
