"""Load documents from files: the bundled chapter, or a PDF, Word ``.docx``, HTML, Markdown or UTF-8 text file."""

from __future__ import annotations

import hashlib
import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import replace
from importlib import resources
from pathlib import Path

from corpus.errors import DocumentError
from corpus.model import Document
from corpus.parsing import parse_text
from corpus.pdf import PdfReader
from corpus.webpage import HtmlReader
from corpus.word import DocxReader

TEXT_SUFFIXES = (".txt", ".md", ".markdown")
READERS = {".pdf": PdfReader, ".docx": DocxReader, ".html": HtmlReader, ".htm": HtmlReader}
"""Readers of the formats that are not plain text, by file suffix."""
SUPPORTED_SUFFIXES = (".pdf", ".docx", ".html", ".htm", *TEXT_SUFFIXES)
DEFAULT_DOCUMENT_NAME = "korean-peninsula-security-2018.txt"


def default_document_path() -> Path:
    """Path of the chapter that ships inside the package."""
    return Path(str(resources.files("corpus") / "data" / DEFAULT_DOCUMENT_NAME))


def _doc_id(path: Path) -> str:
    slug = re.sub(r"[^\w.-]+", "-", path.stem, flags=re.UNICODE).strip("-").lower()
    return slug or "document"


def not_a_file(path: Path) -> str:
    """What ``path`` is instead of a regular file, for an error message: missing, a directory, a
    broken link, or something else (a device such as ``/dev/zero``, a pipe, a socket)."""
    if path.is_dir():
        return "a directory, not a file; give the files in it"
    if path.exists():
        return "not a regular file (a device, pipe or socket); give a document file"
    if path.is_symlink():
        return "a symbolic link to nothing (its target is missing)"
    return "no such file"


class _RecentlyParsed:
    """The last few documents parsed, by the SHA-256 of their bytes and their file name (which the
    id and title come from): adding a file parses it to check it, then indexing reads the stored
    copy, the same bytes under the same name (a three-page PDF takes 0.3 s to parse)."""

    def __init__(self, documents: int = 8, characters: int = 4_000_000) -> None:
        self.documents, self.characters = documents, characters
        self._kept: OrderedDict[tuple[str, str], Document] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> Document | None:
        with self._lock:
            return self._kept.get(key)

    def put(self, key: tuple[str, str], document: Document) -> None:
        if len(document.text) > self.characters // self.documents:
            return
        with self._lock:
            self._kept[key] = document
            self._kept.move_to_end(key)
            while len(self._kept) > self.documents:
                self._kept.popitem(last=False)


_recently_parsed = _RecentlyParsed()


class DocumentLoader:
    """Read PDF, ``.docx``, HTML, Markdown and UTF-8 text files into cleaned, structured documents.

    The reader is chosen by the file's suffix (see :data:`SUPPORTED_SUFFIXES`); ``content_hash``
    is the SHA-256 of the file's bytes.

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
            raise DocumentError(f"{path}: {not_a_file(path)}")
        suffix = path.suffix.lower()
        if suffix not in SUPPORTED_SUFFIXES:
            raise DocumentError(
                f"{path}: unsupported file type {path.suffix or '(none)'!r}; "
                "give a .pdf, .docx, .html/.htm, .md/.markdown or UTF-8 .txt file"
            )
        size = path.stat().st_size
        if size > self.max_bytes:
            raise DocumentError(f"{path}: {size} bytes is larger than the limit of {self.max_bytes}")
        data = path.read_bytes()
        key = (hashlib.sha256(data).hexdigest(), path.name)
        document = _recently_parsed.get(key)
        if document is not None:
            return replace(document, source=str(path))
        if suffix in READERS:
            document = READERS[suffix]().run(data, doc_id=_doc_id(path), source=str(path), content_hash=key[0])
        else:
            document = self._text(path, data, key[0])
        if not any(unicodedata.category(ch)[0] not in "CZ" for ch in document.text):
            raise DocumentError(f"{path}: the document is empty (no visible text)")
        _recently_parsed.put(key, document)
        return document

    @staticmethod
    def _text(path: Path, data: bytes, content_hash: str) -> Document:
        """A UTF-8 text or Markdown file (``content_hash``: the SHA-256 of ``data``)."""
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise DocumentError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        if "\x00" in text:
            raise DocumentError(f"{path}: looks like a binary file (contains NUL bytes)")
        return parse_text(
            text,
            doc_id=_doc_id(path),
            source=str(path),
            content_hash=content_hash,
            markdown=path.suffix.lower() in (".md", ".markdown"),
        )


def load_default_document() -> Document:
    """The bundled chapter, parsed."""
    return DocumentLoader().load(default_document_path())
