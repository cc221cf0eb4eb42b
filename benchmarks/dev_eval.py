"""Retrieval and answer quality on ../shared/eval/dev.jsonl, beside the naive reference pipeline.

    python benchmarks/dev_eval.py                # table for the default pipeline and the reference
    python benchmarks/dev_eval.py --grid         # also the fusion-weight grid, per query language
    python benchmarks/dev_eval.py --out benchmarks/results/dev.md
    python benchmarks/dev_eval.py --history      # each question asked after the set's previous one

Scoring follows ../shared/eval/README.md: whitespace removed from gold and passage; hit@k (all gold
strings for ``needs_all``), MRR@10, answer hit, abstention, mean passage length.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from corpus import load_default_document  # noqa: E402
from index.embedders import E5Embedder, USEEmbedder  # noqa: E402
from index.lexical import LexicalIndex  # noqa: E402
from qa import Assistant, Settings  # noqa: E402
from qa.language import analyze  # noqa: E402
from qa.retrieval import LEXICAL, Hit, RankFuser  # noqa: E402

DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"
LANGS = ("zh-Hant", "zh-Hans", "en")


def norm(text: str) -> str:
    return "".join(text.split())


def first_hit(question: dict, texts: list[str]) -> int | None:
    """The smallest k (1-based, ≤ 10) at which the top-k texts hold the gold."""
    gold = [norm(g) for g in question["gold"]]
    texts = [norm(t) for t in texts[:10]]
    for k in range(1, len(texts) + 1):
        found = [any(g in t for t in texts[:k]) for g in gold]
        if all(found) if question["needs_all"] else any(found):
            return k
    return None


def score(questions: list[dict], results: dict[str, dict]) -> dict[str, dict[str, float]]:
    """Figures per language and overall. ``results[id]`` has ``texts``, optional ``answer`` and ``abstained``."""
    table: dict[str, dict[str, float]] = {}
    for group in (*LANGS, "overall"):
        qs = [q for q in questions if group in ("overall", q["lang"])]
        answerable = [q for q in qs if q["gold"]]
        ranks = [first_hit(q, results[q["id"]]["texts"]) for q in answerable]
        row = {
            "n": len(answerable),
            "hit@1": sum(r == 1 for r in ranks) / len(answerable),
            "hit@5": sum(r is not None and r <= 5 for r in ranks) / len(answerable),
            "MRR@10": sum(1 / r for r in ranks if r) / len(answerable),
        }
        if all("answer" in results[q["id"]] for q in qs):
            row["answer hit"] = sum(
                any(norm(g) in norm(results[q["id"]]["answer"]) for g in q["gold"]) for q in answerable
            ) / len(answerable)
            unanswerable = [q for q in qs if not q["gold"]]
            refused = sum(results[q["id"]]["abstained"] for q in unanswerable)
            row["refused (unanswerable)"] = f"{refused}/{len(unanswerable)}"
            row["wrongly refused"] = sum(results[q["id"]]["abstained"] for q in answerable) / len(answerable)
        table[group] = row
    return table


def run_default(
    questions: list[dict], cache_dir: Path, history: bool = False
) -> tuple[dict[str, dict], dict[str, float]]:
    t0 = time.perf_counter()
    assistant = Assistant(settings=Settings(cache_dir=cache_dir, progress=False))
    build = time.perf_counter() - t0
    results, latencies = {}, []
    for i, q in enumerate(questions):
        t = time.perf_counter()
        earlier = [questions[i - 1]["question"]] if history and i else []
        answer = assistant.ask(q["question"], k=10, history=earlier)
        latencies.append(time.perf_counter() - t)
        results[q["id"]] = {
            "texts": [c.text for c in answer.citations],
            "answer": answer.text,
            "abstained": answer.abstained,
        }
    lengths = [len(c.text) for c in assistant.passages]
    return results, {
        "passages": len(lengths),
        "mean passage chars": statistics.mean(lengths),
        "build s": build,
        "ask p50 ms": 1000 * statistics.median(latencies),
    }


def run_reference(questions: list[dict]) -> tuple[dict[str, dict], dict[str, float]]:
    """../shared/eval/README.md's reference: recursive splitter 500/50, e5 + USE + bigram BM25, equal RRF."""
    import faiss
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    text = load_default_document().text
    chunks = RecursiveCharacterTextSplitter(chunk_size=500, chunk_overlap=50).split_text(text)
    embedders = {"e5": E5Embedder(), "use": USEEmbedder()}
    dense = {}
    for name, e in embedders.items():
        dense[name] = faiss.IndexFlatIP(e.dim)
        dense[name].add(e.embed_documents(chunks))
    bm25 = LexicalIndex.build(chunks)
    fuser = RankFuser(k=60)
    results = {}
    for q in questions:
        query = analyze(q["question"])
        rankings: dict[str, list[Hit]] = {}
        for name, e in embedders.items():
            s, r = dense[name].search(e.embed_queries([query.search_text]), 10)
            rankings[name] = [Hit(int(i), float(x)) for i, x in zip(r[0], s[0], strict=True)]
        scores = bm25.scores(query.search_text)
        rankings[LEXICAL] = [Hit(int(i), float(scores[i])) for i in scores.argsort()[::-1][:10] if scores[i] > 0]
        results[q["id"]] = {"texts": [chunks[h.row] for h in fuser.run(rankings, query.language)]}
    return results, {"passages": len(chunks), "mean passage chars": statistics.mean(len(c) for c in chunks)}


def weight_grid(questions: list[dict], cache_dir: Path) -> list[str]:
    """MRR@10 per language for a grid of fusion weights over the default pipeline's rankings."""
    assistant = Assistant(settings=Settings(cache_dir=cache_dir, progress=False))
    runs = []
    for q in questions:
        if q["gold"]:
            query = assistant._query(q["question"])
            runs.append((q, query.language, assistant._retrieve(query, 50)[1]))
    lines = []
    grid = (0.0, 0.5, 1.0, 2.0, 3.0)
    for group in (("zh-Hant", "zh-Hans"), ("en",)):
        rows = []
        for w in itertools.product(grid, repeat=3):
            if not any(w):
                continue
            fuser = RankFuser({lang: dict(zip(("e5", "use", LEXICAL), w, strict=True)) for lang in LANGS})
            ranks = [
                first_hit(q, [assistant.index.passages[h.row].content for h in fuser.run(rankings, language)])
                for q, language, rankings in runs
                if language in group
            ]
            mrr = sum(1 / r for r in ranks if r) / len(ranks)
            rows.append((mrr, sum(r == 1 for r in ranks) / len(ranks), w))
        rows.sort(reverse=True)
        lines.append(
            f"{'/'.join(group)}: best (MRR@10, hit@1, weights e5/use/bm25): "
            + "; ".join(f"{m:.3f}, {h:.3f}, {w}" for m, h, w in rows[:5])
        )
        equal = next(r for r in rows if r[2] == (1.0, 1.0, 1.0))
        lines.append(f"{'/'.join(group)}: equal weights: {equal[0]:.3f}, {equal[1]:.3f}")
    return lines


def markdown(name: str, table: dict[str, dict], extra: dict[str, float]) -> str:
    cols = [c for c in next(iter(table.values())) if c != "n"]
    out = [f"### {name}", "", "| | n | " + " | ".join(cols) + " |", "|---" * (len(cols) + 2) + "|"]
    for group, row in table.items():
        cells = [f"{row[c]:.3f}" if isinstance(row[c], float) else str(row[c]) for c in cols]
        out.append(f"| {group} | {row['n']} | " + " | ".join(cells) + " |")
    out.append("")
    out.append(", ".join(f"{k}: {v:.1f}" if isinstance(v, float) else f"{k}: {v}" for k, v in extra.items()))
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=Path, default=DEV)
    parser.add_argument("--grid", action="store_true", help="also print the fusion-weight grid")
    parser.add_argument("--out", type=Path, help="write the Markdown tables here")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--history",
        action="store_true",
        help="ask each question with the previous (unrelated) question as chat history: what follow-up support costs",
    )
    args = parser.parse_args()
    questions = [json.loads(line) for line in args.questions.read_text("utf-8").splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        default, default_extra = run_default(questions, Path(tmp), args.history)
        reference, reference_extra = run_reference(questions)
        tables = {"default pipeline": score(questions, default), "reference: naive fusion": score(questions, reference)}
        if args.json:
            print(json.dumps({"tables": tables, "default": default_extra, "reference": reference_extra}, indent=2))
        else:
            text = "\n\n".join(
                [
                    f"## {args.questions.name} ({len(questions)} questions), {time.strftime('%Y-%m-%d')}",
                    markdown("default pipeline", tables["default pipeline"], default_extra),
                    markdown("reference: naive fusion", tables["reference: naive fusion"], reference_extra),
                ]
            )
            if args.grid:
                lines = weight_grid(questions, Path(tmp))
                text += "\n\n### fusion-weight grid\n\n" + "\n".join(f"- {line}" for line in lines)
            print(text)
            if args.out:
                args.out.parent.mkdir(parents=True, exist_ok=True)
                args.out.write_text(text + "\n", "utf-8")


if __name__ == "__main__":
    main()
