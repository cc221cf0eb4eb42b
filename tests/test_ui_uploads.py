"""Adding documents from the chat: the handlers with the fake embedder (the model is beside the
point), and a real browser uploading a PDF into the chat over the real models."""

from __future__ import annotations

import html
import re
import time
from pathlib import Path

import pytest
from conftest import FakeHashEmbedder, running
from test_formats import ZH_MISSILE, ZH_TITLE, write_chinese_pdf

from qa import Assistant, Collection, QAError, Settings
from ui.app import ChatApp, create_app
from ui.page import UPLOAD_MAX_FILES
from ui.sessions import SessionAssistants

NOTES = "# 會議筆記\n\n## 預算\n\n二〇二五年度的海洋觀測預算為四千三百萬元，由漁業署執行。\n"


def fake_settings(tmp_path: Path) -> Settings:
    return Settings(cache_dir=tmp_path / "cache", progress=False)


@pytest.fixture
def app(chapter, tmp_path) -> ChatApp:
    return create_app(assistant=Assistant([chapter], fake_settings(tmp_path), embedders=[FakeHashEmbedder()]))


def write(tmp_path: Path, name: str, data: str | bytes) -> str:
    path = tmp_path / "upload" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return str(path)


def final(app: ChatApp, message: str, documents=None):  # type: ignore[no-untyped-def]
    *_, last = app.respond(message, [], None, documents)
    return last


def test_an_uploaded_file_is_searched_beside_the_chapter(app, tmp_path, chapter):
    notes = write(tmp_path, "notes.md", NOTES)
    message, chosen, pick, sections, files, status = app.documents_tab.upload([notes], [chapter.id])
    assert "會議筆記 · notes" in message and files is None
    assert f"{len(app.by_session.assistant_for().passages)} passages" in status  # the status line counts the new ones
    assert [value for _, value in chosen["choices"]] == [chapter.id, "notes"] == [v for _, v in pick["choices"]]
    assert chosen["value"] == [chapter.id, "notes"]
    assert any("預算" in label for label, _ in sections["choices"])  # the outline lists its sections
    answer = app.answer("海洋觀測預算是多少？", documents=["notes"])
    assert answer.citations and {c.doc_id for c in answer.citations} == {"notes"}
    assert "四千三百萬元" in answer.citations[0].text
    everything = app.answer("海洋觀測預算是多少？")
    assert {c.doc_id for c in everything.citations} == {"notes", chapter.id}


def test_choosing_documents_limits_what_a_question_searches(app, tmp_path, chapter):
    app.documents_tab.upload([write(tmp_path, "notes.md", NOTES)], [chapter.id])
    messages, *_ = final(app, "預算", [chapter.id])
    sources = [m for m in messages if getattr(m, "metadata", None)]
    assert sources and all(m.metadata["title"].split("\\] ", 1)[1].startswith(chapter.title) for m in sources)
    messages, *_ = final(app, "預算", [])
    assert "Choose at least one document" in messages[-1].content


def test_the_same_file_twice_is_one_document(app, tmp_path, chapter):
    path = write(tmp_path, "notes.md", NOTES)
    app.documents_tab.upload([path], [chapter.id])
    _, chosen, *_ = app.documents_tab.upload([path], [chapter.id, "notes"])
    assert [value for _, value in chosen["choices"]] == [chapter.id, "notes"]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("binary.txt", bytes(range(256)), "binary.txt: not UTF-8"),
        ("empty.md", b"", "empty.md: the document is empty"),
        ("tool.exe", b"MZ", "tool.exe: this file type cannot be read"),
        ("broken.pdf", b"%PDF-1.7 broken", "broken.pdf"),
    ],
)
def test_a_bad_upload_is_refused_and_nothing_changes(app, tmp_path, chapter, name, data, message):
    good = write(tmp_path, "notes.md", NOTES)
    bad = write(tmp_path, name, data)
    reply, chosen, pick, sections, files, _ = app.documents_tab.upload([good, bad], [chapter.id])
    reply = html.unescape(reply)  # Markdown escapes are character references
    assert "Could not add" in reply and message.split(":")[0] in reply
    assert str(tmp_path) not in reply  # the server's upload folder is not shown
    assert chosen == pick == sections == {"__type__": "update"} and files is None
    assert [d.id for d in app.by_session.assistant_for().documents] == [chapter.id]  # all or nothing
    with pytest.raises(QAError, match=re.escape(message)):
        app.by_session.add([write(tmp_path, name, data)])


def test_too_many_files_at_once_are_refused(app, tmp_path):
    paths = [write(tmp_path, f"n{i}.md", f"# 筆記{i}\n\n內容{i}。\n") for i in range(UPLOAD_MAX_FILES + 1)]
    with pytest.raises(QAError, match=f"at most {UPLOAD_MAX_FILES} files"):
        app.by_session.add(paths)
    reply, *_ = app.documents_tab.upload([], None)
    assert "Choose files" in reply


def test_uploads_into_a_collection_are_kept_for_the_next_start(tmp_path, chapter):
    settings = fake_settings(tmp_path)
    work = Collection("work", settings)
    work.add([write(tmp_path, "first.md", "# 第一\n\n第一份文件談北韓核試。\n")])
    fake = FakeHashEmbedder()
    app = create_app(assistant=Assistant(collection=work, settings=settings, embedders=[fake]))
    app.documents_tab.upload([write(tmp_path, "notes.md", NOTES)], ["first"])
    assert [e.id for e in work.entries()] == ["first", "notes"]
    again = Assistant(collection=Collection("work", settings), settings=settings, embedders=[fake])
    assert "四千三百萬元" in again.search("海洋觀測預算", k=1)[0].text


def test_uploads_belong_to_their_session(app, tmp_path, chapter):
    """Without a collection, a file one browser session adds is searched by that session only."""
    app.documents_tab.upload([write(tmp_path, "notes.md", NOTES)], [chapter.id], session="tab-a")
    assert [d.id for d in app.by_session.documents_for("tab-a")] == [chapter.id, "notes"]
    assert [d.id for d in app.by_session.documents_for("tab-b")] == [chapter.id]
    assert {c.doc_id for c in app.answer("海洋觀測預算是多少？", session="tab-b").citations} == {chapter.id}
    assert app.answer("海洋觀測預算是多少？", session="tab-a").citations[0].doc_id == "notes"
    assert {c["doc_id"] for c in app.chat_api("海洋觀測預算是多少？", [], 3)["citations"]} == {chapter.id}
    chosen, _ = app.documents_tab.document_list("tab-b")
    assert chosen["value"] == [chapter.id]
    app.by_session.sessions.drop("tab-a")  # the tab closed
    assert [d.id for d in app.by_session.documents_for("tab-a")] == [chapter.id]


def test_the_least_recently_used_sessions_uploads_go_first():
    """Strings stand in for the sessions' assistants: only the bookkeeping is tested here."""
    kept = SessionAssistants(kept=2)
    kept.put("a", "assistant a")  # type: ignore[arg-type]
    kept.put("b", "assistant b")  # type: ignore[arg-type]
    assert kept.get("a") == "assistant a"  # "a" is now the most recently used
    kept.put("c", "assistant c")  # type: ignore[arg-type]
    assert (kept.get("a"), kept.get("b"), kept.get("c"), len(kept)) == ("assistant a", None, "assistant c", 2)
    with pytest.raises(ValueError, match="at least 1"):
        SessionAssistants(kept=0)


def test_a_removal_asks_first_and_keeps_the_servers_documents(app, tmp_path, chapter):
    app.documents_tab.upload([write(tmp_path, "notes.md", NOTES)], [chapter.id], session="tab")
    question, confirm, cancel = app.documents_tab.ask_removal("notes", "tab")
    assert "Remove it from the documents searched by this browser tab?" in question.replace("\\", "")
    assert confirm["visible"] and cancel["visible"]
    reply, confirm, cancel = app.documents_tab.ask_removal(chapter.id, "tab")
    assert "comes with this server" in reply and not confirm["visible"] and not cancel["visible"]
    reply, *_ = app.documents_tab.ask_removal(None, "tab")
    assert "choose a document to remove" in reply
    reply, chosen, pick, sections, *_ = app.documents_tab.remove(chapter.id, [chapter.id, "notes"], "tab")
    assert "comes with this server" in reply and chosen == {"__type__": "update"}
    removal = app.documents_tab.remove("notes", [chapter.id, "notes"], "tab")
    reply, chosen, pick, sections, confirm, cancel, status = removal
    assert "Removed: notes" in reply and chosen["value"] == [chapter.id] and not confirm["visible"]
    assert [v for _, v in pick["choices"]] == [chapter.id] and len(app.by_session.sessions) == 0
    assert not any("預算" in label for label, _ in sections["choices"])  # the outline drops its sections
    assert f"{len(app.loader.wait().passages)} passages" in status
    assert "Cannot remove" in app.documents_tab.remove("notes", [], "tab")[0]  # gone already: a message, no traceback


def test_with_a_collection_uploads_and_removals_are_everyones(tmp_path):
    settings = fake_settings(tmp_path)
    work = Collection("work", settings)
    work.add([write(tmp_path, "first.md", "# 第一\n\n第一份文件談北韓核試。\n")])
    app = create_app(assistant=Assistant(collection=work, settings=settings, embedders=[FakeHashEmbedder()]))
    app.documents_tab.upload([write(tmp_path, "notes.md", NOTES)], ["first"], session="tab-a")
    assert [d.id for d in app.by_session.documents_for("tab-b")] == ["first", "notes"]
    assert app.chat_api("海洋觀測預算是多少？", [], 3)["citations"][0]["doc_id"] == "notes"
    question, *_ = app.documents_tab.ask_removal("notes", "tab-b")
    assert "everyone using this server" in question
    app.documents_tab.remove("notes", None, "tab-b")
    assert [e.id for e in work.entries()] == ["first"]
    assert [d.id for d in app.by_session.documents_for("tab-a")] == ["first"]
    reply, *_ = app.documents_tab.remove("first", None, "tab-a")
    assert "the last document" in reply and [e.id for e in work.entries()] == ["first"]


@pytest.mark.slow
@pytest.mark.browser
def test_a_pdf_uploaded_in_the_browser_is_cited_with_its_page(browser, real_assistant, real_cache_dir, tmp_path):
    """The real models and a real browser: upload a three-page Chinese PDF, ask about it, and see
    the citation name the PDF's section and page."""
    pdf = write_chinese_pdf(tmp_path / "安全筆記.pdf", outline=True)
    settings = Settings(cache_dir=real_cache_dir, progress=False)
    assistant = Assistant(real_assistant.documents, settings, embedders=real_assistant.embedders)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(120_000)
    with running(create_app(assistant=assistant)) as url:
        page.goto(url)
        page.wait_for_selector("#pqa-question textarea")
        page.get_by_role("tab", name="文件 Documents").click()
        page.set_input_files("#pqa-upload input[type=file]", str(pdf))
        page.wait_for_function("document.querySelector('#pqa-added')?.innerText.includes('Added')")
        added = page.inner_text("#pqa-added")
        assert ZH_TITLE in added
        labels = page.locator("#pqa-documents label").all_inner_texts()
        assert len(labels) == 2 and any(ZH_TITLE in label for label in labels)
        page.screenshot(path=str(Path(__file__).parent / "artifacts" / "upload-documents.png"))
        page.fill("#pqa-question textarea", "北韓何時試射火星十五型洲際彈道飛彈？")
        page.click("#pqa-ask")
        page.wait_for_function(
            "document.querySelectorAll('#pqa-chat .thought-group').length > 0"
            " && !document.querySelector('#pqa-chat').innerText.includes('Searching…')"
        )
        title = page.locator("#pqa-chat .thought-group .title").first.inner_text()
        assert f"{ZH_TITLE} · 壹、核武發展 › 二、飛彈試射 · p. 2" in title  # the document, its section, the page
        assert "Ready: " in page.inner_text("#pqa-status") and "55 passages" not in page.inner_text("#pqa-status")
        assert "火星十五型" in page.locator("#pqa-chat .thought-group").first.inner_text()
        assert ZH_MISSILE[:10] in page.inner_text("#pqa-chat")
        page.screenshot(path=str(Path(__file__).parent / "artifacts" / "upload-answer.png"))
    context.close()


@pytest.mark.slow
@pytest.mark.browser
def test_a_tabs_uploads_are_dropped_when_it_closes(browser, chapter, tmp_path):
    """Gradio's unload tells the server that the tab closed. The model is beside the point, so the
    fake embedder stands in."""
    app = create_app(assistant=Assistant([chapter], fake_settings(tmp_path), embedders=[FakeHashEmbedder()]))
    with running(app) as url:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(url)
        page.get_by_role("tab", name="文件 Documents").click()
        page.set_input_files("#pqa-upload input[type=file]", write(tmp_path, "notes.md", NOTES))
        page.wait_for_function("document.querySelector('#pqa-added')?.innerText.includes('Added')")
        assert len(app.by_session.sessions) == 1
        page.close(run_before_unload=True)
        context.close()
        deadline = time.monotonic() + 20
        while len(app.by_session.sessions) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(app.by_session.sessions) == 0
