"""Turn extracted plain text or Markdown into a structured, cleaned :class:`Document`.

What the parser repairs (text extracted from a paginated original):

- a paragraph, or a word, split by a page break (a blank line in mid-sentence) is rejoined;
- footnote bodies (``¹ …`` at the foot of a page) are taken out of the paragraph they
  interrupt and become blocks of their own, placed right after the block that cites them;
- footnote markers (``¹ ² ³``) are stripped from the searchable text but kept as links;
- runs of whitespace collapse, and the spaces extraction put between Chinese characters
  and numbers (``2017 年 5 月``) are dropped. Characters are never changed otherwise.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from corpus.characters import CJK_TEXT
from corpus.model import Block, BlockKind, Document, SectionPath

SUPERSCRIPT_DIGITS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
_SUPERSCRIPT_VALUE = {c: str(i) for i, c in enumerate(SUPERSCRIPT_DIGITS)}
_FOOTNOTE_BODY = re.compile(rf"^([{SUPERSCRIPT_DIGITS}]+)\s*(\S.*)$", re.S)
_FOOTNOTE_MARKER = re.compile(rf"[{SUPERSCRIPT_DIGITS}]+")

_HEADING_PATTERNS: tuple[tuple[int, re.Pattern[str]], ...] = (
    (1, re.compile(r"^[壹貳參叁肆伍陸柒捌玖拾]+、")),
    (2, re.compile(r"^[一二三四五六七八九十]+、")),
    (3, re.compile(r"^[（(][一二三四五六七八九十]+[）)]")),
)
_MARKDOWN_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*$")
_MARKDOWN_FENCES = ("```", "~~~")
_CAPTION = re.compile(r"^(圖|表|图|Figure|Table)\s*\d+([-.－]\d+)?", re.I)
_SOURCE = re.compile(r"^(資料來源|资料来源|Source)\s*[：:]", re.I)
MAX_HEADING_CHARS = 80
MAX_BYLINE_CHARS = 40
SENTENCE_END = tuple("。！？!?…；;：:」』”’）)】》.\"'")
"""A paragraph ending in one of these is complete; otherwise a line or page break cut it."""


def _is_cjk(ch: str) -> bool:
    if not ch:
        return False
    code = ord(ch)
    return (
        0x3000 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or 0xFF00 <= code <= 0xFFEF or 0x20000 <= code <= 0x2FA1F
    )


CONTROL_CHARACTERS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f"
"""C0 controls other than tab and line breaks, and DEL (the body of a regex character class)."""
INVISIBLE_CHARACTERS = r"\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
"""Soft hyphen, zero-width, word-joiner, bidi-control and BOM characters (a character class body)."""
SURROGATES = "\ud800-\udfff"
"""Halves of UTF-16 pairs, which alone (JSON's ``"\\ud800"``) are no characters and cannot be
encoded (a character class body)."""

_SPACE_RUN = re.compile(r"[^\S\n]+")
_CJK_DIGIT_SPACE = re.compile(rf"(?<=[{CJK_TEXT}]) (?=[0-9])|(?<=[0-9]) (?=[{CJK_TEXT}])")
_CJK_GAP = re.compile(rf"(?<=[{CJK_TEXT}])\s+(?=[{CJK_TEXT}])")


def normalize_spacing(text: str) -> str:
    """Collapse whitespace and drop spaces between Chinese characters and digits."""
    text = _SPACE_RUN.sub(" ", text.replace("\u00a0", " ").replace("\u3000", " ")).strip()
    return _CJK_DIGIT_SPACE.sub("", text)


def drop_cjk_gaps(text: str) -> str:
    """Remove whitespace between two CJK characters (put there by extraction or line wrapping)."""
    return _CJK_GAP.sub("", text)


def join_lines(lines: Iterable[str]) -> str:
    """Lines of one paragraph as one string: no space where either side is CJK, else one space."""
    return _joined([line.strip() for line in lines])[0]


def _joined(pieces: Sequence[str]) -> tuple[str, list[int]]:
    """``pieces`` joined as :func:`_join` joins two, in one pass (time linear in their length, however
    many there are), and the offset in the result where each piece starts."""
    parts: list[str] = []
    starts: list[int] = []
    length = 0
    last = ""  # the last character so far
    for piece in pieces:
        if piece and last and not (_is_cjk(last) or _is_cjk(piece[0])):
            parts.append(" ")
            length += 1
        starts.append(length)
        parts.append(piece)
        length += len(piece)
        last = piece[-1] if piece else last
    return "".join(parts), starts


def _join(left: str, right: str) -> str:
    """Join two pieces of one paragraph split by a line or page break."""
    if not left:
        return right
    if not right:
        return left
    if _is_cjk(left[-1]) or _is_cjk(right[0]):
        return left + right
    return left + " " + right


def _split_markers(text: str) -> tuple[str, tuple[int, ...]]:
    numbers = tuple(int("".join(_SUPERSCRIPT_VALUE[c] for c in m.group())) for m in _FOOTNOTE_MARKER.finditer(text))
    return _FOOTNOTE_MARKER.sub("", text), numbers


@dataclass
class TextItem:
    """A block before it has offsets: what the text parser and the format readers produce."""

    kind: BlockKind
    text: str
    level: int = 0
    footnotes: list[int] = field(default_factory=list)
    footnote_number: int | None = None
    pages: list[tuple[int, int]] = field(default_factory=list)
    """``(offset in text, page)`` where each page of a paginated original starts in this item."""

    def extend(self, *others: TextItem) -> None:
        """Append ``others``, the rest of this paragraph cut off by line or page breaks (all at once:
        one at a time would copy the growing text each time)."""
        joined, starts = _joined([self.text, *(other.text for other in others)])
        for other, shift in zip(others, starts[1:], strict=True):
            for offset, page in other.pages:
                if not self.pages or page != self.pages[-1][1]:
                    self.pages.append((offset + shift, page))
            self.footnotes.extend(other.footnotes)
        self.text = joined


def _raw_paragraphs(text: str, markdown: bool = False) -> list[str]:
    """Blank-line separated groups of lines, each joined into one string. In Markdown a heading line
    (``## Section``) is a group of its own even without blank lines around it, except inside a fenced
    code block (a ``# comment`` there is code)."""
    groups: list[str] = []
    current: list[str] = []
    fenced = False
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            if current:
                groups.append(join_lines(current))
            current = []
            continue
        if markdown and line.startswith(_MARKDOWN_FENCES):
            fenced = not fenced
        elif markdown and not fenced and _MARKDOWN_HEADING.match(line):
            if current:
                groups.append(join_lines(current))
            groups.append(line)
            current = []
            continue
        current.append(line)
    if current:
        groups.append(join_lines(current))
    return groups


def _heading_level(text: str, markdown: bool) -> tuple[int, str] | None:
    if markdown:
        m = _MARKDOWN_HEADING.match(text)
        if m:
            return len(m.group(1)), m.group(2)
    if len(text) > MAX_HEADING_CHARS or text.endswith(("。", "；", "，")):
        return None
    for level, pattern in _HEADING_PATTERNS:
        if pattern.match(text):
            return level, text
    return None


def _classify(groups: list[str], markdown: bool) -> list[TextItem]:
    items: list[TextItem] = []
    seen_heading = False
    for raw in groups:
        text = normalize_spacing(raw)
        if not text:
            continue
        body = _FOOTNOTE_BODY.match(text)
        if body:
            number = int("".join(_SUPERSCRIPT_VALUE[c] for c in body.group(1)))
            items.append(TextItem(BlockKind.FOOTNOTE, body.group(2).strip(), footnote_number=number))
            continue
        clean, markers = _split_markers(text)
        clean = normalize_spacing(clean)
        if not clean:  # a line of bare markers: the block before it cites them
            citing = next((i for i in reversed(items) if i.kind is not BlockKind.FOOTNOTE), None)
            if citing is not None:
                citing.footnotes.extend(markers)
            continue
        heading = _heading_level(clean, markdown)
        if heading and not items and ((markdown and heading[0] == 1) or not markdown):
            items.append(TextItem(BlockKind.TITLE, heading[1] if markdown else clean, footnotes=list(markers)))
        elif heading:
            seen_heading = True
            items.append(TextItem(BlockKind.HEADING, heading[1], level=heading[0], footnotes=list(markers)))
        elif not items and len(clean) <= MAX_HEADING_CHARS and not clean.endswith("。"):
            items.append(TextItem(BlockKind.TITLE, clean, footnotes=list(markers)))
        elif _CAPTION.match(clean) and len(clean) <= MAX_HEADING_CHARS:
            items.append(TextItem(BlockKind.CAPTION, clean, footnotes=list(markers)))
        elif _SOURCE.match(clean):
            items.append(TextItem(BlockKind.SOURCE, clean, footnotes=list(markers)))
        elif (
            not seen_heading
            and items
            and items[-1].kind in (BlockKind.TITLE, BlockKind.BYLINE)
            and len(clean) <= MAX_BYLINE_CHARS
            and not any(p in clean for p in "。，；.,;!?！？")
        ):
            items.append(TextItem(BlockKind.BYLINE, clean, footnotes=list(markers)))
        else:
            items.append(TextItem(BlockKind.PARAGRAPH, clean, footnotes=list(markers)))
    return items


def _repair_page_breaks(items: list[TextItem]) -> list[TextItem]:
    """Rejoin paragraphs cut by a page break; footnote bodies in between do not interrupt."""
    out: list[TextItem] = []
    open_paragraph: TextItem | None = None
    rest: list[TextItem] = []  # the pieces of open_paragraph's text after its first, joined when it closes
    for item in items:
        if item.kind is BlockKind.FOOTNOTE:
            out.append(item)
            continue
        if item.kind is BlockKind.PARAGRAPH and open_paragraph is not None:
            rest.append(item)
        else:
            if open_paragraph is not None:
                open_paragraph.extend(*rest)
            out.append(item)
            open_paragraph, rest = (item if item.kind is BlockKind.PARAGRAPH else None), []
        if open_paragraph is not None and (item.text or open_paragraph.text).endswith(SENTENCE_END):
            open_paragraph.extend(*rest)
            open_paragraph, rest = None, []
    if open_paragraph is not None:
        open_paragraph.extend(*rest)
    return out


def _place_footnotes(items: list[TextItem]) -> list[TextItem]:
    """Put each footnote body right after the first block that cites it."""
    bodies = {i.footnote_number: i for i in items if i.kind is BlockKind.FOOTNOTE}
    placed: set[int | None] = set()
    ordered: list[TextItem] = []
    for item in items:
        if item.kind is BlockKind.FOOTNOTE:
            continue
        ordered.append(item)
        for number in item.footnotes:
            if number in bodies and number not in placed:
                ordered.append(bodies[number])
                placed.add(number)
    ordered.extend(i for i in items if i.kind is BlockKind.FOOTNOTE and i.footnote_number not in placed)
    return ordered


def promote_title(items: list[TextItem]) -> str | None:
    """Make the first item the title when it is a heading that no later heading outranks or equals
    (a lone top heading that opens the document, like Markdown's ``# Title``).

    Returns the title's text, else the first heading's (for a document without a title of its own).
    """
    headings = [i for i in items if i.kind is BlockKind.HEADING]
    if items and items[0].kind is BlockKind.HEADING and all(i.level > items[0].level for i in headings[1:]):
        items[0].kind, items[0].level = BlockKind.TITLE, 0
        return items[0].text
    return headings[0].text if headings else None


def parse_text(
    text: str,
    *,
    doc_id: str,
    source: str = "",
    content_hash: str | None = None,
    markdown: bool = False,
) -> Document:
    """Parse extracted text (or Markdown when ``markdown``) into a :class:`Document`."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff"))
    items = _place_footnotes(_repair_page_breaks(_classify(_raw_paragraphs(text, markdown), markdown)))
    digest = content_hash or hashlib.sha256(text.encode("utf-8")).hexdigest()
    return assemble_document(items, doc_id=doc_id, source=source, content_hash=digest)


def assemble_document(
    items: list[TextItem], *, doc_id: str, source: str, content_hash: str, title: str | None = None
) -> Document:
    """Lay ``items`` out as one text (blocks separated by a blank line) with section paths and pages.

    A heading's section path ends with itself; a footnote's is the citing block's plus ``註n``.
    The title is ``title`` if given, else the first ``TITLE`` item's text, else ``doc_id``.
    """
    title = title or next((i.text for i in items if i.kind is BlockKind.TITLE), None) or doc_id
    blocks: list[Block] = []
    parts: list[str] = []
    pages: list[tuple[int, int]] = []
    offset = 0
    path: list[tuple[int, str]] = []
    citing_section: dict[int, SectionPath] = {}
    for item in items:
        if item.kind is BlockKind.HEADING:
            path = [p for p in path if p[0] < item.level] + [(item.level, item.text)]
        section: SectionPath = tuple(p[1] for p in path)
        if item.kind is BlockKind.FOOTNOTE:
            base = citing_section.get(item.footnote_number or 0, section)
            section = (*base, f"註{item.footnote_number}")
        for number in item.footnotes:
            citing_section.setdefault(number, section)
        if parts:
            offset += 2
        for local, page in item.pages:
            if not pages or page != pages[-1][1]:
                pages.append((offset + local, page))
        blocks.append(
            Block(
                index=len(blocks),
                kind=item.kind,
                text=item.text,
                start=offset,
                end=offset + len(item.text),
                section=section,
                level=item.level,
                footnotes=tuple(dict.fromkeys(item.footnotes)),
                footnote_number=item.footnote_number,
                page=item.pages[0][1] if item.pages else None,
            )
        )
        parts.append(item.text)
        offset += len(item.text)
    return Document(
        id=doc_id,
        title=title,
        text="\n\n".join(parts),
        blocks=tuple(blocks),
        source=source,
        content_hash=content_hash,
        pages=tuple(pages),
    )
