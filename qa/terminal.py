"""What the ``qa`` command prints: answers, passages, citations in place and collections, as rich
console text, or JSON for scripts (``--json``)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.text import Text

from qa.collection import DocumentEntry
from qa.model import Answer, Citation, PassageContext
from qa.wording import counted
from qa.wrapping import UnbrokenNames


def console() -> Console:
    """The console every command prints to (no automatic highlighting of numbers and paths)."""
    return Console(highlight=False)


def print_json(data: Any) -> None:
    """``data`` as indented JSON, Chinese as it is (not ``\\u`` escapes)."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def print_error(message: str, *, as_json: bool, **fields: Any) -> None:
    """An error of the ``qa`` command: with ``as_json``, one JSON object ``{"error": message, …fields}``
    on stdout (for scripts); else one line on stderr."""
    if as_json:
        sys.stdout.write(json.dumps({"error": message, **fields}, ensure_ascii=False) + "\n")
    else:
        print(f"qa: error: {message}", file=sys.stderr)


def show_passages(
    out: Console,
    citations: Sequence[Citation],
    *,
    several: bool,
    shown: Sequence[str] | None = None,
    scores: bool = True,
) -> None:
    """Numbered passages: id, where it is (its document's id first when ``several``), score (unless
    ``scores`` is false), and the text (as ``shown``, e.g. in the reader's script, when given)."""
    for n, c in enumerate(citations, start=1):
        score = "" if c.score is None or not scores else f"  score {c.score:.4f}"
        document = f"{c.doc_id} · " if several else ""
        out.print(
            UnbrokenNames(
                Text.from_markup(f"[bold cyan][{n}][/] [bold]{c.id}[/]  [dim]{escape(document + c.location)}{score}[/]")
            )
        )
        out.print(UnbrokenNames(c.text if shown is None else shown[n - 1]))
        out.print()


def show_answers(out: Console, answers: Sequence[Answer], *, several: bool) -> None:
    """Each answer in a panel (green, or yellow when refused) above its cited passages; with several
    answers, each panel is titled with its question."""
    for answer in answers:
        if answer.notice:
            out.print(f"[yellow]{escape(answer.notice)}[/]")
        style = "yellow" if answer.abstained else "green"
        title = "answer" if len(answers) == 1 else escape(answer.question[:80])
        body = escape(answer.display_text)
        if answer.short:  # the fact first, then the sentences that say so
            body = f"[bold]{escape(answer.short)}[/]\n\n{body}"
        out.print(Panel(UnbrokenNames(Text.from_markup(body)), title=title, title_align="left", border_style=style))
        shown = [answer.passage_shown(i) for i in range(len(answer.citations))]
        # a refusal lists the closest passages: their scores, on no scale a reader knows, would only
        # suggest they answer a little
        show_passages(out, answer.citations, several=several, shown=shown, scores=not answer.abstained)


def show_context(out: Console, context: PassageContext) -> None:
    """A passage in place: its id, document, section path, span, the text around it with the passage
    highlighted (a PDF passage: its whole page), then the footnotes it cites."""
    c = context.citation
    out.print(f"[bold]{c.id}[/]  {escape(c.doc_title)}")
    page = f"  [dim]{c.page_label}[/]" if c.page_label else ""
    out.print(f"[dim]{escape(c.section_path)}[/]{page}  [dim]characters {c.start}–{c.end}[/]")
    out.print()
    if c.page is not None:
        before, after, lead, tail = context.page_before, context.page_after, "", ""
    else:
        before, after, lead, tail = context.before, context.after, "…", "…"
    markup = f"[dim]{lead}{escape(before)}[/][bold reverse]{escape(c.text)}[/][dim]{escape(after)}{tail}[/]"
    out.print(UnbrokenNames(Text.from_markup(markup)))
    for f in context.footnotes:
        out.print()
        out.print(
            UnbrokenNames(Text.from_markup(f"[bold cyan]{escape(f.section[-1])}[/] [bold]{f.id}[/]  {escape(f.text)}"))
        )


def show_index(out: Console, info: dict[str, Any]) -> None:
    """What ``qa index`` reports: one line per field, one per document."""
    for key, value in info.items():
        if key == "documents":
            for d in value:
                out.print(f"[bold]document[/] {escape(d['id'])}: {escape(d['title'])}  [dim]{escape(d['source'])}[/]")
        else:
            out.print(f"[bold]{key}[/] {escape(str(value))}")


def show_added(out: Console, collection: str, rows: Sequence[dict[str, Any]], documents: int, passages: int) -> None:
    """``qa index add``: each file's id, title, passages and whether it was new, then the collection's size."""
    for row in rows:
        state = "added" if row["new"] else "already in the collection"
        size = counted(row["passages"], "passage")
        out.print(
            f"[bold]{escape(row['id'])}[/]  {escape(row['title'])}  [dim]{size}, {state}[/]",
            soft_wrap=True,
        )
    out.print(
        f"[dim]collection {escape(collection)}: {counted(documents, 'document')}, "
        f"{counted(passages, 'passage')}; ask with: qa ask --collection {escape(collection)} QUESTION[/]",
        soft_wrap=True,
    )


def show_removed(out: Console, removed: Sequence[DocumentEntry]) -> None:
    for e in removed:
        out.print(f"removed [bold]{escape(e.id)}[/]  {escape(e.title)}")


def show_entries(out: Console, collection: str, entries: Sequence[DocumentEntry], others: Sequence[str]) -> None:
    """``qa index list``: one line per document, then the other collections' names."""
    if not entries:
        out.print(f"The collection {escape(collection)} has no documents; add some with qa index add PATH…")
    width = max((len(e.id) for e in entries), default=0)
    for e in entries:
        out.print(
            f"[bold]{escape(e.id.ljust(width))}[/]  {escape(e.title)}  "
            f"[dim]{e.suffix.lstrip('.')}, {size_label(e.size)}, added {e.added[:10]}, from {escape(e.path)}[/]",
            soft_wrap=True,
        )
    if others:
        out.print(f"[dim]other collections: {escape(', '.join(others))}[/]")


def size_label(n: int) -> str:
    """``512 B``, ``3.4 kB``, ``1.2 MB``."""
    if n < 1000:
        return f"{n} B"
    return f"{n / 1000:.1f} kB" if n < 1_000_000 else f"{n / 1_000_000:.1f} MB"
