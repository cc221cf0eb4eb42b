"""Vectors keyed by a hash of the embedded text, so re-indexing embeds only what is new."""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index import stages
from index.cache_files import CacheLock, remove_leftovers, write_file_atomically
from index.embedders import Embedder
from index.stages import Progress

log = logging.getLogger(__name__)

ProgressCallback = Progress
"""The progress callback's old name (see :class:`index.stages.Progress`)."""
UNIT_TOLERANCE = 1e-3
"""Embedders return unit vectors: a cached vector whose length is further from 1 is damaged."""
_KEY = re.compile(r"[0-9a-f]{32}")


def text_key(text: str) -> str:
    """SHA-256 of the text (hex, 32 characters kept)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


class EmbeddingCache:
    """Per-embedder store of ``key → vector`` in ``<dir>/<embedder>/embeddings.npy``.

    One ``.npy`` file of ``(key, vector)`` records (a plain structured array, read without pickle),
    replaced whole through a temporary file, so keys and vectors cannot come apart. A file that
    cannot be read is ignored and entries that are not unit vectors dropped: they are embedded
    again. A read-only or full disk costs only the saving (logged). Pass ``directory=None`` for
    no persistence (vectors are still computed in batches).
    """

    FILE = "embeddings.npy"
    LEGACY_FILES = ("keys.json", "vectors.npy")

    def __init__(self, directory: Path | None, batch_size: int = 16) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.directory = directory
        self.batch_size = batch_size

    def path(self, embedder: Embedder) -> Path | None:
        """Where ``embedder``'s vectors are kept (``None`` without a directory)."""
        return None if self.directory is None else self.directory / _slug(embedder.name) / self.FILE

    def _load(self, embedder: Embedder) -> dict[str, np.ndarray]:
        path = self.path(embedder)
        if path is None or not path.exists():
            return {}
        try:
            records = np.load(path, allow_pickle=False)
            keys = [k.decode("ascii") for k in records["key"]]
            vectors = np.asarray(records["vector"], dtype=np.float32)
        except Exception as exc:  # a damaged .npy fails in many ways: EOFError when empty, ValueError,
            # SyntaxError or tokenize.TokenError from its header, KeyError without our fields …
            log.warning("%s cannot be read (%s: %s); embedding again", path, type(exc).__name__, exc)
            return {}
        if vectors.ndim != 2 or vectors.shape[1] != embedder.dim:
            return {}
        usable = np.isfinite(vectors).all(axis=1) & (np.abs(np.linalg.norm(vectors, axis=1) - 1.0) < UNIT_TOLERANCE)
        return {k: v for k, v, ok in zip(keys, vectors, usable, strict=True) if ok and _KEY.fullmatch(k)}

    def _store(self, embedder: Embedder, known: dict[str, np.ndarray]) -> None:
        path = self.path(embedder)
        if path is None or not known:
            return
        try:
            with CacheLock(path.parent.parent / f".{path.parent.name}.lock") as held:
                if held:
                    remove_leftovers(path)  # of a process that died writing
                    known = {**self._load(embedder), **known}  # keep what another process stored meanwhile
                records = np.zeros(len(known), dtype=[("key", "S32"), ("vector", "<f4", (embedder.dim,))])
                records["key"] = [k.encode("ascii") for k in known]
                records["vector"] = np.stack(list(known.values()))
                buffer = io.BytesIO()
                np.save(buffer, records, allow_pickle=False)
                write_file_atomically(path, buffer.getvalue())
            for name in self.LEGACY_FILES:
                with contextlib.suppress(OSError):
                    (path.parent / name).unlink()
        except OSError as exc:
            log.warning("embeddings could not be saved in %s (%s); they are used from memory", path.parent, exc)

    def embed(
        self,
        embedder: Embedder,
        texts: Sequence[str],
        progress: Progress | None = None,
        *,
        label: str | None = None,
    ) -> np.ndarray:
        """Vectors for ``texts`` (one row each), embedding only those not cached yet, shortest first
        (a batch of texts of like length wastes least of the model's work); ``progress`` hears
        ``label`` (default :func:`index.stages.embedding`) with the count of texts embedded."""
        stage = label or stages.embedding(embedder.name)
        if progress:
            progress(stage, 0, 0)  # reading the cache file comes first
        known = self._load(embedder)
        keys = [text_key(t) for t in texts]
        text_of = dict(zip(keys, texts, strict=True))
        missing = sorted(dict.fromkeys(k for k in keys if k not in known), key=lambda k: len(text_of[k]))
        total = len(missing)
        if progress:
            progress(stage, 0, total)
        for i in range(0, total, self.batch_size):
            batch = missing[i : i + self.batch_size]
            vectors = embedder.embed_documents([text_of[k] for k in batch])
            known.update(zip(batch, vectors, strict=True))
            if progress:
                progress(stage, min(i + self.batch_size, total), total)
        if missing:
            self._store(embedder, known)
        if not keys:
            return np.zeros((0, embedder.dim), np.float32)
        return np.stack([known[k] for k in keys]).astype(np.float32)
