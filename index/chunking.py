"""Split documents into short passages that never cross a section boundary."""

from __future__ import annotations

import hashlib
from collections import deque
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
    page: int | None = None
    """For a paginated original (PDF), the page of the passage's first character; else ``None``."""
    page_end: int | None = None
    """The page of its last character (``page`` unless the passage runs onto the next page)."""


def passage_id(doc_id: str, content_hash: str, start: int, end: int) -> str:
    """A short id, stable for the same document text and chunking: ``p`` + 7 hex digits."""
    digest = hashlib.sha1(f"{doc_id}\x1f{content_hash}\x1f{start}\x1f{end}".encode()).hexdigest()
    return "p" + digest[:7]


def _opens_subsection(block: Block, heading: Block) -> bool:
    """Whether ``block`` is a heading one level or more below ``heading``, inside its section."""
    depth = len(heading.section)
    return block.kind is BlockKind.HEADING and len(block.section) > depth and block.section[:depth] == heading.section


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
        if starts_group and heading_only and _opens_subsection(block, groups[-1][-1]):
            starts_group = False  # keep "一、…" with the "（一）…" that opens its text
        if starts_group:
            groups.append([block])
        else:
            groups[-1].append(block)
    return groups


DEFAULT_CHUNK_SIZE = 300
DEFAULT_CHUNK_OVERLAP = 50
MIN_CHUNK_SIZE = 20
SPLITTER_VERSION = "recursive-cjk-v2"
"""Changes whenever the splitting rules change what passages a text yields (part of the index key)."""


class ChunkSplitter:
    """Split each section's text into passages of at most ``chunk_size`` characters.

    The algorithm is ``langchain-text-splitters``' ``RecursiveCharacterTextSplitter`` (separators kept at
    the end of their piece, whitespace stripped) with CJK-aware separators (``。！？；，`` stay at the end of
    their sentence), run on spans so that every passage knows exactly where it lies in the cleaned
    document text, even where the same words repeat. Consecutive passages overlap by at most
    ``chunk_overlap`` characters, and none lies inside another; a passage never crosses a section
    boundary. The one exception to the size: a section's first chunk, when it holds only headings, is
    glued to the chunk after it, so a heading reads with the text it opens (at most
    ``2 * chunk_size + 2`` characters: the two chunks and the blank line between them).
    """

    def __init__(self, chunk_size: int = DEFAULT_CHUNK_SIZE, chunk_overlap: int = DEFAULT_CHUNK_OVERLAP) -> None:
        if chunk_size < MIN_CHUNK_SIZE:
            raise ValueError(f"chunk_size must be at least {MIN_CHUNK_SIZE} characters, got {chunk_size}")
        if not 0 <= chunk_overlap < chunk_size:
            raise ValueError(f"chunk_overlap must be in [0, chunk_size), got {chunk_overlap}")
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap

    @property
    def settings(self) -> dict[str, int | str]:
        """What the chunks depend on, for the index manifest."""
        return {"splitter": SPLITTER_VERSION, "chunk_size": self.chunk_size, "chunk_overlap": self.chunk_overlap}

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
            headings_end = max((b.end for b in group if b.kind is BlockKind.HEADING), default=g_start)
            spans: list[tuple[int, int]] = []
            glued = False
            for start, end in self.spans(document.text, g_start, g_end):
                if spans and end <= spans[-1][1]:
                    continue  # nothing but the previous chunk's overlap (a whitespace piece overflowed)
                if len(spans) == 1 and spans[0][0] == g_start and spans[0][1] <= headings_end and not glued:
                    start = spans.pop()[0]  # a heading reads with the text it opens
                    glued = True
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

    def spans(self, text: str, start: int, end: int) -> list[tuple[int, int]]:
        """``(start, end)`` of each chunk ``RecursiveCharacterTextSplitter`` makes of ``text[start:end]``,
        in ``text``'s offsets."""
        return self._split(text, start, end, CJK_SEPARATORS)

    def _split(self, text: str, start: int, end: int, separators: tuple[str, ...]) -> list[tuple[int, int]]:
        """Cut at the first separator the span contains; merge the pieces; cut long pieces finer."""
        separator, finer = "", ()  # "" cuts between characters
        for i, candidate in enumerate(separators):
            if candidate and text.find(candidate, start, end) >= 0:
                separator, finer = candidate, separators[i + 1 :]
                break
        chunks: list[tuple[int, int]] = []
        short: list[tuple[int, int]] = []
        for piece in _pieces(text, start, end, separator):
            if piece[1] - piece[0] < self.chunk_size:
                short.append(piece)
                continue
            chunks.extend(self._merge(text, short))
            short = []
            chunks.extend(self._split(text, *piece, finer) if finer else [piece])
        chunks.extend(self._merge(text, short))
        return chunks

    def _merge(self, text: str, pieces: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """Runs of consecutive pieces up to ``chunk_size`` long, each run starting with at most
        ``chunk_overlap`` characters of the previous one; whitespace stripped, empty runs dropped."""
        chunks: list[tuple[int, int]] = []
        run: deque[tuple[int, int]] = deque()
        total = 0
        for piece in pieces:
            length = piece[1] - piece[0]
            if total + length > self.chunk_size and run:
                chunks.extend(_stripped(text, run[0][0], run[-1][1]))
                while total > self.chunk_overlap or (total + length > self.chunk_size and total > 0):
                    first = run.popleft()
                    total -= first[1] - first[0]
            run.append(piece)
            total += length
        if run:
            chunks.extend(_stripped(text, run[0][0], run[-1][1]))
        return chunks


def _pieces(text: str, start: int, end: int, separator: str) -> list[tuple[int, int]]:
    """``text[start:end]`` cut after each occurrence of ``separator`` (or between characters for ``""``)."""
    if not separator:
        return [(i, i + 1) for i in range(start, end)]
    pieces: list[tuple[int, int]] = []
    cut = start
    while (found := text.find(separator, cut, end)) >= 0:
        pieces.append((cut, found + len(separator)))
        cut = found + len(separator)
    if cut < end:
        pieces.append((cut, end))
    return pieces


def _stripped(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The span without leading and trailing whitespace; none if nothing is left."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return [(start, end)] if start < end else []
