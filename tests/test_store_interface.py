"""The retrievers need only the PassageStore contract: another engine plugs in as an adapter."""

import numpy as np

from index.chunking import Passage
from index.lexicon import BilingualLexicon
from index.store import PassageStore, load_or_build
from qa.language import analyze
from qa.retrieval import DenseRetriever, LexicalRetriever


class InMemoryStore:
    """Test double for a remote engine's adapter: brute-force search over a few passages."""

    def __init__(self, texts, embedder):
        self.passages = [Passage(f"p{i:07x}", "doc", t, 0, len(t), ("壹",)) for i, t in enumerate(texts)]
        self.lexicon = BilingualLexicon()
        self._vectors = embedder.embed_documents(texts)
        self.dense = {embedder.name: self._vectors}
        self.sentence_dense = {}

    def row(self, passage_id):
        return next((i for i, p in enumerate(self.passages) if p.id == passage_id), None)

    def search_dense(self, embedder_name, query, k):
        scores = self._vectors @ query
        return [(int(i), float(scores[i])) for i in np.argsort(-scores)[:k]]

    def search_sentences(self, embedder_name, query, k):
        return []

    def search_lexical(self, query, k):
        hits = [(i, float(sum(c in p.content for c in query))) for i, p in enumerate(self.passages)]
        return sorted((h for h in hits if h[1] > 0), key=lambda h: -h[1])[:k]

    def search_lexical_sentences(self, query, k):
        return []

    def sentence_vectors(self, embedder_name, rows):
        return {}


def test_the_built_index_meets_the_store_contract(chapter, fake_embedder, tmp_path):
    from index.chunking import ChunkSplitter
    from index.store import IndexBuilder

    index, _ = load_or_build([chapter], IndexBuilder(ChunkSplitter(300, 50), [fake_embedder]), None)
    assert isinstance(index, PassageStore)


def test_retrievers_run_over_another_store(fake_embedder):
    store = InMemoryStore(["駐韓美軍約28,500名", "川金會在新加坡舉行", "薩德系統部署"], fake_embedder)
    assert isinstance(store, PassageStore)
    query = analyze("川金會在哪裡舉行？")
    dense = DenseRetriever(store, fake_embedder).run(query, None, 2)
    lexical = LexicalRetriever(store).run(query, None, 2)
    assert dense[0].row == 1 and lexical[0].row == 1
