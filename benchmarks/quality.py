"""Retrieval, answer and refusal quality: the chapter sets and the external sets, beside references.

    python benchmarks/quality.py --out benchmarks/results/quality.md   # everything below, in one run
    python benchmarks/quality.py --skip-external          # the chapter sets only (a few minutes)
    python benchmarks/quality.py --history                # each question asked after the set's previous one
    python benchmarks/quality.py --short-answers --out benchmarks/results/short_answers.md  # short answers, follow-ups
    python benchmarks/quality.py --other-collection --out benchmarks/results/other_collection.md  # another collection

Scoring is ``qa.evaluation``'s, as ../shared/eval/README.md gives it. The chapter sets (dev.jsonl
and our own in benchmarks/questions/) only validate: the models are fitted on the external sets by
``benchmarks/fit.py``, whose cross-validated figures (each fold scored by the model fitted on the
others, beside each retriever alone, unweighted RRF and the hand-tuned fusion) close the report.
The references are measured in the same run on the same machine: on the dev set the two plain
pipelines of that README (500/50 chunks; e5 + flat FAISS, and e5 + USE + character-bigram BM25 with
equal RRF), the hand-tuned fusion and unweighted RRF; then every part of the pipeline switched off
in turn on every chapter set. The first run embeds the external sets' 1,376 paragraphs (about 10
minutes on 2 cores); the embedding cache (``--cache-dir``) makes reruns fast.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import fit  # noqa: E402
import short_answers  # noqa: E402
from reference import HAND_TUNED_WEIGHTS, ReferencePipeline  # noqa: E402
from report import publish  # noqa: E402

from index.store import PassageVectors  # noqa: E402
from qa import Assistant, Settings  # noqa: E402
from qa.config import SpecificCheck, default_cache_dir  # noqa: E402
from qa.evaluation import (  # noqa: E402
    DrcdEvaluator,
    EvalQuestion,
    OtherCollectionEvaluator,
    QuestionSetEvaluator,
    drcd_hit_rank,
    figure_cell,
    first_hit_rank,
    load_drcd,
    load_questions,
    sample_questions,
)
from qa.fusion import RankFuser  # noqa: E402
from qa.language import analyze  # noqa: E402
from qa.retrieval import DATES, LEXICAL, RetrieverId  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval"
LANGS = ("zh-Hant", "zh-Hans", "en")


def figures(ranks: Sequence[int | None]) -> tuple[float, float, float]:
    """hit@1, hit@5 and MRR@10 from each question's rank of its first hit (``None``: none in 10)."""
    n = len(ranks) or 1
    return (
        sum(r == 1 for r in ranks) / n,
        sum(r is not None and r <= 5 for r in ranks) / n,
        sum(1 / r for r in ranks if r) / n,
    )


def rank_table(name: str, questions: Sequence[EvalQuestion], ranked: Callable[[EvalQuestion], list[str]]) -> str:
    """One Markdown row of hit@1 / hit@5 / MRR@10 overall and per language for a ranking function."""
    ranks: dict[str, list[int | None]] = {lang: [] for lang in (*LANGS, "overall")}
    lengths: list[int] = []
    for q in questions:
        if not q.answerable:
            continue
        texts = ranked(q)
        lengths += [len(t) for t in texts[:5]]
        rank = first_hit_rank(q.gold, texts, needs_all=q.needs_all)
        ranks[q.lang].append(rank)
        ranks["overall"].append(rank)

    row = " | ".join(" / ".join(f"{x:.3f}" for x in figures(ranks[g])) for g in ("overall", *LANGS))
    return f"| {name} | {row} | {statistics.mean(lengths):.0f} |"


def dev_references(questions: Sequence[EvalQuestion]) -> list[str]:
    """The two plain pipelines of ../shared/eval/README.md, over the same 500/50 chunks."""
    reference = ReferencePipeline()
    rankings = {q.id: reference.rankings(q.question) for q in questions}
    return [
        rank_table(
            "reference: splitter 500/50 + e5 + flat FAISS",
            questions,
            lambda q: [reference.chunks[h.row] for h in rankings[q.id][RetrieverId("e5")]],
        ),
        rank_table(
            "reference: same chunks, RRF of e5 + USE + bigram BM25",
            questions,
            lambda q: [reference.chunks[h.row] for h in reference.fuser.run(analyze(q.question), rankings[q.id])],
        ),
    ]


def ranking(settings: Settings, **changes: object) -> Settings:
    """``settings`` with some ranking settings changed."""
    return replace(settings, ranking=replace(settings.ranking, **changes))


def refusal(settings: Settings, **changes: object) -> Settings:
    """``settings`` with some refusal settings changed."""
    return replace(settings, refusal=replace(settings.refusal, **changes))


def ablations(settings: Settings) -> list[tuple[str, Settings]]:
    """The default pipeline with each of its parts switched off or replaced in turn."""
    undated = {lang: {**table, DATES: 0.0} for lang, table in settings.fusion_weights().items()}
    logistic = ranking(settings, fusion="logistic")
    return [
        (
            "hand-tuned fusion weights instead of the fitted ones (the previous default)",
            ranking(settings, weights=HAND_TUNED_WEIGHTS),
        ),
        ("logistic ranking instead of the fitted score fusion", logistic),
        ("logistic ranking with the fitted refusal", refusal(logistic, unsupported=True)),
        (
            "unweighted RRF of the six retrievers, no adjustments",
            ranking(settings, fusion="rrf", weights={}, date_weight=0.0, reference_penalty=0.0, source_boost=0.0),
        ),
        ("without date matching", ranking(settings, weights=undated)),
        ("without reference weighting", ranking(settings, reference_penalty=0.0, source_boost=0.0)),
        ("without coverage-weighted BM25 (English)", ranking(settings, weigh_lexical_by_coverage=False)),
        *(
            (
                f"without the {check.value} check",
                refusal(settings, specific_checks=tuple(c for c in SpecificCheck if c != check)),
            )
            for check in SpecificCheck
        ),
        ("without any missing-specifics check", refusal(settings, specific_checks=())),
        ("without the USE floor for off-topic questions", refusal(settings, floors={})),
        (
            "passage vectors pooled from their sentences' vectors (each text embedded once)",
            replace(settings, index=replace(settings.index, passage_vectors=PassageVectors.POOLED)),
        ),
        ("without the off-topic model (the USE floor alone)", refusal(settings, off_topic_model=None)),
    ]


def ablation_section(settings: Settings, sets: dict[str, list[EvalQuestion]]) -> str:
    """hit@1, answer hit and refusals on every chapter set, for the default and each ablation."""
    return "\n".join(
        [
            "## Every part switched off in turn (chapter sets; validation only, never fitted on)",
            "",
            *chapter_rows(settings, sets, ablations(settings)),
        ]
    )


def chapter_rows(
    settings: Settings, sets: dict[str, list[EvalQuestion]], variants: list[tuple[str, Settings]]
) -> list[str]:
    """A Markdown table: hit@1, answer hit and refusals on every chapter set, for the default and ``variants``."""
    assistant = Assistant(settings=settings)
    pipelines = [("default", assistant)] + [
        (name, Assistant(settings=v, embedders=assistant.embedders)) for name, v in variants
    ]
    lines = [
        "Each cell: hit@1 (English) / answer hit (English) / unanswerable refused / answerable refused.",
        "",
        "| pipeline | " + " | ".join(sets) + " |",
        "|---|" + "---|" * len(sets),
    ]
    for name, variant in pipelines:
        cells = []
        for questions in sets.values():
            o = QuestionSetEvaluator(variant, k=10).run(questions).groups
            en, al = o.get("en"), o["overall"]
            cells.append(
                f"{figure_cell(al.hit_at_1)} ({figure_cell(en.hit_at_1 if en else None)}) / "
                f"{figure_cell(al.answer_hit)} ({figure_cell(en.answer_hit if en else None)}) / "
                f"{al.refused}/{al.unanswerable} / {figure_cell(al.wrongly_refused)}"
            )
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def dev_section(questions: list[EvalQuestion], settings: Settings, history: bool) -> str:
    t0 = time.perf_counter()
    assistant = Assistant(settings=settings)
    build = time.perf_counter() - t0
    variants = [(name, Assistant(settings=v, embedders=assistant.embedders)) for name, v in ablations(settings)[:4]]
    if history:  # each question asked after the previous one of the set, as a chat would
        report = QuestionSetEvaluator(_WithHistory(assistant, questions), k=10).run(questions)
    else:
        report = QuestionSetEvaluator(assistant, k=10).run(questions)
    lenient = Assistant(settings=refusal(settings, specific_checks=()), embedders=assistant.embedders)
    refusals = [
        ("default", report),
        ("without refusing missing specifics", QuestionSetEvaluator(lenient, k=10).run(questions)),
    ]
    lines = [
        f"## dev.jsonl ({len(questions)} questions, {sum(q.answerable for q in questions)} answerable)",
        "",
        "### default pipeline" + (" (each question asked after the previous one)" if history else ""),
        "",
        report.markdown(),
        f"Index: {len(assistant.passages)} passages; built or loaded in {build:.1f} s.",
        "",
        "### refusals: unanswerable questions refused, answerable ones wrongly refused, answer hit",
        "",
        "| pipeline | refused | wrongly refused | answer hit |",
        "|---|---|---|---|",
        *(
            f"| {name} | {r.groups['overall'].refused}/{r.groups['overall'].unanswerable} "
            f"| {r.groups['overall'].wrongly_refused:.3f} | {r.groups['overall'].answer_hit:.3f} |"
            for name, r in refusals
        ),
        "",
        "### beside the reference pipelines (hit@1 / hit@5 / MRR@10)",
        "",
        "| pipeline | overall | zh-Hant | zh-Hans | en | mean passage chars |",
        "|---|---|---|---|---|---|",
        rank_table("default", questions, lambda q: [c.text for c in assistant.search(q.question, k=10)]),
        *(
            rank_table(f"default {name}", questions, lambda q, a=variant: [c.text for c in a.search(q.question, k=10)])
            for name, variant in variants
        ),
        *dev_references(questions),
        "",
        report.misses_markdown(),
    ]
    return "\n".join(lines)


class _WithHistory:
    """Asks each question with the set's previous question as chat history."""

    def __init__(self, assistant: Assistant, questions: Sequence[EvalQuestion]) -> None:
        self.assistant = assistant
        self.previous = {q.question: questions[i - 1].question for i, q in enumerate(questions) if i}

    def ask(self, question: str, k: int = 5):  # type: ignore[no-untyped-def]
        earlier = [self.previous[question]] if question in self.previous else []
        return self.assistant.ask(question, k=k, history=earlier)


def drcd_section(settings: Settings, sample: int, seed: int) -> str:
    documents, questions = load_drcd(EVAL / "drcd" / "DRCD_dev.json")
    t0 = time.perf_counter()
    assistant = Assistant(documents, settings)
    build = time.perf_counter() - t0
    report = DrcdEvaluator(assistant, k=10).run(questions, sample=sample, seed=seed)
    whole = DrcdEvaluator(assistant, k=10).run(questions)
    hand = DrcdEvaluator(Assistant(documents, ablations(settings)[0][1], embedders=assistant.embedders), k=10).run(
        questions, sample=sample, seed=seed
    )
    chosen = sample_questions(questions, sample, seed)
    members: dict[str, list[int | None]] = {}
    for q in chosen:
        pipeline = assistant.pipeline
        query = pipeline.analyzer.run(q.question)
        found = pipeline.retrievers.run(query, depth=10, reads=pipeline.ranker.reads).rankings
        bm25, use = RetrieverId(LEXICAL), RetrieverId("use")
        rankings = {str(rid): hits for rid, hits in found.items()}
        rankings["RRF of BM25 + USE, unweighted"] = RankFuser(k=60).run(query, {bm25: found[bm25], use: found[use]})
        for name, hits in rankings.items():
            citations = [pipeline.citation(h.row) for h in hits[:10]]
            members.setdefault(name, []).append(drcd_hit_rank(q, citations))

    def row(name: str, ranks: list[int | None]) -> str:
        return f"| {name} | " + " | ".join(f"{x:.3f}" for x in figures(ranks)) + " |"

    return "\n".join(
        [
            f"## DRCD dev ({len(documents)} paragraphs as documents, {report.n}-question sample, seed {seed})",
            "",
            "In sample: the shipped models were fitted on DRCD dev with the other external sets; the",
            "cross-validated figures are in the external sets' section.",
            "",
            report.markdown(),
            f"Index: {report.passages} passages; built or loaded in {build:.1f} s.",
            "",
            "| pipeline | hit@1 | hit@5 | MRR@10 |",
            "|---|---|---|---|",
            f"| default | {report.hit_at_1:.3f} | {report.hit_at_5:.3f} | {report.mrr_at_10:.3f} |",
            f"| default, all {whole.n} questions | {whole.hit_at_1:.3f} | {whole.hit_at_5:.3f} "
            f"| {whole.mrr_at_10:.3f} |",
            f"| hand-tuned score fusion (the previous default) | {hand.hit_at_1:.3f} | {hand.hit_at_5:.3f} "
            f"| {hand.mrr_at_10:.3f} |",
            *(
                row(f"reference: {name} alone" if "RRF" not in name else f"reference: {name}", r)
                for name, r in members.items()
            ),
        ]
    )


CHECK_SETS = sorted((ROOT / "benchmarks" / "questions").glob("check-*.jsonl"))
FOLLOW_UPS = ROOT / "benchmarks" / "questions" / "followups.jsonl"


def check_sets_section(settings: Settings) -> str:
    """The default pipeline on our own question sets (benchmarks/questions/), written like dev.jsonl
    by someone who read only the chapter: a second look at whether a change holds beyond dev.jsonl."""
    assistant = Assistant(settings=settings)
    lines = ["## Our own question sets (benchmarks/questions/)", ""]
    for path in CHECK_SETS:
        questions = load_questions(path)
        report = QuestionSetEvaluator(assistant, k=10).run(questions)
        answerable = sum(q.answerable for q in questions)
        lines += [f"### {path.name} ({answerable} answerable, {len(questions) - answerable} unanswerable)", ""]
        lines += [report.markdown(), ""]
    return "\n".join(lines)


def followups_section(settings: Settings) -> str:
    """benchmarks/questions/followups.jsonl: each question asked after its earlier one (as a chat
    asks it) and alone; hit@1 and answer hit of the follow-ups, and of the self-contained questions
    asked after an unrelated one, which the earlier question must not make worse."""
    rows = [json.loads(line) for line in FOLLOW_UPS.read_text(encoding="utf-8").splitlines() if line.strip()]
    questions = {q.id: q for q in load_questions(FOLLOW_UPS)}
    assistant = Assistant(settings=settings)
    lines = [
        f"## Follow-ups ({FOLLOW_UPS.name}; validation only, never fitted on)",
        "",
        "Each cell: hit@1 / answer hit, over the questions of that kind and language.",
        "",
        "| questions | asked | n | " + " | ".join((*LANGS, "overall")) + " |",
        "|---|---|---|" + "---|" * (len(LANGS) + 1),
    ]
    for kind in ("follow-up", "self-contained"):
        chosen = [r for r in rows if r["kind"] == kind]
        for label, with_history in (("after the earlier question", True), ("alone", False)):
            results: dict[str, list[tuple[bool, bool]]] = {lang: [] for lang in (*LANGS, "overall")}
            for r in chosen:
                q = questions[r["id"]]
                answer = assistant.ask(q.question, k=10, history=r["history"] if with_history else [])
                hit = first_hit_rank(q.gold, [c.text for c in answer.citations]) == 1
                answered = any("".join(g.split()) in "".join(answer.text.split()) for g in q.gold)
                for group in (q.lang, "overall"):
                    results[group].append((hit, answered))
            cells = [
                f"{sum(h for h, _ in v) / len(v):.3f} / {sum(a for _, a in v) / len(v):.3f}" if v else "–"
                for v in results.values()
            ]
            lines.append(f"| {kind} | {label} | {len(chosen)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


OTHER_COLLECTION = EVAL / "cmrc2018" / "cmrc2018_trial.json"
OTHER_ARTICLES = 40


def other_collection_section(
    settings: Settings, questions: Sequence[EvalQuestion], articles: int, chapter_sets: dict[str, list[EvalQuestion]]
) -> str:
    """The chapter's answerable questions asked of a collection of other documents (the first
    ``articles`` articles of CMRC 2018 trial, which the off-topic model is not fitted on): each should
    be refused, while the collection's own questions are answered; then what the off-topic model
    costs on the chapter sets."""
    documents, own = load_drcd(OTHER_COLLECTION, articles=articles)
    assistant = Assistant(documents, settings)
    floors_only = Assistant(documents, refusal(settings, off_topic_model=None), embedders=assistant.embedders)
    chapter = [q.question for q in questions if q.answerable]
    lines = [
        f"## The chapter's questions asked of other documents ({articles} articles of CMRC 2018 trial, "
        f"{len(documents)} paragraphs)",
        "",
        f"dev.jsonl's {len(chapter)} answerable questions, none of which these documents answer, and the "
        f"collection's own {len(own)} questions; `ask` with k=10.",
        "",
        "| pipeline | chapter questions refused | own questions answered | own hit@1 | own answer hit |",
        "|---|---|---|---|---|",
    ]
    for name, variant in (("default", assistant), ("without the off-topic model (USE floor only)", floors_only)):
        r = OtherCollectionEvaluator(variant, k=10).run(chapter, own)
        lines.append(
            f"| {name} | {r.foreign_refused}/{r.foreign} ({r.foreign_refused_share:.3f}) "
            f"| {r.own_answered}/{r.own} ({r.own_answered_share:.3f}) | {r.own_hit_at_1:.3f} | {r.own_answer_hit:.3f} |"
        )
    lines += [
        "",
        "### Refusals on the chapter sets (validation only, never fitted on)",
        "",
        "| pipeline | "
        + " | ".join(f"unanswerable refused: {n}" for n in chapter_sets)
        + " | "
        + " | ".join(f"answerable refused: {n}" for n in chapter_sets)
        + " |",
        "|---|" + "---|" * (2 * len(chapter_sets)),
    ]
    on_chapter = Assistant(settings=settings)
    without = Assistant(settings=refusal(settings, off_topic_model=None), embedders=on_chapter.embedders)
    for name, variant in (("the chapter, default", on_chapter), ("the chapter, without the off-topic model", without)):
        groups = [QuestionSetEvaluator(variant, k=10).run(q).groups["overall"] for q in chapter_sets.values()]
        cells = [f"{g.refused}/{g.unanswerable}" for g in groups] + [figure_cell(g.wrongly_refused) for g in groups]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def short_answer_section(cache_dir: Path, external: bool) -> str:
    """Short answers scored like SQuAD (benchmarks/short_answers.py): the chapter sets' date, number
    and person questions by the shipped pipeline and, with ``external``, the external sets held out
    by fold (the model is not written)."""
    if external:
        lines = short_answers.report(short_answers.SETS, cache_dir, models=None)[1:]  # under this heading
    else:
        lines = [
            "",
            "The external sets, held out by fold: `python benchmarks/short_answers.py` "
            "([short_answers.md](short_answers.md)).",
            "",
            *short_answers.chapter_lines(Settings(cache_dir=cache_dir, progress=False)),
        ]
    return "\n".join(
        ["## Short answers (the fact first)", *("#" + line if line.startswith("#") else line for line in lines)]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=Path, default=EVAL / "dev.jsonl")
    parser.add_argument("--cache-dir", type=Path, default=default_cache_dir(), help="index and embedding cache")
    parser.add_argument("--drcd", action="store_true", help="also DRCD dev through the shipped pipeline (in sample)")
    parser.add_argument(
        "--skip-external", action="store_true", help="leave out the cross-validated XQuAD, DRCD and CMRC figures"
    )
    parser.add_argument("--drcd-sample", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--history", action="store_true", help="ask each question after the previous one")
    parser.add_argument("--out", type=Path, help="write the Markdown here")
    parser.add_argument(
        "--other-collection",
        action="store_true",
        help="only the chapter's questions asked of a collection of other documents, and its own questions",
    )
    parser.add_argument("--other-articles", type=int, default=OTHER_ARTICLES, help="articles of that collection")
    parser.add_argument(
        "--short-answers",
        action="store_true",
        help="only the short answers and follow-ups (chapter sets; the external sets too unless --skip-external)",
    )
    args = parser.parse_args()
    settings = Settings(cache_dir=args.cache_dir, progress=False)
    if args.short_answers:
        parts = [f"# Short answers and follow-ups, {time.strftime('%Y-%m-%d')}", ""]
        parts += [short_answer_section(args.cache_dir, not args.skip_external), "", followups_section(settings)]
        publish("\n".join(parts) + "\n", args.out)
        return
    questions = load_questions(args.questions)
    chapter_sets = {"dev.jsonl": questions, **{path.name: load_questions(path) for path in CHECK_SETS}}
    if args.other_collection:
        parts = [f"# Refusal in other collections, {time.strftime('%Y-%m-%d')}", ""]
        parts += [other_collection_section(settings, questions, args.other_articles, chapter_sets)]
        publish("\n".join(parts) + "\n", args.out)
        return
    parts = [f"# Quality, {time.strftime('%Y-%m-%d')}", "", dev_section(questions, settings, args.history)]
    if CHECK_SETS:
        parts += ["", check_sets_section(settings)]
    parts += ["", ablation_section(settings, chapter_sets)]
    parts += ["", followups_section(settings), "", short_answer_section(args.cache_dir, not args.skip_external)]
    parts += ["", other_collection_section(settings, questions, args.other_articles, chapter_sets)]
    if not args.skip_external:
        parts += ["", "## External sets, cross-validated by article (benchmarks/fit.py, models not written)", ""]
        parts += fit.report(fit.SETS, args.cache_dir, models=None)[1:]  # under this report's own heading
    if args.drcd:
        parts += ["", drcd_section(settings, args.drcd_sample, args.seed)]
    publish("\n".join(parts) + "\n", args.out)


if __name__ == "__main__":
    main()
