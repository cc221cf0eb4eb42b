"""When the best passages do not answer: a refusal model fitted on public question sets.

``benchmarks/fit.py`` makes unanswerable questions from answerable ones by taking the question's own
paragraph out of what can be retrieved, and fits a logistic regression on what the retrieval found:
how sure the ranking is of its best passage and by what margin, each retriever's best cosine, how
much of the question the best passages hold, and whether they hold the kind of answer asked for.
Its threshold is set on the folds left out of the fit so that at most 2% of answerable questions are
refused there.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np

from corpus.characters import HAN
from corpus.script import to_simplified
from index.lexicon import MAX_HEADWORD_CHARS, BilingualLexicon, english_words, load_cedict
from index.tokenize import ENGLISH_STOPWORDS, normalize_for_search, tokenize
from qa.fitted import ThresholdJudge, english_copies, with_english_copies
from qa.language import AnalyzedQuery
from qa.question_types import ZH_QUESTION_WORDS, QuestionTerms, asked_type
from qa.ranking import DENSE_MEMBERS, CandidateFeatures
from qa.retrieval import Hit, Rankings

TOP = 3
"""How many of the best passages the evidence is read from."""
_BASE = (
    "best passage log-odds",
    "margin over the second",
    *(f"{m} best cosine" for m in DENSE_MEMBERS),
    "question terms in the best passage",
    "question terms in the best passages",
    "answer type asked, held",
    "answer type asked, not held",
    "question tokens",
)
REFUSAL_FEATURES = with_english_copies(_BASE)


def _log_odds(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def refusal_features(
    query: AnalyzedQuery, fused: Sequence[Hit], rankings: Rankings, candidates: CandidateFeatures
) -> np.ndarray:
    """The :data:`REFUSAL_FEATURES` of a question, from its fitted ranking (``fused``, scores are
    probabilities) and each retriever's ranking."""
    best = [h.row for h in fused[:TOP]]
    scores = [h.score for h in fused[:2]] + [0.0, 0.0]
    terms = QuestionTerms(query.expanded_text)
    shares = [terms.share(candidates.tokens(r)) for r in best] or [0.0]
    kind = asked_type(query.text)
    held = any(candidates.holds(r, kind) for r in best)
    base = np.array(
        [
            _log_odds(scores[0]),
            scores[0] - scores[1],
            *(rankings[m][0].score if rankings.get(m) else 0.0 for m in DENSE_MEMBERS),
            shares[0],
            max(shares),
            kind is not None and held,
            kind is not None and not held,
            math.log1p(len(terms.weights)),
        ],
        dtype=np.float64,
    )
    return english_copies(base, query.language)


class RefusalJudge(ThresholdJudge):
    """Whether to say the documents do not answer: the probability that the best passages do not
    answer, at or above the fitted model's threshold."""

    features = REFUSAL_FEATURES
    what = "the refusal model"


_HAN_RUN = re.compile(f"[{HAN}]{{2,}}")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
MAX_NAMED = 3


def unheld_terms(query: AnalyzedQuery, texts: Sequence[str], lexicon: BilingualLexicon) -> list[str]:
    """What the question asks about that none of ``texts`` (the best passages) holds, as the question
    writes it: Chinese words (CC-CEDICT's, longest first) and English words the passages hold in
    neither language (through ``lexicon``); at most three."""
    out: list[str] = []
    if query.language == "en":
        held = set().union(*(tokenize(t) for t in texts)) if texts else set()
        passages = " ".join(texts)
        for word in dict.fromkeys(_LATIN_WORD.findall(query.text)):
            stems = [w for w in english_words(word) if len(w) > 2]
            if not stems or word.lower() in ENGLISH_STOPWORDS:
                continue
            chinese = [t for w in stems for t in lexicon.terms.get(w, ())]
            if not (set(stems) & held) and not any(normalize_for_search(t) in passages for t in chinese):
                out.append(word)
        return out[:MAX_NAMED]
    passages = normalize_for_search("".join(texts))
    dictionary = load_cedict()
    for run in _HAN_RUN.findall(ZH_QUESTION_WORDS.sub("，", normalize_for_search(query.search_text))):
        i = 0
        while i < len(run):  # the longest dictionary word at each place
            n = next(
                (n for n in range(min(MAX_HEADWORD_CHARS, len(run) - i), 1, -1) if run[i : i + n] in dictionary), 1
            )
            word = run[i : i + n]
            if n > 1 and word not in passages and word not in out:
                out.append(word)
            i += n
    if query.language == "zh-Hans":
        out = [to_simplified(t) for t in out]
    return out[:MAX_NAMED]


def unsupported_reason(language: str, terms: Sequence[str]) -> str:
    """Why a question is refused when the best passages do not answer it, in its ``language``."""
    if language == "en":
        if not terms:
            return "The closest passages do not seem to answer it."
        named = ", ".join(terms[:-1]) + " or " + terms[-1] if len(terms) > 1 else terms[0]
        return f"The closest passages never mention {named}."
    text = f"最接近的段落沒有提到：{'、'.join(terms)}。" if terms else "最接近的段落似乎沒有回答這個問題。"
    return to_simplified(text) if language == "zh-Hans" else text
