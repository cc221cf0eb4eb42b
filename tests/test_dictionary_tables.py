"""Tables derived from the dictionary are kept in the cache and read back as derived."""

from __future__ import annotations

import logging

import pytest

from index import dictionary_tables
from index.dictionary_tables import derived_table, keep_tables_in


@pytest.fixture
def tables_in(tmp_path, request):
    request.addfinalizer(lambda: keep_tables_in(None))
    keep_tables_in(tmp_path)
    return tmp_path


def _counting_table(rules: str = "rules-1"):
    calls = []

    @derived_table("sample", rules)
    def sample() -> dict[str, list[str]]:
        """A table derived by counting calls (stands in for a dictionary scan)."""
        calls.append(1)
        return {"普丁": ["vladimir", "putin"], "文在寅": ["moon", "jaein"]}

    return sample, calls


def test_a_kept_table_is_read_back_instead_of_derived_again(tables_in):
    first, first_calls = _counting_table()
    again, again_calls = _counting_table()  # a new process: nothing in memory
    assert first() == again() == {"普丁": ["vladimir", "putin"], "文在寅": ["moon", "jaein"]}
    assert (len(first_calls), len(again_calls)) == (1, 0)
    assert len(list(tables_in.glob("sample-*.json"))) == 1


def test_new_rules_derive_the_table_again(tables_in):
    _counting_table("rules-1")[0]()
    table, calls = _counting_table("rules-2")
    table()
    assert len(calls) == 1 and len(list(tables_in.glob("sample-*.json"))) == 2


def test_a_damaged_table_is_derived_again(tables_in, caplog):
    _counting_table()[0]()
    [kept] = tables_in.glob("sample-*.json")
    kept.write_bytes(b'{"cut short')
    table, calls = _counting_table()
    with caplog.at_level(logging.WARNING, logger=dictionary_tables.__name__):
        assert table()["普丁"] == ["vladimir", "putin"]
    assert len(calls) == 1 and "deriving it again" in caplog.text


def test_a_cache_that_cannot_be_written_costs_only_the_time(tmp_path, request, caplog):
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    request.addfinalizer(lambda: keep_tables_in(None))
    keep_tables_in(blocked / "dictionary")
    table, _ = _counting_table()
    with caplog.at_level(logging.WARNING, logger=dictionary_tables.__name__):
        assert table()["文在寅"] == ["moon", "jaein"]
    assert "could not be kept" in caplog.text


def test_the_kept_people_are_the_dictionary_s(tmp_path, request):
    from index import lexicon

    derived = lexicon._cedict_people.__wrapped__()  # straight from the dictionary file
    request.addfinalizer(lambda: keep_tables_in(None))
    keep_tables_in(tmp_path)
    lexicon._cedict_people.cache_clear()
    request.addfinalizer(lexicon._cedict_people.cache_clear)
    lexicon._cedict_people()  # derives and keeps
    lexicon._cedict_people.cache_clear()
    assert lexicon._cedict_people() == derived  # read back from the kept file
    assert list(tmp_path.glob("cedict-people-*.json"))


def test_a_table_read_back_is_frozen_out_of_the_collector(tables_in):
    import gc
    import subprocess
    import sys

    derived, _ = _counting_table()
    derived()  # keeps it
    script = f"""
import gc
from pathlib import Path
from index.dictionary_tables import derived_table, keep_tables_in
keep_tables_in(Path({str(tables_in)!r}))
table = derived_table("sample", "rules-1")(lambda: {{}})()
tracked = {{id(o) for o in gc.get_objects()}}
print(table == {{"普丁": ["vladimir", "putin"], "文在寅": ["moon", "jaein"]}}, id(table) in tracked,
      any(id(v) in tracked for v in table.values()), gc.get_freeze_count() > 0)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["True", "False", "False", "True"]
    assert gc.isenabled()
