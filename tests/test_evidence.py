"""Dates and bibliographic references in ranking: DateMatcher, EvidenceAdjuster, qa.references."""

import math

import pytest

from qa.config import RankingSettings
from qa.evidence import DateMatcher, EvidenceAdjuster
from qa.language import AnalyzedQuery
from qa.references import asks_for_source, is_reference, reference_share
from qa.retrieval import Hit

PASSAGES = [
    "雙方迄2018年9月20日歷經7輪談判，仍未形成共識。",
    "2018年韓美舉行多次談判。",
    "2018年6月12日川金會在新加坡舉行。",
    "韓美防衛費分攤談判。",
    "援引自“North Korea reportedly makes specific denuclearization proposal,” The Hankyoreh, 2018。",
]


def query(text: str, language: str = "zh-Hant", expansion: tuple[str, ...] = ()) -> AnalyzedQuery:
    return AnalyzedQuery(text, language, text, expansion)  # type: ignore[arg-type]


def test_a_rare_date_weighs_more_than_a_common_year():
    scores = DateMatcher(PASSAGES).run(query("截至2018年9月20日談判進行了幾輪？"))
    # y2018 is in 4 of 5 passages, ym2018-9 and md9-20 in one only
    year = math.log(5 / 4) / math.log(5)
    assert scores[0] == pytest.approx(year + 2 * math.log(5) / math.log(5))
    assert scores[1] == pytest.approx(year) and scores[2] == pytest.approx(year)
    assert 3 not in scores
    assert max(scores, key=scores.__getitem__) == 0


def test_english_dates_meet_chinese_ones():
    scores = DateMatcher(PASSAGES).run(query("What happened on June 12, 2018?", "en"))
    assert max(scores, key=scores.__getitem__) == 2
    assert DateMatcher(PASSAGES).run(query("談判進行了幾輪？")) == {}


def test_only_the_given_rows_are_scored():
    assert set(DateMatcher(PASSAGES).run(query("2018年"), rows={1, 3})) == {1}


def test_references_are_told_from_prose():
    assert is_reference("援引自《韓民族日報》。")
    assert is_reference("“Security Meeting Examines Wartime Control,” U.S. Department of Defense, October 31, 2018")
    assert is_reference("見 <https://media.defense.gov/2018/Oct/31/>")
    assert not is_reference("美國國防部長馬提斯8月28日表示，沒有暫停演習的規劃。")
    assert not is_reference("He said “we will talk,” and left.")  # a quotation without a date is no citation
    assert reference_share(PASSAGES[4]) == 1.0 and reference_share(PASSAGES[0]) == 0.0
    mixed = "南韓負擔9600億韓元。“S. Korea, U.S. to hold talks on sharing costs,” Yonhap, March 7, 2018"
    assert 0 < reference_share(mixed) < 1
    assert reference_share("") == 0.0


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        ("這個消息出自哪家媒體？", True),
        ("Which newspaper reported the proposal?", True),
        ("According to which source did North Korea offer five steps?", True),
        ("那張示意圖是誰製作的？", True),
        ("Who made the chart of the parties' relations?", True),
        ("北韓提出了哪五項前提？", False),
        ("What did North Korea propose?", False),
        # a question that names its source asks about what the source says
        ("According to Bolton's interview, who proposed the one-year timeline?", False),
        ("据《韩国中央日报》报道，金正恩曾向蓬佩奥提出哪两种方案？", False),
        ("What did Kim Jong-un reportedly offer Pompeo?", False),
        # where something was published, or who made a figure or table
        ("這段引文出自哪裡？", True),
        ("這張表的資料來源是什麼？", True),
        ("哪份報告提到飛彈的數量？", True),
        ("這張地圖是誰繪製的？", True),
        ("這份報告的作者是誰？", True),
        ("What is the source of the casualty figures?", True),
        ("Who compiled the table of sanctions?", True),
        # the same words about something else
        ("工業園區的資金來源是什麼？", False),
        ("北韓如何製作核彈？", False),
        ("作者認為北韓會放棄核武嗎？", False),
        ("哪份協議規定了非軍事區？", False),
        ("What are the sources of tension on the peninsula?", False),
        ("What is the source of tension between the two Koreas?", False),
        ("Who made the decision to withdraw?", False),
        ("Which agency inspects nuclear sites?", False),
    ],
)
def test_questions_asking_for_a_source(question, asks):
    assert asks_for_source(question) is asks


def test_references_sink_unless_a_source_is_asked_for():
    adjuster = EvidenceAdjuster(PASSAGES, date_weight=0.0, reference_penalty=0.25, source_boost=1.0)
    hits = [Hit(4, 1.0), Hit(3, 0.9)]
    assert [h.row for h in adjuster.run(query("北韓提出了哪五項方案？"), hits)] == [3, 4]
    boosted = adjuster.run(query("北韓的方案出自哪家媒體？"), [Hit(3, 1.0), Hit(4, 0.5)])
    assert boosted[0] == Hit(4, 1.5)


def test_dates_lift_passages_already_found_only():
    adjuster = EvidenceAdjuster(PASSAGES, date_weight=2.0)
    adjusted = adjuster.run(query("截至2018年9月20日談判進行了幾輪？"), [Hit(3, 1.0), Hit(0, 0.6), Hit(1, 0.5)])
    assert adjusted[0].row == 0
    assert {h.row for h in adjusted} == {0, 1, 3}  # passage 2 also has 2018 but was not a candidate
    no_dates = EvidenceAdjuster(PASSAGES, date_weight=0.0)
    assert no_dates.run(query("截至2018年9月20日？"), [Hit(3, 1.0), Hit(0, 0.6)])[0].row == 3


def test_evidence_weights_are_checked():
    with pytest.raises(ValueError, match="non-negative"):
        EvidenceAdjuster(PASSAGES, date_weight=-1)
    with pytest.raises(ValueError, match="non-negative"):
        RankingSettings(reference_penalty=-0.1)


def test_the_date_weight_can_depend_on_the_question_language():
    adjuster = EvidenceAdjuster(PASSAGES, date_weight=lambda language: 2.0 if language == "en" else 0.0)
    dated = [Hit(3, 1.0), Hit(0, 0.6)]
    assert adjuster.run(query("截至2018年9月20日談判進行了幾輪？"), dated)[0].row == 3
    assert adjuster.run(query("What happened on September 20, 2018?", "en"), dated)[0].row == 0
