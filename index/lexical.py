"""BM25 over :func:`index.tokenize.tokenize` tokens, as ``bm25s`` builds it (its Lucene variant, the
same float32 scores), saved in its format (plain ``.npy`` arrays and JSON, no pickle, which
``bm25s.BM25.load`` reads), and built and scored with numpy alone: neither building nor answering
imports ``bm25s`` or SciPy (a quarter of a second where SciPy is installed)."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np

from index.tokenize import TOKENIZER_VERSION, tokenize

K1, B = 1.2, 0.75
"""BM25's term-frequency saturation and length normalisation (bm25s's Lucene variant)."""

_NO_WORDS = "\x00"
"""Stands in for the vocabulary of texts without a single token; no query produces it."""


class LexicalIndex:
    """A BM25 index: ``LexicalIndex.build(texts)``, then ``scores(query)`` for every passage.

    Held as bm25s's eager score matrix in compressed sparse columns: column ``t`` (``indptr[t]`` to
    ``indptr[t + 1]``) lists the texts that hold token ``t`` (``indices``) with its BM25 score in
    each (``data``); a question's score for a text is the sum over its tokens.
    """

    VERSION = f"bm25s-k{K1}-b{B}-{TOKENIZER_VERSION}"
    """What the index's scores depend on (part of the index key)."""

    FILES: ClassVar[dict[str, str]] = {
        "data": "data.csc.index.npy",
        "indices": "indices.csc.index.npy",
        "indptr": "indptr.csc.index.npy",
    }
    VOCABULARY = "vocab.index.json"
    PARAMETERS = "params.index.json"

    def __init__(
        self,
        data: np.ndarray,
        indices: np.ndarray,
        indptr: np.ndarray,
        vocabulary: Mapping[str, int],
        size: int,
        parameters: Mapping[str, object] | None = None,
    ) -> None:
        """Raise :class:`ValueError` unless the arrays make a BM25 index of ``size`` texts."""
        if (
            indptr.ndim != 1
            or sorted(vocabulary.values()) != list(range(len(vocabulary)))
            or len(indptr) not in (len(vocabulary), len(vocabulary) + 1)  # bm25s adds "" after the columns
            or not (len(data) == len(indices) == (indptr[-1] if len(indptr) else -1))
            or (len(indptr) and indptr[0] != 0)
            or np.any(np.diff(indptr) < 0)
            or np.any((indices < 0) | (indices >= size))
            or not np.all(np.isfinite(data))
        ):
            raise ValueError(f"the BM25 arrays do not make an index of {size} texts")
        self.data = np.asarray(data, dtype=np.float32)
        self.indices = np.asarray(indices)
        self.indptr = np.asarray(indptr)
        self.vocabulary = dict(vocabulary)
        self.size = size
        self.parameters = dict(parameters or {"k1": K1, "b": B, "method": "lucene", "num_docs": size})

    @classmethod
    def build(cls, texts: Sequence[str], *, k1: float = K1, b: float = B) -> LexicalIndex:
        """The index of ``texts``: bm25s's eager Lucene BM25 (``bm25s.BM25(k1, b).index``), the
        same float32 scores computed in the same order, held by token column."""
        tokens = [tokenize(t) for t in texts]
        if tokens and not any(tokens):  # no word at all (only emoji or symbols): keep one column
            tokens[0] = [_NO_WORDS]
        vocabulary: dict[str, int] = {}
        rows: list[int] = []  # (text, token, count) of each token a text holds
        columns: list[int] = []
        counts: list[int] = []
        for row, text_tokens in enumerate(tokens):
            for token, count in Counter(text_tokens).items():
                rows.append(row)
                columns.append(vocabulary.setdefault(token, len(vocabulary)))
                counts.append(count)
        lengths = np.array([len(t) for t in tokens], dtype=np.int64)
        average = lengths.mean() if len(lengths) else 1.0
        frequencies = np.bincount(np.array(columns, dtype=np.int64), minlength=len(vocabulary))
        idf = np.array([math.log(1 + (len(texts) - f + 0.5) / (f + 0.5)) for f in frequencies.tolist()], np.float32)
        row_of, column_of = np.array(rows, dtype=np.int32), np.array(columns, dtype=np.int32)
        tf = np.array(counts, dtype=np.float32)
        scores = (idf[column_of] * (tf / (k1 * ((1 - b) + b * lengths[row_of] / average) + tf))).astype(np.float32)
        order = np.argsort(column_of, kind="stable")  # by column, texts in order within each
        indptr = np.zeros(len(vocabulary) + 1, dtype=np.int32)
        np.cumsum(frequencies, out=indptr[1:])
        vocabulary.setdefault("", len(vocabulary))  # bm25s's empty token, after the columns
        parameters = {
            "k1": k1,
            "b": b,
            "delta": 0.5,
            "method": "lucene",
            "idf_method": "lucene",
            "dtype": "float32",
            "int_dtype": "int32",
            "num_docs": len(texts),
            "backend": "numpy",
        }
        return cls(scores[order], row_of[order], indptr, vocabulary, len(texts), parameters)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every passage for ``query`` (zeros when it has no usable token); a token
        the query repeats counts as often as it is repeated, as in bm25s."""
        out = np.zeros(self.size, dtype=np.float32)
        for token in tokenize(query):
            column = self.vocabulary.get(token)
            if column is not None:
                start, end = self.indptr[column], self.indptr[column + 1]
                np.add.at(out, self.indices[start:end], self.data[start:end])
        return out

    def save(self, directory: Path) -> None:
        """Write the index in bm25s's format (``bm25s.BM25.load`` reads it)."""
        directory.mkdir(parents=True, exist_ok=True)
        for name, file in self.FILES.items():
            np.save(directory / file, getattr(self, name), allow_pickle=False)
        (directory / self.VOCABULARY).write_text(json.dumps(self.vocabulary, ensure_ascii=False), "utf-8")
        (directory / self.PARAMETERS).write_text(json.dumps(self.parameters, indent=4), "utf-8")

    @classmethod
    def load(cls, directory: Path, size: int) -> LexicalIndex:
        """Read an index saved by :meth:`save` over ``size`` texts. Raise :class:`ValueError` if
        its files are missing, unreadable, or their arrays do not make a BM25 index of ``size``."""
        try:
            arrays = {name: np.load(directory / file, allow_pickle=False) for name, file in cls.FILES.items()}
            vocabulary = json.loads((directory / cls.VOCABULARY).read_text("utf-8"))
            parameters = json.loads((directory / cls.PARAMETERS).read_text("utf-8"))
        except (OSError, ValueError, EOFError) as exc:
            raise ValueError(f"{directory}: the BM25 index cannot be read ({exc})") from exc
        if not isinstance(vocabulary, dict) or not isinstance(parameters, dict) or parameters.get("num_docs") != size:
            raise ValueError(f"{directory}: the BM25 files do not make an index of {size} texts")
        try:
            return cls(arrays["data"], arrays["indices"], arrays["indptr"], vocabulary, size, parameters)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{directory}: {exc}") from exc
