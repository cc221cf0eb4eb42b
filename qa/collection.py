"""Named, persistent collections of the user's own documents.

A collection lives in ``<cache_dir>/collections/<name>/``::

    manifest.json              the documents: id, title, original path, suffix, hash, size, added (JSON)
    files/<sha256>/<file name> a copy of each original file's bytes, re-read with DocumentLoader

so it keeps working when the user moves or deletes the originals. Every change is all-or-nothing:
files are copied and parsed first, then the manifest is replaced atomically (temporary file and
``os.replace``) while a lock (``flock`` on ``collections/.<name>.lock``) keeps concurrent writers
from losing each other's documents.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import time
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from corpus.errors import DocumentError
from corpus.loading import DocumentLoader, not_a_file
from corpus.model import Document
from index import stages
from index.cache_files import process_alive
from index.embedding_cache import ProgressCallback
from qa.config import Settings
from qa.errors import CollectionError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no locking between processes
    fcntl = None  # type: ignore[assignment]

DEFAULT_COLLECTION = "default"
"""The collection ``qa index add`` uses when no ``--collection`` is given."""
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
FILES = "files"
_NAME = re.compile(r"[^\W_][\w-]{0,63}")
"""A letter or digit, then up to 63 letters, digits, ``-`` or ``_``: never a path."""
MAX_NAME_BYTES = 200
"""A name's most UTF-8 bytes: the folder names made from it (``.staging-<name>-<pid>-<ns>``) stay
within the 255 bytes file systems allow (64 Chinese characters are 192 bytes)."""
_LEFTOVER = re.compile(r"\.(?:staging|deleting)-.+-(\d+)-\d+")
"""The working folder of an add (``.staging-…``) or a delete (``.deleting-…``); its process id."""


@dataclass(frozen=True)
class DocumentEntry:
    """One document of a collection, as its manifest records it."""

    id: str
    title: str
    path: str
    """Where the original file was when it was added (absolute)."""
    suffix: str
    content_hash: str
    """SHA-256 of the file's bytes; the stored copy is ``files/<content_hash>/<file name>``."""
    size: int
    added: str
    """When it was added, UTC, ISO 8601."""

    @property
    def file_name(self) -> str:
        return Path(self.path).name

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_ENTRY_FIELDS = {f.name: f.type for f in fields(DocumentEntry)}


def _entry(data: Any) -> DocumentEntry:
    if not isinstance(data, dict) or set(data) != set(_ENTRY_FIELDS):
        raise ValueError(f"a document entry must have the fields {sorted(_ENTRY_FIELDS)}")
    if not all(isinstance(data[k], int if k == "size" else str) for k in _ENTRY_FIELDS):
        raise ValueError("a document entry has a field of the wrong type")
    return DocumentEntry(**data)


def check_name(name: object) -> str:
    """The collection name, NFC-normalised; :class:`CollectionError` unless it is letters, digits,
    ``-`` and ``_`` (at most 64, starting with a letter or digit)."""
    if not isinstance(name, str):
        raise CollectionError(f"a collection name must be text, not {type(name).__name__}")
    normalized = unicodedata.normalize("NFC", name)
    if not _NAME.fullmatch(normalized):
        raise CollectionError(
            f"bad collection name {name!r}: use letters, digits, '-' and '_' (at most 64, starting with a letter "
            "or digit)"
        )
    size = len(normalized.encode("utf-8"))
    if size > MAX_NAME_BYTES:
        raise CollectionError(
            f"bad collection name {name!r}: {size} bytes in UTF-8, more than the {MAX_NAME_BYTES} a folder name "
            "can take here; use a shorter name"
        )
    return normalized


def _root(settings: Settings) -> Path:
    if settings.cache_dir is None:
        raise CollectionError("collections are kept in the cache directory, and settings.cache_dir is None; set one")
    return Path(settings.cache_dir) / "collections"


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{time.monotonic_ns()}")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def unique_id(wanted: str, taken: set[str]) -> str:
    """``wanted``, or ``wanted-2``, ``wanted-3`` … whichever is not ``taken`` first."""
    if wanted not in taken:
        return wanted
    n = 2
    while f"{wanted}-{n}" in taken:
        n += 1
    return f"{wanted}-{n}"


@dataclass(frozen=True)
class StagedFile:
    """A file copied into the staging directory and parsed from there."""

    source: Path
    content_hash: str
    size: int
    document: Document


def stage_files(
    paths: Sequence[Path], staging: Path, loader: DocumentLoader, progress: ProgressCallback | None = None
) -> list[StagedFile]:
    """Copy each distinct file (by content) into ``staging`` and parse the copy; :class:`DocumentError`
    names the first that cannot be read."""
    staged: dict[str, StagedFile] = {}
    for done, path in enumerate(paths):
        if progress:
            progress(stages.READING_FILES, done, len(paths))
        if not path.is_file():
            raise DocumentError(f"{path}: {not_a_file(path)}")
        size = path.stat().st_size
        if size > loader.max_bytes:
            raise DocumentError(f"{path}: {size} bytes is larger than the limit of {loader.max_bytes}")
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if digest in staged:
            continue
        # the folder resolved, the file's own name kept (a symbolic link's, not its target's): the
        # copy is stored under the name the manifest records
        source = path.parent.resolve() / path.name
        copy = staging / digest / source.name
        copy.parent.mkdir(parents=True)
        copy.write_bytes(data)
        try:
            document = loader.load(copy)
        except DocumentError as exc:
            raise DocumentError(str(exc).replace(str(copy), str(path))) from None
        staged[digest] = StagedFile(source, digest, len(data), document)
    if progress:
        progress(stages.READING_FILES, len(paths), len(paths))
    return list(staged.values())


def remove_leftovers(root: Path) -> None:
    """Remove the working folders of adds and deletes (of any collection) whose process died."""
    with contextlib.suppress(OSError):
        for folder in root.iterdir():
            match = _LEFTOVER.fullmatch(folder.name)
            if match and folder.is_dir() and not process_alive(int(match.group(1))):
                shutil.rmtree(folder, ignore_errors=True)


def stored_copy(directory: Path, entry: DocumentEntry) -> Path:
    """Where the copy of ``entry`` is: ``files/<hash>/<file name>``, or the one file in
    ``files/<hash>/`` (a collection that recorded a symbolic link's target name but stored
    the copy under the link's)."""
    folder = directory / FILES / entry.content_hash
    stored = folder / entry.file_name
    if not stored.is_file():
        with contextlib.suppress(OSError):
            found = [p for p in folder.iterdir() if p.is_file()]
            if len(found) == 1:
                return found[0]
    return stored


class Manifest:
    """A collection's manifest (its entries, written whole) and the lock that guards it."""

    def __init__(self, root: Path, name: str) -> None:
        self.root = root
        self.name = name
        self.directory = root / name
        self._lock_path = root / f".{name}.lock"

    @property
    def exists(self) -> bool:
        return (self.directory / MANIFEST).is_file()

    def read(self) -> list[DocumentEntry]:
        """The entries, in the order they were added (none if there is no manifest)."""
        path = self.directory / MANIFEST
        if not path.exists():
            return []
        try:
            data = json.loads(path.read_text("utf-8"))
            if not isinstance(data, dict) or data.get("format") != FORMAT_VERSION:
                raise ValueError(f"not a format-{FORMAT_VERSION} collection manifest")
            entries = [_entry(d) for d in data["documents"]]
            if len({e.id for e in entries}) != len(entries):
                raise ValueError("two documents share an id")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CollectionError(
                f"{path}: the collection's manifest cannot be read ({exc}); restore it, or delete {self.directory} "
                "to start the collection afresh"
            ) from None
        return entries

    def write(self, entries: Sequence[DocumentEntry]) -> None:
        """Replace the manifest whole with ``entries``."""
        self.directory.mkdir(parents=True, exist_ok=True)
        data = {"format": FORMAT_VERSION, "name": self.name, "documents": [e.to_dict() for e in entries]}
        _write_atomically(self.directory / MANIFEST, json.dumps(data, ensure_ascii=False, indent=1))

    @contextlib.contextmanager
    def locked(self, *, exclusive: bool) -> Iterator[None]:
        """Hold the collection's lock: exclusive to change it, shared to read it."""
        if fcntl is None or (not exclusive and not self.root.is_dir()):
            yield
            return
        try:
            if exclusive:
                self.root.mkdir(parents=True, exist_ok=True)
                fh = open(self._lock_path, "a+b")  # noqa: SIM115 - closed below
            else:  # a reader makes no lock file: none means no writer has been here
                fh = open(self._lock_path, "rb")  # noqa: SIM115 - closed below
        except OSError:
            if exclusive:
                raise
            yield  # no lock file, or a read-only cache: the manifest is replaced whole, never half-written
            return
        with fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


class Collection:
    """A named set of documents kept under ``settings.cache_dir / "collections" / name``.

    >>> from qa import Settings
    >>> collection = Collection("reports", Settings())
    >>> collection.add(["report.md", "notes.txt"])  # doctest: +SKIP
    [DocumentEntry(id='report', ...), DocumentEntry(id='notes', ...)]

    Document ids come from the file names (``report.md`` → ``report``); a different file whose id
    is taken gets ``-2``, ``-3`` … (``README.md`` from two projects: ``readme``, ``readme-2``).
    The same content added again, under any name, is the document already there. To replace a
    changed file, remove its id and add it again.
    """

    def __init__(self, name: str = DEFAULT_COLLECTION, settings: Settings | None = None) -> None:
        self.name = check_name(name)
        self.settings = settings or Settings()
        self.root = _root(self.settings)
        self.manifest = Manifest(self.root, self.name)
        self.directory = self.manifest.directory

    def __repr__(self) -> str:
        return f"Collection({self.name!r}, {str(self.directory)!r})"

    @staticmethod
    def names(settings: Settings | None = None) -> list[str]:
        """The names of the collections that exist, sorted."""
        root = _root(settings or Settings())
        if not root.is_dir():
            return []
        return sorted(
            p.name for p in root.iterdir() if p.is_dir() and _NAME.fullmatch(p.name) and (p / MANIFEST).is_file()
        )

    @property
    def exists(self) -> bool:
        return self.manifest.exists

    # -- reading --------------------------------------------------------------------------
    def entries(self) -> list[DocumentEntry]:
        """The documents, in the order they were added (empty if the collection does not exist)."""
        with self.manifest.locked(exclusive=False):
            return self.manifest.read()

    def documents(self, loader: DocumentLoader | None = None) -> list[Document]:
        """Every document, parsed again from its stored copy; :class:`CollectionError` if the
        collection is empty or missing, or a stored copy is damaged."""
        loader = loader or DocumentLoader()
        with self.manifest.locked(exclusive=False):
            entries = self.manifest.read()
            if not entries:
                raise self._empty_error()
            return [self._load(entry, loader) for entry in entries]

    def _load(self, entry: DocumentEntry, loader: DocumentLoader) -> Document:
        stored = stored_copy(self.directory, entry)
        damaged = (
            f"the collection {self.name!r}: the stored copy of {entry.id!r} is missing or damaged; remove it "
            f"(qa index remove {entry.id} --collection {self.name}) and add {entry.path} again"
        )
        try:
            data = stored.read_bytes()
        except OSError:
            raise CollectionError(damaged) from None
        if hashlib.sha256(data).hexdigest() != entry.content_hash:
            raise CollectionError(damaged)
        try:
            document = loader.load(stored)
        except DocumentError as exc:
            raise CollectionError(f"{damaged} ({exc})") from None
        return replace(document, id=entry.id, source=entry.path)

    def _empty_error(self) -> CollectionError:
        hint = f"add some with: qa index add PATH… --collection {self.name}"
        if self.exists:
            return CollectionError(f"the collection {self.name!r} has no documents; {hint}")
        others = ", ".join(self.names(self.settings)) or "none yet"
        return CollectionError(f"there is no collection {self.name!r} (collections: {others}); {hint}")

    # -- changing -------------------------------------------------------------------------
    def add(
        self,
        paths: Iterable[str | Path],
        loader: DocumentLoader | None = None,
        progress: ProgressCallback | None = None,
    ) -> list[DocumentEntry]:
        """Copy and parse the files, then add them all, or none if any fails (the error names it).

        Returns the entry of each distinct file given, in order: new, or the one already holding the
        same content (adding it again changes nothing). ``progress`` hears ``index.stages.READING_FILES``
        for each file read; indexing them is the next :class:`~qa.assistant.Assistant`'s work.
        """
        return [entry for entry, _ in self.add_reporting(paths, loader, progress)]

    def add_reporting(
        self,
        paths: Iterable[str | Path],
        loader: DocumentLoader | None = None,
        progress: ProgressCallback | None = None,
    ) -> list[tuple[DocumentEntry, bool]]:
        """:meth:`add`, each entry with whether this call added it (``False``: the collection
        already held that content, perhaps added by another process a moment before)."""
        if isinstance(paths, (str, Path)):
            paths = [paths]
        paths = [Path(p) for p in paths]
        if not paths:
            raise DocumentError("no documents given")
        loader = loader or DocumentLoader()
        self.root.mkdir(parents=True, exist_ok=True)
        remove_leftovers(self.root)
        staging = self.root / f".staging-{self.name}-{os.getpid()}-{time.monotonic_ns()}"
        try:
            staged = stage_files(paths, staging, loader, progress)
            with self.manifest.locked(exclusive=True):
                return self._commit(staged, staging)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _commit(self, staged: Sequence[StagedFile], staging: Path) -> list[tuple[DocumentEntry, bool]]:
        entries = self.manifest.read()
        by_hash = {e.content_hash: e for e in entries}
        taken = {e.id for e in entries}
        added: list[DocumentEntry] = []
        result: list[tuple[DocumentEntry, bool]] = []
        for item in staged:
            if item.content_hash in by_hash:
                result.append((by_hash[item.content_hash], False))
                continue
            entry = DocumentEntry(
                id=unique_id(item.document.id, taken),
                title=item.document.title,
                path=str(item.source),
                suffix=item.source.suffix.lower(),
                content_hash=item.content_hash,
                size=item.size,
                added=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            )
            if not (staging / entry.content_hash / entry.file_name).is_file():
                raise CollectionError(f"{item.source}: the copy to store is missing; nothing was added")
            taken.add(entry.id)
            by_hash[entry.content_hash] = entry
            added.append(entry)
            result.append((entry, True))
        if not added:
            return result
        files = self.directory / FILES
        files.mkdir(parents=True, exist_ok=True)
        moved: list[Path] = []
        try:
            for entry in added:
                target = files / entry.content_hash
                if target.exists():  # left behind by an interrupted change: not in the manifest
                    shutil.rmtree(target)
                os.replace(staging / entry.content_hash, target)
                moved.append(target)
            self.manifest.write([*entries, *added])
        except BaseException:
            for target in moved:
                shutil.rmtree(target, ignore_errors=True)
            raise
        return result

    def remove(self, doc_ids: Iterable[str]) -> list[DocumentEntry]:
        """Remove these documents (all, or none if an id is unknown); returns their entries."""
        if isinstance(doc_ids, str):
            doc_ids = [doc_ids]
        wanted = list(dict.fromkeys(doc_ids))
        if not wanted:
            raise CollectionError("give the ids of the documents to remove")
        if not self.directory.exists():  # nothing to lock: leave no lock file behind
            raise self._empty_error()
        with self.manifest.locked(exclusive=True):
            entries = self.manifest.read()
            if not entries and not self.exists:
                raise self._empty_error()
            known = {e.id: e for e in entries}
            unknown = [i for i in wanted if i not in known]
            if unknown:
                raise CollectionError(
                    f"the collection {self.name!r} has no document {', '.join(map(repr, unknown))}; "
                    f"its documents are: {', '.join(known) or 'none'}"
                )
            removed = [known[i] for i in wanted]
            self.manifest.write([e for e in entries if e.id not in set(wanted)])
            for entry in removed:  # after the manifest: a crash leaves an unused copy, never a missing one
                shutil.rmtree(self.directory / FILES / entry.content_hash, ignore_errors=True)
        return removed

    def delete(self) -> None:
        """Delete the collection and its stored copies."""
        if not self.directory.exists():  # nothing to lock: leave no lock file behind
            raise self._empty_error()
        with self.manifest.locked(exclusive=True):
            if not self.directory.exists():
                raise self._empty_error()
            trash = self.root / f".deleting-{self.name}-{os.getpid()}-{time.monotonic_ns()}"
            os.replace(self.directory, trash)
        shutil.rmtree(trash, ignore_errors=True)
