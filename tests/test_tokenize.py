"""Lexical tokens: script- and width-insensitive Chinese unigrams and bigrams, stemmed English."""

from __future__ import annotations

from index.tokenize import normalize_for_search, tokenize


def test_simplified_and_traditional_give_the_same_tokens() -> None:
    assert tokenize("朝鲜无核化") == tokenize("朝鮮無核化")
    assert tokenize("朝鮮無核化") == ["朝", "鮮", "無", "核", "化", "朝鮮", "鮮無", "無核", "核化"]


def test_unigrams_and_bigrams() -> None:
    tokens = tokenize("川金會")
    assert tokens == ["川", "金", "會", "川金", "金會"]
    assert "川金會" not in tokens


def test_english_words_lower_cased_stopwords_dropped_plurals_stemmed() -> None:
    tokens = tokenize("The Missiles of North Korea and the missile")
    assert tokens == ["missile", "north", "korea", "missile"]
    for stop in ("the", "of", "and"):
        assert stop not in tokens
    assert "Missiles" not in tokens and "missiles" not in tokens


def test_light_stemming_rules() -> None:
    assert tokenize("policies") == ["policy"]
    assert tokenize("class") == ["class"]
    assert tokenize("is") == []


def test_full_width_digits_are_normalised() -> None:
    tokens = tokenize("２０１８年")
    assert tokens == ["2018", "年"]
    assert "２０１８" not in tokens
    assert tokenize("２０１８") == tokenize("2018") == ["2018"]


def test_full_width_latin_letters_are_normalised() -> None:
    assert tokenize("ＣＢＳ") == ["cbs"]


def test_numbers_break_chinese_runs() -> None:
    tokens = tokenize("北韓2018年")
    assert tokens == ["北", "韓", "北韓", "2018", "年"]
    assert "韓年" not in tokens


def test_punctuation_breaks_bigram_runs() -> None:
    tokens = tokenize("北韓，美國")
    assert tokens == ["北", "韓", "北韓", "美", "國", "美國"]
    assert "韓美" not in tokens
    for text in ("北韓。美國", "北韓「美國」", "北韓、美國", "北韓(美國)"):
        assert "韓美" not in tokenize(text), text


def test_mixed_chinese_and_english() -> None:
    assert tokenize("川金會 in Singapore") == ["川", "金", "會", "川金", "金會", "singapore"]


def test_empty_and_punctuation_only() -> None:
    assert tokenize("") == []
    assert tokenize("，。！？") == []


def test_normalize_for_search() -> None:
    assert normalize_for_search("朝鲜ＡＢＣ２０１８") == "朝鮮abc2018"


def test_token_set_is_tokenize_remembered():
    from index.tokenize import token_set

    text = "2018年6月12日，川金會在新加坡舉行 in Singapore。"
    assert token_set(text) == frozenset(tokenize(text))
    assert token_set(text) is token_set(text)  # the second read is the remembered set
