"""Bibliographic references: sentences that say where something was published, not what happened.

A reference rarely answers a question, unless the question asks for a source ("出自哪家媒體",
"according to which report", not "According to Bolton, who …"); retrieval and the answer picker
both tell the two apart.
"""

from __future__ import annotations

import re

from corpus.characters import HAN
from index.sentences import sentence_spans

_REFERENCE = re.compile(
    r"^(援引自|引自|參見|参见|資料來源|资料来源|同註|同注)"  # a footnote that cites
    r"|https?://"  # a web address
    r"|[“\"][^”\"]{8,}[,，]\s*[”\"].*\b(?:19|20)\d\d\b"  # “Title,” Publisher, October 31, 2018
)
# Asking for a source: WHERE something was published or reported ("出自哪家媒體", "資料來源是",
# "哪份報告", "which newspaper", "according to which report", "what is the source of the figure"),
# or WHO made a figure or table ("是誰繪製的", "作者是誰", "who drew the chart"). Not naming a
# source ("據《韓國中央日報》報導", "According to Bolton, who …"), nor words that only look alike:
# 製作 (to make), 資金來源, 作者認為, 哪份協議, "sources of tension", "who made the decision".
_INFO_NOUN = (
    r"(?:figure|number|estimate|statistic|data|claim|quote|quotation|information"
    r"|chart|graph|table|map|diagram|report|statement|photo|image)s?"
)
"""What a source is asked of: a figure or table, a number, a claim or quote."""
_ASKS_SOURCE = re.compile(
    r"出自(?:哪|何|誰|谁)|出處|出处|資料來源|资料来源|消息來源|消息来源|引自哪|引自何|援引自哪"
    rf"|哪[家個个份篇則则些][{HAN}]{{0,4}}?(?:媒體|媒体|報紙|报纸|報社|报社|通訊社|通讯社|報告|报告|報導|报道|新聞|新闻|文章|文件|資料|资料|研究|刊物)"
    r"|(?:誰|谁)(?:製作|制作|繪製|绘制|編製|编制|整理|報導|报道)|(?:作者|製作者|制作者|繪製者|绘制者)是(?:誰|谁)"
    r"|\baccording to (?:which|what|whom)\b"
    r"|\b(?:which|what) (?:\w+ )?(?:reports?|media|outlets?|newspapers?|papers?|news agency|news agencies|publications?"
    r"|articles?|websites?|sources?(?! of\b))\b"
    rf"|\bsources? (?:of|for) (?:the |this |that |these |those )?(?:[\w,.'’-]+ )?{_INFO_NOUN}\b"
    r"|\bwho (?:first )?(?:reported|compiled)\b|\bwho (?:is|was|are|were) the authors?\b"
    rf"|\bwho (?:drew|made|created|prepared|produced|designed) (?:the |this |that )?(?:[\w'’-]+ )?{_INFO_NOUN}\b",
    re.I,
)


def is_reference(sentence: str) -> bool:
    """Whether a sentence is a bibliographic reference (a cited title, a web address, 援引自…)."""
    return bool(_REFERENCE.search(sentence))


def asks_for_source(question: str) -> bool:
    """Whether a question asks where something was published or reported, or who made it (a
    figure's credit line, 資料來源：…繪製, is a reference too)."""
    return bool(_ASKS_SOURCE.search(question))


def reference_share(text: str) -> float:
    """The share of a passage's sentence characters that lie in references (0 to 1)."""
    spans = sentence_spans(text)
    total = sum(b - a for a, b in spans)
    if not total:
        return 0.0
    return sum(b - a for a, b in spans if is_reference(text[a:b])) / total
