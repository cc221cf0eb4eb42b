"""The extractive answerer and the sentences it quotes (no model: lexical scores and bonuses only)."""

import pytest

from index.sentences import sentence_spans
from qa.answering import ExtractiveAnswerer
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


def test_the_sentence_with_the_dates_asked_about_is_the_answer():
    passage = citation(
        "韓國自1991年起每年依據防衛費分攤特別協定商議分擔駐韓美軍費用。雙方迄2018年9月20日歷經7輪談判，仍未形成共識。"
    )
    question = analyze("截至2018年9月20日，防衛費分攤談判進行了幾輪？")
    answer = ExtractiveAnswerer(max_sentences=1).run(question, [passage])
    assert "歷經7輪談判" in answer.text


def test_a_question_asking_who_made_a_figure_gets_its_credit_line():
    passage = citation("圖8-1朝鮮半島主要利益當事國互動關係圖\n\n資料來源：陳蒿堯整理繪製。", section=("貳、變化",))
    answer = ExtractiveAnswerer(max_sentences=1).run(analyze("這張圖是誰製作的？"), [passage])
    assert "陳蒿堯整理繪製" in answer.text
    other = ExtractiveAnswerer(max_sentences=1).run(analyze("這張圖畫的是什麼？"), [passage])
    assert "資料來源" not in other.text  # a credit line is no answer to anything else


@pytest.mark.parametrize("date", ["on June 12, 2018", "on 12 June 2018", "in June 2018", "on 12 June"])
def test_a_date_written_in_english_answers_a_question_asking_when(date):
    passage = citation(f"The leaders met in Singapore after long talks.\nThe leaders met in Singapore {date}.")
    answer = ExtractiveAnswerer(max_sentences=1).run(analyze("When did the leaders meet in Singapore?"), [passage])
    assert date in answer.text


@pytest.mark.parametrize("question", ["北韓幾乎每月試射飛彈嗎？", "北韩几乎每月试射飞弹吗？", "北韓第幾次試射飛彈？"])
def test_almost_and_ordinals_do_not_ask_for_a_number(question):
    passage = citation("北韓每月試射飛彈，次次從未停止。北韓每月試射飛彈，共有16次。")
    answer = ExtractiveAnswerer(max_sentences=1).run(analyze(question), [passage])
    assert "從未停止" in answer.text
    counted = ExtractiveAnswerer(max_sentences=1).run(analyze("北韓每月試射幾次飛彈？"), [passage])
    assert "16次" in counted.text  # a question asking how many does credit the number
