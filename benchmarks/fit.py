"""Fit the ranking model on public question sets, cross-validated by article, and save it as JSON.

    pip install ".[fit]"
    python benchmarks/fit.py --out benchmarks/results/fit.md     # writes qa/models/ranking.json

The sets are ../shared/eval/'s external ones: XQuAD half a (English and Chinese questions over the
same Chinese paragraphs), DRCD dev (Traditional) and CMRC 2018 trial (Simplified); each is indexed
as its own corpus, one paragraph a document, exactly as ``qa eval --drcd`` does. A candidate passage
is labelled 1 when it comes from the question's own paragraph and holds an answer text (the
benchmark's hit). Articles are dealt round-robin into 5 folds per set (the English and Chinese XQuAD
questions of one article share its fold); each fold is scored by a model fitted on the other four,
and the shipped model is fitted on all of them. The chapter's question sets are never fitted on:
``benchmarks/quality.py`` validates on them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from reference import HAND_TUNED_WEIGHTS  # noqa: E402
from report import publish  # noqa: E402

from qa import Assistant, Settings  # noqa: E402
from qa.answering import (  # noqa: E402
    SENTENCE_FEATURES,
    SIMILARITIES,
    Sentence,
    answer_candidates,
    sentence_features,
)
from qa.config import RankingSettings, default_cache_dir  # noqa: E402
from qa.evaluation import DrcdQuestion, load_drcd, normalize  # noqa: E402
from qa.fitted import MODELS, LinearModel  # noqa: E402
from qa.fusion import RankFuser, ScoreFuser  # noqa: E402
from qa.language import AnalyzedQuery  # noqa: E402
from qa.model import Citation  # noqa: E402
from qa.ranking import FEATURES, MEMBERS, CandidateFeatures  # noqa: E402
from qa.refusal import REFUSAL_FEATURES, refusal_features  # noqa: E402
from qa.retrieval import DATES, LEXICAL, Hit, Rankings, RetrieverId  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval"
FOLDS = 5
DEPTH = 50
SETS = {
    "XQuAD a, English questions": EVAL / "xquad" / "xquad-a.zh-context.en-questions.json",
    "XQuAD a, Chinese questions": EVAL / "xquad" / "xquad-a.zh-context.zh-questions.json",
    "DRCD dev": EVAL / "drcd" / "DRCD_dev.json",
    "CMRC 2018 trial": EVAL / "cmrc2018" / "cmrc2018_trial.json",
}
C = 1.0
"""Inverse L2 strength of the logistic regression (scikit-learn's default)."""
ANSWER_PASSAGES = 3
"""The passages an answer's sentences come from (as ``qa.answering.ExtractiveAnswerer``)."""
MAX_ANSWERABLE_REFUSED = 0.02
TERMS, RANK = SENTENCE_FEATURES.index("question terms"), SENTENCE_FEATURES.index("passage 1/rank")
"""The columns of the answer-sentence reference: most question terms, ties to the better passage."""


@dataclass
class Case:
    """One question: its set, fold, query, each member's ranking, the candidates' features and labels."""

    dataset: str
    fold: int
    question: DrcdQuestion
    assistant: Assistant
    query: AnalyzedQuery
    vectors: dict[str, np.ndarray]
    rankings: Rankings
    rows: np.ndarray
    x: np.ndarray
    y: np.ndarray
    positives: frozenset[int]


def article_folds(path: Path) -> dict[str, int]:
    """Each paragraph's document id → its article's fold (articles dealt round-robin, in file order)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    out = {}
    for a, article in enumerate(data["data"]):
        for p, paragraph in enumerate(article["paragraphs"]):
            own = paragraph.get("id")
            doc_id = f"drcd-{own}" if isinstance(own, str | int) and str(own).strip() else f"drcd-{a}-{p}"
            out[doc_id] = a % FOLDS
    return out


_FEATURES: dict[int, CandidateFeatures] = {}


def candidate_features(assistant: Assistant) -> CandidateFeatures:
    """What the fitted ranking reads of each candidate passage of ``assistant``'s index (made once)."""
    found = _FEATURES.get(id(assistant))
    if found is None:
        adjuster = assistant.pipeline.adjuster
        texts = [p.content for p in assistant.index.passages]
        found = _FEATURES[id(assistant)] = CandidateFeatures(texts, adjuster.dates, adjuster.references)
    return found


def positives(assistant: Assistant, question: DrcdQuestion) -> frozenset[int]:
    """The rows of passages that answer: from the question's paragraph and holding an answer text."""
    answers = [normalize(a) for a in question.answers]
    rows = assistant.index.rows_of([question.doc_id])
    return frozenset(
        int(r) for r in rows if any(a in normalize(assistant.index.passages[int(r)].content) for a in answers)
    )


def collect(name: str, path: Path, settings: Settings, assistants: dict[str, Assistant]) -> list[Case]:
    documents, questions = load_drcd(path)
    key = hashlib.sha256("".join(d.content_hash for d in documents).encode()).hexdigest()
    if key not in assistants:
        embedders = next(iter(assistants.values())).embedders if assistants else None
        assistants[key] = Assistant(documents, settings, embedders=embedders)
    assistant = assistants[key]
    folds = article_folds(path)
    features = candidate_features(assistant)
    pipeline = assistant.pipeline
    queries = [pipeline.analyzer.run(q.question) for q in questions]
    vectors = pipeline.retrievers.embed([q.expanded_text for q in queries])
    cases = []
    for i, (question, query) in enumerate(zip(questions, queries, strict=True)):
        own = {k: v[i] for k, v in vectors.items()}
        rankings = pipeline.retrievers.run(query, depth=DEPTH, vectors=own, reads=pipeline.ranker.reads).rankings
        rows, x = features.run(query, rankings)
        good = positives(assistant, question)
        labels = np.isin(rows, list(good)).astype(int)
        cases.append(
            Case(name, folds[question.doc_id], question, assistant, query, own, rankings, rows, x, labels, good)
        )
    return cases


def fit(cases: Sequence[Case]) -> LinearModel:
    return logistic(FEATURES, np.vstack([c.x for c in cases]), np.concatenate([c.y for c in cases]))


def logistic(features: Sequence[str], x: np.ndarray, y: np.ndarray) -> LinearModel:
    """A logistic regression of ``y`` on standardised ``x``."""
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=C, max_iter=2000).fit((x - mean) / scale, y)
    return LinearModel(tuple(features), model.coef_[0], float(model.intercept_[0]), mean, scale)


def ranked(model: LinearModel, case: Case, rankings: Rankings | None = None) -> list[Hit]:
    """The case's candidates by ``model``, best first, scored by probability (``rankings``: other
    retriever rankings than the case's own, e.g. with its paragraph taken out)."""
    if rankings is None:
        rows, x = case.rows, case.x
    else:
        rows, x = candidate_features(case.assistant).run(case.query, rankings)
    odds = model.probabilities(x) if len(rows) else np.zeros(0)
    return [Hit(int(rows[i]), float(odds[i])) for i in np.lexsort((rows, -odds))]


@dataclass
class Sentences:
    """A case's candidate answer sentences under its held-out ranking: features and labels."""

    case: Case
    x: np.ndarray
    y: np.ndarray
    sentences: Sequence[Sentence] = ()
    citations: Sequence[Citation] = ()

    @property
    def fold(self) -> int:
        return self.case.fold


def answer_sentences(case: Case, hits: list[Hit]) -> Sentences:
    """The sentences the answer would be chosen from, labelled 1 when from the question's own
    paragraph and holding an answer text."""
    a = case.assistant
    citations = [a.pipeline.citation(h.row, h.score) for h in hits[:ANSWER_PASSAGES]]
    sentences = answer_candidates(case.query, citations, ANSWER_PASSAGES)
    rows = [h.row for h in hits[:ANSWER_PASSAGES]]
    vectors = {
        key: (case.vectors[key], a.index.sentence_vectors(embedder.name, rows))
        for key, embedder in a.pipeline.retrievers.embedders.items()
        if key in SIMILARITIES
    }
    answers = [normalize(t) for t in case.question.answers]
    labels = [
        int(s.citation.doc_id == case.question.doc_id and any(t in normalize(s.text) for t in answers))
        for s in sentences
    ]
    return Sentences(case, sentence_features(case.query, sentences, vectors), np.array(labels), sentences, citations)


def sentence_hit(model: LinearModel, items: Sequence[Sentences]) -> float:
    """Share of questions whose best sentence by ``model`` holds an answer text."""
    return sum(bool(len(i.y)) and bool(i.y[int(np.argmax(model.logits(i.x)))]) for i in items) / (len(items) or 1)


def without_own_paragraph(case: Case) -> Rankings:
    """The case's rankings with every passage of the question's own paragraph taken out."""
    passages = case.assistant.index.passages
    return {m: [h for h in hits if passages[h.row].doc_id != case.question.doc_id] for m, hits in case.rankings.items()}


def refusal_example(case: Case, rankings: Rankings, hits: list[Hit]) -> np.ndarray:
    return refusal_features(case.query, hits, rankings, candidate_features(case.assistant))


GRID = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
"""The weights tried for each retriever (BM25 over passages is held at 1: the scale)."""
DATE_GRID = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0)
REFERENCE_PENALTY, SOURCE_BOOST = 0.25, 1.0
"""Held, not fitted: no external set has bibliographic references to fit them on (the chapter's
ablation in benchmarks/quality.py shows what they do)."""


class FusionCases:
    """One language group's cases packed for fast scoring of fusion weights: each candidate's
    scaled score per retriever (BM25's times the lexicon's coverage for English), its date score, and
    the reference adjustment the pipeline applies."""

    def __init__(self, cases: Sequence[Case], english: bool) -> None:
        prefix = "en: " if english else ""
        self.keys = [*map(str, MEMBERS), DATES]

        def column(key: str) -> int:
            if key == DATES:
                return FEATURES.index(f"{prefix}dates")
            if english and key.startswith(LEXICAL):
                return FEATURES.index(f"en: coverage × {key} scaled")
            return FEATURES.index(f"{prefix}{key} scaled")

        cols = [column(k) for k in self.keys]
        ref, asked = FEATURES.index(f"{prefix}references"), FEATURES.index(f"{prefix}references, source asked")
        parts = [
            np.column_stack(
                [c.x[:, cols], -REFERENCE_PENALTY * c.x[:, ref] + (REFERENCE_PENALTY + SOURCE_BOOST) * c.x[:, asked]]
            )
            for c in cases
        ]
        sizes = [len(c.rows) for c in cases]
        self.x = np.vstack(parts)
        self.positive = np.concatenate([c.y.astype(bool) for c in cases])
        self.starts = np.cumsum([0, *sizes[:-1]])
        self.owner = np.repeat(np.arange(len(cases)), sizes)
        self.answerable = np.array([c.y.any() for c in cases])

    def scores(self, weights: dict[str, float]) -> tuple[float, float, float]:
        """MRR@10, hit@1 and hit@5 of the fusion with ``weights`` (ties counted against it)."""
        s = self.x @ np.array([*(weights[k] for k in self.keys), 1.0])
        best = np.maximum.reduceat(np.where(self.positive, s, -np.inf), self.starts)
        rank = 1 + np.add.reduceat((s > best[self.owner]).astype(np.int64), self.starts)
        mrr = np.where(self.answerable & (rank <= 10), 1.0 / rank, 0.0).mean()
        return float(mrr), float((self.answerable & (rank == 1)).mean()), float((self.answerable & (rank <= 5)).mean())


def fused(case: Case, weights: dict[str, float]) -> list[Hit]:
    """The case's candidates by the score fusion with ``weights``, best first, as the pipeline scores them."""
    packed = FusionCases([case], case.query.language == "en")
    s = packed.x @ np.array([*(weights[k] for k in packed.keys), 1.0])
    return [Hit(int(case.rows[i]), float(s[i])) for i in np.lexsort((case.rows, -s))]


def fit_fusion(cases: FusionCases, rounds: int = 3) -> dict[str, float]:
    """Fusion weights by coordinate ascent on MRR@10: each weight in turn set to the value of its grid
    that scores best with the others held, until a round changes nothing."""
    weights = {k: 1.0 if k in (LEXICAL, DATES) else 0.5 for k in cases.keys}
    best = cases.scores(weights)[0]
    for _ in range(rounds):
        changed = False
        for key in cases.keys:
            if key == LEXICAL:
                continue
            for value in DATE_GRID if key == DATES else GRID:
                trial = {**weights, key: value}
                score = cases.scores(trial)[0]
                if score > best + 1e-9:
                    best, weights, changed = score, trial, True
        if not changed:
            break
    return weights


Ranked = Callable[[Case], list[int]]


def hits(cases: Sequence[Case], ranked: Ranked) -> tuple[float, float, float]:
    """hit@1, hit@5 and MRR@10 of a ranking function (rows best first) over ``cases``."""
    ranks = []
    for case in cases:
        order = ranked(case)[:10]
        ranks.append(next((i for i, r in enumerate(order, start=1) if r in case.positives), None))
    n = len(ranks) or 1
    return (
        sum(r == 1 for r in ranks) / n,
        sum(r is not None and r <= 5 for r in ranks) / n,
        sum(1 / r for r in ranks if r) / n,
    )


def pooled(items: Sequence[Any], score: Callable[[int, list[Any]], Sequence[float]]) -> tuple[float, ...]:
    """Figures over ``items`` (cases or their sentences): each fold's items scored by
    ``score(fold, items)`` (what was fitted without that fold), weighted by how many they are."""
    totals: np.ndarray | None = None
    for f in range(FOLDS):
        part = [i for i in items if i.fold == f]
        if part:
            figures = np.array(score(f, part), dtype=np.float64) * len(part)
            totals = figures if totals is None else totals + figures
    return tuple(totals / len(items)) if totals is not None else ()


def by_model(model: LinearModel) -> Ranked:
    def ranked(case: Case) -> list[int]:
        scores = model.logits(case.x)
        return [int(case.rows[i]) for i in np.lexsort((case.rows, -scores))]

    return ranked


def by_member(member: RetrieverId) -> Ranked:
    return lambda case: [h.row for h in case.rankings.get(member, [])]


def by_fuser(fuser: RankFuser, adjusted: bool = False) -> Ranked:
    """Rows by a hand-weighted fusion; ``adjusted``: then by the date and reference adjustments
    (``qa.retrieval.EvidenceAdjuster`` at its default constants), as the previous default pipeline."""

    def ranked(case: Case) -> list[int]:
        fused = fuser.run(case.query, case.rankings)
        if adjusted:
            dates = fuser.weights.dates(case.query.language)
            fused = case.assistant.pipeline.adjuster.run(case.query, fused, date_weight=dates)
        return [h.row for h in fused]

    return ranked


def held_out_probabilities(features: Sequence[str], x: np.ndarray, y: np.ndarray, folds: np.ndarray) -> np.ndarray:
    """Each case's probability from the logistic model fitted on the other :data:`FOLDS` folds."""
    odds = np.zeros(len(y))
    for f in range(FOLDS):
        odds[folds == f] = logistic(features, x[folds != f], y[folds != f]).probabilities(x[folds == f])
    return odds


def held_out_refusals(
    sets: Iterable[str], names: np.ndarray, labels: np.ndarray, odds: np.ndarray, threshold: float, refused: str
) -> tuple[list[str], dict[str, dict[str, float]]]:
    """Per set, the share of label-1 cases (which should be refused) and of label-0 cases (answerable)
    whose held-out probability reaches ``threshold``: a Markdown row each (questions are asked both
    ways, so a set has half as many questions as cases), and the model's notes (``refused`` names
    the first share)."""
    rows, notes = [], {}
    for name in sets:
        at = names == name
        share = float(np.mean(odds[at & (labels == 1)] >= threshold))
        wrongly = float(np.mean(odds[at & (labels == 0)] >= threshold))
        notes[name] = {refused: round(share, 4), "answerable refused": round(wrongly, 4)}
        rows.append(f"| {name} | {int(at.sum() // 2)} | {share:.3f} | {wrongly:.3f} |")
    return rows, notes


def report(sets: dict[str, Path], cache_dir: Path | None, models: Path | None) -> list[str]:
    """Fit on ``sets``, cross-validated by article; the report's Markdown lines. The models fitted on
    every fold are written to ``models`` when given."""
    every = {lang: dict.fromkeys(map(str, MEMBERS), 1.0) for lang in ("zh-Hant", "zh-Hans", "en")}
    settings = Settings(cache_dir=cache_dir, progress=False, ranking=RankingSettings(fusion="score", weights=every))
    t0 = time.perf_counter()
    assistants: dict[str, Assistant] = {}
    cases = [case for name, path in sets.items() for case in collect(name, path, settings, assistants)]
    collected = time.perf_counter() - t0

    # Score fusion: weights per language group by coordinate ascent on the training folds.
    groups = {
        "zh": [c for c in cases if c.query.language != "en"],
        "en": [c for c in cases if c.query.language == "en"],
    }
    fusion_folds = {
        g: {f: fit_fusion(FusionCases([c for c in gc if c.fold != f], g == "en")) for f in range(FOLDS)}
        for g, gc in groups.items()
        if gc
    }

    def fused_scores(english: bool) -> Callable[[int, list[Case]], Sequence[float]]:
        def score(f: int, part: list[Case]) -> Sequence[float]:
            mrr, h1, h5 = FusionCases(part, english).scores(fusion_folds["en" if english else "zh"][f])
            return h1, h5, mrr

        return score

    fused_held_out = {}
    for name in sets:
        subset = [c for c in cases if c.dataset == name]
        fused_held_out[name] = pooled(subset, fused_scores(bool(subset) and subset[0].query.language == "en"))
    fusion = {g: fit_fusion(FusionCases(gc, g == "en")) for g, gc in groups.items() if gc}
    if models is not None:
        models.mkdir(parents=True, exist_ok=True)
        tables = {lang: fusion.get("en" if lang == "en" else "zh", {}) for lang in ("zh-Hant", "zh-Hans", "en")}
        data = {
            "format": 1,
            "weights": tables,
            "notes": {
                "fitted_on": list(sets),
                "questions": len(cases),
                "folds": FOLDS,
                "objective": "MRR@10, coordinate ascent",
                "held_out": {
                    n: dict(zip(("hit@1", "hit@5", "MRR@10"), (round(v, 4) for v in t), strict=True))
                    for n, t in fused_held_out.items()
                },
            },
        }
        (models / "fusion.json").write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    folds = {f: fit([c for c in cases if c.fold != f]) for f in range(FOLDS)}
    held_out = {f: by_model(m) for f, m in folds.items()}

    logistic_held_out = {
        name: pooled([c for c in cases if c.dataset == name], lambda f, part: hits(part, held_out[f])) for name in sets
    }

    references: dict[str, Ranked] = {
        **{f"{m} alone": by_member(m) for m in MEMBERS},
        "unweighted RRF of the six": by_fuser(RankFuser(every, k=60)),
        "hand-tuned score fusion with date and reference adjustments (the previous default)": by_fuser(
            ScoreFuser(HAND_TUNED_WEIGHTS), adjusted=True
        ),
    }
    lines = [
        f"# Fitted ranking, answer and refusal, {time.strftime('%Y-%m-%d')}",
        "",
        f"`python benchmarks/fit.py`: {len(cases)} questions from {len(sets)} sets, "
        f"{sum(len(c.rows) for c in cases):,} candidate passages, {len(FEATURES)} features; "
        f"articles in {FOLDS} folds per set, each fold scored by the model fitted on the other four "
        f"(collected in {collected:.0f} s).",
        "",
        "| set | questions | pipeline | hit@1 | hit@5 | MRR@10 |",
        "|---|---|---|---|---|---|",
    ]
    for name in sets:
        subset = [c for c in cases if c.dataset == name]
        rows = [
            ("fitted score fusion, the default (held-out folds)", fused_held_out[name]),
            ('logistic ranking, `fusion="logistic"` (held-out folds)', logistic_held_out[name]),
        ]
        rows += [(ref, hits(subset, ranked)) for ref, ranked in references.items()]
        for label, (h1, h5, mrr) in rows:
            lines.append(f"| {name} | {len(subset)} | {label} | {h1:.3f} | {h5:.3f} | {mrr:.3f} |")
    final = replace(
        fit(cases),
        notes={
            "fitted_on": list(sets),
            "questions": len(cases),
            "folds": FOLDS,
            "held_out": {
                name: dict(zip(("hit@1", "hit@5", "MRR@10"), (round(v, 4) for v in t), strict=True))
                for name, t in logistic_held_out.items()
            },
        },
    )
    if models is not None:
        models.mkdir(parents=True, exist_ok=True)
        final.save(models / "ranking.json")

    # Answer sentences: each question's passages ranked by the fusion fitted without its fold.
    group_of = {id(c): "en" if c.query.language == "en" else "zh" for c in cases}
    items = [answer_sentences(c, fused(c, fusion_folds[group_of[id(c)]][c.fold])) for c in cases]
    best_first = {id(c): ranked(folds[c.fold], c) for c in cases}
    answer_folds = {
        f: logistic(
            SENTENCE_FEATURES,
            np.vstack([i.x for i in items if i.fold != f]),
            np.concatenate([i.y for i in items if i.fold != f]),
        )
        for f in range(FOLDS)
    }
    lines += [
        "",
        "## Answer sentence",
        "",
        "| set | questions | answer sentence hit (held-out folds) | the sentence holding most question terms |",
        "|---|---|---|---|",
    ]
    answer_notes = {}
    for name in sets:
        subset = [i for i in items if i.case.dataset == name]
        (hit,) = pooled(subset, lambda f, part: (sentence_hit(answer_folds[f], part),))
        terms_only = sum(
            bool(len(i.y)) and bool(i.y[int(np.argmax(i.x[:, TERMS] + 1e-3 * i.x[:, RANK]))]) for i in subset
        )
        terms_only /= len(subset) or 1
        answer_notes[name] = round(hit, 4)
        lines.append(f"| {name} | {len(subset)} | {hit:.3f} | {terms_only:.3f} |")
    answer = replace(
        logistic(SENTENCE_FEATURES, np.vstack([i.x for i in items]), np.concatenate([i.y for i in items])),
        notes={"fitted_on": list(sets), "questions": len(items), "folds": FOLDS, "held_out": answer_notes},
    )
    if models is not None:
        answer.save(models / "answer.json")

    # Refusal (with the logistic ranking, whose probabilities it reads): each question as it is
    # (answerable) and with its own paragraph taken out (not).
    x_refusal, y_refusal, fold_of, set_of = [], [], [], []
    for c in cases:
        taken_out = without_own_paragraph(c)
        x_refusal += [
            refusal_example(c, c.rankings, best_first[id(c)]),
            refusal_example(c, taken_out, ranked(folds[c.fold], c, taken_out)),
        ]
        y_refusal += [0, 1]
        fold_of += [c.fold, c.fold]
        set_of += [c.dataset, c.dataset]
    xr, yr, fr, sr = np.array(x_refusal), np.array(y_refusal), np.array(fold_of), np.array(set_of)
    odds = held_out_probabilities(REFUSAL_FEATURES, xr, yr, fr)
    threshold = float(np.quantile(odds[yr == 0], 1 - MAX_ANSWERABLE_REFUSED))
    lines += [
        "",
        "## Refusal",
        "",
        f"Threshold {threshold:.3f}: the {1 - MAX_ANSWERABLE_REFUSED:.0%} quantile of "
        "the held-out probabilities of answerable questions.",
        "",
        "| set | questions | own paragraph taken out: refused | answerable: refused |",
        "|---|---|---|---|",
    ]
    rows, refusal_notes = held_out_refusals(sets, sr, yr, odds, threshold, "refused")
    lines += rows
    refusal = replace(
        logistic(REFUSAL_FEATURES, xr, yr),
        threshold=threshold,
        notes={"fitted_on": list(sets), "questions": len(cases), "folds": FOLDS, "held_out": refusal_notes},
    )
    if models is not None:
        refusal.save(models / "refusal.json")

    lines += ["", "Fitted score-fusion weights (BM25 over passages held at 1):", ""]
    lines += [f"- {g}: " + ", ".join(f"{k} {w:g}" for k, w in table.items()) for g, table in fusion.items()]
    for title, model in (("logistic ranking", final), ("answer sentence", answer), ("refusal", refusal)):
        lines += ["", f"Weights of the shipped {title} model (standardised features):", ""]
        lines += [
            f"- {n}: {w:+.3f}"
            for n, w in sorted(zip(model.features, model.coef, strict=True), key=lambda t: -abs(t[1]))
        ]
    return lines


def run_from_command_line(
    description: str,
    report: Callable[[dict[str, Path], Path | None, Path | None], list[str]],
    fitted: str,
    sets: dict[str, Path] = SETS,
) -> None:
    """Parse ``--cache-dir``, ``--out``, ``--models`` and ``--sets``, run ``report`` on those of
    ``sets`` chosen and publish its Markdown (``fitted``: what ``--models`` receives, for the help)."""
    parser = argparse.ArgumentParser(description=description.splitlines()[0])
    parser.add_argument("--cache-dir", type=Path, default=default_cache_dir(), help="index and embedding cache")
    parser.add_argument("--out", type=Path, help="write the Markdown report here")
    parser.add_argument("--models", type=Path, default=Path(str(MODELS)), help=f"where to write {fitted}")
    parser.add_argument("--sets", help="only the sets whose names contain one of these words (comma-separated)")
    args = parser.parse_args()
    chosen = {n: p for n, p in sets.items() if not args.sets or any(w in n for w in args.sets.split(","))}
    publish("\n".join(report(chosen, args.cache_dir, args.models)) + "\n", args.out)


def main() -> None:
    run_from_command_line(__doc__ or "", report, "the fitted models")


if __name__ == "__main__":
    main()
