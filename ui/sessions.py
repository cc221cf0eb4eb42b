"""Each browser session's own uploads: an assistant over the server's documents and the files it added.

Without ``qa serve --collection``, a file added in one browser tab is searched in that tab only;
the session's assistant is dropped when the tab closes (Gradio's ``unload``), and the oldest one
when more than :data:`SESSIONS_KEPT` sessions hold uploads.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from qa.assistant import Assistant

SESSIONS_KEPT = 32
"""Browser sessions whose uploads are kept at once (each holds an index in memory)."""


class SessionAssistants:
    """The assistants of the sessions that added documents, by session id (most recently used last)."""

    def __init__(self, kept: int = SESSIONS_KEPT) -> None:
        if kept < 1:
            raise ValueError("kept must be at least 1")
        self.kept = kept
        self._lock = threading.Lock()
        self._by_session: OrderedDict[str, Assistant] = OrderedDict()

    def get(self, session: str) -> Assistant | None:
        """The session's assistant, or ``None`` when it added nothing (it searches the server's documents)."""
        with self._lock:
            assistant = self._by_session.get(session)
            if assistant is not None:
                self._by_session.move_to_end(session)
            return assistant

    def put(self, session: str, assistant: Assistant) -> None:
        """Keep ``assistant`` for ``session``, forgetting the least recently used session beyond :attr:`kept`."""
        with self._lock:
            self._by_session[session] = assistant
            self._by_session.move_to_end(session)
            while len(self._by_session) > self.kept:
                self._by_session.popitem(last=False)

    def drop(self, session: str) -> None:
        with self._lock:
            self._by_session.pop(session, None)

    def __len__(self) -> int:
        return len(self._by_session)
