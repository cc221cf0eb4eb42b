"""What kind of answer a question asks for, whether a text holds one, and how much of a question a
text holds: the evidence that ranking and answer choice share (one definition of each)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from enum import Enum
from typing import NamedTuple

from corpus.characters import HAN_CHARACTER
from corpus.dates import date_mentions
from index.tokenize import tokenize

ASKS_DATE = re.compile(
    r"哪一?天|何時|何时|什麼時候|什么时候|[幾几](?:月|日|號|号|時|时)|哪一?年|日期|\bwhen\b|\bwhat date\b", re.I
)
"""A question that asks for a date: "哪一天", "幾月幾日", "什么时候", "when", "what date"."""
HOW_MANY_ZH = r"(?<!第)[幾几](?![月日號号時时點点乎])"
"""幾 asking for a number: not an ordinal (第幾), a date or hour (幾月, 幾時, 幾點), nor 幾乎 (almost)."""
# How a Chinese question (in search form: Traditional characters) asks for a number.
ASKS_QUANTITY_ZH = rf"多少|多大|多長|多长|多高|多遠|多远|多久|多重|{HOW_MANY_ZH}"
"""A Chinese question asking for a number: 多少, 多長, 幾 (as :data:`HOW_MANY_ZH`)."""
# What a Chinese question asks with rather than about: question words, particles, "tell me".
ZH_QUESTION_WORDS = re.compile(
    r"請問|請|告訴我|介紹一下|介紹|一下|為什麼|什麼|甚麼|為何|怎麼樣|怎麼|怎樣|如何|哪裡|哪兒|哪些|哪個|哪一|哪"
    r"|誰|多少|幾|嗎|呢|吧|啊|的|了|是|有|意思|指"
)


class AnswerType(Enum):
    """The kind of answer a question asks for, when its question words say so."""

    YEAR = "year"
    DATE = "date"
    NUMBER = "number"
    PERSON = "person"
    PLACE = "place"
    ORGANISATION = "organisation"


NAMES = (AnswerType.PERSON, AnswerType.PLACE, AnswerType.ORGANISATION)
"""The kinds of answer that are names (:func:`asked_name`); the others are dates and numbers (:func:`asked_type`)."""


_ASKS_YEAR = re.compile(
    r"哪一?年|何年|(?:西元|公元|民國|民国)\s*[幾几]\s*年|\b(?:what|which) years?\b|\bin what years?\b", re.I
)
ASKS_DAY = re.compile(
    r"哪一?天|哪一?日|[幾几]月[幾几][日號号]|[幾几][日號号]|\bwhat (?:date|day)\b|\bon which day\b", re.I
)
"""A question asking for a day, not only a month or a year."""
_ASKS_PERIOD = re.compile(
    r"哪一?[個个]?(?:世紀|世纪|年代|時期|时期|朝代)|什[麼么](?:年代|時期|时期|時間|时间)|何時期|何时期"
    r"|\b(?:what|which) (?:century|decade|period|era)\b",
    re.I,
)
"""A question asking for a time that is no day or year: a century, a decade, a period."""
_ASKS_NUMBER = re.compile(
    rf"{ASKS_QUANTITY_ZH}|\bhow (?:many|much|long|far|old|large|big|high)\b"
    r"|\bwhat (?:percentage|share|number|proportion|amount)\b"
    r"|\bwhat (?:is|was|were|are) (?:the |an? )?(?:[\w'’-]+ ){0,3}?"
    r"(?:number|amount|population|percentage|total|average|cost|price|rate|fees?|size|length|distance)\b",
    re.I,
)
_NUMBER = re.compile(r"\d|[一二三四五六七八九十百千萬億两兩]")


_TYPE_WORDS = (
    (AnswerType.YEAR, _ASKS_YEAR),
    (AnswerType.DATE, ASKS_DATE),
    (AnswerType.DATE, _ASKS_PERIOD),
    (AnswerType.NUMBER, _ASKS_NUMBER),
)
"""The question words of each kind, in the order they decide a Chinese question."""


def asked_type(question: str) -> AnswerType | None:
    """A year ("哪一年", "what year"), a date ("哪一天", "when") or a number ("多少", "how many").

    English puts its question word first, so there the earliest question word decides ("How old
    was he when …" asks for a number; "when" opens a clause); Chinese leaves it in place, so there
    a year outranks a date and a date a number."""
    found = [(m.start(), rank, kind) for rank, (kind, p) in enumerate(_TYPE_WORDS) if (m := p.search(question))]
    if not found:
        return None
    if HAN_CHARACTER.search(question):
        return min(found, key=lambda t: t[1])[2]
    return min(found)[2]


def holds_type(text: str, kind: AnswerType | None) -> bool:
    """Whether ``text`` holds an answer of ``kind``: a year; a month with its day or year (any form
    :func:`~corpus.dates.date_mentions` reads); a number in digits or Chinese numerals."""
    if kind is None:
        return False
    if kind is AnswerType.NUMBER:
        return bool(_NUMBER.search(text))
    keys = date_mentions(text)
    if kind is AnswerType.YEAR:
        return any(k.startswith("y") for k in keys)
    return any(k.startswith(("ym", "md")) for k in keys)


class QuestionTerms:
    """A question's search tokens, weighted as evidence: a bigram or word 2, a single character 1."""

    def __init__(self, text: str) -> None:
        tokens = set(tokenize(text))
        self.weights = {t: 2.0 if len(t) > 1 else 1.0 for t in tokens}
        self.total = sum(self.weights.values()) or 1.0

    def share(self, tokens: Iterable[str]) -> float:
        """The weighted share of the question's tokens among ``tokens`` (0 to 1)."""
        return sum(self.weights[t] for t in self.weights.keys() & tokens) / self.total


# -- names asked for -----------------------------------------------------------------------------

_ASKS_ORGANISATION = re.compile(
    r"哪(?:一?[個个家所])?(?:組織|组织|機構|机构|單位|单位|公司|政黨|政党|部門|部门|大學|大学|國際組織|国际组织|團體|团体|媒體|媒体|報紙|报纸)"
    r"|什[麼么](?:組織|组织|機構|机构|單位|单位|公司|政黨|政党|部門|部门|團體|团体)|哪家"
    r"|\b(?:which|what) (?:organi[sz]ation|agency|company|party|institution|body|group|department|ministry"
    r"|university|newspaper|team|think tank|firm|bank|council|committee)s?\b",
    re.I,
)
_ASKS_PERSON = re.compile(
    r"誰|谁|哪一?位|何人|什[麼么]人|哪[個个]人|哪些人"
    r"|\bwho(?:m)?\b|\b(?:which|what) (?:[\w-]+ ){0,3}?(?:person|people|leader|president|minister|official"
    r"|general|spokes\w*|scholar|author|king|emperor|queen|envoy|ambassador|diplomat|writer|scientist|player|artist)s?\b",
    re.I,
)
_ASKS_PLACE = re.compile(
    r"哪[裡里兒儿]|何[處处地]|在哪|什[麼么]地[方點点區区]"
    r"|哪一?[個个座]?(?:城市|國家|国家|地方|地區|地区|省|州|縣|县|島|岛|國|国|基地|港口|山|河)"
    r"|\bwhere\b|\b(?:which|what|in what) (?:city|country|place|town|region|province|state|island|river|base"
    r"|port|mountain|area|location|capital|county|district)s?\b",
    re.I,
)


def asked_name(question: str) -> AnswerType | None:
    """A person ("誰", "who"), a place ("哪裡", "where") or an organisation ("哪個機構", "which
    agency"); ``None`` when the question asks for none of them, or for a date or number first
    (:func:`asked_type` decides those)."""
    if asked_type(question) is not None:
        return None
    for kind, pattern in (
        (AnswerType.ORGANISATION, _ASKS_ORGANISATION),
        (AnswerType.PERSON, _ASKS_PERSON),
        (AnswerType.PLACE, _ASKS_PLACE),
    ):
        if pattern.search(question):
            return kind
    return None


def asked_kind(question: str) -> AnswerType | None:
    """What a short answer to ``question`` is: a date or number (:func:`asked_type`), else a name
    (:func:`asked_name`)."""
    return asked_type(question) or asked_name(question)


# -- spans of a text that are dates and numbers ----------------------------------------------------

_ZH_DIGITS = "〇零一二三四五六七八九"
_ZH_NUMERALS = f"{_ZH_DIGITS}十百千萬万億亿兩两"
_ERA = r"(?:公元前|公元|西元前|西元|紀元前|纪元前|民國|民国)"
_DATE_YEAR = rf"(?:{_ERA}\s*(?:\d{{1,4}}|[{_ZH_NUMERALS}]{{1,4}})|\d{{3,4}}|[{_ZH_DIGITS}]{{4}})\s*年"
_DATE_MONTH = r"(?:1[0-2]|0?[1-9]|十[一二]?|[一二三四五六七八九]|正)\s*月(?:份)?"
_DATE_DAY = r"(?:3[01]|[12]\d|0?[1-9]|三十一?|二?十[一二三四五六七八九]?|[一二三四五六七八九])\s*[日號号]"
_ONE_DATE = (
    r"\d{2,4}\s*年代|"
    rf"{_DATE_YEAR}(?:\s*{_DATE_MONTH}(?:\s*{_DATE_DAY})?)?|(?<![\d.]){_DATE_MONTH}(?:\s*{_DATE_DAY})?"
    r"|(?<![\d.])\d{4}\.\d{1,2}(?:\.\d{1,2})?(?![\d.])"
    rf"|(?:\d{{1,2}}|[{_ZH_NUMERALS}]{{1,3}})\s*世[紀纪](?:初|末|中葉|中叶|初期|中期|末期|前期|後期|后期|前半|後半|后半)?"
)
_DATE_SPAN = re.compile(
    rf"(?:{_DATE_YEAR}\s*)?{_DATE_MONTH}\s*\d{{1,2}}\s*(?:至|到|-|–|—|~|～)\s*\d{{1,2}}\s*[日號号]|"
    rf"(?:{_ONE_DATE})(?:\s*(?:至|到|-|–|—|~|～)\s*(?:{_ONE_DATE}|(?:3[01]|[12]\d|0?[1-9])\s*[日號号]|\d{{1,2}}(?![\d.])))?"
)
"""A date as Chinese text writes one: 2018年6月12日, 6月12日, 一九四五年, 民國38年, 2018.6.12, 19世紀, 1990年代,
and a range of them (9月18日至20日, 3月25至28日, 1950年至1953年)."""

_ARABIC = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_SCALE = r"[萬万億亿千百]+"
_APPROXIMATELY = (
    r"(?:大約|大约|約|约|將近|将近|接近|近|逾|超過|超过|至少|多達|多达|高達|高达|共計|共计|總共|总共|共|僅|仅|只有)"
)
_UNIT_WORDS = (
    "個 个 人 名 位 次 年 歲 岁 天 日 週 周 個月 个月 小時 小时 分鐘 分钟 秒 "
    "世紀 世纪 公里 千米 米 公尺 英里 英尺 海里 公分 厘米 釐米 毫米 公斤 千克 克 "
    "噸 吨 公頃 公顷 平方公里 平方米 平方公尺 公畝 英畝 元 美元 港元 港幣 港币 "
    "人民幣 人民币 英鎊 英镑 歐元 欧元 日圓 日元 日圆 韓元 韩元 新台幣 新台币 "
    "新臺幣 億 亿 萬 万 % ％ 度 倍 層 层 座 條 条 所 家 種 种 項 项 部 本 "
    "首 張 张 架 艘 輛 辆 枚 顆 颗 棵 匹 頭 头 隻 只 件 場 场 屆 届 期 集 "
    "章 卷 冊 册 頁 页 篇 字 號 号 代 級 级 國 国 省 縣 县 區 区 支 隊 队 "
    "門 门 輪 轮 批 發 发 具 份 筆 笔 間 间 成 戶 户 票 席 分 段 節 节 歩 "
    "步 架次 人次 餘人 余人 多人 萬人 万人 億人 亿人 方 處 处 道 句 片 株 艘次 "
    "美分 盧布 卢布 法郎 馬克 马克 兩 两 斤 公升 升 毫升 加侖 加仑 瓦 千瓦 兆瓦 "
    "伏 赫茲 赫兹 位元 字節 字节 GB MB KB km kg m "
)
"""What numbers count in: measure words and units, Traditional and Simplified."""
_UNITS = sorted(_UNIT_WORDS.split(), key=len, reverse=True)
_UNIT = "|".join(re.escape(u) for u in _UNITS)
UNIT_AFTER = re.compile(rf"\s*(?:多|餘|余)?\s*(?:{_UNIT})")
"""The unit a number written just before it counts in (as :func:`number_spans` reads one)."""
_ENGLISH_UNITS = {
    "second": "秒",
    "minute": "分 分鐘",
    "hour": "小時 時",
    "day": "天 日",
    "week": "週 周 星期",
    "month": "個月 月",
    "year": "年",
    "old": "歲",
    "age": "歲",
    "percent": "% ％",
    "percentage": "% ％",
    "kilometre": "公里 千米",
    "kilometer": "公里 千米",
    "mile": "英里 哩",
    "metre": "米 公尺",
    "meter": "米 公尺",
    "foot": "英尺 呎",
    "feet": "英尺 呎",
    "yard": "碼",
    "kilogram": "公斤 千克",
    "ton": "噸",
    "tonne": "噸",
    "dollar": "美元 元",
    "won": "韓元",
    "yuan": "元 人民幣",
    "people": "人 名 位",
    "person": "人 名 位",
    "troop": "名 人",
    "soldier": "名 人",
    "time": "次",
    "point": "分",
    "member": "名 人 位",
}
"""What a number counts in, by the English word a question measures it with, as Chinese writes it
(the Traditional forms; text is compared in search form)."""
_ENGLISH_MEASURED = re.compile(
    r"\bhow (?:many|much) (?:more |fewer |less )?([\w-]+)(?: ([\w-]+))?|\bhow (old|long)\b"
    r"|\b(?:number|amount) of ([\w-]+)|\b(percent(?:age)?)\b",
    re.I,
)


def asked_units(question: str) -> frozenset[str]:
    """The units (Chinese, search form) a question asks a number in: what follows 多少 / 幾
    ("多少名美軍" → 名美軍), or the Chinese units of the English word measured ("how many seconds"
    → 秒, "how old" → 歲); empty when it names none."""
    zh = re.search(rf"(?:{ASKS_QUANTITY_ZH})\s*(?:[個个])?\s*([^\s，。？?、]+)", question)
    if zh:
        return frozenset(u for u in _UNITS if zh.group(1).startswith(u))
    out: set[str] = set()
    for m in _ENGLISH_MEASURED.finditer(question):
        for word in m.groups():
            if word:
                word = word.lower()
                units = _ENGLISH_UNITS.get(word) or _ENGLISH_UNITS.get(word.removesuffix("s"), "")
                out.update(units.split())
    return frozenset(out)


_NUMBER_CORE = rf"(?:{_ARABIC})(?:\s*{_SCALE})?|[{_ZH_NUMERALS}]+"
_NUMBER_SPAN = re.compile(
    rf"(?P<approx>{_APPROXIMATELY})?(?P<number>{_NUMBER_CORE})(?P<more>多|餘|余|幾|几)?\s*(?P<unit>{_UNIT})?"
)
"""A number, perhaps approximate (約, 逾, 超過) and counting something (28,500名, 三次, 300多萬人, 16%)."""
_ZH_ONLY_NUMBER = re.compile(f"[{_ZH_NUMERALS}]+")


class Span(NamedTuple):
    """A stretch ``text[start:end]`` that may answer, and what it is."""

    start: int
    end: int
    kind: AnswerType
    unit: str = ""
    """For a number: what it counts in (名, 次, 公里), empty without one."""
    approximate: bool = False
    """For a number: written with a word such as 約 or 逾 before it."""


def date_spans(text: str) -> list[Span]:
    """The dates of ``text`` (see :data:`_DATE_SPAN`), each with its shorter readings: a range's
    first date, a full date's year (2018年6月12日 → 2018年, for "which year")."""
    out: list[Span] = []
    for m in _DATE_SPAN.finditer(text):
        out.append(Span(m.start(), m.end(), AnswerType.DATE))
        first = re.match(_ONE_DATE, m.group())
        if first and first.end() < len(m.group()):
            out.append(Span(m.start(), m.start() + first.end(), AnswerType.DATE))
        year = re.match(_DATE_YEAR, m.group())
        if year and year.end() < len(m.group()):
            out.append(Span(m.start(), m.start() + year.end(), AnswerType.DATE))
        digits = re.fullmatch(r"(\d{3,4})\s*年", m.group())
        if digits:  # a year alone, also without 年
            out.append(Span(m.start(), m.start() + digits.end(1), AnswerType.DATE))
    return out


def number_spans(text: str) -> list[Span]:
    """The numbers of ``text`` that are not part of a date, each as written with its unit and
    approximation word and in its shorter readings (約28,500名 → 28,500名, 28,500). A number in
    Chinese numerals counts only with its unit (三次, not 三 nor 統一)."""
    dates = [(s.start, s.end) for s in date_spans(text) if not re.fullmatch(r"\d{1,3}\s*年", text[s.start : s.end])]
    # a year of three digits or fewer may as well be a number of years (316年, 149年)
    out: list[Span] = []
    for m in _NUMBER_SPAN.finditer(text):
        start, end = m.start("number"), m.end("number")
        if any(a < end and start < b for a, b in dates):
            continue
        unit = m.group("unit") or ""
        chinese = _ZH_ONLY_NUMBER.fullmatch(m.group("number")) is not None
        if chinese and (not unit or m.group("number") == "一"):  # 一些, 一部分, 統一: rarely a count
            continue
        stop = m.end("unit") if unit else m.end("more") if m.group("more") else end
        readings = {(start, stop, unit)}  # with its unit: 28,500名, 三次
        if not chinese:
            readings.add((start, end, ""))  # digits alone: 28,500 (how many seconds? 17)
        if m.group("approx"):
            readings.add((m.start(), stop, unit))
        out += [Span(a, b, AnswerType.NUMBER, u, a < start) for a, b, u in sorted(readings)]
    return out


_DIGIT_VALUES = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "兩": 2, "两": 2}
_ZH_UNITS = {"十": 10, "百": 100, "千": 1000}
_ZH_SCALES = {"萬": 10**4, "万": 10**4, "億": 10**8, "亿": 10**8}


def number_value(text: str) -> float | None:
    """The value of a number as :func:`number_spans` finds one (28,500 → 28500, 三萬 → 30000,
    1.2億 → 120000000, 一九四五 → 1945); ``None`` when ``text`` holds none."""
    m = re.search(rf"(?P<arabic>{_ARABIC})\s*(?P<scale>{_SCALE})?|(?P<zh>[{_ZH_NUMERALS}]+)", text)
    if m is None:
        return None
    if m.group("arabic"):
        value = float(m.group("arabic").replace(",", ""))
        for c in m.group("scale") or "":
            value *= _ZH_SCALES.get(c, _ZH_UNITS.get(c, 1))
        return value
    zh = m.group("zh")
    if all(c in _DIGIT_VALUES for c in zh) and len(zh) > 1:  # 一九四五, read digit by digit
        return float("".join(str(_DIGIT_VALUES[c]) for c in zh))
    total, section, digit = 0, 0, 0
    for c in zh:
        if c in _DIGIT_VALUES:
            digit = _DIGIT_VALUES[c]
        elif c in _ZH_UNITS:
            section += (digit or 1) * _ZH_UNITS[c]
            digit = 0
        elif c in _ZH_SCALES:
            total = (total + section + digit) * _ZH_SCALES[c]
            section = digit = 0
    return float(total + section + digit)


def written_number(value: float) -> str:
    """A number as English writes it: 28,500; 1.5; 150 billion (1500億); 12.5 million."""
    for scale, word in ((10**9, "billion"), (10**6, "million")):
        if value >= scale:
            return f"{value / scale:,.2f}".rstrip("0").rstrip(".") + f" {word}"
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}".rstrip("0")


def digits_of(text: str) -> set[str]:
    """The runs of Arabic digits in ``text`` (full-width read as half-width, thousands separators
    dropped): what says that a question already names a number."""
    return set(re.findall(r"\d+", unicodedata.normalize("NFKC", text).replace(",", "")))
