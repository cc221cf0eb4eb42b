"""Bibliographic references: sentences that say where something was published, not what happened.

A reference rarely answers a question, unless the question asks for a source ("出自哪家媒體",
"according to which report", not "According to Bolton, who …"); retrieval and the answer picker
both tell the two apart.
"""

from __future__ import annotations

import re

from index.sentences import sentence_spans

_REFERENCE = re.compile(
    r"^(援引自|引自|參見|参见|資料來源|资料来源|同註|同注)"  # a footnote that cites
    r"|https?://"  # a web address
    r"|[“\"][^”\"]{8,}[,，]\s*[”\"].*\b(?:19|20)\d\d\b"  # “Title,” Publisher, October 31, 2018
)
# Asking for a source, not naming one: "出自哪家媒體", "which newspaper", "according to which report";
# but not "據《韓國中央日報》報導，…", "According to Bolton, who …" or "what did X reportedly say".
_ASKS_SOURCE = re.compile(
    r"出自|出處|出处|來源|来源|引自|援引|哪家媒|哪個媒體|哪个媒体|哪[份篇]|誰報導|谁报道|製作|制作|繪製|绘制|作者"
    r"|\bsources?\b|\baccording to (?:which|what|whom)\b"
    r"|\b(?:which|what) (?:\w+ )?(?:report|media|outlet|newspaper|paper|agency|publication|article|website)s?\b"
    r"|\bwho (?:reported|made|drew|compiled|created|prepared|produced)\b",
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
