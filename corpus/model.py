"""Plain dataclasses for a cleaned, structured document."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property

SectionPath = tuple[str, ...]
"""Headings from the top level down, e.g. ``("參、…", "一、…", "（一）…")``."""

SECTION_SEPARATOR = " › "


class BlockKind(str, Enum):
    """What a block is in the document's structure."""

    TITLE = "title"
    BYLINE = "byline"
    HEADING = "heading"
    PARAGRAPH = "paragraph"
    CAPTION = "caption"
    SOURCE = "source"
    FOOTNOTE = "footnote"


@dataclass(frozen=True)
class Block:
    """One citable unit of a document: a heading, a paragraph, a caption, a footnote …

    ``text`` is the cleaned, searchable text (footnote markers removed) and equals
    ``document.text[start:end]``.
    """

    index: int
    kind: BlockKind
    text: str
    start: int
    end: int
    section: SectionPath
    level: int = 0
    """Heading level (1 = 壹、/ #, 2 = 一、/ ##, 3 = （一）/ ###); 0 for other blocks."""
    footnotes: tuple[int, ...] = ()
    """Numbers of the footnotes this block cites (markers stripped from ``text``)."""
    footnote_number: int | None = None
    """For a footnote block, its number."""
    page: int | None = None
    """For a paginated original (PDF), the 1-based page its first character is on; else ``None``.
    A paragraph that runs onto the next page stays one block: :meth:`Document.page_at` gives the
    page of any character."""


@dataclass(frozen=True)
class Document:
    """A cleaned document: its text, its blocks in reading order, and where it came from."""

    id: str
    title: str
    text: str
    blocks: tuple[Block, ...]
    source: str
    content_hash: str
    """SHA-256 of the original file's bytes."""
    meta: dict[str, str] = field(default_factory=dict, compare=False)
    pages: tuple[tuple[int, int], ...] = ()
    """For a paginated original: ``(offset, page)`` pairs, offsets rising; page ``page`` (1-based)
    starts at ``text[offset]`` and runs to the next pair. Empty for text without pages."""

    def page_at(self, offset: int) -> int | None:
        """The page of the character at ``offset`` of ``text``; ``None`` for a document without pages."""
        if not self.pages:
            return None
        i = bisect_right(self._page_starts, offset) - 1
        return self.pages[max(i, 0)][1]

    @cached_property
    def _page_starts(self) -> list[int]:
        return [start for start, _ in self.pages]

    @cached_property
    def _block_ends(self) -> list[int] | None:
        """Each block's end, when the blocks lie in text order without overlapping (as
        :func:`corpus.parsing.assemble_document` lays them out); else ``None``."""
        ends = [b.end for b in self.blocks]
        in_order = all(a.end <= b.start for a, b in zip(self.blocks, self.blocks[1:], strict=False))
        return ends if in_order else None

    def page_span(self, first: int, last: int | None = None) -> tuple[int, int] | None:
        """The span ``[start, end)`` of ``text`` on pages ``first`` … ``last`` (default ``first``)."""
        last = first if last is None else last
        starts = [start for start, page in self.pages if first <= page <= last]
        if not starts:
            return None
        after = [start for start, page in self.pages if page > last]
        start, end = min(starts), (min(after) if after else len(self.text))
        while end > start and self.text[end - 1] == "\n":  # the blank line before the next page's block
            end -= 1
        return start, end

    def blocks_in(self, start: int, end: int) -> list[Block]:
        """Blocks that overlap the span ``[start, end)`` of ``text``."""
        ends = self._block_ends
        if ends is None:
            return [b for b in self.blocks if b.start < end and b.end > start]
        found = []
        i = bisect_right(ends, start)  # the first block that ends after start
        while i < len(self.blocks) and self.blocks[i].start < end:
            found.append(self.blocks[i])
            i += 1
        return found

    def sections(self) -> list[SectionPath]:
        """Every section path in reading order (the document's outline)."""
        seen: dict[SectionPath, None] = {}
        for block in self.blocks:
            if block.kind is BlockKind.HEADING:
                seen.setdefault(block.section)
        return list(seen)


def format_section(section: SectionPath) -> str:
    """``("參、…", "一、…")`` → ``"參、… › 一、…"``."""
    return SECTION_SEPARATOR.join(section)
