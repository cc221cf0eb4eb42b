"""Bad input wherever it enters (library, ``qa`` command, chat handlers): a clear error or a
sensible answer, never a traceback and never a half-built index.

The embedding model is beside the point here, so the fake embedder stands in for it.
"""

from __future__ import annotations

import json

import pytest
from conftest import FakeHashEmbedder

from corpus import DocumentError, DocumentLoader
from index.errors import IndexBuildError
from qa import Assistant, InvalidRequestError, Settings, UnknownCitationError
from qa.cli import main


def settings(tmp_path, **kw) -> Settings:
    return Settings(cache_dir=tmp_path / "cache", progress=False, **kw)


@pytest.fixture(scope="module")
def assistant(chapter, tmp_path_factory):
    return Assistant([chapter], settings(tmp_path_factory.mktemp("bad")), embedders=[FakeHashEmbedder()])


def write(tmp_path, name: str, data: str | bytes):
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


# -- questions -------------------------------------------------------------------------------
@pytest.mark.parametrize("question", ["", "   ", "\n\t ", "\u200b\u200b", "\x00\x01"])
def test_empty_questions_are_refused_with_a_prompt(assistant, question):
    with pytest.raises(InvalidRequestError, match="the question is empty"):
        assistant.ask(question)
    with pytest.raises(InvalidRequestError, match="the question is empty"):
        assistant.search(question)


def test_a_one_megabyte_question_is_answered_on_a_prefix_saying_so(assistant):
    question = "北韓迄今共進行幾次核試？" + "很長的問題" * 200_000  # ~1 MB of UTF-8
    assert len(question.encode()) > 1_000_000
    answer = assistant.ask(question)
    assert answer.citations and not answer.abstained
    assert len(answer.question) <= assistant.settings.answering.max_question_chars
    assert f"first {assistant.settings.answering.max_question_chars:,}" in answer.notice
    assert assistant.ask("北韓迄今共進行幾次核試？").notice == ""
    [many] = assistant.ask_many([question])
    assert many.notice == answer.notice


def test_invisible_characters_in_a_question_do_not_split_words(assistant):
    plain = assistant.search("川普與金正恩在新加坡會面", k=3)
    hidden = assistant.search("川\u200b普與\u202e金正恩\ufeff在新\u2066加坡會面\u2069", k=3)
    assert [c.id for c in hidden] == [c.id for c in plain]


@pytest.mark.parametrize(
    "question", ["🇰🇵🚀 北韓飛彈 🚀", "שלום 北韓核試 مرحبا", "\u202eevitcejbo\u202c 北韓核試", "🤔" * 500]
)
def test_emoji_and_right_to_left_text_get_answers(assistant, question):
    answer = assistant.ask(question, k=3)
    assert answer.text and len(answer.citations) == 3


@pytest.mark.parametrize("k", [0, -1, -(10**9), 1.5, "3", None, True])
def test_bad_k_is_refused(assistant, k):
    with pytest.raises(InvalidRequestError, match="k must"):
        assistant.ask("北韓核試", k=k)
    with pytest.raises(InvalidRequestError, match="k must"):
        assistant.search("北韓核試", k=k)


def test_a_huge_k_is_capped_at_every_passage(assistant):
    assert len(assistant.search("北韓核試", k=10**12)) == min(100, len(assistant.passages))


@pytest.mark.parametrize(
    "citation_id",
    ["", "p0000000", "../../etc/passwd", "/etc/passwd", "p1234567\x00", "P" + "f" * 10_000, "🚀", None, 42],
)
def test_unknown_malformed_or_path_like_ids_are_unknown_citations(assistant, citation_id):
    with pytest.raises(UnknownCitationError, match="unknown citation id"):
        assistant.cite(citation_id)
    with pytest.raises(UnknownCitationError):
        assistant.context(citation_id)


# -- documents -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("binary.txt", bytes(range(256)) * 4, "not UTF-8"),
        ("latin1.txt", "Pyongyang caf\xe9 summit".encode("latin-1"), "not UTF-8"),
        ("nul.md", b"# title\n\x00\x00\x00 binary", "binary"),
        ("empty.txt", b"", "empty"),
        ("blank.md", b"  \n\n\t\n", "empty"),
        ("image.png", b"\x89PNG\r\n\x1a\n" + bytes(100), "unsupported file type"),
        ("noext", b"text", "unsupported file type"),
    ],
)
def test_bad_document_files_get_a_clear_error(tmp_path, name, data, message):
    path = write(tmp_path, name, data)
    with pytest.raises(DocumentError, match=message) as caught:
        DocumentLoader().run([path])
    assert str(path) in str(caught.value)


def test_a_missing_or_directory_path_is_a_clear_error(tmp_path):
    with pytest.raises(DocumentError, match="no such file"):
        DocumentLoader().run([tmp_path / "missing.md"])
    with pytest.raises(DocumentError, match="a directory, not a file"):
        DocumentLoader().run([tmp_path])


def test_a_document_of_headings_only_is_indexed_and_searchable(tmp_path):
    path = write(tmp_path, "outline.md", "# 朝鮮半島\n\n## 無核化談判\n\n## 駐韓美軍\n\n### 薩德部署\n")
    assistant = Assistant(DocumentLoader().run([path]), settings(tmp_path), embedders=[FakeHashEmbedder()])
    assert assistant.passages
    assert "薩德部署" in assistant.search("薩德", k=1)[0].text


def test_a_document_with_no_text_to_index_leaves_no_index_behind(tmp_path):
    path = write(tmp_path, "title-only.md", "# \u200b\n")
    with pytest.raises((DocumentError, IndexBuildError)) as caught:
        Assistant(DocumentLoader().run([path]), settings(tmp_path), embedders=[FakeHashEmbedder()])
    assert "empty" in str(caught.value) or "no text" in str(caught.value)
    indexes = tmp_path / "cache" / "indexes"
    assert not indexes.exists() or not any(indexes.iterdir())


@pytest.mark.parametrize(
    "text",
    [
        "北韓" * 100_000,  # one 200,000-character line with no punctuation
        "word " * 40_000,
        "a" * 200_000,
    ],
)
def test_one_long_line_without_punctuation_is_chunked_within_bounds(tmp_path, text):
    path = write(tmp_path, "line.txt", text)
    [document] = DocumentLoader().run([path])
    s = settings(tmp_path)
    assistant = Assistant([document], s, embedders=[FakeHashEmbedder()])
    passages = assistant.passages
    assert all(len(p.text) <= s.index.chunk_size for p in passages)
    assert all(p.text == document.text[p.start : p.end] for p in passages)
    assert passages[0].start == 0 and passages[-1].end == len(document.text)
    assert assistant.ask(text[:20], k=2).citations


def test_emoji_zero_width_and_right_to_left_text_in_documents_round_trip(tmp_path):
    text = "# 測試 🚀\n\n北韓於2017年試射火星15型🚀飛彈\u200b。שלום עולם مرحبا بالعالم。\u202e反向文字\u202c結束。\n"
    path = write(tmp_path, "mixed.md", text)
    [document] = DocumentLoader().run([path])
    assistant = Assistant([document], settings(tmp_path), embedders=[FakeHashEmbedder()])
    for c in assistant.passages:
        assert document.text[c.start : c.end] == c.text
    assert "🚀" in assistant.search("火星15型飛彈", k=1)[0].text


# -- the qa command --------------------------------------------------------------------------
def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def docs(tmp_path):
    return write(tmp_path, "notes.md", "# 筆記\n\n北韓於2017年9月3日進行第六次核試。\n")


def no_traceback(code: int, err: str) -> None:
    assert code == 1 and err.startswith("qa: error: ") and "Traceback" not in err and err.count("\n") == 1


@pytest.mark.parametrize(
    "argv",
    [
        ["ask", "   "],
        ["ask", "北韓核試", "-k", "0"],
        ["ask", "北韓核試", "-k", "-5"],
        ["search", "北韓核試", "-k", "-1"],
        ["cite", "../../etc/passwd"],
        ["cite", ""],
    ],
)
def test_the_command_turns_bad_requests_into_one_line_errors(capsys, tmp_path, docs, argv):
    code, out, err = run(capsys, *argv, "--doc", str(docs), "--cache-dir", str(tmp_path / "c"), "--embedders", "use")
    no_traceback(code, err)
    assert out == ""


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("bin.txt", bytes(range(256)), "not UTF-8"),
        ("empty.md", b"", "empty"),
        ("sheet.xlsx", b"PK\x03\x04", "unsupported file type"),
    ],
)
def test_the_command_reports_bad_documents_in_one_line(capsys, tmp_path, name, data, message):
    path = write(tmp_path, name, data)
    code, out, err = run(capsys, "search", "北韓", "--doc", str(path), "--cache-dir", str(tmp_path / "c"))
    no_traceback(code, err)
    assert message in err and out == ""
    assert not (tmp_path / "c" / "indexes").exists()


def test_the_command_reports_a_bad_question_file_in_one_line(capsys, tmp_path, docs):
    bad = write(tmp_path, "questions.txt", b"\xff\xfe\x00\x81")
    code, _, err = run(capsys, "ask", "--file", str(bad), "--doc", str(docs), "--cache-dir", str(tmp_path / "c"))
    no_traceback(code, err)
    assert "not UTF-8" in err
    code, _, err = run(capsys, "ask", "--file", str(tmp_path / "none.txt"), "--doc", str(docs))
    no_traceback(code, err)


def test_the_command_says_when_a_long_question_was_cut(capsys, tmp_path, docs):
    question = "北韓第六次核試是哪一天？" + "。" * 5000
    common = ["--doc", str(docs), "--cache-dir", str(tmp_path / "c"), "--embedders", "use"]
    code, out, _ = run(capsys, "ask", question, "--json", *common)
    assert code == 0
    answer = json.loads(out)
    assert "first 2,000" in answer["notice"] and answer["citations"]
    code, out, err = run(capsys, "search", question, "--json", *common)
    assert code == 0 and json.loads(out) and "first 2,000" in err
