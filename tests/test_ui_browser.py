"""The chat in a real browser: Playwright drives Debian's headless Chromium against the launched app.

Screenshots go to ``tests/artifacts/`` (or ``$PQA_ARTIFACTS``).
"""

from __future__ import annotations

import re
import time

import pytest
from conftest import ARTIFACTS, open_chat, running

pytestmark = [pytest.mark.slow, pytest.mark.browser]
TIMEOUT = 30_000


@pytest.fixture
def page(browser, real_chat_url):
    context, page, errors = open_chat(browser, real_chat_url, 1400, 1000, TIMEOUT)
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def ask(page, question: str) -> None:
    """Type a question, press Ask, and wait for the assistant's reply to replace 'Searching…'."""
    before = page.locator("#pqa-chat [data-testid='bot']").count()
    page.fill("#pqa-question textarea", question)
    page.click("#pqa-ask")
    page.wait_for_function(
        """(before) => {
            const bots = document.querySelectorAll('#pqa-chat [data-testid="bot"]');
            return bots.length > before && !document.querySelector('#pqa-chat').innerText.includes('Searching…');
        }""",
        arg=before,
    )
    page.wait_for_timeout(300)


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def viewer_citation(page) -> str:
    page.wait_for_selector("#pqa-viewer .pqa-context")
    return page.get_attribute("#pqa-viewer .pqa-context", "data-citation") or ""


def test_ask_and_read_the_answer_with_a_highlighted_source(page):
    ask(page, "北韓迄今共進行幾次核試？")
    chat = page.locator("#pqa-chat")
    assert re.search(r"\[1\]", chat.locator("[data-testid='bot']").first.inner_text())
    assert chat.locator("mark").count() >= 1
    assert "6次核試" in "".join(chat.locator("mark").all_inner_texts())
    titles = chat.locator(".thought-group .title")
    assert titles.count() == 5
    assert re.search(r"\[1\] .+ · p[0-9a-f]{7}", titles.first.inner_text())
    shot(page, "chat-answer")


def test_choosing_a_citation_shows_it_in_place(page, real_assistant):
    ask(page, "駐韓美軍的人數大約是多少？")
    first = page.locator("#pqa-cited label").first
    label = first.inner_text()
    citation_id = re.search(r"p[0-9a-f]{7}", label).group(0)
    first.click()
    assert viewer_citation(page) == citation_id
    citation = real_assistant.cite(citation_id)
    viewer = page.locator("#pqa-viewer")
    assert "".join(viewer.locator("mark.pqa-passage").inner_text().split()) == "".join(citation.text.split())
    crumbs = viewer.locator(".pqa-crumbs").inner_text()
    assert citation.doc_title in crumbs and citation.section[-1] in crumbs
    assert viewer.locator(".pqa-around").first.inner_text().strip()  # neighbouring text is shown
    shot(page, "citation-in-place")


def test_clicking_a_source_in_the_chat_opens_it(page):
    ask(page, "北韓迄今共進行幾次核試？")
    page.locator("#pqa-chat mark").first.click()
    assert re.fullmatch(r"p[0-9a-f]{7}", viewer_citation(page))


def test_citation_lookup_finds_ids_and_explains_unknown_ones(page, real_assistant):
    with_notes = next(c for c in real_assistant.passages if c.footnotes)
    page.fill("#pqa-lookup textarea, #pqa-lookup input", with_notes.id)
    page.click("#pqa-find")
    assert viewer_citation(page) == with_notes.id
    notes = page.locator("#pqa-viewer .pqa-footnotes li")
    assert notes.count() == len(with_notes.footnotes)
    assert re.search(r"註\d+", notes.first.inner_text())
    shot(page, "citation-lookup")
    for bad in ["p0000000", "../../etc/passwd"]:
        page.fill("#pqa-lookup textarea, #pqa-lookup input", bad)
        page.click("#pqa-find")
        page.wait_for_function("document.querySelector('#pqa-viewer').innerText.includes('unknown citation id')")


def test_the_outline_shows_a_section_with_its_citation_ids(page, real_assistant):
    page.get_by_role("tab", name="目錄 Outline").click()
    page.click("#pqa-outline input")
    page.keyboard.type("川金會")
    page.get_by_role("option").filter(has_text="川金會").first.click()
    page.wait_for_selector("#pqa-section .pqa-section")
    text = page.inner_text("#pqa-section")
    assert "6月12日" in text
    ids = re.findall(r"p[0-9a-f]{7}", text)
    assert ids and all(real_assistant.cite(i) for i in ids)
    shot(page, "outline")


def test_html_in_a_question_renders_as_text_and_never_runs(page):
    payload = (
        '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script> [click](javascript:window.__pwned=3)'
    )
    ask(page, payload)
    chat = page.locator("#pqa-chat")
    assert '<img src=x onerror="window.__pwned=1">' in chat.inner_text()
    assert chat.locator("img[src='x'], script, a[href^='javascript']").count() == 0
    page.locator("#pqa-chat [data-testid='user']").last.click()
    page.wait_for_timeout(500)
    assert page.evaluate("window.__pwned") is None
    shot(page, "injection-as-text")


def test_bad_input_gets_a_sensible_reply(page):
    page.fill("#pqa-question textarea", "")
    page.click("#pqa-ask")
    page.wait_for_function("document.querySelector('#pqa-chat').innerText.includes('Please type a question')")
    ask(page, "駐韓美軍的人數是多少？" + "朝鮮半島" * 25_000)
    assert "2,000" in page.locator("#pqa-chat").inner_text()
    ask(page, "북한은 핵실험을 몇 번 했습니까?")
    ask(page, "What is the weather in Paris today?")
    assert "does not seem to answer" in page.locator("#pqa-chat").inner_text()
    assert page.locator(".toast-body.error, .error-message").count() == 0
    shot(page, "bad-input")


def test_examples_fill_the_question_box(page):
    page.locator("button, .example").filter(has_text="What did Russia propose").first.click()
    page.wait_for_function("document.querySelector('#pqa-question textarea').value.includes('Russia')")


def test_first_start_shows_progress_while_the_index_is_built(browser, tmp_path):
    """An empty cache: the page is up at once and reports the build until the chat is ready."""
    from qa import Settings
    from ui.app import create_app

    app = create_app(settings=Settings(cache_dir=tmp_path, progress=False))
    with running(app) as url:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(TIMEOUT)
        page.goto(url)
        status = page.locator("#pqa-status")
        seen = {status.inner_text()}
        page.fill("#pqa-question textarea", "北韓迄今共進行幾次核試？")
        page.click("#pqa-ask")
        deadline = time.monotonic() + 180
        while "Ready" not in status.inner_text() and time.monotonic() < deadline:
            seen.add(status.inner_text())
            if len(seen) == 2:
                shot(page, "first-start-progress")
            page.wait_for_timeout(200)
        assert "Ready" in status.inner_text()
        assert any("Building the index" in s or "Loading" in s for s in seen), seen
        page.wait_for_function("document.querySelectorAll('#pqa-chat mark').length > 0", timeout=60_000)
        context.close()


HOSTILE_DOCUMENT = """# 惡意文件 <img src=x onerror="window.__pwned=11">

## 攻擊 <script>window.__pwned=12</script>

飛彈試射的報告寫道：<img src=x onerror="window.__pwned=13"> 與 <script>window.__pwned=14</script>，\
另有連結 [點我](javascript:window.__pwned=15) 及 <a href="javascript:window.__pwned=16">這裡</a>，\
還有實體 &lt;b&gt;粗體&lt;/b&gt; &amp; <iframe srcdoc="<script>parent.__pwned=17</script>"></iframe>。
"""


def test_a_hostile_document_renders_as_inert_text(browser, tmp_path):
    """A document is data: its markup shows as text in the answer, the viewer and the outline, and no
    script runs. The embedding model is beside the point here, so the fake embedder stands in."""
    from conftest import FakeHashEmbedder

    from corpus import DocumentLoader
    from qa import Assistant, Settings
    from ui.app import create_app

    path = tmp_path / "hostile.md"
    path.write_text(HOSTILE_DOCUMENT, "utf-8")
    settings = Settings(cache_dir=None, progress=False)
    assistant = Assistant(DocumentLoader().run([path]), settings, embedders=[FakeHashEmbedder()])
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    with running(create_app(assistant=assistant)) as url:
        page.goto(url)
        page.wait_for_selector("#pqa-question textarea")
        page.wait_for_function("document.querySelector('#pqa-status')?.innerText.includes('Ready')")
        ask(page, "飛彈試射的報告寫了什麼？")
        chat = page.locator("#pqa-chat")
        assert '<img src=x onerror="window.__pwned=13">' in chat.inner_text()
        titles = "".join(chat.locator(".thought-group .title").all_inner_texts())
        assert "攻擊 <script>window.__pwned=12</script>" in titles  # a heading, shown as written
        page.locator("#pqa-chat mark").first.click()  # open the source in the viewer
        viewer = page.locator("#pqa-viewer")
        viewer.locator(".pqa-context").wait_for()
        assert "<script>window.__pwned=14</script>" in viewer.inner_text()
        assert "&lt;b&gt;" in viewer.inner_text()  # entities stay as written, never decoded into markup
        page.get_by_role("tab", name="目錄 Outline").click()
        page.click("#pqa-outline input")
        page.get_by_role("option").filter(has_text="攻擊").first.click()
        page.wait_for_selector("#pqa-section .pqa-section")
        assert "<script>" in page.inner_text("#pqa-section")
        shot(page, "hostile-document-as-text")
        for where in ("#pqa-chat", "#pqa-cited", "#pqa-viewer", "#pqa-section"):
            selectors = ("img[src='x']", "script", "iframe", "a[href^='javascript']")
            hostile = page.locator(", ".join(f"{where} {s}" for s in selectors))
            assert hostile.count() == 0, where
        for link in page.locator("#pqa-chat .thought-group a, #pqa-viewer a").all():  # any link is inert
            link.click(no_wait_after=True)
        page.wait_for_timeout(500)
        assert page.evaluate("window.__pwned") is None
        assert dialogs == []
    context.close()
