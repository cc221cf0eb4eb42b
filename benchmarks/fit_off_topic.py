"""Fit the off-topic model (``qa.off_topic``) on public question sets, cross-validated by article.

    pip install ".[fit]"
    python benchmarks/fit_off_topic.py --out benchmarks/results/off_topic.md   # writes qa/models/off_topic.json

A user's collection is a few dozen documents; so here are the sets' articles, dealt round-robin into
collections of about 30 (XQuAD a's 24 make one). Each question of XQuAD a (English and Chinese) and
of half of DRCD dev (every second question) is asked twice, searching only the documents (one
paragraph each) of a collection: of its own (answerable, label 0), and of the next one, other
Wikipedia articles on other subjects (label 1); XQuAD's, with one collection, is asked of it without
its article. What the collection writes is that collection's alone. Articles are dealt into 5 folds
per set as ``benchmarks/fit.py`` deals them; each fold is scored by the model fitted on the other
four, and the threshold is the held-out probability above which at most 1% of the answerable
questions lie. CMRC 2018 trial is left out of the fit: ``benchmarks/quality.py
--other-collection`` asks the chapter's questions of a collection of its articles. The chapter's
question sets are never fitted on.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import fit  # noqa: E402

from index.lexicon import english_words  # noqa: E402
from index.tokenize import tokenize  # noqa: E402
from qa import Assistant, Settings  # noqa: E402
from qa.config import RankingSettings, RefusalSettings  # noqa: E402
from qa.evaluation import load_drcd  # noqa: E402
from qa.off_topic import OFF_TOPIC_FEATURES, CollectionTerms, off_topic_features  # noqa: E402

OFF_TOPIC_SOURCE = ROOT / "qa" / "off_topic.py"
SETS = {name: path for name, path in fit.SETS.items() if name != "CMRC 2018 trial"}
MAX_ANSWERABLE_REFUSED = 0.01


COLLECTION = 30
"""Articles per collection."""
EVERY = {"DRCD dev": 2}
"""Ask only every n-th question of these sets (DRCD dev has 3,524)."""
DEPTH = 5


def article_of(path: Path) -> dict[str, int]:
    """Each paragraph's document id → its article's number, as ``fit.article_folds`` deals them."""
    data = json.loads(path.read_text(encoding="utf-8"))
    out = {}
    for a, article in enumerate(data["data"]):
        for p, paragraph in enumerate(article["paragraphs"]):
            own = paragraph.get("id")
            out[f"drcd-{own}" if isinstance(own, str | int) and str(own).strip() else f"drcd-{a}-{p}"] = a
    return out


class Written:
    """What the documents of a set write, for any collection of them (as ``qa.abstention.DocumentTerms``)."""

    def __init__(self, assistant: Assistant) -> None:
        self.tokens: dict[str, set[str]] = {}
        self.english: dict[str, set[str]] = {}
        for passage in assistant.index.passages:
            self.tokens.setdefault(passage.doc_id, set()).update(t for t in tokenize(passage.content) if len(t) > 1)
            self.english.setdefault(passage.doc_id, set()).update(english_words(passage.content))
        self.lexicon = assistant.index.lexicon
        self._made: dict[frozenset[str], CollectionTerms] = {}

    def of(self, doc_ids: frozenset[str]) -> CollectionTerms:
        if doc_ids not in self._made:
            tokens = set().union(*(self.tokens.get(d, set()) for d in doc_ids))
            english = set().union(*(self.english.get(d, set()) for d in doc_ids))
            self._made[doc_ids] = CollectionTerms(tokens.__contains__, english.__contains__, self.lexicon)
        return self._made[doc_ids]


def passage_tokens(assistant: Assistant) -> Callable[[int], set[str]]:
    """The search tokens of a passage of ``assistant``'s index by row (each tokenized once)."""
    cache: dict[int, set[str]] = {}

    def tokens(row: int) -> set[str]:
        if row not in cache:
            cache[row] = set(tokenize(assistant.index.passages[row].content))
        return cache[row]

    return tokens


def examples(name: str, path: Path, settings: Settings, assistants: dict[str, Assistant]) -> list[tuple]:
    """``(features, label, fold)`` of each question of the set asked of its own collection and of another."""
    documents, questions = load_drcd(path)
    questions = questions[:: EVERY.get(name, 1)]
    key = "".join(d.content_hash for d in documents)
    if key not in assistants:
        embedders = next(iter(assistants.values())).embedders if assistants else None
        assistants[key] = Assistant(documents, settings, embedders=embedders)
    assistant = assistants[key]
    articles, folds = article_of(path), fit.article_folds(path)
    count = max(articles.values()) + 1
    groups = max(1, round(count / COLLECTION))
    collections = [frozenset(d for d, a in articles.items() if a % groups == g) for g in range(groups)]
    written, tokens = Written(assistant), passage_tokens(assistant)
    pipeline = assistant.pipeline
    queries = [pipeline.analyzer.run(q.question) for q in questions]
    vectors = pipeline.retrievers.embed([q.expanded_text for q in queries])
    out = []
    for i, (question, query) in enumerate(zip(questions, queries, strict=True)):
        article = articles[question.doc_id]
        own = collections[article % groups]
        other = (
            collections[(article + 1) % groups]
            if groups > 1
            else own - {d for d, a in articles.items() if a == article}
        )
        for label, docs in ((0, own), (1, other)):
            rankings = pipeline.retrievers.run(
                query, depth=DEPTH, vectors={k: v[i] for k, v in vectors.items()}, doc_ids=docs, reads=_passages_only
            ).rankings
            features = off_topic_features(query, rankings, written.of(docs), tokens)
            if features is None:
                raise SystemExit("the off-topic model needs the e5 and USE passage rankings")
            out.append((features, label, folds[question.doc_id]))
    return out


def _passages_only(query: object, retriever: object) -> bool:
    return False


def collected_examples(sets: dict[str, Path], settings: Settings) -> tuple[np.ndarray, ...]:
    """Features, labels, folds and set names of every example, kept in the cache directory (keyed by
    the sets, how collections are made and ``qa/off_topic.py``) so that a refit reads them back."""
    key = hashlib.sha256(repr((COLLECTION, EVERY, DEPTH, list(sets))).encode())
    for path in (*sets.values(), OFF_TOPIC_SOURCE):
        key.update(path.read_bytes())
    saved = settings.cache_dir / "fit" / f"off_topic-{key.hexdigest()[:16]}.npz" if settings.cache_dir else None
    if saved is not None and saved.exists():
        with np.load(saved) as data:
            return data["x"], data["y"], data["folds"], data["names"]
    assistants: dict[str, Assistant] = {}
    rows = [(name, *e) for name, path in sets.items() for e in examples(name, path, settings, assistants)]
    out = (
        np.array([r[1] for r in rows]),
        np.array([r[2] for r in rows]),
        np.array([r[3] for r in rows]),
        np.array([r[0] for r in rows]),
    )
    if saved is not None:
        saved.parent.mkdir(parents=True, exist_ok=True)
        np.savez(saved, x=out[0], y=out[1], folds=out[2], names=out[3])
    return out


def report(sets: dict[str, Path], cache_dir: Path | None, models: Path | None) -> list[str]:
    """Fit on ``sets``, cross-validated by article; the report's Markdown lines. The model fitted on
    every fold is written to ``models`` when given."""
    every = {lang: dict.fromkeys(map(str, fit.MEMBERS), 1.0) for lang in ("zh-Hant", "zh-Hans", "en")}
    settings = Settings(
        cache_dir=cache_dir,
        progress=False,
        ranking=RankingSettings(fusion="score", weights=every),
        refusal=RefusalSettings(off_topic_model=None),  # what is fitted here is not read while fitting it
    )
    t0 = time.perf_counter()
    xs, ys, fs, ns = collected_examples(sets, settings)
    collected = time.perf_counter() - t0
    odds = fit.held_out_probabilities(OFF_TOPIC_FEATURES, xs, ys, fs)
    threshold = float(np.quantile(odds[ys == 0], 1 - MAX_ANSWERABLE_REFUSED))
    lines = [
        f"# Fitted off-topic refusal, {time.strftime('%Y-%m-%d')}",
        "",
        f"`python benchmarks/fit_off_topic.py`: {len(ys) // 2} questions from {len(sets)} sets, each asked of "
        f"its own collection of about {COLLECTION} articles and of another; {len(OFF_TOPIC_FEATURES)} features; "
        f"articles in {fit.FOLDS} folds per set, each fold scored by the model fitted on the other four "
        f"(collected in {collected:.0f} s). Threshold {threshold:.3f}: the {1 - MAX_ANSWERABLE_REFUSED:.0%} "
        "quantile of the held-out probabilities of answerable questions.",
        "",
        "| set | questions | asked of another collection: refused | asked of their own: refused |",
        "|---|---|---|---|",
    ]
    rows, notes = fit.held_out_refusals(sets, ns, ys, odds, threshold, "another collection refused")
    lines += rows
    model = replace(
        fit.logistic(OFF_TOPIC_FEATURES, xs, ys),
        threshold=threshold,
        notes={"fitted_on": list(sets), "questions": len(ys) // 2, "folds": fit.FOLDS, "held_out": notes},
    )
    if models is not None:
        models.mkdir(parents=True, exist_ok=True)
        model.save(models / "off_topic.json")
    lines += ["", "Weights of the shipped model (standardised features):", ""]
    lines += [
        f"- {n}: {w:+.3f}" for n, w in sorted(zip(model.features, model.coef, strict=True), key=lambda t: -abs(t[1]))
    ]
    return lines


def main() -> None:
    fit.run_from_command_line(__doc__ or "", report, "the fitted off-topic model", SETS)


if __name__ == "__main__":
    main()
