"""What the assistant returns: citations (passages with their place in a document) and answers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from corpus.model import Document, SectionPath, format_section


@dataclass(frozen=True)
class Citation:
    """A passage of an indexed document, citable by ``id``.

    ``text == document.text[start:end]`` of the cleaned document ``doc_id``; ``score`` is the
    retrieval score (fused), ``None`` when the citation was looked up by id.
    """

    id: str
    doc_id: str
    doc_title: str
    section: SectionPath
    text: str
    start: int
    end: int
    score: float | None = None
    footnotes: tuple[int, ...] = ()
    """Numbers of the footnotes that the passage cites (see :meth:`Assistant.context`)."""
    page: int | None = None
    """For a PDF, the 1-based page the passage starts on; ``None`` for text without pages."""
    page_end: int | None = None
    """The page the passage ends on (``page`` unless it runs onto the next page)."""

    @property
    def section_path(self) -> str:
        """The section path as one string: ``"參、… › 一、… › （一）…"``."""
        return format_section(self.section)

    @property
    def page_label(self) -> str:
        """``"p. 3"``, ``"pp. 3–4"`` for a passage over two pages, ``""`` without pages."""
        if self.page is None:
            return ""
        if self.page_end is not None and self.page_end != self.page:
            return f"pp. {self.page}–{self.page_end}"
        return f"p. {self.page}"

    @property
    def location(self) -> str:
        """Where the passage is, for a reader: section path (or the document's title) and page."""
        place = self.section_path or self.doc_title
        return f"{place} · {self.page_label}" if self.page_label else place

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class IndexedDocument:
    """A document being searched, as a list of documents shows it."""

    id: str
    title: str
    source: str
    """Where it came from: the original file's path."""
    passages: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Section:
    """An entry of a document's outline; ``path == ()`` stands for the whole document."""

    doc_id: str
    doc_title: str
    path: SectionPath

    @property
    def level(self) -> int:
        return len(self.path)

    @property
    def title(self) -> str:
        return self.path[-1] if self.path else self.doc_title

    @property
    def section_path(self) -> str:
        return format_section(self.path)


def outline(documents: Iterable[Document]) -> list[Section]:
    """Each document (``path == ()``) followed by its sections, in reading order."""
    return [Section(d.id, d.title, path) for d in documents for path in [(), *d.sections()]]


@dataclass(frozen=True)
class Quote:
    """A sentence of the answer, taken from a cited passage (offsets into the document text)."""

    citation_id: str
    marker: int
    """The ``[n]`` that refers to ``Answer.citations[n - 1]``."""
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Answer:
    """A short extractive answer with ``[n]`` markers and its cited passages, best first."""

    question: str
    text: str
    abstained: bool
    citations: tuple[Citation, ...]
    quotes: tuple[Quote, ...] = ()
    language: str = ""
    notice: str = ""
    """Anything the reader should know about how the question was taken, e.g. that a very long
    question was answered on its first ``Settings.max_question_chars`` characters."""
    short: str | None = None
    """The fact first, for a question asking for a date, a number or a name: the shortest stretch of
    the quoted sentences that answers it, as the reader is shown it ("June 12, 2018 (2018年6月12日)"
    for an English question); ``None`` when no stretch of the kind asked for is there."""
    short_quote: Quote | None = None
    """That stretch as the document writes it, with its document offsets (see ``qa.short_answer``)."""
    script: str = ""
    """The script ``shown_text``, ``shown_passages`` and ``short`` are in when it is not the
    documents' own: ``"zh-Hans"`` for a question in Simplified characters (see ``qa.reader_script``)."""
    shown_text: str = ""
    """``text`` in :attr:`script` (empty when ``script`` is empty: then ``text`` is shown)."""
    shown_passages: tuple[str, ...] = ()
    """Each citation's text in :attr:`script` (empty when ``script`` is empty)."""

    @property
    def display_text(self) -> str:
        """The answer as its reader is shown it: :attr:`shown_text` when there is one, else :attr:`text`."""
        return self.shown_text or self.text

    def passage_shown(self, n: int) -> str:
        """The text of citation ``n`` (0-based) as its reader is shown it."""
        return self.shown_passages[n] if self.shown_passages else self.citations[n].text

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PassageContext:
    """A citation shown in place: the text around it and the footnotes it cites.

    For a citation with pages (a PDF), ``page_before + citation.text + page_after`` is the text of
    its page(s), the passage in place; both are ``""`` for text without pages.
    """

    citation: Citation
    before: str
    after: str
    footnotes: tuple[Citation, ...]
    page_before: str = ""
    page_after: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
