"""Fit the short-answer model on the external sets, cross-validated by article, and score short answers
like SQuAD (exact match and F1) on those sets and on the chapter sets.

    python benchmarks/short_answers.py --out benchmarks/results/short_answers.md   # writes qa/models/short_answer.json

Each external question (``benchmarks/fit.py``'s collection: XQuAD a, DRCD dev, CMRC 2018 trial, each
paragraph a document, articles dealt into 5 folds) is answered as the pipeline answers it, with
everything fitted without its fold: its passages ranked by the score fusion fitted on the other
folds, its sentences chosen by the answer model fitted on the other folds, and its short answer
chosen among the candidate stretches of those sentences (``qa.short_answer``) by the short-answer
model fitted on the other folds (a conditional logit: a softmax over each question's candidates,
:func:`fit_model`). A candidate is labelled 1 when it equals a gold answer text after
:func:`qa.evaluation.squad_normalize`. The shipped model is fitted on every fold. The chapter sets
(dev.jsonl, benchmarks/questions/) are never fitted on: their date, number and person questions
are scored against their ``answer`` field by the shipped pipeline.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import fit  # noqa: E402

from qa import Assistant, Settings  # noqa: E402
from qa.answering import ExtractiveAnswerer, quotes_of  # noqa: E402
from qa.config import RankingSettings  # noqa: E402
from qa.evaluation import EvalQuestion, exact_match, load_questions, span_f1, squad_normalize  # noqa: E402
from qa.fitted import LinearModel, load_model  # noqa: E402
from qa.language import AnalyzedQuery  # noqa: E402
from qa.model import Answer, Quote  # noqa: E402
from qa.question_types import asked_kind, date_spans, number_spans  # noqa: E402
from qa.short_answer import SHORT_FEATURES, Candidate, candidate_features, short_candidates  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval"
SETS = {
    name: path
    for name, path in fit.SETS.items()
    if name in ("XQuAD a, English questions", "XQuAD a, Chinese questions", "DRCD dev", "CMRC 2018 trial")
}
CHAPTER_SETS = [EVAL / "dev.jsonl", *sorted((ROOT / "benchmarks" / "questions").glob("check-*.jsonl"))]
CHAPTER_TYPES = ("date", "number", "person")


@dataclass
class Answered:
    """One external question answered with the fusion and answer models fitted without its fold."""

    dataset: str
    fold: int
    query: AnalyzedQuery
    golds: tuple[str, ...]
    quotes: tuple[Quote, ...]


@dataclass
class Item:
    """An answered question's candidate stretches of the kind it asks for, their features and labels."""

    answered: Answered
    candidates: list[Candidate]
    x: np.ndarray
    y: np.ndarray

    @property
    def fold(self) -> int:
        return self.answered.fold

    def stretch(self, i: int) -> str:
        c = self.candidates[i]
        return self.answered.quotes[c.quote].text[c.span.start : c.span.end]


def gold_kind(golds: Sequence[str]) -> str:
    """ "date" or "number" when a gold answer is, as a whole, a date or a number as
    ``qa.question_types`` reads them (1945年8月15日, 28,500名, 三次); else "other"."""
    for kind, spans in (("date", date_spans), ("number", number_spans)):
        for gold in golds:
            text = gold.strip()
            if any(s.start == 0 and s.end == len(text) for s in spans(text)):
                return kind
    return "other"


def answer_all(sets: dict[str, Path], cache_dir: Path | None) -> list[Answered]:
    """Every question of ``sets`` answered with the fusion and answer models fitted without its fold."""
    every = {lang: dict.fromkeys(map(str, fit.MEMBERS), 1.0) for lang in ("zh-Hant", "zh-Hans", "en")}
    ranking = RankingSettings(fusion="score", weights=every)
    settings = Settings(cache_dir=cache_dir, progress=False, ranking=ranking)
    assistants: dict[str, Assistant] = {}
    cases = [case for name, path in sets.items() for case in fit.collect(name, path, settings, assistants)]
    groups = {
        "zh": [c for c in cases if c.query.language != "en"],
        "en": [c for c in cases if c.query.language == "en"],
    }
    fusion_folds = {
        g: {f: fit.fit_fusion(fit.FusionCases([c for c in gc if c.fold != f], g == "en")) for f in range(fit.FOLDS)}
        for g, gc in groups.items()
        if gc
    }
    sentences = [
        fit.answer_sentences(c, fit.fused(c, fusion_folds["en" if c.query.language == "en" else "zh"][c.fold]))
        for c in cases
    ]
    answer_folds = {
        f: fit.logistic(
            fit.SENTENCE_FEATURES,
            np.vstack([s.x for s in sentences if s.fold != f]),
            np.concatenate([s.y for s in sentences if s.fold != f]),
        )
        for f in range(fit.FOLDS)
    }
    chooser = ExtractiveAnswerer(load_model("answer"))  # its choice rule only; the odds come from the fold's model
    out = []
    for s in sentences:
        quotes: tuple[Quote, ...] = ()
        if len(s.sentences):
            quotes = quotes_of(chooser.choose(s.sentences, answer_folds[s.fold].probabilities(s.x)), s.citations)
        out.append(Answered(s.case.dataset, s.fold, s.case.query, tuple(s.case.question.answers), quotes))
    return out


def candidates_of(answered: Answered) -> Item:
    """The candidate stretches of an answered question, with features and labels (1: equals a gold answer)."""
    kind, candidates = short_candidates(answered.query, answered.quotes)
    if kind is None or not candidates:
        return Item(answered, [], np.zeros((0, len(SHORT_FEATURES))), np.zeros(0, dtype=int))
    x = candidate_features(answered.query, kind, [q.text for q in answered.quotes], candidates)
    texts = [answered.quotes[c.quote].text[c.span.start : c.span.end] for c in candidates]
    return Item(answered, candidates, x, np.array([exact_match(t, answered.golds) for t in texts], dtype=int))


def fit_model(items: Sequence[Item]) -> LinearModel:
    """A conditional logit over the questions that have a right candidate: a softmax over each
    question's own candidates, so that the weights say which of the stretches *of one question* is
    the answer (a plain logistic regression weighs each stretch against every other question's
    too). Standardised features, L2 penalty as in :func:`fit.logistic` (strength ``fit.C``); the
    intercept is 0, since only the order within a question counts."""
    from scipy.optimize import minimize

    usable = [i for i in items if i.y.any()]
    raw = np.vstack([i.x for i in usable])
    mean, scale = raw.mean(axis=0), raw.std(axis=0)
    scale[scale == 0] = 1.0
    x = (raw - mean) / scale
    target = np.concatenate([i.y / i.y.sum() for i in usable])  # several right stretches share the mass
    starts = np.cumsum([0] + [len(i.y) for i in usable])[:-1]
    group = np.repeat(np.arange(len(usable)), [len(i.y) for i in usable])

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = x @ w
        top = np.maximum.reduceat(z, starts)
        e = np.exp(z - top[group])
        total = np.add.reduceat(e, starts)
        p = e / total[group]
        nll = float(np.log(total).sum() + top.sum() - target @ z)
        return nll + 0.5 * float(w @ w) / fit.C, x.T @ (p - target) + w / fit.C

    w = minimize(loss, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B").x
    return LinearModel(tuple(SHORT_FEATURES), w, 0.0, mean, scale)


@dataclass(frozen=True)
class Scores:
    n: int
    em: float
    f1: float
    shown: float
    """Share of questions given a short answer."""
    reachable: float
    """Share whose candidates hold a right one: the most exact match can be."""

    def row(self) -> str:
        return f"{self.n} | {self.em:.3f} | {self.f1:.3f} | {self.shown:.3f} | {self.reachable:.3f}"


def scores(predictions: Sequence[tuple[str | None, Sequence[str], bool]]) -> Scores:
    """Exact match, F1, answered share and reachable share of (prediction, golds, reachable) triples."""
    n = len(predictions) or 1
    return Scores(
        len(predictions),
        sum(exact_match(p, g) for p, g, _ in predictions) / n,
        sum(span_f1(p, g) for p, g, _ in predictions) / n,
        sum(p is not None for p, _, _ in predictions) / n,
        sum(r for _, _, r in predictions) / n,
    )


HEADER = [
    "| set | questions | n | exact match | F1 | given a short answer | right stretch among candidates |",
    "|---|---|---|---|---|---|---|",
]


def external_lines(items: Sequence[Item]) -> list[str]:
    """Held-out short-answer figures per set: date and number golds, and every question."""
    folds = {f: fit_model([i for i in items if i.fold != f]) for f in range(fit.FOLDS)}
    predicted: dict[int, str | None] = {}
    for n, item in enumerate(items):
        if item.candidates:
            model = folds[item.fold]
            predicted[n] = item.stretch(int(np.argmax(model.logits(item.x[:, model.columns(SHORT_FEATURES)]))))
        else:
            predicted[n] = None
    lines = [*HEADER]
    for name in dict.fromkeys(i.answered.dataset for i in items):
        members = [n for n, i in enumerate(items) if i.answered.dataset == name]
        kinds = {n: gold_kind(items[n].answered.golds) for n in members}
        for label, chosen in (
            ("gold a date", [n for n in members if kinds[n] == "date"]),
            ("gold a number", [n for n in members if kinds[n] == "number"]),
            ("gold a date or a number", [n for n in members if kinds[n] != "other"]),
            ("asked for a date, number or name", [n for n in members if asked_kind(items[n].answered.query.text)]),
            ("every question", members),
        ):
            s = scores([(predicted[n], items[n].answered.golds, bool(items[n].y.any())) for n in chosen])
            lines.append(f"| {name} | {label} | {s.row()} |")
    return lines


CHAPTER_HEADER = [
    "| set | questions | n | exact match | F1 | given a short answer | short answer inside the reference answer |",
    "|---|---|---|---|---|---|---|",
]


def chapter_lines(settings: Settings) -> list[str]:
    """The shipped pipeline's short answers to the chapter sets' date, number and person questions,
    against their ``answer`` field, a reference written in the question's language (the short
    answer as the document writes it or as shown, whichever scores better). The reference answers
    often say more than the fact (a year the document leaves to context, a reason), so the last
    column counts a short answer that lies inside the reference answer."""
    assistant = Assistant(settings=settings)
    lines = [*CHAPTER_HEADER]
    for path in CHAPTER_SETS:
        questions = [q for q in load_questions(path) if q.answerable and q.type in CHAPTER_TYPES]
        shown = {q.id: _shown_prediction(assistant.ask(q.question, k=5), q) for q in questions}
        for kind in (*CHAPTER_TYPES, "all three"):
            chosen = [q for q in questions if kind in (q.type, "all three")]
            s = scores([(shown[q.id], [q.answer], _inside(shown[q.id], q.answer)) for q in chosen])
            lines.append(f"| {path.name} | {kind} | {s.row()} |")
    return lines


def _inside(prediction: str | None, reference: str) -> bool:
    return prediction is not None and squad_normalize(prediction) in squad_normalize(reference)


def _shown_prediction(answer: Answer, question: EvalQuestion) -> str | None:
    """Of the forms the short answer is shown in (the stretch; an English form before it), the one
    scoring best against the reference answer."""
    if answer.short is None or answer.short_quote is None:
        return None
    forms = [answer.short_quote.text, answer.short.split(" (")[0], answer.short]
    return max(forms, key=lambda f: (exact_match(f, [question.answer]), span_f1(f, [question.answer])))


def report(sets: dict[str, Path], cache_dir: Path | None, models: Path | None) -> list[str]:
    """The report's Markdown lines; the model fitted on every fold is written to ``models`` when given."""
    t0 = time.perf_counter()
    items = [candidates_of(a) for a in answer_all(sets, cache_dir)]
    collected = time.perf_counter() - t0
    final = fit_model(items)
    if models is not None:
        models.mkdir(parents=True, exist_ok=True)
        replace(final, notes={"fitted_on": list(sets), "questions": len(items), "folds": fit.FOLDS}).save(
            models / "short_answer.json"
        )
        load_model.cache_clear()  # the chapter sets below are answered with the model just written
    lines = [
        f"# Short answers, {time.strftime('%Y-%m-%d')}",
        "",
        f"`python benchmarks/short_answers.py`: {len(items)} questions from {len(sets)} sets "
        f"(collected in {collected:.0f} s), {sum(len(i.candidates) for i in items):,} candidate stretches; "
        f"articles in {fit.FOLDS} folds per set, each fold answered by the fusion, answer and short-answer "
        "models fitted on the other four. Exact match and F1 as SQuAD scores them, after normalising "
        "whitespace, punctuation, full/half-width forms and script; a question with no short answer scores 0.",
        "",
        "## External sets (held-out folds)",
        "",
        *external_lines(items),
        "",
        "## Chapter sets (validation only, never fitted on): short answer against the `answer` field",
        "",
        *chapter_lines(Settings(cache_dir=cache_dir, progress=False)),
        "",
        "Weights of the shipped short-answer model (standardised features):",
        "",
        *(
            f"- {n}: {w:+.3f}"
            for n, w in sorted(zip(final.features, final.coef, strict=True), key=lambda t: -abs(t[1]))
            if w
        ),
    ]
    return lines


def main() -> None:
    fit.run_from_command_line(__doc__ or "", report, "the fitted model", SETS)


if __name__ == "__main__":
    main()
