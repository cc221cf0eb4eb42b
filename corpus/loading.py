"""Load documents from files: the bundled chapter or any UTF-8 ``.txt`` / ``.md`` file."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from corpus.errors import DocumentError
from corpus.model import Document
from corpus.parsing import parse_text

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown")
DEFAULT_DOCUMENT_NAME = "korean-peninsula-security-2018.txt"


def default_document_path() -> Path:
    """Path of the chapter that ships inside the package."""
    return Path(str(resources.files("corpus") / "data" / DEFAULT_DOCUMENT_NAME))


def _doc_id(path: Path) -> str:
    slug = re.sub(r"[^\w.-]+", "-", path.stem, flags=re.UNICODE).strip("-").lower()
    return slug or "document"


class DocumentLoader:
    """Read UTF-8 ``.txt`` and ``.md`` files into cleaned, structured documents.

    >>> [doc] = DocumentLoader().run([default_document_path()])
    >>> doc.title
    '第八章 朝鮮半島之安全情勢發展'
    """

    def __init__(self, max_bytes: int = 50_000_000) -> None:
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        self.max_bytes = max_bytes

    def run(self, paths: Iterable[str | Path]) -> list[Document]:
        """Load every path; raise :class:`DocumentError` naming the first bad one."""
        documents: list[Document] = []
        seen: dict[str, Path] = {}
        for raw in paths:
            doc = self.load(raw)
            if doc.id in seen:
                raise DocumentError(
                    f"two documents would share the id {doc.id!r}: {seen[doc.id]} and {raw}; rename one"
                )
            seen[doc.id] = Path(raw)
            documents.append(doc)
        if not documents:
            raise DocumentError("no documents given")
        return documents

    def load(self, path: str | Path) -> Document:
        """Load one file."""
        path = Path(path)
        if not path.is_file():
            raise DocumentError(f"{path}: no such file")
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            raise DocumentError(
                f"{path}: unsupported file type {path.suffix or '(none)'!r}; "
                f"give a UTF-8 {', '.join(SUPPORTED_SUFFIXES)} file"
            )
        size = path.stat().st_size
        if size > self.max_bytes:
            raise DocumentError(f"{path}: {size} bytes is larger than the limit of {self.max_bytes}")
        data = path.read_bytes()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise DocumentError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        if "\x00" in text:
            raise DocumentError(f"{path}: looks like a binary file (contains NUL bytes)")
        document = parse_text(
            text,
            doc_id=_doc_id(path),
            source=str(path),
            content_hash=hashlib.sha256(data).hexdigest(),
            markdown=path.suffix.lower() in (".md", ".markdown"),
        )
        if not any(unicodedata.category(ch)[0] not in "CZ" for ch in document.text):
            raise DocumentError(f"{path}: the document is empty (no visible text)")
        return document


def load_default_document() -> Document:
    """The bundled chapter, parsed."""
    return DocumentLoader().load(default_document_path())
