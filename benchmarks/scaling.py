"""How build time, index size, memory and query latency grow with the number of passages.

    python benchmarks/scaling.py                                   # 10^3 … 10^6 synthetic passages
    python benchmarks/scaling.py --sizes 1000 10000 --out /tmp/s.md --plot /tmp/s.png

Synthetic but shaped like the real thing: passages of 200 characters cut from the chapter with one
character in ten replaced (BM25 over unigrams + bigrams, as ``index.tokenize`` makes them), and 384-d
unit vectors (e5's size) scattered around 1,000 topic centres, since real embeddings cluster. The
dense index is the one the product builds (``index.store.dense_index``: exact up to
``EXACT_SEARCH_LIMIT`` vectors, HNSW past it); its recall@10 is measured against exact search on
the same vectors. Query latency excludes embedding the question (about 10 ms with e5, whatever the
corpus size).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from report import publish  # noqa: E402

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


def measure(n: int, rng: np.random.Generator, pool: np.ndarray, alphabet: int) -> dict[str, float]:
    import bm25s
    import faiss

    row: dict[str, float] = {"passages": n}
    centres = rng.standard_normal((1_000, DIM)).astype(np.float32)
    vectors = centres[rng.integers(0, 1_000, n)] + 0.6 * rng.standard_normal((n, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    # a question lands near one passage: its vector plus noise of about a third of its length
    noise = rng.standard_normal((QUERIES, DIM)).astype(np.float32) * (0.35 / np.sqrt(DIM))
    queries = vectors[rng.integers(0, n, QUERIES)] + noise
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)

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
    row["dense query p50 ms"] = statistics.median(times)
    exact = faiss.IndexFlatIP(DIM)
    exact.add(vectors)
    _, truth = exact.search(queries, 10)
    row["recall@10"] = float(np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)]))
    row["nearest found"] = float(np.mean([t[0] in f for f, t in zip(found, truth, strict=True)]))
    del exact

    tokens = synthetic_tokens(rng, pool, alphabet, n, CHARS)
    t = time.perf_counter()
    vocabulary, ids = np.unique(tokens, return_inverse=True)
    ids = ids.reshape(tokens.shape).astype(np.int32)
    del tokens
    bm25 = bm25s.BM25(k1=1.2, b=0.75)
    bm25.index((list(ids), {str(int(v)): i for i, v in enumerate(vocabulary)}), show_progress=False)
    row["bm25 build s"] = time.perf_counter() - t
    del ids
    with tempfile.TemporaryDirectory() as tmp:
        bm25.save(tmp, allow_pickle=False, show_progress=False)
        row["bm25 MB"] = sum(f.stat().st_size for f in Path(tmp).rglob("*") if f.is_file()) / 2**20
    times = []
    for question in synthetic_tokens(rng, pool, alphabet, QUERIES, QUERY_CHARS):
        words = [str(int(t)) for t in question if str(int(t)) in bm25.vocab_dict]
        t = time.perf_counter()
        scores = bm25.get_scores(words)
        np.argpartition(-scores, 50)[:50]
        times.append(1000 * (time.perf_counter() - t))
    row["bm25 query p50 ms"] = statistics.median(times)
    row["memory MB"] = rss_mb() - before
    row["query p50 ms"] = row["dense query p50 ms"] + row["bm25 query p50 ms"]
    return row


COLUMNS = [
    ("passages", "{:,.0f}"),
    ("dense build s", "{:.1f}"),
    ("bm25 build s", "{:.1f}"),
    ("dense MB", "{:.0f}"),
    ("bm25 MB", "{:.0f}"),
    ("memory MB", "{:.0f}"),
    ("dense query p50 ms", "{:.2f}"),
    ("recall@10", "{:.3f}"),
    ("nearest found", "{:.2f}"),
    ("bm25 query p50 ms", "{:.1f}"),
    ("query p50 ms", "{:.1f}"),
]


def plot(rows: list[dict[str, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = [r["passages"] for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for key in ("dense build s", "bm25 build s"):
        axes[0].loglog(n, [r[key] for r in rows], marker="o", label=key)
    axes[0].set_title("build time (s)")
    for key in ("dense MB", "bm25 MB", "memory MB"):
        axes[1].loglog(n, [max(r[key], 0.01) for r in rows], marker="o", label=key)
    axes[1].set_title("size and memory (MB)")
    for key in ("dense query p50 ms", "bm25 query p50 ms", "query p50 ms"):
        axes[2].loglog(n, [r[key] for r in rows], marker="o", label=key)
    axes[2].axhline(50, color="grey", linestyle="--", linewidth=0.8)
    axes[2].set_title("query latency p50 (ms)")
    for ax in axes:
        ax.set_xlabel("passages")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="write the Markdown table here")
    parser.add_argument("--plot", type=Path, help="write the plot (PNG) here")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    pool, alphabet = character_pool()
    rows = []
    for n in args.sizes:
        rows.append(measure(n, rng, pool, alphabet))
        print(" ".join(f"{k}={v:.3g}" for k, v in rows[-1].items()), flush=True)
    lines = [
        f"# Scaling, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores (synthetic passages; see the script)",
        "",
        "| " + " | ".join(k for k, _ in COLUMNS) + " | dense index |",
        "|" + "---|" * (len(COLUMNS) + 1),
    ]
    for r in rows:
        kind = "exact (flat)" if r["dense kind"] else f"HNSW M={store.HNSW_NEIGHBOURS} ef={store.HNSW_EF_SEARCH}"
        lines.append("| " + " | ".join(f.format(r[k]) for k, f in COLUMNS) + f" | {kind} |")
    publish("\n".join(lines) + "\n", args.out)
    if args.plot:
        args.plot.parent.mkdir(parents=True, exist_ok=True)
        plot(rows, args.plot)


if __name__ == "__main__":
    main()
