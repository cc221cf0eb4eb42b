"""The reader's script: an answer to a question written in Simplified characters is shown in
Simplified characters (with mainland phrasing), while its citations keep the document's own text,
offsets and ids."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from enum import Enum

from corpus.script import to_simplified_mainland
from qa.model import Answer


class Script(Enum):
    """The script an answer's texts are shown in."""

    DOCUMENT = ""
    """As the documents write them."""
    SIMPLIFIED = "zh-Hans"


def reader_script(language: str) -> Script:
    """The script a question's reader reads: Simplified for a question written in it, else the documents'."""
    return Script.SIMPLIFIED if language == "zh-Hans" else Script.DOCUMENT


def converter(script: str) -> Callable[[str], str]:
    """What turns document text into ``script`` (an :attr:`Answer.script`): unchanged for the documents' own."""
    return to_simplified_mainland if script == Script.SIMPLIFIED.value else str


class ReaderScript:
    """Fill an answer's display fields (``script``, ``shown_text``, ``shown_passages``, ``short``) in
    the script its question was written in; the citations and quotes stay the document's."""

    def __init__(self, convert: Callable[[str], str] = to_simplified_mainland) -> None:
        """``convert`` turns document text into Simplified characters (OpenCC ``tw2sp`` by default)."""
        if not callable(convert):
            raise TypeError("convert must turn a text into Simplified characters")
        self.convert = convert

    def run(self, answer: Answer) -> Answer:
        """``answer`` as a reader of its question's script is shown it; unchanged for a reader of
        the documents' script."""
        if reader_script(answer.language) is Script.DOCUMENT:
            return answer
        return replace(
            answer,
            script=Script.SIMPLIFIED.value,
            shown_text=self.convert(answer.text),
            shown_passages=tuple(self.convert(c.text) for c in answer.citations),
            short=None if answer.short is None else self.convert(answer.short),
        )
