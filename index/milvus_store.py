"""The passage index on Milvus: the same :class:`~index.store.PassageStore`, embedded (Milvus Lite,
one ``.db`` file) or on a Milvus server or cluster, through pymilvus (``pip install ".[milvus]"``).

One index (a set of documents under one set of settings) is five Milvus collections, named
``pqa_<scope>_<settings>_<part>``:

    p    passages: key, doc_id, one dense field per embedder (inner product on normalised vectors)
    s    sentences: key, passage key, doc_id, start, end, one dense field per sentence embedder
    lp   BM25 of the passages: key, doc_id, sparse vector
    ls   BM25 of the sentences: key, passage key, doc_id, sparse vector
    m    bookkeeping: the settings, each document's key and state, the lengths the BM25 rows were
         written with

BM25 is ours, not Milvus's (whose analyzers cut Chinese into jieba words): a row's sparse vector
holds the term-frequency part of each of its :func:`index.tokenize.tokenize` tokens, the question's
holds the tokens' IDF, so the engine's inner product is the BM25 score ``bm25s`` gives (see
:class:`Bm25Weights`). The lexical rows sit apart from the vectors because a change of the mean
length rewrites them, never the vectors (docs/scaling.md).

The client keeps what it always kept: the passages (chunked again from the documents, which is
cheap), the lexicon, and the document frequencies of the tokens (for the question's IDF).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import math
import os
import tempfile
import threading
import warnings
import weakref
from collections import Counter
from collections.abc import Collection, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from corpus.model import Document, format_section
from index import stages
from index.cache_files import write_file_atomically
from index.chunking import Passage
from index.embedding_cache import ProgressCallback
from index.errors import IndexBuildError, MissingPackageError
from index.lexical import K1, B
from index.lexicon import LEXICON_VERSION, BilingualLexicon, load_cedict
from index.locations import EMBEDDED_INDEX_TYPES, INDEX_TYPES
from index.sentences import SENTENCE_RULES_VERSION, sentence_spans
from index.store import IndexBuilder, embedding_text, parsed_hash
from index.tokenize import TOKENIZER_VERSION, tokenize

log = logging.getLogger(__name__)

MILVUS_FORMAT = 1
INDEX_BUILD_PARAMS: dict[str, dict[str, int]] = {
    "FLAT": {},
    "IVF_FLAT": {"nlist": 1024},
    "HNSW": {"M": 32, "efConstruction": 80},
    "AUTOINDEX": {},
}
INDEX_SEARCH_PARAMS: dict[str, dict[str, int]] = {
    "FLAT": {},
    "IVF_FLAT": {"nprobe": 32},
    "HNSW": {"ef": 128},
    "AUTOINDEX": {},
}
MAX_LIMIT = 16_384
"""Milvus's largest ``limit`` (top k) of one search."""
BATCH_ROWS = 512
"""Rows per insert: well under gRPC's 64 MB a message with two dense fields."""
KEY_CHARS = 40
DOC_ID_CHARS = 1024
INFO_CHARS = 65_535
SPEC_ROW = "~settings"
LENGTHS_ROW = "~lengths"
WRITING, COMPLETE = "writing", "complete"
_SERVERS: Counter[str] = Counter()
"""Embedded store files this process has open, and how many connections use each."""
_SERVERS_LOCK = threading.Lock()


def _import_pymilvus() -> Any:
    """pymilvus, or :class:`MissingPackageError` naming the extra to install."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # milvus-lite 2.5.1 imports pkg_resources, deprecated
            import pymilvus

            with contextlib.suppress(ImportError):  # the embedded engine; a server needs only pymilvus
                import milvus_lite  # noqa: F401
    except ImportError as exc:
        raise MissingPackageError(
            f"the Milvus store needs pymilvus and milvus-lite ({exc}); install them with: pip install "
            '"peninsula-qa[milvus]"'
        ) from None
    for name in ("pymilvus", "milvus_lite"):  # their errors become ours, one line each
        logging.getLogger(name).setLevel(logging.CRITICAL)
    return pymilvus


def row_key(*parts: object) -> str:
    """A 40-hex-digit key (passage ids are 8 characters: too short to stay unique at 10^6)."""
    return hashlib.sha1("\x1f".join(map(str, parts)).encode()).hexdigest()


def passage_key(passage: Passage, document: Document) -> str:
    return row_key(passage.doc_id, document.content_hash, parsed_hash(document), passage.start, passage.end)


def document_key(document: Document) -> str:
    """What a document's rows depend on besides the settings: its content and how it parsed."""
    return f"{document.content_hash}:{parsed_hash(document)}"


def quoted(value: str) -> str:
    """``value`` as a string literal of a Milvus filter expression."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def token_dimension(token: Hashable) -> int:
    """The sparse dimension of a token: its own value if it is a number (the scaling benchmark's
    synthetic tokens), else 32 bits of its BLAKE2 hash. Two tokens of one vocabulary share a
    dimension with probability ~V²/2^33 (V = 20,000: 5%); :class:`Bm25Weights` logs it when so."""
    if isinstance(token, (int, np.integer)):
        return int(token)
    digest = hashlib.blake2b(str(token).encode(), digest_size=4).digest()
    return int.from_bytes(digest, "little") % (2**32 - 1)


def sparse_row(vector: Mapping[int, float]) -> Any:
    """A sparse vector as a one-row SciPy matrix, which pymilvus packs ~10× faster than a dict."""
    from scipy.sparse import csr_array

    indices = np.fromiter(vector.keys(), dtype=np.int64, count=len(vector))
    values = np.fromiter(vector.values(), dtype=np.float32, count=len(vector))
    order = np.argsort(indices)
    return csr_array((values[order], indices[order], [0, len(vector)]), shape=(1, 2**32 - 1))


class Bm25Weights:
    """BM25 split between a row and a question, so that their inner product is the score
    ``bm25s.BM25(k1, b)`` (Lucene variant) gives::

        row:      w(t) = tf / (tf + k1 · (1 - b + b · len / avgdl))
        question: q(t) = count(t) · log(1 + (N - df(t) + 0.5) / (df(t) + 0.5))

    ``N``, ``df`` and ``avgdl`` are over all rows; the question carries what changes with every
    document added (``N``, ``df``), the rows only the mean length (see docs/scaling.md).
    """

    def __init__(self, token_lists: Iterable[Sequence[Hashable]], *, k1: float = K1, b: float = B) -> None:
        if k1 <= 0 or not 0 <= b <= 1:
            raise ValueError(f"BM25 needs k1 > 0 and 0 <= b <= 1, got k1={k1}, b={b}")
        self.k1 = k1
        self.b = b
        self.df: Counter[Hashable] = Counter()
        self.rows = 0
        self.tokens = 0
        for tokens in token_lists:
            self.rows += 1
            self.tokens += len(tokens)
            self.df.update(set(tokens))
        dimensions: dict[int, Hashable] = {}
        for token in self.df:
            other = dimensions.setdefault(token_dimension(token), token)
            if other != token:
                log.info("BM25 tokens %r and %r share a sparse dimension; their scores add up", other, token)

    @property
    def mean_length(self) -> float:
        return self.tokens / self.rows if self.rows else 1.0

    def row(self, tokens: Sequence[Hashable], mean_length: float | None = None) -> dict[int, float]:
        """A row's sparse vector, its length set against ``mean_length`` (default: this corpus's)."""
        avgdl = mean_length or self.mean_length
        norm = self.k1 * (1 - self.b + self.b * len(tokens) / avgdl)
        vector: dict[int, float] = {}
        for token, tf in Counter(tokens).items():
            dim = token_dimension(token)
            vector[dim] = vector.get(dim, 0.0) + tf / (tf + norm)
        return vector

    def query(self, tokens: Sequence[Hashable]) -> dict[int, float]:
        """The question's sparse vector: each token the rows hold, times its IDF."""
        vector: dict[int, float] = {}
        for token in tokens:
            df = self.df.get(token, 0)
            if df:
                dim = token_dimension(token)
                vector[dim] = vector.get(dim, 0.0) + math.log(1 + (self.rows - df + 0.5) / (df + 0.5))
        return vector


SERVER_TIMEOUT = 10.0
"""Seconds to wait for a Milvus server."""
EMBEDDED_START_TIMEOUT = 60.0
"""Seconds to wait for the embedded engine (Milvus Lite) to start."""


class MilvusConnection:
    """How to reach Milvus: ``uri`` is an embedded store's ``.db`` file or a server's
    ``http://host:port``; ``token`` its login (``user:password`` or an API key); ``log_dir``
    where Milvus Lite writes its own logs (default: a folder in the temporary directory, never
    the store's folder); ``timeout`` seconds to wait for a server, or for the embedded engine to
    start (by default 10 s for a server, 60 s for the embedded engine, which starts slowly on a busy
    machine)."""

    def __init__(self, uri: str, *, token: str = "", log_dir: Path | None = None, timeout: float | None = None) -> None:
        if not uri:
            raise ValueError("a Milvus connection needs a uri")
        self.embedded = uri.endswith(".db")
        timeout = (EMBEDDED_START_TIMEOUT if self.embedded else SERVER_TIMEOUT) if timeout is None else timeout
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self.uri = str(Path(uri).expanduser().resolve()) if self.embedded else uri
        self.token = token
        self.log_dir = log_dir or Path(tempfile.gettempdir()) / "peninsula-qa-milvus-logs"
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"MilvusConnection({self.uri!r})"

    @property
    def where(self) -> str:
        return f"the Milvus Lite store {self.uri}" if self.embedded else f"the Milvus server at {self.uri}"

    def open(self) -> Any:
        """A ``MilvusClient``; :class:`IndexBuildError` in one line when it cannot be had."""
        pymilvus = _import_pymilvus()
        if not self.embedded:
            try:
                return pymilvus.MilvusClient(uri=self.uri, token=self.token, timeout=self.timeout)
            except Exception as exc:  # pymilvus raises MilvusException or grpc's errors
                raise IndexBuildError(
                    f"cannot reach {self.where} ({_reason(exc)}); is it running, and is the login in "
                    "PENINSULA_QA_MILVUS_TOKEN right?"
                ) from None
        path = Path(self.uri)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.log_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise IndexBuildError(f"{self.where}: its folder cannot be made ({exc})") from None
        lock = path.parent / f".{path.name}.lock"
        busy = IndexBuildError(
            f"{self.where} is open in another process; stop it (another qa serve?), or give another file "
            "(--store milvus:OTHER.db), or run a Milvus server for several processes"
        )
        with _SERVERS_LOCK:
            held = _SERVERS[self.uri] > 0
            if not held and lock.exists() and _locked_elsewhere(lock):
                raise busy
            try:
                with _environment(GLOG_log_dir=str(self.log_dir)):  # the engine's logs go there
                    client = pymilvus.MilvusClient(self.uri, timeout=self.timeout)
            except Exception as exc:
                if not held and lock.exists() and _locked_elsewhere(lock):
                    raise busy from None
                raise IndexBuildError(f"{self.where} cannot be opened ({_reason(exc)})") from None
            _SERVERS[self.uri] += 1
        return client

    def close(self, client: Any) -> None:
        """Close ``client``; the last one closed on an embedded store stops its engine (and frees
        the file for other processes)."""
        with contextlib.suppress(Exception):
            client.close()
        if not self.embedded:
            return
        with _SERVERS_LOCK:
            _SERVERS[self.uri] -= 1
            if _SERVERS[self.uri] <= 0:
                del _SERVERS[self.uri]
                with contextlib.suppress(Exception):  # also called at exit, when modules may be gone
                    from milvus_lite.server_manager import server_manager_instance

                    server_manager_instance.release_server(self.uri)


def _reason(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return " ".join(str(message).split())[:300]


def _locked_elsewhere(lock: Path) -> bool:
    import fcntl

    try:
        with open(lock, "a") as fh:
            fcntl.lockf(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.lockf(fh, fcntl.LOCK_UN)
    except OSError as exc:
        return exc.errno in (errno.EAGAIN, errno.EACCES)
    return False


@contextlib.contextmanager
def _environment(**values: str) -> Iterator[None]:
    """Set environment variables while the block runs (the embedded engine's process inherits them)."""
    before = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@dataclass(frozen=True)
class MilvusLayout:
    """The collections of one index and what their fields hold.

    ``dense``/``sentence_dense``: embedder name -> (field, dimension).
    """

    prefix: str
    dense: Mapping[str, tuple[str, int]]
    sentence_dense: Mapping[str, tuple[str, int]]
    index_type: str

    @property
    def passages(self) -> str:
        return f"{self.prefix}_p"

    @property
    def sentences(self) -> str:
        return f"{self.prefix}_s"

    @property
    def lexical(self) -> str:
        return f"{self.prefix}_lp"

    @property
    def sentence_lexical(self) -> str:
        return f"{self.prefix}_ls"

    @property
    def bookkeeping(self) -> str:
        return f"{self.prefix}_m"

    @property
    def all(self) -> list[str]:
        names = [self.passages, self.lexical, self.sentence_lexical, self.bookkeeping]
        return [*names, self.sentences] if self.sentence_dense else names


class MilvusIndex:
    """Passages searched on Milvus: the :class:`~index.store.PassageStore` for ``--store milvus…``.

    Made by :func:`open_milvus_index`; rows are positions in ``passages``, as with the FAISS store.
    """

    def __init__(
        self,
        client: Any,
        connection: MilvusConnection,
        layout: MilvusLayout,
        passages: Sequence[Passage],
        keys: Sequence[str],
        lexicon: BilingualLexicon,
        lexical: Bm25Weights,
        sentence_lexical: Bm25Weights,
        manifest: dict[str, Any],
    ) -> None:
        if len(keys) != len(passages):
            raise ValueError("every passage needs its key")
        self.client = client
        self.connection = connection
        self.layout = layout
        self.passages = list(passages)
        self.lexicon = lexicon
        self.lexical = lexical
        self.sentence_lexical = sentence_lexical
        self.manifest = manifest
        self.dense = {name: field for name, (field, _) in layout.dense.items()}
        self.sentence_dense = {name: field for name, (field, _) in layout.sentence_dense.items()}
        self._row = {p.id: i for i, p in enumerate(self.passages)}
        self._row_of_key = {k: i for i, k in enumerate(keys)}
        self._keys = list(keys)
        self._search_params = {"metric_type": "IP", "params": INDEX_SEARCH_PARAMS[layout.index_type]}
        self._closer = weakref.finalize(self, connection.close, client)
        """Closes the connection when the index is dropped (an embedded engine then stops)."""

    @property
    def key(self) -> str:
        return str(self.manifest["key"])

    def close(self) -> None:
        """Let go of the connection (an embedded store's file is free for other processes after)."""
        self._closer()

    def row(self, passage_id: str) -> int | None:
        return self._row.get(passage_id)

    @staticmethod
    def _filter(doc_ids: Collection[str] | None) -> str:
        if doc_ids is None:
            return ""
        return f"doc_id in [{', '.join(quoted(d) for d in sorted(doc_ids))}]"

    def _search(
        self, collection: str, field: str, vector: Any, limit: int, doc_ids: Collection[str] | None, group: bool
    ) -> list[tuple[int, float]]:
        """Rows and scores, best first; ``group``: one hit per passage (its best sentence)."""
        if limit <= 0 or (doc_ids is not None and not doc_ids):
            return []
        kwargs: dict[str, Any] = {"output_fields": ["passage"], "group_by_field": "passage"} if group else {}
        try:
            results = self.client.search(
                collection,
                data=[vector],
                anns_field=field,
                limit=min(limit, MAX_LIMIT),
                filter=self._filter(doc_ids),
                search_params=self._search_params if field != "bm25" else {"metric_type": "IP"},
                **kwargs,
            )
        except Exception as exc:
            raise IndexBuildError(
                f"{self.connection.where}: a search of {collection} failed ({_reason(exc)})"
            ) from None
        hits: list[tuple[int, float]] = []
        for hit in results[0]:
            key = hit["entity"]["passage"] if group else hit["id"]
            row = self._row_of_key.get(key)
            if row is not None:  # rows of a document another process is adding right now: not ours yet
                hits.append((row, float(hit["distance"])))
        return hits

    def search_dense(
        self, embedder_name: str, query: np.ndarray, k: int, doc_ids: Collection[str] | None = None
    ) -> list[tuple[int, float]]:
        """Rows and cosine scores of the ``k`` nearest passages (of the documents ``doc_ids``)."""
        vector = np.asarray(query, dtype=np.float32).ravel().tolist()
        return self._search(self.layout.passages, self.dense[embedder_name], vector, k, doc_ids, group=False)

    def search_sentences(
        self, embedder_name: str, query: np.ndarray, k: int, doc_ids: Collection[str] | None = None
    ) -> list[tuple[int, float]]:
        """Passage rows and scores by their best sentence, for up to ``k`` passages (Milvus groups
        the sentences by passage, as the FAISS store max-pools the ``k`` nearest sentences)."""
        vector = np.asarray(query, dtype=np.float32).ravel().tolist()
        field = self.sentence_dense[embedder_name]
        return self._search(self.layout.sentences, field, vector, k, doc_ids, group=True)

    def search_lexical(self, query: str, k: int, doc_ids: Collection[str] | None = None) -> list[tuple[int, float]]:
        """Rows and BM25 scores of the ``k`` best passages with a score above zero."""
        vector = self.lexical.query(tokenize(query))
        if not vector:
            return []
        return self._search(self.layout.lexical, "bm25", vector, k, doc_ids, group=False)

    def search_lexical_sentences(
        self, query: str, k: int, doc_ids: Collection[str] | None = None
    ) -> list[tuple[int, float]]:
        """Passage rows and the BM25 score of their best sentence, for the ``k`` best passages."""
        vector = self.sentence_lexical.query(tokenize(query))
        if not vector:
            return []
        return self._search(self.layout.sentence_lexical, "bm25", vector, k, doc_ids, group=True)

    def sentence_vectors(self, embedder_name: str, rows: Sequence[int]) -> dict[tuple[int, int], np.ndarray]:
        """The stored vectors of the sentences of passages ``rows``, keyed by document span."""
        field = self.sentence_dense.get(embedder_name)
        if field is None or not len(rows):
            return {}
        keys = ", ".join(quoted(self._keys[r]) for r in rows)
        try:
            found = self.client.query(
                self.layout.sentences, filter=f"passage in [{keys}]", output_fields=["start", "end", field]
            )
        except Exception as exc:
            raise IndexBuildError(
                f"{self.connection.where}: reading sentence vectors failed ({_reason(exc)})"
            ) from None
        return {(int(r["start"]), int(r["end"])): np.asarray(r[field], dtype=np.float32) for r in found}


# -- building and bringing up to date -----------------------------------------------------------


@dataclass(frozen=True)
class _Rows:
    """One document's passages and sentences, and the texts BM25 reads of them."""

    document: Document
    passages: list[Passage]
    keys: list[str]
    sentences: list[tuple[int, int, int]]
    """(index into ``passages``, start, end) per sentence."""
    lexical_tokens: list[list[str]]
    sentence_tokens: list[list[str]]


def _span(passage: Passage, start: int, end: int) -> str:
    """The text of a passage between two document offsets."""
    return passage.content[start - passage.start : end - passage.start]


def _rows(document: Document, passages: list[Passage]) -> _Rows:
    keys = [passage_key(p, document) for p in passages]
    sentences = [(i, p.start + a, p.start + b) for i, p in enumerate(passages) for a, b in sentence_spans(p.content)]
    lexical = [tokenize(f"{format_section(p.section)}\n{p.content}") for p in passages]
    sentence_tokens = [
        tokenize(f"{format_section(passages[i].section)}\n{_span(passages[i], a, b)}") for i, a, b in sentences
    ]
    return _Rows(document, passages, keys, sentences, lexical, sentence_tokens)


def _spec(builder: IndexBuilder, index_type: str, dims: Mapping[str, int]) -> dict[str, Any]:
    return {
        "format": MILVUS_FORMAT,
        "splitter": builder.splitter.settings,
        "embedders": [[e.name, dims[e.name]] for e in builder.embedders],
        "sentence_embedders": builder.sentence_embedders,
        "header": builder.header,
        "tokenizer": TOKENIZER_VERSION,
        "bm25": f"lucene-k{K1}-b{B}",
        "sentences": SENTENCE_RULES_VERSION,
        **builder.passage_vectors_rule,
        "lexicon": f"pairs+cedict-{LEXICON_VERSION}" if builder.dictionary else f"pairs-{LEXICON_VERSION}",
        "index_type": index_type,
    }


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class _Writer:
    """Creates an index's collections and writes, checks and deletes its documents' rows."""

    def __init__(self, client: Any, connection: MilvusConnection, layout: MilvusLayout, spec: dict[str, Any]) -> None:
        self.client = client
        self.connection = connection
        self.layout = layout
        self.spec = spec

    def call(self, what: str, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return getattr(self.client, method)(*args, **kwargs)
        except Exception as exc:
            raise IndexBuildError(f"{self.connection.where}: {what} failed ({_reason(exc)})") from None

    # -- collections ----------------------------------------------------------------------
    def exists(self) -> list[str]:
        """The index's collections that exist."""
        names = set(self.call("listing the collections", "list_collections"))
        return [n for n in self.layout.all if n in names]

    def drop(self) -> None:
        for name in self.exists():
            self.call(f"dropping {name}", "drop_collection", name)

    def create(self) -> None:
        from pymilvus import DataType

        def schema(*, vectors: Mapping[str, tuple[str, int]], passage: bool, sparse: bool, meta: bool = False) -> Any:
            s = self.client.create_schema(auto_id=False, enable_dynamic_field=False)
            s.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=DOC_ID_CHARS if meta else KEY_CHARS + 32)
            if meta:
                s.add_field("state", DataType.VARCHAR, max_length=32)
                s.add_field("info", DataType.VARCHAR, max_length=INFO_CHARS)
                s.add_field("unused", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector field
                return s
            s.add_field("doc_id", DataType.VARCHAR, max_length=DOC_ID_CHARS)
            if passage:
                s.add_field("passage", DataType.VARCHAR, max_length=KEY_CHARS)
            if vectors and passage:
                s.add_field("start", DataType.INT64)
                s.add_field("end", DataType.INT64)
            for field, dim in vectors.values():
                s.add_field(field, DataType.FLOAT_VECTOR, dim=dim)
            if sparse:
                s.add_field("bm25", DataType.SPARSE_FLOAT_VECTOR)
            return s

        def indexes(vectors: Mapping[str, tuple[str, int]], *, sparse: bool, meta: bool = False) -> Any:
            params = self.client.prepare_index_params()
            if meta:
                params.add_index("unused", index_type="FLAT", metric_type="IP")
                return params
            params.add_index("doc_id", index_type="INVERTED")
            for field, _ in vectors.values():
                params.add_index(
                    field,
                    index_type=self.layout.index_type,
                    metric_type="IP",
                    params=INDEX_BUILD_PARAMS[self.layout.index_type],
                )
            if sparse:
                params.add_index("bm25", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
            return params

        layout = self.layout
        plans = [
            (
                layout.bookkeeping,
                schema(vectors={}, passage=False, sparse=False, meta=True),
                indexes({}, sparse=False, meta=True),
            ),
            (
                layout.passages,
                schema(vectors=layout.dense, passage=False, sparse=False),
                indexes(layout.dense, sparse=False),
            ),
            (layout.lexical, schema(vectors={}, passage=False, sparse=True), indexes({}, sparse=True)),
            (layout.sentence_lexical, schema(vectors={}, passage=True, sparse=True), indexes({}, sparse=True)),
        ]
        if layout.sentence_dense:
            plans.append(
                (
                    layout.sentences,
                    schema(vectors=layout.sentence_dense, passage=True, sparse=False),
                    indexes(layout.sentence_dense, sparse=False),
                )
            )
        for name, s, params in plans[1:] + plans[:1]:  # bookkeeping last: its presence means all are there
            self.call(
                f"creating {name}",
                "create_collection",
                name,
                schema=s,
                index_params=params,
                consistency_level="Strong",
            )
        self.put(SPEC_ROW, COMPLETE, self.spec)

    # -- bookkeeping ----------------------------------------------------------------------
    def put(self, key: str, state: str, info: Any) -> None:
        text = json.dumps(info, ensure_ascii=False)
        if len(text) > INFO_CHARS:
            raise IndexBuildError(f"{self.connection.where}: a bookkeeping row is too long ({len(text)} characters)")
        self.call(
            "writing the bookkeeping",
            "upsert",
            self.layout.bookkeeping,
            [{"pk": key, "state": state, "info": text, "unused": [0.0, 0.0]}],
        )

    def bookkeeping(self) -> dict[str, tuple[str, Any]]:
        """Key -> (state, info) of every bookkeeping row."""
        rows = self.call(
            "reading the bookkeeping",
            "query",
            self.layout.bookkeeping,
            filter='pk != ""',
            output_fields=["pk", "state", "info"],
            limit=MAX_LIMIT,
        )
        out: dict[str, tuple[str, Any]] = {}
        for r in rows:
            try:
                out[r["pk"]] = (r["state"], json.loads(r["info"]))
            except ValueError:
                out[r["pk"]] = ("damaged", None)
        return out

    def count(self, name: str) -> int:
        rows = self.call(f"counting {name}", "query", name, filter="", output_fields=["count(*)"])
        return int(rows[0]["count(*)"])

    def fields(self, name: str) -> dict[str, int]:
        """Field name -> dimension (0 for a field without one) of a collection."""
        described = self.call(f"describing {name}", "describe_collection", name)
        return {f["name"]: int(f.get("params", {}).get("dim", 0) or 0) for f in described["fields"]}

    def mismatch(self) -> str:
        """Why the collections there are not this index's (empty if they are)."""
        present = self.exists()
        if self.layout.bookkeeping not in present or len(present) != len(self.layout.all):
            missing = sorted(set(self.layout.all) - set(present))
            return f"collections missing: {', '.join(missing)}"
        for name, vectors in (
            (self.layout.passages, self.layout.dense),
            (self.layout.sentences, self.layout.sentence_dense),
        ):
            if name not in present:
                continue
            fields = self.fields(name)
            for field, dim in vectors.values():
                if fields.get(field) != dim:
                    return f"{name}.{field} holds {fields.get(field) or 'no'}-d vectors, not {dim}-d"
        spec = self.bookkeeping().get(SPEC_ROW)
        if spec is None or spec[1] != self.spec:
            return "it was built with other settings"
        return ""

    # -- rows ----------------------------------------------------------------------------
    def delete(self, doc_ids: Sequence[str]) -> None:
        if not doc_ids:
            return
        expression = f"doc_id in [{', '.join(quoted(d) for d in doc_ids)}]"
        for name in self.exists():
            if name != self.layout.bookkeeping:
                self.call(f"deleting from {name}", "delete", name, filter=expression)

    def insert(self, name: str, rows: Sequence[dict[str, Any]], *, upsert: bool = False) -> None:
        for i in range(0, len(rows), BATCH_ROWS):
            self.call(f"writing {name}", "upsert" if upsert else "insert", name, list(rows[i : i + BATCH_ROWS]))

    def embed(
        self, new: Sequence[_Rows], builder: IndexBuilder, progress: ProgressCallback | None
    ) -> dict[str, tuple[dict[str, np.ndarray], dict[str, np.ndarray]]]:
        """Document id -> its passages' and its sentences' vectors per embedder: one call of the
        embedding cache per embedder for all the new documents (each call reads the cache file)."""
        passage_texts = [embedding_text(p, r.document, builder.header) for r in new for p in r.passages]
        sentence_texts = [
            embedding_text(r.passages[i], r.document, builder.header, _span(r.passages[i], a, b))
            for r in new
            for i, a, b in r.sentences
        ]
        spans, offset = [], 0
        for r in new:
            spans += [(offset + i, a, b) for i, a, b in r.sentences]
            offset += len(r.passages)
        passages, sentences = builder.embed(
            passage_texts, sentence_texts, np.array(spans, dtype=np.int64).reshape(-1, 3), progress
        )
        out: dict[str, tuple[dict[str, np.ndarray], dict[str, np.ndarray]]] = {}
        p = q = 0
        for r in new:
            out[r.document.id] = (
                {name: v[p : p + len(r.passages)] for name, v in passages.items()},
                {name: v[q : q + len(r.sentences)] for name, v in sentences.items()},
            )
            p, q = p + len(r.passages), q + len(r.sentences)
        return out

    def write_vectors(
        self, rows: _Rows, vectors: Mapping[str, np.ndarray], sentence_vectors: Mapping[str, np.ndarray]
    ) -> None:
        """Write one document's passage and sentence vectors (from :meth:`embed`)."""
        document = rows.document
        self.insert(
            self.layout.passages,
            [
                {
                    "pk": key,
                    "doc_id": document.id,
                    **{self.layout.dense[n][0]: v[i].tolist() for n, v in vectors.items()},
                }
                for i, key in enumerate(rows.keys)
            ],
        )
        if not self.layout.sentence_dense or not rows.sentences:
            return
        self.insert(
            self.layout.sentences,
            [
                {
                    "pk": f"{rows.keys[i]}:{a}",
                    "passage": rows.keys[i],
                    "doc_id": document.id,
                    "start": a,
                    "end": b,
                    **{self.layout.sentence_dense[n][0]: v[j].tolist() for n, v in sentence_vectors.items()},
                }
                for j, (i, a, b) in enumerate(rows.sentences)
            ],
        )

    def write_lexical(
        self,
        rows: _Rows,
        lexical: Bm25Weights,
        sentence_lexical: Bm25Weights,
        lengths: Mapping[str, float],
        *,
        upsert: bool,
    ) -> None:
        """One document's BM25 rows, their lengths set against ``lengths``; rows without a token are
        left out (they score zero for every question)."""
        doc_id = rows.document.id
        passage_rows = [
            {"pk": key, "doc_id": doc_id, "bm25": sparse_row(vector)}
            for key, tokens in zip(rows.keys, rows.lexical_tokens, strict=True)
            if (vector := lexical.row(tokens, lengths["passages"]))
        ]
        sentence_rows = [
            {"pk": f"{rows.keys[i]}:{a}", "passage": rows.keys[i], "doc_id": doc_id, "bm25": sparse_row(vector)}
            for (i, a, _), tokens in zip(rows.sentences, rows.sentence_tokens, strict=True)
            if (vector := sentence_lexical.row(tokens, lengths["sentences"]))
        ]
        self.insert(self.layout.lexical, passage_rows, upsert=upsert)
        self.insert(self.layout.sentence_lexical, sentence_rows, upsert=upsert)


def _lexicon(
    documents: Sequence[Document], builder: IndexBuilder, cache_dir: Path | None, digest: str
) -> BilingualLexicon:
    """The documents' lexicon, kept in the cache directory (CC-CEDICT takes a second or two to load)."""
    path = cache_dir / "indexes" / f"milvus-lexicon-{digest[:20]}.json" if cache_dir else None
    if path is not None:
        with contextlib.suppress(OSError, ValueError):
            terms = json.loads(path.read_text("utf-8"))
            if isinstance(terms, dict):
                return BilingualLexicon(terms)
    lexicon = BilingualLexicon.build([d.text for d in documents], load_cedict() if builder.dictionary else None)
    if path is not None:
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            write_file_atomically(path, json.dumps(lexicon.to_dict(), ensure_ascii=False).encode())
    return lexicon


def open_milvus_index(
    connection: MilvusConnection,
    documents: Sequence[Document],
    builder: IndexBuilder,
    *,
    scope: str,
    index_type: str = "FLAT",
    length_tolerance: float = 0.0,
    rebuild: bool = False,
    progress: ProgressCallback | None = None,
    cache_dir: Path | None = None,
) -> tuple[MilvusIndex, bool]:
    """The index of ``documents`` on Milvus, brought up to date; returns ``(index, written)``.

    ``scope`` names the document set (a collection): its documents that are new or changed are
    written, those gone are deleted; the rest is left as it is. ``index_type`` is the dense
    fields' index (FLAT: exact, as FAISS up to 10^5; IVF_FLAT, HNSW, AUTOINDEX on a server).
    ``length_tolerance``: how far (relative) the passages' mean length may move before every BM25
    row is rewritten against the new one; 0 keeps scores equal to a fresh build's.

    Collections that are not this index's (missing parts, other dimensions or settings) and a
    document left half-written by a process that died are rebuilt, with a logged warning.
    """
    if index_type not in INDEX_TYPES:
        raise IndexBuildError(f"the Milvus index type must be one of {INDEX_TYPES}, got {index_type!r}")
    if connection.embedded and index_type not in EMBEDDED_INDEX_TYPES:
        raise IndexBuildError(
            f"Milvus Lite builds only {', '.join(EMBEDDED_INDEX_TYPES)} indexes, not {index_type}; use a Milvus server"
        )
    if not 0 <= length_tolerance < 1:
        raise IndexBuildError(f"length_tolerance must be in [0, 1), got {length_tolerance}")
    if len({d.id for d in documents}) != len(documents):
        raise IndexBuildError("two documents share an id")
    too_long = [d.id for d in documents if len(d.id) > DOC_ID_CHARS]
    if too_long:
        raise IndexBuildError(f"document id {too_long[0][:40]!r}… is longer than {DOC_ID_CHARS} characters")
    report = progress or stages.silent
    report(stages.SPLITTING, 0, 0)
    all_rows = [_rows(d, builder.splitter.split(d)) for d in documents]
    if not any(r.passages for r in all_rows):
        raise IndexBuildError("the documents contain no text to index")
    dims = {e.name: int(e.dim) for e in builder.embedders}
    spec = _spec(builder, index_type, dims)
    layout = MilvusLayout(
        prefix=f"pqa_{_digest(scope)[:12]}_{_digest(spec)[:12]}",
        dense={e.name: (f"dense_{i}", dims[e.name]) for i, e in enumerate(builder.embedders)},
        sentence_dense={
            e.name: (f"dense_{i}", dims[e.name])
            for i, e in enumerate(builder.embedders)
            if e.name in builder.sentence_embedders
        },
        index_type=index_type,
    )
    lexical = Bm25Weights(t for r in all_rows for t in r.lexical_tokens)
    sentence_lexical = Bm25Weights(t for r in all_rows for t in r.sentence_tokens)
    report(stages.OPENING_MILVUS, 0, 0)
    client = connection.open()
    try:
        writer = _Writer(client, connection, layout, spec)
        written = _bring_up_to_date(
            writer, all_rows, builder, lexical, sentence_lexical, length_tolerance, rebuild, progress
        )
        passages = [p for r in all_rows for p in r.passages]
        keys = [k for r in all_rows for k in r.keys]
        manifest = {
            "key": layout.prefix,
            "store": connection.uri if not connection.embedded else f"milvus:{connection.uri}",
            "collections": layout.all,
            "embedders": [e.name for e in builder.embedders],
            "splitter": builder.splitter.settings,
            "header": builder.header,
            "sentence_embedders": builder.sentence_embedders,
            "index_type": index_type,
            "documents": [
                {"id": d.id, "title": d.title, "source": d.source, "content_hash": d.content_hash} for d in documents
            ],
        }
        report(stages.BUILDING_LEXICON, 0, 0)
        lexicon = _lexicon(
            documents, builder, cache_dir, _digest([spec["lexicon"], [document_key(d) for d in documents]])
        )
    except BaseException:
        connection.close(client)
        raise
    return MilvusIndex(
        client, connection, layout, passages, keys, lexicon, lexical, sentence_lexical, manifest
    ), written


def _bring_up_to_date(
    writer: _Writer,
    all_rows: Sequence[_Rows],
    builder: IndexBuilder,
    lexical: Bm25Weights,
    sentence_lexical: Bm25Weights,
    tolerance: float,
    rebuild: bool,
    progress: ProgressCallback | None,
) -> bool:
    """Make the collections hold exactly these documents' rows; whether anything was written.

    A document is written in this order: its bookkeeping row says "writing", its old rows (of a
    process that died) are deleted, its rows are written, and only then does its bookkeeping say
    "complete". A document never marked complete is deleted and written again on the next open.
    """
    layout = writer.layout
    report = progress or stages.silent
    report(stages.CHECKING_MILVUS, 0, 0)
    present = writer.exists()
    if rebuild and present:
        writer.drop()
    elif present:
        why = writer.mismatch()
        if why:
            log.warning("the Milvus index %s cannot be used (%s); rebuilding it", layout.prefix, why)
            writer.drop()
    if not writer.exists():
        writer.create()
    books = writer.bookkeeping()
    stored = {k: v for k, v in books.items() if not k.startswith("~")}
    wanted = {r.document.id: r for r in all_rows}
    stale = [
        doc_id
        for doc_id, (state, info) in stored.items()
        if doc_id not in wanted
        or state != COMPLETE
        or not isinstance(info, dict)
        or info.get("key") != document_key(wanted[doc_id].document)
    ]
    for doc_id in stale:  # no longer complete: deleted now, written again below if still wanted
        writer.put(doc_id, WRITING, stored[doc_id][1])
    writer.delete(stale)
    gone = [d for d in stale if d not in wanted]
    if gone:
        writer.call("writing the bookkeeping", "delete", layout.bookkeeping, ids=gone)
    complete = {d for d in stored if d not in stale}
    new = [r for r in all_rows if r.document.id not in complete]
    if not new and not stale and _counts_match(writer, all_rows):
        lengths = _lengths(books)
        target = {"passages": lexical.mean_length, "sentences": sentence_lexical.mean_length}
        if lengths is not None and all(_within(lengths[k], target[k], tolerance) for k in target):
            return False
    elif not new and not stale:
        log.warning("the Milvus index %s holds other rows than its documents'; rebuilding it", layout.prefix)
        writer.drop()
        writer.create()
        new, complete, books = list(all_rows), set(), {}
    written_lengths = _lengths(books)
    target = {"passages": lexical.mean_length, "sentences": sentence_lexical.mean_length}
    if written_lengths is None or not all(_within(written_lengths[k], target[k], tolerance) for k in target):
        lengths = target
        refresh = [r for r in all_rows if r.document.id in complete]
    else:
        lengths, refresh = written_lengths, []
    vectors = writer.embed(new, builder, progress)  # before anything is written: embedding takes longest
    writer.put(LENGTHS_ROW, WRITING, lengths)
    for done, rows in enumerate(new):
        report(stages.WRITING_MILVUS, done, len(new))
        writer.put(rows.document.id, WRITING, {"key": document_key(rows.document)})
        writer.delete([rows.document.id])
        writer.write_vectors(rows, *vectors[rows.document.id])
        writer.write_lexical(rows, lexical, sentence_lexical, lengths, upsert=False)
    report(stages.WRITING_MILVUS, len(new), len(new))
    for rows in refresh:  # the mean length moved: every BM25 row against the new one
        writer.write_lexical(rows, lexical, sentence_lexical, lengths, upsert=True)
    writer.put(LENGTHS_ROW, COMPLETE, lengths)
    for rows in new:
        writer.put(
            rows.document.id,
            COMPLETE,
            {"key": document_key(rows.document), "passages": len(rows.passages), "sentences": len(rows.sentences)},
        )
    return True


def _lengths(books: Mapping[str, tuple[str, Any]]) -> dict[str, float] | None:
    """The mean lengths the BM25 rows were written against, if that writing completed."""
    state, info = books.get(LENGTHS_ROW, ("", None))
    if state != COMPLETE or not isinstance(info, dict):
        return None
    try:
        return {"passages": float(info["passages"]), "sentences": float(info["sentences"])}
    except (KeyError, TypeError, ValueError):
        return None


def _within(written: float, target: float, tolerance: float) -> bool:
    return written == target if tolerance == 0 else abs(written - target) <= tolerance * target


def _counts_match(writer: _Writer, all_rows: Sequence[_Rows]) -> bool:
    """Whether the passage (and sentence) collections hold as many rows as the documents make."""
    layout = writer.layout
    if writer.count(layout.passages) != sum(len(r.passages) for r in all_rows):
        return False
    return not layout.sentence_dense or writer.count(layout.sentences) == sum(len(r.sentences) for r in all_rows)
