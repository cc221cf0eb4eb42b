"""The off-topic model's evidence (``qa.off_topic``) and where the refusal policy reads it."""

import numpy as np
import pytest

from index.lexicon import BilingualLexicon, english_words
from index.tokenize import tokenize
from qa.abstention import ScopedChecks
from qa.config import RefusalSettings
from qa.errors import SettingsError
from qa.fitted import LinearModel, load_model
from qa.language import analyze
from qa.off_topic import OFF_TOPIC_FEATURES, CollectionTerms, OffTopicJudge, off_topic_features
from qa.question_types import QuestionTerms
from qa.refusal_policy import RefusalPolicy
from qa.retrieval import Granularity, Hit, RetrieverId

PASSAGES = [("notes", "駐韓美軍約有28,500名，部署於平澤的漢弗萊斯營區。"), ("notes", "新加坡峰會於6月12日舉行。")]
E5, USE, BM25 = RetrieverId("e5"), RetrieverId("use"), RetrieverId("bm25")


def written(texts: list[str], lexicon: BilingualLexicon | None = None) -> CollectionTerms:
    tokens = {t for text in texts for t in tokenize(text) if len(t) > 1}
    english = {w for text in texts for w in english_words(text)}
    return CollectionTerms(tokens.__contains__, english.__contains__, lexicon or BilingualLexicon())


def rankings(e5: float, use: float) -> dict:
    return {E5: [Hit(0, e5)], USE: [Hit(0, use)], BM25: [Hit(1, 3.0)], RetrieverId("e5", Granularity.SENTENCE): []}


def test_the_collection_holds_a_chinese_questions_terms_without_its_question_words():
    terms = written([text for _, text in PASSAGES])
    held, total = terms.held(analyze("駐韓美軍有多少名？"))  # 駐韓 韓美 美軍; 有, 多少 are question words
    assert held == total >= 3
    held, total = terms.held(analyze("蘋果公司的創辦人是誰？"))
    assert held == 0 and total > 0


def test_an_english_word_is_held_through_a_chinese_term_the_collection_writes():
    lexicon = BilingualLexicon({"summit": ["峰會"], "pyongyang": ["平壤"]})
    terms = written([text for _, text in PASSAGES], lexicon)
    assert terms.held(analyze("When was the summit?")) == (1, 1)
    assert terms.held(analyze("Pyongyang summit in 2018")) == (2, 3)  # 平壤 is not written; a number is held


def test_the_features_read_each_retrievers_best_passage_and_the_collection():
    terms = written([text for _, text in PASSAGES])
    query = analyze("新加坡峰會在哪一天舉行？")
    x = off_topic_features(query, rankings(0.85, 0.4), terms, lambda row: tokenize(PASSAGES[row][1]))
    assert x is not None and x.shape == (len(OFF_TOPIC_FEATURES),)
    named = dict(zip(OFF_TOPIC_FEATURES, x, strict=True))
    assert named["e5 best cosine"] == 0.85 and named["use best cosine"] == 0.4
    share = QuestionTerms(query.expanded_text).share(tokenize(PASSAGES[1][1]))  # BM25's best, the dense ones' is 0
    assert share > QuestionTerms(query.expanded_text).share(tokenize(PASSAGES[0][1]))
    assert named["question terms in the best passages"] == share
    held, total = terms.held(query)
    assert 0 < held < total  # 一天 is not written
    assert named["question terms in the collection"] == held / total
    assert named["question terms not in the collection"] == pytest.approx(np.log1p(total - held))
    assert not any(v for k, v in named.items() if k.startswith("en: "))  # copies only for English questions
    assert off_topic_features(query, {E5: [Hit(0, 0.9)]}, terms, lambda row: ()) is None  # no USE ranking


def one_feature_model(
    feature: str, weight: float, intercept: float = 0.0, threshold: float | None = 0.5
) -> LinearModel:
    """A stand-in for the fitted model (the policy is what is tested): one feature decides."""
    coef = np.array([weight if f == feature else 0.0 for f in OFF_TOPIC_FEATURES])
    n = len(OFF_TOPIC_FEATURES)
    return LinearModel(OFF_TOPIC_FEATURES, coef, intercept, np.zeros(n), np.ones(n), threshold)


def test_the_policy_refuses_what_the_model_judges_off_topic_unless_the_documents_hold_every_term():
    checks = ScopedChecks([("notes", "".join(t for _, t in PASSAGES))], PASSAGES, BilingualLexicon())
    # judges off-topic when the USE cosine is low: p = sigmoid(-10 * (cosine - 0.5))
    judge = OffTopicJudge(one_feature_model("use best cosine", -10.0, intercept=5.0))
    policy = RefusalPolicy(checks, floors={}, specific_checks=(), off_topic=judge)
    unrelated = analyze("蘋果公司的創辦人是誰？")
    assert policy.off_topic(unrelated, rankings(0.85, 0.3))
    assert not policy.off_topic(unrelated, rankings(0.85, 0.7))
    assert not policy.off_topic(analyze("什麼是漢弗萊斯營區？"), rankings(0.85, 0.3))  # every term is the documents'
    assert not RefusalPolicy(checks, floors={}, specific_checks=()).off_topic(unrelated, rankings(0.85, 0.3))


def test_the_model_does_not_judge_a_collection_that_holds_english_documents():
    english = "Inspectors of the International Atomic Energy Agency left the country in April 2009."
    lexicon = BilingualLexicon({"視察員": ["inspectors"]})  # reaches English documents (as from CC-CEDICT)
    assert lexicon.bridges_to_english
    checks = ScopedChecks([("notes", english)], [("notes", english)], lexicon)
    judge = OffTopicJudge(one_feature_model("use best cosine", -10.0, intercept=5.0))
    policy = RefusalPolicy(checks, floors={}, specific_checks=(), off_topic=judge)
    assert not policy.off_topic(analyze("國際原子能總署的視察人員何時離開北韓？"), rankings(0.85, 0.3))


def test_the_judge_needs_a_threshold_and_the_shipped_model_has_one():
    with pytest.raises(ValueError, match="threshold"):
        OffTopicJudge(one_feature_model("use best cosine", 1.0, threshold=None))
    shipped = load_model("off_topic")
    OffTopicJudge(shipped)
    assert set(shipped.features) <= set(OFF_TOPIC_FEATURES)
    assert "CMRC 2018 trial" not in shipped.notes["fitted_on"]  # the other collection's set stays out of the fit


@pytest.mark.parametrize("name", ["", "  ", 3])
def test_the_off_topic_model_setting_is_a_name_or_none(name):
    with pytest.raises(SettingsError, match="off_topic_model"):
        RefusalSettings(off_topic_model=name)
    assert RefusalSettings(off_topic_model=None).off_topic_model is None
