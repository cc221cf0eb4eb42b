"""Counts of things as a reader writes them: "1 passage", "2 passages"."""

from __future__ import annotations

IRREGULAR = {"person": "people", "child": "children", "index": "indexes"}


def plural(noun: str) -> str:
    """``passage`` → ``passages``, ``query`` → ``queries``, ``match`` → ``matches``."""
    if noun in IRREGULAR:
        return IRREGULAR[noun]
    if noun.endswith("y") and noun[-2:-1] not in tuple("aeiou"):
        return noun[:-1] + "ies"
    if noun.endswith(("s", "x", "z", "ch", "sh")):
        return noun + "es"
    return noun + "s"


def counted(n: int, noun: str) -> str:
    """``n`` and ``noun``, singular for exactly one: ``"1 passage"``, ``"0 passages"``, ``"2 queries"``."""
    return f"{n} {noun if n == 1 else plural(noun)}"
