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
from dataclasses import replace
from pathlib import Path
from typing import Any

import gradio as gr

from corpus.errors import CorpusError
from corpus.loading import SUPPORTED_SUFFIXES, DocumentLoader, load_default_document
from corpus.model import Document
from corpus.parsing import SURROGATES
from index.embedding_cache import ProgressCallback
from index.errors import IndexBuildError
from qa.assistant import Assistant
from qa.collection import Collection, unique_id
from qa.config import Settings
from qa.errors import QAError
from qa.model import Answer, Citation, IndexedDocument, Quote, Section, outline
from qa.pipeline import MAX_K
from ui import render
from ui.page import (
    CSS,
    SCRIPT,
    THEME,
    UPLOAD_MAX_BYTES,
    UPLOAD_MAX_FILES,
    ChatTurn,
    build_page,
    document_choices,
    outline_choices,
)
from ui.sessions import SessionAssistants

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
        percent = int(100 * done / total) if total else 0
        return f"建立索引（首次啟動）· Building the index: embedding with {stage}, {done}/{total} ({percent}%)"

    def wait(self, timeout: float | None = None) -> Assistant:
        """The assistant once built; :class:`QAError` if building failed or ``timeout`` passed."""
        self.start()
        if not self._done.wait(timeout):
            raise QAError("the index is still being built; try again in a moment")
        if self._assistant is None:
            raise QAError(f"the index could not be built: {self._error}")
        return self._assistant


def ready_line(assistant: Assistant) -> str:
    """``就緒 · Ready: 55 passages indexed.``"""
    return f"就緒 · Ready: {len(assistant.index.passages)} passages indexed."


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


def _upload_paths(files: Any) -> list[str]:
    """Paths of the files Gradio received (``type="filepath"``: one path, or a list of them)."""
    items = [files] if isinstance(files, str) else list(files or [])
    return [str(f) for f in items if f]


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
        self.documents = tuple(documents)
        self.cited = cited
        self.collection = collection
        self.shared = collection is not None
        """Uploads and removals change the documents of everyone using the server (``--collection``)."""
        self.sessions = SessionAssistants()
        self._server_ids = {d.id for d in self.documents}
        self._adding = threading.Lock()
        self.blocks = build_page(self)

    # -- handlers (plain methods: unit-testable without a server) ---------------------------
    def assistant_for(self, session: str = "") -> Assistant:
        """The assistant answering ``session``: its own when it added documents, else the server's."""
        own = None if self.shared else self.sessions.get(session)
        return own if own is not None else self.loader.wait()

    def documents_for(self, session: str = "") -> tuple[Document, ...]:
        """The documents ``session`` searches (the server's, and its own uploads)."""
        own = None if self.shared else self.sessions.get(session)
        return own.documents if own is not None else self.documents

    def outline_for(self, session: str = "") -> list[Section]:
        return outline(self.documents_for(session))

    def answer(
        self,
        message: str,
        history: Sequence[str] = (),
        k: int = CITED,
        documents: Sequence[str] | None = None,
        session: str = "",
    ) -> Answer:
        """``documents``: the ids to search (``None``: all of ``session``'s)."""
        return self.assistant_for(session).ask(message, k=k, history=list(history)[-1:], documents=documents)

    def add_documents(
        self, paths: Sequence[str], progress: ProgressCallback | None = None, session: str = ""
    ) -> list[str]:
        """Index the files at ``paths`` beside the documents ``session`` searches (everyone's, with a
        collection); returns their ids.

        All or nothing: a file that cannot be read raises :class:`QAError` naming it, and the chat
        keeps its documents. Questions keep being answered (on the old index) meanwhile.
        """
        _check_uploads(paths)
        with self._adding:
            assistant, ids = _with_files(self.assistant_for(session), paths, self.collection, progress)
            self._serve(assistant, session)
        return ids

    def remove_documents(self, doc_ids: Sequence[str], session: str = "") -> list[str]:
        """Stop searching ``doc_ids`` (removed from the collection, with one); returns them.

        :class:`QAError` with a message for the page: no id, an unknown one, a document the server
        came with (without a collection), or the collection's last document."""
        wanted = list(dict.fromkeys(i for i in doc_ids if i))
        if not wanted:
            raise QAError("choose a document to remove")
        with self._adding:
            current = self.assistant_for(session)
            _check_removal(current.documents, wanted, set() if self.shared else self._server_ids)
            kept = [d for d in current.documents if d.id not in wanted]
            try:
                if self.collection is not None:
                    self.collection.remove(wanted)
                    assistant = Assistant(
                        collection=self.collection, settings=current.settings, embedders=current.embedders
                    )
                else:
                    assistant = Assistant(kept, current.settings, embedders=current.embedders)
            except IndexBuildError as exc:
                raise QAError(str(exc)) from None
            self._serve(assistant, session)
        return wanted

    def _serve(self, assistant: Assistant, session: str) -> None:
        """Answer ``session`` (everyone, with a collection) with ``assistant`` from now on."""
        if self.shared:
            self.loader.replace(assistant)
            self.documents = assistant.documents
        elif {d.id for d in assistant.documents} == self._server_ids:
            self.sessions.drop(session)  # its own documents all removed: the server's assistant again
        else:
            self.sessions.put(session, assistant)

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
        limit = self.assistant_for(session).settings.answering.max_question_chars
        messages += _answer_messages(answer, several=len(self.documents_for(session)) > 1, limit=limit)
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
            context = self.assistant_for(session).context(str(citation_id))
        except QAError as exc:
            return render.message_html(f"{exc}")
        quotes = (turn.quotes if turn else {}).get(context.citation.id, [])
        return render.context_html(context, quotes)

    def show_section(self, choice: str | None, session: str = "") -> str:
        sections = self.outline_for(session)
        if choice is None or not str(choice).isdigit() or int(choice) >= len(sections):
            return render.message_html("請從目錄選擇一節。 Choose a section from the outline.")
        section = sections[int(choice)]
        try:
            passages = self.assistant_for(session).passages_in(section)
        except QAError as exc:
            return render.message_html(f"{exc}")
        return render.section_html(section, passages)

    def document_list(self, session: str = "") -> tuple[Any, Any]:
        """The checkboxes of the documents ``session`` searches, all chosen, and the list to remove
        one from (with a collection, a page opened after an upload lists the new documents too)."""
        documents = self.documents_for(session)
        choices = document_choices(documents)
        return gr.update(choices=choices, value=[d.id for d in documents]), gr.update(choices=choices, value=None)

    def session_status(self, session: str = "") -> str:
        """The status line for ``session``: its own passage count once it added documents."""
        own = None if self.shared else self.sessions.get(session)
        return render.markdown_text(ready_line(own) if own is not None else self.loader.status())

    def ask_removal(self, doc_id: str | None, session: str = "") -> tuple[Any, Any, Any]:
        """The confirmation step: outputs the question (or why it cannot be removed), the confirm
        and the cancel buttons (shown only when the removal can go ahead)."""
        hidden = gr.update(visible=False)
        try:
            if not doc_id:
                raise QAError("choose a document to remove")
            documents = self.documents_for(session)
            _check_removal(documents, [doc_id], set() if self.shared else self._server_ids)
        except QAError as exc:
            return render.markdown_text(f"無法移除 Cannot remove: {exc}"), hidden, hidden
        title = next(d.title for d in documents if d.id == doc_id)
        who = "everyone using this server" if self.shared else "this browser tab"
        question = f"確定移除「{title} · {doc_id}」？ Remove it from the documents searched by {who}?"
        return render.markdown_text(question), gr.update(visible=True), gr.update(visible=True)

    def remove(self, doc_id: str | None, chosen: Sequence[str] | None, session: str = "") -> tuple[Any, ...]:
        """Remove the confirmed document; outputs: the message, the document checkboxes, the list to
        remove from, the outline, the confirm and cancel buttons (hidden again), the status line."""
        hidden = gr.update(visible=False)
        try:
            removed = self.remove_documents([doc_id] if doc_id else [], session)
        except QAError as exc:
            reply = render.markdown_text(f"無法移除 Cannot remove: {exc}")
            return reply, gr.update(), gr.update(), gr.update(), hidden, hidden, gr.update()
        except Exception:
            log.exception("removing %r failed", doc_id)
            reply = "移除文件時發生錯誤。 Something went wrong while removing the document."
            return reply, gr.update(), gr.update(), gr.update(), hidden, hidden, gr.update()
        documents = self.documents_for(session)
        keep = set(chosen or []) - set(removed)
        choices = document_choices(documents)
        return (
            render.markdown_text(f"已移除 Removed: {', '.join(removed)}"),
            gr.update(choices=choices, value=[d.id for d in documents if d.id in keep]),
            gr.update(choices=choices, value=None),
            gr.update(choices=outline_choices(self.outline_for(session)), value=None),
            hidden,
            hidden,
            self.session_status(session),
        )

    def upload(
        self, files: Any, chosen: Sequence[str] | None, progress: Any = None, session: str = ""
    ) -> tuple[Any, ...]:
        """Index uploaded files, with a progress bar; outputs: the message, the document checkboxes
        (the new ones chosen too), the list to remove from, the outline, the file box (emptied), the
        status line."""
        paths = _upload_paths(files)
        unchanged = (gr.update(), gr.update(), gr.update(), None, gr.update())
        if not paths:
            return render.markdown_text("請選擇要加入的檔案。 Choose files to add."), *unchanged

        def report(stage: str, done: int, total: int) -> None:
            if progress is not None and total:
                progress((done, total), desc=f"索引中 Indexing: {stage}")

        try:
            ids = self.add_documents(paths, report, session)
        except QAError as exc:
            return render.markdown_text(f"無法加入 Could not add: {exc}"), *unchanged
        except Exception:
            log.exception("adding %s failed", paths)
            reply = "加入文件時發生錯誤。 Something went wrong while adding the files."
            return reply, *unchanged
        keep = set(chosen or []) | set(ids)
        documents = self.documents_for(session)
        choices = document_choices(documents)
        return (
            _added_message(self.assistant_for(session).indexed_documents(), ids),
            gr.update(choices=choices, value=[d.id for d in documents if d.id in keep]),
            gr.update(choices=choices, value=None),
            gr.update(choices=outline_choices(self.outline_for(session)), value=None),
            None,
            self.session_status(session),
        )

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


def _added_message(indexed: Sequence[IndexedDocument], ids: Sequence[str]) -> str:
    """``已加入 Added: 筆記 · notes (3 passages)``: the added documents as the chat reports them."""
    by_id = {d.id: d for d in indexed}
    added = "; ".join(f"{by_id[i].title} · {i} ({by_id[i].passages} passages)" for i in ids if i in by_id)
    return render.markdown_text(f"已加入 Added: {added}")


def _check_removal(documents: Sequence[Document], doc_ids: Sequence[str], fixed: set[str]) -> None:
    """:class:`QAError` unless ``doc_ids`` are among ``documents``, none of them ``fixed`` (the
    documents the server came with), and at least one document stays."""
    by_id = {d.id: d for d in documents}
    unknown = [i for i in doc_ids if i not in by_id]
    if unknown:
        raise QAError(f"{', '.join(unknown)}: no such document here (it may have been removed already)")
    for doc_id in doc_ids:
        if doc_id in fixed:
            raise QAError(
                f"「{by_id[doc_id].title}」 ({doc_id}) comes with this server and stays; "
                "only documents you added can be removed"
            )
    if set(by_id) <= set(doc_ids):
        raise QAError("this is the last document: add another before removing it, so that there is something to search")


def _check_uploads(paths: Sequence[str]) -> None:
    """:class:`QAError` for no files, too many, or a type that cannot be read."""
    if not paths:
        raise QAError("choose one or more files to add")
    if len(paths) > UPLOAD_MAX_FILES:
        raise QAError(f"add at most {UPLOAD_MAX_FILES} files at a time, not {len(paths)}")
    names = ", ".join(sorted(SUPPORTED_SUFFIXES))
    for path in paths:
        if Path(path).suffix.lower() not in SUPPORTED_SUFFIXES:
            raise QAError(f"{Path(path).name}: this file type cannot be read; give one of {names}")


def _with_files(
    current: Assistant, paths: Sequence[str], collection: Collection | None, progress: ProgressCallback | None
) -> tuple[Assistant, list[str]]:
    """A new assistant over ``current``'s documents and the files at ``paths`` (added to
    ``collection`` if there is one), the loaded models reused; returns it and the files' ids.
    :class:`QAError` naming the file as the user knows it if one cannot be read or indexed."""
    try:
        if collection is not None:
            entries = collection.add(paths, DocumentLoader(max_bytes=UPLOAD_MAX_BYTES))
            assistant = Assistant(
                collection=collection, settings=current.settings, embedders=current.embedders, progress=progress
            )
            return assistant, [e.id for e in entries]
        documents, ids = _merged(current.documents, DocumentLoader(max_bytes=UPLOAD_MAX_BYTES).run(paths))
        return Assistant(documents, current.settings, embedders=current.embedders, progress=progress), ids
    except (CorpusError, IndexBuildError) as exc:
        message = str(exc)
        for path in paths:  # name the file as the user knows it, not the server's upload folder
            message = message.replace(str(Path(path).parent) + "/", "")
        raise QAError(message) from None


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


def _merged(documents: Sequence[Document], added: Sequence[Document]) -> tuple[list[Document], list[str]]:
    """``documents`` followed by the ``added`` ones not already there (same content); an added
    document whose id is taken gets ``-2``, ``-3`` …; returns the documents and the added ids."""
    merged = list(documents)
    by_hash = {d.content_hash: d.id for d in merged}
    taken = {d.id for d in merged}
    ids: list[str] = []
    for document in added:
        if document.content_hash in by_hash:
            ids.append(by_hash[document.content_hash])
            continue
        doc_id = unique_id(document.id, taken)
        document = replace(document, id=doc_id)
        merged.append(document)
        taken.add(doc_id)
        by_hash[document.content_hash] = doc_id
        ids.append(doc_id)
    return merged, ids
