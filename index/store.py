"""The passage index: passages, one FAISS index per embedder, and BM25; saved as files, no pickle.

Layout of a saved index directory (named by its key, see :meth:`IndexBuilder.key`)::

    manifest.json        key, settings, documents, passages, every other file's size (JSON)
    dense-<n>.faiss      faiss.write_index, one per embedder, rows in passage order
    bm25/                bm25s arrays (.npy) and vocabulary (.json)
    lexicon.json         English phrase -> Chinese terms of the documents (see index.lexicon)
    sentences.json       each sentence's passage row and document span
    bm25-sentences/      BM25 over single sentences (with their section path)
    sentence-dense-<n>.faiss   sentence vectors, for the embedders that also index sentences

A directory is written whole or not at all (see :meth:`PassageIndex.save`), and one that does
not check out on loading (missing or cut-short files, garbage, another key) is rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict
from enum import Enum
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from corpus.model import Document, format_section
from index import stages
from index.cache_files import CacheLock, fsync_tree, remove_leftovers, replace_directory, temporary_name
from index.chunking import ChunkSplitter, Passage
from index.embedders import Embedder
from index.embedding_cache import EmbeddingCache, ProgressCallback
from index.errors import IndexBuildError
from index.lexical import LexicalIndex
from index.lexicon import LEXICON_VERSION, BilingualLexicon, load_cedict
from index.sentences import SENTENCE_RULES_VERSION, sentence_spans

log = logging.getLogger(__name__)

FORMAT_VERSION = 5
PASSAGE_VECTORS = "pooled-sentences-v1"
"""The rule of :attr:`PassageVectors.POOLED` (part of the key of an index that pools)."""


class PassageVectors(str, Enum):
    """Where a passage's vector comes from, for an embedder that also embeds its sentences."""

    EMBEDDED = "embedded"
    """The passage embedded whole, beside its sentences (the default: see docs/benchmarks.md)."""
    POOLED = "pooled"
    """The mean of its sentences' vectors weighted by their length (:func:`pooled_vectors`): no
    text is embedded twice by one model, which halves e5's work, but the fitted ranking finds the
    right passage less often (docs/benchmarks.md)."""


EXACT_SEARCH_LIMIT = 100_000
"""Up to this many vectors are searched exactly (flat inner product); past it, with HNSW."""
HNSW_NEIGHBOURS = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128


def read_dense_index(path: Path) -> Any:
    """A saved FAISS index, read whole into memory. Never memory-mapped: a server that mapped it
    would die (SIGBUS) when another process truncated or rewrote the file under it."""
    import faiss

    index = faiss.read_index(str(path))
    if isinstance(index, faiss.IndexHNSW):
        index.hnsw.efSearch = HNSW_EF_SEARCH  # a search-time setting: set it again after loading
    return index


def write_dense_index(index: Any, path: Path) -> None:
    """``faiss.write_index``, its write errors (a full disk) raised as :class:`OSError`."""
    import faiss

    try:
        faiss.write_index(index, str(path))
    except RuntimeError as exc:
        raise OSError(f"FAISS could not write {path}: {exc}") from exc


def dense_index(vectors: np.ndarray) -> Any:
    """A FAISS inner-product index holding ``vectors``: exact while small, HNSW past
    :data:`EXACT_SEARCH_LIMIT` (its recall against exact search: ``benchmarks/scaling.py``)."""
    import faiss

    dim = int(vectors.shape[1])
    if len(vectors) <= EXACT_SEARCH_LIMIT:
        index = faiss.IndexFlatIP(dim)
    else:
        index = faiss.IndexHNSWFlat(dim, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def parsed_hash(document: Document) -> str:
    """Hash of the parsed text and its page map: a reader that parses the same file differently
    (a newer version) changes the passages, so the index must be rebuilt."""
    return hashlib.sha256(f"{document.text}\x1f{document.pages}".encode()).hexdigest()[:16]


MANIFEST = "manifest.json"


def pooled_vectors(
    vectors: np.ndarray, rows: np.ndarray, weights: np.ndarray, count: int
) -> tuple[np.ndarray, np.ndarray]:
    """``count`` unit vectors, row ``i`` the ``weights``-weighted mean of the ``vectors`` whose
    ``rows`` entry is ``i``; and which rows had any (the others are zero)."""
    out = np.zeros((count, vectors.shape[1] if vectors.ndim == 2 else 0), dtype=np.float32)
    if len(vectors):
        np.add.at(out, rows, vectors * weights[:, None])
    norms = np.linalg.norm(out, axis=1)
    covered = norms > 0
    out[covered] /= norms[covered, None]
    return out, covered


HEADER_MODES = ("none", "section", "title+section")


def embedding_text(passage: Passage, document: Document, header: str, text: str | None = None) -> str:
    """What is embedded for a passage (or ``text``, one of its sentences): optionally its section
    path (and title) above it."""
    body = passage.content if text is None else text
    if header == "none":
        return body
    parts = [document.title] if header == "title+section" else []
    parts.extend(s for s in passage.section if s not in body)
    if not parts:
        return body
    return f"{format_section(tuple(parts))}\n{body}"


@runtime_checkable
class PassageStore(Protocol):
    """What retrieval asks of a passage index: the whole contract an adapter to another engine
    (Qdrant, OpenSearch, Elasticsearch; see docs/scaling.md) has to meet.

    Rows are positions in ``passages``; every search returns ``(row, score)`` pairs, best first.
    ``doc_ids`` restricts a search to the passages of those documents before the ``k`` best are
    taken (an engine's filter on the ``doc_id`` payload); ``None`` searches them all.
    """

    passages: list[Passage]
    lexicon: BilingualLexicon
    dense: Mapping[str, Any]
    """Embedder name -> its passage vectors (the names are what retrievers check)."""
    sentence_dense: Mapping[str, Any]
    """Embedder name -> its sentence vectors."""

    def row(self, passage_id: str) -> int | None: ...

    def search_dense(
        self, embedder_name: str, query: np.ndarray, k: int, doc_ids: Collection[str] | None = None
    ) -> list[tuple[int, float]]: ...

    def search_sentences(
        self, embedder_name: str, query: np.ndarray, k: int, doc_ids: Collection[str] | None = None
    ) -> list[tuple[int, float]]: ...

    def search_lexical(self, query: str, k: int, doc_ids: Collection[str] | None = None) -> list[tuple[int, float]]: ...

    def search_lexical_sentences(
        self, query: str, k: int, doc_ids: Collection[str] | None = None
    ) -> list[tuple[int, float]]: ...

    def sentence_vectors(self, embedder_name: str, rows: Sequence[int]) -> dict[tuple[int, int], np.ndarray]: ...


class PassageIndex:
    """Passages with their dense (FAISS, inner product on normalised vectors) and BM25 indexes, on
    one machine: the :class:`PassageStore` the assistant uses by default."""

    def __init__(
        self,
        passages: Sequence[Passage],
        dense: dict[str, Any],
        lexical: LexicalIndex,
        manifest: dict[str, Any],
        lexicon: BilingualLexicon | None = None,
        sentences: np.ndarray | None = None,
        sentence_dense: dict[str, Any] | None = None,
        sentence_lexical: LexicalIndex | None = None,
    ) -> None:
        self.passages = list(passages)
        self.dense = dense
        self.lexical = lexical
        self.manifest = manifest
        self.lexicon = lexicon or BilingualLexicon()
        self.sentences = np.zeros((0, 3), dtype=np.int64) if sentences is None else sentences
        """One row per sentence: passage row, start, end (document offsets), in passage order."""
        self.sentence_dense = sentence_dense or {}
        self.sentence_lexical = sentence_lexical
        self._row = {p.id: i for i, p in enumerate(self.passages)}
        doc_of_row = np.array([p.doc_id for p in self.passages], dtype=object)
        self._doc_rows = {d: np.flatnonzero(doc_of_row == d) for d in dict.fromkeys(doc_of_row.tolist())}

    def rows_of(self, doc_ids: Collection[str]) -> np.ndarray:
        """The rows of the passages of these documents, in order (unknown ids have none)."""
        parts = [self._doc_rows[d] for d in doc_ids if d in self._doc_rows]
        return np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)

    @property
    def key(self) -> str:
        return str(self.manifest["key"])

    def row(self, passage_id: str) -> int | None:
        return self._row.get(passage_id)

    def search_dense(
        self, embedder_name: str, query: np.ndarray, k: int, doc_ids: Collection[str] | None = None
    ) -> list[tuple[int, float]]:
        """Rows and cosine scores of the ``k`` nearest passages (of the documents ``doc_ids``)."""
        rows = None if doc_ids is None else self.rows_of(doc_ids)
        return self._search(self.dense[embedder_name], query, k, rows)

    def search_sentences(
        self, embedder_name: str, query: np.ndarray, k: int, doc_ids: Collection[str] | None = None
    ) -> list[tuple[int, float]]:
        """Passage rows and scores by their best sentence among the ``k`` nearest sentences."""
        sentences = None
        if doc_ids is not None:
            sentences = np.flatnonzero(np.isin(self.sentences[:, 0], self.rows_of(doc_ids)))
        best: dict[int, float] = {}
        for sentence, score in self._search(self.sentence_dense[embedder_name], query, k, sentences):
            row = int(self.sentences[sentence, 0])
            if row not in best:
                best[row] = score
        return list(best.items())

    def sentence_vectors(self, embedder_name: str, rows: Sequence[int]) -> dict[tuple[int, int], np.ndarray]:
        """The stored vectors of the sentences of passages ``rows``, keyed by document span."""
        index = self.sentence_dense.get(embedder_name)
        if index is None:
            return {}
        wanted = np.flatnonzero(np.isin(self.sentences[:, 0], list(rows)))
        return {(int(self.sentences[i, 1]), int(self.sentences[i, 2])): index.reconstruct(int(i)) for i in wanted}

    @staticmethod
    def _search(index: Any, query: np.ndarray, k: int, ids: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The ``k`` nearest vectors, among ``ids`` if given: every one of them scored exactly while
        there are at most :data:`EXACT_SEARCH_LIMIT`, else through a FAISS selector."""
        import faiss

        k = min(k, index.ntotal if ids is None else len(ids))
        if k <= 0:
            return []
        query = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        if ids is None:
            scores, rows = index.search(query, k)
        elif len(ids) <= EXACT_SEARCH_LIMIT:
            exact = index.reconstruct_batch(np.asarray(ids, dtype=np.int64)) @ query[0]
            top = np.argsort(-exact, kind="stable")[:k]
            return [(int(ids[i]), float(exact[i])) for i in top]
        else:
            selector = faiss.IDSelectorBatch(np.asarray(ids, dtype=np.int64))
            params = (
                faiss.SearchParametersHNSW(sel=selector, efSearch=HNSW_EF_SEARCH)
                if isinstance(index, faiss.IndexHNSW)
                else faiss.SearchParameters(sel=selector)
            )
            scores, rows = index.search(query, k, params=params)
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0]

    def search_lexical_sentences(
        self, query: str, k: int, doc_ids: Collection[str] | None = None
    ) -> list[tuple[int, float]]:
        """Passage rows and the BM25 score of their best sentence, for the ``k`` best passages."""
        if self.sentence_lexical is None or not len(self.sentences):
            return []
        scores = self.sentence_lexical.scores(query)
        best = np.zeros(len(self.passages), dtype=np.float32)
        np.maximum.at(best, self.sentences[:, 0], scores)
        return self._top(best, k, doc_ids)

    def search_lexical(self, query: str, k: int, doc_ids: Collection[str] | None = None) -> list[tuple[int, float]]:
        """Rows and BM25 scores of the ``k`` best passages with a score above zero."""
        return self._top(self.lexical.scores(query), k, doc_ids)

    def _top(self, scores: np.ndarray, k: int, doc_ids: Collection[str] | None) -> list[tuple[int, float]]:
        """The ``k`` best rows by ``scores`` (one per passage) with a score above zero."""
        if k <= 0 or not len(scores):
            return []
        if doc_ids is not None:
            kept = np.zeros(len(scores), dtype=bool)
            kept[self.rows_of(doc_ids)] = True
            scores = np.where(kept, scores, 0)
        top = np.argsort(-scores, kind="stable")[:k]
        return [(int(r), float(scores[r])) for r in top if scores[r] > 0]

    def save(self, directory: Path) -> None:
        """Write the index to ``directory``, whole or not at all.

        The files go to a temporary sibling, the manifest (with every other file's size) last; the
        sibling is flushed to disk and renamed into place. An index already there is moved aside
        first and removed after. Should another process rename an index into place in between (the
        same key: the same content), it is kept and ours discarded. A read-only or full disk raises
        :class:`OSError` and leaves nothing behind.
        """
        directory.parent.mkdir(parents=True, exist_ok=True)
        tmp = temporary_name(directory)
        try:
            tmp.mkdir()
            for i, name in enumerate(self.manifest["embedders"]):
                write_dense_index(self.dense[name], tmp / f"dense-{i}.faiss")
            self.lexical.save(tmp / "bm25")
            if self.sentence_lexical is not None:
                self.sentence_lexical.save(tmp / "bm25-sentences")
            (tmp / "lexicon.json").write_text(json.dumps(self.lexicon.to_dict(), ensure_ascii=False), "utf-8")
            (tmp / "sentences.json").write_text(json.dumps(self.sentences.tolist()), "utf-8")
            for i, name in enumerate(self.manifest.get("sentence_embedders", [])):
                write_dense_index(self.sentence_dense[name], tmp / f"sentence-dense-{i}.faiss")
            files = {p.relative_to(tmp).as_posix(): p.stat().st_size for p in sorted(tmp.rglob("*")) if p.is_file()}
            manifest = dict(self.manifest, files=files, passages=[asdict(p) for p in self.passages])
            (tmp / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False), "utf-8")
            fsync_tree(tmp)
            replace_directory(tmp, directory)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    @classmethod
    def load(cls, directory: Path, expected_key: str | None = None) -> PassageIndex:
        """Read an index written by :meth:`save`; raise :class:`IndexBuildError` if it is unusable:
        a file missing or not the size the manifest gives, garbage in one, another key or format."""
        try:
            manifest = _read_json(directory, MANIFEST)
            if not isinstance(manifest, dict):
                raise IndexBuildError(f"{directory}: {MANIFEST} is not an index manifest")
            if manifest.get("format") != FORMAT_VERSION:
                raise IndexBuildError(f"{directory}: index format {manifest.get('format')} is not {FORMAT_VERSION}")
            if expected_key is not None and manifest.get("key") != expected_key:
                raise IndexBuildError(f"{directory}: the manifest does not match the documents and settings")
            _check_file_sizes(directory, manifest.get("files"))
            passages = [
                Passage(**dict(p, section=tuple(p["section"]), footnotes=tuple(p["footnotes"])))
                for p in manifest.pop("passages")
            ]
            dense = {
                name: read_dense_index(directory / f"dense-{i}.faiss") for i, name in enumerate(manifest["embedders"])
            }
            lexical = LexicalIndex.load(directory / "bm25", len(passages))
            lexicon = _read_json(directory, "lexicon.json")
            if not isinstance(lexicon, dict) or not all(
                isinstance(terms, list) and all(isinstance(t, str) for t in terms) for terms in lexicon.values()
            ):
                raise IndexBuildError(f"{directory}: lexicon.json is not a lexicon")
            sentences = _read_sentences(directory, len(passages))
            sentence_lexical = LexicalIndex.load(directory / "bm25-sentences", len(sentences))
            sentence_dense = {
                name: read_dense_index(directory / f"sentence-dense-{i}.faiss")
                for i, name in enumerate(manifest.get("sentence_embedders", []))
            }
        except IndexBuildError:
            raise
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RuntimeError) as exc:
            raise IndexBuildError(f"{directory}: the cached index cannot be read ({exc})") from exc
        if any(index.ntotal != len(passages) for index in dense.values()) or any(
            index.ntotal != len(sentences) for index in sentence_dense.values()
        ):
            raise IndexBuildError(f"{directory}: the cached vectors do not match the passages")
        return cls(
            passages, dense, lexical, manifest, BilingualLexicon(lexicon), sentences, sentence_dense, sentence_lexical
        )


def _read_sentences(directory: Path, passages: int) -> np.ndarray:
    """``sentences.json``: ``(passage row, start, end)`` of each sentence, checked against the passages."""
    sentences = np.array(_read_json(directory, "sentences.json"), dtype=np.int64)
    sentences = sentences.reshape(-1, 3) if sentences.size == 0 else sentences
    if (
        sentences.ndim != 2
        or sentences.shape[1] != 3
        or np.any((sentences[:, 0] < 0) | (sentences[:, 0] >= passages))
        or not np.all(sentences[:, 1] < sentences[:, 2])
    ):
        raise IndexBuildError(f"{directory}: sentences.json does not match the passages")
    return sentences


def _read_json(directory: Path, name: str) -> Any:
    try:
        return json.loads((directory / name).read_text("utf-8"))
    except FileNotFoundError:
        raise IndexBuildError(f"{directory}: {name} is missing") from None
    except ValueError as exc:  # not UTF-8, not JSON
        raise IndexBuildError(f"{directory}: {name} is damaged ({exc})") from exc


def _check_file_sizes(directory: Path, files: object) -> None:
    """Every file the manifest lists is there, at the size it was written (a cut-short file is not)."""
    if not isinstance(files, dict) or not files:
        raise IndexBuildError(f"{directory}: the manifest does not list the index's files")
    for name, size in files.items():
        path = Path(name)
        if path.is_absolute() or ".." in path.parts:
            raise IndexBuildError(f"{directory}: the manifest lists a file outside the index ({name})")
        try:
            actual = (directory / path).stat().st_size
        except FileNotFoundError:
            raise IndexBuildError(f"{directory}: {name} is missing") from None
        if actual != size:
            raise IndexBuildError(f"{directory}: {name} has {actual} bytes, not the {size} written")


class IndexBuilder:
    """Chunk, embed (with an embedding cache) and index documents.

    ``header`` chooses what is embedded above each passage: ``"none"``, ``"section"`` (its
    section path) or ``"title+section"``.
    """

    def __init__(
        self,
        splitter: ChunkSplitter,
        embedders: Sequence[Embedder],
        *,
        header: str = "section",
        embedding_cache: EmbeddingCache | None = None,
        dictionary: bool = True,
        sentence_embedders: Sequence[str] = (),
        passage_vectors: PassageVectors | str = PassageVectors.EMBEDDED,
    ) -> None:
        """``dictionary``: also put CC-CEDICT entries that the documents use in the lexicon;
        ``sentence_embedders``: names of the embedders that also embed each sentence;
        ``passage_vectors``: where their passage vectors come from (:class:`PassageVectors`)."""
        if header not in HEADER_MODES:
            raise ValueError(f"header must be one of {HEADER_MODES}, got {header!r}")
        names = [e.name for e in embedders]
        if len(set(names)) != len(names):
            raise ValueError(f"embedders must differ, got {names}")
        self.splitter = splitter
        self.embedders = list(embedders)
        self.header = header
        self.embedding_cache = embedding_cache or EmbeddingCache(None)
        self.dictionary = dictionary
        unknown = set(sentence_embedders) - set(names)
        if unknown:
            raise ValueError(f"sentence_embedders must be among the embedders {names}, got {sorted(unknown)}")
        self.sentence_embedders = [n for n in names if n in set(sentence_embedders)]
        try:
            self.passage_vectors = PassageVectors(passage_vectors)
        except ValueError:
            choices = [v.value for v in PassageVectors]
            raise ValueError(f"passage_vectors must be one of {choices}, got {passage_vectors!r}") from None

    def key(self, documents: Sequence[Document]) -> str:
        """Hash of everything the index depends on: documents, chunking, embedders, format."""
        spec = {
            "format": FORMAT_VERSION,
            "documents": [[d.id, d.content_hash, parsed_hash(d)] for d in documents],
            "splitter": self.splitter.settings,
            "embedders": [e.name for e in self.embedders],
            "header": self.header,
            "lexical": f"{LexicalIndex.VERSION}+sentences",
            "lexicon": f"pairs+cedict-{LEXICON_VERSION}" if self.dictionary else f"pairs-{LEXICON_VERSION}",
            "sentence_embedders": self.sentence_embedders,
            "sentences": SENTENCE_RULES_VERSION,
            **self.passage_vectors_rule,
        }
        return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:20]

    @property
    def passage_vectors_rule(self) -> dict[str, str]:
        """What the passage vectors of the sentence embedders are, for the index key (nothing when
        they are embedded, as before there was a choice, so such indexes keep their key)."""
        return {"passage_vectors": PASSAGE_VECTORS} if self.passage_vectors is PassageVectors.POOLED else {}

    def embed(
        self,
        passage_texts: Sequence[str],
        sentence_texts: Sequence[str],
        sentence_spans: np.ndarray,
        progress: ProgressCallback | None = None,
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Passage and sentence vectors by embedder name; ``sentence_spans``: ``(passage, start,
        end)`` of each sentence, its passage an index into ``passage_texts``. An embedder that
        embeds sentences gives each passage the pooled vector of its sentences
        (:func:`pooled_vectors`) and embeds only a passage that has none; the others embed
        passages only."""
        passages: dict[str, np.ndarray] = {}
        sentences: dict[str, np.ndarray] = {}
        rows = sentence_spans[:, 0]
        lengths = (sentence_spans[:, 2] - sentence_spans[:, 1]).astype(np.float32)
        pooling = self.passage_vectors is PassageVectors.POOLED
        for embedder in self.embedders:
            if embedder.name not in self.sentence_embedders or not pooling:
                passages[embedder.name] = self.embedding_cache.embed(
                    embedder, passage_texts, progress, label=stages.embedding_passages(embedder.name)
                )
        for embedder in self.embedders:
            if embedder.name not in self.sentence_embedders:
                continue
            sentences[embedder.name] = self.embedding_cache.embed(
                embedder, sentence_texts, progress, label=stages.embedding_sentences(embedder.name)
            )
            if pooling:
                pooled, covered = pooled_vectors(sentences[embedder.name], rows, lengths, len(passage_texts))
                bare = np.flatnonzero(~covered)
                if len(bare):
                    pooled[bare] = self.embedding_cache.embed(
                        embedder,
                        [passage_texts[i] for i in bare],
                        progress,
                        label=stages.embedding_passages(embedder.name),
                    )
                passages[embedder.name] = pooled
        passages = {e.name: passages[e.name] for e in self.embedders}  # in the embedders' order
        return passages, sentences

    def texts(self, documents: Sequence[Document]) -> tuple[list[Passage], list[str], np.ndarray, list[str]]:
        """The passages of ``documents``, what is embedded for each, their sentences (``(passage,
        start, end)`` rows) and what is embedded for each sentence."""
        passages = self.splitter.run(list(documents))
        by_id = {d.id: d for d in documents}
        texts = [embedding_text(p, by_id[p.doc_id], self.header) for p in passages]
        sentences = np.array(
            [(row, p.start + a, p.start + b) for row, p in enumerate(passages) for a, b in sentence_spans(p.content)],
            dtype=np.int64,
        ).reshape(-1, 3)
        sentence_texts = []
        for row, a, b in sentences.tolist():
            p = passages[row]
            sentence_texts.append(embedding_text(p, by_id[p.doc_id], self.header, p.content[a - p.start : b - p.start]))
        return passages, texts, sentences, sentence_texts

    def run(self, documents: Sequence[Document], progress: ProgressCallback | None = None) -> PassageIndex:
        """Build the index of ``documents`` in memory; ``progress`` hears each stage (see :mod:`index.stages`)."""
        report = progress or stages.silent
        report(stages.SPLITTING, 0, 0)
        passages, texts, sentences, sentence_texts = self.texts(documents)
        if not passages:
            raise IndexBuildError("the documents contain no text to index")
        sentence_bodies = [
            passages[row].content[a - passages[row].start : b - passages[row].start] for row, a, b in sentences.tolist()
        ]
        vectors, sentence_vectors = self.embed(texts, sentence_texts, sentences, progress)
        dense = {name: dense_index(v) for name, v in vectors.items()}
        sentence_dense = {name: dense_index(v) for name, v in sentence_vectors.items()}
        report(stages.INDEXING_WORDS, 0, 0)
        lexical = LexicalIndex.build([f"{format_section(p.section)}\n{p.content}" for p in passages])
        sentence_lexical = LexicalIndex.build(
            [
                f"{format_section(passages[row].section)}\n{text}"
                for (row, _, _), text in zip(sentences.tolist(), sentence_bodies, strict=True)
            ]
        )
        report(stages.BUILDING_LEXICON, 0, 0)
        lexicon = BilingualLexicon.build([d.text for d in documents], load_cedict() if self.dictionary else None)
        manifest = {
            "format": FORMAT_VERSION,
            "key": self.key(documents),
            "embedders": [e.name for e in self.embedders],
            "splitter": self.splitter.settings,
            "header": self.header,
            "sentence_embedders": self.sentence_embedders,
            "documents": [
                {"id": d.id, "title": d.title, "source": d.source, "content_hash": d.content_hash} for d in documents
            ],
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        return PassageIndex(passages, dense, lexical, manifest, lexicon, sentences, sentence_dense, sentence_lexical)


def load_or_build(
    documents: Sequence[Document],
    builder: IndexBuilder,
    index_root: Path | None,
    *,
    rebuild: bool = False,
    progress: ProgressCallback | None = None,
) -> tuple[PassageIndex, bool]:
    """The cached index for these documents and settings, built (and saved) if missing.

    Returns ``(index, built)``. A cached index that cannot be used is rebuilt. Builders of the same
    index take turns (a lock file beside it): one builds, the others wait and load what it saved.
    A cache directory that cannot be written (read-only, full) only costs the saving: the index is
    used from memory, with a logged warning.
    """
    key = builder.key(documents)
    if index_root is None:
        return builder.run(documents, progress), True
    report = progress or stages.silent
    directory = index_root / key
    damage = None
    if not rebuild:
        report(stages.LOADING_INDEX, 0, 0)
        cached, damage = _load_cached(directory, key)
        if cached is not None:
            return cached, False
        report(stages.WAITING_FOR_BUILDER, 0, 0)  # the lock is held while another process builds
    with CacheLock(index_root / f".{key}.lock") as held:
        if held:
            remove_leftovers(directory)  # of a process that died saving
            if not rebuild:
                cached, damage = _load_cached(directory, key)  # another process may have built it meanwhile
                if cached is not None:
                    return cached, False
        if damage is not None:
            log.warning("%s; rebuilding it", damage)
        index = builder.run(documents, progress)
        report(stages.SAVING_INDEX, 0, 0)
        try:
            index.save(directory)
        except OSError as exc:
            log.warning("the index could not be saved in %s (%s); using it from memory", index_root, exc)
    return index, True


def _load_cached(directory: Path, key: str) -> tuple[PassageIndex | None, IndexBuildError | None]:
    """The index saved in ``directory`` if there is a usable one; else why not (``None`` if absent)."""
    if not (directory / MANIFEST).exists():
        return None, None
    try:
        return PassageIndex.load(directory, expected_key=key), None
    except IndexBuildError as exc:
        return None, exc
