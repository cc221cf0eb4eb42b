"""BM25 over :func:`index.tokenize.tokenize` tokens, with ``bm25s`` (sparse matrices, no pickle)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index.tokenize import TOKENIZER_VERSION, tokenize

K1, B = 1.2, 0.75
"""BM25's term-frequency saturation and length normalisation (bm25s's Lucene variant)."""

_NO_WORDS = "\x00"
"""Stands in for the vocabulary of texts without a single token; no query produces it."""


class LexicalIndex:
    """A BM25 index: ``LexicalIndex.build(texts)``, then ``scores(query)`` for every passage."""

    VERSION = f"bm25s-k{K1}-b{B}-{TOKENIZER_VERSION}"
    """What the index's scores depend on (part of the index key)."""

    def __init__(self, bm25: object, size: int) -> None:
        self._bm25 = bm25
        self.size = size

    @classmethod
    def build(cls, texts: Sequence[str], *, k1: float = K1, b: float = B) -> LexicalIndex:
        import bm25s

        bm25 = bm25s.BM25(k1=k1, b=b)
        tokens = [tokenize(t) for t in texts]
        if tokens and not any(tokens):  # no word at all (only emoji or symbols): bm25s needs one
            tokens[0] = [_NO_WORDS]
        bm25.index(tokens, show_progress=False)
        return cls(bm25, len(texts))

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every passage for ``query`` (zeros when it has no usable token)."""
        tokens = [t for t in tokenize(query) if t in self._bm25.vocab_dict]  # type: ignore[attr-defined]
        if not tokens or self.size == 0:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)  # type: ignore[attr-defined]

    def save(self, directory: Path) -> None:
        self._bm25.save(str(directory), allow_pickle=False, show_progress=False)  # type: ignore[attr-defined]

    @classmethod
    def load(cls, directory: Path, size: int) -> LexicalIndex:
        """Read an index saved by :meth:`save` over ``size`` texts: JSON and plain ``.npy`` arrays,
        never pickle. Raise :class:`ValueError` if its arrays do not make a BM25 index of ``size``."""
        import bm25s

        bm25 = bm25s.BM25.load(str(directory), allow_pickle=False, show_progress=False)
        scores, vocab = bm25.scores, bm25.vocab_dict
        data, indices, indptr = (np.asarray(scores[name]) for name in ("data", "indices", "indptr"))
        if (
            scores.get("num_docs") != size
            or not isinstance(vocab, dict)
            or sorted(vocab.values()) != list(range(len(vocab)))
            or indptr.ndim != 1
            or len(indptr) not in (len(vocab), len(vocab) + 1)  # bm25s adds "" after the columns
            or not (len(data) == len(indices) == (indptr[-1] if len(indptr) else -1))
            or (len(indptr) and indptr[0] != 0)
            or np.any(np.diff(indptr) < 0)
            or np.any((indices < 0) | (indices >= size))
            or not np.all(np.isfinite(data))
        ):
            raise ValueError(f"{directory}: the BM25 arrays do not make an index of {size} texts")
        return cls(bm25, size)
