"""Where the passage index lives: ``faiss`` (files in the cache directory, the default), ``milvus``
or ``milvus:PATH`` (Milvus Lite, embedded: one ``.db`` file) or ``milvus://HOST:PORT`` (a Milvus
server or cluster; its login comes from :data:`MILVUS_TOKEN_VARIABLE`, never the command line).
A Milvus location may end in ``?index=TYPE``, the dense fields' index (FLAT by default: exact)."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from corpus.model import Document
from index.embedding_cache import ProgressCallback
from index.errors import IndexBuildError
from index.store import IndexBuilder, PassageStore, load_or_build

MILVUS_TOKEN_VARIABLE = "PENINSULA_QA_MILVUS_TOKEN"
"""A Milvus server's login: ``user:password`` or an API key."""
INDEX_TYPES = ("FLAT", "IVF_FLAT", "HNSW", "AUTOINDEX")
"""The Milvus index types (here, so that a FAISS store never imports :mod:`index.milvus_store`)."""
EMBEDDED_INDEX_TYPES = ("FLAT", "IVF_FLAT", "AUTOINDEX")
"""What Milvus Lite builds (it refuses HNSW)."""
EMBEDDED_FILE = "milvus/store.db"
"""The embedded store's file under the cache directory, for a bare ``milvus``."""
_LITE_NAME = re.compile(r"[A-Za-z0-9._-]{1,33}\.db")
"""What Milvus Lite accepts as its file's name: these characters, at most 36 in all."""
_HOST_PORT = re.compile(r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(?P<port>[0-9]{1,5})")
KINDS = ("faiss", "milvus-embedded", "milvus-server")


class StoreLocationError(IndexBuildError, ValueError):
    """A store location that cannot be read; the message shows the accepted forms."""


@dataclass(frozen=True)
class StoreLocation:
    """A parsed store location: ``kind`` (one of :data:`KINDS`), the embedded file's ``path``
    (``None``: the cache directory's :data:`EMBEDDED_FILE`) or the server's ``uri``."""

    kind: str
    path: Path | None = None
    uri: str | None = None
    index_type: str = "FLAT"

    FORMS = "faiss, milvus, milvus:PATH.db or milvus://HOST:PORT (each milvus form may end in ?index=TYPE)"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise StoreLocationError(f"a store kind must be one of {KINDS}, got {self.kind!r}")
        if self.kind == "milvus-server" and not self.uri:
            raise StoreLocationError("a Milvus server location needs its address")
        if self.index_type not in INDEX_TYPES:
            raise StoreLocationError(f"unknown Milvus index {self.index_type!r}: use one of {', '.join(INDEX_TYPES)}")
        if self.kind == "milvus-embedded" and self.index_type not in EMBEDDED_INDEX_TYPES:
            raise StoreLocationError(
                f"Milvus Lite builds only {', '.join(EMBEDDED_INDEX_TYPES)} indexes, not {self.index_type}; "
                "HNSW needs a Milvus server (milvus://HOST:PORT?index=HNSW)"
            )
        if self.path is not None and not _LITE_NAME.fullmatch(self.path.name):
            raise StoreLocationError(
                f"--store milvus:{self.path}: Milvus Lite needs a file name ending in .db, of letters, digits, "
                "'.', '-' and '_', at most 36 characters"
            )

    @classmethod
    def parse(cls, text: object) -> StoreLocation:
        """``"faiss"``, ``"milvus"``, ``"milvus:PATH.db"`` or ``"milvus://HOST:PORT"``;
        :class:`StoreLocationError` for anything else."""
        if not isinstance(text, str):
            raise StoreLocationError(f"a store location must be text ({cls.FORMS}), not {type(text).__name__}")
        value = text.strip()
        if value == "faiss":
            return cls("faiss")
        if value == "milvus":
            return cls("milvus-embedded")
        index_type = "FLAT"
        if value.startswith("milvus") and "?" in value:
            value, _, query = value.rpartition("?")
            key, equals, index_type = query.partition("=")
            if key != "index" or not equals:
                raise StoreLocationError(f"--store {text}: the only option is ?index=TYPE ({', '.join(INDEX_TYPES)})")
            index_type = index_type.upper()
        if value == "milvus":
            return cls("milvus-embedded", index_type=index_type)
        if value.startswith("milvus://"):
            address = value[len("milvus://") :].rstrip("/")
            match = _HOST_PORT.fullmatch(address)
            if match is None or not 0 < int(match.group("port")) < 65536:
                raise StoreLocationError(f"--store {text}: give a Milvus server as milvus://HOST:PORT (e.g. :19530)")
            return cls("milvus-server", uri=f"http://{address}", index_type=index_type)
        if value.startswith("milvus:"):
            path = value[len("milvus:") :]
            if not path.strip():
                raise StoreLocationError(f"--store {text}: give the embedded store's file, milvus:PATH.db")
            return cls("milvus-embedded", path=Path(path).expanduser(), index_type=index_type)
        raise StoreLocationError(f"unknown store {text!r}: use {cls.FORMS}")


def open_store(
    store: str,
    documents: Sequence[Document],
    builder: IndexBuilder,
    cache_dir: Path | None,
    *,
    scope: str | None = None,
    rebuild: bool = False,
    progress: ProgressCallback | None = None,
) -> tuple[PassageStore, bool]:
    """The index of ``documents`` in ``store`` (a location as :meth:`StoreLocation.parse` reads it),
    built or brought up to date; returns ``(store, built)`` (``built``: something was written).

    ``scope`` names the set of documents the index serves (a collection's name): documents added to
    or removed from it later write or delete only their own rows. ``None``: the documents' ids.
    """
    location = StoreLocation.parse(store)
    if location.kind == "faiss":
        return load_or_build(
            documents, builder, cache_dir / "indexes" if cache_dir else None, rebuild=rebuild, progress=progress
        )
    from index.milvus_store import MilvusConnection, open_milvus_index

    if location.kind == "milvus-server":
        connection = MilvusConnection(location.uri or "", token=os.environ.get(MILVUS_TOKEN_VARIABLE, ""))
    else:
        path = location.path
        if path is None:
            if cache_dir is None:
                raise StoreLocationError("--store milvus keeps its file in the cache directory; give milvus:PATH.db")
            path = cache_dir / EMBEDDED_FILE
        connection = MilvusConnection(str(path), log_dir=(cache_dir / "milvus-logs") if cache_dir else None)
    scope = scope or "documents:" + "\x1f".join(sorted(d.id for d in documents))
    return open_milvus_index(
        connection,
        documents,
        builder,
        scope=scope,
        index_type=location.index_type,
        rebuild=rebuild,
        progress=progress,
        cache_dir=cache_dir,
    )
