"""Tokens for the lexical (BM25) index: Chinese characters and bigrams, English words, numbers.

Both documents and questions are converted to Traditional characters (OpenCC) and NFKC-normalised
first, so a question in Simplified characters or with full-width digits meets the same tokens.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata

from corpus.characters import HAN
from corpus.script import to_traditional

TOKENIZER_VERSION = "cjk-bigram-v1"
"""Changes whenever :func:`tokenize` would yield other tokens for some text (part of the index key)."""

_ATOM = re.compile(f"[a-z]+|[0-9]+|[{HAN}]|\\S")
ENGLISH_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "how",
        "i",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "to",
        "was",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "whom",
        "whose",
        "why",
        "will",
        "with",
        "would",
        "about",
        "after",
        "before",
        "between",
        "during",
        "than",
        "over",
        "under",
        "up",
        "down",
        "out",
        "so",
        "such",
        "not",
        "no",
        "only",
        "own",
        "same",
        "too",
        "very",
        "s",
        "t",
        "just",
        "should",
        "now",
        "any",
        "both",
        "each",
        "few",
        "more",
        "most",
        "other",
        "some",
        "all",
    ]
)


def normalize_for_search(text: str) -> str:
    """NFKC, lower case, Traditional characters: the form both sides of a lexical match share."""
    return to_traditional(unicodedata.normalize("NFKC", text)).lower()


def _stem(word: str) -> str:
    """A light plural stem so that ``missiles`` meets ``missile``."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


@functools.lru_cache(maxsize=1024)
def token_set(text: str) -> frozenset[str]:
    """The distinct :func:`tokenize` tokens of a passage or sentence, remembered for the last 1,024
    texts: every question reads its best passages' tokens again (about 3 ms a question)."""
    return frozenset(tokenize(text))


def tokenize(text: str) -> list[str]:
    """Unigrams and adjacent bigrams of Chinese characters; stemmed English words; numbers.

    >>> tokenize("川金會 in Singapore")
    ['川', '金', '會', '川金', '金會', 'singapore']
    """
    tokens: list[str] = []
    run: list[str] = []

    def flush() -> None:
        tokens.extend(run)
        tokens.extend(a + b for a, b in itertools.pairwise(run))
        run.clear()

    for match in _ATOM.finditer(normalize_for_search(text)):
        atom = match.group()
        if len(atom) == 1 and not atom.isalnum():
            flush()  # punctuation ends a run of characters
        elif atom.isascii() and atom.isalpha():
            flush()
            if atom not in ENGLISH_STOPWORDS:
                tokens.append(_stem(atom))
        elif atom.isdigit():
            flush()
            tokens.append(atom)
        else:
            run.append(atom)
    flush()
    return tokens
