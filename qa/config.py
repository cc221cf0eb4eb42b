"""Settings of the assistant, grouped by stage and checked when made: what a bad value is, and what
to do about it, is said here rather than deep in a question's path.

>>> Settings(ranking=RankingSettings(fusion="rrf"), refusal=RefusalSettings(floors={"use": 0.25}))  # doctest: +ELLIPSIS
Settings(...)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from platformdirs import user_cache_dir

from index.chunking import DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_SIZE, MIN_CHUNK_SIZE
from index.embedders import BUNDLED_EMBEDDERS
from index.locations import StoreLocation, StoreLocationError
from index.store import HEADER_MODES, PassageVectors
from qa.errors import SettingsError
from qa.fitted import fusion_weights
from qa.language import LANGUAGES
from qa.retrieval import DATES, LEXICAL, RetrieverId

APP_NAME = "peninsula-qa"


class Fusion(str, Enum):
    """How the retrievers' rankings become one."""

    SCORE = "score"
    """Weighted sum of min-max scaled scores (``qa.fusion.ScoreFuser``), then the evidence adjustment."""
    RRF = "rrf"
    """Weighted reciprocal-rank fusion (``qa.fusion.RankFuser``), then the evidence adjustment."""
    LOGISTIC = "logistic"
    """The fitted logistic-regression ranking (``qa.ranking.FittedRanker``); needs ``e5`` and ``use``."""


class SpecificCheck(str, Enum):
    """Specifics whose absence from the documents makes a question unanswerable (``qa.abstention``)."""

    DATES = "dates"
    DESIGNATIONS = "designations"
    PEOPLE = "people"
    COUNTS = "counts"


DEFAULT_FLOORS: dict[str, float] = {"use": 0.2}
"""USE cosines are spread out and comparable across questions: on dev.jsonl every answerable
question's best passage scores >= 0.23, while off-topic questions ("What is the weather in Paris?",
"今天天氣如何") score <= 0.18. e5 cosines sit at 0.75-0.9 for any text: no floor."""


def default_cache_dir() -> Path:
    """The per-user cache directory (e.g. ``~/.cache/peninsula-qa`` on Linux)."""
    return Path(user_cache_dir(APP_NAME, appauthor=False))


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise SettingsError(message)


@dataclass(frozen=True)
class IndexSettings:
    """What the index is built from: passages, the text embedded above them, the embedders."""

    chunk_size: int = DEFAULT_CHUNK_SIZE
    chunk_overlap: int = DEFAULT_CHUNK_OVERLAP
    header: str = "section"
    """Embedded above each passage: ``"none"``, ``"section"`` (its section path) or ``"title+section"``."""
    embedders: tuple[str, ...] = ("e5", "use")
    """``"e5"``, ``"use"`` or ``"st:<sentence-transformers model or path>"`` (checked when loaded)."""
    sentence_embedders: tuple[str, ...] | None = None
    """Embedders (among ``embedders``) that also index every sentence; ``None``: the bundled ones."""
    passage_vectors: PassageVectors = PassageVectors.EMBEDDED
    """Their passage vectors: ``"embedded"`` (each passage embedded too) or ``"pooled"`` from the
    sentences' vectors (each text embedded once: about half the build's e5 work, a less accurate
    ranking; figures in docs/benchmarks.md)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "embedders", tuple(self.embedders))
        try:
            object.__setattr__(self, "passage_vectors", PassageVectors(self.passage_vectors))
        except ValueError:
            choices = [v.value for v in PassageVectors]
            raise SettingsError(f"passage_vectors must be one of {choices}, got {self.passage_vectors!r}") from None
        _check(
            self.chunk_size >= MIN_CHUNK_SIZE, f"chunk_size must be at least {MIN_CHUNK_SIZE}, got {self.chunk_size}"
        )
        _check(
            0 <= self.chunk_overlap < self.chunk_size,
            f"chunk_overlap must be at least 0 and less than chunk_size ({self.chunk_size}), got {self.chunk_overlap}",
        )
        _check(self.header in HEADER_MODES, f"header must be one of {HEADER_MODES}, got {self.header!r}")
        _check(len(set(self.embedders)) == len(self.embedders), f"embedders repeat: {self.embedders}")
        if self.sentence_embedders is not None:
            object.__setattr__(self, "sentence_embedders", tuple(self.sentence_embedders))
            outside = sorted(set(self.sentence_embedders) - set(self.embedders))
            _check(
                not outside,
                f"sentence_embedders {outside} are not among the embedders {list(self.embedders)}; "
                "add them to embedders or leave them out",
            )

    @property
    def sentence_specs(self) -> tuple[str, ...]:
        """The embedders that index sentences, as given or by default."""
        if self.sentence_embedders is not None:
            return self.sentence_embedders
        return tuple(spec for spec in self.embedders if spec in BUNDLED_EMBEDDERS)


@dataclass(frozen=True)
class RankingSettings:
    """How candidate passages are found and ordered."""

    fusion: Fusion = Fusion.SCORE
    weights: Mapping[str, Mapping[str, float]] | None = None
    """Per query language (``"zh-Hant"``, ``"zh-Hans"``, ``"en"``), each retriever's weight, keyed
    ``"e5"``, ``"e5:sentences"``, ``"bm25"``, ``"bm25:sentences"`` …, and ``"dates"`` (the date
    evidence, see ``qa.evidence``); a retriever missing from a table weighs 1. ``None``: the weights
    ``benchmarks/fit.py`` fitted on public question sets (``qa/models/fusion.json``), for the
    retrievers that are loaded."""
    rrf_k: int = 60
    candidates: int = 50
    """How many passages each retriever returns to the fusion."""
    date_weight: float = 0.0
    """The date evidence's weight for a language whose table has no ``"dates"``."""
    reference_penalty: float = 0.25
    """How much a passage of bibliographic references loses, unless the question asks for a source."""
    source_boost: float = 1.0
    """How much a passage of references gains when the question asks for a source ("出自哪家媒體")."""
    expand_english: bool = True
    """Add the documents' Chinese terms for an English question's phrases to its search, and, when
    some documents are in English, their English words for a Chinese question's terms."""
    weigh_lexical_by_coverage: bool = True
    """Scale BM25's weight for an English question by the share of its words lexical search can match."""
    history_weight: float = 0.5
    """How much the previous question steers retrieval for a follow-up (0 = not at all)."""
    model: str = "ranking"
    """The fitted ranking model of ``Fusion.LOGISTIC``, ``qa/models/<model>.json``."""

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "fusion", Fusion(self.fusion))
        except ValueError:
            raise SettingsError(f"fusion must be one of {[f.value for f in Fusion]}, got {self.fusion!r}") from None
        _check(self.candidates >= 1, f"candidates must be at least 1, got {self.candidates}")
        _check(self.rrf_k >= 0, f"rrf_k must be non-negative, got {self.rrf_k}")
        for name in ("date_weight", "reference_penalty", "source_boost", "history_weight"):
            _check(getattr(self, name) >= 0, f"{name} must be non-negative, got {getattr(self, name)}")
        for language, table in (self.weights or {}).items():
            _check(language in LANGUAGES, f"fusion weights for unknown language {language!r}; use {LANGUAGES}")
            for key, weight in table.items():
                if key != DATES:
                    RetrieverId.parse(key)
                _check(weight >= 0, f"fusion weight {language}/{key} must be non-negative, got {weight}")


@dataclass(frozen=True)
class AnsweringSettings:
    """How the answer is chosen from the best passages."""

    model: str = "answer"
    """The fitted answer-sentence model, ``qa/models/<model>.json`` (see ``qa.answering``)."""
    short_model: str = "short_answer"
    """The fitted model that picks the fact to show first, ``qa/models/<short_model>.json`` (see
    ``qa.short_answer``)."""
    max_question_chars: int = 2000
    """Longer questions are answered on their first ``max_question_chars`` characters."""

    def __post_init__(self) -> None:
        _check(self.max_question_chars >= 1, f"max_question_chars must be at least 1, got {self.max_question_chars}")


@dataclass(frozen=True)
class RefusalSettings:
    """When to say the documents do not answer."""

    floors: Mapping[str, float] | None = None
    """Refuse when an embedder's best cosine is below its floor (keyed by embedder); ``None``: the
    default floors (:data:`DEFAULT_FLOORS`) of the embedders that are loaded."""
    specific_checks: tuple[SpecificCheck, ...] = tuple(SpecificCheck)
    """Refuse a question about specifics the documents never give: a date, a numbered designation
    ("Hwasong-15"), a person CC-CEDICT knows, or, in a Chinese question, a number of something no
    sentence of the best passages counts ("施政支持度是多少"); see ``qa.abstention``. ``()``: none."""
    unsupported: bool = False
    """Refuse when the fitted refusal model judges that the best passages do not answer (see
    ``qa.refusal``; only with ``Fusion.LOGISTIC``, whose probabilities it reads). Off by default: on
    the chapter's question sets it refused answerable questions far more often than the 2% it was
    set for on the external sets (``benchmarks/results/quality.md``)."""
    model: str = "refusal"
    """The fitted refusal model and its threshold, ``qa/models/<model>.json``."""
    off_topic_model: str | None = "off_topic"
    """The fitted model that refuses a question about something the documents do not hold, whatever
    they are (see ``qa.off_topic``; it reads the e5 and USE passage retrievers), ``qa/models/<name>.json``;
    ``None``: only the floors judge whether a question is off-topic."""

    def __post_init__(self) -> None:
        _check(
            self.off_topic_model is None or (isinstance(self.off_topic_model, str) and self.off_topic_model.strip()),
            f"off_topic_model must be a model name or None, got {self.off_topic_model!r}",
        )
        try:
            object.__setattr__(self, "specific_checks", tuple(SpecificCheck(c) for c in self.specific_checks))
        except ValueError:
            raise SettingsError(
                f"specific_checks must be among {[c.value for c in SpecificCheck]}, got {self.specific_checks!r}"
            ) from None
        for key, floor in (self.floors or {}).items():
            _check(isinstance(floor, int | float), f"floor {key!r} must be a number, got {floor!r}")


@dataclass(frozen=True)
class Settings:
    """Everything that shapes indexing and answering, by stage; checked across stages when made
    (weights and floors may only name retrievers that the index settings load)."""

    cache_dir: Path | None = field(default_factory=default_cache_dir)
    """Where indexes and embeddings are kept; ``None`` keeps everything in memory."""
    index: IndexSettings = field(default_factory=IndexSettings)
    ranking: RankingSettings = field(default_factory=RankingSettings)
    answering: AnsweringSettings = field(default_factory=AnsweringSettings)
    refusal: RefusalSettings = field(default_factory=RefusalSettings)
    progress: bool | None = None
    """Show a progress bar while indexing: ``None`` = when stderr is a terminal."""
    store: str = "faiss"
    """Where the index lives: ``"faiss"`` (files in ``cache_dir``), ``"milvus"`` or ``"milvus:PATH.db"``
    (Milvus Lite, embedded) or ``"milvus://HOST:PORT"`` (a Milvus server or cluster); see
    ``index.locations`` and docs/scaling.md."""

    def __post_init__(self) -> None:
        try:
            StoreLocation.parse(self.store)
        except StoreLocationError as exc:
            raise SettingsError(str(exc)) from None
        for name, kind in (
            ("index", IndexSettings),
            ("ranking", RankingSettings),
            ("answering", AnsweringSettings),
            ("refusal", RefusalSettings),
        ):
            _check(isinstance(getattr(self, name), kind), f"{name} must be a {kind.__name__}")
        sources = {*self.index.embedders, LEXICAL}
        for language, table in (self.ranking.weights or {}).items():
            for key in table:
                if key != DATES and RetrieverId.parse(key).source not in sources:
                    raise SettingsError(
                        f"fusion weight {language}/{key} names a retriever that is not loaded; "
                        f"the embedders are {list(self.index.embedders)} (and {LEXICAL!r})"
                    )
        for key in self.refusal.floors or {}:
            _check(
                key in self.index.embedders,
                f"refusal floor {key!r} names an embedder that is not loaded ({list(self.index.embedders)}); "
                "key floors by a loaded embedder or leave them out",
            )

    def fusion_weights(self) -> dict[str, dict[str, float]]:
        """The weights in force: as given, or the fitted ones of the loaded retrievers."""
        if self.ranking.weights is not None:
            return {language: dict(table) for language, table in self.ranking.weights.items()}
        sources = {*self.index.embedders, LEXICAL}
        return {
            language: {k: w for k, w in table.items() if k == DATES or RetrieverId.parse(k).source in sources}
            for language, table in fusion_weights().items()
        }

    def floors(self) -> dict[str, float]:
        """The refusal floors in force: as given, or the defaults of the loaded embedders."""
        if self.refusal.floors is not None:
            return dict(self.refusal.floors)
        return {k: v for k, v in DEFAULT_FLOORS.items() if k in self.index.embedders}
