"""The chat stays out of the reader's way, in a real browser at 1280 and 390 px wide (Playwright,
Debian's Chromium, the real models, a launched server): nothing covers the answer, the newest
question and answer stay in view, ``[n]`` opens its source, an example asks at once, documents
belong to the browser session (or to everyone with a collection) and can be removed, every tab is
reachable on a phone.

``PQA_DOC_IMAGES=1`` also saves the page at both widths as ``docs/images/chat-<width>.png``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import ARTIFACTS, ROOT, open_chat, running

pytestmark = [pytest.mark.slow, pytest.mark.browser]
TIMEOUT = 60_000
WIDTHS = [1280, 390]
HEIGHTS = {1280: 900, 390: 844}
NOTES = "# 海洋觀測筆記\n\n## 預算\n\n二〇二五年度的海洋觀測預算為四千三百萬元，由漁業署執行。\n"

RECT = "(e) => { const r = e.getBoundingClientRect(); return {x: r.x, y: r.y, w: r.width, h: r.height}; }"


def overlap(a: dict, b: dict) -> float:
    """The area two boxes share (0 when they only touch)."""
    w = min(a["x"] + a["w"], b["x"] + b["w"]) - max(a["x"], b["x"])
    h = min(a["y"] + a["h"], b["y"] + b["h"]) - max(a["y"], b["y"])
    return max(w, 0) * max(h, 0)


def inside(inner: dict, outer: dict, slack: float = 1) -> bool:
    return (
        inner["y"] >= outer["y"] - slack
        and inner["y"] + inner["h"] <= outer["y"] + outer["h"] + slack
        and inner["x"] >= outer["x"] - slack
        and inner["x"] + inner["w"] <= outer["x"] + outer["w"] + slack
    )


def open_page(browser, url: str, width: int):  # type: ignore[no-untyped-def]
    return open_chat(browser, url, width, HEIGHTS[width], TIMEOUT)


@pytest.fixture(params=WIDTHS, ids=lambda w: f"{w}px")
def page(request, browser, real_chat_url):  # type: ignore[no-untyped-def]
    context, page, errors = open_page(browser, real_chat_url, request.param)
    page.width = request.param
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def wait_for_answer(page, users: int) -> None:  # type: ignore[no-untyped-def]
    """Until the chat holds ``users`` questions and the last one's answer and sources are in."""
    page.wait_for_function(
        """(users) => {
            const chat = document.querySelector('#pqa-chat');
            return chat.querySelectorAll('[data-testid="user"]').length === users
                && chat.querySelectorAll('.thought-group').length > 0
                && !chat.innerText.includes('Searching…');
        }""",
        arg=users,
    )
    page.wait_for_timeout(400)


def ask(page, question: str) -> None:  # type: ignore[no-untyped-def]
    users = page.locator("#pqa-chat [data-testid='user']").count()
    page.fill("#pqa-question textarea", question)
    page.click("#pqa-ask")
    wait_for_answer(page, users + 1)


def newest(page) -> tuple[dict, dict, dict]:  # type: ignore[no-untyped-def]
    """Boxes of the newest question, the first line of its answer, and the chat's scrolled area."""
    return page.evaluate(
        f"""() => {{
            const rect = {RECT};
            const chat = document.querySelector('#pqa-chat');
            const users = chat.querySelectorAll('[data-testid="user"]');
            const user = users[users.length - 1];
            const bots = [...chat.querySelectorAll('[data-testid="bot"]')];
            const answer = bots.find((b) => user.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING);
            const line = answer.querySelector('p') || answer;
            const first = rect(line);
            first.h = Math.min(first.h, 40);
            return [rect(user), first, rect(chat.querySelector('.bubble-wrap'))];
        }}"""
    )


def viewport(page) -> dict:  # type: ignore[no-untyped-def]
    size = page.viewport_size
    return {"x": 0, "y": 0, "w": size["width"], "h": size["height"]}


def test_no_control_covers_the_answer(page):
    ask(page, "北韓迄今共進行幾次核試？")
    ask(page, "駐韓美軍的人數大約是多少？")
    name = f"chat-{page.width}"
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    if os.environ.get("PQA_DOC_IMAGES"):
        page.screenshot(path=str(ROOT / "docs" / "images" / f"{name}.png"))
    page.evaluate(  # as a reader who scrolls the newest answer's first line to the top of the chat
        """() => {
            const chat = document.querySelector('#pqa-chat');
            const wrap = chat.querySelector('.bubble-wrap');
            const users = chat.querySelectorAll('[data-testid="user"]');
            const answer = [...chat.querySelectorAll('[data-testid="bot"]')].find((b) =>
                users[users.length - 1].compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING);
            wrap.scrollTop += answer.getBoundingClientRect().top - wrap.getBoundingClientRect().top;
        }"""
    )
    page.wait_for_timeout(300)
    _, first_line, chat = newest(page)
    assert inside(first_line, chat)
    controls = page.evaluate(
        f"""() => [...document.querySelectorAll(
                '#pqa-chat label, #pqa-chat .top-panel, #pqa-chat .scroll-down-button-container, '
                + '#pqa-chat .message-buttons, #pqa-chat .icon-button-wrapper')]
            .filter((e) => e.offsetParent !== null).map({RECT})"""
    )
    assert controls  # the clear and copy buttons are there, beside the text
    assert [c for c in controls if overlap(c, first_line) > 0] == []


def test_the_newest_question_and_answer_stay_in_view(page):
    ask(page, "北韓迄今共進行幾次核試？")
    ask(page, "駐韓美軍的人數大約是多少？")  # below a whole answer with its five sources
    user, first_line, chat = newest(page)
    assert "駐韓美軍" in page.locator("#pqa-chat [data-testid='user']").last.inner_text()
    for box in (user, first_line):
        assert inside(box, chat), (box, chat)
        assert inside(box, viewport(page)), (box, viewport(page))


def test_a_marker_opens_and_shows_its_source(page, real_assistant):
    ask(page, "北韓迄今共進行幾次核試？")
    marker = page.locator("#pqa-chat a.pqa-marker").first
    n = marker.inner_text().strip("[]")
    group = page.locator("#pqa-chat .thought-group").nth(int(n) - 1)
    title = group.locator(".title")
    assert title.inner_text().startswith(f"[{n}]")
    marker.click()
    page.wait_for_function(
        "(n) => document.querySelectorAll('#pqa-chat .thought-group .title')[n - 1].classList.contains('expanded')",
        arg=int(n),
    )
    citation_id = title.inner_text().rsplit("· ", 1)[1].strip()
    page.wait_for_function(
        "(id) => document.querySelector('#pqa-viewer .pqa-context')?.dataset.citation === id", arg=citation_id
    )
    assert real_assistant.cite(citation_id)
    box = page.evaluate(f"(e) => ({RECT})(e)", title.element_handle())
    _, _, chat = newest(page)
    assert inside(box, chat) and inside(box, viewport(page))  # scrolled to the source's header
    assert page.get_by_role("tab", name="引用 Citation").get_attribute("aria-selected") == "true"


def test_sources_say_what_a_click_does(page):
    ask(page, "北韓迄今共進行幾次核試？")
    answer_hint = page.locator("#pqa-chat [data-testid='bot'] .pqa-hint").first
    assert answer_hint.is_visible() and "header folds" in answer_hint.inner_text()
    source_hint = page.locator("#pqa-chat .thought-group .pqa-hint").first
    assert source_hint.is_visible() and "read it in place" in source_hint.inner_text()
    source_hint.click()  # what the hint says: the text opens the citation tab
    page.wait_for_selector("#pqa-viewer .pqa-context")


def test_an_example_asks_at_once(page):
    example = page.locator("button").filter(has_text="駐韓美軍的人數大約是多少").first
    example.click()
    wait_for_answer(page, 1)
    assert "駐韓美軍的人數大約是多少" in page.locator("#pqa-chat [data-testid='user']").last.inner_text()
    assert "28,500" in page.locator("#pqa-chat").inner_text()


def test_every_tab_is_reachable_and_nothing_overlaps(page):
    assert page.locator("#pqa-tabs .overflow-menu:not(.hide)").count() == 0  # no "⋯" menu
    for name, shown in [
        ("文件 Documents", "#pqa-upload"),
        ("目錄 Outline", "#pqa-outline"),
        ("引用 Citation", "#pqa-lookup"),
    ]:
        tab = page.get_by_role("tab", name=name)
        assert tab.is_visible()
        tab.click()
        page.locator(shown).wait_for(state="visible")
    boxes = page.evaluate(
        f"""() => [...document.querySelectorAll(
                '#pqa-status, #pqa-chat, #pqa-question, #pqa-ask, #pqa-tabs [role="tab"], .gallery button')]
            .filter((e) => e.offsetParent !== null && e.getBoundingClientRect().height > 2)
            .map((e) => [e.id || e.innerText.slice(0, 20), ({RECT})(e)])"""
    )
    assert len(boxes) >= 9
    for i, (name, box) in enumerate(boxes):
        assert box["x"] >= 0 and box["x"] + box["w"] <= page.width + 1, name  # nothing runs off the page
        for other, box2 in boxes[i + 1 :]:
            assert overlap(box, box2) == 0, (name, other)


def upload(page, path: Path) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("tab", name="文件 Documents").click()
    page.set_input_files("#pqa-upload input[type=file]", str(path))
    page.wait_for_function("document.querySelector('#pqa-added')?.innerText.includes('Added')")


def listed(page) -> str:  # type: ignore[no-untyped-def]
    page.get_by_role("tab", name="文件 Documents").click()
    return page.inner_text("#pqa-documents")


def choose_removal(page, label: str) -> None:  # type: ignore[no-untyped-def]
    page.click("#pqa-remove-pick input")
    page.get_by_role("option").filter(has_text=label).first.click()
    page.click("#pqa-remove")


@pytest.mark.parametrize("width", WIDTHS, ids=lambda w: f"{w}px")
def test_uploads_belong_to_the_browser_session_and_can_be_removed(browser, real_chat_url, tmp_path, width, chapter):
    notes = tmp_path / "notes.md"
    notes.write_text(NOTES, "utf-8")
    first, page, errors = open_page(browser, real_chat_url, width)
    second, other, other_errors = open_page(browser, real_chat_url, width)
    listed(page)
    assert "this browser tab only" in page.inner_text("#pqa-sharing")
    upload(page, notes)
    assert "海洋觀測筆記" in listed(page)
    other.reload()
    other.wait_for_selector("#pqa-question textarea")
    assert "海洋觀測筆記" not in listed(other)  # another browser does not see it
    ask(other, "海洋觀測預算是多少？")
    assert "四千三百萬元" not in other.locator("#pqa-chat").inner_text()

    choose_removal(page, chapter.title)  # the chapter comes with the server: a plain message, no confirmation
    page.wait_for_function("document.querySelector('#pqa-added').innerText.includes('Cannot remove')")
    assert "comes with this server" in page.inner_text("#pqa-added")
    assert not page.locator("#pqa-remove-confirm").is_visible()
    choose_removal(page, "notes")
    page.locator("#pqa-remove-confirm").wait_for(state="visible")
    assert "notes" in page.inner_text("#pqa-added") and "海洋觀測筆記" in listed(page)  # not yet
    page.click("#pqa-remove-confirm")
    page.wait_for_function("document.querySelector('#pqa-added').innerText.includes('Removed')")
    assert "海洋觀測筆記" not in listed(page)
    page.screenshot(path=str(ARTIFACTS / f"documents-removed-{width}.png"))
    for context in (first, second):
        context.close()
    assert not errors and not other_errors, errors + other_errors


@pytest.mark.parametrize("width", WIDTHS, ids=lambda w: f"{w}px")
def test_with_a_collection_everyone_shares_the_documents(browser, real_assistant, tmp_path, width):
    """``qa serve --collection``: an upload in one browser is listed in another, the page says so,
    and the collection's last document stays."""
    from qa import Assistant, Collection, Settings
    from ui.app import create_app

    settings = Settings(cache_dir=tmp_path / "cache", progress=False)
    first_doc = tmp_path / "first.md"
    first_doc.write_text("# 第一份\n\n北韓在二〇一七年進行第六次核試。\n", "utf-8")
    work = Collection("work", settings)
    work.add([first_doc])
    assistant = Assistant(collection=work, settings=settings, embedders=real_assistant.embedders)
    notes = tmp_path / "notes.md"
    notes.write_text(NOTES, "utf-8")
    with running(create_app(assistant=assistant)) as url:
        one, page, errors = open_page(browser, url, width)
        two, other, other_errors = open_page(browser, url, width)
        listed(page)
        assert "Everyone using this server shares these documents" in page.inner_text("#pqa-sharing")
        upload(page, notes)
        other.reload()
        other.wait_for_selector("#pqa-question textarea")
        assert "海洋觀測筆記" in listed(other)
        choose_removal(other, "notes")
        other.click("#pqa-remove-confirm")
        other.wait_for_function("document.querySelector('#pqa-added').innerText.includes('Removed')")
        choose_removal(other, "first")
        other.wait_for_function("document.querySelector('#pqa-added').innerText.includes('last document')")
        assert [e.id for e in work.entries()] == ["first"]
        for context in (one, two):
            context.close()
    assert not errors and not other_errors, errors + other_errors
