import pytest

from qa.retrieval import Hit, RankFuser


def test_rrf_scores_are_weighted_reciprocal_ranks():
    fuser = RankFuser({"en": {"a": 2.0, "b": 1.0}}, k=10)
    fused = fuser.run({"a": [Hit(7, 0.9), Hit(3, 0.5)], "b": [Hit(3, 4.0)]}, "en")
    scores = dict(fused)
    assert scores[7] == pytest.approx(2.0 / 11)
    assert scores[3] == pytest.approx(2.0 / 12 + 1.0 / 11)
    assert [h.row for h in fused] == [3, 7]


def test_weights_depend_on_the_query_language():
    fuser = RankFuser({"en": {"dense": 1.0, "bm25": 0.0}, "zh-Hant": {"dense": 0.0, "bm25": 1.0}})
    rankings = {"dense": [Hit(1, 0.9)], "bm25": [Hit(2, 9.0)]}
    assert [h.row for h in fuser.run(rankings, "en")] == [1]
    assert [h.row for h in fuser.run(rankings, "zh-Hant")] == [2]


def test_unknown_retrievers_get_weight_one_and_ties_break_by_row():
    fused = RankFuser().run({"x": [Hit(5, 1.0)], "y": [Hit(4, 1.0)]}, "zh-Hans")
    assert [h.row for h in fused] == [4, 5]
    assert fused[0].score == pytest.approx(1 / 61)


def test_invalid_fusion_settings_are_rejected():
    with pytest.raises(ValueError):
        RankFuser(k=-1)
    with pytest.raises(ValueError):
        RankFuser({"en": {"a": -0.5}})


def test_score_fusion_sums_min_max_normalised_scores():
    from qa.retrieval import ScoreFuser

    fuser = ScoreFuser({"zh-Hant": {"bm25": 1.0, "e5:sentences": 0.5}})
    rankings = {
        "bm25": [Hit(1, 20.0), Hit(2, 12.0), Hit(3, 4.0)],
        "e5:sentences": [Hit(3, 0.91), Hit(2, 0.90), Hit(1, 0.81)],
    }
    scores = dict(fuser.run(rankings, "zh-Hant"))
    assert scores[1] == pytest.approx(1.0)
    assert scores[2] == pytest.approx(0.5 + 0.5 * 0.9)
    assert scores[3] == pytest.approx(0.5)
    assert [h.row for h in fuser.run(rankings, "zh-Hant")] == [1, 2, 3]


def test_score_fusion_handles_single_and_empty_lists():
    from qa.retrieval import ScoreFuser

    fused = ScoreFuser().run({"bm25": [Hit(4, 3.0)], "use": []}, "en")
    assert fused == [Hit(4, 1.0)]


def test_settings_name_a_known_fusion():
    from qa import Settings

    assert Settings(fusion="rrf").fusion == "rrf"
    with pytest.raises(ValueError, match="fusion"):
        Settings(fusion="max")
