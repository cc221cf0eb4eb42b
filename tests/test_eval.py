"""``qa eval``: question-set loading, the scoring rules of ../shared/eval/README.md, DRCD, the command."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from conftest import EVAL_DIR

from corpus.model import BlockKind
from qa import Answer, Assistant, Citation, Settings
from qa.cli import main
from qa.evaluation import (
    DrcdEvaluator,
    DrcdQuestion,
    EvalQuestion,
    EvaluationError,
    QuestionSetEvaluator,
    drcd_hit_rank,
    first_hit_rank,
    load_drcd,
    load_questions,
    sample_questions,
)

FAST = ["--embedders", "use"]


def citation(text: str, doc_id: str = "doc", n: int = 0) -> Citation:
    return Citation(id=f"p{n}", doc_id=doc_id, doc_title="title", section=(), text=text, start=0, end=len(text))


class ScriptedAssistant:
    """Test double: answers each question with fixed passages, answer text and abstention; records calls."""

    def __init__(self, replies: dict[str, tuple[list[str], str, bool]]) -> None:
        self.replies = replies
        self.calls: list[tuple[str, int]] = []

    def ask(self, question: str, k: int = 5) -> Answer:
        self.calls.append((question, k))
        texts, text, abstained = self.replies[question]
        citations = tuple(citation(t, n=i) for i, t in enumerate(texts[:k]))
        return Answer(question=question, text=text, abstained=abstained, citations=citations)


def q(id: str, lang: str, gold: list[str], needs_all: bool = False) -> EvalQuestion:
    return EvalQuestion(id=id, lang=lang, question=f"question {id}", gold=tuple(gold), needs_all=needs_all)


FILLER = [f"無關段落{i}" for i in range(10)]

# id: (question, passages returned best first, answer text, abstained)
CASES = {
    # gold at rank 2, written with spaces in the passage and the answer: whitespace does not count
    "a": (q("a", "zh-Hant", ["板門店宣言"]), ["無關", "簽署 板門 店宣言 於4月", *FILLER], "板門店 宣言", False),
    # gold first appears at rank 7: a miss at 5, MRR 1/7
    "b": (q("b", "zh-Hant", ["平壤共同宣言"]), [*FILLER[:6], "平壤共同宣言", *FILLER[6:]], "不知道", False),
    # needs_all: the second gold string only arrives at rank 3
    "c": (q("c", "en", ["甲甲", "乙乙"], needs_all=True), ["甲甲", "x", "乙乙", *FILLER], "甲甲", False),
    # same passages without needs_all: one gold string at rank 1 suffices
    "d": (q("d", "en", ["甲甲", "乙乙"]), ["甲甲", "x", "乙乙", *FILLER], "乙 乙", False),
    # not retrieved at all, and wrongly refused
    "e": (q("e", "en", ["不在這裡"]), FILLER, "找不到答案", True),
    # unanswerable: refused (good) and answered (bad)
    "f": (q("f", "zh-Hans", []), FILLER, "找不到答案", True),
    "g": (q("g", "en", []), FILLER, "亂答", False),
}


@pytest.fixture
def scripted_report():
    assistant = ScriptedAssistant({c[0].question: c[1:] for c in CASES.values()})
    report = QuestionSetEvaluator(assistant, k=10).run([c[0] for c in CASES.values()])
    return assistant, report


def test_first_hit_rank_rules():
    assert first_hit_rank(["板門店宣言"], ["x", "板門 店\n宣言"]) == 2
    assert first_hit_rank(["a b"], ["xaby"]) == 1  # whitespace removed from the gold string too
    assert first_hit_rank(["甲", "乙"], ["甲", "乙"], needs_all=True) == 2
    assert first_hit_rank(["甲", "乙"], ["甲", "丙"], needs_all=True) is None
    assert first_hit_rank(["甲"], ["x"] * 10 + ["甲"]) is None  # past 10
    assert first_hit_rank([], ["anything"]) is None


def test_scores_follow_the_readme(scripted_report):
    assistant, report = scripted_report
    assert len(assistant.calls) == len(CASES) and {k for _, k in assistant.calls} == {10}
    ranks = {r.id: r.rank for r in report.results}
    assert ranks == {"a": 2, "b": 7, "c": 3, "d": 1, "e": None, "f": None, "g": None}
    assert {r.id for r in report.results if r.answer_hit} == {"a", "c", "d"}

    overall = report.groups["overall"]
    assert overall.n == 5
    assert overall.hit_at_1 == pytest.approx(1 / 5)
    assert overall.hit_at_5 == pytest.approx(3 / 5)
    assert overall.mrr_at_10 == pytest.approx((1 / 2 + 1 / 7 + 1 / 3 + 1) / 5)
    assert overall.answer_hit == pytest.approx(3 / 5)
    assert (overall.unanswerable, overall.refused) == (2, 1)
    assert overall.wrongly_refused == pytest.approx(1 / 5)

    assert list(report.groups) == ["zh-Hant", "zh-Hans", "en", "overall"]
    hant, hans, en = report.groups["zh-Hant"], report.groups["zh-Hans"], report.groups["en"]
    assert (hant.n, hant.hit_at_1, hant.hit_at_5) == (2, 0.0, 0.5)
    assert hant.mrr_at_10 == pytest.approx((1 / 2 + 1 / 7) / 2)
    assert (hans.n, hans.hit_at_1, hans.unanswerable, hans.refused, hans.wrongly_refused) == (0, None, 1, 1, None)
    assert (en.n, en.unanswerable, en.refused) == (3, 1, 0)
    assert en.hit_at_1 == pytest.approx(1 / 3) and en.hit_at_5 == pytest.approx(2 / 3)
    assert en.wrongly_refused == pytest.approx(1 / 3)


def test_passage_length_latency_and_misses(scripted_report):
    _, report = scripted_report
    top5 = [len(t) for c in CASES.values() if c[0].gold for t in c[1][:5]]
    assert report.mean_passage_chars == pytest.approx(sum(top5) / len(top5))
    assert report.n_questions == 7
    assert 0 <= report.latency_p50_ms <= report.latency_p95_ms
    assert [r.id for r in report.misses()] == ["b", "e"]
    assert [r.id for r in report.misses(at=10)] == ["e"]


def test_markdown_and_dict(scripted_report):
    _, report = scripted_report
    table = report.markdown()
    assert "| zh-Hans | 0 | – | – | – | – | 1/1 | – |" in table
    assert "| overall | 5 | 0.200 | 0.600 | 0.395 | 0.600 | 1/2 | 0.200 |" in table
    assert "7 questions (5 answerable)" in table and "mean passage chars" in table and "p95" in table
    assert "- b [zh-Hant] question b (first hit at 7)" in report.misses_markdown()
    data = json.loads(json.dumps(report.to_dict(), ensure_ascii=False))
    assert data["groups"]["en"]["n"] == 3 and data["n_questions"] == 7
    assert data["results"][0] == {
        "id": "a",
        "lang": "zh-Hant",
        "question": "question a",
        "answerable": True,
        "rank": 2,
        "answer_hit": True,
        "abstained": False,
        "latency_ms": pytest.approx(data["results"][0]["latency_ms"]),
    }


def test_evaluator_arguments_are_checked():
    assistant = ScriptedAssistant({})
    for k in (5, 0, 101, True, "10"):
        with pytest.raises(EvaluationError, match="k must be"):
            QuestionSetEvaluator(assistant, k=k)  # type: ignore[arg-type]
    with pytest.raises(EvaluationError, match="ask"):
        QuestionSetEvaluator(object())  # type: ignore[arg-type]
    with pytest.raises(EvaluationError, match="no questions"):
        QuestionSetEvaluator(assistant).run([])
    with pytest.raises(EvaluationError, match="sample"):
        QuestionSetEvaluator(assistant).run([q("a", "en", ["x"]), q("b", "en", ["y"])], sample=0)
    with pytest.raises(EvaluationError, match="gold"):
        q("a", "en", ["  "])


def test_real_assistant_with_fake_embedder(chapter, fake_embedder):
    """The whole path over the chapter: a sentence asked verbatim is found, a made-up gold string is not."""
    assistant = Assistant([chapter], Settings(cache_dir=None, progress=False), embedders=[fake_embedder])
    sentence = "9月19日兩韓領導人順利簽署《平壤共同宣言》"
    assert sentence in chapter.text
    questions = [
        EvalQuestion("found", "zh-Hant", sentence, ("順利簽署 《平壤共同宣言》",)),
        EvalQuestion("absent", "en", "Who won the 1998 World Cup?", ("這句話不在文中出現",)),
    ]
    report = QuestionSetEvaluator(assistant).run(questions)
    found, absent = report.results
    assert found.rank is not None and found.rank <= 5
    assert absent.rank is None and not absent.answer_hit
    assert report.groups["overall"].hit_at_5 == 0.5
    assert 0 < report.mean_passage_chars <= 300 + 50


# -- loading question sets ---------------------------------------------------------------------------


def test_load_questions_reads_the_dev_set(dev_questions):
    questions = load_questions(EVAL_DIR / "dev.jsonl")
    assert [x.id for x in questions] == [d["id"] for d in dev_questions]
    assert [list(x.gold) for x in questions] == [d["gold"] for d in dev_questions]
    assert [x.needs_all for x in questions] == [d["needs_all"] for d in dev_questions]
    assert sum(not x.answerable for x in questions) == sum(not d["gold"] for d in dev_questions) > 0


GOOD = {"id": "x1", "lang": "en", "question": "Who?", "gold": ["某人"], "needs_all": False}


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ('{"id": "x2", "lang": "en",', "not valid JSON"),
        ('["a list"]', "expected a JSON object"),
        ('{"id": "x2", "lang": "en", "question": "Q"}', "missing 'gold'"),
        ('{"id": "x2", "lang": "en", "question": "Q", "gold": "某人"}', "'gold' must be a list"),
        ('{"id": "x2", "lang": "en", "question": "", "gold": []}', "'question' must be a non-empty string"),
        ('{"id": "x2", "lang": "en", "question": "Q", "gold": [], "needs_all": "yes"}', "'needs_all'"),
        (json.dumps(GOOD), "duplicate id 'x1' (first on line 1)"),
    ],
)
def test_a_malformed_line_names_the_file_and_line(tmp_path, bad_line, message):
    path = tmp_path / "set.jsonl"
    path.write_text(json.dumps(GOOD, ensure_ascii=False) + "\n\n" + bad_line + "\n", "utf-8")
    with pytest.raises(EvaluationError) as info:
        load_questions(path)
    assert str(info.value).startswith(f"{path}, line 3: ")
    assert message in str(info.value)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(EvaluationError, match="no such file"):
        load_questions(tmp_path / "nope.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n \n", "utf-8")
    with pytest.raises(EvaluationError, match="no questions"):
        load_questions(tmp_path / "empty.jsonl")


# -- DRCD ------------------------------------------------------------------------------------------

TINY_DRCD = {
    "version": "test",
    "data": [
        {
            "title": "台北",
            "id": "100",
            "paragraphs": [
                {
                    "id": "100-1",
                    "context": "台北101是台北市信義區的摩天大樓，於2004年落成，曾是世界最高的建築物。",
                    "qas": [
                        {"id": "100-1-1", "question": "台北101於哪一年落成？", "answers": [{"text": "2004年"}]},
                        {"id": "100-1-2", "question": "台北101位於哪一區？", "answers": [{"text": "信 義區"}]},
                    ],
                },
                {
                    "id": "100-2",
                    "context": "台北捷運於1996年通車，第一條路線是文湖線，由台北市政府經營。",
                    "qas": [{"id": "100-2-1", "question": "台北捷運哪一年通車？", "answers": [{"text": "1996年"}]}],
                },
            ],
        },
        {
            "title": "高雄",
            "paragraphs": [
                {
                    "context": "高雄港是台灣最大的港口，2004年貨櫃量居世界第六。",
                    "qas": [
                        # the answer text is not in its own paragraph: never a hit
                        {"id": "200-1-1", "question": "高雄港是哪裡最大的港口？", "answers": [{"text": "月球"}]},
                        {"id": "200-1-2", "question": "高雄港2004年貨櫃量排名？", "answers": [{"text": "第六"}]},
                    ],
                }
            ],
        },
    ],
}


@pytest.fixture
def drcd_file(tmp_path) -> Path:
    path = tmp_path / "tiny_drcd.json"
    path.write_text(json.dumps(TINY_DRCD, ensure_ascii=False), "utf-8")
    return path


def test_load_drcd_makes_one_document_per_paragraph(drcd_file):
    documents, questions = load_drcd(drcd_file)
    assert [d.id for d in documents] == ["drcd-100-1", "drcd-100-2", "drcd-1-0"]  # last: no paragraph id
    assert [d.title for d in documents] == ["台北", "台北", "高雄"]
    paragraphs = TINY_DRCD["data"][0]["paragraphs"] + TINY_DRCD["data"][1]["paragraphs"]
    for d, source in zip(documents, paragraphs, strict=True):
        assert d.text == source["context"] and d.source == str(drcd_file)
        assert d.content_hash == hashlib.sha256(d.text.encode("utf-8")).hexdigest()
        [block] = d.blocks
        assert (block.kind, block.start, block.end, block.text, block.section) == (
            BlockKind.PARAGRAPH,
            0,
            len(d.text),
            d.text,
            (),
        )
    assert [(x.id, x.doc_id) for x in questions] == [
        ("100-1-1", "drcd-100-1"),
        ("100-1-2", "drcd-100-1"),
        ("100-2-1", "drcd-100-2"),
        ("200-1-1", "drcd-1-0"),
        ("200-1-2", "drcd-1-0"),
    ]
    assert questions[1].answers == ("信 義區",)


def test_drcd_hit_needs_the_own_paragraph_and_an_answer_text():
    question = DrcdQuestion("q", "高雄港2004年貨櫃量排名？", "drcd-own", ("第 六",))
    other = citation("2004年貨櫃量居世界第六", doc_id="drcd-other", n=1)
    own_without = citation("高雄港是台灣最大的港口", doc_id="drcd-own", n=2)
    own_with = citation("貨櫃量居世界第\n六", doc_id="drcd-own", n=3)
    assert drcd_hit_rank(question, [other, own_without, own_with]) == 3
    assert drcd_hit_rank(question, [other, own_without]) is None
    assert drcd_hit_rank(question, [own_with]) == 1


def test_load_drcd_keeps_the_first_articles_when_asked(drcd_file):
    documents, questions = load_drcd(drcd_file, articles=1)
    assert [d.title for d in documents] == ["台北", "台北"]
    assert {q.doc_id for q in questions} <= {d.id for d in documents}
    with pytest.raises(EvaluationError, match="articles must be at least 1"):
        load_drcd(drcd_file, articles=0)


def test_drcd_evaluator_on_a_tiny_corpus(drcd_file, fake_embedder):
    documents, questions = load_drcd(drcd_file)
    settings = Settings(cache_dir=None, progress=False)
    assistant = Assistant(documents, settings, embedders=[fake_embedder])
    report = DrcdEvaluator(assistant, k=10).run(questions)
    # three one-passage paragraphs: every question sees every passage; only 200-1-1 (answer not in its paragraph) misses
    assert (report.n, report.documents, report.passages) == (5, 3, 3)
    assert report.hit_at_5 == pytest.approx(4 / 5)
    assert [r.id for r in report.misses(at=10)] == ["200-1-1"]
    ranks = [r.rank for r in report.results]
    assert report.hit_at_1 == pytest.approx(sum(r == 1 for r in ranks) / 5)
    assert report.mrr_at_10 == pytest.approx(sum(1 / r for r in ranks if r) / 5)
    assert report.mean_passage_chars == pytest.approx(sum(len(d.text) for d in documents) / 3)
    assert "| DRCD | 5 | 3 | 3 |" in report.markdown()
    assert json.loads(json.dumps(report.to_dict(), ensure_ascii=False))["results"][3]["rank"] is None


def test_drcd_sample_is_deterministic(drcd_file, fake_embedder):
    documents, questions = load_drcd(drcd_file)
    assistant = Assistant(documents, Settings(cache_dir=None, progress=False), embedders=[fake_embedder])
    evaluator = DrcdEvaluator(assistant)
    first = [r.id for r in evaluator.run(questions, sample=2, seed=7).results]
    assert first == [r.id for r in evaluator.run(questions, sample=2, seed=7).results]
    assert len(first) == 2 and first == sorted(first, key=[x.id for x in questions].index)
    samples = {tuple(x.id for x in sample_questions(questions, 2, seed)) for seed in range(20)}
    assert len(samples) > 1  # the seed matters
    assert len(evaluator.run(questions, sample=50).results) == 5  # a sample larger than the set takes all


def test_drcd_evaluator_refuses_questions_of_unindexed_paragraphs(drcd_file, chapter, fake_embedder):
    _, questions = load_drcd(drcd_file)
    settings = Settings(cache_dir=None, progress=False)
    assistant = Assistant([chapter], settings, embedders=[fake_embedder])
    with pytest.raises(EvaluationError, match="not indexed"):
        DrcdEvaluator(assistant).run(questions)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"version": 1}, "missing 'data'"),
        ({"data": [{"title": "T", "paragraphs": [{"qas": []}]}]}, "data[0].paragraphs[0]: missing 'context'"),
        (
            {"data": [{"title": "T", "paragraphs": [{"context": "文", "qas": [{"question": "？", "answers": []}]}]}]},
            "data[0].paragraphs[0].qas[0]: no answer text",
        ),
        ({"data": []}, "no paragraphs"),
    ],
)
def test_load_drcd_reports_bad_files(tmp_path, data, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    with pytest.raises(EvaluationError) as info:
        load_drcd(path)
    assert str(info.value).startswith(str(path)) and message in str(info.value)
    path.write_text("{not json", "utf-8")
    with pytest.raises(EvaluationError, match="not valid JSON"):
        load_drcd(path)


# -- the command -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("eval-cache"))


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_eval_json_on_a_dev_sample(capsys, cache, dev_questions):
    code, out, _ = run(
        capsys, "eval", EVAL_DIR / "dev.jsonl", "--sample", 3, "--seed", 1, "--json", "--cache-dir", cache, *FAST
    )
    assert code == 0
    data = json.loads(out)
    assert data["n_questions"] == 3 and data["k"] == 10
    assert {r["id"] for r in data["results"]} <= {d["id"] for d in dev_questions}
    assert data["groups"]["overall"]["n"] == sum(r["answerable"] for r in data["results"])
    assert data["latency_p50_ms"] > 0 and data["mean_passage_chars"] > 0


def test_cli_eval_drcd_table_and_misses(capsys, cache, drcd_file):
    code, out, err = run(capsys, "eval", drcd_file, "--drcd", "--misses", "--cache-dir", cache, *FAST)
    assert code == 0, err
    assert "| | n | documents | passages | hit@1 | hit@5 | MRR@10 |" in out
    assert "| DRCD | 5 | 3 | 3 |" in out and "| 0.800 |" in out
    assert "Missed at 5: 1 of 5" in out and "- 200-1-1 (drcd-1-0) 高雄港是哪裡最大的港口？" in out
    code, out, _ = run(
        capsys, "eval", drcd_file, "--drcd", "--json", "--misses", "--sample", 2, "--cache-dir", cache, *FAST
    )
    assert code == 0
    data = json.loads(out)
    assert data["n"] == 2 and data["documents"] == 3 and set(data["misses"]) <= {"200-1-1"}


def test_cli_eval_errors_are_one_line(capsys, cache, tmp_path, drcd_file):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x"}\n', "utf-8")
    cases = [
        (["eval", tmp_path / "nope.jsonl"], "no such file"),
        (["eval", bad], f"{bad}, line 1: missing 'lang', 'question', 'gold'"),
        (["eval", drcd_file, "--drcd", "--doc", bad], "--doc cannot be used with --drcd"),
        (["eval", drcd_file, "--drcd", "-k", 5], "k must be"),
        (["eval", bad, "--drcd"], "missing 'data'"),
    ]
    for argv, message in cases:
        code, out, err = run(capsys, *argv, "--cache-dir", cache, *FAST)
        assert code == 1 and out == ""
        assert err.startswith("qa: error: ") and message in err and err.count("\n") == 1


def test_load_drcd_accepts_empty_titles_and_skips_empty_questions(tmp_path):
    data = {
        "data": [
            {
                "title": "",
                "paragraphs": [
                    {
                        "id": "p1",
                        "context": "首爾是南韓的首都。",
                        "qas": [
                            {"id": "q1", "question": "南韓的首都是哪裡？", "answers": [{"text": "首爾"}]},
                            {"id": "q2", "question": " ", "answers": [{"text": "首爾"}]},
                        ],
                    }
                ],
            }
        ]
    }
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    documents, questions = load_drcd(path)
    assert [d.title for d in documents] == ["article 1"]
    assert [q.id for q in questions] == ["q1"]
