"""The plain reference pipelines of ../shared/eval/README.md, for the benchmarks to measure beside ours.

Recursive splitter 500/50 over the chapter; e5 and USE over flat FAISS; BM25 over the same chunks;
unweighted reciprocal-rank fusion of the three.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from corpus import load_default_document
from index.embedders import E5Embedder, USEEmbedder
from index.lexical import LexicalIndex
from qa.fusion import RankFuser
from qa.language import analyze
from qa.retrieval import LEXICAL, Hit, Rankings, RetrieverId


class ReferencePipeline:
    """Built over ``texts`` (the bundled chapter by default); ``build_s`` is the build time once the
    models are loaded."""

    def __init__(self, depth: int = 10, texts: Sequence[str] | None = None) -> None:
        import faiss
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        self.depth = depth
        self.embedders = {"e5": E5Embedder(), "use": USEEmbedder()}
        t = time.perf_counter()
        splitter = RecursiveCharacterTextSplitter(chunk_size=500, chunk_overlap=50)
        texts = [load_default_document().text] if texts is None else texts
        self.chunks = [chunk for text in texts for chunk in splitter.split_text(text)]
        self.dense = {}
        for name, e in self.embedders.items():
            self.dense[name] = faiss.IndexFlatIP(e.dim)
            self.dense[name].add(e.embed_documents(self.chunks))
        self.bm25 = LexicalIndex.build(self.chunks)
        self.build_s = time.perf_counter() - t
        self.fuser = RankFuser(k=60)

    def rankings(self, question: str) -> Rankings:
        """Each member's hits (chunk rows): e5, USE and BM25."""
        query = analyze(question)
        out: Rankings = {}
        for name, e in self.embedders.items():
            s, r = self.dense[name].search(e.embed_queries([query.search_text]), self.depth)
            out[RetrieverId(name)] = [Hit(int(i), float(x)) for i, x in zip(r[0], s[0], strict=True)]
        scores = self.bm25.scores(query.search_text)
        top = scores.argsort()[::-1][: self.depth]
        out[RetrieverId(LEXICAL)] = [Hit(int(i), float(scores[i])) for i in top if scores[i] > 0]
        return out

    def fused(self, question: str) -> list[Hit]:
        """The members' hits fused with unweighted RRF."""
        return self.fuser.run(analyze(question), self.rankings(question))


HAND_TUNED_WEIGHTS: dict[str, dict[str, float]] = {
    "zh-Hant": {"e5": 0.0, "use": 0.0, "bm25": 1.0, "e5:sentences": 1.0, "use:sentences": 0.0, "bm25:sentences": 0.5},
    "zh-Hans": {"e5": 0.0, "use": 0.0, "bm25": 1.0, "e5:sentences": 1.0, "use:sentences": 0.0, "bm25:sentences": 0.5},
    "en": {"e5": 0.25, "use": 0.25, "bm25": 1.0, "e5:sentences": 0.5, "use:sentences": 0.0, "bm25:sentences": 0.0},
}
"""The score-fusion weights of earlier versions, set by hand on dev.jsonl and a DRCD sample (with a
date weight of 2): the reference the fitted weights are measured against."""
for _table in HAND_TUNED_WEIGHTS.values():
    _table["dates"] = 2.0
