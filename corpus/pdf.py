"""Read a PDF's text layer into a :class:`Document` with pages and headings.

Text, positions and font sizes come from ``pdfplumber`` (pdfminer.six), which maps CJK fonts back
to Unicode; the outline (bookmarks), encryption and metadata come from ``pypdf``.

- Lines are read top to bottom and left to right on each page (one column: a two-column page
  reads across both columns).
- Lines join into paragraphs: a wider gap than the body's line spacing, a first-line indent, or a
  short line ending a sentence starts a new one. Lines join without a space when either side is a
  CJK character and with one between Latin words; a word hyphenated at a line end is rejoined.
  Spaces that extraction puts between CJK characters are dropped.
- A paragraph that runs onto the next page stays one block; :attr:`Document.pages` records where
  each page starts, so every character (and passage) knows its page. A block's ``page`` is the
  page of its first character.
- Headings come from the outline when its entries can be found on their pages, otherwise from
  lines set larger than the body text (the largest size is level 1).
- Bare page numbers and running heads or feet repeated on most pages are dropped.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import logging
import re
import statistics
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from corpus.errors import DocumentError
from corpus.model import BlockKind, Document
from corpus.parsing import (
    SENTENCE_END,
    TextItem,
    assemble_document,
    drop_cjk_gaps,
    normalize_spacing,
    promote_title,
)

_UNMAPPED_GLYPH = re.compile(r"\(cid:\d+\)")
_PAGE_NUMBER = re.compile(
    r"^[-–—\s]*(\d{1,4}|[ivxlcdm]{1,7})[-–—\s]*$|^(第\s*\d+\s*[頁页]|page\s+\d+(\s+of\s+\d+)?|\d+\s*/\s*\d+)$", re.I
)
_RADICAL = re.compile("[\u2e80-\u2eff\u2f00-\u2fdf]")
_JUNK_TITLES = re.compile(
    r"^(untitled.*|about:blank|microsoft (word|powerpoint) - .*|.*\.(docx?|pptx?|pdf|txt))$", re.I
)
"""Metadata titles that name a file or a program rather than the document."""
MAX_HEADING_CHARS = 100
MAX_HEADING_LEVEL = 6


@contextlib.contextmanager
def _quiet_libraries() -> Iterator[None]:
    """Keep pdfminer's and pypdf's warnings about small defects of a file off the user's terminal."""
    loggers = [logging.getLogger(name) for name in ("pdfminer", "pypdf")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


@dataclass
class _Line:
    page: int
    text: str
    size: float
    x0: float
    x1: float
    top: float
    bottom: float
    level: int = 0
    """Heading level; 0 for body text."""


def _clean_line(text: str) -> str:
    """A line's text: Kangxi radicals that fonts map their glyphs to (``⼋`` for ``八``) made the
    ideographs they stand for, unmapped glyphs dropped, spaces between CJK characters removed."""
    text = _RADICAL.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
    text = _UNMAPPED_GLYPH.sub("", unicodedata.normalize("NFC", text))
    return normalize_spacing(drop_cjk_gaps(normalize_spacing(text)))


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).casefold()


def _append(item: TextItem, text: str, page: int) -> None:
    """Add a line to a paragraph: rejoin a hyphenated word, else join as :class:`TextItem` does."""
    if re.search(r"[A-Za-z]-$", item.text) and re.match(r"[a-z]", text):
        item.text = item.text[:-1]
        joined = item.text + text
        if page != item.pages[-1][1]:
            item.pages.append((len(item.text), page))
        item.text = joined
        return
    item.extend(TextItem(item.kind, text, pages=[(0, page)]))


def _has_doubled_chars(chars: list[dict[str, Any]]) -> bool:
    """Whether a character is drawn twice in one place (simulated bold), so that pdfplumber's (slow)
    de-duplication is needed."""
    seen: set[tuple[str, int, int]] = set()
    for char in chars:
        key = (char["text"], round(char["x0"]), round(char["top"]))
        if key in seen and not char["text"].isspace():
            return True
        seen.add(key)
    return False


def _margins(body: list[_Line]) -> dict[int, tuple[float, float]]:
    """Each page's left and right edge of the body text.

    A page's own extremes, widened to the typical edges of the pages of its parity (books mirror
    their margins), so a page whose lines all start indented still shows the indents.
    """
    own: dict[int, tuple[float, float]] = {}
    for line in body:
        left, right = own.get(line.page, (line.x0, line.x1))
        own[line.page] = (min(left, line.x0), max(right, line.x1))
    typical = {
        parity: (
            statistics.median(edges[0] for page, edges in own.items() if page % 2 == parity),
            statistics.median(edges[1] for page, edges in own.items() if page % 2 == parity),
        )
        for parity in {page % 2 for page in own}
    }
    return {
        page: (min(left, typical[page % 2][0]), max(right, typical[page % 2][1])) for page, (left, right) in own.items()
    }


def read_structure(data: bytes, source: str) -> tuple[list[tuple[int, str, int]], str | None, int]:
    """Outline entries ``(level, title, page)``, the metadata title and the page count (pypdf)."""
    import pypdf
    from pypdf.errors import FileNotDecryptedError, PdfReadError

    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise FileNotDecryptedError("a password is needed")
        page_count = len(reader.pages)
    except (FileNotDecryptedError, NotImplementedError) as exc:
        raise DocumentError(
            f"{source}: the PDF is encrypted and needs a password ({exc}); save an unprotected copy and load that"
        ) from None
    except Exception as exc:  # a damaged file can fail anywhere inside the library
        raise DocumentError(f"{source}: not a readable PDF ({type(exc).__name__}: {exc})") from None
    if page_count == 0:
        raise DocumentError(f"{source}: the PDF has no pages")

    entries: list[tuple[int, str, int]] = []

    def walk(nodes: list[Any], level: int) -> None:
        for node in nodes:
            if isinstance(node, list):
                walk(node, level + 1)
                continue
            page = reader.get_destination_page_number(node)
            title = normalize_spacing(str(node.title or ""))
            if title and page is not None and page >= 0:
                entries.append((level, title, page + 1))

    try:
        walk(reader.outline, 1)
    except (PdfReadError, KeyError, TypeError, ValueError, AttributeError):
        entries = []  # a broken outline is ignored: headings then come from font sizes
    try:
        raw_title = reader.metadata.title if reader.metadata else None
    except (PdfReadError, KeyError, TypeError, ValueError):
        raw_title = None
    title = normalize_spacing(str(raw_title or ""))
    return entries, (title if title and not _JUNK_TITLES.match(title) else None), page_count


def read_lines(data: bytes, source: str) -> list[_Line]:
    """Every text line of every page, in reading order (pdfplumber)."""
    import pdfplumber

    lines: list[_Line] = []
    glyphs = unmapped = 0
    try:
        with pdfplumber.open(io.BytesIO(data), password="") as pdf:
            for number, page in enumerate(pdf.pages, start=1):
                text_page = page.dedupe_chars() if _has_doubled_chars(page.chars) else page
                for raw in text_page.extract_text_lines(return_chars=True, strip=True):
                    sizes = [c["size"] for c in raw["chars"] if c["text"].strip()]
                    glyphs += len(sizes)
                    unmapped += len(_UNMAPPED_GLYPH.findall(raw["text"]))
                    text = _clean_line(raw["text"])
                    if not text or not sizes:
                        continue
                    size = round(statistics.median(sizes) * 2) / 2
                    lines.append(_Line(number, text, size, raw["x0"], raw["x1"], raw["top"], raw["bottom"]))
                page.close()
    except Exception as exc:  # a damaged file can fail anywhere inside the library
        raise DocumentError(f"{source}: not a readable PDF ({type(exc).__name__}: {exc})") from None
    if glyphs and unmapped * 5 > glyphs:
        raise DocumentError(
            f"{source}: its fonts do not say which characters they draw, so no text can be extracted; "
            "run OCR first (e.g. ocrmypdf --force-ocr in.pdf out.pdf) and load the result"
        )
    return lines


class PdfReader:
    """Read the text layer of a PDF (not scanned images: those need OCR first).

    ``heading_ratio``: a line set at least this many times larger than the body text is a heading
    (when the PDF has no usable outline).
    """

    def __init__(self, heading_ratio: float = 1.15) -> None:
        if heading_ratio <= 1.0:
            raise ValueError(f"heading_ratio must be above 1, got {heading_ratio}")
        self.heading_ratio = heading_ratio

    def run(self, data: bytes, *, doc_id: str, source: str, content_hash: str) -> Document:
        """The document in the PDF ``data``; :class:`DocumentError` naming ``source`` if it cannot be read."""
        if b"%PDF-" not in data[:1024]:
            raise DocumentError(f"{source}: not a PDF file (it does not start with %PDF-)")
        with _quiet_libraries():
            outline, meta_title, page_count = read_structure(data, source)
            lines = self._drop_running_lines(read_lines(data, source), page_count)
        if not lines:
            raise DocumentError(
                f"{source}: no text layer on any of its {page_count} page(s), page numbers aside (a scanned PDF?); "
                "run OCR first (e.g. ocrmypdf in.pdf out.pdf) and load the result"
            )
        if not self._mark_outline(lines, outline):
            self._mark_font_sizes(lines)
        items = self._items(lines)
        first_heading = promote_title(items)
        titled = items[0].kind is BlockKind.TITLE
        if titled:  # levels are ranks here: the title's rank is taken
            for item in items[1:]:
                item.level = max(item.level - 1, 1) if item.kind is BlockKind.HEADING else item.level
        title = (first_heading if titled else None) or meta_title or first_heading
        document = assemble_document(items, doc_id=doc_id, source=source, content_hash=content_hash, title=title)
        with_text = {page for _, page in document.pages}
        document.meta.update(
            format="pdf",
            pages=str(page_count),
            pages_without_text=",".join(str(p) for p in range(1, page_count + 1) if p not in with_text),
        )
        return document

    # -- reading ----------------------------------------------------------------------------
    @staticmethod
    def _drop_running_lines(lines: list[_Line], page_count: int) -> list[_Line]:
        """Lines without bare page numbers, and without running heads or feet repeated on most pages."""
        by_page: dict[int, list[_Line]] = {}
        for line in lines:
            by_page.setdefault(line.page, []).append(line)
        edges = [page[0] for page in by_page.values()] + [page[-1] for page in by_page.values() if len(page) > 1]
        shape = Counter(re.sub(r"\d+", "#", _compact(line.text)) for line in edges)
        repeated = {text for text, n in shape.items() if n >= 3 and n * 2 >= page_count}
        dropped = {
            id(line)
            for line in edges
            if _PAGE_NUMBER.match(line.text) or re.sub(r"\d+", "#", _compact(line.text)) in repeated
        }
        return [line for line in lines if id(line) not in dropped]

    # -- headings ---------------------------------------------------------------------------
    @staticmethod
    def _mark_outline(lines: list[_Line], outline: list[tuple[int, str, int]]) -> bool:
        """Mark the lines that outline entries point at (a title may wrap over lines); False if none is found."""
        by_page: dict[int, list[_Line]] = {}
        for line in lines:
            by_page.setdefault(line.page, []).append(line)
        found = False
        for level, title, page in outline:
            wanted = _compact(title)
            candidates = by_page.get(page, [])
            for i, line in enumerate(candidates):
                if line.level or not wanted.startswith(_compact(line.text)):
                    continue
                taken, seen = [line], _compact(line.text)
                while seen != wanted and i + len(taken) < len(candidates):
                    following = candidates[i + len(taken)]
                    if not wanted.startswith(seen + _compact(following.text)):
                        break
                    taken.append(following)
                    seen += _compact(following.text)
                if seen == wanted:
                    for heading_line in taken:
                        heading_line.level = min(level, MAX_HEADING_LEVEL)
                    found = True
                    break
        return found

    def _mark_font_sizes(self, lines: list[_Line]) -> None:
        """Mark short lines set larger than the body text as headings, larger sizes higher."""
        weight: Counter[float] = Counter()
        for line in lines:
            weight[line.size] += len(line.text)
        body = weight.most_common(1)[0][0]

        def is_heading(line: _Line) -> bool:
            return (
                line.size >= body * self.heading_ratio
                and len(line.text) <= MAX_HEADING_CHARS
                and not line.text.endswith(("。", "，", "；", ",", ";"))
            )

        sizes = sorted({line.size for line in lines if is_heading(line)}, reverse=True)
        level = {size: min(i + 1, MAX_HEADING_LEVEL) for i, size in enumerate(sizes)}
        for line in lines:
            if is_heading(line):
                line.level = level[line.size]

    # -- paragraphs -------------------------------------------------------------------------
    @staticmethod
    def _items(lines: list[_Line]) -> list[TextItem]:
        """Join lines into headings and paragraphs; a paragraph cut by a page break goes on."""
        body = [line for line in lines if not line.level]
        gaps = [
            b.top - a.bottom
            for a, b in itertools.pairwise(body)
            if a.page == b.page and a.size == b.size and b.top > a.bottom - 1
        ]
        line_gap = statistics.median(gaps) if gaps else 0.0
        margins = _margins(body)

        def starts_paragraph(prev: _Line, line: _Line, item: TextItem) -> bool:
            indented = line.x0 - margins[line.page][0] > 0.8 * line.size
            short = prev.x1 < margins[prev.page][1] - 1.5 * prev.size and prev.text.endswith(SENTENCE_END)
            if abs(line.size - prev.size) > 1:
                return True
            if line.page != prev.page:  # after a page break: go on unless the paragraph had ended
                return item.text.endswith(SENTENCE_END) and (indented or short)
            return indented or short or line.top - prev.bottom > line_gap + 0.6 * line.size

        items: list[TextItem] = []
        prev: _Line | None = None
        for line in lines:
            item = items[-1] if items else None
            if item is not None and prev is not None:
                if line.level and item.kind is BlockKind.HEADING and line.level == item.level:
                    same_heading = line.page == prev.page and line.top - prev.bottom < line.size
                    if same_heading:
                        _append(item, line.text, line.page)
                        prev = line
                        continue
                elif not line.level and item.kind is BlockKind.PARAGRAPH and not starts_paragraph(prev, line, item):
                    _append(item, line.text, line.page)
                    prev = line
                    continue
            kind = BlockKind.HEADING if line.level else BlockKind.PARAGRAPH
            items.append(TextItem(kind, line.text, level=line.level, pages=[(0, line.page)]))
            prev = line
        return items
