"""Split documents into short passages that never cross a section boundary."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from corpus.model import Block, BlockKind, Document, SectionPath

CJK_SEPARATORS: tuple[str, ...] = ("\n\n", "\n", "。", "！", "？", "；", "!", "?", ";", "，", ",", " ", "")


@dataclass(frozen=True)
class Passage:
    """A chunk of one document: ``content == document.text[start:end]``."""

    id: str
    doc_id: str
    content: str
    start: int
    end: int
    section: SectionPath
    footnotes: tuple[int, ...] = ()
    """Footnotes cited by the blocks this passage overlaps."""
    is_footnote: bool = False
    score: float | None = None
    page: int | None = None
    """For a paginated original (PDF), the page of the passage's first character; else ``None``."""
    page_end: int | None = None
    """The page of its last character (``page`` unless the passage runs onto the next page)."""


def passage_id(doc_id: str, content_hash: str, start: int, end: int) -> str:
    """A short id, stable for the same document text and chunking: ``p`` + 7 hex digits."""
    digest = hashlib.sha1(f"{doc_id}\x1f{content_hash}\x1f{start}\x1f{end}".encode()).hexdigest()
    return "p" + digest[:7]


def _section_groups(document: Document) -> list[list[Block]]:
    """Consecutive blocks of one section; a heading directly followed by a sub-heading joins it."""
    groups: list[list[Block]] = []
    for block in document.blocks:
        starts_group = (
            not groups
            or block.kind in (BlockKind.HEADING, BlockKind.FOOTNOTE)
            or groups[-1][-1].kind is BlockKind.FOOTNOTE
            or block.section != groups[-1][-1].section
        )
        heading_only = bool(groups) and all(b.kind is BlockKind.HEADING for b in groups[-1])
        if starts_group and heading_only and block.kind is BlockKind.HEADING:
            starts_group = False  # keep "一、…" with the "（一）…" that opens its text
        if starts_group:
            groups.append([block])
        else:
            groups[-1].append(block)
    return groups


class ChunkSplitter:
    """Split each section's text into passages with ``langchain-text-splitters``.

    Separators are CJK-aware (``。！？；，`` kept at the end of their sentence); a passage never
    crosses a section boundary, and every passage knows its span in the cleaned document text.
    """

    def __init__(self, chunk_size: int = 240, chunk_overlap: int = 40) -> None:
        if chunk_size < 20:
            raise ValueError(f"chunk_size must be at least 20 characters, got {chunk_size}")
        if not 0 <= chunk_overlap < chunk_size:
            raise ValueError(f"chunk_overlap must be in [0, chunk_size), got {chunk_overlap}")
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self._splitter = RecursiveCharacterTextSplitter(
            separators=list(CJK_SEPARATORS),
            keep_separator="end",
            chunk_size=chunk_size,
            chunk_overlap=chunk_overlap,
            strip_whitespace=True,
        )

    @property
    def settings(self) -> dict[str, int | str]:
        """What the chunks depend on, for the index manifest."""
        return {"splitter": "recursive-cjk-v1", "chunk_size": self.chunk_size, "chunk_overlap": self.chunk_overlap}

    def run(self, documents: list[Document]) -> list[Passage]:
        """Passages of all documents in reading order."""
        passages: list[Passage] = []
        for document in documents:
            passages.extend(self.split(document))
        return passages

    def split(self, document: Document) -> list[Passage]:
        """Passages of one document in reading order."""
        out: list[Passage] = []
        for group in _section_groups(document):
            g_start, g_end = group[0].start, group[-1].end
            text = document.text[g_start:g_end]
            headings_end = max((b.end for b in group if b.kind is BlockKind.HEADING), default=g_start)
            spans: list[tuple[int, int]] = []
            cursor = 0
            for chunk in self._splitter.split_text(text):
                local = text.find(chunk, cursor)
                if local < 0:  # pragma: no cover - the splitter only removes whitespace
                    raise RuntimeError(f"chunk not found in its section: {chunk[:40]!r}")
                cursor = local + 1
                start, end = g_start + local, g_start + local + len(chunk)
                if spans and spans[-1][1] <= headings_end and spans[-1][0] == g_start:
                    start = spans.pop()[0]  # a heading reads with the text it opens
                spans.append((start, end))
            for start, end in spans:
                chunk = document.text[start:end]
                blocks = document.blocks_in(start, end)
                footnotes = tuple(dict.fromkeys(n for b in blocks for n in b.footnotes))
                out.append(
                    Passage(
                        id=passage_id(document.id, document.content_hash, start, end),
                        doc_id=document.id,
                        content=chunk,
                        start=start,
                        end=end,
                        section=group[-1].section,
                        footnotes=footnotes,
                        is_footnote=group[0].kind is BlockKind.FOOTNOTE,
                        page=document.page_at(start),
                        page_end=document.page_at(end - 1),
                    )
                )
        return out
