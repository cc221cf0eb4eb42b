"""From settings and documents to a working :class:`~qa.pipeline.QuestionPipeline`: the embedders
loaded (or reused), the index loaded or built, and every stage made and checked."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from corpus.model import Document
from index import stages
from index.chunking import ChunkSplitter
from index.dictionary_tables import keep_tables_in
from index.embedders import BUNDLED_EMBEDDERS, Embedder, load_embedder
from index.embedding_cache import EmbeddingCache, ProgressCallback
from index.locations import open_store
from index.store import IndexBuilder, PassageStore
from qa.abstention import ScopedChecks
from qa.answering import SIMILARITIES, ExtractiveAnswerer
from qa.config import Fusion, Settings
from qa.errors import SettingsError
from qa.evidence import EvidenceAdjuster
from qa.fitted import load_model
from qa.fusion import FusionWeights, RankFuser, ScoreFuser
from qa.off_topic import COSINES, OffTopicJudge
from qa.pipeline import QuestionPipeline, Ranker
from qa.progress import terminal_progress
from qa.query_analysis import QueryAnalyzer
from qa.ranking import DENSE_MEMBERS, CandidateFeatures, FittedRanker
from qa.refusal import RefusalJudge
from qa.refusal_policy import FittedJudgement, RefusalPolicy
from qa.retrieval import LEXICAL, Retrievers
from qa.short_answer import ShortAnswerer


def settings_key(embedder: Embedder, specs: Sequence[str]) -> str:
    """The settings spec (``"e5"``, ``"use"``, ``"st:…"``) an embedder was loaded from, else its
    name: weights, sentence embedders and floors are keyed by spec."""
    for spec in specs:
        bundled = BUNDLED_EMBEDDERS.get(spec)
        name = bundled.name if bundled is not None else f"sentence-transformers/{spec[3:]}"
        if embedder.name == name:
            return spec
    return embedder.name


class Built(NamedTuple):
    """A pipeline, the index it reads, and whether that index was built now (not loaded)."""

    pipeline: QuestionPipeline
    index: PassageStore
    built: bool
    embedders: dict[str, Embedder]
    """By settings key."""


class PipelineBuilder:
    """Makes the pipeline that ``settings`` describe over some documents."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def embedders(
        self, given: Sequence[Embedder] | None = None, progress: ProgressCallback | None = None
    ) -> dict[str, Embedder]:
        """The embedders by settings key: ``given`` (loaded models, e.g. another assistant's) or
        those of the settings, loaded now (``progress`` hears each model start loading)."""
        specs = self.settings.index.embedders
        if given is None:
            report = progress or stages.silent
            loaded = {}
            for spec in specs:
                report(stages.loading_model(spec), 0, 0)
                loaded[spec] = load_embedder(spec, self.settings.cache_dir)
            return loaded
        keyed = {settings_key(e, specs): e for e in given}
        if len(keyed) != len(given):
            raise SettingsError(f"embedders must differ, got {[e.name for e in given]}")
        return keyed

    def index(
        self,
        documents: Sequence[Document],
        embedders: dict[str, Embedder],
        *,
        rebuild: bool = False,
        progress: ProgressCallback | None = None,
        scope: str | None = None,
    ) -> tuple[PassageStore, bool]:
        """The index of ``documents``, from the cache or built (and cached), in the store the
        settings name; ``scope``: the collection the documents are (see ``index.locations.open_store``)."""
        settings = self.settings
        cache = settings.cache_dir
        sentence_specs = settings.index.sentence_specs
        builder = IndexBuilder(
            ChunkSplitter(settings.index.chunk_size, settings.index.chunk_overlap),
            list(embedders.values()),
            header=settings.index.header,
            embedding_cache=EmbeddingCache(cache / "embeddings" if cache else None),
            sentence_embedders=[e.name for key, e in embedders.items() if key in sentence_specs],
            passage_vectors=settings.index.passage_vectors,
        )
        with terminal_progress(settings.progress if progress is None else False) as bar:
            return open_store(
                settings.store, documents, builder, cache, scope=scope, rebuild=rebuild, progress=progress or bar
            )

    def run(
        self,
        documents: Sequence[Document],
        embedders: Sequence[Embedder] | None = None,
        *,
        rebuild: bool = False,
        progress: ProgressCallback | None = None,
        scope: str | None = None,
    ) -> Built:
        """Load the models, load or build the index, make the pipeline; ``progress`` hears each stage
        (else a line on the terminal, as ``settings.progress`` says)."""
        if self.settings.cache_dir is not None:
            keep_tables_in(self.settings.cache_dir / "dictionary")
        with terminal_progress(self.settings.progress if progress is None else False) as line:
            report = progress or line
            keyed = self.embedders(embedders, report)
            self._check_keys(keyed)
            index, built = self.index(documents, keyed, rebuild=rebuild, progress=report, scope=scope)
            (report or stages.silent)(stages.PREPARING_ANSWERS, 0, 0)
            return Built(self.pipeline(index, documents, keyed), index, built, keyed)

    def _check_keys(self, embedders: dict[str, Embedder]) -> None:
        """Weights and floors may only name what is loaded (the settings check their own embedders;
        embedders given as models may differ)."""
        settings = self.settings
        sources = {*embedders, LEXICAL}
        for language, table in settings.fusion_weights().items():
            named = FusionWeights({language: table}).named()
            outside = sorted(str(rid) for rid in named if rid.source not in sources)
            if outside and settings.ranking.weights is not None:
                raise SettingsError(f"fusion weights for {language} name retrievers that are not loaded: {outside}")
        floors = set(settings.refusal.floors or {}) - set(embedders)
        if floors:
            raise SettingsError(f"refusal floors name embedders that are not loaded: {sorted(floors)}")

    def pipeline(
        self, index: PassageStore, documents: Sequence[Document], embedders: dict[str, Embedder]
    ) -> QuestionPipeline:
        """Every stage over ``index``, made and checked."""
        settings = self.settings
        ranking = settings.ranking
        passages = index.passages
        checks = ScopedChecks(
            [(d.id, d.text) for d in documents], [(p.doc_id, p.content) for p in passages], index.lexicon
        )
        weights = FusionWeights(settings.fusion_weights(), date_weight=ranking.date_weight)
        texts = [p.content for p in passages]
        adjuster = EvidenceAdjuster(
            texts,
            [p.doc_id for p in passages],
            date_weight=weights.dates,
            reference_penalty=ranking.reference_penalty,
            source_boost=ranking.source_boost,
        )
        sentence_keys = [k for k in settings.index.sentence_specs if k in embedders]
        retrievers = Retrievers(index, embedders, sentence_keys, top_k=ranking.candidates)
        ranker: Ranker
        fitted: FittedJudgement | None = None
        if ranking.fusion is Fusion.LOGISTIC and set(DENSE_MEMBERS) <= set(retrievers.ids):
            features = CandidateFeatures(texts, adjuster.dates, adjuster.references)
            ranker = FittedRanker(load_model(ranking.model), features)
            if settings.refusal.unsupported:
                fitted = FittedJudgement(RefusalJudge(load_model(settings.refusal.model)), features)
        else:
            fuser = RankFuser if ranking.fusion is Fusion.RRF else ScoreFuser
            ranker = fuser(weights, k=ranking.rrf_k)
        answerer = ExtractiveAnswerer(
            load_model(settings.answering.model), {k: e for k, e in embedders.items() if k in SIMILARITIES}
        )
        floors = {k: v for k, v in settings.floors().items() if k in embedders}
        off_topic = None
        if settings.refusal.off_topic_model is not None and {str(m) for m in COSINES} <= set(embedders):
            off_topic = OffTopicJudge(load_model(settings.refusal.off_topic_model))
        return QuestionPipeline(
            index,
            {d.id: d for d in documents},
            analyzer=QueryAnalyzer(
                index.lexicon,
                lambda: checks.terms(None).english,
                expand_english=ranking.expand_english,
                weigh_lexical_by_coverage=ranking.weigh_lexical_by_coverage,
                max_chars=settings.answering.max_question_chars,
            ),
            retrievers=retrievers,
            ranker=ranker,
            adjuster=None if isinstance(ranker, FittedRanker) else adjuster,
            refusal=RefusalPolicy(
                checks,
                floors=floors,
                specific_checks=settings.refusal.specific_checks,
                fitted=fitted,
                off_topic=off_topic,
                answer_passages=answerer.passages,
            ),
            answerer=answerer,
            short_answerer=ShortAnswerer(load_model(settings.answering.short_model), {d.id: d.text for d in documents}),
            history_weight=ranking.history_weight,
        )
