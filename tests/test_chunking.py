"""Passages are exact spans of the document text and never cross a section boundary."""

from __future__ import annotations

import re
import statistics
import time

import pytest

from corpus import BlockKind, Document, load_default_document, parse_text
from index.chunking import ChunkSplitter, Passage, passage_id

CHUNK_SIZE = 240
OVERLAP = 40


@pytest.fixture(scope="module")
def doc() -> Document:
    return load_default_document()


@pytest.fixture(scope="module")
def passages(doc: Document) -> list[Passage]:
    return ChunkSplitter(CHUNK_SIZE, OVERLAP).split(doc)


def test_passages_are_spans_of_the_document_text(doc: Document, passages: list[Passage]) -> None:
    assert passages
    for p in passages:
        assert p.doc_id == doc.id
        assert 0 <= p.start < p.end <= len(doc.text)
        assert p.content == doc.text[p.start : p.end]
        assert p.content == p.content.strip()


def test_passages_are_in_reading_order(passages: list[Passage]) -> None:
    starts = [p.start for p in passages]
    assert starts == sorted(starts)


def test_no_passage_crosses_a_section_boundary(doc: Document, passages: list[Passage]) -> None:
    for p in passages:
        for block in doc.blocks_in(p.start, p.end):
            if block.kind is BlockKind.HEADING:
                # a parent heading may be glued to the text it opens
                assert p.section[: len(block.section)] == block.section, (p.id, block.index)
            else:
                assert block.section == p.section, (p.id, block.index)


def test_every_non_heading_character_is_covered(doc: Document, passages: list[Passage]) -> None:
    covered = [False] * len(doc.text)
    for p in passages:
        for i in range(p.start, p.end):
            covered[i] = True
    for block in doc.blocks:
        if block.kind is BlockKind.HEADING:
            continue
        missing = [i for i in range(block.start, block.end) if not covered[i] and not doc.text[i].isspace()]
        assert not missing, f"block {block.index} not covered at {missing[:5]}"


def test_passage_lengths(passages: list[Passage]) -> None:
    lengths = [len(p.content) for p in passages]
    assert max(lengths) <= CHUNK_SIZE + 100
    assert statistics.mean(lengths) <= 300
    # the document is much longer than one chunk, so it really is split
    assert len(passages) > 20


def test_ids_are_unique_short_and_stable(doc: Document, passages: list[Passage]) -> None:
    ids = [p.id for p in passages]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"p[0-9a-f]{7}", i) for i in ids)
    again = ChunkSplitter(CHUNK_SIZE, OVERLAP).split(doc)
    assert [p.id for p in again] == ids
    assert [(p.start, p.end) for p in again] == [(p.start, p.end) for p in passages]
    for p in passages:
        assert p.id == passage_id(doc.id, doc.content_hash, p.start, p.end)


def test_changing_chunk_size_changes_ids(doc: Document, passages: list[Passage]) -> None:
    smaller = ChunkSplitter(120, 20).split(doc)
    assert {p.id for p in smaller} != {p.id for p in passages}
    assert len(smaller) > len(passages)
    spans = {p.id: (p.start, p.end) for p in passages}
    for p in smaller:  # an id shared by both chunkings names the very same span
        if p.id in spans:
            assert spans[p.id] == (p.start, p.end)


def test_passage_id_depends_on_every_input() -> None:
    base = passage_id("doc", "hash", 0, 10)
    assert base == passage_id("doc", "hash", 0, 10)
    assert len({base, passage_id("doc2", "hash", 0, 10), passage_id("doc", "hash2", 0, 10)}) == 3
    assert len({base, passage_id("doc", "hash", 1, 10), passage_id("doc", "hash", 0, 11)}) == 3


@pytest.mark.parametrize("number", [1, 2, 3, 4])
def test_footnotes_become_their_own_passages(doc: Document, passages: list[Passage], number: int) -> None:
    [note] = [b for b in doc.blocks if b.kind is BlockKind.FOOTNOTE and b.footnote_number == number]
    mine = [p for p in passages if p.start < note.end and p.end > note.start]
    assert mine
    for p in mine:
        assert p.is_footnote
        assert p.section[-1] == f"註{number}"
        assert p.section == note.section
        assert note.start <= p.start and p.end <= note.end
    assert mine[0].start == note.start and mine[-1].end == note.end


def test_only_footnotes_are_footnote_passages(doc: Document, passages: list[Passage]) -> None:
    flagged = [p for p in passages if p.is_footnote]
    assert {p.section[-1] for p in flagged} == {"註1", "註2", "註3", "註4"}
    for p in passages:
        kinds = {b.kind for b in doc.blocks_in(p.start, p.end)}
        assert p.is_footnote == (kinds == {BlockKind.FOOTNOTE})


def test_passages_know_the_footnotes_they_cite(doc: Document, passages: list[Passage]) -> None:
    citing = [p for p in passages if "朝「無核化」的目標邁進。" in p.content]
    assert len(citing) == 1
    assert citing[0].footnotes == (4,)
    assert not citing[0].is_footnote
    assert "南韓負擔" not in citing[0].content


def test_heading_is_glued_to_the_text_it_opens(passages: list[Passage]) -> None:
    for p in passages:
        # a heading never makes a passage of its own
        assert not re.fullmatch(r"([壹貳參肆]、|[一二三]、|[（(][一二三四][）)]).{0,40}", p.content), p.content
    [opening] = [p for p in passages if p.content.startswith("一、美國與北韓的爭論點")]
    assert "（一）落實無核化的時程與方式" in opening.content
    assert "川普多次表達將一次解決北韓核問題的決心" in opening.content
    assert opening.section == (
        "參、影響朝鮮半島安全的變數與挑戰",
        "一、美國與北韓的爭論點",
        "（一）落實無核化的時程與方式",
    )


@pytest.mark.parametrize(
    ("size", "overlap"),
    [(5, 0), (19, 0), (100, 100), (100, 150), (100, -1)],
)
def test_invalid_arguments_are_refused(size: int, overlap: int) -> None:
    with pytest.raises(ValueError):
        ChunkSplitter(size, overlap)


def test_settings_describe_the_chunking() -> None:
    settings = ChunkSplitter(200, 30).settings
    assert settings["chunk_size"] == 200
    assert settings["chunk_overlap"] == 30


def test_no_passage_starts_with_sentence_punctuation(passages: list[Passage]) -> None:
    for p in passages:
        assert p.content[0] not in "。，；！？、", p.content[:20]


def test_full_stop_stays_at_the_end_of_its_sentence() -> None:
    sentences = [f"第{i}句話說明北韓無核化的進程與美國的立場仍有分歧" for i in range(12)]
    text = "標題很短\n\n" + "。".join(sentences) + "。\n"
    doc = parse_text(text, doc_id="sentences")
    passages = ChunkSplitter(60, 0).split(doc)
    body = [p for p in passages if "第" in p.content]
    assert len(body) > 3
    for p in body:
        assert p.content.endswith("。"), p.content
        assert not p.content.startswith("。"), p.content
        assert p.content == doc.text[p.start : p.end]


def test_run_splits_several_documents_in_order(doc: Document) -> None:
    other = parse_text("短標題\n\n另一份文件的正文。", doc_id="other")
    splitter = ChunkSplitter(CHUNK_SIZE, OVERLAP)
    passages = splitter.run([doc, other])
    doc_ids = [p.doc_id for p in passages]
    assert doc_ids == sorted(doc_ids, key=[doc.id, "other"].index)
    assert doc_ids.count("other") >= 1
    for p in passages:
        source = doc if p.doc_id == doc.id else other
        assert p.content == source.text[p.start : p.end]


# --- found by the property tests (tests/test_properties.py) -----------------------------------


@pytest.mark.parametrize(
    ("text", "size", "overlap", "spans"),
    [
        # the second chunk "。。" also occurs one character earlier, inside the first chunk
        ("0000000000000000000。。。", 20, 1, [(0, 20), (20, 22)]),
        ("0000000000000000000,0", 20, 2, [(0, 20), (20, 21)]),
        ("0" * 40, 20, 0, [(0, 20), (20, 40)]),
    ],
)
def test_repeated_text_gets_the_spans_the_splitter_cut(text: str, size: int, overlap: int, spans: list) -> None:
    doc = parse_text(text, doc_id="repeats")
    passages = ChunkSplitter(size, overlap).split(doc)
    assert [(p.start, p.end) for p in passages] == spans
    assert "".join(doc.text[a:b] for a, b in spans) == doc.text  # nothing lost, nothing twice


def test_no_passage_is_only_the_overlap_of_the_one_before() -> None:
    # langchain's splitter makes "aaaaa" here: the overlap carried into a chunk whose new piece was a space
    doc = parse_text("a" * 20 + " b", doc_id="overlap")
    passages = ChunkSplitter(20, 5).split(doc)
    assert [p.content for p in passages] == ["a" * 20, "b"]


def test_a_heading_without_text_is_not_glued_to_the_next_section() -> None:
    doc = parse_text("朝鮮半島筆記\n\n壹、前言\n\n貳、本文\n\n正文在此。", doc_id="empty-section")
    passages = ChunkSplitter(CHUNK_SIZE, OVERLAP).split(doc)
    assert [(p.content, p.section) for p in passages] == [
        ("朝鮮半島筆記", ()),
        ("壹、前言", ("壹、前言",)),
        ("貳、本文\n\n正文在此。", ("貳、本文",)),
    ]


def test_a_long_heading_is_glued_once_not_without_bound() -> None:
    doc = parse_text("## " + "0" * 45, doc_id="long-heading", markdown=True)
    passages = ChunkSplitter(20, 0).split(doc)
    assert [(p.start, p.end) for p in passages] == [(0, 40), (40, 45)]
    assert all(len(p.content) <= 2 * 20 + 2 for p in passages)


# -- cost that grows with the document's size, whatever its shape -----------------------------------
PATHOLOGICAL_SHAPES = {
    "headings on consecutive lines": lambda n: ("".join(f"## Heading number {i}\n" for i in range(n)), True),
    "headings between blank lines": lambda n: ("".join(f"## Heading number {i}\n\n" for i in range(n)), True),
    "nested headings": lambda n: ("".join(f"{'#' * (1 + i % 6)} H{i}\n" for i in range(n)), True),
    "one huge line": lambda n: ("word " * (4 * n), True),
    "one paragraph of many lines": lambda n: ("".join(f"line {i} of text\n" for i in range(n)), True),
    "nested list": lambda n: ("".join(f"{'  ' * (i % 10)}- item {i}\n" for i in range(n)), True),
    "paragraphs a page break cut": lambda n: ("".join(f"第{i}段沒有句號\n\n" for i in range(n)), False),
}
"""Document shapes, ``n`` units long: (text, whether it is Markdown)."""


def _parse_and_chunk_seconds(shape: str, n: int) -> float:
    """The best of three: parsing a document of ``n`` units of ``shape`` and cutting it into passages."""
    text, markdown = PATHOLOGICAL_SHAPES[shape](n)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        ChunkSplitter(CHUNK_SIZE, OVERLAP).split(parse_text(text, doc_id="x", markdown=markdown))
        best = min(best, time.perf_counter() - start)
    return best


@pytest.mark.parametrize("shape", PATHOLOGICAL_SHAPES)
def test_parsing_and_chunking_time_grows_about_linearly_with_size(shape):
    """Eight times the text takes about eight times as long (a quadratic step would take 64 times)."""
    small, large = _parse_and_chunk_seconds(shape, 4_000), _parse_and_chunk_seconds(shape, 32_000)
    assert large / small < 24, f"{shape}: {small:.3f} s for 4,000 units, {large:.3f} s for 32,000"
