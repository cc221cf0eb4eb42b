"""The Gradio chat over :class:`qa.Assistant`: ask, read cited passages, look citations up, browse.

``qa serve`` (:mod:`ui.cli`) starts it; :func:`create_app` builds it for Python callers and tests;
:mod:`ui.page` lays out the page and connects it to :class:`ChatApp`'s handlers. The page is up
at once: the assistant (models and index) is built in a background thread while the page shows
its progress. Besides the page, the endpoint ``/chat`` answers ``gradio_client`` callers::

    from gradio_client import Client
    Client("http://127.0.0.1:7860/").predict("川金會在哪一天舉行？", [], 5, api_name="/chat")
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import gradio as gr

from corpus.loading import load_default_document
from corpus.model import Document
from corpus.parsing import SURROGATES
from index.embedding_cache import ProgressCallback
from qa.assistant import Assistant
from qa.collection import Collection
from qa.config import Settings
from qa.errors import QAError
from qa.model import Answer, Citation, Quote
from qa.pipeline import MAX_K
from ui import render
from ui.documents import DocumentsTab, SessionDocuments, ready_line
from ui.page import (
    CSS,
    SCRIPT,
    THEME,
    UPLOAD_MAX_BYTES,
    ChatTurn,
    build_page,
)

log = logging.getLogger(__name__)
_SURROGATE = re.compile(f"[{SURROGATES}]")
"""Half of a UTF-16 pair, alone: cannot be sent back as UTF-8, so the chat shows U+FFFD in its place."""

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
CITED = 5
"""Passages cited under each chat answer."""
DISPLAY_CHARS = 2000
"""A pasted question longer than this is shown cut (the assistant answers on its own bounded prefix)."""
ANSWERED_AT_ONCE = 8
"""Requests each handler (``/chat``, the Ask button, …) answers at once; the others wait in the queue."""
QUEUE_SIZE = 64
"""Requests waiting at most; one more is refused at once ("Queue is full"). 32 clients, each waiting
for its answer, fill 8 slots and 24 places (``benchmarks/results/load.md``)."""
API_SESSION = "/chat"
"""The session ``/chat`` answers as: one that never adds documents, so it searches the server's."""
FAILED_REPLY = "回答時發生錯誤，請再試一次。 Something went wrong while answering; please try again."
"""What a caller sees when answering raised something other than :class:`QAError` (the log keeps the traceback)."""


class AssistantLoader:
    """Builds the assistant in a background thread and reports how far it has got.

    ``factory(progress)`` builds the :class:`Assistant`; ``progress(stage, done, total)`` is
    called while passages are embedded.
    """

    def __init__(self, factory: Callable[[ProgressCallback], Assistant]) -> None:
        self._factory = factory
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._stage = ""
        self._count = (0, 0)
        self._assistant: Assistant | None = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    @classmethod
    def ready_made(cls, assistant: Assistant) -> AssistantLoader:
        loader = cls(lambda _progress: assistant)
        loader._assistant = assistant
        loader._done.set()
        return loader

    def start(self) -> AssistantLoader:
        if self._thread is None and not self._done.is_set():
            self._thread = threading.Thread(target=self._build, name="assistant-loader", daemon=True)
            self._thread.start()
        return self

    def _progress(self, stage: str, done: int, total: int) -> None:
        with self._lock:
            self._stage, self._count = stage, (done, total)

    def _build(self) -> None:
        try:
            self._assistant = self._factory(self._progress)
        except BaseException as exc:  # reported on the page and by wait(); the server keeps running
            log.exception("building the assistant failed")
            self._error = exc
        finally:
            self._done.set()

    def replace(self, assistant: Assistant) -> None:
        """Serve ``assistant`` from now on (questions already being answered finish on the old one)."""
        with self._lock:
            self._assistant, self._error = assistant, None
        self._done.set()

    @property
    def ready(self) -> bool:
        return self._done.is_set() and self._assistant is not None

    def status(self) -> str:
        """One line for the page: loading, embedding n of m passages, ready, or what failed."""
        if self._error is not None:
            return f"無法建立索引 · The index could not be built: {self._error}"
        if self.ready:
            assert self._assistant is not None
            return ready_line(self._assistant)
        with self._lock:
            stage, (done, total) = self._stage, self._count
        if not stage:
            return "載入模型與索引… · Loading the models and the index…"
        count = f", {done}/{total} ({int(100 * done / total)}%)" if total else "…"
        return f"建立索引（首次啟動）· Building the index: {stage}{count}"

    def wait(self, timeout: float | None = None) -> Assistant:
        """The assistant once built; :class:`QAError` if building failed or ``timeout`` passed."""
        self.start()
        if not self._done.wait(timeout):
            raise QAError("the index is still being built; try again in a moment")
        if self._assistant is None:
            raise QAError(f"the index could not be built: {self._error}")
        return self._assistant


def _citation_choices(answer: Answer) -> list[tuple[str, str]]:
    """``[1] p1a2b3c4 · （二）駐韓美軍部署``: short labels, one line each."""
    labels = []
    for n, c in enumerate(answer.citations, start=1):
        place = render.plain(c.section[-1] if c.section else c.doc_title)
        labels.append((f"[{n}] {c.id} · {place}", c.id))
    return labels


def _with_reply(messages: list[Any], reply: str, turn: ChatTurn) -> tuple[Any, ...]:
    """The chat's outputs with one more assistant message (``reply`` is Markdown), nothing else changed."""
    return [*messages, gr.ChatMessage(role="assistant", content=reply)], "", gr.update(), turn


class ChatApp:
    """The page and the ``/chat`` endpoint over an :class:`AssistantLoader`."""

    def __init__(
        self,
        loader: AssistantLoader,
        documents: Sequence[Document],
        *,
        cited: int = CITED,
        collection: Collection | None = None,
    ) -> None:
        """``collection``: uploaded files are added to it (kept across restarts) and everyone using the
        server shares them; without one, each browser session searches ``documents`` and its own
        uploads (``session``, a Gradio session id; ``""`` for Python callers), until it closes."""
        if not documents:
            raise ValueError("the chat needs at least one document")
        if not 1 <= cited <= MAX_K:
            raise ValueError(f"cited must be between 1 and {MAX_K}")
        self.loader = loader
        self.cited = cited
        self.by_session = SessionDocuments(loader, documents, collection)
        self.documents_tab = DocumentsTab(self.by_session)
        self.blocks = build_page(self)

    @property
    def documents(self) -> tuple[Document, ...]:
        """The server's documents (with a collection, everyone's, uploads included)."""
        return self.by_session.documents

    # -- handlers (plain methods: unit-testable without a server) ---------------------------
    def answer(
        self,
        message: str,
        history: Sequence[str] = (),
        k: int = CITED,
        documents: Sequence[str] | None = None,
        session: str = "",
    ) -> Answer:
        """``documents``: the ids to search (``None``: all of ``session``'s)."""
        return self.by_session.assistant_for(session).ask(message, k=k, history=list(history)[-1:], documents=documents)

    def chat_api(self, message: str, history: list[str] | None = None, k: int = CITED) -> dict[str, Any]:
        """Answer ``message`` (``history``: earlier questions, oldest first) with ``k`` cited passages
        from every document of the server (with a collection, uploads too; the assistant refuses a
        ``k`` that is not whole).

        Returns ``{"question", "text", "abstained", "language", "citations": [...], "quotes": [...]}``;
        each citation has ``id`` (for ``qa cite``), ``doc_id``, ``doc_title``, ``section``,
        ``section_path``, ``text``, ``start``, ``end``, ``score``, ``footnotes``, and ``page`` /
        ``page_end`` (the pages of a PDF passage, else ``None``).
        """
        try:
            if history is not None and not isinstance(history, list):
                raise QAError("history must be a list of earlier questions (strings)")
            # the server's documents (everyone's, with a collection), never a browser session's uploads
            answer = self.answer(message or "", history or [], k, session=API_SESSION)
        except QAError as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        except Exception:
            log.exception("answering %r through /chat failed", str(message)[:200])
            raise gr.Error(FAILED_REPLY, print_exception=False) from None
        data = answer.to_dict()
        for citation, item in zip(answer.citations, data["citations"], strict=True):
            item["section_path"] = citation.section_path
        return data

    def respond(
        self,
        message: str,
        messages: list[dict[str, Any]] | None,
        turn: ChatTurn | None,
        documents: Sequence[str] | None = None,
        session: str = "",
    ) -> Iterator[tuple[Any, ...]]:
        """The chat: show the question at once, then the answer and its sources (from the chosen
        ``documents``; ``None``: all of ``session``'s)."""
        messages = list(messages or [])
        turn = turn or ChatTurn([], {})
        text = message if isinstance(message, str) else ""
        if not text.strip():
            yield _with_reply(
                messages, "請輸入一個關於這份文件的問題。 Please type a question about the document.", turn
            )
            return
        shown = _SURROGATE.sub("\ufffd", text)  # the assistant drops them from the question it answers
        if len(shown) > DISPLAY_CHARS:
            shown = shown[:DISPLAY_CHARS] + f"… ({len(shown):,} 字 characters)"
        messages.append(gr.ChatMessage(role="user", content=render.markdown_text(shown)))
        waiting = "搜尋中… Searching…" if self.loader.ready else self.loader.status()
        yield _with_reply(messages, render.markdown_text(waiting), turn)
        if documents is not None and not list(documents):
            yield _with_reply(messages, "請至少選擇一份文件。 Choose at least one document to search.", turn)
            return
        try:
            chosen = None if documents is None else list(documents)
            answer = self.answer(text, turn.questions, documents=chosen, session=session)
        except QAError as exc:
            yield _with_reply(messages, render.markdown_text(f"{exc}"), turn)
            return
        except Exception:
            log.exception("answering %r failed", text[:200])
            yield _with_reply(messages, FAILED_REPLY, turn)
            return
        limit = self.by_session.assistant_for(session).settings.answering.max_question_chars
        messages += _answer_messages(answer, several=len(self.by_session.documents_for(session)) > 1, limit=limit)
        quotes: dict[str, list[Quote]] = {}
        for q in answer.quotes:
            quotes.setdefault(q.citation_id, []).append(q)
        turn = ChatTurn([*turn.questions, answer.question], quotes)
        yield messages, "", gr.update(choices=_citation_choices(answer), value=None), turn

    def show_citation(self, citation_id: str | None, turn: ChatTurn | None = None, session: str = "") -> str:
        """The citation in place (breadcrumb, neighbouring text, highlight, footnotes), or a notice."""
        if not citation_id or not str(citation_id).strip():
            return render.message_html("請輸入或選擇一個引用編號。 Enter or choose a citation id, e.g. p1a2b3c4.")
        try:
            context = self.by_session.assistant_for(session).context(str(citation_id))
        except QAError as exc:
            return render.message_html(f"{exc}")
        quotes = (turn.quotes if turn else {}).get(context.citation.id, [])
        return render.context_html(context, quotes)

    def show_section(self, choice: str | None, session: str = "") -> str:
        sections = self.by_session.outline_for(session)
        if choice is None or not str(choice).isdigit() or int(choice) >= len(sections):
            return render.message_html("請從目錄選擇一節。 Choose a section from the outline.")
        section = sections[int(choice)]
        try:
            passages = self.by_session.assistant_for(session).passages_in(section)
        except QAError as exc:
            return render.message_html(f"{exc}")
        return render.section_html(section, passages)

    def status(self) -> tuple[Any, Any]:
        return render.markdown_text(self.loader.status()), gr.Timer(active=not self.loader.ready)

    def launch(
        self,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        *,
        share: bool = False,
        block: bool = True,
        quiet: bool = False,
        auth: tuple[str, str] | None = None,
    ) -> str:
        """Serve the page; returns its local URL (``block=False`` returns at once, for tests)."""
        self.loader.start()
        self.blocks.queue(default_concurrency_limit=ANSWERED_AT_ONCE, max_size=QUEUE_SIZE)
        _, url, _ = self.blocks.launch(
            server_name=host,
            server_port=port,
            share=share,
            prevent_thread_lock=not block,
            quiet=quiet,
            show_error=False,
            auth=auth,
            max_file_size=UPLOAD_MAX_BYTES,
            footer_links=["api"],
            css=CSS,
            js=SCRIPT,
            theme=THEME,
        )
        return url


def _answer_messages(answer: Answer, *, several: bool, limit: int) -> list[gr.ChatMessage]:
    """The answer's message (with a note when the question was cut to ``limit`` characters), then one
    per cited source (each naming its document when there are ``several``)."""
    note = ""
    if answer.notice:  # a long question, answered on its first characters
        note = render.markdown_text(
            f"（問題過長：只以前 {limit:,} 字回答。 The question was answered on its first {limit:,} characters.）"
        )
    messages = [gr.ChatMessage(role="assistant", content=render.answer_markdown(answer, note))]

    def title(n: int, citation: Citation) -> str:
        return render.source_title(n, citation, document=several)

    for n, citation in enumerate(answer.citations, start=1):
        messages.append(
            gr.ChatMessage(
                role="assistant",
                content=render.source_markdown(citation, answer.quotes, answer.script),
                # sources holding an answering sentence open, the others start folded
                metadata={"title": title(n, citation)}
                if any(q.citation_id == citation.id for q in answer.quotes)
                else {"title": title(n, citation), "status": "done"},
            )
        )
    return messages


def create_app(
    documents: Sequence[Document] | None = None,
    settings: Settings | None = None,
    *,
    assistant: Assistant | None = None,
    collection: Collection | None = None,
) -> ChatApp:
    """The chat over ``documents`` (default: the bundled chapter), the documents of ``collection``
    (uploads are added to it), or a ready ``assistant``."""
    if assistant is not None:
        return ChatApp(AssistantLoader.ready_made(assistant), assistant.documents, collection=assistant.collection)
    if collection is not None:  # read once, here: CollectionError at once if it has no documents
        docs = tuple(collection.documents())
    else:
        docs = tuple(documents) if documents else (load_default_document(),)
    loader = AssistantLoader(lambda progress: Assistant(docs, settings, progress=progress))
    return ChatApp(loader, docs, collection=collection)
