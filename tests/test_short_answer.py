"""The fact first (qa.short_answer) and the reader's script (qa.reader_script), on text written here."""

import numpy as np
import pytest

from qa.evaluation import exact_match, span_f1, squad_normalize
from qa.fitted import LinearModel, load_model
from qa.language import analyze
from qa.model import Answer, Citation, Quote
from qa.question_types import (
    AnswerType,
    asked_kind,
    asked_name,
    asked_type,
    asked_units,
    date_spans,
    number_spans,
    number_value,
    written_number,
)
from qa.reader_script import ReaderScript
from qa.short_answer import SHORT_FEATURES, ShortAnswerer, english_date, short_candidates


def texts(text, spans):
    return [text[s.start : s.end] for s in spans]


def test_dates_are_found_with_their_shorter_readings():
    text = "兩國於2019年3月5日簽約，並於7月1日至3日、一九五〇年及20世紀末會面。"
    found = texts(text, date_spans(text))
    assert {"2019年3月5日", "2019年", "7月1日至3日", "7月1日", "一九五〇年", "20世紀末"} <= set(found)
    assert not date_spans("他們有3年的經驗")  # a number of years is a span of time, not a date


def test_numbers_are_found_with_unit_and_approximation_but_not_inside_dates():
    text = "2019年共有約12,400名旅客，三次延誤，佔16.5%。"
    found = texts(text, number_spans(text))
    assert {"12,400名", "約12,400名", "三次", "16.5%"} <= set(found)  # a number with its unit
    assert "2019" not in found and "三" not in found
    assert not number_spans("統一的一些看法")  # 一 alone or without a unit is no count


def test_a_number_in_digits_is_also_read_without_its_unit():
    text = "比賽還剩 17 秒，共有三次暫停。"
    found = texts(text, number_spans(text))
    assert {"17", "17 秒", "三次"} <= set(found)  # SQuAD-style answers often leave the unit out
    assert "三" not in found and "17 " not in found  # Chinese numerals only with their unit


@pytest.mark.parametrize(
    "question, kind",
    [
        ("How old was the captain when he retired?", AnswerType.NUMBER),  # "when" opens a clause
        ("How many ships were there when the war began?", AnswerType.NUMBER),
        ("When did the war begin, and how many ships were there?", AnswerType.DATE),
        ("In what years was the bridge closed?", AnswerType.YEAR),
        ("What was the city's population in 1901?", AnswerType.NUMBER),
        ("港口在哪一年有多少艘貨輪？", AnswerType.YEAR),  # Chinese: a year outranks a number
    ],
)
def test_an_english_question_asks_for_what_its_first_question_word_asks(question, kind):
    assert asked_type(question) is kind


def test_the_units_a_question_measures_in():
    assert asked_units("How many seconds were left?") == {"秒"}
    assert asked_units("How old was she?") == {"歲"}
    assert asked_units("港口有多少艘貨輪？") == {"艘"}
    assert asked_units("What percentage of the vote did they win?") == {"%", "％"}
    assert asked_units("How much did it cost?") == set()  # no unit named


def test_number_values_and_their_english_form():
    assert number_value("12,400名") == 12400
    assert number_value("三萬") == 30000
    assert number_value("1.5億") == 150_000_000
    assert number_value("兩百零五") == 205
    assert number_value("一九五〇") == 1950
    assert written_number(12400.0) == "12,400" and written_number(2.5) == "2.5"
    assert written_number(number_value("1500億")) == "150 billion"
    assert written_number(number_value("1,250萬")) == "12.5 million"


@pytest.mark.parametrize(
    "question, kind",
    [
        ("這座橋是誰設計的？", AnswerType.PERSON),
        ("Who designed the bridge?", AnswerType.PERSON),
        ("博物館位於哪裡？", AnswerType.PLACE),
        ("In what city is the museum?", AnswerType.PLACE),
        ("哪個機構負責維護？", AnswerType.ORGANISATION),
        ("Which agency maintains it?", AnswerType.ORGANISATION),
        ("這座橋有多長？", AnswerType.NUMBER),  # a number comes first
        ("這座橋為什麼封閉？", None),
    ],
)
def test_the_kind_of_answer_a_question_asks_for(question, kind):
    assert asked_kind(question) is kind


def test_a_date_or_number_question_asks_for_no_name():
    assert asked_name("誰在哪一年設計了這座橋？") is None
    assert asked_kind("誰在哪一年設計了這座橋？") is AnswerType.YEAR


def test_english_dates():
    assert english_date("2019年3月5日") == "March 5, 2019"
    assert english_date("2019年3月") == "March 2019"
    assert english_date("3月5日") == "March 5"
    assert english_date("2019年") == "2019"
    assert english_date("7月1日至3日") is None  # a range is shown as written


def nearest_model() -> LinearModel:
    """A stand-in for the fitted model: the stretch after the question's terms, a full date, a number
    with its unit, a paired name, never a stretch the question names (the same weights for each
    family, in any language)."""
    weights = {
        "question terms before": 2.0,
        "in question": -5.0,
        "has unit": 0.5,
        "date asked, holds day": 1.0,
        "person asked, person name": 1.0,
        "name paired with english": 1.0,
    }
    coef = np.zeros(len(SHORT_FEATURES))
    for i, name in enumerate(SHORT_FEATURES):
        coef[i] = weights.get(name.split(": ")[-1], 0.0)
    n = len(SHORT_FEATURES)
    return LinearModel(SHORT_FEATURES, coef, 0.0, np.zeros(n), np.ones(n))


def answer_to(question: str, sentence: str, start: int = 500) -> Answer:
    citation = Citation("p1", "doc", "doc", (), sentence, start, start + len(sentence))
    quote = Quote("p1", 1, sentence, start, start + len(sentence))
    return Answer(question, f"{sentence} [1]", False, (citation,), (quote,), analyze(question).language)


def test_the_short_answer_is_a_stretch_of_the_quote_with_document_offsets():
    question = "2019年港口的旅客有多少人？"
    sentence = "2019年港口的旅客有12,400名，貨輪則有300艘。"
    answer = ShortAnswerer(nearest_model()).run(analyze(question), answer_to(question, sentence))
    assert answer.short == "12,400名"
    assert answer.short_quote is not None
    quote = answer.short_quote
    assert sentence[quote.start - 500 : quote.end - 500] == quote.text == "12,400名"
    assert quote.citation_id == "p1" and quote.marker == 1


def test_an_english_question_gets_the_date_in_english_first():
    question = "When did the harbour reopen?"
    sentence = "港口於2019年3月5日重新開放（harbour reopen）。"
    answer = ShortAnswerer(nearest_model()).run(analyze(question), answer_to(question, sentence))
    assert answer.short == "March 5, 2019 (2019年3月5日)"


def test_a_name_is_shown_in_the_english_the_documents_give_it():
    question = "Who designed the bridge?"
    sentence = "大橋由林志遠設計，於2001年完工。"
    documents = {"doc": "設計者林志遠（Lin Chih-yuan）生於臺南。" + sentence}
    answerer = ShortAnswerer(nearest_model(), documents)
    answer = answerer.run(analyze(question), answer_to(question, "大橋由林志遠（Lin Chih-yuan）設計。"))
    assert answer.short is not None and answer.short.startswith("Lin Chih-yuan (")
    assert answer.short_quote is not None and "林志遠" in answer.short_quote.text


def test_no_stretch_of_the_kind_asked_for_means_no_short_answer():
    question = "港口有多少艘貨輪？"
    answer = ShortAnswerer(nearest_model()).run(analyze(question), answer_to(question, "港口的貨輪大多來自外國。"))
    assert answer.short is None and answer.short_quote is None
    why = "港口為什麼重新開放？"  # asks for no date, number or name
    assert short_candidates(analyze(why), answer_to(why, "港口於2019年重新開放。").quotes) == (None, [])


def test_a_refusal_gets_no_short_answer():
    question = "港口有多少艘貨輪？"
    refused = Answer(question, "文件中沒有找到這個問題的答案。", True, (), (), "zh-Hant")
    assert ShortAnswerer(nearest_model()).run(analyze(question), refused).short is None


def test_the_shipped_model_reads_the_features_the_pipeline_computes():
    model = load_model("short_answer")
    assert set(model.features) <= set(SHORT_FEATURES)


def test_squad_scoring_normalises_width_punctuation_and_script():
    assert squad_normalize("２０１９年　3月，") == "2019年3月"
    assert exact_match("貨輪３００艘。", ["货轮300艘"])
    assert not exact_match(None, ["300艘"])
    assert span_f1("300艘", ["300"]) == pytest.approx(2 * 0.75 / 1.75)
    assert span_f1("March 5", ["March 5, 2019"]) == pytest.approx(0.8)


def test_a_simplified_question_is_shown_simplified_while_citations_stay_the_documents():
    question = "港口在哪一年重新开放？"
    sentence = "港口於2019年重新開放，軟體系統也更新了。"
    answer = ShortAnswerer(nearest_model()).run(analyze(question), answer_to(question, sentence))
    shown = ReaderScript().run(answer)
    assert shown.script == "zh-Hans"
    assert shown.shown_text == "港口于2019年重新开放，软件系统也更新了。 [1]"  # mainland phrasing: 軟體 → 软件
    assert shown.shown_passages == ("港口于2019年重新开放，软件系统也更新了。",)
    assert shown.citations == answer.citations and shown.quotes == answer.quotes
    assert shown.display_text == shown.shown_text and shown.passage_shown(0) == shown.shown_passages[0]


def test_a_traditional_or_english_question_is_shown_as_the_documents_write():
    for question in ("港口在哪一年重新開放？", "When did the harbour reopen?"):
        answer = answer_to(question, "港口於2019年重新開放。")
        shown = ReaderScript().run(answer)
        assert shown.script == "" and shown.shown_text == "" and shown.display_text == answer.text
