"""Character classes, one definition each (bodies for a regular expression's ``[...]``)."""

from __future__ import annotations

import re

HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
"""Chinese characters: CJK Unified Ideographs with extension A, the compatibility ideographs, and
extensions B–F with the compatibility supplement (U+20000–U+2FA1F)."""
CJK_TEXT = "\u3000-\u9fff\uf900-\uffef\U00020000-\U0002fa1f"
"""Text written without spaces between words: CJK punctuation, kana, bopomofo, the ideographs (see
:data:`HAN`), and the compatibility, small and full-width forms (no space is kept between two of
them when lines are joined)."""

HAN_CHARACTER = re.compile(f"[{HAN}]")
HAN_RUN = re.compile(f"[{HAN}]+")
