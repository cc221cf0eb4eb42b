"""Read a Word ``.docx`` file into a :class:`Document` with ``python-docx``.

- Paragraphs and tables are read in body order; a table row becomes one paragraph, its cells
  joined by `` | ``.
- Headings come from the paragraph styles: ``Heading 1`` … ``Heading 9`` (or ``标题 1`` …; also a
  style based on one, or any paragraph with an outline level); ``Title`` is the title.
- Word lays out pages only when it displays a document, so blocks carry no page number.
- Not read: headers and footers, footnotes, comments, text boxes, and automatic list numbers.
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

from corpus.errors import DocumentError
from corpus.model import BlockKind, Document
from corpus.parsing import TextItem, assemble_document, join_lines, normalize_spacing, promote_title

_HEADING_STYLE = re.compile(r"^(?:heading|标题|標題)\s*([1-9])$", re.I)
"""Word's built-in heading styles, and the Chinese names some editors (WPS) store them under."""
_TITLE_STYLES = {"title", "标题", "標題"}
MAX_UNPACK_RATIO = 20
"""The unpacked parts may be at most this many times the file's size (a guard against ZIP bombs)."""


def _outline_level(element: Any) -> int | None:
    """The ``w:outlineLvl`` (0-based) set on a paragraph's or a style's properties, if any."""
    values = element.xpath("./w:pPr/w:outlineLvl/@w:val")
    if values and str(values[0]).isdigit() and int(values[0]) < 9:
        return int(values[0]) + 1
    return None


def _style_kind(style: Any) -> tuple[BlockKind, int]:
    """``(HEADING, level)``, ``(TITLE, 0)`` or ``(PARAGRAPH, 0)`` from a style and the styles it is based on."""
    seen = 0
    while style is not None and seen < 10:
        name = str(style.name or "")
        if name.lower() in _TITLE_STYLES:
            return BlockKind.TITLE, 0
        match = _HEADING_STYLE.match(name)
        if match:
            return BlockKind.HEADING, int(match.group(1))
        level = _outline_level(style.element)
        if level is not None:
            return BlockKind.HEADING, level
        style, seen = style.base_style, seen + 1
    return BlockKind.PARAGRAPH, 0


def _clean(text: str) -> str:
    return normalize_spacing(join_lines(text.replace("\t", " ").split("\n")))


class DocxReader:
    """Read the body of a Word 2007+ ``.docx`` file (not the older binary ``.doc``)."""

    def run(self, data: bytes, *, doc_id: str, source: str, content_hash: str) -> Document:
        """The document in the ``.docx`` ``data``; :class:`DocumentError` naming ``source`` if it cannot be read."""
        import docx

        try:
            with zipfile.ZipFile(io.BytesIO(data)) as package:
                unpacked = sum(info.file_size for info in package.infolist())
        except (zipfile.BadZipFile, ValueError, OSError):
            raise DocumentError(
                f"{source}: not a Word .docx file (it is not a ZIP package); "
                "an older .doc file must be saved as .docx first"
            ) from None
        if unpacked > MAX_UNPACK_RATIO * max(len(data), 1_000_000):
            raise DocumentError(f"{source}: unpacks to {unpacked} bytes, too large for its size; refusing to read it")
        try:
            word = docx.Document(io.BytesIO(data))
            items = [item for block in word.iter_inner_content() for item in self._items(block)]
            core_title = normalize_spacing(word.core_properties.title or "")
        except Exception as exc:  # a damaged package can fail anywhere inside the library
            raise DocumentError(f"{source}: not a readable Word .docx file ({type(exc).__name__}: {exc})") from None
        first_heading = promote_title(items)
        titled = next((i.text for i in items if i.kind is BlockKind.TITLE), None)
        document = assemble_document(
            items, doc_id=doc_id, source=source, content_hash=content_hash, title=core_title or titled or first_heading
        )
        document.meta["format"] = "docx"
        return document

    @staticmethod
    def _items(block: Any) -> list[TextItem]:
        from docx.table import Table

        if isinstance(block, Table):
            rows = []
            for row in block.rows:
                texts, previous = [], None
                for cell in row.cells:
                    if cell._tc is not previous:  # a cell merged across columns repeats
                        texts.append(_clean(cell.text))
                    previous = cell._tc
                line = " | ".join(t for t in texts if t)
                if line:
                    rows.append(TextItem(BlockKind.PARAGRAPH, line))
            return rows
        text = _clean(block.text)
        if not text:
            return []
        kind, level = _style_kind(block.style)
        own_level = _outline_level(block._p)
        if own_level is not None and kind is BlockKind.PARAGRAPH:
            kind, level = BlockKind.HEADING, own_level
        return [TextItem(kind, text, level=level)]
