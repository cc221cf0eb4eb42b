"""Read an HTML page into a :class:`Document` with BeautifulSoup (lxml's parser).

The page is data only: nothing is executed and nothing it refers to (images, styles, scripts,
frames) is fetched. What is read:

- the ``<main>`` element if the page has one (else its single ``<article>``, else ``<body>``);
- without ``script``, ``style``, ``noscript``, ``template``, ``nav``, ``aside``, ``form``, ``footer``,
  frames, embedded objects and SVG, elements marked ``hidden`` or ``aria-hidden``, or with the role of
  navigation, banner, page footer, search or sidebar; a ``header`` is dropped unless it belongs to
  an ``<article>`` or ``<main>`` (where it carries the article's own heading);
- ``h1`` … ``h6`` as headings; paragraphs, list items, quotes, captions and other blocks as
  paragraphs; a table row as one paragraph with its cells joined by `` | ``.

The title is the ``<title>``, else the first ``h1``. Character references (``&amp;``, ``&#x4E2D;``)
are decoded; the encoding comes from a byte-order mark or ``<meta charset>``, else is detected.
"""

from __future__ import annotations

from typing import Any

from corpus.errors import DocumentError
from corpus.model import BlockKind, Document
from corpus.parsing import TextItem, assemble_document, join_lines, normalize_spacing, promote_title

DROPPED_TAGS = (
    "script",
    "style",
    "noscript",
    "template",
    "nav",
    "aside",
    "form",
    "footer",
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "svg",
    "math",
    "canvas",
    "button",
    "select",
    "textarea",
    "dialog",
)
DROPPED_ROLES = {"navigation", "banner", "contentinfo", "search", "complementary", "menu", "menubar"}
HEADING_TAGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
BLOCK_TAGS = {
    "address",
    "article",
    "blockquote",
    "caption",
    "center",
    "dd",
    "details",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "header",
    "hgroup",
    "hr",
    "li",
    "main",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "ul",
}


def _clean(text: str) -> str:
    """HTML whitespace: runs collapse, and a line break between CJK characters disappears."""
    return normalize_spacing(join_lines(text.split("\n")))


def _flush(items: list[TextItem], buffer: list[str]) -> None:
    """The inline text gathered so far, as a paragraph."""
    text = _clean("".join(buffer))
    buffer.clear()
    if text:
        items.append(TextItem(BlockKind.PARAGRAPH, text))


class HtmlReader:
    """Read the readable text of an HTML page: headings and paragraphs, no scripts or navigation."""

    def run(self, data: bytes, *, doc_id: str, source: str, content_hash: str) -> Document:
        """The document in the HTML ``data``; :class:`DocumentError` naming ``source`` if it cannot be read."""
        from bs4 import BeautifulSoup

        try:
            soup = BeautifulSoup(data, "lxml")
            page_title = _clean(soup.title.get_text()) if soup.title else ""
            self._drop_boilerplate(soup)
            items: list[TextItem] = []
            buffer: list[str] = []
            self._walk(self._root(soup), items, buffer)
            _flush(items, buffer)
        except RecursionError:
            raise DocumentError(f"{source}: the HTML is nested too deeply to read") from None
        except Exception as exc:  # the parser is lenient, but a damaged file can fail anywhere
            raise DocumentError(f"{source}: not a readable HTML page ({type(exc).__name__}: {exc})") from None
        first_h1 = next((i.text for i in items if i.kind is BlockKind.HEADING and i.level == 1), None)
        first_heading = promote_title(items)
        document = assemble_document(
            items,
            doc_id=doc_id,
            source=source,
            content_hash=content_hash,
            title=page_title or first_h1 or first_heading,
        )
        document.meta["format"] = "html"
        return document

    @staticmethod
    def _drop_boilerplate(soup: Any) -> None:
        for tag in soup.find_all(DROPPED_TAGS):
            tag.decompose()
        for tag in soup.find_all("header"):
            if tag.find_parent(["article", "main"]) is None:
                tag.decompose()
        doomed = [
            tag
            for tag in soup.find_all(True)
            if tag.has_attr("hidden")
            or str(tag.get("aria-hidden", "")).lower() == "true"
            or str(tag.get("role", "")).lower() in DROPPED_ROLES
        ]
        for tag in doomed:
            if not tag.decomposed:
                tag.decompose()

    @staticmethod
    def _root(soup: Any) -> Any:
        main = soup.find("main")
        if main is not None:
            return main
        articles = soup.find_all("article")
        if len(articles) == 1:
            return articles[0]
        return soup.body or soup

    def _walk(self, node: Any, items: list[TextItem], buffer: list[str]) -> None:
        """Append ``node``'s headings and paragraphs to ``items``; inline text gathers in ``buffer``."""
        from bs4 import NavigableString, Tag
        from bs4.element import PreformattedString

        for child in node.children:
            if isinstance(child, PreformattedString):  # comments, CDATA, doctype, processing instructions
                continue
            if isinstance(child, NavigableString):
                buffer.append(str(child))
                continue
            if not isinstance(child, Tag):
                continue
            name = child.name.lower()
            if name in HEADING_TAGS:
                _flush(items, buffer)
                text = _clean(child.get_text())
                if text:
                    items.append(TextItem(BlockKind.HEADING, text, level=HEADING_TAGS[name]))
            elif name == "br":
                buffer.append("\n")
            elif name == "tr":
                _flush(items, buffer)
                cells = [_clean(cell.get_text(" ")) for cell in child.find_all(["td", "th"], recursive=False)]
                line = " | ".join(c for c in cells if c)
                if line:
                    items.append(TextItem(BlockKind.PARAGRAPH, line))
            elif name in BLOCK_TAGS:
                _flush(items, buffer)
                self._walk(child, items, buffer)
                _flush(items, buffer)
            else:
                self._walk(child, items, buffer)
