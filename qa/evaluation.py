"""Benchmarks: score an :class:`~qa.assistant.Assistant` on a question set or on DRCD.

Scoring follows ``../shared/eval/README.md``: whitespace is removed from gold strings and passages
before comparing; hit@1 and hit@5 (every gold string in the union of the top k for ``needs_all``),
MRR@10, answer hit (a gold string inside the short answer), abstention, per language and overall,
read together with the mean length of the returned passages.

>>> questions = load_questions("../shared/eval/dev.jsonl")  # doctest: +SKIP
>>> print(QuestionSetEvaluator(Assistant()).run(questions).markdown())  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import random
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np

from corpus.characters import HAN_CHARACTER
from corpus.loading import not_a_file
from corpus.model import Block, BlockKind, Document
from corpus.script import to_simplified
from qa.errors import QAError
from qa.model import Answer, Citation
from qa.pipeline import MAX_K
from qa.wording import counted

LANGUAGES = ("zh-Hant", "zh-Hans", "en")
"""Question languages, in the order the report lists them (any other language follows)."""
OVERALL = "overall"
MRR_DEPTH = 10
MISS_AT = 5


class EvaluationError(QAError, ValueError):
    """A question set, a DRCD file or an evaluation argument that cannot be used; the message says why."""


class _Asks(Protocol):
    def ask(self, question: str, k: int = ...) -> Answer: ...


class _Searches(Protocol):
    documents: Sequence[Document]

    def search(self, query: str, k: int = ...) -> list[Citation]: ...


def normalize(text: str) -> str:
    """``text`` with all whitespace removed: how gold strings and passages are compared."""
    return "".join(text.split())


def squad_normalize(text: str) -> str:
    """A short answer as SQuAD-style scoring compares it: NFKC (full-width digits and letters as
    half-width), Simplified characters, lower case, no punctuation, symbols or whitespace."""
    text = to_simplified(unicodedata.normalize("NFKC", text)).lower()
    return "".join(c for c in text if not c.isspace() and unicodedata.category(c)[0] not in "PS")


def _units(text: str, chinese: bool) -> list[str]:
    """What F1 counts: characters when either side is Chinese, else words (both normalised)."""
    if chinese:
        return list(squad_normalize(text))
    return [w for w in (squad_normalize(w) for w in text.split()) if w]


def exact_match(prediction: str | None, golds: Sequence[str]) -> bool:
    """Whether the prediction equals one of the gold answers after :func:`squad_normalize`."""
    return prediction is not None and any(squad_normalize(prediction) == squad_normalize(g) for g in golds)


def span_f1(prediction: str | None, golds: Sequence[str]) -> float:
    """The best F1 over the gold answers of the overlap of characters (Chinese) or words (other)."""
    if prediction is None:
        return 0.0
    best = 0.0
    for gold in golds:
        chinese = bool(HAN_CHARACTER.search(prediction + gold))
        p, g = _units(prediction, chinese), _units(gold, chinese)
        common = sum((Counter(p) & Counter(g)).values())
        if common:
            precision, recall = common / len(p), common / len(g)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def first_hit_rank(
    gold: Sequence[str], texts: Sequence[str], *, needs_all: bool = False, depth: int = MRR_DEPTH
) -> int | None:
    """The smallest k (1-based, at most ``depth``) at which the top-k ``texts`` hold the gold.

    One gold string suffices, unless ``needs_all``: then every gold string must lie in the union
    of the top k texts. ``None`` when there is no hit in the first ``depth`` texts.
    """
    wanted = {normalize(g) for g in gold}
    if not wanted:
        return None
    found: set[str] = set()
    for rank, text in enumerate(texts[:depth], start=1):
        passage = normalize(text)
        found |= {g for g in wanted if g in passage}
        if (found == wanted) if needs_all else found:
            return rank
    return None


_T = TypeVar("_T")


def sample_questions(questions: Sequence[_T], sample: int | None = None, seed: int = 0) -> list[_T]:
    """``sample`` questions drawn with ``random.Random(seed)``, in their original order (all when ``None``)."""
    if sample is None or sample >= len(questions):
        return list(questions)
    if isinstance(sample, bool) or not isinstance(sample, int) or sample < 1:
        raise EvaluationError(f"sample must be a whole number of at least 1, got {sample!r}")
    chosen = sorted(random.Random(seed).sample(range(len(questions)), sample))
    return [questions[i] for i in chosen]


def _check_k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or not MRR_DEPTH <= k <= MAX_K:
        raise EvaluationError(
            f"k must be a whole number from {MRR_DEPTH} (MRR@10 reads the top 10) to {MAX_K}, got {k!r}"
        )
    return k


def _timed(call: Callable[[], _T]) -> tuple[_T, float]:
    start = time.perf_counter()
    result = call()
    return result, 1000 * (time.perf_counter() - start)


def _percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else 0.0


def _mean(values: Sequence[float]) -> float:
    return float(sum(values) / len(values)) if values else 0.0


def _fraction(count: int, total: int) -> float | None:
    return count / total if total else None


def figure_cell(value: float | None) -> str:
    """A figure as a table shows it: three decimals, or "–" where there is nothing to count."""
    return "–" if value is None else f"{value:.3f}"


# -- the question set (dev.jsonl) ----------------------------------------------------------------


@dataclass(frozen=True)
class EvalQuestion:
    """One line of a question set such as ``dev.jsonl``; ``gold == ()`` marks an unanswerable question."""

    id: str
    lang: str
    question: str
    gold: tuple[str, ...]
    needs_all: bool = False
    answer: str = ""
    type: str = ""
    section: str = ""

    def __post_init__(self) -> None:
        for name in ("id", "lang", "question"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise EvaluationError(f"'{name}' must be a non-empty string, got {value!r}")
        if not isinstance(self.gold, tuple) or not all(isinstance(g, str) and normalize(g) for g in self.gold):
            raise EvaluationError(f"'gold' must be a list of non-empty strings ([] if unanswerable), got {self.gold!r}")
        if not isinstance(self.needs_all, bool):
            raise EvaluationError(f"'needs_all' must be true or false, got {self.needs_all!r}")
        for name in ("answer", "type", "section"):
            if not isinstance(getattr(self, name), str):
                raise EvaluationError(f"'{name}' must be a string, got {getattr(self, name)!r}")

    @property
    def answerable(self) -> bool:
        return bool(self.gold)


_REQUIRED = ("id", "lang", "question", "gold")


def load_questions(path: str | Path) -> list[EvalQuestion]:
    """Read a JSONL question set (the format of ``dev.jsonl``); errors name the file and line."""
    path = Path(path)
    lines = _read_text(path).splitlines()
    questions: list[EvalQuestion] = []
    first_line: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}, line {number}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvaluationError(f"{where}: not valid JSON ({exc.msg}, column {exc.colno})") from None
        if not isinstance(obj, dict):
            raise EvaluationError(f"{where}: expected a JSON object, got {type(obj).__name__}")
        missing = [name for name in _REQUIRED if name not in obj]
        if missing:
            raise EvaluationError(
                f"{where}: missing {', '.join(repr(m) for m in missing)}; each line needs {', '.join(_REQUIRED)}"
            )
        if not isinstance(obj["gold"], list):
            raise EvaluationError(f"{where}: 'gold' must be a list of strings ([] if unanswerable)")
        try:
            question = EvalQuestion(
                id=obj["id"],
                lang=obj["lang"],
                question=obj["question"],
                gold=tuple(obj["gold"]),
                needs_all=obj.get("needs_all", False),
                answer=obj.get("answer", ""),
                type=obj.get("type", ""),
                section=obj.get("section", ""),
            )
        except EvaluationError as exc:
            raise EvaluationError(f"{where}: {exc}") from None
        if question.id in first_line:
            raise EvaluationError(f"{where}: duplicate id {question.id!r} (first on line {first_line[question.id]})")
        first_line[question.id] = number
        questions.append(question)
    if not questions:
        raise EvaluationError(f"{path}: no questions (expected one JSON object per line)")
    return questions


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise EvaluationError(f"{path}: {not_a_file(path)}")
    try:
        return path.read_text("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise EvaluationError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


@dataclass(frozen=True)
class QuestionResult:
    """How one question fared: ``rank`` of the first hit (``None``: none in the top 10 or unanswerable)."""

    id: str
    lang: str
    question: str
    answerable: bool
    rank: int | None
    answer_hit: bool
    abstained: bool
    latency_ms: float

    def hit_at(self, k: int) -> bool:
        return self.rank is not None and self.rank <= k


@dataclass(frozen=True)
class Scores:
    """The figures of one language (or overall). Fractions are ``None`` without answerable questions."""

    n: int
    """Answerable questions (the denominator of every fraction)."""
    hit_at_1: float | None
    hit_at_5: float | None
    mrr_at_10: float | None
    answer_hit: float | None
    unanswerable: int
    refused: int
    """Unanswerable questions the assistant refused (the more the better)."""
    wrongly_refused: float | None
    """Share of answerable questions the assistant refused."""


def score_results(results: Sequence[QuestionResult]) -> dict[str, Scores]:
    """Scores per language (``zh-Hant``, ``zh-Hans``, ``en``, then others present) and ``overall``."""
    present = {r.lang for r in results}
    groups = [lang for lang in LANGUAGES if lang in present] + sorted(present - set(LANGUAGES))
    out: dict[str, Scores] = {}
    for group in [*groups, OVERALL]:
        rows = [r for r in results if group in (OVERALL, r.lang)]
        answerable = [r for r in rows if r.answerable]
        unanswerable = [r for r in rows if not r.answerable]
        n = len(answerable)
        out[group] = Scores(
            n=n,
            hit_at_1=_fraction(sum(r.hit_at(1) for r in answerable), n),
            hit_at_5=_fraction(sum(r.hit_at(5) for r in answerable), n),
            mrr_at_10=_fraction(sum(1 / r.rank for r in answerable if r.rank), n),  # type: ignore[arg-type]
            answer_hit=_fraction(sum(r.answer_hit for r in answerable), n),
            unanswerable=len(unanswerable),
            refused=sum(r.abstained for r in unanswerable),
            wrongly_refused=_fraction(sum(r.abstained for r in answerable), n),
        )
    return out


@dataclass(frozen=True)
class EvalReport:
    """Scores per language and overall, passage length, latency, and every question's result."""

    k: int
    groups: dict[str, Scores]
    mean_passage_chars: float
    """Mean length of the top-5 passages returned for the answerable questions."""
    latency_p50_ms: float
    latency_p95_ms: float
    results: tuple[QuestionResult, ...]

    @property
    def n_questions(self) -> int:
        return len(self.results)

    def misses(self, at: int = MISS_AT) -> list[QuestionResult]:
        """Answerable questions with no hit in the top ``at`` passages."""
        return [r for r in self.results if r.answerable and not r.hit_at(at)]

    def to_dict(self) -> dict[str, Any]:
        return dict(asdict(self), n_questions=self.n_questions)

    def markdown(self) -> str:
        """A Markdown table, one row per language and overall, then passage length and latency."""
        lines = [
            "| | n | hit@1 | hit@5 | MRR@10 | answer hit | refused (unanswerable) | wrongly refused |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for group, s in self.groups.items():
            cells = [figure_cell(v) for v in (s.hit_at_1, s.hit_at_5, s.mrr_at_10, s.answer_hit)]
            refused = f"{s.refused}/{s.unanswerable}"
            lines.append(f"| {group} | {s.n} | {' | '.join(cells)} | {refused} | {figure_cell(s.wrongly_refused)} |")
        lines += ["", self.summary()]
        return "\n".join(lines)

    def summary(self) -> str:
        answerable = sum(r.answerable for r in self.results)
        return (
            f"{counted(self.n_questions, 'question')} ({answerable} answerable), k={self.k}; "
            f"mean passage chars {self.mean_passage_chars:.1f}; "
            f"latency p50 {self.latency_p50_ms:.0f} ms, p95 {self.latency_p95_ms:.0f} ms"
        )

    def misses_markdown(self, at: int = MISS_AT) -> str:
        """The answerable questions missed at ``at``, one list item each (id, language, question, rank)."""
        misses = self.misses(at)
        lines = [f"Missed at {at}: {len(misses)} of {sum(r.answerable for r in self.results)}"]
        lines += [f"- {r.id} [{r.lang}] {r.question} ({_rank_note(r.rank)})" for r in misses]
        return "\n".join(lines)


def _rank_note(rank: int | None) -> str:
    return "not in the top 10" if rank is None else f"first hit at {rank}"


class QuestionSetEvaluator:
    """Ask every question of a set once and score the answers (hit@k, MRR@10, answer hit, abstention).

    >>> report = QuestionSetEvaluator(assistant, k=10).run(load_questions("dev.jsonl"))  # doctest: +SKIP
    """

    def __init__(self, assistant: _Asks, k: int = 10) -> None:
        if not callable(getattr(assistant, "ask", None)):
            raise EvaluationError(f"the assistant must have an ask() method (a qa.Assistant), got {type(assistant)!r}")
        self.assistant = assistant
        self.k = _check_k(k)

    def run(self, questions: Sequence[EvalQuestion], sample: int | None = None, seed: int = 0) -> EvalReport:
        """Score ``questions`` (or ``sample`` of them, drawn with ``seed``), asking each with ``k`` passages."""
        chosen = sample_questions(questions, sample, seed)
        if not chosen:
            raise EvaluationError("no questions to evaluate")
        results: list[QuestionResult] = []
        lengths: list[int] = []
        for q in chosen:
            answer, ms = _timed(lambda q=q: self.assistant.ask(q.question, k=self.k))  # type: ignore[misc]
            texts = [c.text for c in answer.citations]
            if q.answerable:
                lengths += [len(t) for t in texts[:MISS_AT]]
            results.append(
                QuestionResult(
                    id=q.id,
                    lang=q.lang,
                    question=q.question,
                    answerable=q.answerable,
                    rank=first_hit_rank(q.gold, texts, needs_all=q.needs_all) if q.answerable else None,
                    answer_hit=q.answerable and any(normalize(g) in normalize(answer.text) for g in q.gold),
                    abstained=bool(answer.abstained),
                    latency_ms=ms,
                )
            )
        latencies = [r.latency_ms for r in results]
        return EvalReport(
            k=self.k,
            groups=score_results(results),
            mean_passage_chars=_mean(lengths),
            latency_p50_ms=_percentile(latencies, 50),
            latency_p95_ms=_percentile(latencies, 95),
            results=tuple(results),
        )


# -- DRCD (SQuAD format) --------------------------------------------------------------------------


@dataclass(frozen=True)
class DrcdQuestion:
    """A DRCD question, the document id of its paragraph and its answer texts."""

    id: str
    question: str
    doc_id: str
    answers: tuple[str, ...]


def drcd_hit_rank(question: DrcdQuestion, citations: Sequence[Citation], depth: int = MRR_DEPTH) -> int | None:
    """Rank of the first passage from the question's own paragraph that holds an answer text."""
    answers = [normalize(a) for a in question.answers]
    for rank, c in enumerate(citations[:depth], start=1):
        text = normalize(c.text)
        if c.doc_id == question.doc_id and any(a in text for a in answers):
            return rank
    return None


def _drcd_field(obj: Any, key: str, kind: type, where: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise EvaluationError(f"{where}: missing {key!r} (expected the SQuAD format of DRCD)")
    value = obj[key]
    if not isinstance(value, kind) or (kind is str and not value.strip()):
        raise EvaluationError(f"{where}.{key}: expected a non-empty {kind.__name__}, got {value!r}")
    return value


def _answer_texts(answers: list[Any]) -> tuple[str, ...]:
    texts = [a.get("text") for a in answers if isinstance(a, dict)]
    return tuple(dict.fromkeys(t for t in texts if isinstance(t, str) and normalize(t)))


def load_drcd(path: str | Path, articles: int | None = None) -> tuple[list[Document], list[DrcdQuestion]]:
    """Every paragraph of a DRCD / SQuAD-format file as a document, and every question (``articles``:
    of the first that many articles only).

    A paragraph becomes ``Document(id="drcd-<paragraph id>", title=<article title>)`` (the id falls
    back to ``drcd-<article index>-<paragraph index>``, an empty title to ``article <n>``) holding one
    PARAGRAPH block. A question left empty in the file is skipped.
    """
    path = Path(path)
    try:
        data = json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise EvaluationError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno} column {exc.colno})") from None
    if articles is not None and articles < 1:
        raise EvaluationError(f"articles must be at least 1, got {articles}")
    chosen = _drcd_field(data, "data", list, str(path))[:articles]
    documents: list[Document] = []
    questions: list[DrcdQuestion] = []
    seen_docs: set[str] = set()
    seen_questions: set[str] = set()
    for a, article in enumerate(chosen):
        where = f"{path}: data[{a}]"
        title = article.get("title") if isinstance(article, dict) else None
        title = title.strip() if isinstance(title, str) and title.strip() else f"article {a + 1}"
        for p, paragraph in enumerate(_drcd_field(article, "paragraphs", list, where)):
            here = f"{where}.paragraphs[{p}]"
            text = _drcd_field(paragraph, "context", str, here)
            own_id = paragraph.get("id")
            doc_id = f"drcd-{own_id}" if isinstance(own_id, str | int) and str(own_id).strip() else f"drcd-{a}-{p}"
            if doc_id in seen_docs:
                raise EvaluationError(f"{here}: duplicate paragraph id {doc_id!r}")
            seen_docs.add(doc_id)
            documents.append(
                Document(
                    id=doc_id,
                    title=title,
                    text=text,
                    blocks=(Block(0, BlockKind.PARAGRAPH, text, 0, len(text), ()),),
                    source=str(path),
                    content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
                )
            )
            for i, qa in enumerate(_drcd_field(paragraph, "qas", list, here)):
                at = f"{here}.qas[{i}]"
                answers = _drcd_field(qa, "answers", list, at)
                texts = _answer_texts(answers)
                if not texts:
                    raise EvaluationError(f"{at}: no answer text (each question needs answers[].text)")
                asked = qa.get("question")
                if isinstance(asked, str) and not asked.strip():
                    continue  # a question left empty in the file: nothing to ask
                qid = str(qa.get("id") or f"{doc_id}-{i}")
                if qid in seen_questions:
                    raise EvaluationError(f"{at}: duplicate question id {qid!r}")
                seen_questions.add(qid)
                questions.append(DrcdQuestion(qid, _drcd_field(qa, "question", str, at).strip(), doc_id, texts))
    if not documents:
        raise EvaluationError(f"{path}: no paragraphs (expected data[].paragraphs[].context)")
    if not questions:
        raise EvaluationError(f"{path}: no questions (expected data[].paragraphs[].qas[])")
    return documents, questions


@dataclass(frozen=True)
class DrcdResult:
    """How one DRCD question fared: ``rank`` of the first hit, ``None`` if not in the top 10."""

    id: str
    question: str
    doc_id: str
    rank: int | None
    latency_ms: float

    def hit_at(self, k: int) -> bool:
        return self.rank is not None and self.rank <= k


@dataclass(frozen=True)
class DrcdReport:
    """hit@1, hit@5, MRR@10 on DRCD with passage length, latency and the corpus size."""

    k: int
    n: int
    hit_at_1: float
    hit_at_5: float
    mrr_at_10: float
    mean_passage_chars: float
    """Mean length of the top-5 passages returned per question."""
    latency_p50_ms: float
    latency_p95_ms: float
    documents: int
    passages: int
    results: tuple[DrcdResult, ...]

    def misses(self, at: int = MISS_AT) -> list[DrcdResult]:
        return [r for r in self.results if not r.hit_at(at)]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def markdown(self) -> str:
        cells = " | ".join(figure_cell(v) for v in (self.hit_at_1, self.hit_at_5, self.mrr_at_10))
        return "\n".join(
            [
                "| | n | documents | passages | hit@1 | hit@5 | MRR@10 |",
                "|---|---|---|---|---|---|---|",
                f"| DRCD | {self.n} | {self.documents} | {self.passages} | {cells} |",
                "",
                self.summary(),
            ]
        )

    def summary(self) -> str:
        return (
            f"{counted(self.n, 'question')}, k={self.k}; mean passage chars {self.mean_passage_chars:.1f}; "
            f"latency p50 {self.latency_p50_ms:.0f} ms, p95 {self.latency_p95_ms:.0f} ms"
        )

    def misses_markdown(self, at: int = MISS_AT) -> str:
        misses = self.misses(at)
        lines = [f"Missed at {at}: {len(misses)} of {self.n}"]
        lines += [f"- {r.id} ({r.doc_id}) {r.question} ({_rank_note(r.rank)})" for r in misses]
        return "\n".join(lines)


class DrcdEvaluator:
    """Search every DRCD question once; a hit is a passage of the question's paragraph holding an answer.

    The assistant must index the documents of :func:`load_drcd`:

    >>> documents, questions = load_drcd("DRCD_dev.json")  # doctest: +SKIP
    >>> report = DrcdEvaluator(Assistant(documents)).run(questions, sample=400)  # doctest: +SKIP
    """

    def __init__(self, assistant: _Searches, k: int = 10) -> None:
        if not callable(getattr(assistant, "search", None)):
            raise EvaluationError(
                f"the assistant must have a search() method (a qa.Assistant), got {type(assistant)!r}"
            )
        self.assistant = assistant
        self.k = _check_k(k)

    def run(self, questions: Sequence[DrcdQuestion], sample: int | None = None, seed: int = 0) -> DrcdReport:
        """Score ``questions`` (or ``sample`` of them, drawn with ``random.Random(seed)``)."""
        chosen = sample_questions(questions, sample, seed)
        if not chosen:
            raise EvaluationError("no questions to evaluate")
        indexed = {d.id for d in self.assistant.documents}
        for q in chosen:
            if q.doc_id not in indexed:
                raise EvaluationError(
                    f"question {q.id}: its paragraph {q.doc_id!r} is not indexed; "
                    "build the Assistant over the documents that load_drcd returns"
                )
        results: list[DrcdResult] = []
        lengths: list[int] = []
        for q in chosen:
            citations, ms = _timed(lambda q=q: self.assistant.search(q.question, k=self.k))  # type: ignore[misc]
            lengths += [len(c.text) for c in citations[:MISS_AT]]
            results.append(DrcdResult(q.id, q.question, q.doc_id, drcd_hit_rank(q, citations), ms))
        n = len(results)
        latencies = [r.latency_ms for r in results]
        index = getattr(self.assistant, "index", None)
        return DrcdReport(
            k=self.k,
            n=n,
            hit_at_1=sum(r.hit_at(1) for r in results) / n,
            hit_at_5=sum(r.hit_at(5) for r in results) / n,
            mrr_at_10=sum(1 / r.rank for r in results if r.rank) / n,
            mean_passage_chars=_mean(lengths),
            latency_p50_ms=_percentile(latencies, 50),
            latency_p95_ms=_percentile(latencies, 95),
            documents=len(indexed),
            passages=len(index.passages) if index is not None else 0,
            results=tuple(results),
        )


@dataclass(frozen=True)
class OtherCollectionReport:
    """Questions about other documents asked of a collection, and the collection's own questions."""

    foreign: int
    foreign_refused: int
    own: int
    own_answered: int
    own_hit_at_1: float
    """Share of its own questions whose first passage is from their paragraph and holds an answer text."""
    own_answer_hit: float
    """Share of its own questions answered with an answer text in the answer."""

    @property
    def foreign_refused_share(self) -> float:
        return self.foreign_refused / (self.foreign or 1)

    @property
    def own_answered_share(self) -> float:
        return self.own_answered / (self.own or 1)


class OtherCollectionEvaluator:
    """Asks a collection questions about other documents (each should be refused) and its own
    questions (each should be answered), as a user of the collection would (``ask``)."""

    def __init__(self, assistant: Any, k: int = 10) -> None:
        if not callable(getattr(assistant, "ask_many", None)):
            raise EvaluationError(
                f"the assistant must have an ask_many() method (a qa.Assistant), got {type(assistant)!r}"
            )
        self.assistant = assistant
        self.k = _check_k(k)

    def run(self, foreign: Sequence[str], own: Sequence[DrcdQuestion]) -> OtherCollectionReport:
        """``foreign``: questions the collection does not hold; ``own``: questions of its paragraphs."""
        if not foreign or not own:
            raise EvaluationError("give both questions about other documents and the collection's own")
        refused = sum(a.abstained for a in self.assistant.ask_many(list(foreign), k=self.k))
        answers = self.assistant.ask_many([q.question for q in own], k=self.k)
        answered = [not a.abstained for a in answers]
        hits = [drcd_hit_rank(q, a.citations, depth=1) == 1 for q, a in zip(own, answers, strict=True)]
        found = [
            ok and any(normalize(t) in normalize(a.text) for t in q.answers)
            for q, a, ok in zip(own, answers, answered, strict=True)
        ]
        n = len(own)
        return OtherCollectionReport(len(foreign), refused, n, sum(answered), sum(hits) / n, sum(found) / n)
