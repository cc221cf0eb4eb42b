"""The stages of a question's path, each on its own (qa.query_analysis, qa.retrieval.Retrievers,
qa.refusal_policy, qa.pipeline, qa.building), over a small index built with the deterministic fake
embedder (a stand-in for the real models, which these tests are not about)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import FakeHashEmbedder

from corpus import parse_text
from index.chunking import ChunkSplitter
from index.store import IndexBuilder
from qa import Assistant, InvalidRequestError, Settings
from qa.abstention import ScopedChecks
from qa.building import PipelineBuilder, settings_key
from qa.config import RankingSettings, RefusalSettings, SpecificCheck
from qa.errors import SettingsError
from qa.language import analyze
from qa.model import Citation
from qa.pipeline import Request
from qa.query_analysis import QueryAnalyzer
from qa.refusal_policy import RefusalPolicy
from qa.retrieval import Granularity, Hit, RetrieverId, Retrievers

TEXT = """# 川金會

2018年6月12日，川普與金正恩在新加坡舉行川金會，雙方簽署聯合聲明。

# 駐韓美軍

駐韓美軍約有28,500名，主要駐紮在平澤市的漢弗萊斯營區（Camp Humphreys）。

# 薩德

2017年，薩德系統部署在星州郡。韓國政府在2016年7月決定部署薩德。
"""


class CountingEmbedder(FakeHashEmbedder):
    """The fake embedder, counting the questions it embeds."""

    def __init__(self) -> None:
        super().__init__()
        self.queries = 0

    def embed_queries(self, texts):  # type: ignore[no-untyped-def]
        self.queries += len(texts)
        return super().embed_queries(texts)


@pytest.fixture(scope="module")
def document():  # type: ignore[no-untyped-def]
    return parse_text(TEXT, doc_id="notes", markdown=True)


@pytest.fixture(scope="module")
def index(document):  # type: ignore[no-untyped-def]
    embedder = FakeHashEmbedder()
    builder = IndexBuilder(ChunkSplitter(60, 10), [embedder], sentence_embedders=[embedder.name])
    return builder.run([document])


def settings(**changes: object) -> Settings:
    return Settings(cache_dir=None, progress=False, **changes)  # type: ignore[arg-type]


# -- query analysis -------------------------------------------------------------------------
def test_the_analyzer_cleans_cuts_and_expands_a_question(index):
    analyzer = QueryAnalyzer(index.lexicon, lambda: {"summit"}, max_chars=30)
    assert analyzer.run("川\u200b金\x07會？").text == "川金 會？"
    assert analyzer.run("川金会在哪一天举行？").search_text == "川金會在哪一天舉行？"
    english = analyzer.run("Where is Camp Humphreys?")
    assert english.language == "en" and "漢弗萊斯營區" in english.expansion
    assert len(analyzer.run("問" * 100).text) == 30 and "first 30" in analyzer.notice("問" * 100)
    for bad in ("", " \u200b ", None):
        with pytest.raises(InvalidRequestError):
            analyzer.run(bad)  # type: ignore[arg-type]
    assert analyzer.previous(["川金會", "  "]).text == "川金會"  # the last question that can be read
    with pytest.raises(SettingsError):
        QueryAnalyzer(index.lexicon, set, max_chars=0)


def test_english_expansion_can_be_switched_off(index):
    analyzer = QueryAnalyzer(index.lexicon, set, expand_english=False)
    assert analyzer.run("Where is Camp Humphreys?").expansion == ()


# -- retrievers -----------------------------------------------------------------------------
def test_retrievers_run_every_retriever_and_reuse_a_given_vector(index):
    embedder = CountingEmbedder()
    retrievers = Retrievers(index, {"fake": embedder}, ["fake"], top_k=3)
    fake, sentences = RetrieverId("fake"), RetrieverId("fake", Granularity.SENTENCE)
    bm25, bm25_sentences = RetrieverId("bm25"), RetrieverId("bm25", Granularity.SENTENCE)
    assert retrievers.ids == (fake, sentences, bm25, bm25_sentences)
    query = analyze("川金會在哪裡舉行？")
    rankings, vectors = retrievers.run(query)
    assert set(rankings) == set(retrievers.ids) and all(len(h) <= 3 for h in rankings.values())
    assert embedder.queries == 1  # one vector serves the passages and the sentences
    again = retrievers.run(query, vectors=vectors, reads=lambda q, rid: rid != sentences)
    assert embedder.queries == 1 and sentences not in again.rankings and bm25_sentences in again.rankings
    assert again.rankings[fake] == rankings[fake]
    assert retrievers.embed(["a", "b"])["fake"].shape == (2, embedder.dim)


def test_retrievers_filter_by_document_and_check_their_settings(index):
    retrievers = Retrievers(index, {"fake": FakeHashEmbedder()})
    found = retrievers.run(analyze("川金會"), doc_ids={"other"})
    assert all(hits == [] for hits in found.rankings.values())
    with pytest.raises(SettingsError, match="not among the embedders"):
        Retrievers(index, {"fake": FakeHashEmbedder()}, ["use"])
    with pytest.raises(SettingsError, match="no vectors"):
        Retrievers(index, {"e5": FakeHashEmbedder(name="fake/other")})
    with pytest.raises(SettingsError, match="candidates"):
        Retrievers(index, {}, top_k=0)


# -- refusal policy -------------------------------------------------------------------------
def policy(document, index, **kw: object) -> RefusalPolicy:
    passages = [(p.doc_id, p.content) for p in index.passages]
    checks = ScopedChecks([(document.id, document.text)], passages, index.lexicon)
    options = {"floors": {"fake": 0.5}, "specific_checks": tuple(SpecificCheck), **kw}
    return RefusalPolicy(checks, **options)  # type: ignore[arg-type]


def cited(index, rows) -> list[Citation]:  # type: ignore[no-untyped-def]
    return [
        Citation(p.id, p.doc_id, "notes", p.section, p.content, p.start, p.end, 1.0)
        for p in (index.passages[r] for r in rows)
    ]


def test_a_floor_refuses_off_topic_questions_unless_they_name_only_the_documents_terms(document, index):
    judge = policy(document, index)
    low = {RetrieverId("fake"): [Hit(0, 0.1)], RetrieverId("fake", Granularity.SENTENCE): [Hit(0, 0.9)]}
    high = {RetrieverId("fake"): [Hit(0, 0.9)], RetrieverId("fake", Granularity.SENTENCE): [Hit(0, 0.1)]}
    citations = cited(index, [0])
    assert judge.run(analyze("今天天氣如何？"), low, [Hit(0, 1.0)], citations).refused
    assert not judge.run(analyze("今天天氣如何？"), high, [Hit(0, 1.0)], citations).refused  # passages only
    assert not judge.run(analyze("薩德是什麼？"), low, [Hit(0, 1.0)], citations).refused  # the documents' terms
    assert policy(document, index, floors={}).run(analyze("今天天氣如何？"), low, [Hit(0, 1.0)], citations) == (
        False,
        "",
    )
    assert judge.run(analyze("今天天氣如何？"), high, [], []).refused  # nothing to cite


def test_missing_specifics_refuse_with_a_reason_and_can_each_be_switched_off(document, index):
    rankings = {RetrieverId("fake"): [Hit(0, 0.9)]}
    citations = cited(index, range(len(index.passages)))
    question = analyze("2019年5月川普與金正恩在哪裡會面？")
    refusal = policy(document, index).run(question, rankings, [Hit(0, 1.0)], citations)
    assert refusal.refused and refusal.reason == "文件中未提及：2019年、2019年5月。"
    without_dates = policy(document, index, specific_checks=(SpecificCheck.PEOPLE,))
    assert not without_dates.run(question, rankings, [Hit(0, 1.0)], citations).refused
    count = analyze("川普的支持度是多少？")
    assert "支持度" in policy(document, index).run(count, rankings, [Hit(0, 1.0)], citations).reason
    assert policy(document, index, specific_checks=()).missing_specifics(count, citations) == ""
    with pytest.raises(SettingsError):
        policy(document, index, answer_passages=0)


# -- the pipeline and its builder -----------------------------------------------------------
def test_a_follow_up_is_searched_with_the_question_before_it(document):
    assistant = Assistant([document], settings(), embedders=[FakeHashEmbedder()])
    pipeline = assistant.pipeline
    alone = pipeline.find(Request("那是哪一年決定的？"))
    follow_up = pipeline.find(Request("那是哪一年決定的？", history=("薩德系統部署在哪裡？",)))
    assert follow_up.ranked != alone.ranked
    assert all(len(hits) <= 1 for hits in follow_up.rankings.values())  # each retriever's best of either
    self_contained = pipeline.find(Request("駐韓美軍有多少名？", history=("薩德系統部署在哪裡？",)))
    assert self_contained.ranked == pipeline.find(Request("駐韓美軍有多少名？")).ranked
    # the answer's sentences are weighed against both questions: the two vectors added at history_weight
    joined = pipeline.find(Request("薩德系統部署在哪裡？ 那是哪一年決定的？"))
    for key, vector in follow_up.vectors.items():
        expected = alone.vectors[key] + pipeline.history_weight * joined.vectors[key]
        assert np.allclose(vector, expected / np.linalg.norm(expected))
    ignoring = Assistant(
        [document], settings(ranking=RankingSettings(history_weight=0)), embedders=[FakeHashEmbedder()]
    )
    assert ignoring.pipeline.find(Request("那是哪一年決定的？", history=("薩德系統部署在哪裡？",))).ranked == (
        ignoring.pipeline.find(Request("那是哪一年決定的？")).ranked
    )


def test_history_may_be_none_and_is_checked(document):
    assistant = Assistant([document], settings(), embedders=[FakeHashEmbedder()])
    assert assistant.ask("川金會在哪裡舉行？", history=None).text == assistant.ask("川金會在哪裡舉行？").text
    with pytest.raises(InvalidRequestError, match="history"):
        assistant.ask("川金會在哪裡舉行？", history="薩德")
    with pytest.raises(InvalidRequestError, match="k must"):
        assistant.request("川金會", k=0)


def test_the_builder_keys_given_embedders_and_picks_the_ranking(document):
    embedder = FakeHashEmbedder()
    assert settings_key(embedder, ("e5", "use")) == embedder.name
    built = PipelineBuilder(settings(ranking=RankingSettings(fusion="rrf"))).run([document], [embedder])
    assert type(built.pipeline.ranker).__name__ == "RankFuser" and built.pipeline.adjuster is not None
    assert built.built and list(built.embedders) == [embedder.name]
    # the fitted ranking needs e5 and USE: with other embedders, the score fusion stands in
    logistic = PipelineBuilder(settings(ranking=RankingSettings(fusion="logistic"))).run([document], [embedder])
    assert type(logistic.pipeline.ranker).__name__ == "ScoreFuser"
    with pytest.raises(SettingsError, match="differ"):
        PipelineBuilder(settings()).run([document], [embedder, FakeHashEmbedder()])
    with pytest.raises(SettingsError, match="floors"):
        PipelineBuilder(settings(refusal=RefusalSettings(floors={"e5": 0.3}))).run([document], [embedder])


def test_ask_many_embeds_each_question_once(document):
    embedder = CountingEmbedder()
    assistant = Assistant([document], settings(), embedders=[embedder])
    before = embedder.queries
    answers = assistant.ask_many(["川金會在哪裡舉行？", "駐韓美軍有多少名？"])
    assert len(answers) == 2 and embedder.queries - before == 2
    assert [a.text for a in answers] == [assistant.ask(q).text for q in ("川金會在哪裡舉行？", "駐韓美軍有多少名？")]
    assert np.isfinite([c.score for a in answers for c in a.citations]).all()
