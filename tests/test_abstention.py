"""Refusing questions about specifics the documents never give: dates read in their year, people
the dictionary knows, and numbers of things no sentence counts (qa.abstention)."""

import pytest
from conftest import FakeHashEmbedder

from corpus import DocumentLoader
from corpus.dates import YearContext, anchored_dates, date_mentions
from index.lexicon import BilingualLexicon, english_words, load_cedict_people
from qa import Assistant, Settings
from qa.abstention import (
    MentionCheck,
    PersonCheck,
    describe,
    missing_reason,
    quantity_focus,
    states_quantity,
)
from qa.config import RefusalSettings
from qa.evidence import DateMatcher
from qa.language import analyze


def test_a_month_without_a_year_reads_in_the_year_named_before_it():
    keys = anchored_dates("2017年北韓試射飛彈。韓國外長康京和10月10日表示不追加部署。")
    assert "ym2017-10" in keys and "md10-10" in keys
    # a month with its own year is that year's only
    assert "ym2017-6" not in anchored_dates("2017年。2018年6月12日川金會。")
    assert "ym2018-6" in anchored_dates("2017年。2018年6月12日川金會。")
    assert anchored_dates("In 2018, on July 1 he said so.") >= {"y2018", "ym2018-7", "md7-1"}
    assert "ym2018-7" not in anchored_dates("7月1日，2018年")  # no year before the month


def test_a_look_ahead_year_does_not_hide_the_texts_own_year():
    keys = anchored_dates("2018年，盼於2021年1月完成無核化。川普9月26日表示不設時限。")
    assert {"ym2021-9", "ym2018-9"} <= keys  # the two last years both count


def test_years_carry_over_a_documents_passages_in_order():
    context = YearContext()
    assert "ym2017-10" not in context.read("外長康京和10月10日表示")
    context.read("2017年，中國反對薩德。")
    assert "ym2017-10" in context.read("外長康京和10月10日表示")


def test_date_matching_reads_a_month_in_the_year_an_earlier_passage_named():
    passages = ["2017年中國反對薩德部署。", "外長10月10日承諾三不。", "2018年10月有會談。", "外長10月10日又說。"]
    matcher = DateMatcher(passages, ["a", "a", "b", "c"])
    scores = matcher.run(analyze("What did the foreign minister promise in October 2017?"))
    assert 1 in scores and 3 not in scores  # passage 3 is another document, which names no 2017
    assert 1 not in DateMatcher(passages).run(analyze("What did the foreign minister promise in October 2017?"))
    with pytest.raises(ValueError):
        DateMatcher(passages, ["a"])


@pytest.mark.parametrize(
    ("text", "years"),
    [
        ("北韓有2000枚飛彈嗎？", set()),  # Chinese writes a year with 年
        ("在2018，雙方會面", set()),
        ("2018年雙方會面", {"y2018"}),
        ("2016、2017年與2018-2019年", {"y2016", "y2017", "y2018", "y2019"}),
        ("於2018.6.12會面", {"y2018"}),
        ("援引自“Talks resume,” The Daily, 2018。", {"y2018"}),
        ("Does North Korea have 2000 missiles?", set()),
        ("It sent about 2000 troops, more than 1900 people.", set()),
        ("What happened in 2019?", {"y2019"}),
        ("Was 2019's summit a failure?", {"y2019"}),
        ("Who met in June 2019 and mid-2020?", {"y2019", "y2020"}),
        ("What came of the 2018 talks?", {"y2018"}),
        ("2017 was a tense year (see Lee, 2018).", {"y2017", "y2018"}),
    ],
)
def test_a_number_is_a_year_only_when_written_as_one(text, years):
    assert {k for k in date_mentions(text) if k.startswith("y") and "-" not in k} == years


def test_a_question_about_a_count_is_not_refused_for_an_unmentioned_year():
    check = MentionCheck(["2018年北韓試射飛彈。"])
    assert check.unknown("北韓有2000枚飛彈嗎？") == []
    assert check.unknown("Does North Korea have 2000 missiles?") == []
    assert check.unknown("2000年北韓試射飛彈嗎？") == ["y2000"]


def test_may_and_march_name_a_month_only_beside_a_day_or_year():
    assert not {"ym2018-5", "ym2018-3"} & anchored_dates("In 2018 Kim said he may visit; protests could mar the talks.")
    assert not {"ym2018-3"} & anchored_dates("In 2018 thousands march in Seoul.")
    assert {"ym2018-5", "md5-12", "ym2018-3", "md3-3"} <= anchored_dates("In 2018, on May 12 and on 3 Mar they met.")
    assert "ym2018-6" in anchored_dates("In 2018, in June, they met.")  # a month that is no other word
    assert date_mentions("They met in May 2018.") >= {"ym2018-5"}


def test_a_month_the_documents_name_in_an_earlier_year_is_not_unknown():
    check = MentionCheck(["2017年北韓試射。外長10月10日承諾。2018年7月1日波頓受訪。"])
    assert check.unknown("What did Seoul promise Beijing in October 2017?") == []
    assert check.unknown("Who said in early July 2018 that it could take a year?") == []
    assert check.unknown("2019年2月河內峰會為何破局？") == ["y2019", "ym2019-2"]


def test_the_dictionary_knows_people_and_only_people():
    people = load_cedict_people()
    assert people["普丁"].names == ("vladimir", "putin")
    assert people["安倍晉三"].names == ("abe", "shinzo")
    assert "一戰" not in people  # World War I (1914-1918): dated, not a person
    assert "樂天" not in people  # Lotte, and also "carefree"


@pytest.fixture
def people() -> PersonCheck:
    texts = ["川普與金正恩在新加坡會面。", "John Bolton said so."]
    lexicon = BilingualLexicon({"trump": ["川普"], "kim": ["金正恩"], "jongun": ["金正恩"]})
    return PersonCheck(texts, lexicon, {w for t in texts for w in english_words(t)})


@pytest.mark.parametrize(
    ("question", "unknown"),
    [
        ("日本首相安倍晋三对新加坡峰会作何反应？", ["安倍晉三"]),
        ("普京与金正恩的首次峰会在哪里举行？", ["普京"]),
        ("What did Shinzo Abe say about the Singapore summit?", ["Shinzo Abe"]),
        ("How did Vladimir Putin react?", ["Vladimir Putin"]),
        ("What was Shinzo Abe's reaction?", ["Shinzo Abe"]),
        ("特朗普在新加坡说了什么？", []),  # the documents write 川普, glossed "Trump"
        ("What did Donald Trump say in Singapore?", []),
        ("What did Kim Jong-un promise?", []),
        ("What did John Bolton say?", []),  # written in English in the documents
        ("What did Abe say?", []),  # one word names no one for sure
        ("Who is Otto Warmbier?", []),  # someone the dictionary does not know is left alone
    ],
)
def test_people_the_documents_never_mention(people, question, unknown):
    assert people.unknown(analyze(question)) == unknown


@pytest.mark.parametrize(
    ("question", "focus"),
    [
        ("開城工業園區關閉時，共有多少家南韓企業進駐？", "南韓企業進駐"),
        ("文在寅的施政支持度是多少？", "施政支持度"),
        ("駐韓美軍陸海空部隊有多少人？", "駐韓美軍陸海空部隊"),
        ("北韓在2017年進行了幾次核子試爆？", "核子試爆"),
        ("談判進行了幾輪？", "談判進行"),
        ("禁飛區範圍有多大？", "禁飛區範圍"),
        ("川金會是幾月幾日舉行的？", None),  # a date, not a number
        ("第幾屆安保會議在華府舉行？", None),  # an ordinal
        ("北韓幾乎每月試射飛彈，為什麼？", None),
        ("為什麼北京反對薩德？", None),
    ],
)
def test_what_a_chinese_question_counts(question, focus):
    assert quantity_focus(question) == focus


def test_a_number_must_be_said_of_the_thing_counted():
    sentences = ["執政的共同民主黨以58%得票率贏得選舉。", "韓國國內民調對《板門店宣言》持肯定態度。"]
    assert not states_quantity("施政支持度", sentences)  # a number, but of votes; 支持 without a number
    assert states_quantity("得票率", sentences)
    assert states_quantity("核子試爆", ["北韓提高核試頻率（2016年2次；2017年1次）。"])
    assert states_quantity("財團", ["文在寅率領韓國四大財團訪問平壤。"])  # a number in Chinese numerals
    assert not states_quantity("財團", ["文在寅2018年9月18日率領財團訪問平壤。"])  # only a date


@pytest.mark.parametrize(
    ("key", "english", "chinese"),
    [
        ("ym2019-6", "June 2019", "2019年6月"),
        ("md6-12", "June 12", "6月12日"),
        ("y2019", "2019", "2019年"),
        ("hwasong-15", "Hwasong-15", "Hwasong-15"),
    ],
)
def test_missing_dates_and_designations_read_as_written(key, english, chinese):
    assert describe(key, "en") == english
    assert describe(key, "zh-Hant") == chinese


def test_a_refusal_says_what_is_missing_in_the_questions_language():
    assert missing_reason("en", ["June 2019", "Shinzo Abe"]) == "It never mentions June 2019 or Shinzo Abe."
    assert missing_reason("zh-Hant", ["2019年6月", "安倍晉三"]) == "文件中未提及：2019年6月、安倍晉三。"
    assert missing_reason("zh-Hans", [], "施政支持度") == "最接近的段落中没有「施政支持度」的数字。"
    assert missing_reason("en", []) == ""


def test_refusing_missing_specifics_can_be_turned_off(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("2018年6月12日川普與金正恩在新加坡會面，發表聯合聲明。駐韓美軍共28,500名。\n", encoding="utf-8")
    [document] = DocumentLoader().run([path])

    def assistant(**kw: object) -> Assistant:
        settings = Settings(cache_dir=None, progress=False, **kw)
        return Assistant([document], settings, embedders=[FakeHashEmbedder()])

    on = assistant()
    refused = on.ask("普丁對新加坡會面有何看法？")
    assert refused.abstained and refused.text.endswith("文件中未提及：普丁。") and refused.citations
    assert on.ask("川普的支持度是多少？").text.endswith("最接近的段落中沒有「支持度」的數字。")
    assert not on.ask("駐韓美軍有多少名？").abstained
    assert not on.ask("川普在新加坡與誰會面？").abstained
    off = assistant(refusal=RefusalSettings(specific_checks=()))
    assert not off.ask("普丁對新加坡會面有何看法？").abstained
    assert not off.ask("川普的支持度是多少？").abstained
