"""The extractive answerer: which sentences may answer, what it reads of each, how it chooses."""

import numpy as np
import pytest

from index.sentences import sentence_spans
from qa.answering import SENTENCE_FEATURES, ExtractiveAnswerer, answer_candidates, sentence_features, split_sentences
from qa.fitted import LinearModel
from qa.language import analyze
from qa.model import Citation


def citation(text: str, n: int = 1, section: tuple[str, ...] = ("（三）協商軍費分攤",)) -> Citation:
    return Citation(f"p{n}", "doc", "doc", section, text, 1000 * n, 1000 * n + len(text))


def test_a_semicolon_inside_brackets_does_not_end_a_sentence():
    text = "面對北韓提高核試頻率（2016年2次；2017年1次）與飛彈試射。第二句；第三句。「甲；乙」丙。"
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "面對北韓提高核試頻率（2016年2次；2017年1次）與飛彈試射。",
        "第二句；",
        "第三句。",
        "「甲；乙」丙。",
    ]
    # an unclosed bracket holds back semicolons only up to the next full stop
    assert len(sentence_spans("（未完；仍在括號內。新的一句；最後一句。")) == 3


def feature(question: str, sentence: str, name: str) -> float:
    """One of :data:`SENTENCE_FEATURES` of ``sentence`` for ``question`` (no embedders: cosines 0)."""
    sentences = split_sentences(citation(sentence))
    return float(sentence_features(analyze(question), sentences, {})[0, SENTENCE_FEATURES.index(name)])


def test_a_sentence_holding_the_dates_asked_about_says_so():
    question = "截至2018年9月20日，防衛費分攤談判進行了幾輪？"
    assert feature(question, "雙方迄2018年9月20日歷經7輪談判。", "dates asked") == 1.0
    assert feature(question, "韓國自1991年起每年商議分擔駐韓美軍費用。", "dates asked") == 0.0
    assert feature(question, "雙方迄2018年9月20日歷經7輪談判。", "answer type") == 1.0  # 幾輪 asks for a number


@pytest.mark.parametrize("date", ["on June 12, 2018", "on 12 June 2018", "in June 2018", "on 12 June"])
def test_a_date_written_in_english_is_the_kind_of_answer_a_when_question_asks_for(date):
    assert feature("When did the leaders meet in Singapore?", f"The leaders met in Singapore {date}.", "answer type")
    assert not feature("When did the leaders meet in Singapore?", "The leaders met in Singapore.", "answer type")


@pytest.mark.parametrize("question", ["北韓幾乎每月試射飛彈嗎？", "北韩几乎每月试射飞弹吗？", "北韓第幾次試射飛彈？"])
def test_almost_and_ordinals_do_not_ask_for_a_number(question):
    assert feature(question, "北韓每月試射飛彈，共有16次。", "answer type") == 0.0
    assert feature("北韓每月試射幾次飛彈？", "北韓每月試射飛彈，共有16次。", "answer type") == 1.0


def test_a_credit_line_is_a_candidate_only_when_a_maker_or_source_is_asked_for():
    passage = citation("圖8-1朝鮮半島主要利益當事國互動關係圖\n\n資料來源：陳蒿堯整理繪製。", section=("貳、變化",))
    asked = [s.text for s in answer_candidates(analyze("這張圖是誰製作的？"), [passage])]
    assert any("陳蒿堯整理繪製" in t for t in asked)
    other = [s.text for s in answer_candidates(analyze("這張圖畫的是什麼？"), [passage])]
    assert not any("資料來源" in t for t in other)


def test_headings_are_never_answers():
    passage = citation("（三）協商軍費分攤\n雙方歷經7輪談判。")
    assert [s.text for s in answer_candidates(analyze("談判進行了幾輪？"), [passage])] == ["雙方歷經7輪談判。"]


def test_the_answer_is_the_likeliest_sentence_and_a_second_only_at_even_odds_or_better():
    # A test double of the fitted model: it reads only "question terms", so the test is about choosing.
    n = len(SENTENCE_FEATURES)
    coef = np.zeros(n)
    coef[SENTENCE_FEATURES.index("question terms")] = 10.0
    model = LinearModel(SENTENCE_FEATURES, coef, -2.0, np.zeros(n), np.ones(n))
    passage = citation("首爾是南韓的首都。平壤位於大同江畔。天氣很好。")
    one = ExtractiveAnswerer(model).run(analyze("平壤位於哪條江畔？"), [passage])
    assert one.text == "平壤位於大同江畔。 [1]"  # the others are below even odds
    twice = citation("平壤位於大同江畔。大同江畔的平壤是首都。天氣很好。")
    both = ExtractiveAnswerer(model).run(analyze("平壤位於哪條江畔？"), [twice])
    assert [q.text for q in both.quotes] == ["平壤位於大同江畔。", "大同江畔的平壤是首都。"]


@pytest.mark.slow
def test_the_shipped_answer_model_picks_the_answering_sentence_with_its_cosines(real_assistant):
    answer = real_assistant.ask("截至2018年9月20日，韓美防衛費分攤談判進行了幾輪？")
    assert "7輪" in answer.text.replace(" ", "")
