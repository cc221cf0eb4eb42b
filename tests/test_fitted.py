"""The fitted models: JSON round trip, validation, the features they read, and the shipped files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qa.answering import SENTENCE_FEATURES
from qa.evidence import DateMatcher
from qa.fitted import LinearModel, ModelError, fusion_weights, load_model
from qa.language import analyze
from qa.question_types import AnswerType, QuestionTerms, asked_type, holds_type
from qa.ranking import FEATURES, CandidateFeatures, FittedRanker
from qa.refusal import REFUSAL_FEATURES, RefusalJudge, unsupported_reason
from qa.retrieval import Hit, RetrieverId


def model(features: tuple[str, ...], coef: list[float], threshold: float | None = None) -> LinearModel:
    n = len(features)
    return LinearModel(features, np.array(coef, dtype=float), 0.0, np.zeros(n), np.ones(n), threshold)


def test_a_model_round_trips_through_json(tmp_path):
    original = model(("a", "b"), [1.5, -2.0], threshold=0.3)
    path = tmp_path / "m.json"
    original.save(path)
    loaded = LinearModel.from_dict(json.loads(path.read_text("utf-8")))
    assert loaded.features == ("a", "b") and loaded.threshold == 0.3
    x = np.array([[1.0, 2.0], [0.0, -1.0]])
    assert np.allclose(loaded.logits(x), [-2.5, 2.0])
    assert np.allclose(loaded.probabilities(x), 1 / (1 + np.exp(-np.array([-2.5, 2.0]))))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"format": 99}, "format"),
        ({"format": 1, "features": ["a"]}, "missing or damaged"),
        ({"format": 1, "features": ["a"], "coef": [1, 2], "intercept": 0, "mean": [0], "scale": [1]}, "coef"),
        ({"format": 1, "features": ["a"], "coef": [1], "intercept": 0, "mean": [0], "scale": [0]}, "scale"),
        (
            {"format": 1, "features": ["a", "a"], "coef": [1, 1], "intercept": 0, "mean": [0, 0], "scale": [1, 1]},
            "distinct",
        ),
        (
            {"format": 1, "features": ["a"], "coef": [1], "intercept": 0, "mean": [0], "scale": [1], "threshold": 2},
            "threshold",
        ),
    ],
)
def test_a_damaged_model_is_refused_with_what_is_wrong(data, message):
    with pytest.raises(ModelError, match=message):
        LinearModel.from_dict(data)


def test_a_model_fitted_on_other_features_is_refused():
    with pytest.raises(ModelError, match="refit"):
        FittedRanker(model(("a",), [1.0]), CandidateFeatures([], DateMatcher([]), {}))
    subset = FittedRanker(model(("dates", "bm25 scaled"), [1.0, 1.0]), CandidateFeatures([], DateMatcher([]), {}))
    assert [FEATURES[i] for i in subset.columns] == ["dates", "bm25 scaled"]


@pytest.mark.parametrize(
    ("name", "features"), [("ranking", FEATURES), ("answer", SENTENCE_FEATURES), ("refusal", REFUSAL_FEATURES)]
)
def test_the_shipped_models_read_the_pipelines_features(name, features):
    shipped = load_model(name)
    assert set(shipped.features) <= set(features)
    assert shipped.notes and shipped.notes["fitted_on"] and shipped.notes["held_out"]
    if name == "refusal":
        RefusalJudge(shipped)  # has its threshold


def test_the_ranker_orders_candidates_by_the_models_probability():
    texts = ["首爾是南韓的首都。", "平壤是北韓的首都，2018年9月舉行文金會。", "無關的段落。"]
    features = CandidateFeatures(texts, DateMatcher(texts), {})
    weights = [0.0] * len(FEATURES)
    weights[FEATURES.index("bm25 scaled")] = 1.0
    weights[FEATURES.index("dates")] = 5.0
    ranker = FittedRanker(model(FEATURES, weights), features)
    rankings = {RetrieverId("bm25"): [Hit(0, 3.0), Hit(1, 2.0), Hit(2, 1.0)]}
    plain = ranker.run(analyze("首都在哪裡？"), rankings)
    assert [h.row for h in plain] == [0, 1, 2] and all(0 < h.score < 1 for h in plain)
    dated = ranker.run(analyze("2018年9月在哪裡舉行？"), rankings)
    assert dated[0].row == 1  # the date feature outweighs BM25's lead
    rows, x = features.run(analyze("How many capitals?"), rankings)
    assert list(rows) == [0, 1, 2]
    assert x.shape == (3, len(FEATURES))
    assert x[0, FEATURES.index("en: bm25 scaled")] == 1.0  # English questions fill the English copy
    assert x[0, FEATURES.index("en: bm25 1/rank")] == 1.0 and x[2, FEATURES.index("en: bm25 1/rank")] == 1 / 3
    assert features.holds(1, AnswerType.YEAR) and not features.holds(0, AnswerType.YEAR)


def test_answer_types_and_what_holds_them():
    assert asked_type("川金會在哪一天舉行？") is AnswerType.DATE
    assert asked_type("What year was it signed?") is AnswerType.YEAR
    assert asked_type("駐韓美軍有多少人？") is AnswerType.NUMBER
    assert asked_type("北韓幾乎每月試射飛彈嗎？") is None
    assert asked_type("Why did the talks stall?") is None
    assert holds_type("on June 12, 2018 they met", AnswerType.DATE)
    assert not holds_type("in 2018 they met", AnswerType.DATE)
    assert holds_type("in 2018 they met", AnswerType.YEAR)
    assert holds_type("共有三萬名", AnswerType.NUMBER) and not holds_type("沒有數字", AnswerType.NUMBER)


def test_question_terms_weigh_pairs_above_single_characters():
    terms = QuestionTerms("南韓首都")
    assert terms.share(terms.weights) == 1.0
    assert terms.share(["南", "韓"]) < terms.share(["南韓"]) + terms.share(["南"])
    assert terms.share([]) == 0.0


def test_a_refusal_says_what_the_passages_never_mention():
    assert unsupported_reason("en", ["Hanoi"]) == "The closest passages never mention Hanoi."
    assert unsupported_reason("en", ["Hanoi", "Biegun"]) == "The closest passages never mention Hanoi or Biegun."
    assert unsupported_reason("zh-Hant", ["河內"]) == "最接近的段落沒有提到：河內。"
    assert unsupported_reason("zh-Hans", ["河內"]) == "最接近的段落没有提到：河内。"
    assert "似乎" in unsupported_reason("zh-Hant", [])


def test_the_default_fusion_weights_are_the_fitted_ones():
    from qa import Settings
    from qa.ranking import MEMBERS
    from qa.retrieval import DATES

    weights = fusion_weights()
    assert set(weights) == {"zh-Hant", "zh-Hans", "en"}
    for table in weights.values():
        assert set(table) == {*map(str, MEMBERS), DATES} and all(w >= 0 for w in table.values())
        assert table["bm25"] == 1.0  # the scale the others were fitted against
    assert Settings(cache_dir=None).fusion_weights() == weights
