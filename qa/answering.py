"""Extractive answers: the best sentence or two of the top passages, with ``[n]`` markers."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from index.embedders import Embedder
from index.sentences import sentence_spans
from index.tokenize import tokenize
from qa.abstention import ASKS_DATE, HOW_MANY_ZH, date_mentions
from qa.language import AnalyzedQuery, Language
from qa.model import Answer, Citation, Quote
from qa.references import asks_for_source, is_reference

# What kind of answer a question asks for, by its question words, and what such an answer looks like.
_ASKS_NUMBER = re.compile(rf"多少|{HOW_MANY_ZH}|\bhow (many|much)\b|\bwhat (percentage|share)\b", re.I)
_NUMBER = re.compile(r"\d")
ANSWER_TYPE_BONUS = 0.3
DATE_MATCH_BONUS = 0.3


def _is_heading(sentence: Sentence) -> bool:
    return sentence.text in sentence.citation.section


NO_ANSWER: dict[Language, str] = {
    "zh-Hant": "文件中沒有找到這個問題的答案；以下是最接近的段落。",
    "zh-Hans": "文件中没有找到这个问题的答案；以下是最接近的段落。",
    "en": "The document does not seem to answer this question; the closest passages are listed below.",
}


@dataclass(frozen=True)
class Sentence:
    """A sentence of a cited passage, with its span in the document text."""

    citation: Citation
    rank: int
    text: str
    start: int
    end: int


def split_sentences(citation: Citation, rank: int = 0) -> list[Sentence]:
    """Sentences of a passage (ending at 。！？； or a line break), with document offsets."""
    return [
        Sentence(citation, rank, citation.text[a:b], citation.start + a, citation.start + b)
        for a, b in sentence_spans(citation.text)
    ]


class ExtractiveAnswerer:
    """Choose the answering sentence(s) across the top passages.

    A sentence scores by how much of the question it covers (characters, bigrams and words), by
    its similarity to the question under ``embedder`` (if given), and by its passage's rank.
    """

    def __init__(
        self,
        embedder: Embedder | None = None,
        *,
        passages: int = 3,
        max_sentences: int = 2,
        max_chars: int = 160,
    ) -> None:
        if passages < 1 or max_sentences < 1 or max_chars < 1:
            raise ValueError("passages, max_sentences and max_chars must be at least 1")
        self.embedder = embedder
        self.passages = passages
        self.max_sentences = max_sentences
        self.max_chars = max_chars

    def _scores(
        self,
        query: AnalyzedQuery,
        sentences: list[Sentence],
        query_vector: np.ndarray | None,
        sentence_vectors: Mapping[tuple[int, int], np.ndarray] | None = None,
    ) -> np.ndarray:
        q_tokens = set(tokenize(query.expanded_text))
        weight = {t: 2.0 if len(t) > 1 else 1.0 for t in q_tokens}
        total = sum(weight.values()) or 1.0
        lexical = np.array([sum(weight[t] for t in q_tokens.intersection(tokenize(s.text))) / total for s in sentences])
        prior = np.array([0.3 / (1 + s.rank) for s in sentences])
        scores = lexical + prior + self._answer_type(query.text, sentences) + self._dates(query, sentences)
        if asks_for_source(query.text):  # "誰製作的", "出自哪家媒體": the reference or credit line is the answer
            scores = scores + np.array([ANSWER_TYPE_BONUS if is_reference(s.text) else 0.0 for s in sentences])
        if self.embedder is not None:
            q = self.embedder.embed_queries([query.search_text])[0] if query_vector is None else query_vector
            known = sentence_vectors or {}
            missing = [s.text for s in sentences if (s.start, s.end) not in known]
            embedded = iter(self.embedder.embed_documents(missing) if missing else ())
            vectors = np.vstack(
                [known[(s.start, s.end)] if (s.start, s.end) in known else next(embedded) for s in sentences]
            )
            scores = scores + vectors @ q
        return scores

    @staticmethod
    def _answer_type(question: str, sentences: list[Sentence]) -> np.ndarray:
        """A bonus for sentences holding the kind of answer asked for (a date, a number)."""
        if ASKS_DATE.search(question):  # a date: a month with its day or year, in any form date_mentions reads
            holds = [any(k.startswith(("ym", "md")) for k in date_mentions(s.text)) for s in sentences]
        elif _ASKS_NUMBER.search(question):
            holds = [bool(_NUMBER.search(s.text)) for s in sentences]
        else:
            return np.zeros(len(sentences))
        return np.array([ANSWER_TYPE_BONUS if held else 0.0 for held in holds])

    @staticmethod
    def _dates(query: AnalyzedQuery, sentences: list[Sentence]) -> np.ndarray:
        """A bonus for sentences that mention the dates the question names ("截至2018年9月20日")."""
        asked = {k for k in date_mentions(query.expanded_text) if not k.startswith("y")}
        if not asked:
            return np.zeros(len(sentences))
        return np.array([DATE_MATCH_BONUS * len(asked & date_mentions(s.text)) / len(asked) for s in sentences])

    def run(
        self,
        query: AnalyzedQuery,
        citations: Sequence[Citation],
        *,
        abstain: bool = False,
        reason: str = "",
        query_vector: np.ndarray | None = None,
        sentence_vectors: Mapping[tuple[int, int], np.ndarray] | None = None,
    ) -> Answer:
        """An :class:`Answer` citing ``citations`` (best first).

        ``query_vector`` and ``sentence_vectors`` (by document span, from the index) save embedding
        the question and the sentences again. When abstaining, ``reason`` (why the documents cannot
        answer, in the question's language) follows the refusal.
        """
        if abstain or not citations:
            text = NO_ANSWER[query.language] + (" " if query.language == "en" and reason else "") + reason
            return Answer(query.text, text, True, tuple(citations), (), query.language)
        sentences = [s for rank, c in enumerate(citations[: self.passages]) for s in split_sentences(c, rank)]
        # headings are not answers, nor are bibliographic references unless a source is asked for
        prose = [
            s for s in sentences if not _is_heading(s) and (asks_for_source(query.text) or not is_reference(s.text))
        ]
        sentences = prose or sentences
        scores = self._scores(query, sentences, query_vector, sentence_vectors)
        order = np.argsort(-scores, kind="stable")
        chosen: list[Sentence] = [sentences[order[0]]]
        for i in order[1:]:
            s = sentences[i]
            if len(chosen) >= self.max_sentences or scores[i] < 0.85 * scores[order[0]]:
                break
            if sum(len(c.text) for c in chosen) + len(s.text) <= self.max_chars and s.text not in [
                c.text for c in chosen
            ]:
                chosen.append(s)
        chosen.sort(key=lambda s: (s.rank, s.start))
        markers = {c.id: i for i, c in enumerate(citations, start=1)}
        quotes = tuple(Quote(s.citation.id, markers[s.citation.id], s.text, s.start, s.end) for s in chosen)
        text = " ".join(f"{q.text} [{q.marker}]" for q in quotes)
        return Answer(query.text, text, False, tuple(citations), quotes, query.language)
