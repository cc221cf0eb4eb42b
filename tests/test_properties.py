"""Property tests: parsing never fails, and blocks, passages and sentences are exact spans that lose nothing.

Documents are drawn two ways: arbitrary Unicode (``st.text()``), and realistic extracted text — CJK runs,
Chinese and ASCII punctuation, Markdown and Chinese heading markers, footnote markers and bodies, captions,
blank lines and CRLF, very long lines without punctuation, repeated text, emoji, zero-width and
right-to-left characters.
"""

from __future__ import annotations

import itertools
import re
import tempfile
import unicodedata
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corpus import BlockKind, Document, DocumentError, DocumentLoader, parse_text
from index.chunking import CJK_SEPARATORS, ChunkSplitter, Passage
from index.sentences import sentence_spans

SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
PROPERTY_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --- strategies -------------------------------------------------------------------------------

cjk_run = st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), min_size=1, max_size=30)
chinese_punctuation = st.sampled_from(list("。！？；，、：「」『』（）《》…"))
ascii_word = st.from_regex(r"[A-Za-z0-9.,;:!?()'\"-]{1,12}", fullmatch=True)
odd_piece = st.sampled_from(
    [
        " ",
        "  ",
        "\t",
        "\u3000",
        "\u00a0",
        "\u200b",  # zero-width space
        "\ufeff",  # zero-width no-break space / BOM
        "\u202e",  # right-to-left override
        "\u202c",
        "\u2028",  # line separator
        "שלום",
        "مرحبا بالعالم",
        "😀",
        "👩‍👩‍👧",
        "¹",
        "²³",
        "⁴",
        "2017 年 5 月",
        "《平壤共同宣言》",
        "(Kill Chain)",
        "e\u0301",  # decomposed é: NFC changes the length
        "#",
        "##",
    ]
)
token = st.one_of(cjk_run, chinese_punctuation, ascii_word, odd_piece, st.text(max_size=4))
line_prefix = st.sampled_from(
    [
        *("", "", "", "# ", "## ", "### ", "#### "),
        *("壹、", "貳、", "一、", "十二、", "（一）", "(二) "),
        *("¹", "² ", "¹²", "圖8-1 ", "表1 ", "資料來源：", "Source: "),
    ]
)
ordinary_line = st.tuples(line_prefix, st.lists(token, max_size=25).map("".join)).map("".join)
# A long line without any punctuation, so the splitter must fall back to cutting between characters.
long_line = st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), min_size=200, max_size=900)
# Repetitive text, where one chunk's content occurs at many places of its section.
repeated_line = st.tuples(st.text(alphabet="北韓核 ab，。", min_size=1, max_size=6), st.integers(10, 150)).map(
    lambda pair: pair[0] * pair[1]
)
line = st.one_of(
    ordinary_line,
    ordinary_line,
    ordinary_line,
    long_line,
    st.tuples(line_prefix, long_line).map("".join),  # a long heading, caption, footnote …
    repeated_line,
)
line_break = st.sampled_from(["\n", "\n", "\n\n", "\n\n\n", "\r\n", "\r\n\r\n", "\r", "\n \n", "\n\u3000\n"])
realistic_text = st.lists(st.tuples(line, line_break).map("".join), max_size=30).map("".join)
any_text = st.one_of(st.text(), realistic_text)
splitter_sizes = st.integers(20, 400).flatmap(lambda size: st.tuples(st.just(size), st.integers(0, size - 1)))


def parsed(text: str, markdown: bool) -> Document:
    return parse_text(text, doc_id="doc", markdown=markdown)


# --- parsing ----------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(text=st.text(), markdown=st.booleans())
def test_parsing_never_raises_on_arbitrary_unicode(text: str, markdown: bool) -> None:
    doc = parsed(text, markdown)
    assert isinstance(doc.text, str)
    assert doc.title


def assert_blocks_are_spans(doc: Document) -> None:
    previous_end = -1
    for i, block in enumerate(doc.blocks):
        assert block.index == i
        assert block.text == doc.text[block.start : block.end]
        assert block.text, f"block {i} is empty"
        assert block.text == block.text.strip(), block.text
        assert "\n" not in block.text
        assert block.start > previous_end, f"block {i} starts before block {i - 1} ends"
        previous_end = block.end
        if block.kind is not BlockKind.FOOTNOTE:  # a footnote's own body may cite another
            assert not re.search(f"[{SUPERSCRIPTS}]", block.text), block.text
    assert doc.text == "\n\n".join(b.text for b in doc.blocks)


@PROPERTY_SETTINGS
@given(text=any_text, markdown=st.booleans())
def test_every_block_is_its_span_of_the_document_text(text: str, markdown: bool) -> None:
    assert_blocks_are_spans(parsed(text, markdown))


def visible(text: str) -> bool:
    """Whether ``text`` has a character that is neither a control, format nor space character."""
    return any(unicodedata.category(ch)[0] not in "CZ" for ch in text)


@PROPERTY_SETTINGS
@given(text=any_text, suffix=st.sampled_from([".txt", ".md"]))
def test_loading_any_text_file_gives_a_document_or_our_error(text: str, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / f"notes{suffix}"
        path.write_bytes(text.encode("utf-8"))
        try:
            doc = DocumentLoader().load(path)
        except DocumentError as exc:
            assert str(path) in str(exc)
            assert "\x00" in text or not visible(parsed(text, suffix == ".md").text)
            return
    assert visible(doc.text)
    assert doc.text == parsed(text, suffix == ".md").text
    assert_blocks_are_spans(doc)


# --- chunking ---------------------------------------------------------------------------------


def assert_passages_are_sound(doc: Document, passages: list[Passage], size: int, overlap: int) -> None:
    ids = [p.id for p in passages]
    assert len(set(ids)) == len(ids), "passage ids repeat"
    for p in passages:
        assert p.doc_id == doc.id
        assert 0 <= p.start < p.end <= len(doc.text)
        assert p.content == doc.text[p.start : p.end]
        assert p.content == p.content.strip()
        for block in doc.blocks_in(p.start, p.end):
            if block.kind is BlockKind.HEADING:
                assert p.section[: len(block.section)] == block.section
            else:
                assert block.section == p.section, (p, block)
    for p, q in itertools.pairwise(passages):
        assert p.start < q.start and p.end < q.end, f"{p} and {q} are out of order, or one lies inside the other"
        assert p.end - q.start <= overlap, f"{p} and {q} overlap by more than {overlap}"
    covered = bytearray(len(doc.text))
    for p in passages:
        covered[p.start : p.end] = b"\x01" * (p.end - p.start)
    for block in doc.blocks:
        lost = [i for i in range(block.start, block.end) if not covered[i] and not doc.text[i].isspace()]
        assert not lost, f"block {block.index} ({block.kind.value}) lost {doc.text[lost[0] : lost[0] + 20]!r}"
    for p in passages:
        if len(p.content) > size:  # only a heading glued to the chunk after it
            [first] = [b for b in doc.blocks if b.start <= p.start < b.end]
            assert first.kind is BlockKind.HEADING and first.start == p.start, f"{len(p.content)} > {size}: {p}"
            assert len(p.content) <= 2 * size + 2, p


@PROPERTY_SETTINGS
@given(text=any_text, markdown=st.booleans(), sizes=splitter_sizes)
def test_passages_are_exact_spans_that_lose_nothing(text: str, markdown: bool, sizes: tuple[int, int]) -> None:
    doc = parsed(text, markdown)
    size, overlap = sizes
    passages = ChunkSplitter(size, overlap).split(doc)
    assert_passages_are_sound(doc, passages, size, overlap)


@PROPERTY_SETTINGS
@given(text=realistic_text, markdown=st.booleans())
def test_default_chunking_of_realistic_documents(text: str, markdown: bool) -> None:
    doc = parsed(text, markdown)
    passages = ChunkSplitter(300, 50).split(doc)
    assert_passages_are_sound(doc, passages, 300, 50)


@PROPERTY_SETTINGS
@given(text=any_text, sizes=splitter_sizes)
def test_chunks_are_those_of_langchains_recursive_splitter(text: str, sizes: tuple[int, int]) -> None:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    size, overlap = sizes
    reference = RecursiveCharacterTextSplitter(
        separators=list(CJK_SEPARATORS),
        keep_separator="end",
        chunk_size=size,
        chunk_overlap=overlap,
        strip_whitespace=True,
    )
    spans = ChunkSplitter(size, overlap).spans(text, 0, len(text))
    assert [text[a:b] for a, b in spans] == reference.split_text(text)


# --- sentences --------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(text=any_text)
def test_sentence_spans_are_ordered_stripped_and_cover_the_text(text: str) -> None:
    spans = sentence_spans(text)
    previous_end = 0
    covered = bytearray(len(text))
    for start, end in spans:
        assert previous_end <= start < end <= len(text)
        piece = text[start:end]
        assert piece == piece.strip()
        covered[start:end] = b"\x01" * (end - start)
        previous_end = end
    lost = [i for i, ch in enumerate(text) if not covered[i] and not ch.isspace()]
    assert not lost, f"sentence_spans lost {text[lost[0] : lost[0] + 20]!r}"
