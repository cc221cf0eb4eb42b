"""Fusion of the retrievers' rankings (qa.fusion) and typed retriever ids (qa.retrieval)."""

import pytest

from qa.errors import SettingsError
from qa.fusion import FusionWeights, RankFuser, ScoreFuser
from qa.language import AnalyzedQuery, analyze
from qa.retrieval import Granularity, Hit, RetrieverId

A, B = RetrieverId("a"), RetrieverId("b")
BM25, E5_SENTENCES = RetrieverId("bm25"), RetrieverId("e5", Granularity.SENTENCE)


def english(coverage: float = 1.0) -> AnalyzedQuery:
    return AnalyzedQuery("q", "en", "q", lexical_coverage=coverage)


def test_retriever_ids_read_and_write_as_in_weight_tables():
    assert RetrieverId.parse("e5:sentences") == E5_SENTENCES and str(E5_SENTENCES) == "e5:sentences"
    assert RetrieverId.parse("st:intfloat/e5:sentences") == RetrieverId("st:intfloat/e5", Granularity.SENTENCE)
    assert RetrieverId.parse("bm25") == BM25 and BM25.is_lexical and f"{BM25} scaled" == "bm25 scaled"
    for bad in ("", "  ", None, 3):
        with pytest.raises(SettingsError):
            RetrieverId.parse(bad)


def test_rrf_scores_are_weighted_reciprocal_ranks():
    fuser = RankFuser({"en": {"a": 2.0, "b": 1.0}}, k=10)
    fused = fuser.run(english(), {A: [Hit(7, 0.9), Hit(3, 0.5)], B: [Hit(3, 4.0)]})
    scores = dict(fused)
    assert scores[7] == pytest.approx(2.0 / 11)
    assert scores[3] == pytest.approx(2.0 / 12 + 1.0 / 11)
    assert [h.row for h in fused] == [3, 7]


def test_weights_depend_on_the_query_language():
    fuser = RankFuser({"en": {"dense": 1.0, "bm25": 0.0}, "zh-Hant": {"dense": 0.0, "bm25": 1.0}})
    rankings = {RetrieverId("dense"): [Hit(1, 0.9)], BM25: [Hit(2, 9.0)]}
    assert [h.row for h in fuser.run(english(), rankings)] == [1]
    assert [h.row for h in fuser.run(analyze("北韓"), rankings)] == [2]
    assert not fuser.reads(english(), BM25) and fuser.reads(analyze("北韓"), BM25)


def test_unknown_retrievers_get_weight_one_and_ties_break_by_row():
    fused = RankFuser().run(analyze("北韩"), {A: [Hit(5, 1.0)], B: [Hit(4, 1.0)]})
    assert [h.row for h in fused] == [4, 5]
    assert fused[0].score == pytest.approx(1 / 61)


def test_invalid_fusion_settings_are_rejected():
    with pytest.raises(SettingsError, match="non-negative"):
        RankFuser(k=-1)
    with pytest.raises(SettingsError, match="non-negative"):
        RankFuser({"en": {"a": -0.5}})
    with pytest.raises(SettingsError, match="unknown language"):
        FusionWeights({"fr": {"a": 1.0}})
    with pytest.raises(SettingsError, match="date_weight"):
        FusionWeights({}, date_weight=-1)


def test_the_date_weight_is_per_language_with_a_fallback():
    weights = FusionWeights({"en": {"dates": 1.5, "bm25": 1.0}, "zh-Hant": {"bm25": 1.0}}, date_weight=0.25)
    assert weights.dates("en") == 1.5 and weights.dates("zh-Hant") == 0.25 and weights.dates("zh-Hans") == 0.25
    assert weights.named() == {BM25}


def test_score_fusion_sums_min_max_normalised_scores():
    fuser = ScoreFuser({"zh-Hant": {"bm25": 1.0, "e5:sentences": 0.5}})
    rankings = {
        BM25: [Hit(1, 20.0), Hit(2, 12.0), Hit(3, 4.0)],
        E5_SENTENCES: [Hit(3, 0.91), Hit(2, 0.90), Hit(1, 0.81)],
    }
    scores = dict(fuser.run(analyze("北韓"), rankings))
    assert scores[1] == pytest.approx(1.0)
    assert scores[2] == pytest.approx(0.5 + 0.5 * 0.9)
    assert scores[3] == pytest.approx(0.5)
    assert [h.row for h in fuser.run(analyze("北韓"), rankings)] == [1, 2, 3]


def test_score_fusion_handles_single_and_empty_lists():
    fused = ScoreFuser().run(english(), {BM25: [Hit(4, 3.0)], RetrieverId("use"): []})
    assert fused == [Hit(4, 1.0)]


def test_bm25_weighs_by_how_much_of_an_english_question_it_can_match():
    fuser = ScoreFuser({"en": {"bm25": 1.0, "e5:sentences": 0.5}})
    rankings = {BM25: [Hit(1, 9.0), Hit(2, 1.0)], E5_SENTENCES: [Hit(2, 0.9), Hit(1, 0.8)]}
    assert fuser.run(english(), rankings)[0].row == 1
    assert fuser.run(english(0.3), rankings)[0].row == 2
    assert dict(fuser.run(english(0.3), rankings))[1] == pytest.approx(0.3)
