"""The English → Chinese lexicon: pairs the documents write, and CC-CEDICT entries they use."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from corpus.dates import chinese_dates, date_mentions
from index.lexicon import BilingualLexicon, DictionaryEntry, english_words, load_cedict, mine_pairs
from qa.abstention import MentionCheck


def test_pairs_written_in_the_text_are_mined():
    text = "外交部長康京和 (Kang Kyung-wha) 表示，史汀生研究中心（Stimson Center）指出。"
    pairs = dict(mine_pairs(text))
    assert pairs["史汀生研究中心"] == "Stimson Center"
    assert any(zh.endswith("康京和") and en == "Kang Kyung-wha" for zh, en in pairs.items())


def test_mined_terms_are_whole_words():
    words = ["以色列", "伊朗", "兩韓", "簽署", "和平", "協定", "包括", "國際", "原子能", "總署", "外交", "部長", "韓國"]
    dictionary = {w: (DictionaryEntry(w, w, ("a word",)),) for w in words}
    text = "以色列（Israel）與伊朗（Iran）對立。兩韓簽署和平協定（peace treaty）。包括國際原子能總署（IAEA）。"
    pairs = dict((en, zh) for zh, en in mine_pairs(text, dictionary))
    assert pairs == {"Israel": "以色列", "Iran": "伊朗", "peace treaty": "兩韓簽署和平協定", "IAEA": "國際原子能總署"}
    # a function word that stands as a word still ends the term
    assert mine_pairs("川普與以色列（Israel）", dictionary) == [("以色列", "Israel")]
    # too long, and no ending of whole words fits: the pair is left out rather than cut blindly
    assert mine_pairs("韓國外交部甲乙丙丁戊己（Someone）", dictionary) == []
    assert mine_pairs("包括國際原子能總署（IAEA）") == []  # without a dictionary no word is known


def test_the_dictionary_keeps_mined_terms_whole():
    pairs = dict((en, zh) for zh, en in mine_pairs("與以色列（Israel）簽署和平協定（peace treaty）", load_cedict()))
    assert pairs == {"Israel": "以色列", "peace treaty": "簽署和平協定"}


def test_english_words_are_stemmed_so_forms_meet():
    assert english_words("compensation") == english_words("compensate")
    assert english_words("the deployments of a missile") == english_words("deployment missiles")


def test_stemming_is_safe_when_questions_arrive_at_once():
    text = " ".join(["compensation denuclearization deployments negotiations inspectors agreements"] * 50)
    expected = english_words(text)
    with ThreadPoolExecutor(8) as pool:  # one shared Snowball stemmer mixed words up here, or raised
        assert all(words == expected for words in pool.map(lambda _: english_words(text), range(200)))


def test_only_dictionary_terms_the_documents_use_enter_the_lexicon():
    dictionary = {
        "停戰": (DictionaryEntry("停戰", "停战", ("to cease fire", "armistice", "truce")),),
        "休戰": (DictionaryEntry("休戰", "休战", ("armistice",)),),
        "川普": (DictionaryEntry("川普", "川普", ("(Tw) surname Trump",)),),
    }
    lexicon = BilingualLexicon.build(["韓戰停戰協定簽署65周年，川普表示。"], dictionary)
    assert lexicon.carry_over("When was the armistice?").terms == ["停戰"]  # 休戰 is not in the text
    assert lexicon.carry_over("What did Trump say?").terms == ["川普"]  # "surname" and "(Tw)" are not meaning
    assert lexicon.carry_over("weather in Paris").terms == []


def test_longer_phrases_win_over_their_words():
    lexicon = BilingualLexicon({"stimson center": ["史汀生研究中心"], "center": ["中心"]})
    assert lexicon.carry_over("the Stimson Center report").terms == ["史汀生研究中心"]


def test_chinese_terms_reach_the_words_of_english_documents():
    dictionary = {
        "視察員": (DictionaryEntry("視察員", "视察员", ("inspector",)),),
        "機械": (DictionaryEntry("機械", "机械", ("machinery", "machine")),),
        "機械化": (DictionaryEntry("機械化", "机械化", ("mechanization",)),),
        "天氣": (DictionaryEntry("天氣", "天气", ("weather",)),),
    }
    english = "Inspectors left in April 2009. Resolution 2397 banned exports of industrial machinery."
    lexicon = BilingualLexicon.build(["北韓核試的中文筆記。", english], dictionary)
    assert lexicon.bridges_to_english
    assert lexicon.to_english("视察员何时离开？") == ["inspectors"]  # Simplified too; the form the text uses
    assert lexicon.to_english("禁止出口哪些機械？") == ["machinery"]
    assert lexicon.to_english("今天天氣如何？") == []  # "weather" is not in the English text
    assert lexicon.carry_over("When did the inspectors leave?").terms == []  # English keys are not Chinese ones


def test_without_english_documents_chinese_questions_are_left_alone(chapter):
    lexicon = BilingualLexicon.build([chapter.text], load_cedict())
    assert not lexicon.bridges_to_english
    assert lexicon.to_english("國際原子能總署的視察員何時離開北韓？") == []


def test_the_chapter_lexicon_carries_english_questions_over(chapter):
    lexicon = BilingualLexicon.build([chapter.text], load_cedict())
    assert {"韓戰", "停戰"} <= set(
        lexicon.carry_over("Which anniversary of the Korean War armistice fell in 2018?").terms
    )
    assert "薩德" in lexicon.carry_over("THAAD deployment").terms
    assert "補償" in lexicon.carry_over("compensation for denuclearization").terms


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ("2019年6月特朗普與金正恩會面", {"y2019", "ym2019-6"}),
        ("6月12日舉行", {"md6-12"}),
        ("(3次：2018.4.27、2018.5.25)", {"y2018", "ym2018-4", "md4-27", "ym2018-5", "md5-25"}),
        ("on June 12, 2018 in Singapore", {"y2018", "md6-12", "ym2018-6"}),
        ("by 22 August", {"md8-22"}),
    ],
)
def test_dates_are_read_in_chinese_and_english_forms(text, keys):
    assert date_mentions(text) == keys


def test_english_dates_are_written_the_chinese_way():
    assert chinese_dates("the June 12, 2018 summit") == ["6月12日", "2018年6月"]


def test_a_question_about_unmentioned_specifics_is_caught():
    check = MentionCheck(["2018年6月12日舉行。7月4日發射火星-14型 (hwasong-14)。2019年美韓例行軍演。"])
    assert check.unknown("2019年6月特朗普與金正恩會面有何成果？") == ["ym2019-6"]
    assert check.unknown("When did North Korea first test the Hwasong-15?") == ["hwasong-15"]
    assert check.unknown("What did the Hwasong-14 test show?") == []
    assert check.unknown("川金會在2018年6月舉行了嗎？") == []
    assert check.unknown("What about the F-35 jets?") == []  # a family the documents never name in Latin letters


def test_people_glossed_by_full_name_are_found_by_one_name():
    dictionary = {
        "文在寅": (DictionaryEntry("文在寅", "文在寅", ("Moon Jae-in (1953-), Korean politician",)),),
        "普丁": (DictionaryEntry("普丁", "普丁", ("(Tw) Vladimir Putin (1952-), president of Russia",)),),
        "月亮": (DictionaryEntry("月亮", "月亮", ("the moon",)),),
    }
    lexicon = BilingualLexicon.build(["文在寅與普丁會面，月亮很圓。"], dictionary)
    assert lexicon.carry_over("What did Moon say?").terms == ["月亮", "文在寅"]  # the word's own entry first
    assert lexicon.carry_over("Moon Jae-in").terms == ["文在寅"]
    assert lexicon.carry_over("Putin").terms == ["普丁"]
    assert lexicon.carry_over("Seoul, capital of South Korea").terms == []


def test_hyphenated_glosses_meet_joined_words():
    dictionary = {"無核化": (DictionaryEntry("無核化", "无核化", ("to make nuclear-free", "to de-nuclearize")),)}
    lexicon = BilingualLexicon.build(["推動無核化"], dictionary)
    assert lexicon.carry_over("the denuclearization talks").terms == ["無核化"]


def test_coverage_counts_what_lexical_search_can_match():
    lexicon = BilingualLexicon({"compens": ["補償"], "pyongyang": ["平壤"]})
    carried = lexicon.carry_over("Pyongyang's compensation idiom in 2018")
    assert carried.terms == ["平壤", "補償"]
    assert carried.coverage == pytest.approx(3 / 4)  # pyongyang, compensation, 2018; not idiom
    known = lexicon.carry_over("Pyongyang's compensation idiom in 2018", {"idiom"}.__contains__)
    assert known.coverage == 1.0
    assert lexicon.carry_over("?").coverage == 1.0
