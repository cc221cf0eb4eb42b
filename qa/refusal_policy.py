"""The refusal policy, the last stage before the answer: whether to say the documents do not answer
a question, and why, from three kinds of evidence (each switched by ``RefusalSettings``):

- off-topic: an embedder's best cosine below its floor, or the fitted off-topic model's judgement
  that the collection does not hold what the question is about (``qa.off_topic``), unless every
  term of the question is the documents' own ("What is THAAD?" is short and scores low, but names
  only what they speak of);
- specifics the documents never give: a date, a designation, a person, a counted thing
  (``qa.abstention``);
- the fitted refusal model's judgement that the best passages do not answer (``qa.refusal``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import NamedTuple

from corpus.dates import is_date_key
from index.tokenize import normalize_for_search, token_set
from qa.abstention import ScopedChecks, describe, missing_reason, quantity_focus, states_quantity
from qa.answering import split_sentences
from qa.config import SpecificCheck
from qa.errors import SettingsError
from qa.language import AnalyzedQuery
from qa.model import Citation
from qa.off_topic import CollectionTerms, OffTopicJudge, off_topic_features
from qa.ranking import CandidateFeatures
from qa.refusal import RefusalJudge, refusal_features, unheld_terms, unsupported_reason
from qa.retrieval import Granularity, Hit, Rankings


class Refusal(NamedTuple):
    """Whether to refuse, and the reason to show (may be empty when the question is off-topic)."""

    refused: bool
    reason: str


class FittedJudgement(NamedTuple):
    """The fitted refusal model and what it reads of each candidate passage."""

    judge: RefusalJudge
    candidates: CandidateFeatures


class RefusalPolicy:
    """Whether the documents answer a question, judged on what retrieval found."""

    def __init__(
        self,
        checks: ScopedChecks,
        *,
        floors: Mapping[str, float],
        specific_checks: Collection[SpecificCheck],
        fitted: FittedJudgement | None = None,
        off_topic: OffTopicJudge | None = None,
        answer_passages: int = 3,
    ) -> None:
        """``floors``: per embedder key, the best cosine below which a question is off-topic;
        ``specific_checks``: the missing-specifics checks that run; ``fitted``: the fitted refusal
        model, if it judges too; ``off_topic``: the fitted off-topic model, if it judges beside the
        floors; ``answer_passages``: how many of the best passages an answer is drawn from."""
        if answer_passages < 1:
            raise SettingsError(f"answer_passages must be at least 1, got {answer_passages}")
        self.checks = checks
        self.floors = dict(floors)
        self.specific_checks = frozenset(SpecificCheck(c) for c in specific_checks)
        self.fitted = fitted
        self.off_topic_judge = off_topic
        self.answer_passages = answer_passages

    def run(
        self,
        query: AnalyzedQuery,
        rankings: Rankings,
        fused: Sequence[Hit],
        citations: Sequence[Citation],
        doc_ids: frozenset[str] | None = None,
    ) -> Refusal:
        off_topic = self.off_topic(query, rankings, doc_ids)
        reason = self.missing_specifics(query, citations, doc_ids)
        if not reason and not off_topic and self.unsupported(query, rankings, fused):
            texts = [c.text for c in citations[: self.answer_passages]]
            reason = unsupported_reason(query.language, unheld_terms(query, texts, self.checks.lexicon))
        return Refusal(off_topic or not citations or bool(reason), reason)

    def off_topic(self, query: AnalyzedQuery, rankings: Rankings, doc_ids: frozenset[str] | None = None) -> bool:
        """Whether some embedder's best passage scores below its floor or the off-topic model judges
        the documents (of ``doc_ids``) do not hold what the question is about, and the question
        uses words the documents do not."""
        below = any(
            rid.granularity is Granularity.PASSAGE
            and rid.source in self.floors
            and (not hits or hits[0].score < self.floors[rid.source])
            for rid, hits in rankings.items()
        )
        if not below and not self.judged_off_topic(query, rankings, doc_ids):
            return False
        return not self.checks.terms(doc_ids).covers(query, self.checks.lexicon)

    def judged_off_topic(self, query: AnalyzedQuery, rankings: Rankings, doc_ids: frozenset[str] | None = None) -> bool:
        """Whether the fitted off-topic model judges the documents do not hold what ``query`` asks about.
        It only judges collections of the kind it was fitted on, Chinese documents: when some are in
        English, a Chinese question's terms reach them only through the lexicon's few headwords."""
        if self.off_topic_judge is None or self.checks.lexicon.bridges_to_english:
            return False
        terms = self.checks.terms(doc_ids)
        held = CollectionTerms(terms.tokens.__contains__, terms.english.__contains__, self.checks.lexicon)
        features = off_topic_features(query, rankings, held, lambda row: token_set(self.checks.passages[row][1]))
        return features is not None and self.off_topic_judge.run(features)

    def missing_specifics(
        self, query: AnalyzedQuery, citations: Sequence[Citation], doc_ids: frozenset[str] | None = None
    ) -> str:
        """Why the documents (of ``doc_ids``) cannot answer ``query``, in its language; empty when
        nothing it asks about is missing: dates, designations and people no document mentions, and,
        in a Chinese question, a number of something that no sentence of the passages the answer
        would come from gives."""
        checks = self.specific_checks
        if not checks:
            return ""
        unmentioned = [
            describe(key, query.language)
            for key in self.checks.mentions(doc_ids).unknown(query.text)
            if (SpecificCheck.DATES if is_date_key(key) else SpecificCheck.DESIGNATIONS) in checks
        ]
        if SpecificCheck.PEOPLE in checks:
            unmentioned += self.checks.people(doc_ids).unknown(query)
        counted = None
        if SpecificCheck.COUNTS in checks and query.language != "en":
            counted = quantity_focus(normalize_for_search(query.search_text))
        if counted:
            sentences = [s.text for c in citations[: self.answer_passages] for s in split_sentences(c)]
            if states_quantity(counted, sentences):
                counted = None
        return missing_reason(query.language, unmentioned, counted)

    def unsupported(self, query: AnalyzedQuery, rankings: Rankings, fused: Sequence[Hit]) -> bool:
        """Whether the fitted refusal model judges that the best passages do not answer."""
        if self.fitted is None or not fused:
            return False
        features = refusal_features(query, fused, rankings, self.fitted.candidates)
        return self.fitted.judge.run(features)
