"""PDF, Word, HTML and Markdown files become structured documents with headings and pages, and
questions over them are cited with the right section and page.

Every fixture is written here: PDFs with reportlab (Chinese in its built-in CID font STSong-Light,
which needs no font file), Word files with python-docx, HTML and Markdown as text.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest

from corpus import BlockKind, Document, DocumentError, DocumentLoader
from index.chunking import ChunkSplitter
from qa import Assistant, Settings
from ui import render

CJK_SPACE = re.compile(r"[\u3400-\u9fff，。、「」《》（）]\s+[\u3400-\u9fff，。、「」《》（）]")

# -- the Chinese PDF: three pages, outline (bookmarks) and larger fonts for headings ---------------
ZH_TITLE = "朝鮮半島安全筆記"
ZH_TEST = (
    "北韓於二〇一七年九月三日在豐溪里進行第六次核子試爆，宣稱成功試驗可裝載於洲際彈道飛彈的氫彈，引起國際社會強烈譴責。"
)
ZH_FILLER = [
    f"第{n}份觀察報告指出，平壤市區的新建住宅在該季陸續完工，居民遷入的情況與原先的規劃大致相符。" for n in range(1, 12)
]
ZH_SANCTIONS = (
    "聯合國安全理事會隨即於同年九月十一日一致通過第二三七五號決議，限制對北韓出口原油與精煉石油產品，"
    "並全面禁止北韓的紡織品出口，也不再核發新的北韓海外勞工許可。"
    + "".join(
        f"{who}隨後表示將嚴格執行決議內容，並加強對可疑船隻的海上檢查。"
        for who in ("中國外交部", "俄羅斯外交部", "日本政府", "南韓統一部", "歐洲聯盟")
    )
    + "美國財政部則在同年九月二十一日宣布擴大次級制裁，凡與北韓貿易的外國銀行都可能受罰。"
)
ZH_MISSILE = (
    "北韓於二〇一七年十一月二十九日凌晨試射火星十五型洲際彈道飛彈，飛行高度約四千五百公里，射程可涵蓋美國全境。"
)
ZH_SUMMIT = "美國總統川普與北韓領導人金正恩於二〇一八年六月十二日在新加坡聖淘沙島舉行首次高峰會，並簽署聯合聲明。"
ZH_PULL_QUOTE = "重點：制裁與對話並行"
ZH_OUTLINE = [
    (ZH_TITLE, 0),
    ("壹、核武發展", 1),
    ("一、核子試爆", 2),
    ("二、飛彈試射", 2),
    ("貳、外交發展", 1),
]


def write_chinese_pdf(path: Path, *, outline: bool) -> Path:
    """Title, two level-1 and two level-2 headings over three pages; with ``outline``, bookmarks too
    (and a large pull quote that is not in the outline, so not a heading)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    font = "STSong-Light"
    styles = {
        "title": ParagraphStyle("title", fontName=font, fontSize=24, leading=30, spaceAfter=14),
        "h1": ParagraphStyle("h1", fontName=font, fontSize=18, leading=24, spaceBefore=8, spaceAfter=8),
        "h2": ParagraphStyle("h2", fontName=font, fontSize=14, leading=20, spaceAfter=6),
        "quote": ParagraphStyle("quote", fontName=font, fontSize=16, leading=22, spaceBefore=8),
        "body": ParagraphStyle(
            "body", fontName=font, fontSize=11, leading=17, firstLineIndent=22, spaceAfter=6, wordWrap="CJK"
        ),
    }
    levels = dict(ZH_OUTLINE)

    class Template(SimpleDocTemplate):
        def afterFlowable(self, flowable):  # reportlab's hook
            text = getattr(flowable, "text", None)
            if outline and text in levels:
                key = f"h{id(flowable)}"
                self.canv.bookmarkPage(key)
                self.canv.addOutlineEntry(text, key, level=levels[text])

    def page_number(canvas, doc) -> None:  # type: ignore[no-untyped-def]
        canvas.setFont("Helvetica", 9)
        canvas.drawCentredString(A4[0] / 2, 30, str(doc.page))

    story = [
        Paragraph(ZH_TITLE, styles["title"]),
        Paragraph("壹、核武發展", styles["h1"]),
        Paragraph("一、核子試爆", styles["h2"]),
        Paragraph(ZH_TEST, styles["body"]),
        *[Paragraph(s, styles["body"]) for s in ZH_FILLER],
        Paragraph(ZH_SANCTIONS, styles["body"]),
        Paragraph("二、飛彈試射", styles["h2"]),
        Paragraph(ZH_MISSILE, styles["body"]),
        PageBreak(),
        Paragraph("貳、外交發展", styles["h1"]),
        Paragraph(ZH_SUMMIT, styles["body"]),
    ]
    if outline:
        story.append(Paragraph(ZH_PULL_QUOTE, styles["quote"]))
    Template(str(path), pagesize=A4, title=ZH_TITLE if outline else "").build(
        story, onFirstPage=page_number, onLaterPages=page_number
    )
    return path


# -- the English PDF: drawn line by line, headings only by font size -------------------------------
EN_PAGES: list[list[tuple[float, str, bool]]] = [
    [
        (24, "Notes on Peninsula Security", False),
        (18, "Nuclear Programme", False),
        (14, "Enrichment", False),
        (11, "The Yongbyon complex houses a uranium enrich-", False),
        (11, "ment plant that was first shown to visiting American", False),
        (11, "scientists in November 2010.", False),
        (11, "Satellite images from 2018 showed new construction at", True),
        (11, "the light water reactor next to the old cooling tower.", False),
        (11, "Inspectors from the International Atomic Energy Agency", True),
        (11, "left the country in April 2009 and have not", False),
    ],
    [
        (11, "returned since then, according to the annual report of", False),
        (11, "the agency's director general.", False),
        (18, "Diplomacy", False),
        (14, "Summits", False),
        (11, "The second summit between Donald Trump and Kim Jong Un", False),
        (11, "was held in Hanoi in February 2019 and ended early", False),
        (11, "without any agreement on sanctions relief.", False),
    ],
    [
        (14, "Sanctions", False),
        (11, "Resolution 2397 of December 2017 banned the export of", False),
        (11, "industrial machinery and vehicles to North Korea.", False),
    ],
]
EN_RUNNING_HEAD = "Peninsula Security Notes - Draft"


def write_english_pdf(path: Path) -> Path:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path), pagesize=A4)
    for number, lines in enumerate(EN_PAGES, start=1):
        pdf.setFont("Helvetica", 9)
        pdf.drawString(72, 800, EN_RUNNING_HEAD)
        pdf.drawCentredString(A4[0] / 2, 30, str(number))
        y = 760.0
        previous = 11.0
        for size, text, indent in lines:
            y -= size * 1.45 + (8 if size != previous or indent else 0)
            pdf.setFont("Helvetica", size)
            pdf.drawString(72 + (22 if indent else 0), y, text)
            previous = size
        pdf.showPage()
    pdf.save()
    return path


def write_pdf_pages(path: Path, draw) -> Path:  # type: ignore[no-untyped-def]
    """A one-page PDF drawn by ``draw(canvas)``."""
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path))
    draw(pdf)
    pdf.showPage()
    pdf.save()
    return path


# -- Word ------------------------------------------------------------------------------------------
DOCX_PANMUNJOM = "2018年4月27日，文在寅與金正恩在板門店和平之家舉行會談，並簽署《板門店宣言》，承諾實現半島無核化。"
DOCX_PYONGYANG = "同年9月19日，兩韓領導人在平壤簽署《平壤共同宣言》，同意推動東海岸與西海岸鐵路及公路的連結。"
DOCX_MILITARY = (
    "The Comprehensive Military Agreement signed on 19 September 2018 created a no-fly zone "
    "along the Military Demarcation Line and removed eleven guard posts on each side."
)


def write_docx(path: Path) -> Path:
    import docx
    from docx.enum.style import WD_STYLE_TYPE

    document = docx.Document()
    document.add_heading("兩韓關係報告", level=0)
    document.add_heading("壹、高峰會", level=1)
    document.add_heading("一、板門店宣言", level=2)
    document.add_paragraph(DOCX_PANMUNJOM)
    document.add_heading("二、平壤宣言", level=2)
    broken = document.add_paragraph("同年9月19日，兩韓領導人在平壤簽署《平壤共同宣言》，同意推動東海岸")
    broken.runs[0].add_break()
    broken.add_run("與西海岸鐵路及公路的連結。")
    document.styles.add_style("標題 2", WD_STYLE_TYPE.PARAGRAPH)  # the name some Chinese editors store
    document.add_paragraph("三、離散家屬", style="標題 2")
    document.add_paragraph("兩韓於二〇一八年八月在金剛山舉行離散家屬團聚活動，共有數百個家庭參加。")
    document.add_heading("Part Two: Military Agreement", level=1)
    document.add_paragraph(DOCX_MILITARY)
    custom = document.styles.add_style("Report Subheading", WD_STYLE_TYPE.PARAGRAPH)
    custom.base_style = document.styles["Heading 3"]
    document.add_paragraph("Guard posts", style="Report Subheading")
    table = document.add_table(rows=2, cols=2)
    for row, cells in zip(table.rows, [("項目 Item", "數量 Count"), ("監視哨 Guard posts", "11")], strict=True):
        for cell, text in zip(row.cells, cells, strict=True):
            cell.text = text
    document.save(str(path))
    return path


# -- HTML ------------------------------------------------------------------------------------------
HTML_PAGE = """<!DOCTYPE html>
<html lang="zh-Hant"><head><meta charset="utf-8"><title>北韓飛彈筆記 | 範例網站</title>
<style>body { color: red } .MARKER_STYLE {}</style>
<script>document.title = "SCRIPT_RAN"; var marker = "MARKER_SCRIPT";</script>
<link rel="stylesheet" href="http://127.0.0.1:9/never-fetched.css"></head>
<body><header><a href="/">首頁</a> MARKER_HEADER</header>
<nav><ul><li>MARKER_NAV</li><li><a href="/about">關於</a></li></ul></nav>
<main><article>
<h1>北韓飛彈筆記</h1>
<h2>一、短程飛彈</h2>
<p>2019年5月4日，北韓在江原道元山附近的虎島半島
試射新型短程彈道飛彈，這是一年多來的首次飛彈試射。</p>
<h3>（一）技術特徵</h3>
<p>分析人士 &amp; 專家認為&#x5B83;的外型類似俄製伊斯坎德爾飛彈 &lt;9K720&gt;，採用固態燃料。</p>
<h2>二、Long-range missiles</h2>
<p>The <b>Hwasong-17</b> was first launched on 24&nbsp;March 2022, according to &ldquo;KCNA&rdquo;.</p>
<div hidden>MARKER_HIDDEN</div><!-- MARKER_COMMENT -->
<table><tr><th>年份</th><th>試射次數</th></tr><tr><td>2022</td><td>37</td></tr></table>
<noscript>MARKER_NOSCRIPT</noscript><aside>MARKER_ASIDE</aside>
<form><label>MARKER_FORM</label><input value="x"></form>
<img src="http://127.0.0.1:9/never-fetched.png" onerror="document.title='MARKER_ONERROR'">
</article></main>
<footer>MARKER_FOOTER © 2024</footer>
<script>document.write("MARKER_WRITE")</script>
</body></html>
"""
HTML_WONSAN = "2019年5月4日，北韓在江原道元山附近的虎島半島試射新型短程彈道飛彈，這是一年多來的首次飛彈試射。"

MARKDOWN = """# 制裁筆記

## 一、石油制裁

安理會第二三九七號決議將北韓每年可進口的精煉石油上限定為五十萬桶。

## 二、Shipping

North Korea evades sanctions through ship-to-ship transfers of oil at sea, often at night.
"""


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("formats")
    (folder / "missiles.html").write_text(HTML_PAGE, encoding="utf-8")
    (folder / "sanctions.md").write_text(MARKDOWN, encoding="utf-8")
    return {
        "zh_pdf": write_chinese_pdf(folder / "chinese.pdf", outline=True),
        "zh_pdf_plain": write_chinese_pdf(folder / "chinese-no-outline.pdf", outline=False),
        "en_pdf": write_english_pdf(folder / "english.pdf"),
        "docx": write_docx(folder / "report.docx"),
        "html": folder / "missiles.html",
        "md": folder / "sanctions.md",
    }


@pytest.fixture(scope="module")
def docs(files: dict[str, Path]) -> dict[str, Document]:
    return {name: DocumentLoader().load(path) for name, path in files.items()}


def block(document: Document, needle: str):  # type: ignore[no-untyped-def]
    found = [b for b in document.blocks if needle in b.text]
    assert len(found) == 1, f"{needle!r} is in {len(found)} blocks: {[b.text[:30] for b in found]}"
    return found[0]


def headings(document: Document) -> list[tuple[str, int, int | None]]:
    return [(b.text, b.level, b.page) for b in document.blocks if b.kind is BlockKind.HEADING]


def check_offsets(document: Document) -> None:
    for b in document.blocks:
        assert document.text[b.start : b.end] == b.text
        assert b.page == document.page_at(b.start)


# -- PDF -------------------------------------------------------------------------------------------
def test_chinese_pdf_headings_come_from_the_outline(docs):
    doc = docs["zh_pdf"]
    check_offsets(doc)
    assert doc.title == ZH_TITLE
    assert doc.blocks[0].kind is BlockKind.TITLE and doc.blocks[0].text == ZH_TITLE
    assert headings(doc) == [
        ("壹、核武發展", 1, 1),
        ("一、核子試爆", 2, 1),
        ("二、飛彈試射", 2, 2),
        ("貳、外交發展", 1, 3),
    ]
    quote = block(doc, ZH_PULL_QUOTE)  # set large, but not in the outline: not a heading
    assert quote.kind is BlockKind.PARAGRAPH and quote.section == ("貳、外交發展",)
    assert doc.meta["format"] == "pdf" and doc.meta["pages"] == "3"


def test_chinese_pdf_text_comes_back_exactly_in_reading_order_without_spaces(docs):
    doc = docs["zh_pdf"]
    paragraphs = [b.text for b in doc.blocks if b.kind is BlockKind.PARAGRAPH]
    assert paragraphs == [ZH_TEST, *ZH_FILLER, ZH_SANCTIONS, ZH_MISSILE, ZH_SUMMIT, ZH_PULL_QUOTE]
    assert not any(CJK_SPACE.search(b.text) for b in doc.blocks)
    assert not re.search(r"^\d+$", doc.text, re.M), "page numbers must be dropped"


def test_a_paragraph_over_a_page_break_is_one_block_that_knows_both_pages(docs):
    doc = docs["zh_pdf"]
    sanctions = block(doc, "第二三七五號決議")
    assert sanctions.text == ZH_SANCTIONS
    assert sanctions.page == 1 and sanctions.section == ("壹、核武發展", "一、核子試爆")
    assert doc.page_at(sanctions.end - 1) == 2
    last = doc.text.index("美國財政部")
    assert doc.page_at(last) == 2
    start, end = doc.page_span(2)
    assert doc.text[start:end].startswith(ZH_SANCTIONS[len(ZH_SANCTIONS) - (sanctions.end - start) :])
    assert ZH_MISSILE in doc.text[start:end] and ZH_SUMMIT not in doc.text[start:end]


def test_chinese_pdf_without_an_outline_takes_headings_from_font_sizes(docs):
    doc = docs["zh_pdf_plain"]
    check_offsets(doc)
    assert doc.title == ZH_TITLE and doc.blocks[0].kind is BlockKind.TITLE
    assert headings(doc) == headings(docs["zh_pdf"])
    assert block(doc, "火星十五型").section == ("壹、核武發展", "二、飛彈試射")
    assert block(doc, "火星十五型").page == 2


def test_english_pdf_lines_join_into_paragraphs(docs):
    doc = docs["en_pdf"]
    check_offsets(doc)
    assert doc.title == "Notes on Peninsula Security"
    assert headings(doc) == [
        ("Nuclear Programme", 1, 1),
        ("Enrichment", 2, 1),
        ("Diplomacy", 1, 2),
        ("Summits", 2, 2),
        ("Sanctions", 2, 3),
    ]
    enrichment = block(doc, "Yongbyon")
    assert enrichment.text == (
        "The Yongbyon complex houses a uranium enrichment plant that was first shown to visiting American "
        "scientists in November 2010."
    )
    assert block(doc, "Satellite images").text.endswith("next to the old cooling tower.")
    inspectors = block(doc, "Inspectors")
    assert "have not returned since then" in inspectors.text and inspectors.text.endswith("director general.")
    assert inspectors.page == 1 and doc.page_at(inspectors.end - 1) == 2
    assert block(doc, "Hanoi").section == ("Diplomacy", "Summits") and block(doc, "Hanoi").page == 2
    assert block(doc, "industrial machinery").section == ("Diplomacy", "Sanctions")
    assert EN_RUNNING_HEAD not in doc.text and "Draft" not in doc.text


def test_passages_carry_the_page_of_their_first_character(docs):
    doc = docs["zh_pdf"]
    passages = ChunkSplitter(chunk_size=60, chunk_overlap=10).split(doc)
    assert {p.page for p in passages} == {1, 2, 3}
    for p in passages:
        assert p.page == doc.page_at(p.start) and p.page_end == doc.page_at(p.end - 1)
        assert p.page <= p.page_end
    assert any(p.page == 1 and p.page_end == 2 for p in passages)  # the sentence cut by the page break
    assert next(p for p in passages if "美國財政部" in p.content).page_end == 2
    summit = next(p for p in passages if "新加坡" in p.content)
    assert summit.page == 3 and summit.section == ("貳、外交發展",)
    assert all(p.page is None for p in ChunkSplitter().split(docs["docx"]))


def test_text_drawn_twice_for_a_bold_look_is_read_once(tmp_path):
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))

    def draw(pdf) -> None:  # type: ignore[no-untyped-def]
        pdf.setFont("STSong-Light", 12)
        for dx in (0, 0.3):
            pdf.drawString(72 + dx, 720, "開城工業區於二〇一六年二月關閉。")

    doc = DocumentLoader().load(write_pdf_pages(tmp_path / "bold.pdf", draw))
    assert doc.text == "開城工業區於二〇一六年二月關閉。"


def test_a_pdf_without_text_is_refused_as_scanned(tmp_path):
    from PIL import Image

    image = tmp_path / "scan.png"
    Image.new("RGB", (200, 120), (250, 250, 240)).save(image)

    def scan(pdf) -> None:  # type: ignore[no-untyped-def]
        pdf.drawImage(str(image), 72, 500, 400, 240)
        pdf.drawCentredString(300, 30, "- 1 -")  # a page number stamped as text

    scanned = write_pdf_pages(tmp_path / "scan.pdf", scan)
    blank = write_pdf_pages(tmp_path / "blank.pdf", lambda c: c.rect(72, 72, 100, 100))
    for path in (scanned, blank):
        with pytest.raises(DocumentError, match="no text layer") as info:
            DocumentLoader().load(path)
        assert str(path) in str(info.value) and "OCR" in str(info.value)


def test_encrypted_pdfs(tmp_path):
    from reportlab.lib.pdfencrypt import StandardEncryption
    from reportlab.pdfgen import canvas

    def write(name: str, encrypt: StandardEncryption) -> Path:
        pdf = canvas.Canvas(str(tmp_path / name), encrypt=encrypt)
        pdf.drawString(72, 720, "Only the owner may print this page about Kaesong.")
        pdf.showPage()
        pdf.save()
        return tmp_path / name

    locked = write("locked.pdf", StandardEncryption("secret", canPrint=0))
    with pytest.raises(DocumentError, match="encrypted and needs a password") as info:
        DocumentLoader().load(locked)
    assert str(locked) in str(info.value)
    # Restricted by an owner password only: anyone may read it, and so may we.
    readable = write("restricted.pdf", StandardEncryption("", ownerPassword="owner", canPrint=0))
    assert "Kaesong" in DocumentLoader().load(readable).text


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"hello, this is not a PDF", "not a PDF file"),
        (b"%PDF-1.7\n1 0 obj <</Type /Catalog>>\ngarbage\n%%EOF", "not a readable PDF"),
        (None, "not a readable PDF|no text layer"),  # a real PDF cut in half
    ],
)
def test_damaged_pdfs_are_refused_naming_the_file(tmp_path, files, content, message):
    path = tmp_path / "damaged.pdf"
    data = files["en_pdf"].read_bytes()
    path.write_bytes(content if content is not None else data[: len(data) // 3])
    with pytest.raises(DocumentError, match=message) as info:
        DocumentLoader().load(path)
    assert str(path) in str(info.value)


@pytest.mark.browser
def test_a_pdf_printed_by_chromium_reads_back_as_its_text(browser, tmp_path):
    """Chromium embeds subset CJK fonts whose glyphs map to Kangxi radicals (⼋ for 八): a real case."""
    paragraphs = [f"第{n}段：{ZH_TEST}{ZH_MISSILE}{ZH_SUMMIT}" for n in range(1, 9)]
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    page = browser.new_page()
    page.set_content(
        "<html><head><meta charset='utf-8'><style>body { font-family: 'Noto Serif CJK TC', serif; "
        "font-size: 12pt } p { text-indent: 2em; margin: 0 0 6pt }</style></head><body>"
        f"<h1>第八章朝鮮半島之安全情勢發展</h1><h2>壹、前言</h2>{body}<h2>貳、外交發展</h2><p>{ZH_SANCTIONS}</p></body></html>"
    )
    path = tmp_path / "printed.pdf"
    page.pdf(
        path=str(path),
        format="A4",
        outline=True,
        display_header_footer=True,
        header_template="<span></span>",
        footer_template="<span class='pageNumber' style='font-size: 8px'></span>",
        margin={"top": "60px", "bottom": "60px", "left": "50px", "right": "50px"},
    )
    page.close()
    doc = DocumentLoader().load(path)
    check_offsets(doc)
    assert doc.title == "第八章朝鮮半島之安全情勢發展"
    assert [b.text for b in doc.blocks if b.kind is BlockKind.PARAGRAPH] == [*paragraphs, ZH_SANCTIONS]
    assert [(text, level) for text, level, _ in headings(doc)] == [("壹、前言", 1), ("貳、外交發展", 1)]
    assert len({page for _, page in doc.pages}) >= 2
    assert block(doc, ZH_SANCTIONS[:20]).section == ("貳、外交發展",)


# -- Word ------------------------------------------------------------------------------------------
def test_docx_headings_come_from_heading_styles(docs):
    doc = docs["docx"]
    check_offsets(doc)
    assert doc.title == "兩韓關係報告" and doc.blocks[0].kind is BlockKind.TITLE
    assert headings(doc) == [
        ("壹、高峰會", 1, None),
        ("一、板門店宣言", 2, None),
        ("二、平壤宣言", 2, None),
        ("三、離散家屬", 2, None),  # a style named 標題 2
        ("Part Two: Military Agreement", 1, None),
        ("Guard posts", 3, None),  # a custom style based on Heading 3
    ]
    assert block(doc, "板門店和平之家").text == DOCX_PANMUNJOM
    assert block(doc, "板門店和平之家").section == ("壹、高峰會", "一、板門店宣言")
    assert block(doc, "平壤共同宣言").text == DOCX_PYONGYANG  # a line break inside: joined, no space
    assert block(doc, "no-fly zone").section == ("Part Two: Military Agreement",)
    assert block(doc, "監視哨").text == "監視哨 Guard posts | 11"
    assert block(doc, "監視哨").section == ("Part Two: Military Agreement", "Guard posts")
    assert block(doc, "金剛山").section == ("壹、高峰會", "三、離散家屬")
    assert doc.pages == () and doc.page_at(0) is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 an old binary .doc", "not a Word .docx file"),
        (None, "not a readable Word .docx file"),  # a ZIP without a Word document in it
    ],
)
def test_damaged_docx_is_refused_naming_the_file(tmp_path, content, message):
    path = tmp_path / "damaged.docx"
    if content is None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as package:
            package.writestr("hello.txt", "not a Word document")
        content = buffer.getvalue()
    path.write_bytes(content)
    with pytest.raises(DocumentError, match=message) as info:
        DocumentLoader().load(path)
    assert str(path) in str(info.value)


def test_a_docx_that_unpacks_to_far_more_than_its_size_is_refused(tmp_path, files):
    path = tmp_path / "bomb.docx"
    with zipfile.ZipFile(files["docx"]) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bomb:
        for item in source.infolist():
            bomb.writestr(item, source.read(item.filename))
        bomb.writestr("word/media/padding.bin", b"\0" * 60_000_000)
    with pytest.raises(DocumentError, match="unpacks to"):
        DocumentLoader().load(path)


# -- HTML ------------------------------------------------------------------------------------------
def test_html_keeps_headings_and_text_and_drops_scripts_and_boilerplate(docs):
    doc = docs["html"]
    check_offsets(doc)
    assert doc.title == "北韓飛彈筆記 | 範例網站"
    assert doc.blocks[0].kind is BlockKind.TITLE and doc.blocks[0].text == "北韓飛彈筆記"
    assert headings(doc) == [
        ("一、短程飛彈", 2, None),
        ("（一）技術特徵", 3, None),
        ("二、Long-range missiles", 2, None),
    ]
    assert block(doc, "元山").text == HTML_WONSAN  # a line break between CJK characters: no space
    assert block(doc, "元山").section == ("一、短程飛彈",)
    assert block(doc, "伊斯坎德爾").text == "分析人士 & 專家認為它的外型類似俄製伊斯坎德爾飛彈 <9K720>，採用固態燃料。"
    assert block(doc, "伊斯坎德爾").section == ("一、短程飛彈", "（一）技術特徵")
    assert block(doc, "Hwasong-17").text == "The Hwasong-17 was first launched on 24 March 2022, according to “KCNA”."
    assert block(doc, "試射次數").text == "年份 | 試射次數"
    assert "MARKER" not in doc.text and "SCRIPT_RAN" not in doc.text and "首頁" not in doc.text
    assert "©" not in doc.text and "color: red" not in doc.text


def test_html_in_another_encoding_is_decoded_by_its_meta_charset(tmp_path):
    path = tmp_path / "big5.htm"
    page = (
        '<html><head><meta charset="big5"><title>兩韓鐵路</title></head>'
        "<body><p>京義線鐵路連結南北韓。</p></body></html>"
    )
    path.write_bytes(page.encode("big5"))
    doc = DocumentLoader().load(path)
    assert doc.title == "兩韓鐵路" and "京義線鐵路連結南北韓。" in doc.text


def test_html_with_nothing_but_scripts_is_empty(tmp_path):
    path = tmp_path / "app.html"
    path.write_text("<html><head><script>render()</script></head><body><nav>Home</nav></body></html>", "utf-8")
    with pytest.raises(DocumentError, match="empty"):
        DocumentLoader().load(path)


# -- Markdown and the loader -----------------------------------------------------------------------
def test_markdown_through_the_loader(docs):
    doc = docs["md"]
    check_offsets(doc)
    assert doc.title == "制裁筆記"
    assert block(doc, "五十萬桶").section == ("一、石油制裁",) and block(doc, "五十萬桶").page is None
    assert block(doc, "ship-to-ship").section == ("二、Shipping",)


def test_content_hash_is_of_the_file_bytes(files, docs):
    import hashlib

    for name, path in files.items():
        assert docs[name].content_hash == hashlib.sha256(path.read_bytes()).hexdigest()


def test_unsupported_and_oversized_files_are_refused(tmp_path, files):
    sheet = tmp_path / "table.xlsx"
    sheet.write_bytes(b"PK\x03\x04")
    with pytest.raises(DocumentError, match=r"unsupported file type '\.xlsx'.*\.pdf, \.docx"):
        DocumentLoader().load(sheet)
    with pytest.raises(DocumentError, match="larger than the limit"):
        DocumentLoader(max_bytes=1000).load(files["zh_pdf"])


# -- pages through the index to citations, with a test double for the embedder ---------------------
@pytest.fixture(scope="module")
def fake_assistant(files, tmp_path_factory):  # type: ignore[no-untyped-def]
    from tests.conftest import FakeHashEmbedder

    cache = tmp_path_factory.mktemp("fake-cache")
    paths = [files[n] for n in ("zh_pdf", "en_pdf", "docx", "html", "md")]
    settings = Settings(cache_dir=cache, progress=False)
    first = Assistant.from_paths(paths, settings, embedders=[FakeHashEmbedder()])
    again = Assistant.from_paths(paths, settings, embedders=[FakeHashEmbedder()])
    assert first.index_built and not again.index_built
    assert [(p.id, p.page, p.page_end) for p in again.index.passages] == [
        (p.id, p.page, p.page_end) for p in first.index.passages
    ]
    return again


def test_citations_from_the_saved_index_keep_their_pages(fake_assistant):
    pdf = [c for c in fake_assistant.passages if c.doc_id == "chinese"]
    assert pdf and all(c.page in (1, 2, 3) for c in pdf)
    assert {c.page for c in fake_assistant.passages if c.doc_id in ("report", "missiles", "sanctions")} == {None}
    summit = next(c for c in pdf if "新加坡" in c.text)
    assert summit.page == 3 and summit.page_label == "p. 3"
    assert summit.location == "貳、外交發展 · p. 3"
    assert summit.to_dict()["page"] == 3
    over = next(c for c in pdf if c.page != c.page_end)
    assert over.page_label == f"pp. {over.page}–{over.page_end}"


def test_a_pdf_citation_opens_on_its_page_with_the_passage_highlighted(fake_assistant, docs):
    doc = docs["zh_pdf"]
    cited = next(c for c in fake_assistant.passages if c.doc_id == "chinese" and "火星十五型" in c.text)
    context = fake_assistant.context(cited.id, chars=20)
    start, end = doc.page_span(cited.page, cited.page_end)
    assert context.page_before + cited.text + context.page_after == doc.text[start:end]
    assert ZH_SUMMIT not in context.page_after and ZH_TEST not in context.page_before
    assert context.page_after == "" or not context.page_after.endswith("\n")  # ends with the page's text
    assert len(context.before) == 20  # the character window is still there
    html = render.context_html(context)
    assert '<span class="pqa-page">p. 2</span>' in html and "二、飛彈試射" in html
    assert f'<mark class="pqa-passage">{render.html_text(cited.text)}</mark>' in html
    assert render.html_text(context.page_after) in html
    assert render.source_title(1, cited).endswith(f"二、飛彈試射 · p&#46; 2 · {cited.id}")  # Markdown-escaped


def test_a_citation_without_pages_shows_no_page(fake_assistant):
    cited = next(c for c in fake_assistant.passages if c.doc_id == "report")
    context = fake_assistant.context(cited.id)
    assert cited.page_label == "" and context.page_before == context.page_after == ""
    assert "pqa-page" not in render.context_html(context)
    assert "p. " not in render.source_title(1, cited)


# -- questions with the real models ----------------------------------------------------------------
@pytest.fixture(scope="module")
def real_assistant_over_files(files, tmp_path_factory):  # type: ignore[no-untyped-def]
    paths = [files[n] for n in ("zh_pdf", "en_pdf", "docx", "html", "md")]
    return Assistant.from_paths(paths, Settings(cache_dir=tmp_path_factory.mktemp("real-cache"), progress=False))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("question", "doc_id", "section", "page", "needle"),
    [
        ("火星十五型洲際彈道飛彈是哪一天試射的？", "chinese", ("壹、核武發展", "二、飛彈試射"), 2, "十一月二十九日"),
        ("When did Trump and Kim Jong Un hold their summit in Singapore?", "chinese", ("貳、外交發展",), 3, "新加坡"),
        (
            "When were American scientists first shown the uranium enrichment plant?",
            "english",
            ("Nuclear Programme", "Enrichment"),
            1,
            "2010",
        ),
        (
            "When did inspectors of the International Atomic Energy Agency leave North Korea?",
            "english",
            ("Nuclear Programme", "Enrichment"),
            1,
            "April 2009",
        ),
        (
            "Which resolution banned exports of industrial machinery to North Korea?",
            "english",
            ("Diplomacy", "Sanctions"),
            3,
            "2397",
        ),
        # Chinese questions about the English PDF (CC-CEDICT carries their terms over)
        ("國際原子能總署的視察人員何時離開北韓？", "english", ("Nuclear Programme", "Enrichment"), 1, "April 2009"),
        ("哪一項決議禁止向北韓出口工業機械與車輛？", "english", ("Diplomacy", "Sanctions"), 3, "2397"),
        ("《板門店宣言》是在哪一天簽署的？", "report", ("壹、高峰會", "一、板門店宣言"), None, "板門店和平之家"),
        (
            "What did the Comprehensive Military Agreement create?",
            "report",
            ("Part Two: Military Agreement",),
            None,
            "no-fly zone",
        ),
        ("北韓在元山附近試射了什麼飛彈？", "missiles", ("一、短程飛彈",), None, "元山"),
        ("When was the Hwasong-17 first launched?", "missiles", ("二、Long-range missiles",), None, "24 March 2022"),
        ("精煉石油的進口上限是多少？", "sanctions", ("一、石油制裁",), None, "五十萬桶"),
        ("How does North Korea evade sanctions at sea?", "sanctions", ("二、Shipping",), None, "ship-to-ship"),
    ],
)
def test_questions_find_the_right_passage_page_and_section(
    real_assistant_over_files, question, doc_id, section, page, needle
):
    answer = real_assistant_over_files.ask(question, k=5)
    top = answer.citations[0]
    assert (top.doc_id, top.section, top.page) == (doc_id, section, page), [
        (c.doc_id, c.section, c.page, c.text[:40]) for c in answer.citations
    ]
    assert needle in top.text
    assert not answer.abstained
