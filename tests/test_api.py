"""The public library API, with a fake embedder (the real models are in test_real_models.py)."""

import dataclasses
import re

import pytest

from qa import Answer, Assistant, Citation, InvalidRequestError, Settings, UnknownCitationError


@pytest.fixture
def assistant(fake_embedder, tmp_path):
    settings = Settings(cache_dir=tmp_path, progress=False)
    return Assistant(settings=settings, embedders=[fake_embedder])


def test_search_returns_citations_best_first(assistant, chapter):
    results = assistant.search("《平壤共同宣言》是哪天簽署的", k=3)
    assert len(results) == 3
    assert all(isinstance(c, Citation) for c in results)
    assert [c.score for c in results] == sorted((c.score for c in results), reverse=True)
    for c in results:
        assert chapter.text[c.start : c.end] == c.text
        assert c.doc_id == chapter.id and c.doc_title == chapter.title
    assert "9月19日兩韓領導人順利簽署《平壤共同宣言》" in "".join(c.text for c in results)


def test_citation_is_frozen_with_the_promised_fields(assistant):
    c = assistant.search("駐韓美軍", k=1)[0]
    assert {f.name for f in dataclasses.fields(Citation)} >= {
        "id",
        "doc_id",
        "doc_title",
        "section",
        "text",
        "start",
        "end",
        "score",
    }
    assert isinstance(c.section, tuple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.text = "x"  # type: ignore[misc]


def test_ask_gives_a_short_answer_with_markers(assistant):
    answer = assistant.ask("駐韓美軍人數最多高達多少？", k=4)
    assert isinstance(answer, Answer)
    assert not answer.abstained
    assert len(answer.citations) == 4
    markers = [int(m) for m in re.findall(r"\[(\d+)\]", answer.text)]
    assert markers and all(1 <= m <= 4 for m in markers)
    for quote in answer.quotes:
        cited = answer.citations[quote.marker - 1]
        assert cited.id == quote.citation_id
        assert cited.start <= quote.start < quote.end <= cited.end
        assert quote.text in answer.text
    assert len(answer.text) < 400


def test_cite_resolves_ids_and_rejects_unknown_ones(assistant):
    c = assistant.search("THAAD 薩德", k=1)[0]
    again = assistant.cite(c.id)
    assert again.id == c.id and again.text == c.text and again.score is None
    for bad in ["p0000000", "", "../../etc/passwd"]:
        with pytest.raises(UnknownCitationError, match="unknown citation id"):
            assistant.cite(bad)


def test_context_shows_the_passage_in_place_with_its_footnotes(assistant, chapter):
    cited = next(p for p in assistant.passages if 2 in p.footnotes)
    context = assistant.context(cited.id, chars=50)
    assert context.before == chapter.text[cited.start - 50 : cited.start]
    assert context.after == chapter.text[cited.end : cited.end + 50]
    assert context.footnotes and all(f.section[-1] == "註2" for f in context.footnotes)


@pytest.mark.parametrize("k", [0, -3, 2.5, True])
def test_bad_k_is_a_clear_error(assistant, k):
    with pytest.raises(InvalidRequestError, match="k must"):
        assistant.search("川金會", k=k)


def test_huge_k_is_capped(assistant):
    assert len(assistant.search("川金會", k=10**9)) == len(assistant.passages)


@pytest.mark.parametrize("question", ["", "   ", "\x00\x01"])
def test_empty_questions_are_refused(assistant, question):
    with pytest.raises(InvalidRequestError, match="empty"):
        assistant.ask(question)


def test_from_paths_indexes_a_users_markdown(tmp_path, fake_embedder):
    doc = tmp_path / "notes.md"
    doc.write_text(
        "# 會議紀錄\n\n## 預算\n\n今年的研究預算為三百萬元。\n\n## 人事\n\n新任所長於三月到任。\n", encoding="utf-8"
    )
    assistant = Assistant.from_paths(
        [doc], Settings(cache_dir=tmp_path / "cache", progress=False), embedders=[fake_embedder]
    )
    [top] = assistant.search("研究預算是多少", k=1)
    assert top.doc_id == "notes" and top.doc_title == "會議紀錄"
    assert top.section == ("預算",) and "三百萬元" in top.text


def test_settings_without_a_cache_dir_keep_the_index_in_memory(fake_embedder, tmp_path, chapter):
    assistant = Assistant(settings=Settings(cache_dir=None, progress=False), embedders=[fake_embedder])
    assert assistant.index_built and not list(tmp_path.iterdir())
    assert assistant.search("川金會", k=1)[0].doc_id == chapter.id


def _rank(citations, needle):
    return next((i for i, c in enumerate(citations) if needle in c.section_path), len(citations))


def test_a_follow_up_question_is_searched_with_the_previous_one(assistant):
    alone = assistant.search("第二次是哪一天？", k=10)
    follow_up = assistant.search("第二次是哪一天？", k=10, history=["天氣很好", "文金會舉行了幾次？"])
    assert _rank(follow_up, "文金會") < _rank(alone, "文金會")


def test_history_must_be_a_list_of_questions(assistant):
    with pytest.raises(InvalidRequestError, match="history"):
        assistant.ask("第二次是哪一天？", history="文金會舉行了幾次？")
    assert assistant.ask("第二次是哪一天？", history=["", "   "]).citations  # blank history is ignored


def test_outline_lists_the_document_then_its_sections(assistant, chapter):
    outline = assistant.outline()
    assert outline[0].path == () and outline[0].title == chapter.title
    assert [s.path for s in outline[1:]] == chapter.sections()
    assert all(s.level == len(s.path) for s in outline)


def test_passages_in_a_section_cover_it_in_reading_order(assistant, chapter):
    outline = assistant.outline()
    assert [c.id for c in assistant.passages_in(outline[0])] == [c.id for c in assistant.passages]
    summit = next(s for s in outline if "川金會" in s.title)
    passages = assistant.passages_in(summit)
    assert passages and all(c.section[: summit.level] == summit.path for c in passages)
    assert [c.start for c in passages] == sorted(c.start for c in passages)
    assert "6月12日" in "".join(c.text for c in passages)
    parent = next(s for s in outline if s.path == summit.path[:1])
    assert {c.id for c in passages} < {c.id for c in assistant.passages_in(parent)}


def test_a_self_contained_question_ignores_the_history(assistant):
    question = "駐韓美軍的人數是多少？"
    assert [c.id for c in assistant.search(question, history=["文金會舉行了幾次？"])] == [
        c.id for c in assistant.search(question)
    ]


@pytest.mark.parametrize(
    ("question", "follow_up"),
    [
        ("那是哪一年決定的？", True),
        ("中国呢？", True),
        ("What did they agree on?", True),
        ("what about Japan", True),
        ("What is the weather in Paris today?", False),
        ("今天天氣如何", False),
        ("北韓迄今共進行幾次核試？", False),
        # pronouns and demonstratives that point back
        ("那麼他們呢？", True),
        ("此外，美國的立場為何？", True),
        ("When was it deployed?", True),
        ("Why did that happen?", True),
        ("What happened after that?", True),
        ("What happened there?", True),
        ("Who signed that?", True),
        # the same characters and words inside common words, or not pointing at anything said
        ("因此南韓決定了什麼？", False),
        ("其他國家的立場為何？", False),
        ("北韓應該放棄核武嗎？", False),
        ("尤其是飛彈射程有多遠？", False),
        ("川金會之後北韓做了什麼？", False),
        ("Is there a timeline for denuclearization?", False),
        ("Are there sanctions on oil exports?", False),
        ("What is the agreement that ended the war?", False),
        ("Who said that the talks failed?", False),
        ("What is it that North Korea wants?", False),
        ("Is it true that talks resumed?", False),
        ("How long did it take to build the base?", False),
        # a personal pronoun after a name in the question stands for that name
        ("What did Moon Jae-in propose in his speech?", False),
        ("Why did North Korea halt its tests?", False),
        ("What did he announce Kim had agreed to?", True),  # "he" comes before any name
        ("What did China and Russia then sign?", True),  # "then" points back whatever precedes it
    ],
)
def test_follow_up_questions_are_recognised(question, follow_up):
    from qa.language import refers_back

    assert refers_back(question) is follow_up


def test_ask_many_embeds_in_batches_and_answers_like_ask(assistant):
    questions = ["駐韓美軍的人數是多少？", "What did Russia propose?", "《平壤共同宣言》是哪天簽署的"]
    many = assistant.ask_many(questions, k=3)
    assert [a.question for a in many] == questions
    assert [a.to_dict() for a in many] == [assistant.ask(q, k=3).to_dict() for q in questions]
    assert assistant.ask_many([]) == []
    with pytest.raises(InvalidRequestError, match="list of questions"):
        assistant.ask_many("駐韓美軍")
    with pytest.raises(InvalidRequestError, match="empty"):
        assistant.ask_many(["駐韓美軍", "  "])
