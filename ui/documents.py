"""The documents each browser session searches, and the documents tab that adds and removes them.

:class:`SessionDocuments` decides who sees what: with a collection (``qa serve --collection``)
everyone shares one set of documents, kept in the collection; without one, each browser session
searches the server's documents and its own uploads (``ui.sessions``). :class:`DocumentsTab` holds
the tab's handlers (list, upload, ask to remove, remove), each returning the page's outputs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr

from corpus.errors import CorpusError
from corpus.loading import SUPPORTED_SUFFIXES, DocumentLoader
from corpus.model import Document
from index.embedding_cache import ProgressCallback
from index.errors import IndexBuildError
from qa.assistant import Assistant
from qa.collection import Collection, unique_id
from qa.errors import QAError
from qa.model import IndexedDocument, Section, outline
from qa.wording import counted
from ui import render
from ui.page import UPLOAD_MAX_BYTES, UPLOAD_MAX_FILES, document_choices, outline_choices
from ui.sessions import SessionAssistants

if TYPE_CHECKING:
    from ui.app import AssistantLoader

log = logging.getLogger(__name__)


def ready_line(assistant: Assistant) -> str:
    """``就緒 · Ready: 55 passages indexed.``"""
    return f"就緒 · Ready: {counted(len(assistant.index.passages), 'passage')} indexed."


class SessionDocuments:
    """The assistant and documents of each browser session (``session``: a Gradio session id, ``""``
    for Python callers) over the server's :class:`AssistantLoader`."""

    def __init__(
        self, loader: AssistantLoader, documents: Sequence[Document], collection: Collection | None = None
    ) -> None:
        """``collection``: uploads are added to it (kept across restarts) and everyone using the server
        shares them; without one, each session searches ``documents`` and its own uploads until it closes."""
        self.loader = loader
        self.documents = tuple(documents)
        """The server's documents (with a collection, everyone's, uploads included)."""
        self.collection = collection
        self.shared = collection is not None
        self.sessions = SessionAssistants()
        self._server_ids = {d.id for d in self.documents}
        self._adding = threading.Lock()

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

    @property
    def fixed(self) -> set[str]:
        """The ids of the documents that stay: the server's (none, with a collection)."""
        return set() if self.shared else self._server_ids

    def add(self, paths: Sequence[str], progress: ProgressCallback | None = None, session: str = "") -> list[str]:
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

    def remove(self, doc_ids: Sequence[str], session: str = "") -> list[str]:
        """Stop searching ``doc_ids`` (removed from the collection, with one); returns them.

        :class:`QAError` with a message for the page: no id, an unknown one, a document the server
        came with (without a collection), or the collection's last document."""
        wanted = list(dict.fromkeys(i for i in doc_ids if i))
        if not wanted:
            raise QAError("choose a document to remove")
        with self._adding:
            current = self.assistant_for(session)
            _check_removal(current.documents, wanted, self.fixed)
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

    def status(self, session: str = "") -> str:
        """The status line for ``session``: its own passage count once it added documents."""
        own = None if self.shared else self.sessions.get(session)
        return render.markdown_text(ready_line(own) if own is not None else self.loader.status())


class DocumentsTab:
    """The documents tab's handlers over :class:`SessionDocuments`; each returns the page's outputs."""

    def __init__(self, by_session: SessionDocuments) -> None:
        self.by_session = by_session

    def document_list(self, session: str = "") -> tuple[Any, Any]:
        """The checkboxes of the documents ``session`` searches, all chosen, and the list to remove
        one from (with a collection, a page opened after an upload lists the new documents too)."""
        documents = self.by_session.documents_for(session)
        choices = document_choices(documents)
        return gr.update(choices=choices, value=[d.id for d in documents]), gr.update(choices=choices, value=None)

    def ask_removal(self, doc_id: str | None, session: str = "") -> tuple[Any, Any, Any]:
        """The confirmation step: outputs the question (or why it cannot be removed), the confirm
        and the cancel buttons (shown only when the removal can go ahead)."""
        hidden = gr.update(visible=False)
        try:
            if not doc_id:
                raise QAError("choose a document to remove")
            documents = self.by_session.documents_for(session)
            _check_removal(documents, [doc_id], self.by_session.fixed)
        except QAError as exc:
            return render.markdown_text(f"無法移除 Cannot remove: {exc}"), hidden, hidden
        title = next(d.title for d in documents if d.id == doc_id)
        who = "everyone using this server" if self.by_session.shared else "this browser tab"
        question = f"確定移除「{title} · {doc_id}」？ Remove it from the documents searched by {who}?"
        return render.markdown_text(question), gr.update(visible=True), gr.update(visible=True)

    def remove(self, doc_id: str | None, chosen: Sequence[str] | None, session: str = "") -> tuple[Any, ...]:
        """Remove the confirmed document; outputs: the message, the document checkboxes, the list to
        remove from, the outline, the confirm and cancel buttons (hidden again), the status line."""
        hidden = gr.update(visible=False)
        try:
            removed = self.by_session.remove([doc_id] if doc_id else [], session)
        except QAError as exc:
            reply = render.markdown_text(f"無法移除 Cannot remove: {exc}")
            return reply, gr.update(), gr.update(), gr.update(), hidden, hidden, gr.update()
        except Exception:
            log.exception("removing %r failed", doc_id)
            reply = "移除文件時發生錯誤。 Something went wrong while removing the document."
            return reply, gr.update(), gr.update(), gr.update(), hidden, hidden, gr.update()
        documents = self.by_session.documents_for(session)
        keep = set(chosen or []) - set(removed)
        choices = document_choices(documents)
        return (
            render.markdown_text(f"已移除 Removed: {', '.join(removed)}"),
            gr.update(choices=choices, value=[d.id for d in documents if d.id in keep]),
            gr.update(choices=choices, value=None),
            gr.update(choices=outline_choices(self.by_session.outline_for(session)), value=None),
            hidden,
            hidden,
            self.by_session.status(session),
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
            ids = self.by_session.add(paths, report, session)
        except QAError as exc:
            return render.markdown_text(f"無法加入 Could not add: {exc}"), *unchanged
        except Exception:
            log.exception("adding %s failed", paths)
            reply = "加入文件時發生錯誤。 Something went wrong while adding the files."
            return reply, *unchanged
        keep = set(chosen or []) | set(ids)
        documents = self.by_session.documents_for(session)
        choices = document_choices(documents)
        return (
            _added_message(self.by_session.assistant_for(session).indexed_documents(), ids),
            gr.update(choices=choices, value=[d.id for d in documents if d.id in keep]),
            gr.update(choices=choices, value=None),
            gr.update(choices=outline_choices(self.by_session.outline_for(session)), value=None),
            None,
            self.by_session.status(session),
        )


def _upload_paths(files: Any) -> list[str]:
    """Paths of the files Gradio received (``type="filepath"``: one path, or a list of them)."""
    items = [files] if isinstance(files, str) else list(files or [])
    return [str(f) for f in items if f]


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
