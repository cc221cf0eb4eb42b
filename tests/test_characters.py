"""One definition of each character class (corpus.characters), as every reader of text uses it."""

import re

from corpus.characters import CJK_TEXT, HAN, HAN_CHARACTER, HAN_RUN
from corpus.parsing import drop_cjk_gaps
from index.tokenize import tokenize
from qa.language import detect_language


def test_chinese_characters_include_the_extensions_and_compatibility_blocks():
    for ch in ("中", "\u3400", "\uf900", "\U00020000", "\U0002a6d6", "\U0002fa1d"):
        assert HAN_CHARACTER.fullmatch(ch), hex(ord(ch))
    for ch in ("a", "1", "。", "ア", "한", "\uff01"):
        assert not HAN_CHARACTER.fullmatch(ch), hex(ord(ch))
    assert HAN_RUN.findall("川普與𠀋金正恩") == ["川普與𠀋金正恩"]


def test_cjk_text_is_wider_than_chinese_characters():
    assert re.fullmatch(f"[{CJK_TEXT}]+", "。「ア」！中𠀋")
    assert not re.fullmatch(f"[{HAN}]+", "。「ア」！")


def test_every_reader_takes_an_extension_b_character_for_chinese():
    rare = "𠀋"  # U+2000B
    assert rare in tokenize(f"北韓{rare}飛彈")
    assert detect_language(f"{rare}{rare}{rare} is it") == "zh-Hant"
    assert drop_cjk_gaps(f"北 {rare} 韓") == f"北{rare}韓"
