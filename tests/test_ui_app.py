"""The chat's handlers and rendering, without a server (the fake embedder stands in for the models)."""

from __future__ import annotations

import re
import threading
from dataclasses import replace

import pytest

from corpus.script import to_simplified_mainland
from qa import Assistant, QAError, Settings
from qa.model import Answer, Citation, PassageContext, Quote, Section
from ui import render
from ui.app import AssistantLoader, ChatApp, ChatTurn, create_app

INJECTION = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script> [x](javascript:alert(1)) &amp;'


@pytest.fixture(scope="module")
def app(chapter) -> ChatApp:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from conftest import FakeHashEmbedder

    settings = Settings(cache_dir=None, progress=False)
    return create_app(assistant=Assistant([chapter], settings, embedders=[FakeHashEmbedder()]))


def final(app: ChatApp, message: str, turn: ChatTurn | None = None, messages=None):
    steps = list(app.respond(message, messages or [], turn))
    return steps, steps[-1]


def contents(messages) -> list[str]:
    return [m.content if hasattr(m, "content") else m["content"] for m in messages]


def test_a_question_shows_at_once_then_the_answer_with_its_sources(app):
    steps, (messages, box, cited, turn) = final(app, "《平壤共同宣言》是哪天簽署的？")
    first = steps[0][0]
    assert first[0].role == "user" and "平壤共同宣言" in first[0].content
    assert "Searching" in first[-1].content
    answer, sources = messages[1], messages[2:]
    assert '<a class="pqa-marker" href="#pqa-source-1" title="Source 1">&#91;1&#93;</a>' in answer.content
    assert len(sources) == 5
    for n, source in enumerate(sources, start=1):
        title = source.metadata["title"]
        assert title.startswith(f"\\[{n}\\] ") and re.search(r"· p[0-9a-f]{7}$", title)  # Markdown-escaped
    assert any("<mark>" in s.content for s in sources)
    assert box == ""
    assert [value for _, value in cited["choices"]] == [t.metadata["title"].rsplit("· ", 1)[1] for t in sources]
    assert all(label.startswith(f"[{n}] {value} · ") for n, (label, value) in enumerate(cited["choices"], start=1))
    assert turn.questions == ["《平壤共同宣言》是哪天簽署的？"]
    assert turn.quotes


def test_the_previous_question_informs_the_next(app):
    _, (messages, _, _, turn) = final(app, "文金會舉行了幾次？")
    _, (messages, _, _, turn) = final(app, "第二次是哪一天？", turn, messages)
    assert turn.questions == ["文金會舉行了幾次？", "第二次是哪一天？"]
    assert sum(m.role == "user" for m in messages) == 2


def test_empty_input_gets_a_prompt_not_an_error(app):
    for blank in ["", "   \n\t", None]:
        _, (messages, *_rest) = final(app, blank)
        assert messages[-1].role == "assistant" and "Please type a question" in messages[-1].content


def test_a_huge_paste_is_shown_cut_and_answered_on_a_prefix(app):
    text = "駐韓美軍人數有何變化？" + "朝鮮半島" * 25_000
    _, (messages, *_rest) = final(app, text)
    assert len(messages[0].content) < 4_000 and "100,011" in messages[0].content
    assert "2,000" in messages[1].content and "&#91;1&#93;" in messages[1].content


def test_control_characters_and_other_languages_get_answers(app):
    for question in ["駐韓美軍\x00\x07的人數\x1b[31m是多少？", "북한의 비핵화는 언제?", "🙂\u200b\u202e？"]:
        _, (messages, *_rest) = final(app, question)
        assert messages[-1].role == "assistant"
        assert "Something went wrong" not in "".join(contents(messages))


def test_html_and_markdown_in_a_question_render_as_text(app):
    _, (messages, *_rest) = final(app, INJECTION)
    shown = messages[0].content
    assert "<" not in shown and ">" not in shown.replace("&gt;", "")
    assert "&lt;script&gt;" in shown and "&#91;x&#93;&#40;javascript:alert&#40;1&#41;&#41;" in shown
    assert "&amp;amp;" in shown


def test_citation_lookup_shows_the_passage_in_place(app):
    assistant = app.loader.wait()
    with_notes = next(c for c in assistant.passages if c.footnotes)
    html = app.show_citation(f"  {with_notes.id} ")
    assert f'data-citation="{with_notes.id}"' in html
    assert "pqa-crumbs" in html and "Footnotes" in html
    assert render.html_text(with_notes.text) in html


def test_unknown_or_path_like_citation_ids_get_a_clear_message(app):
    for bad in ["p0000000", "../../etc/passwd", "<b>x</b>"]:
        html = app.show_citation(bad)
        assert "unknown citation id" in html and "<b>" not in html
    assert "Enter or choose a citation id" in app.show_citation("")


def test_the_outline_shows_a_sections_text_with_its_ids(app, chapter):
    sections = app.by_session.outline_for()
    assert sections[0].path == () and [s.path for s in sections[1:]] == chapter.sections()
    index = next(i for i, s in enumerate(sections) if "川金會" in s.title)
    html = app.show_section(str(index))
    assert "6月12日" in html and re.search(r'<code class="pqa-id">p[0-9a-f]{7}</code>', html)
    assert "Choose a section" in app.show_section("999") and "Choose a section" in app.show_section(None)


def test_the_chat_api_returns_citations_that_cite_resolves(app):
    data = app.chat_api("駐韓美軍部署", ["文金會舉行了幾次？"], 3)
    assert len(data["citations"]) == 3
    for c in data["citations"]:
        assert app.loader.wait().cite(c["id"]).text == c["text"] and c["section_path"]


def test_the_chat_api_turns_bad_input_into_a_gradio_error(app):
    import gradio as gr

    with pytest.raises(gr.Error, match="empty"):
        app.chat_api("  ")
    with pytest.raises(gr.Error, match="k must be at least 1"):
        app.chat_api("駐韓美軍", None, 0)


# -- the loader: progress while the index is built ------------------------------------------
def test_the_loader_reports_progress_then_ready(app):
    release = threading.Event()
    reported = threading.Event()
    assistant = app.loader.wait()

    def factory(progress):
        progress("fake/hash-64", 2, 10)
        reported.set()
        release.wait(10)
        return assistant

    loader = AssistantLoader(factory).start()
    assert reported.wait(10)
    assert not loader.ready and "2/10 (20%)" in loader.status()
    with pytest.raises(QAError, match="still being built"):
        loader.wait(timeout=0.01)
    release.set()
    assert loader.wait(10) is assistant and loader.ready and "Ready" in loader.status()


def test_a_failed_build_is_reported_not_raised_in_the_page(chapter):
    def factory(progress):
        raise OSError("disk full")

    loader = AssistantLoader(factory).start()
    with pytest.raises(QAError, match="disk full"):
        loader.wait(10)
    assert "disk full" in loader.status()
    app = ChatApp(loader, [chapter])
    _, (messages, *_rest) = final(app, "駐韓美軍的人數是多少？")
    assert "disk full" in messages[-1].content
    assert "disk full" in app.show_citation("p0000000")


def test_the_chat_needs_a_document(chapter):
    with pytest.raises(ValueError, match="at least one document"):
        ChatApp(AssistantLoader(lambda progress: None), [])  # type: ignore[arg-type,return-value]


# -- rendering ------------------------------------------------------------------------------
def citation(text: str, start: int = 100, section=("壹、前言",)) -> Citation:
    return Citation("p1234567", "doc", "標題 <T>", section, text, start, start + len(text))


def test_markdown_text_escapes_markup_and_drops_invisible_characters():
    assert render.markdown_text("a*b_[c](d) <e> #") == "a&#42;b&#95;&#91;c&#93;&#40;d&#41; &lt;e&gt; &#35;"
    assert render.markdown_text("x\u202ey\u200bz\x00") == "xyz"


def test_a_url_in_a_passage_keeps_its_characters():
    """Escapes are character references, not backslashes: a Markdown renderer that links bare URLs
    links this one as written (a backslash escape showed as ``english\\.yonhapnews\\.co\\.kr``)."""
    import html

    url = "http://english.yonhapnews.co.kr/news/2018/06/21/0200000000AEN20180621005900315.html"
    escaped = render.markdown_text(f"Yonhap, <{url}>")
    assert "\\" not in escaped
    assert html.unescape(escaped) == f"Yonhap, <{url}>"


def test_the_answering_sentence_is_marked_in_its_source():
    c = citation("第一句。第二句<b>。第三句。")
    quote = Quote(c.id, 1, "第二句<b>。", 104, 111)
    out = render.source_markdown(c, [quote])
    assert out.startswith("第一句。<mark>第二句&lt;b&gt;。</mark>第三句。")
    assert out.endswith("`p1234567`") and render.SOURCE_HINT in out.replace("\\", "")  # says what a click does


def test_context_html_escapes_the_document_and_marks_the_passage():
    c = citation("<script>x()</script>")
    html = render.context_html(PassageContext(c, "before <i>", " after", ()), [])
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<mark class="pqa-passage">&lt;script&gt;x()&lt;/script&gt;</mark>' in html
    assert "標題 &lt;T&gt;" in html and "before &lt;i&gt;" in html


def test_section_html_shows_overlapping_passages_once():
    text = "甲乙丙丁戊己庚辛"
    a, b = citation(text[:5], 0), Citation("p7654321", "doc", "t", ("壹、前言",), text[3:], 3, 8)
    html = render.section_html(Section("doc", "t", ("壹、前言",)), [b, a])
    assert re.sub(r"<[^>]+>|p\d{7}|\s", "", html.split("</nav>")[1]) == text
    assert html.index("p1234567") < html.index("p7654321")


def test_the_chat_api_and_the_chat_show_a_simplified_question_in_simplified(app):
    data = app.chat_api("驻韩美军部署在哪里？", [], 2)
    assert data["script"] == "zh-Hans" and "shown_text" in data and "short" in data
    assert len(data["shown_passages"]) == 2
    assert [c["text"] for c in data["citations"]] == [app.loader.wait().cite(c["id"]).text for c in data["citations"]]
    _, (messages, *_rest) = final(app, "驻韩美军部署在哪里？")
    shown, original = messages[1].content.split("<details>")
    assert "驻韩美军" in shown + " ".join(contents(messages[2:]))
    assert "駐韓美軍" not in shown + " ".join(contents(messages[2:]))
    body = original.split("</summary>")[1].split("</details>")[0].strip()
    assert "原文 Original" in original and body != to_simplified_mainland(body)  # the documents' own words
    assert to_simplified_mainland(body) in shown  # the same sentences, one click away


def test_the_answer_shows_its_short_answer_first():
    citation = Citation("p1", "doc", "doc", (), "港口於2019年重新開放。", 0, 13)
    quote = Quote("p1", 1, citation.text, 0, 13)
    question, text = "港口在哪一年重新開放？", "港口於2019年重新開放。 [1]"
    answer = Answer(question, text, False, (citation,), (quote,), "zh-Hant", short="2019年")
    shown = render.answer_markdown(answer)
    assert shown.index("**2019年**") < shown.index("港口")
    assert "**" not in render.answer_markdown(replace(answer, short=None))


def test_a_marker_the_next_sentence_repeats_is_left_out_and_markers_link_to_their_sources():
    first = Citation("p1", "doc", "doc", (), "甲說了一句。乙又說了一句。", 0, 13)
    second = Citation("p2", "doc", "doc", (), "丙[3]說。", 20, 25)
    quotes = (
        Quote("p1", 1, "甲說了一句。", 0, 6),
        Quote("p1", 1, "乙又說了一句。", 6, 13),
        Quote("p2", 2, "丙[3]說。", 20, 25),
    )
    text = "甲說了一句。 [1] 乙又說了一句。 [1] 丙[3]說。 [2]"
    assert render.merged_markers(text, quotes) == "甲說了一句。 乙又說了一句。 [1] 丙[3]說。 [2]"
    assert render.merged_markers(text, quotes[:2]) == text  # markers that are not the quotes': unchanged
    shown = render.answer_markdown(Answer("?", text, False, (first, second), quotes, "zh-Hant"))
    assert re.findall(r'href="#pqa-source-(\d)"', shown) == ["1", "2"]
    assert "丙&#91;3&#93;說" in shown  # a bracketed number of the document's own text is no link
    assert render.SOURCES_HINT.split(" · ")[1] in shown.replace("\\", "")
