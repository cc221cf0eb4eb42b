"""The public entry point: :class:`Assistant` answers questions over indexed documents."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from corpus.loading import DocumentLoader, load_default_document
from corpus.model import Document
from index.embedders import Embedder
from index.embedding_cache import ProgressCallback
from qa.building import PipelineBuilder
from qa.collection import Collection
from qa.config import Settings
from qa.errors import InvalidRequestError, UnknownCitationError
from qa.model import Answer, Citation, IndexedDocument, PassageContext, Section, outline
from qa.pipeline import Request
from qa.threads import question_threads


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

        ``embedders`` are loaded models to use instead of loading the settings' embedders (another
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
        scope = f"collection:{self.collection.name}" if self.collection else None
        built = PipelineBuilder(self.settings).run(
            self.documents, embedders, rebuild=rebuild, progress=progress, scope=scope
        )
        self.pipeline = built.pipeline
        self.index = built.index
        self.index_built = built.built
        self.embedders = list(built.embedders.values())
        self._documents = {d.id: d for d in self.documents}

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

    # -- questions ------------------------------------------------------------------------
    def request(
        self, question: str, k: int = 5, *, history: Sequence[str] | None = (), documents: Sequence[str] | None = None
    ) -> Request:
        """A checked :class:`~qa.pipeline.Request`; :class:`InvalidRequestError` says what is wrong."""
        return Request.checked(question, k, history=history, documents=documents, known=list(self._documents))

    def notice(self, question: str) -> str:
        """What the reader should know about how ``question`` is taken (empty if nothing): that a
        question longer than ``settings.answering.max_question_chars`` is searched on its first characters."""
        return self.pipeline.analyzer.notice(question)

    def search(
        self, query: str, k: int = 10, *, history: Sequence[str] | None = (), documents: Sequence[str] | None = None
    ) -> list[Citation]:
        """The ``k`` best passages for ``query``, best first (``history`` and ``documents`` as in :meth:`ask`)."""
        request = self.request(query, k, history=history, documents=documents)
        with question_threads():
            return self.pipeline.search(request)

    def ask(
        self, question: str, k: int = 5, *, history: Sequence[str] | None = (), documents: Sequence[str] | None = None
    ) -> Answer:
        """A short extractive answer with ``[n]`` markers and the ``k`` cited passages.

        ``history`` holds the chat's earlier questions, oldest first; the last one informs
        retrieval, so a follow-up need not repeat what it is about. ``documents`` (ids, see
        :meth:`indexed_documents`) searches only those documents; ``None`` searches all.
        """
        request = self.request(question, k, history=history, documents=documents)
        with question_threads():
            answer = self.pipeline.answer(request)
        notice = self.notice(question)
        return replace(answer, notice=notice) if notice else answer

    def ask_many(self, questions: Sequence[str], k: int = 5, *, documents: Sequence[str] | None = None) -> list[Answer]:
        """Answers to several independent questions, in order; each embedder embeds them in one batch."""
        if isinstance(questions, str):
            raise InvalidRequestError("ask_many takes a list of questions; use ask() for one")
        requests = [self.request(q, k, documents=documents) for q in questions]
        queries = [self.pipeline.analyzer.run(r.question) for r in requests]
        if not queries:
            return []
        batches = self.pipeline.retrievers.embed([q.expanded_text for q in queries])
        with question_threads():
            answers = [
                self.pipeline.answer(replace(r, vectors={key: batch[i] for key, batch in batches.items()}))
                for i, r in enumerate(requests)
            ]
        return [replace(a, notice=self.notice(r.question)) for a, r in zip(answers, requests, strict=True)]

    # -- passages -------------------------------------------------------------------------
    def cite(self, citation_id: str) -> Citation:
        """The passage with this id; :class:`UnknownCitationError` if there is none."""
        key = citation_id.strip() if isinstance(citation_id, str) else ""
        row = self.index.row(key)
        if row is None:
            raise UnknownCitationError(
                f"unknown citation id {citation_id!r}; ids look like 'p1a2b3c4' and come from ask or search"
            )
        return self.pipeline.citation(row)

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
        notes = {f"註{n}" for n in citation.footnotes}
        footnotes = tuple(
            self.pipeline.citation(row)
            for row, p in enumerate(self.index.passages)
            if p.doc_id == citation.doc_id and p.is_footnote and p.section[-1] in notes
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
            self.pipeline.citation(row)
            for row, p in enumerate(self.index.passages)
            if p.doc_id == section.doc_id and tuple(p.section[:n]) == tuple(section.path)
        ]

    @property
    def passages(self) -> list[Citation]:
        """Every indexed passage in reading order."""
        return [self.pipeline.citation(row) for row in range(len(self.index.passages))]
