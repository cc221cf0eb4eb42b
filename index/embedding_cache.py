"""Vectors keyed by a hash of the embedded text, so re-indexing embeds only what is new."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from index.embedders import Embedder

ProgressCallback = Callable[[str, int, int], None]


def text_key(text: str) -> str:
    """SHA-256 of the text (hex, 32 characters kept)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


class EmbeddingCache:
    """Per-embedder store of ``key → vector`` in ``<dir>/<embedder>/{keys.json,vectors.npy}``.

    Pass ``directory=None`` for no persistence (vectors are still computed in batches).
    """

    def __init__(self, directory: Path | None, batch_size: int = 16) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.directory = directory
        self.batch_size = batch_size

    def _paths(self, embedder: Embedder) -> tuple[Path, Path] | None:
        if self.directory is None:
            return None
        base = self.directory / _slug(embedder.name)
        return base / "keys.json", base / "vectors.npy"

    def _load(self, embedder: Embedder) -> dict[str, np.ndarray]:
        paths = self._paths(embedder)
        if paths is None or not paths[0].exists() or not paths[1].exists():
            return {}
        try:
            keys = json.loads(paths[0].read_text("utf-8"))
            vectors = np.load(paths[1], allow_pickle=False)
        except (OSError, ValueError):
            return {}  # a damaged cache is only a cache: embed again
        if len(keys) != len(vectors) or vectors.ndim != 2 or vectors.shape[1] != embedder.dim:
            return {}
        return dict(zip(keys, vectors, strict=True))

    def _store(self, embedder: Embedder, known: dict[str, np.ndarray]) -> None:
        paths = self._paths(embedder)
        if paths is None or not known:
            return
        keys_path, vectors_path = paths
        try:
            keys_path.parent.mkdir(parents=True, exist_ok=True)
            suffix = f".tmp-{os.getpid()}"
            with open(str(vectors_path) + suffix, "wb") as fh:
                np.save(fh, np.stack(list(known.values())).astype(np.float32), allow_pickle=False)
            Path(str(keys_path) + suffix).write_text(json.dumps(list(known.keys())), "utf-8")
            os.replace(str(vectors_path) + suffix, vectors_path)
            os.replace(str(keys_path) + suffix, keys_path)
        except OSError:
            pass  # read-only or full disk: the vectors are still returned

    def embed(
        self,
        embedder: Embedder,
        texts: Sequence[str],
        progress: ProgressCallback | None = None,
    ) -> np.ndarray:
        """Vectors for ``texts`` (one row each), embedding only those not cached yet."""
        known = self._load(embedder)
        keys = [text_key(t) for t in texts]
        missing = list(dict.fromkeys(k for k in keys if k not in known))
        text_of = dict(zip(keys, texts, strict=True))
        total = len(missing)
        if progress:
            progress(embedder.name, 0, total)
        for i in range(0, total, self.batch_size):
            batch = missing[i : i + self.batch_size]
            vectors = embedder.embed_documents([text_of[k] for k in batch])
            known.update(zip(batch, vectors, strict=True))
            if progress:
                progress(embedder.name, min(i + self.batch_size, total), total)
        if missing:
            self._store(embedder, known)
        if not keys:
            return np.zeros((0, embedder.dim), np.float32)
        return np.stack([known[k] for k in keys]).astype(np.float32)
