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
.pqa-hint { font-size: 0.85em; color: var(--body-text-color-subdued); }
a.pqa-marker { text-decoration: none; font-weight: 600; padding: 0 1px; cursor: pointer; }
a.pqa-marker:hover, a.pqa-marker:focus { text-decoration: underline; }
/* the chat's own buttons sit above the messages, never over them; no scroll arrow over the text */
#pqa-chat .wrapper { display: flex; flex-direction: column; }
#pqa-chat .top-panel { position: static; align-self: flex-end; margin: 2px 4px; }
#pqa-chat .bubble-wrap { flex: 1 1 auto; min-height: 0; height: auto; }
#pqa-chat .scroll-down-button-container { display: none; }
/* narrow screens: every tab fits in one row, none hidden behind an overflow menu */
@media (max-width: 640px) {
  #pqa-tabs .tab-container button { padding: 4px 8px; font-size: 0.9em; }
}
"""

SCRIPT = """
() => {
  if (window.__pqaChat) return;
  window.__pqaChat = true;
  const chat = () => document.querySelector('#pqa-chat');
  // an [n] in an answer opens source n under that answer, shows it, and opens it in the citation tab
  document.addEventListener('click', (event) => {
    const marker = event.target.closest ? event.target.closest('#pqa-chat a.pqa-marker') : null;
    if (!marker) return;
    event.preventDefault();
    event.stopPropagation();
    const n = (marker.getAttribute('href') || '').replace('#pqa-source-', '');
    const group = [...chat().querySelectorAll('.thought-group')].find((g) =>
      (marker.compareDocumentPosition(g) & Node.DOCUMENT_POSITION_FOLLOWING) &&
      (g.querySelector('.title')?.innerText || '').trim().startsWith('[' + n + ']'));
    if (!group) return;
    const title = group.querySelector('.title');
    if (title && !title.classList.contains('expanded')) title.click();
    setTimeout(() => {
      group.scrollIntoView({block: 'start', behavior: 'instant'});
      const body = group.querySelector('mark') || group.querySelector('.pqa-hint') || group;
      body.click();
    }, 150);
  }, true);
  // after a question and after its answer, the newest question sits at the top of the chat, in view
  let seen = '';
  const keep = () => {
    const c = chat();
    if (!c) return;
    const users = c.querySelectorAll('[data-testid="user"]');
    const seenNow = users.length + ':' + c.querySelectorAll('[data-testid="bot"]').length;
    if (seenNow === seen) return;
    seen = seenNow;
    if (!users.length) return;
    const last = users[users.length - 1].closest('.message-row') || users[users.length - 1];
    const wrap = c.querySelector('.bubble-wrap');
    if (wrap) wrap.scrollTop += last.getBoundingClientRect().top - wrap.getBoundingClientRect().top - 8;
    const top = last.getBoundingClientRect().top;
    if (top < 0 || top > window.innerHeight - 160) window.scrollBy(0, top - 8);
  };
  new MutationObserver(() => requestAnimationFrame(keep)).observe(document.body, {childList: true, subtree: true});
}
"""
"""The page's script: ``[n]`` markers open their source, and the newest question and answer stay in view."""


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
class _Removal:
    """The documents tab's removal: the document, the button, then a confirmation step."""

    pick: gr.Dropdown
    remove: gr.Button
    confirm: gr.Button
    cancel: gr.Button


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
    examples: gr.Examples
    cited: gr.Radio
    lookup: gr.Textbox
    find: gr.Button
    viewer: gr.HTML
    chosen: gr.CheckboxGroup
    files: gr.File
    added: gr.Markdown
    removal: _Removal
    sections: gr.Dropdown
    section_view: gr.HTML


def _chat_column() -> tuple[gr.Chatbot, gr.Textbox, gr.Button, gr.Examples]:
    """The chat, the question box, its button and the example questions (each asks at once)."""
    chatbot = gr.Chatbot(
        label="對話 Chat",
        show_label=False,  # a floating label would cover the first line of the messages
        autoscroll=False,  # SCRIPT keeps the newest question and answer in view instead
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
    examples = gr.Examples(EXAMPLES, inputs=box, label="範例問題 Examples（點一下即提問 · one click asks）")
    return chatbot, box, send, examples


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
                chatbot, box, send, examples = _chat_column()
            with gr.Column(scale=2), gr.Tabs(elem_id="pqa-tabs") as tabs:
                cited, lookup, find, viewer = _citation_tab()
                chosen, files, added, removal = _documents_tab(app.documents, shared=app.by_session.shared)
                sections, section_view = _outline_tab(app.by_session.outline_for())
        page = _Page(
            status,
            timer,
            turn,
            chatbot,
            box,
            send,
            tabs,
            examples,
            cited,
            lookup,
            find,
            viewer,
            chosen,
            files,
            added,
            removal,
            sections,
            section_view,
        )
        _connect(app, blocks, page)
        gr.api(app.chat_api, api_name="chat")
    _take_only_uploaded_files(blocks)
    return blocks


SHARED_NOTICE = (
    "此伺服器的所有使用者共用這些文件：您加入或移除的文件，其他人也會看到。 "
    "Everyone using this server shares these documents: what you add or remove here, they see too."
)
SESSION_NOTICE = (
    "您加入的文件只在這個瀏覽器分頁中搜尋，關閉分頁即移除。 "
    "Documents you add are searched in this browser tab only, and dropped when you close it."
)


def _documents_tab(
    documents: Sequence[Document], *, shared: bool
) -> tuple[gr.CheckboxGroup, gr.File, gr.Markdown, _Removal]:
    """The documents searched (checkboxes), who shares them, the upload box and the removal."""
    with gr.Tab("文件 Documents", id="documents"):
        gr.Markdown(render.markdown_text(SHARED_NOTICE if shared else SESSION_NOTICE), elem_id="pqa-sharing")
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
        with gr.Row():
            pick = gr.Dropdown(
                label="移除文件 Remove a document",
                choices=document_choices(documents),
                value=None,
                elem_id="pqa-remove-pick",
                scale=3,
            )
            remove = gr.Button("移除… Remove…", elem_id="pqa-remove", scale=1)
        with gr.Row():
            confirm = gr.Button("確認移除 Yes, remove it", variant="stop", visible=False, elem_id="pqa-remove-confirm")
            cancel = gr.Button("取消 Cancel", visible=False, elem_id="pqa-remove-cancel")
    return chosen, files, added, _Removal(pick, remove, confirm, cancel)


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


def _session(request: gr.Request | None) -> str:
    """The browser session's id (Gradio's, one per open page)."""
    return str(getattr(request, "session_hash", None) or "")


def _connect(app: ChatApp, blocks: gr.Blocks, page: _Page) -> None:
    """What each component does: the page's events, all private (``/chat`` is the one API)."""
    private: dict[str, Any] = {"api_visibility": "private"}
    page.timer.tick(app.status, outputs=[page.status, page.timer], queue=False, **private)

    def listed(request: gr.Request) -> tuple[Any, Any]:
        return app.documents_tab.document_list(_session(request))

    blocks.load(listed, outputs=[page.chosen, page.removal.pick], queue=False, **private)

    def closed(request: gr.Request) -> None:
        app.by_session.sessions.drop(_session(request))  # the tab closed: its own documents go

    blocks.unload(closed)

    def upload(files_: Any, chosen_: list[str], request: gr.Request, progress: gr.Progress = gr.Progress()) -> Any:  # noqa: B008
        return app.documents_tab.upload(files_, chosen_, progress, _session(request))

    listing = [page.chosen, page.removal.pick, page.sections]
    page.files.upload(
        upload,
        [page.files, page.chosen],
        [page.added, *listing, page.files, page.status],
        concurrency_limit=1,
        **private,
    )
    _connect_removal(app, page, listing)

    def respond(message: str, messages: Any, turn_: ChatTurn | None, chosen_: Any, request: gr.Request) -> Any:
        yield from app.respond(message, messages, turn_, chosen_, _session(request))

    ask = {
        "fn": respond,
        "inputs": [page.box, page.chatbot, page.turn, page.chosen],
        "outputs": [page.chatbot, page.box, page.cited, page.turn],
    }
    page.box.submit(**ask, **private)
    page.send.click(**ask, **private)
    page.examples.load_input_event.then(**ask, **private)  # an example asks at once

    def show_citation(citation_id: str | None, turn_: ChatTurn | None, request: gr.Request) -> tuple[str, Any]:
        tab = gr.Tabs(selected="citation") if citation_id else gr.update()  # a new answer empties the choice
        return app.show_citation(citation_id, turn_, _session(request)), tab

    def look_up(citation_id: str | None, turn_: ChatTurn | None, request: gr.Request) -> str:
        return app.show_citation(citation_id, turn_, _session(request))

    page.cited.change(show_citation, [page.cited, page.turn], [page.viewer, page.tabs], **private)
    page.find.click(look_up, [page.lookup, page.turn], page.viewer, **private)
    page.lookup.submit(look_up, [page.lookup, page.turn], page.viewer, **private)

    def show_section(choice: str | None, request: gr.Request) -> str:
        return app.show_section(choice, _session(request))

    page.sections.change(show_section, page.sections, page.section_view, **private)

    def open_source(event: gr.SelectData, turn_: ChatTurn | None, request: gr.Request) -> tuple[Any, Any]:
        """Clicking a source's text in the chat opens it in place in the citation tab."""
        value = event.value if isinstance(event.value, str) else ""
        match = _SOURCE_ID.search(value)
        if match is None:
            return gr.update(), gr.update()
        return show_citation(match.group(1), turn_, request)

    page.chatbot.select(open_source, [page.turn], [page.viewer, page.tabs], **private)


def _connect_removal(app: ChatApp, page: _Page, listing: list[Any]) -> None:
    """Remove… asks for a confirmation (or says why the document stays); Yes removes it."""
    removal = page.removal
    buttons = [removal.confirm, removal.cancel]

    def ask_removal(doc_id: str | None, request: gr.Request) -> tuple[Any, Any, Any]:
        return app.documents_tab.ask_removal(doc_id, _session(request))

    def remove(doc_id: str | None, chosen_: Any, request: gr.Request) -> tuple[Any, ...]:
        return app.documents_tab.remove(doc_id, chosen_, _session(request))

    def cancel() -> tuple[Any, Any, Any]:
        hidden = gr.update(visible=False)
        return "取消了 Cancelled: nothing was removed.", hidden, hidden

    private: dict[str, Any] = {"api_visibility": "private"}
    removal.remove.click(ask_removal, [removal.pick], [page.added, *buttons], **private)
    outputs = [page.added, *listing, *buttons, page.status]
    removal.confirm.click(remove, [removal.pick, page.chosen], outputs, concurrency_limit=1, **private)
    removal.cancel.click(cancel, None, [page.added, *buttons], **private)


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
