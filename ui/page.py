"""The chat's page: its components, what each does, and how it looks; ``/chat`` beside it.

:func:`build_page` lays out the page of a :class:`ui.app.ChatApp` and connects its components to
the app's handlers; every component takes a file only from Gradio's upload folder.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr

from corpus.loading import SUPPORTED_SUFFIXES
from corpus.model import Document
from qa.examples import CHAT_EXAMPLES
from qa.model import Quote, Section
from ui import render

if TYPE_CHECKING:
    from ui.app import ChatApp


_SOURCE_ID = re.compile(r"`(p[0-9a-f]{7,})`\s*$")
"""A source message in the chat ends with its citation id in backticks (see ``render.source_markdown``)."""

UPLOAD_MAX_BYTES = 20_000_000
"""Largest file the chat takes (the server refuses bigger uploads before they reach us)."""
UPLOAD_MAX_FILES = 10
"""Most files in one upload."""
UPLOAD_KEPT_SECONDS = 3600
"""Uploaded files are deleted after this long (read at once, they are kept for a queue that waits
long), and all of them when the server stops."""


EXAMPLES = [example.question for example in CHAT_EXAMPLES]

CSS = """
.pqa-context, .pqa-section { line-height: 1.75; }
.pqa-crumbs { font-size: 0.9em; color: var(--body-text-color-subdued); margin-bottom: 0.5em; }
.pqa-crumbs span + span::before { content: ""; }
.pqa-around { color: var(--body-text-color-subdued); }
mark.pqa-passage { background: #fff3b0; color: #1f1f1f; padding: 0 2px; }
mark.pqa-passage strong { background: #ffd54f; }
code.pqa-id { font-size: 0.85em; padding: 0 4px; border-radius: 4px; background: var(--background-fill-secondary); }
.pqa-footnote { font-size: 0.9em; color: var(--body-text-color-subdued); }
.pqa-notice { color: var(--body-text-color-subdued); }
"""


# Local font stacks only: the page must not fetch fonts from the network.
THEME = gr.themes.Soft(
    font=["Noto Sans CJK TC", "Noto Sans TC", "PingFang TC", "Microsoft JhengHei", "system-ui", "sans-serif"],
    font_mono=["ui-monospace", "Noto Sans Mono CJK TC", "monospace"],
)


@dataclass
class ChatTurn:
    """What the page keeps of a session (its ``gr.State``): earlier questions and the last answer's quotes."""

    questions: list[str]
    quotes: dict[str, list[Quote]]


def outline_choices(outline: Sequence[Section]) -> list[tuple[str, str]]:
    """The outline's entries, indented by level, each valued by its position in ``outline``."""
    return [("　" * s.level + render.plain(s.title), str(i)) for i, s in enumerate(outline)]


def document_choices(documents: Sequence[Document]) -> list[tuple[str, str]]:
    """``朝鮮半島安全筆記 · notes``: one checkbox per document."""
    return [(f"{render.plain(d.title)} · {d.id}", d.id) for d in documents]


@dataclass(frozen=True)
class _Page:
    """The page's components that its events connect."""

    status: gr.Markdown
    timer: gr.Timer
    turn: gr.State
    chatbot: gr.Chatbot
    box: gr.Textbox
    send: gr.Button
    tabs: gr.Tabs
    cited: gr.Radio
    lookup: gr.Textbox
    find: gr.Button
    viewer: gr.HTML
    chosen: gr.CheckboxGroup
    files: gr.File
    added: gr.Markdown
    sections: gr.Dropdown
    section_view: gr.HTML


def _chat_column() -> tuple[gr.Chatbot, gr.Textbox, gr.Button]:
    """The chat, the question box, its button and the example questions."""
    chatbot = gr.Chatbot(
        label="對話 Chat",
        elem_id="pqa-chat",
        height=560,
        sanitize_html=True,
        buttons=["copy"],
        feedback_options=None,
        placeholder="以繁體中文、简体中文或 English 提問。 Ask in Chinese or English.",
    )
    with gr.Row():
        box = gr.Textbox(
            label="問題 Question",
            placeholder="例如：川金會在哪一天舉行？ e.g. When did the Trump–Kim summit take place?",
            elem_id="pqa-question",
            scale=5,
            autofocus=True,
        )
        send = gr.Button("送出 Ask", variant="primary", elem_id="pqa-ask", scale=1)
    gr.Examples(EXAMPLES, inputs=box, label="範例問題 Examples")
    return chatbot, box, send


def _citation_tab() -> tuple[gr.Radio, gr.Textbox, gr.Button, gr.HTML]:
    """The last answer's citations, the id lookup, and the viewer showing a citation in place."""
    with gr.Tab("引用 Citation", id="citation"):
        cited = gr.Radio(label="本回答的引用 Cited in the last answer", choices=[], elem_id="pqa-cited")
        with gr.Row():
            lookup = gr.Textbox(
                label="查詢引用編號 Look up a citation id", placeholder="p1a2b3c4", elem_id="pqa-lookup", scale=4
            )
            find = gr.Button("查詢 Look up", elem_id="pqa-find", scale=1)
        viewer = gr.HTML(
            render.message_html("選擇或查詢一個引用。 Choose or look up a citation."), elem_id="pqa-viewer"
        )
    return cited, lookup, find, viewer


def build_page(app: ChatApp) -> gr.Blocks:
    """The page of ``app``, its events connected, ``/chat`` beside it; files taken only from uploads."""
    title = app.documents[0].title if len(app.documents) == 1 else "peninsula-qa"
    with gr.Blocks(
        title=f"peninsula-qa · {title}",
        analytics_enabled=False,
        delete_cache=(UPLOAD_KEPT_SECONDS, UPLOAD_KEPT_SECONDS),
    ) as blocks:
        gr.Markdown(f"## {render.markdown_text(title)}\n問答附引用出處 · Answers with cited passages")
        status = gr.Markdown(render.markdown_text(app.loader.status()), elem_id="pqa-status")
        timer = gr.Timer(0.5, active=not app.loader.ready)
        turn = gr.State(None)
        with gr.Row():
            with gr.Column(scale=3):
                chatbot, box, send = _chat_column()
            with gr.Column(scale=2), gr.Tabs() as tabs:
                cited, lookup, find, viewer = _citation_tab()
                chosen, files, added = _documents_tab(app.documents)
                sections, section_view = _outline_tab(app.outline)
        page = _Page(
            status,
            timer,
            turn,
            chatbot,
            box,
            send,
            tabs,
            cited,
            lookup,
            find,
            viewer,
            chosen,
            files,
            added,
            sections,
            section_view,
        )
        _connect(app, blocks, page)
        gr.api(app.chat_api, api_name="chat")
    _take_only_uploaded_files(blocks)
    return blocks


def _documents_tab(documents: Sequence[Document]) -> tuple[gr.CheckboxGroup, gr.File, gr.Markdown]:
    """The documents searched (checkboxes) and the upload box."""
    with gr.Tab("文件 Documents", id="documents"):
        chosen = gr.CheckboxGroup(
            label="搜尋的文件 Documents searched",
            choices=document_choices(documents),
            value=[d.id for d in documents],
            elem_id="pqa-documents",
        )
        files = gr.File(
            label=f"加入文件 Add documents (PDF, Word, HTML, Markdown, text; "
            f"up to {UPLOAD_MAX_FILES} files of {UPLOAD_MAX_BYTES // 1_000_000} MB)",
            file_count="multiple",
            file_types=list(SUPPORTED_SUFFIXES),
            type="filepath",
            elem_id="pqa-upload",
        )
        added = gr.Markdown("", elem_id="pqa-added")
    return chosen, files, added


def _outline_tab(outline: Sequence[Section]) -> tuple[gr.Dropdown, gr.HTML]:
    """The sections of the documents, and the one chosen with its citation ids."""
    with gr.Tab("目錄 Outline", id="outline"):
        sections = gr.Dropdown(
            label="章節 Sections", choices=outline_choices(outline), value=None, elem_id="pqa-outline"
        )
        section_view = gr.HTML(
            render.message_html("選擇一節以閱讀全文與引用編號。 Choose a section to read it with its citation ids."),
            elem_id="pqa-section",
        )
    return sections, section_view


def _connect(app: ChatApp, blocks: gr.Blocks, page: _Page) -> None:
    """What each component does: the page's events, all private (``/chat`` is the one API)."""
    page.timer.tick(app.status, outputs=[page.status, page.timer], api_visibility="private", queue=False)
    blocks.load(app.document_list, outputs=[page.chosen], api_visibility="private", queue=False)

    def upload(files_: Any, chosen_: list[str], progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:  # noqa: B008
        return app.upload(files_, chosen_, progress)

    page.files.upload(
        upload,
        [page.files, page.chosen],
        [page.added, page.chosen, page.sections, page.files, page.status],
        api_visibility="private",
        concurrency_limit=1,
    )
    ask = {
        "fn": app.respond,
        "inputs": [page.box, page.chatbot, page.turn, page.chosen],
        "outputs": [page.chatbot, page.box, page.cited, page.turn],
    }
    page.box.submit(**ask, api_visibility="private")
    page.send.click(**ask, api_visibility="private")
    page.cited.change(app.show_citation, [page.cited, page.turn], page.viewer, api_visibility="private")
    page.find.click(app.show_citation, [page.lookup, page.turn], page.viewer, api_visibility="private")
    page.lookup.submit(app.show_citation, [page.lookup, page.turn], page.viewer, api_visibility="private")
    page.sections.change(app.show_section, page.sections, page.section_view, api_visibility="private")

    def open_source(event: gr.SelectData, turn_: ChatTurn | None) -> tuple[Any, Any]:
        """Clicking a source in the chat opens it in place in the citation tab."""
        value = event.value if isinstance(event.value, str) else ""
        match = _SOURCE_ID.search(value)
        if match is None:
            return gr.update(), gr.update()
        return app.show_citation(match.group(1), turn_), gr.Tabs(selected="citation")

    page.chatbot.select(open_source, [page.turn], [page.viewer, page.tabs], api_visibility="private")


NOT_UPLOADED = (
    "只接受從此頁面上傳的檔案。 Only files uploaded from this page are taken; a file named by URL or by a path "
    "on the server is refused."
)


def _take_only_uploaded_files(blocks: gr.Blocks) -> None:
    """Make every component of ``blocks`` (the page's and ``/chat``'s) take a file only from Gradio's
    upload folder: a ``FileData`` a client names by URL is refused, never fetched, so nothing a client
    sends makes the server reach out to the network; one naming another path on this machine is
    refused too, never copied. Gradio fetches or copies such files before any handler of ours runs."""
    components = {id(c): c for c in blocks.blocks.values()}
    for fn in blocks.fns.values():
        components.update({id(c): c for c in fn.inputs})

    def check(path: str | Path | None, folder: Path) -> None:
        if path is not None and not Path(os.path.realpath(path)).is_relative_to(folder):
            raise gr.Error(NOT_UPLOADED, print_exception=False)

    for component in components.values():
        if getattr(component, "GRADIO_CACHE", None) is None:
            continue
        folder = Path(os.path.realpath(component.GRADIO_CACHE))

        def move(
            path: str | Path | None, original: Any = component.move_resource_to_block_cache, folder: Path = folder
        ) -> str | None:
            check(path, folder)
            return original(path)

        async def move_async(
            path: str | Path | None, original: Any = component.async_move_resource_to_block_cache, folder: Path = folder
        ) -> str | None:
            check(path, folder)
            return await original(path)

        component.move_resource_to_block_cache = move
        component.async_move_resource_to_block_cache = move_async
