"""How build time, index size, memory and query latency grow with the number of passages.

    python benchmarks/scaling.py                                   # 10^3 … 10^6 synthetic passages
    python benchmarks/scaling.py --sizes 1000 10000 --out /tmp/s.md --plot /tmp/s.png
    python benchmarks/scaling.py --store faiss milvus --sizes 10000 100000   # both stores, the same data

Synthetic but shaped like the real thing: passages of 200 characters cut from the chapter with one
character in ten replaced (BM25 over unigrams + bigrams, as ``index.tokenize`` makes them), and 384-d
unit vectors (e5's size) scattered around 1,000 topic centres, since real embeddings cluster. The
dense index is the one the product builds (``index.store.dense_index``: exact up to
``EXACT_SEARCH_LIMIT`` vectors, HNSW past it); its recall@10 is measured against exact search on
the same vectors. Query latency excludes embedding the question (about 10 ms with e5, whatever the
corpus size).

``--store milvus`` measures the same data in Milvus Lite (``index.milvus_store``: a dense field with
``--milvus-index`` FLAT or IVF_FLAT, BM25 as sparse vectors through ``Bm25Weights``); its memory is
this process's growth plus the embedded engine's own process, its size the ``.db`` file's.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from report import percentiles, publish  # noqa: E402

from corpus import load_default_document  # noqa: E402
from index import store  # noqa: E402

DIM = 384
CHARS = 200
QUERIES = 100
QUERY_CHARS = 15


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def character_pool() -> tuple[np.ndarray, int]:
    """The chapter's Chinese characters in reading order, as ids, and how many distinct ones."""
    text = [c for c in load_default_document().text if "\u4e00" <= c <= "\u9fff"]
    alphabet = {c: i for i, c in enumerate(dict.fromkeys(text))}
    return np.array([alphabet[c] for c in text], dtype=np.int64), len(alphabet)


def synthetic_tokens(rng: np.random.Generator, pool: np.ndarray, alphabet: int, n: int, length: int) -> np.ndarray:
    """``n`` passages of ``length`` characters, as unigram + bigram token ids (what
    ``index.tokenize`` makes of Chinese text): windows of the chapter with one character in ten
    replaced at random, so the vocabulary grows the way real text's does."""
    starts = rng.integers(0, len(pool) - length, n)
    chars = pool[starts[:, None] + np.arange(length)]
    swap = rng.random(chars.shape) < 0.1
    chars[swap] = rng.integers(0, alphabet, int(swap.sum()))
    return np.concatenate([chars, alphabet + chars[:, :-1] * alphabet + chars[:, 1:]], axis=1)


def synthetic_data(
    n: int, rng: np.random.Generator, pool: np.ndarray, alphabet: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Passage vectors, question vectors, passage tokens and question tokens for ``n`` passages."""
    centres = rng.standard_normal((1_000, DIM)).astype(np.float32)
    vectors = centres[rng.integers(0, 1_000, n)] + 0.6 * rng.standard_normal((n, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    # a question lands near one passage: its vector plus noise of about a third of its length
    noise = rng.standard_normal((QUERIES, DIM)).astype(np.float32) * (0.35 / np.sqrt(DIM))
    queries = vectors[rng.integers(0, n, QUERIES)] + noise
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    tokens = synthetic_tokens(rng, pool, alphabet, n, CHARS)
    questions = synthetic_tokens(rng, pool, alphabet, QUERIES, QUERY_CHARS)
    return vectors, queries, tokens, questions


def exact_top10(vectors: np.ndarray, queries: np.ndarray) -> np.ndarray:
    import faiss

    exact = faiss.IndexFlatIP(DIM)
    exact.add(vectors)
    return exact.search(queries, 10)[1]


def recall(found: list[np.ndarray], truth: np.ndarray, row: dict[str, float]) -> None:
    row["recall@10"] = float(np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)]))
    row["nearest found"] = float(np.mean([t[0] in f for f, t in zip(found, truth, strict=True)]))


def latency(row: dict[str, float], name: str, times: list[float]) -> None:
    row[f"{name} query p50 ms"], row[f"{name} query p95 ms"] = percentiles(times)


def measure(n: int, data: tuple[np.ndarray, ...]) -> dict[str, float]:
    import bm25s
    import faiss

    vectors, queries, tokens, questions = data
    row: dict[str, float] = {"passages": n, "store": 0.0}
    before = rss_mb()
    t = time.perf_counter()
    index = store.dense_index(vectors)
    row["dense build s"] = time.perf_counter() - t
    row["dense kind"] = 1.0 if isinstance(index, faiss.IndexFlat) else 0.0
    row["dense MB"] = faiss.serialize_index(index).nbytes / 2**20
    times = []
    found = []
    for q in queries:
        t = time.perf_counter()
        _, rows = index.search(q.reshape(1, -1), 10)
        times.append(1000 * (time.perf_counter() - t))
        found.append(rows[0])
    latency(row, "dense", times)
    recall(found, exact_top10(vectors, queries), row)

    t = time.perf_counter()
    vocabulary, ids = np.unique(tokens, return_inverse=True)
    ids = ids.reshape(tokens.shape).astype(np.int32)
    bm25 = bm25s.BM25(k1=1.2, b=0.75)
    bm25.index((list(ids), {str(int(v)): i for i, v in enumerate(vocabulary)}), show_progress=False)
    row["bm25 build s"] = time.perf_counter() - t
    del ids
    with tempfile.TemporaryDirectory() as tmp:
        bm25.save(tmp, allow_pickle=False, show_progress=False)
        row["bm25 MB"] = sum(f.stat().st_size for f in Path(tmp).rglob("*") if f.is_file()) / 2**20
    times = []
    for question in questions:
        words = [str(int(t)) for t in question if str(int(t)) in bm25.vocab_dict]
        t = time.perf_counter()
        scores = bm25.get_scores(words)
        np.argpartition(-scores, 50)[:50]
        times.append(1000 * (time.perf_counter() - t))
    latency(row, "bm25", times)
    row["memory MB"] = rss_mb() - before
    row["query p50 ms"] = row["dense query p50 ms"] + row["bm25 query p50 ms"]
    return row


def process_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def engine_pids() -> list[int]:
    """This process's children: the embedded Milvus engine."""
    with open(f"/proc/{os.getpid()}/task/{os.getpid()}/children") as f:
        return [int(p) for p in f.read().split()]


def measure_milvus(n: int, data: tuple[np.ndarray, ...], index_type: str) -> dict[str, float]:
    """The same data in Milvus Lite: one collection with the dense field, one with the BM25 rows."""
    from pymilvus import DataType

    from index.milvus_store import (
        BATCH_ROWS,
        INDEX_BUILD_PARAMS,
        INDEX_SEARCH_PARAMS,
        Bm25Weights,
        MilvusConnection,
        sparse_row,
    )

    vectors, queries, tokens, questions = data
    row: dict[str, float] = {"passages": n, "store": 1.0, "dense kind": 1.0 if index_type == "FLAT" else 0.0}
    with tempfile.TemporaryDirectory() as tmp:
        connection = MilvusConnection(str(Path(tmp) / "scaling.db"), log_dir=Path(tmp) / "logs")
        before = rss_mb()
        client = connection.open()
        try:
            t = time.perf_counter()
            schema = client.create_schema(auto_id=False)
            schema.add_field("pk", DataType.INT64, is_primary=True)
            schema.add_field("dense", DataType.FLOAT_VECTOR, dim=DIM)
            params = client.prepare_index_params()
            params.add_index("dense", index_type=index_type, metric_type="IP", params=INDEX_BUILD_PARAMS[index_type])
            client.create_collection("dense", schema=schema, index_params=params, consistency_level="Strong")
            for i in range(0, n, BATCH_ROWS):
                batch = vectors[i : i + BATCH_ROWS]
                client.insert("dense", [{"pk": i + j, "dense": v.tolist()} for j, v in enumerate(batch)])
            client.flush("dense")
            client.get_collection_stats("dense")
            row["dense build s"] = time.perf_counter() - t
            search = {"metric_type": "IP", "params": INDEX_SEARCH_PARAMS[index_type]}
            times, found = [], []
            for q in queries:
                t = time.perf_counter()
                hits = client.search("dense", [q.tolist()], anns_field="dense", limit=10, search_params=search)
                times.append(1000 * (time.perf_counter() - t))
                found.append(np.array([h["id"] for h in hits[0]]))
            latency(row, "dense", times)
            recall(found, exact_top10(vectors, queries), row)

            t = time.perf_counter()
            weights = Bm25Weights(list(r) for r in tokens)
            schema = client.create_schema(auto_id=False)
            schema.add_field("pk", DataType.INT64, is_primary=True)
            schema.add_field("bm25", DataType.SPARSE_FLOAT_VECTOR)
            params = client.prepare_index_params()
            params.add_index("bm25", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
            client.create_collection("bm25", schema=schema, index_params=params, consistency_level="Strong")
            for i in range(0, n, BATCH_ROWS):
                rows = [
                    {"pk": i + j, "bm25": sparse_row(weights.row(list(r)))}
                    for j, r in enumerate(tokens[i : i + BATCH_ROWS])
                ]
                client.insert("bm25", rows)
            client.flush("bm25")
            row["bm25 build s"] = time.perf_counter() - t
            times = []
            for question in questions:
                t = time.perf_counter()
                vector = weights.query(list(question))
                client.search("bm25", [vector], anns_field="bm25", limit=50, search_params={"metric_type": "IP"})
                times.append(1000 * (time.perf_counter() - t))
            latency(row, "bm25", times)
            row["memory MB"] = rss_mb() - before + sum(process_rss_mb(p) for p in engine_pids())
        finally:
            connection.close(client)
        disk = sum(f.stat().st_size for f in Path(tmp).rglob("*") if f.is_file() and "logs" not in f.parts)
        row["dense MB"] = disk / 2**20  # one file holds both collections: given whole here
        row["bm25 MB"] = float("nan")
    row["query p50 ms"] = row["dense query p50 ms"] + row["bm25 query p50 ms"]
    return row


COLUMNS = [
    ("passages", "{:,.0f}"),
    ("store", None),
    ("dense build s", "{:.1f}"),
    ("bm25 build s", "{:.1f}"),
    ("dense MB", "{:.0f}"),
    ("bm25 MB", "{:.0f}"),
    ("memory MB", "{:.0f}"),
    ("dense query p50 ms", "{:.2f}"),
    ("dense query p95 ms", "{:.2f}"),
    ("recall@10", "{:.3f}"),
    ("nearest found", "{:.2f}"),
    ("bm25 query p50 ms", "{:.1f}"),
    ("bm25 query p95 ms", "{:.1f}"),
    ("query p50 ms", "{:.1f}"),
]


STORES = ("faiss", "milvus")


def cell(row: dict[str, float], key: str, form: str | None) -> str:
    if key == "store":
        return STORES[int(row["store"])]
    value = row[key]
    return "—" if value != value else form.format(value)  # NaN: not measured apart  # type: ignore[union-attr]


def dense_kind(row: dict[str, float], milvus_index: str) -> str:
    if row["store"]:
        return f"Milvus Lite {milvus_index}" + (" (exact)" if row["dense kind"] else "")
    return "exact (flat)" if row["dense kind"] else f"HNSW M={store.HNSW_NEIGHBOURS} ef={store.HNSW_EF_SEARCH}"


def plot(rows: list[dict[str, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    panels = [
        (("dense build s", "bm25 build s"), "build time (s)"),
        (("dense MB", "bm25 MB", "memory MB"), "size and memory (MB; Milvus: one file)"),
        (("dense query p50 ms", "bm25 query p50 ms", "query p50 ms"), "query latency p50 (ms)"),
    ]
    for ax, (keys, title) in zip(axes, panels, strict=True):
        for kind, name in enumerate(STORES):
            mine = [r for r in rows if int(r["store"]) == kind]
            if not mine:
                continue
            for key in keys:
                values = [(r["passages"], max(r[key], 0.01)) for r in mine if r[key] == r[key]]
                if values:
                    x, y = zip(*values, strict=True)
                    ax.loglog(x, y, marker="o", linestyle="-" if kind == 0 else "--", label=f"{name}: {key}")
        ax.set_title(title)
        ax.set_xlabel("passages")
        ax.legend(fontsize=7)
    axes[2].axhline(50, color="grey", linestyle="--", linewidth=0.8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000, 1_000_000])
    parser.add_argument("--store", nargs="+", choices=STORES, default=["faiss"], help="the stores to measure")
    parser.add_argument("--milvus-index", choices=["FLAT", "IVF_FLAT"], default="FLAT", help="Milvus's dense index")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="write the Markdown table here")
    parser.add_argument("--plot", type=Path, help="write the plot (PNG) here")
    args = parser.parse_args()
    pool, alphabet = character_pool()
    rows = []
    for n in args.sizes:
        data = synthetic_data(n, np.random.default_rng([args.seed, n]), pool, alphabet)  # the same for each store
        for name in args.store:
            rows.append(measure(n, data) if name == "faiss" else measure_milvus(n, data, args.milvus_index))
            print(" ".join(f"{k}={v:.3g}" for k, v in rows[-1].items()), flush=True)
        del data
    lines = [
        f"# Scaling, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores (synthetic passages; see the script)",
        "",
        "| " + " | ".join(k for k, _ in COLUMNS) + " | dense index |",
        "|" + "---|" * (len(COLUMNS) + 1),
    ]
    for r in rows:
        lines.append("| " + " | ".join(cell(r, k, f) for k, f in COLUMNS) + f" | {dense_kind(r, args.milvus_index)} |")
    publish("\n".join(lines) + "\n", args.out)
    if args.plot:
        args.plot.parent.mkdir(parents=True, exist_ok=True)
        plot(rows, args.plot)


if __name__ == "__main__":
    main()
