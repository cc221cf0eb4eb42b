"""Settings of the assistant: one dataclass, passed down to every stage."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from platformdirs import user_cache_dir

from index.locations import StoreLocation
from qa.fitted import fusion_weights

APP_NAME = "peninsula-qa"

FUSIONS = ("score", "rrf", "logistic")
SPECIFIC_CHECKS = ("dates", "designations", "people", "counts")

# USE cosines are spread out and comparable across questions: on dev.jsonl every answerable
# question's best passage scores >= 0.23, while off-topic questions ("What is the weather in
# Paris?", "今天天氣如何") score <= 0.18. e5 cosines sit at 0.75-0.9 for any text: no floor.
DEFAULT_ABSTAIN_FLOOR: dict[str, float] = {"use": 0.2}


def default_cache_dir() -> Path:
    """The per-user cache directory (e.g. ``~/.cache/peninsula-qa`` on Linux)."""
    return Path(user_cache_dir(APP_NAME, appauthor=False))


@dataclass(frozen=True)
class Settings:
    """Everything that shapes indexing and answering.

    ``embedders`` are ``"e5"``, ``"use"`` or ``"st:<sentence-transformers model or path>"``;
    fusion weights are keyed by query language and by embedder spec or ``"bm25"``.
    """

    cache_dir: Path | None = field(default_factory=default_cache_dir)
    """Where indexes and embeddings are kept; ``None`` keeps everything in memory."""
    chunk_size: int = 300
    chunk_overlap: int = 50
    header: str = "section"
    embedders: tuple[str, ...] = ("e5", "use")
    sentence_embedders: tuple[str, ...] = ("e5", "use")
    """Embedders (among ``embedders``) that also index every sentence: fusion key ``"<spec>:sentences"``.
    USE's sentence vectors also spare the answer picker from embedding sentences per question."""
    fusion_weights: dict[str, dict[str, float]] = field(default_factory=fusion_weights)
    """Per query language, each retriever's weight and ``"dates"`` (see ``date_weight``): by default
    the weights ``benchmarks/fit.py`` fitted on public question sets (``qa/models/fusion.json``)."""
    fusion: str = "score"
    """``"score"``: weighted sum of min-max normalised scores; ``"rrf"``: weighted reciprocal-rank
    fusion (both with ``fusion_weights``); ``"logistic"``: the logistic-regression ranking model
    (``qa.ranking``; needs the ``e5`` and ``use`` embedders, else ``"score"`` is used)."""
    ranking_model: str = "ranking"
    """The fitted ranking model, ``qa/models/<ranking_model>.json``."""
    answer_model: str = "answer"
    """The fitted answer-sentence model, ``qa/models/<answer_model>.json`` (see ``qa.answering``)."""
    refusal_model: str = "refusal"
    """The fitted refusal model and its threshold, ``qa/models/<refusal_model>.json`` (see ``qa.refusal``)."""
    rrf_k: int = 60
    candidates: int = 50
    """How many passages each retriever returns to the fusion."""
    date_weight: float = 0.0
    """How much a passage gains for mentioning the question's dates (see ``qa.retrieval.DateMatcher``)
    when ``fusion_weights`` has no ``"dates"`` entry for the question's language."""
    reference_penalty: float = 0.25
    """How much a passage of bibliographic references loses, unless the question asks for a source."""
    source_boost: float = 1.0
    """How much a passage of references gains when the question asks for a source ("出自哪家媒體")."""
    abstain_floor: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_ABSTAIN_FLOOR))
    """Abstain when an embedder's best cosine is below its floor (keys as in ``fusion_weights``)."""
    refuse_missing_specifics: bool = True
    """Say the documents do not answer a question about specifics they never give: a date, a
    numbered designation ("Hwasong-15") or a person (one CC-CEDICT knows) that no document mentions,
    or, in a Chinese question, a number of something no sentence of the best passages counts
    ("施政支持度是多少"); see ``qa.abstention``. ``specific_checks`` names which of them run."""
    specific_checks: tuple[str, ...] = SPECIFIC_CHECKS
    """Of ``"dates"``, ``"designations"``, ``"people"`` and ``"counts"``: the missing-specifics checks that run."""
    refuse_unsupported: bool = False
    """Say the documents do not answer when the fitted refusal model judges that the best passages
    do not (see ``qa.refusal``; only with ``fusion="logistic"``, whose probabilities it reads). Off by
    default: on the chapter's question sets it refused answerable questions far more often than the
    2% it was set for on the external sets (``benchmarks/results/quality.md``)."""
    expand_english: bool = True
    """Add the documents' Chinese terms for an English question's phrases to its search, and, when
    some documents are in English, their English words for a Chinese question's terms."""
    weigh_lexical_by_coverage: bool = True
    """Scale the lexical retrievers' weight for an English question by the share of its words they
    can match (translated by the lexicon, numbers, or words the documents use)."""
    history_weight: float = 0.5
    """How much the previous question steers retrieval for a follow-up (0 = not at all)."""
    max_question_chars: int = 2000
    """Longer questions are answered on their first ``max_question_chars`` characters."""
    progress: bool | None = None
    """Show a progress bar while indexing: ``None`` = when stderr is a terminal."""
    store: str = "faiss"
    """Where the index lives: ``"faiss"`` (files in ``cache_dir``), ``"milvus"`` or ``"milvus:PATH.db"``
    (Milvus Lite, embedded) or ``"milvus://HOST:PORT"`` (a Milvus server or cluster); see
    ``index.locations`` and docs/scaling.md."""

    def __post_init__(self) -> None:
        if not self.embedders and not self.fusion_weights:
            raise ValueError("settings need at least one embedder or the lexical index")
        if self.fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {FUSIONS}, got {self.fusion!r}")
        if not set(self.specific_checks) <= set(SPECIFIC_CHECKS):
            raise ValueError(f"specific_checks must be among {SPECIFIC_CHECKS}, got {self.specific_checks!r}")
        if self.candidates < 1:
            raise ValueError("candidates must be at least 1")
        if min(self.date_weight, self.reference_penalty, self.source_boost) < 0:
            raise ValueError("date_weight, reference_penalty and source_boost must be non-negative")
        if self.history_weight < 0:
            raise ValueError("history_weight must be non-negative")
        if self.max_question_chars < 1:
            raise ValueError("max_question_chars must be at least 1")
        StoreLocation.parse(self.store)
