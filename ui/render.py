"""Turn answers, citations and sections into chat Markdown and HTML that shows document text as text.

Everything that comes from a document or a user is escaped here (HTML entities, Markdown
punctuation), so ``<script>``, ``<img onerror=…>`` or ``[x](javascript:…)`` in a question or a
document renders as the characters themselves; the only markup is the markup added here.
"""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Callable, Iterable, Sequence

from corpus.model import SECTION_SEPARATOR
from corpus.parsing import CONTROL_CHARACTERS, INVISIBLE_CHARACTERS
from qa.model import Answer, Citation, PassageContext, Quote, Section
from qa.reader_script import converter

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>$])")
_INVISIBLE = re.compile(f"[{CONTROL_CHARACTERS}{INVISIBLE_CHARACTERS}]")


def plain(text: str) -> str:
    """``text`` with control and bidirectional-override characters removed."""
    return _INVISIBLE.sub("", text)


def markdown_text(text: str) -> str:
    """``text`` escaped so that Markdown and HTML render it literally: Markdown's punctuation as
    numeric character references, which never make markup and, unlike backslashes, never show (a
    URL in a passage is linked as written, not as ``example\\.org``)."""
    return _MARKDOWN_SPECIAL.sub(lambda m: f"&#{ord(m[1])};", html.escape(plain(text), quote=False))


def html_text(text: str) -> str:
    """``text`` escaped for HTML, line breaks kept."""
    return html.escape(plain(text)).replace("\n", "<br>")


def _highlighted(citation: Citation, quotes: Iterable[Quote], shown: Callable[[str], str] = str) -> str:
    """The passage with each quoted sentence wrapped in ``<mark>``; text escaped for Markdown and
    each piece passed through ``shown`` (e.g. into the reader's script) first."""
    spans = sorted(
        (max(q.start, citation.start) - citation.start, min(q.end, citation.end) - citation.start)
        for q in quotes
        if q.citation_id == citation.id and q.start < citation.end and q.end > citation.start
    )
    out, pos = [], 0
    for start, end in spans:
        if start < pos:
            continue
        out.append(markdown_text(shown(citation.text[pos:start])))
        out.append(f"<mark>{markdown_text(shown(citation.text[start:end]))}</mark>")
        pos = end
    out.append(markdown_text(shown(citation.text[pos:])))
    return "".join(out)


def source_title(marker: int, citation: Citation, *, document: bool = False) -> str:
    """``[1] 貳、… › 二、… · p1a2b3c4``, with ``· p. 3`` before the id for a PDF and, with
    ``document``, the document's title first; escaped: Gradio renders a thought's title as Markdown
    and HTML."""
    where = f"{citation.doc_title} · {citation.location}" if document and citation.section else citation.location
    return f"\\[{marker}\\] {markdown_text(where)} · {citation.id}"


def source_markdown(citation: Citation, quotes: Sequence[Quote], script: str = "") -> str:
    """A cited passage for the chat: the text (in ``script``, an answer's reader script, see
    ``qa.reader_script``), the answering sentence marked, and its id."""
    hint = f'<span class="pqa-hint">{markdown_text(SOURCE_HINT)}</span>'
    return f"{_highlighted(citation, quotes, converter(script))}\n\n{hint} `{citation.id}`"


_MARKER = re.compile(r"\s\[(\d+)\]")
"""An answer's ``[n]`` marker, as ``qa.answering`` writes it after each quoted sentence."""
SOURCES_HINT = "來源：點標題展開／收合，點內文看上下文 · Sources: a header folds, its text opens in place"
"""Under an answer: what a click on a source does (its header folds it; its text opens the citation tab)."""
SOURCE_HINT = "點此段看上下文 · Click the text to read it in place"


def merged_markers(text: str, quotes: Sequence[Quote]) -> str:
    """``text`` without a ``[n]`` that the next quoted sentence repeats ("… [1] … [1]" → "… … [1]");
    unchanged unless its markers are exactly the quotes' (the quotes and their offsets are untouched)."""
    found = list(_MARKER.finditer(text))
    if not quotes or [int(m.group(1)) for m in found] != [q.marker for q in quotes]:
        return text
    out, pos = [], 0
    for match, following in itertools.pairwise(found):
        if match.group(1) == following.group(1):
            out.append(text[pos : match.start()])
            pos = match.end()
    out.append(text[pos:])
    return "".join(out)


def _linked_markers(markdown: str, sources: int) -> str:
    """Each escaped ``[n]`` (``&#91;n&#93;``, ``n`` one of the ``sources``) of an answer's Markdown as
    a link to its source: the page's script opens and shows that source (see ``ui.page.SCRIPT``)."""

    def link(match: re.Match[str]) -> str:
        n = int(match.group(1))
        if not 1 <= n <= sources:
            return match.group(0)
        return f'<a class="pqa-marker" href="#pqa-source-{n}" title="Source {n}">&#91;{n}&#93;</a>'

    return re.sub(r"&#91;(\d+)&#93;", link, markdown)


def answer_markdown(answer: Answer, note: str = "") -> str:
    """The fact first in bold when there is one (``answer.short``), then the answering sentences with
    their ``[n]`` markers as the reader is shown them (in the reader's script, the documents' own
    words a click away), escaped, each marker a link to its source; a marker the next sentence
    repeats is left out. ``note`` (already Markdown) follows, then a line saying what the sources do."""
    text = _linked_markers(markdown_text(merged_markers(answer.display_text, answer.quotes)), len(answer.citations))
    if answer.short:
        text = f"**{markdown_text(answer.short)}**\n\n{text}"
    if answer.script:  # shown in the reader's script: one click opens the documents' own words
        original = _linked_markers(markdown_text(merged_markers(answer.text, answer.quotes)), len(answer.citations))
        text += f"\n\n<details><summary>原文 Original</summary>\n\n{original}\n\n</details>"
    if note:
        text += f"\n\n{note}"
    if answer.citations:
        text += f'\n\n<span class="pqa-hint">{markdown_text(SOURCES_HINT)}</span>'
    return text


def breadcrumb_html(doc_title: str, section: Sequence[str], page: str = "") -> str:
    """Document title › section path, and the page (``"p. 3"``) when there is one."""
    parts = [doc_title, *section]
    sep = html.escape(SECTION_SEPARATOR)
    crumbs = sep.join(f"<span>{html_text(p)}</span>" for p in parts)
    if page:
        crumbs += f' · <span class="pqa-page">{html_text(page)}</span>'
    return f'<nav class="pqa-crumbs">{crumbs}</nav>'


def context_html(context: PassageContext, quotes: Sequence[Quote] = ()) -> str:
    """A citation in place: breadcrumb, the text around it, the passage highlighted, its footnotes."""
    c = context.citation
    passage = html_text(c.text)
    spans = [q for q in quotes if q.citation_id == c.id and c.start <= q.start and q.end <= c.end]
    if spans:
        parts, pos = [], 0
        for q in sorted(spans, key=lambda q: q.start):
            start, end = q.start - c.start, q.end - c.start
            if start < pos:
                continue
            parts += [html_text(c.text[pos:start]), f"<strong>{html_text(c.text[start:end])}</strong>"]
            pos = end
        parts.append(html_text(c.text[pos:]))
        passage = "".join(parts)
    if c.page is not None:  # a PDF: the text of the passage's page(s)
        before, after, lead, tail = context.page_before, context.page_after, "", ""
    else:
        before, after = context.before, context.after
        lead = "…" if c.start > len(before) else ""
        tail = "…" if after else ""
    footnotes = "".join(
        f'<li><span class="pqa-note">{html_text(f.section[-1])}</span> {html_text(f.text)} '
        f'<code class="pqa-id">{html.escape(f.id)}</code></li>'
        for f in context.footnotes
    )
    return (
        f'<article class="pqa-context" data-citation="{html.escape(c.id)}">'
        f"{breadcrumb_html(c.doc_title, c.section, c.page_label)}"
        f'<p class="pqa-idline">引用 Citation <code class="pqa-id">{html.escape(c.id)}</code></p>'
        f'<div class="pqa-flow"><span class="pqa-around">{lead}{html_text(before)}</span>'
        f'<mark class="pqa-passage">{passage}</mark>'
        f'<span class="pqa-around">{html_text(after)}{tail}</span></div>'
        + (f'<h4>註腳 Footnotes</h4><ul class="pqa-footnotes">{footnotes}</ul>' if footnotes else "")
        + "</article>"
    )


def section_html(section: Section, citations: Sequence[Citation]) -> str:
    """A section's text in reading order, each passage followed by its citation id (overlaps shown once)."""
    rows, shown_until = [], -1
    for c in sorted(citations, key=lambda c: (c.start, c.end)):
        start = max(c.start, shown_until)
        text = c.text[start - c.start :] if start < c.end else ""
        shown_until = max(shown_until, c.end)
        kind = " pqa-footnote" if c.section and c.section[-1].startswith("註") else ""
        rows.append(
            f'<p class="pqa-segment{kind}">{html_text(text)} <code class="pqa-id">{html.escape(c.id)}</code></p>'
        )
    body = "".join(rows) or "<p>（此節沒有可引用的段落 · no citable passages in this section）</p>"
    return f'<article class="pqa-section">{breadcrumb_html(section.doc_title, section.path)}{body}</article>'


def message_html(text: str) -> str:
    """A notice for the side panels (escaped)."""
    return f'<p class="pqa-notice">{html_text(text)}</p>'
