"""The bundled chapter is parsed into clean, structured, citable blocks; bad files are refused."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from corpus import (
    Block,
    BlockKind,
    Document,
    DocumentError,
    DocumentLoader,
    default_document_path,
    load_default_document,
    normalize_spacing,
    parse_text,
    to_traditional,
)

SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹"


@pytest.fixture(scope="module")
def doc() -> Document:
    return load_default_document()


def blocks_containing(document: Document, needle: str):
    return [b for b in document.blocks if needle in b.text]


def only_block_containing(document: Document, needle: str):
    found = blocks_containing(document, needle)
    assert len(found) == 1, f"{needle!r} is in {len(found)} blocks: {[b.index for b in found]}"
    return found[0]


# --- title, byline, headings ---------------------------------------------------------------


def test_title_and_byline(doc: Document) -> None:
    assert doc.title == "第八章 朝鮮半島之安全情勢發展"
    assert doc.id == "korean-peninsula-security-2018"
    first, second = doc.blocks[0], doc.blocks[1]
    assert first.kind is BlockKind.TITLE
    assert first.text == doc.title
    assert second.kind is BlockKind.BYLINE
    assert second.text == "陳蒿堯、王尊彥"
    assert second.footnotes == (1,)
    assert [b.kind for b in doc.blocks].count(BlockKind.TITLE) == 1
    assert [b.kind for b in doc.blocks].count(BlockKind.BYLINE) == 1


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("壹、前言", 1),
        ("參、影響朝鮮半島安全的變數與挑戰", 1),
        ("肆、小結", 1),
        ("一、平昌冬奧前相關各方對北韓核問題的態度", 2),
        ("三、中國仍在朝鮮半島安全議題上扮演要角", 2),
        ("(一) 韓國對北韓釋放善意並強化韓美聯合防衛", 3),
        ("（一）落實無核化的時程與方式", 3),
        ("(四) 北韓對棄核態度「欲迎還拒」", 3),
    ],
)
def test_heading_levels(doc: Document, text: str, level: int) -> None:
    [heading] = [b for b in doc.blocks if b.kind is BlockKind.HEADING and b.text == text]
    assert heading.level == level
    assert len(heading.section) == level
    assert heading.section[-1] == text


def test_heading_counts_and_outline(doc: Document) -> None:
    headings = [b for b in doc.blocks if b.kind is BlockKind.HEADING]
    top = [b.text for b in headings if b.level == 1]
    assert top == ["壹、前言", "貳、朝鮮半島情勢的變化", "參、影響朝鮮半島安全的變數與挑戰", "肆、小結"]
    assert all(b.level in (1, 2, 3) for b in headings)
    assert all(b.level == 0 for b in doc.blocks if b.kind is not BlockKind.HEADING)
    outline = doc.sections()
    assert outline[0] == ("壹、前言",)
    assert len(outline) == len(headings)  # every heading opens its own section


def test_section_path_of_a_paragraph(doc: Document) -> None:
    block = only_block_containing(doc, "蓬佩奧2018年6月14日")
    assert block.kind is BlockKind.PARAGRAPH
    assert block.section == (
        "參、影響朝鮮半島安全的變數與挑戰",
        "一、美國與北韓的爭論點",
        "（一）落實無核化的時程與方式",
    )


def test_section_path_after_returning_to_a_shallower_level(doc: Document) -> None:
    block = only_block_containing(doc, "習近平2017年11月在北京會晤川普後")
    assert block.section == ("肆、小結", "三、中國仍在朝鮮半島安全議題上扮演要角")
    intro = only_block_containing(doc, "朝鮮半島具有重要的地緣戰略地位")
    assert intro.section == ("壹、前言",)


def test_figure_caption_and_source(doc: Document) -> None:
    [caption] = [b for b in doc.blocks if b.kind is BlockKind.CAPTION]
    assert caption.text.startswith("圖8-1")
    assert "朝鮮半島安全情勢主要利益當事國互動關係圖" in caption.text
    [source] = [b for b in doc.blocks if b.kind is BlockKind.SOURCE]
    assert source.text == "資料來源：陳蒿堯整理繪製。"
    assert source.index == caption.index + 1
    assert caption.section == source.section == ("貳、朝鮮半島情勢的變化",)


# --- footnotes --------------------------------------------------------------------------------


def footnote(doc: Document, number: int) -> Block | None:
    """The footnote block with this number, if the document has one."""
    return next((b for b in doc.blocks if b.kind is BlockKind.FOOTNOTE and b.footnote_number == number), None)


def test_four_footnotes_numbered_one_to_four(doc: Document) -> None:
    notes = [b for b in doc.blocks if b.kind is BlockKind.FOOTNOTE]
    assert len(notes) == 4
    assert sorted(b.footnote_number for b in notes) == [1, 2, 3, 4]
    by_number = {b.footnote_number: b for b in notes}
    assert by_number[1].text.startswith("陳蒿堯，國家安全與決策研究所助理研究員")
    assert by_number[2].text.startswith("南韓負擔的駐韓美軍費")
    assert footnote(doc, 3).text.startswith("“Security Meeting Examines Wartime Control")
    assert footnote(doc, 4).text.startswith("北韓曾向美方具體提出")
    assert footnote(doc, 4).text.endswith("840509.html")


def test_no_footnote_marker_left_in_the_text(doc: Document) -> None:
    assert not re.search(f"[{SUPERSCRIPTS}]", doc.text)
    for block in doc.blocks:
        assert not re.search(f"[{SUPERSCRIPTS}]", block.text), block.index


@pytest.mark.parametrize("number", [1, 2, 3, 4])
def test_footnote_follows_and_is_linked_from_its_citing_block(doc: Document, number: int) -> None:
    note = footnote(doc, number)
    assert note is not None
    citing = [b for b in doc.blocks if number in b.footnotes]
    assert len(citing) == 1
    [citer] = citing
    assert citer.kind is not BlockKind.FOOTNOTE
    assert note.index == citer.index + 1
    assert note.section == (*citer.section, f"註{number}")
    assert note.footnotes == ()


def test_footnotes_cited_by_the_right_paragraphs(doc: Document) -> None:
    assert "2014年1月簽訂的第9期防衛費分攤協定將於2018年底到期。" in doc.blocks[footnote(doc, 2).index - 1].text
    assert "保留韓美聯軍司令部達成協議。" in doc.blocks[footnote(doc, 3).index - 1].text
    assert doc.blocks[footnote(doc, 4).index - 1].text.endswith("目標邁進。")


# --- page-break repair ------------------------------------------------------------------------


def test_word_split_by_a_page_break_is_rejoined(doc: Document) -> None:
    block = only_block_containing(doc, "《平壤共同宣言》及韓朝軍事領域協議")
    assert block.kind is BlockKind.PARAGRAPH
    assert "逕行通過《平壤共同宣言》及韓朝軍事領域協議，批指有違憲之虞" in block.text


def test_paragraph_split_by_a_page_break_is_rejoined(doc: Document) -> None:
    block = only_block_containing(doc, "若北韓依據「川金會」達成的協議")
    assert block.kind is BlockKind.PARAGRAPH
    assert block.text.startswith("對於美國始終強調的無核化進程")
    assert block.text.endswith("歸咎於中國未提供協助。")
    only_block_containing(doc, "目前論及《終戰宣言》仍為時尚早")


def test_paragraph_interrupted_by_footnote_bodies_is_rejoined(doc: Document) -> None:
    block = only_block_containing(doc, "朝「無核化」的目標邁進。")
    assert block.kind is BlockKind.PARAGRAPH
    assert block.footnotes == (4,)
    assert block.text.startswith("美國強硬主張北韓必須「一步到位」")
    for body_text in ("南韓負擔", "Security Meeting", "北韓曾向美方具體提出", "http"):
        assert body_text not in block.text
    assert not [b for b in doc.blocks if b.text == "目標邁進。"]


def test_footnote_bodies_are_not_inside_paragraphs(doc: Document) -> None:
    for needle in ("南韓負擔", "Security Meeting Examines", "北韓曾向美方具體提出", "國家安全與決策研究所助理研究員"):
        block = only_block_containing(doc, needle)
        assert block.kind is BlockKind.FOOTNOTE


# --- offsets and spacing ----------------------------------------------------------------------


def test_every_block_is_its_span_of_the_document_text(doc: Document) -> None:
    previous_end = -1
    for i, block in enumerate(doc.blocks):
        assert block.index == i
        assert block.text == doc.text[block.start : block.end]
        assert block.text and block.text == block.text.strip()
        assert block.start > previous_end
        previous_end = block.end
    assert doc.text == "\n\n".join(b.text for b in doc.blocks)


def test_spacing_between_chinese_and_digits_is_dropped(doc: Document) -> None:
    assert "文在寅2017年5月17日提出" in doc.text
    assert "2017 年" not in doc.text
    assert not re.search(r"[\u4e00-\u9fff] \d|\d [\u4e00-\u9fff]", doc.text)
    assert "  " not in doc.text
    assert "\u3000" not in doc.text and "\u00a0" not in doc.text


def test_half_width_brackets_and_latin_spacing_are_kept(doc: Document) -> None:
    assert "作戰支援 (Operational Support)" in doc.text
    assert "殺傷鏈 (Kill Chain)" in doc.text
    assert "(Korea Air and Missile Defense, KAMD)" in doc.text


def test_normalize_spacing() -> None:
    assert normalize_spacing("文在寅 2017 年 5 月 17 日") == "文在寅2017年5月17日"
    assert normalize_spacing("  a \t b\u3000c\u00a0d  ") == "a b c d"
    assert normalize_spacing("追加作戰支援 (Operational Support)") == "追加作戰支援 (Operational Support)"


# --- Markdown ---------------------------------------------------------------------------------

MARKDOWN = """# 朝鮮半島筆記

這份筆記整理兩韓關係。

## 一、美朝關係

美朝在新加坡會面。

### （一）無核化

雙方對無核化的定義不同。

## 二、兩韓關係

兩韓簽署《平壤共同宣言》。

# 第二部分

結語。
"""


def test_markdown_headings_give_title_and_section_paths() -> None:
    doc = parse_text(MARKDOWN, doc_id="notes", markdown=True)
    assert doc.title == "朝鮮半島筆記"
    assert doc.blocks[0].kind is BlockKind.TITLE
    assert "#" not in doc.text
    headings = [(b.text, b.level) for b in doc.blocks if b.kind is BlockKind.HEADING]
    assert headings == [("一、美朝關係", 2), ("（一）無核化", 3), ("二、兩韓關係", 2), ("第二部分", 1)]
    sections = {b.text: b.section for b in doc.blocks if b.kind is BlockKind.PARAGRAPH}
    assert sections == {
        "這份筆記整理兩韓關係。": (),
        "美朝在新加坡會面。": ("一、美朝關係",),
        "雙方對無核化的定義不同。": ("一、美朝關係", "（一）無核化"),
        "兩韓簽署《平壤共同宣言》。": ("二、兩韓關係",),
        "結語。": ("第二部分",),
    }
    for block in doc.blocks:
        assert block.text == doc.text[block.start : block.end]


def test_markdown_headings_on_consecutive_lines_are_headings() -> None:
    doc = parse_text("# Title\n\nIntro.\n## Section one\nBody one.\n### Part\nBody two.", doc_id="x", markdown=True)
    assert [(b.kind, b.text, b.section) for b in doc.blocks] == [
        (BlockKind.TITLE, "Title", ()),
        (BlockKind.PARAGRAPH, "Intro.", ()),
        (BlockKind.HEADING, "Section one", ("Section one",)),
        (BlockKind.PARAGRAPH, "Body one.", ("Section one",)),
        (BlockKind.HEADING, "Part", ("Section one", "Part")),
        (BlockKind.PARAGRAPH, "Body two.", ("Section one", "Part")),
    ]
    doc = parse_text("# A\n# B\n# C", doc_id="abc", markdown=True)
    assert doc.title == "A"
    assert [(b.kind, b.text) for b in doc.blocks] == [
        (BlockKind.TITLE, "A"),
        (BlockKind.HEADING, "B"),
        (BlockKind.HEADING, "C"),
    ]


def test_a_hash_line_in_fenced_code_or_plain_text_is_not_a_heading() -> None:
    doc = parse_text("# Setup\n\nRun:\n```\n# install it\npip install x\n```\nDone.", doc_id="x", markdown=True)
    assert [b.kind for b in doc.blocks] == [BlockKind.TITLE, BlockKind.PARAGRAPH]
    assert "# install it" in doc.blocks[1].text
    doc = parse_text("標題\n\n正文。\n# 不是標題", doc_id="plain")
    assert [b.kind for b in doc.blocks] == [BlockKind.TITLE, BlockKind.PARAGRAPH]


def test_a_bare_footnote_marker_makes_no_empty_block() -> None:
    doc = parse_text("¹", doc_id="marker")
    assert doc.blocks == ()
    assert doc.title == "marker"
    doc = parse_text("標題\n\n正文第一段。\n\n²\n\n² 註釋內容。", doc_id="marker-line")
    assert [(b.kind, b.text) for b in doc.blocks] == [
        (BlockKind.TITLE, "標題"),
        (BlockKind.PARAGRAPH, "正文第一段。"),
        (BlockKind.FOOTNOTE, "註釋內容。"),
    ]
    assert doc.blocks[1].footnotes == (2,)  # the marker on a line of its own cites from the block before


def test_plain_text_without_title_uses_doc_id() -> None:
    doc = parse_text("這是一段很長的正文，沒有標題。", doc_id="plain")
    assert doc.title == "plain"
    assert [b.kind for b in doc.blocks] == [BlockKind.PARAGRAPH]


# --- loader -----------------------------------------------------------------------------------


def test_loader_reads_the_bundled_file(doc: Document) -> None:
    path = default_document_path()
    assert path.is_file()
    assert doc.content_hash == hashlib.sha256(path.read_bytes()).hexdigest()
    assert doc.source == str(path)


def test_loader_reads_a_markdown_file(tmp_path: Path) -> None:
    path = tmp_path / "My Notes.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    [doc] = DocumentLoader().run([path])
    assert doc.id == "my-notes"
    assert doc.title == "朝鮮半島筆記"
    assert any(b.kind is BlockKind.HEADING and b.level == 3 for b in doc.blocks)


def test_missing_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.txt"
    with pytest.raises(DocumentError, match=re.escape(str(path))):
        DocumentLoader().load(path)


def test_unsupported_suffix_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "chapter.odt"
    path.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(DocumentError, match=re.escape(str(path))) as info:
        DocumentLoader().load(path)
    assert "unsupported file type '.odt'" in str(info.value)


def test_invalid_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin.txt"
    path.write_bytes(b"\xff\xfe\xfa")
    with pytest.raises(DocumentError, match=re.escape(str(path))) as info:
        DocumentLoader().load(path)
    assert "UTF-8" in str(info.value)


def test_whitespace_only_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "blank.txt"
    path.write_text(" \n\n\t \u3000\n", encoding="utf-8")
    with pytest.raises(DocumentError, match=re.escape(str(path))):
        DocumentLoader().load(path)


def test_two_files_with_the_same_stem_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = tmp_path / "a" / "chapter.txt", tmp_path / "b" / "chapter.md"
    first.write_text("第一份文件的內容。", encoding="utf-8")
    second.write_text("第二份文件的內容。", encoding="utf-8")
    with pytest.raises(DocumentError, match="chapter"):
        DocumentLoader().run([first, second])


def test_run_with_no_paths_is_refused() -> None:
    with pytest.raises(DocumentError):
        DocumentLoader().run([])


def test_document_error_is_a_corpus_error() -> None:
    from corpus import CorpusError

    assert issubclass(DocumentError, CorpusError)


# --- script conversion ------------------------------------------------------------------------


def test_to_traditional() -> None:
    assert to_traditional("朝鲜无核化") == "朝鮮無核化"
    assert to_traditional("朝鮮無核化") == "朝鮮無核化"


def test_the_same_file_read_twice_is_parsed_once(tmp_path, monkeypatch):
    import corpus.loading

    calls = []
    real = corpus.loading.parse_text
    monkeypatch.setattr(corpus.loading, "parse_text", lambda *a, **k: calls.append(1) or real(*a, **k))
    body = "# 補充說明\n\n2019年2月27日，川普與金正恩在河內會面。\n"
    first, copy, other = tmp_path / "a" / "notes.md", tmp_path / "b" / "notes.md", tmp_path / "c" / "other.md"
    for path in (first, copy, other):
        path.parent.mkdir()
        path.write_text(body, "utf-8")
    loader = DocumentLoader()
    a, b = loader.load(first), loader.load(copy)
    assert len(calls) == 1  # same bytes, same name: the stored copy is not parsed again
    assert (b.source, b.id, b.text) == (str(copy), a.id, a.text)
    c = loader.load(other)
    assert len(calls) == 2 and c.id != a.id  # another name gives another id, so it is parsed
