"""Line breaks for the terminal that keep names in Latin letters whole ("Korea JoongAng Daily") where
they fit, in text that mixes them with Chinese: rich's wrapping otherwise, word by word, a run too long
for a line folded between Chinese characters rather than inside a Latin word."""

from __future__ import annotations

import re

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.containers import Lines
from rich.measure import Measurement
from rich.text import Text

_WORD = r"[A-Z][A-Za-z0-9.&'’-]*"
NAME = re.compile(rf"(?<![A-Za-z]){_WORD}(?: (?:(?:of|the|and|for|on|in|de) )*{_WORD})+")
"""A name in Latin letters: capitalised words, perhaps joined by "of", "the" … ("Korea JoongAng Daily",
"U.S. Department of Defense")."""
NAME_CHARS = 40
"""Longer runs of capitalised words (a headline) may wrap as any text does."""
JOINER = "\ue000"
"""Stands for a space inside a name while lines are broken: one cell wide, not white space (a
private-use character; text that holds one is wrapped as it is)."""
_WORDS = re.compile(r"\s*\S+\s*")
"""A word and the white space after it, as rich splits a line."""


def _breakable(word: str, i: int) -> bool:
    """Whether ``word`` may fold before position ``i``: next to a wide (Chinese) character."""
    return cell_len(word[i - 1]) > 1 or cell_len(word[i]) > 1


def fold_points(word: str, width: int) -> list[int]:
    """Where to fold a word longer than ``width`` cells: each piece as long as fits, ending next to a
    wide character; a Latin run longer than a whole line is cut where the line ends."""
    points: list[int] = []
    start = 0
    while len(word) - start > 1 and cell_len(word[start:]) > width:
        end, used = start, 0
        while end < len(word) and used + cell_len(word[end]) <= width:
            used += cell_len(word[end])
            end += 1
        cut = end
        while cut > start and not _breakable(word, cut):
            cut -= 1
        cut = cut if cut > start else max(end, start + 1)
        points.append(cut)
        start = cut
    return points


def line_breaks(text: str, width: int) -> list[int]:
    """Offsets at which to break one line of ``text`` so that each part fits ``width`` cells: rich's
    rule (a word that does not fit goes to the next line), with :func:`fold_points` for a word longer
    than a line."""
    breaks: list[int] = []
    used = 0
    for match in _WORDS.finditer(text):
        start, word = match.start(), match[0]
        size = cell_len(word.rstrip())
        if used + size <= width:
            used += cell_len(word)
        elif size > width:
            if start and used:
                breaks.append(start)
            points = fold_points(word.rstrip(), width)
            breaks += [start + p for p in points]
            used = cell_len(word[points[-1] :]) if points else cell_len(word)
        elif start and used:
            breaks.append(start)
            used = cell_len(word)
    return breaks


class UnbrokenNames:
    """Rich text that wraps as :func:`line_breaks` says, never between the words of a :data:`NAME`."""

    def __init__(self, text: str | Text) -> None:
        self.text = Text(text) if isinstance(text, str) else text

    def joined(self) -> Text:
        """The text with the spaces of each name replaced by :data:`JOINER` (the styles kept)."""
        text = self.text.copy()
        text.expand_tabs()
        if JOINER not in text.plain:
            text.plain = NAME.sub(lambda m: m[0].replace(" ", JOINER) if len(m[0]) <= NAME_CHARS else m[0], text.plain)
        return text

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        lines = Lines()
        for line in self.joined().split("\n", allow_blank=True):
            for part in line.divide(line_breaks(line.plain, width)):
                part.rstrip_end(width)
                lines.append(part)
        shown = Text("\n").join(lines)
        shown.plain = shown.plain.replace(JOINER, " ")
        yield from shown.render(console, end="\n")

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.text)
