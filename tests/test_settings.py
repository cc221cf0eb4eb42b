"""Settings grouped by stage and checked when made, alone and against the embedders they load."""

import pytest
from conftest import FakeHashEmbedder

from qa import Assistant
from qa.config import (
    Fusion,
    IndexSettings,
    RankingSettings,
    RefusalSettings,
    Settings,
    SpecificCheck,
)
from qa.errors import SettingsError


def test_modes_are_enums_and_strings_are_read_as_them():
    assert RankingSettings(fusion="rrf").fusion is Fusion.RRF
    assert RefusalSettings(specific_checks=("dates",)).specific_checks == (SpecificCheck.DATES,)
    assert Settings(cache_dir=None).ranking.fusion is Fusion.SCORE


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: RankingSettings(fusion="max"), "fusion must be one of"),
        (lambda: RankingSettings(candidates=0), "candidates"),
        (lambda: RankingSettings(history_weight=-1), "history_weight"),
        (lambda: RankingSettings(weights={"en": {"bm25": -1}}), "non-negative"),
        (lambda: RankingSettings(weights={"fr": {"bm25": 1}}), "unknown language"),
        (lambda: RefusalSettings(specific_checks=("dates", "weather")), "specific_checks"),
        (lambda: IndexSettings(chunk_size=10), "chunk_size"),
        (lambda: IndexSettings(chunk_size=100, chunk_overlap=100), "chunk_overlap"),
        (lambda: IndexSettings(header="body"), "header"),
        (lambda: IndexSettings(embedders=("e5", "e5")), "repeat"),
        (lambda: Settings(ranking="rrf"), "RankingSettings"),
    ],
)
def test_bad_values_are_settings_errors_that_say_what_to_do(make, message):
    with pytest.raises(SettingsError, match=message):
        make()


def test_weights_floors_and_sentence_embedders_must_name_loaded_retrievers():
    e5_only = IndexSettings(embedders=("e5",))
    with pytest.raises(SettingsError, match="not among the embedders"):
        IndexSettings(embedders=("e5",), sentence_embedders=("use",))
    with pytest.raises(SettingsError, match=r"use:sentences.*not loaded"):
        Settings(index=e5_only, ranking=RankingSettings(weights={"en": {"e5": 1, "use:sentences": 1}}))
    with pytest.raises(SettingsError, match=r"floor 'use'.*not loaded"):
        Settings(index=e5_only, refusal=RefusalSettings(floors={"use": 0.2}))
    settings = Settings(index=e5_only)  # the defaults keep to what is loaded
    assert settings.floors() == {} and settings.index.sentence_specs == ("e5",)
    assert all("use" not in key for table in settings.fusion_weights().values() for key in table)
    assert Settings().floors() == {"use": 0.2} and Settings().index.sentence_specs == ("e5", "use")


def test_given_embedders_are_checked_against_weights_and_floors(chapter):
    embedder = FakeHashEmbedder()
    settings = Settings(
        cache_dir=None,
        progress=False,
        index=IndexSettings(embedders=("e5",)),
        refusal=RefusalSettings(floors={"e5": 0.5}),
    )
    with pytest.raises(SettingsError, match="floors name embedders that are not loaded"):
        Assistant([chapter], settings, embedders=[embedder])
