"""Faults in the on-disk cache: damaged, missing or planted files, a read-only or full disk, two
builders at once, a process killed while saving. The index is rebuilt or kept in memory, never
served half-written, and nothing in the cache is unpickled.

FakeHashEmbedder (tests/conftest.py) stands in for the models: they are beside the point here.
"""

from __future__ import annotations

import builtins
import errno
import io
import json
import logging
import os
import pickle
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, FakeHashEmbedder

from index import stages
from index.chunking import ChunkSplitter
from index.embedding_cache import EmbeddingCache
from index.errors import IndexBuildError
from index.store import IndexBuilder, PassageIndex, load_or_build

QUERIES = ("川金會在哪一天舉行？", "平壤共同宣言", "駐韓美軍人數")
BM25_FILES = (
    "data.csc.index.npy",
    "indices.csc.index.npy",
    "indptr.csc.index.npy",
    "params.index.json",
    "vocab.index.json",
)
INDEX_FILES = (
    "manifest.json",
    "dense-0.faiss",
    "sentence-dense-0.faiss",
    "lexicon.json",
    "sentences.json",
    *(f"{folder}/{name}" for folder in ("bm25", "bm25-sentences") for name in BM25_FILES),
)
"""Every file a saved index holds (checked against what save() writes below)."""


def make_builder(embedder, cache: Path) -> IndexBuilder:
    return IndexBuilder(
        ChunkSplitter(240, 40),
        [embedder],
        embedding_cache=EmbeddingCache(cache / "embeddings"),
        sentence_embedders=[embedder.name],
    )


def results(index, embedder) -> dict:
    """What retrieval reads from an index, for QUERIES, as JSON (so other processes can report it)."""
    out: dict = {"passages": [p.id for p in index.passages]}
    for query in QUERIES:
        vector = embedder.embed_queries([query])[0]
        out[query] = [
            index.search_dense(embedder.name, vector, 5),
            index.search_sentences(embedder.name, vector, 5),
            index.search_lexical(query, 5),
            index.search_lexical_sentences(query, 5),
        ]
    return json.loads(json.dumps(out))


@dataclass
class SavedIndex:
    """An index built and saved into ``root``, and what retrieval reads from it."""

    builder: IndexBuilder
    embedder: FakeHashEmbedder
    documents: list
    root: Path
    expected: dict

    @property
    def key(self) -> str:
        return self.builder.key(self.documents)

    @property
    def directory(self) -> Path:
        return self.root / self.key

    def load_or_build(self, **kwargs):
        return load_or_build(self.documents, self.builder, self.root, **kwargs)

    def assert_rebuilt_and_clean(self) -> None:
        """The damaged index is refused, rebuilt with the same results, saved whole, and then loads."""
        again, built = self.load_or_build()
        assert built
        assert results(again, self.embedder) == self.expected
        reloaded, built = self.load_or_build()
        assert not built
        assert results(reloaded, self.embedder) == self.expected
        assert {p.name for p in self.root.iterdir()} == {self.key, f".{self.key}.lock"}


@pytest.fixture(scope="module")
def pristine(chapter, tmp_path_factory) -> tuple[Path, dict]:
    """A cache holding the chapter's index (built once), and what retrieval reads from it."""
    cache = tmp_path_factory.mktemp("pristine")
    embedder = FakeHashEmbedder()
    index, built = load_or_build([chapter], make_builder(embedder, cache), cache / "indexes")
    assert built
    return cache, results(index, embedder)


@pytest.fixture
def saved(chapter, pristine, tmp_path) -> SavedIndex:
    """A fresh copy of the pristine cache, to damage."""
    cache, expected = pristine
    shutil.copytree(cache, tmp_path, dirs_exist_ok=True)
    embedder = FakeHashEmbedder()
    return SavedIndex(make_builder(embedder, tmp_path), embedder, [chapter], tmp_path / "indexes", expected)


def padded(data: bytes, size: int) -> bytes:
    """``data`` padded with spaces to ``size`` bytes, so the damage is not caught by its size alone."""
    assert len(data) <= size, "the replacement must fit in the original size"
    return data + b" " * (size - len(data))


# -- damaged and missing files -------------------------------------------------------------


def test_the_cases_cover_every_file_the_index_writes(saved):
    written = {p.relative_to(saved.directory).as_posix() for p in saved.directory.rglob("*") if p.is_file()}
    assert written == set(INDEX_FILES)


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def remove(path: Path) -> None:
    path.unlink()


def same_size_garbage(path: Path) -> None:
    path.write_bytes(np.random.default_rng(0).integers(0, 256, path.stat().st_size, dtype=np.uint8).tobytes())


@pytest.mark.parametrize("damage", [truncate, remove, same_size_garbage])
@pytest.mark.parametrize("name", INDEX_FILES)
def test_a_damaged_or_missing_file_is_refused_and_the_index_rebuilt(saved, name, damage):
    damage(saved.directory / name)
    with pytest.raises(IndexBuildError):
        PassageIndex.load(saved.directory, expected_key=saved.key)
    saved.assert_rebuilt_and_clean()


def _json_edit(name: str, edit):  # type: ignore[no-untyped-def]
    def apply(directory: Path) -> None:
        path = directory / name
        data = json.loads(path.read_text("utf-8"))
        text = json.dumps(edit(data), ensure_ascii=False, separators=(",", ":"))
        path.write_bytes(padded(text.encode(), path.stat().st_size))

    apply.__name__ = name
    return apply


def _npy_edit(name: str, edit):  # type: ignore[no-untyped-def]
    def apply(directory: Path) -> None:
        path = directory / name
        buffer = io.BytesIO()
        np.save(buffer, edit(np.load(path, allow_pickle=False)), allow_pickle=False)
        path.write_bytes(padded(buffer.getvalue(), path.stat().st_size))

    return apply


WELL_FORMED_BUT_WRONG = {
    "manifest is a list": _json_edit("manifest.json", lambda m: []),
    "manifest of another key": _json_edit("manifest.json", lambda m: dict(m, key="0" * len(m["key"]))),
    "manifest of another format": _json_edit("manifest.json", lambda m: dict(m, format=m["format"] - 1)),
    "manifest without its file list": _json_edit("manifest.json", lambda m: dict(m, files={})),
    "manifest missing a passage": _json_edit("manifest.json", lambda m: dict(m, passages=m["passages"][1:])),
    "lexicon is a list": _json_edit("lexicon.json", lambda terms: list(terms)),
    "lexicon terms are not lists": _json_edit("lexicon.json", lambda terms: {k: "停戰" for k in terms}),
    "sentence of no passage": _json_edit("sentences.json", lambda rows: [[10_000, 0, 1], *rows[1:]]),
    "sentences are not triples": _json_edit("sentences.json", lambda rows: [x for row in rows for x in row][:-1]),
    "sentence ends before it starts": _json_edit("sentences.json", lambda rows: [[0, 5, 2], *rows[1:]]),
    "bm25 of fewer texts": _json_edit("bm25/params.index.json", lambda p: dict(p, num_docs=p["num_docs"] - 1)),
    "bm25 vocabulary ids repeat": _json_edit("bm25/vocab.index.json", lambda v: dict.fromkeys(v, 0)),
    "bm25 rows past the passages": _npy_edit("bm25/indices.csc.index.npy", lambda a: a + 10_000),
    "bm25 scores not finite": _npy_edit("bm25-sentences/data.csc.index.npy", lambda a: np.full_like(a, np.nan)),
    "bm25 columns out of order": _npy_edit("bm25/indptr.csc.index.npy", lambda a: a[::-1].copy()),
}


@pytest.mark.parametrize("case", WELL_FORMED_BUT_WRONG)
def test_well_formed_files_that_do_not_fit_are_refused_and_the_index_rebuilt(saved, case):
    WELL_FORMED_BUT_WRONG[case](saved.directory)
    with pytest.raises(IndexBuildError):
        PassageIndex.load(saved.directory, expected_key=saved.key)
    saved.assert_rebuilt_and_clean()


@pytest.mark.parametrize("damage", ["dense-0.faiss", "manifest.json", "bm25/vocab.index.json"])
def test_the_assistant_answers_as_before_after_damage(chapter, tmp_path, damage, caplog):
    from qa import Assistant, Settings
    from qa.config import IndexSettings

    embedder = FakeHashEmbedder()
    index = IndexSettings(embedders=(embedder.name,), sentence_embedders=(embedder.name,))
    settings = Settings(cache_dir=tmp_path, progress=False, index=index)
    first = Assistant([chapter], settings, embedders=[embedder])
    expected = [first.ask(q).to_dict() for q in QUERIES]
    truncate(tmp_path / "indexes" / first.index.key / damage)
    with caplog.at_level(logging.WARNING, logger="index.store"):
        again = Assistant([chapter], settings, embedders=[embedder])
    assert again.index_built
    assert "rebuilding it" in caplog.text and damage.split("/")[-1] in caplog.text
    assert [again.ask(q).to_dict() for q in QUERIES] == expected
    assert not Assistant([chapter], settings, embedders=[embedder]).index_built


# -- a read-only or full disk ---------------------------------------------------------------


class ReadOnlyDisk:
    """Test double for a read-only file system under ``root`` (or, with ``ENOSPC``, one with no
    space left): creating, writing or renaming anything there fails as the kernel would fail it.
    The cache writes through these calls (FAISS writes from C, but only inside a directory it
    made through them)."""

    def __init__(self, monkeypatch, root: Path, code: int = errno.EROFS) -> None:
        self.root = str(root)
        self.code = code
        self.refused: list[str] = []
        real_mkdir, real_open, real_builtin_open = os.mkdir, os.open, builtins.open
        real_rename, real_replace = os.rename, os.replace

        def mkdir(path, *args, **kwargs):  # type: ignore[no-untyped-def]
            if self._inside(path) and not os.path.exists(path):
                self._refuse(path)
            return real_mkdir(path, *args, **kwargs)

        def open_fd(path, flags, *args, **kwargs):  # type: ignore[no-untyped-def]
            if self._inside(path) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
                self._refuse(path)
            return real_open(path, flags, *args, **kwargs)

        def open_file(file, mode="r", *args, **kwargs):  # type: ignore[no-untyped-def]
            if isinstance(file, (str, os.PathLike)) and self._inside(file) and set(mode) & set("wax+"):
                self._refuse(file)
            return real_builtin_open(file, mode, *args, **kwargs)

        def rename(src, dst, *args, **kwargs):  # type: ignore[no-untyped-def]
            if self._inside(dst):
                self._refuse(dst)
            return real_rename(src, dst, *args, **kwargs)

        def replace(src, dst, *args, **kwargs):  # type: ignore[no-untyped-def]
            if self._inside(dst):
                self._refuse(dst)
            return real_replace(src, dst, *args, **kwargs)

        monkeypatch.setattr(os, "mkdir", mkdir)
        monkeypatch.setattr(os, "open", open_fd)
        monkeypatch.setattr(builtins, "open", open_file)
        monkeypatch.setattr(io, "open", open_file)
        monkeypatch.setattr(os, "rename", rename)
        monkeypatch.setattr(os, "replace", replace)

    def _inside(self, path) -> bool:  # type: ignore[no-untyped-def]
        return os.path.abspath(os.fspath(path)).startswith(self.root)

    def _refuse(self, path) -> None:  # type: ignore[no-untyped-def]
        self.refused.append(os.fspath(path))
        raise OSError(self.code, os.strerror(self.code), os.fspath(path))


class FullDiskOnFlush:
    """Test double for a disk that fills up while the cache writes: every file is written, then
    flushing one under ``root`` to disk fails with ``ENOSPC`` (as delayed allocation reports it)."""

    def __init__(self, monkeypatch, root: Path) -> None:
        self.root = str(root)
        self.refused = 0
        real_fsync = os.fsync

        def fsync(fd: int) -> None:
            if os.readlink(f"/proc/self/fd/{fd}").startswith(self.root):
                self.refused += 1
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            real_fsync(fd)

        monkeypatch.setattr(os, "fsync", fsync)


def assert_answers_from_memory_and_leaves_nothing(chapter, cache: Path, caplog) -> None:
    """An assistant over ``cache`` answers like one without a cache, warns, and writes nothing."""
    from qa import Assistant, Settings

    embedder = FakeHashEmbedder()
    expected = Assistant([chapter], Settings(cache_dir=None, progress=False), embedders=[FakeHashEmbedder()])
    with caplog.at_level(logging.WARNING):
        assistant = Assistant([chapter], Settings(cache_dir=cache, progress=False), embedders=[embedder])
    assert assistant.index_built
    for question in QUERIES:
        assert assistant.ask(question).to_dict() == expected.ask(question).to_dict()
    assert "could not be saved" in caplog.text
    if (cache / "indexes").exists():
        assert [p for p in (cache / "indexes").iterdir() if p.is_dir()] == []  # no index, whole or half
    assert [p for p in cache.rglob(".*") if not p.name.endswith(".lock")] == []  # no temporary file
    for path in cache.rglob("embeddings.npy"):  # embeddings that fitted are whole
        records = np.load(path, allow_pickle=False)
        assert len(records) == len(assistant.index.passages)
        assert np.allclose(np.linalg.norm(records["vector"], axis=1), 1.0, atol=1e-3)


@pytest.mark.parametrize("code", [errno.EROFS, errno.EACCES, errno.ENOSPC])
def test_a_cache_that_refuses_writes_costs_only_the_saving(chapter, tmp_path, monkeypatch, caplog, code):
    cache = tmp_path / "cache"
    cache.mkdir()
    disk = ReadOnlyDisk(monkeypatch, cache, code)
    assert_answers_from_memory_and_leaves_nothing(chapter, cache, caplog)
    assert disk.refused  # the double was in the way
    assert list(cache.iterdir()) == []


def test_a_disk_that_fills_while_saving_leaves_no_half_written_index(chapter, tmp_path, monkeypatch, caplog):
    cache = tmp_path / "cache"
    disk = FullDiskOnFlush(monkeypatch, cache)
    assert_answers_from_memory_and_leaves_nothing(chapter, cache, caplog)
    assert disk.refused >= 2  # the embeddings and the index
    assert [p.name for p in (cache / "indexes").iterdir()] == [p.name for p in (cache / "indexes").glob(".*.lock")]
    assert not [p for p in (cache / "embeddings").rglob("*") if p.is_file() and not p.name.endswith(".lock")]


@pytest.fixture
def tmpfs(tmp_path):  # type: ignore[no-untyped-def]
    """Mount a real tmpfs: ``tmpfs(size_kb, read_only=False)`` (root only; skipped where not allowed)."""
    points: list[Path] = []

    def mount(size_kb: int, read_only: bool = False) -> Path:
        point = tmp_path / f"disk{len(points)}"
        point.mkdir()
        options = f"size={size_kb}k,mode=0755" + (",ro" if read_only else "")
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip() or done.returncode}")
        points.append(point)
        return point

    yield mount
    for point in points:
        # lazy: memory-mapped index files may still be open
        subprocess.run(["umount", "--lazy", str(point)], check=False)


def test_a_real_read_only_cache(chapter, tmp_path, tmpfs, caplog):
    if os.geteuid() != 0:
        cache = tmp_path / "read-only"
        cache.mkdir(mode=0o500)
    else:  # root writes through file modes: mount a read-only file system instead
        cache = tmpfs(64, read_only=True)
    with pytest.raises(OSError):
        (cache / "probe").write_text("x")
    assert_answers_from_memory_and_leaves_nothing(chapter, cache, caplog)
    assert list(cache.iterdir()) == []


@pytest.mark.parametrize("size_kb", [8, 96], ids=["nothing-fits", "embeddings-fit"])
def test_a_real_full_disk_then_space_freed(chapter, tmpfs, caplog, size_kb):
    from qa import Assistant, Settings

    cache = tmpfs(size_kb)
    assert_answers_from_memory_and_leaves_nothing(chapter, cache, caplog)
    assert (cache / "embeddings" / "fake_hash-64" / "embeddings.npy").exists() == (size_kb == 96)
    subprocess.run(["mount", "-o", "remount,size=8m", str(cache)], check=True)
    settings = Settings(cache_dir=cache, progress=False)
    assert Assistant([chapter], settings, embedders=[FakeHashEmbedder()]).index_built
    embedder = FakeHashEmbedder()
    assert not Assistant([chapter], settings, embedders=[embedder]).index_built
    assert embedder.calls == 0


# -- two builders, and concurrent saves ----------------------------------------------------

BUILDER_SCRIPT = """
import json, sys, time
from pathlib import Path

root, cache, go = (Path(a) for a in sys.argv[1:4])
sys.path[:0] = [str(root), str(root / "tests")]
from conftest import FakeHashEmbedder
from test_cache_faults import make_builder, results
from corpus import load_default_document
from index.store import load_or_build

embedder = FakeHashEmbedder()
builder, documents = make_builder(embedder, cache), [load_default_document()]
stages = []
print("ready", flush=True)
while not go.exists():
    time.sleep(0.002)
started = time.time()
index, built = load_or_build(documents, builder, cache / "indexes", progress=lambda *a: stages.append(a))
finished = time.time()
print(json.dumps(dict(built=built, started=started, finished=finished, embedded=embedder.calls,
                      progress=[s[0] for s in stages], results=results(index, embedder))))
"""


def test_two_processes_building_one_index_build_it_once(chapter, tmp_path):
    script = tmp_path / "build.py"
    script.write_text(BUILDER_SCRIPT, "utf-8")
    go = tmp_path / "go"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    processes = [
        subprocess.Popen(
            [sys.executable, str(script), str(ROOT), str(tmp_path), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    for process in processes:
        assert process.stdout.readline().strip() == "ready"
    go.touch()  # both start at once
    reports = []
    for process in processes:
        out, err = process.communicate(timeout=180)
        assert process.returncode == 0, err
        reports.append(json.loads(out.strip().splitlines()[-1]))
    builder, waiter = sorted(reports, key=lambda r: not r["built"])
    assert builder["built"] and not waiter["built"]
    assert waiter["started"] < builder["finished"]  # it came while the index was being built ...
    assert waiter["embedded"] == 0  # ... waited, and loaded it, as it said
    assert waiter["progress"] in ([stages.LOADING_INDEX, stages.WAITING_FOR_BUILDER], [stages.LOADING_INDEX])
    assert builder["embedded"] > 0
    embedder = FakeHashEmbedder()
    expected = results(make_builder(embedder, tmp_path / "reference").run([chapter]), embedder)
    assert builder["results"] == expected and waiter["results"] == expected
    key = make_builder(embedder, tmp_path).key([chapter])
    PassageIndex.load(tmp_path / "indexes" / key, expected_key=key)
    assert {p.name for p in (tmp_path / "indexes").iterdir()} == {key, f".{key}.lock"}


def test_concurrent_saves_of_one_index_leave_one_whole_copy(saved):
    index = saved.builder.run(saved.documents)
    errors: list[BaseException] = []

    def save_repeatedly() -> None:
        for _ in range(5):
            try:
                index.save(saved.directory)
            except BaseException as exc:  # reported below
                errors.append(exc)

    threads = [threading.Thread(target=save_repeatedly) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert results(PassageIndex.load(saved.directory, expected_key=saved.key), saved.embedder) == saved.expected
    assert {p.name for p in saved.root.iterdir()} == {saved.key, f".{saved.key}.lock"}


def test_a_rival_writer_between_moving_aside_and_renaming_keeps_its_copy(saved, monkeypatch):
    index = saved.builder.run(saved.documents)
    rival = saved.builder.run(saved.documents)
    real_rename = os.rename

    def rename_with_a_rival_writer(src, dst):  # type: ignore[no-untyped-def]
        """Test double for another process: it saves the same index as soon as ours moves the old one aside."""
        real_rename(src, dst)
        if ".old-" in os.fspath(dst):
            monkeypatch.setattr(os, "rename", real_rename)
            rival.save(saved.directory)

    rival.manifest["created"] = "by the rival"
    monkeypatch.setattr(os, "rename", rename_with_a_rival_writer)
    index.save(saved.directory)
    assert PassageIndex.load(saved.directory, expected_key=saved.key).manifest["created"] == "by the rival"
    assert {p.name for p in saved.root.iterdir()} == {saved.key, f".{saved.key}.lock"}


def test_a_rename_that_fails_puts_the_old_index_back(saved, monkeypatch):
    index = saved.builder.run(saved.documents)
    real_rename = os.rename
    attempts = []

    def rename_failing_the_second_try(src, dst):  # type: ignore[no-untyped-def]
        """Test double for a file system that fails (EIO) when ours is renamed in after the old one moved aside."""
        if os.fspath(dst) == str(saved.directory) and ".tmp-" in os.fspath(src):
            attempts.append(src)
            if len(attempts) == 2:
                raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename_failing_the_second_try)
    with pytest.raises(OSError):
        index.save(saved.directory)
    assert len(attempts) == 2
    assert results(PassageIndex.load(saved.directory, expected_key=saved.key), saved.embedder) == saved.expected
    assert {p.name for p in saved.root.iterdir()} == {saved.key, f".{saved.key}.lock"}


# -- a process killed while saving ---------------------------------------------------------

KILLED_SCRIPT = """
import os, sys
from pathlib import Path

root, cache, where = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
sys.path[:0] = [str(root), str(root / "tests")]
from conftest import FakeHashEmbedder
from test_cache_faults import make_builder
from corpus import load_default_document
from index import store

if where == "after-the-first-file":
    save = store.LexicalIndex.save
    def save_then_die(self, directory):
        save(self, directory)
        os._exit(9)
    store.LexicalIndex.save = save_then_die
elif where == "before-the-rename":
    store.fsync_tree = lambda path: os._exit(9)
elif where == "with-the-old-index-moved-aside":
    rename = os.rename
    def rename_then_die(src, dst):
        rename(src, dst)
        if ".old-" in str(dst):
            os._exit(9)
    os.rename = rename_then_die
embedder = FakeHashEmbedder()
store.load_or_build([load_default_document()], make_builder(embedder, cache), cache / "indexes", rebuild=True)
"""


@pytest.mark.parametrize("where", ["after-the-first-file", "before-the-rename", "with-the-old-index-moved-aside"])
def test_a_process_killed_while_saving_leaves_nothing_that_loads(chapter, tmp_path, where):
    embedder = FakeHashEmbedder()
    root = tmp_path / "indexes"
    key = make_builder(embedder, tmp_path).key([chapter])
    if where == "with-the-old-index-moved-aside":
        load_or_build([chapter], make_builder(embedder, tmp_path), root)
    script = tmp_path / "killed.py"
    script.write_text(KILLED_SCRIPT, "utf-8")
    done = subprocess.run(
        [sys.executable, str(script), str(ROOT), str(tmp_path), where],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        timeout=180,
    )
    assert done.returncode == 9, done.stderr
    assert not (root / key).exists()  # nothing at the index's name ...
    leftovers = [p for p in root.iterdir() if p.is_dir()]
    # ... only siblings that load_or_build never reads
    assert leftovers and all(p.name.startswith(f".{key}.") for p in leftovers)
    if where == "after-the-first-file":
        with pytest.raises(IndexBuildError):
            PassageIndex.load(leftovers[0], expected_key=key)
    index, built = load_or_build([chapter], make_builder(embedder, tmp_path), root)
    assert built and results(index, embedder) == results(make_builder(embedder, tmp_path).run([chapter]), embedder)
    assert {p.name for p in root.iterdir()} == {key, f".{key}.lock"}  # the leftovers are swept up


# -- no pickle -----------------------------------------------------------------------------


class PicklePayload:
    """What a malicious cache file would hold: unpickling it creates ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (open, (self.marker, "w"))


def raw_pickle(marker: Path) -> bytes:
    return pickle.dumps(PicklePayload(marker), protocol=2)


def pickled_npy(marker: Path) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.array([PicklePayload(marker)], dtype=object), allow_pickle=True)
    return buffer.getvalue()


@pytest.mark.parametrize("payload", [raw_pickle, pickled_npy])
def test_the_planted_payloads_run_when_unpickled(tmp_path, payload):
    marker = tmp_path / "unpickled"
    path = tmp_path / "payload.npy"
    path.write_bytes(payload(marker) + b" " * 64)
    if payload is raw_pickle:
        pickle.loads(path.read_bytes())
    else:
        np.load(path, allow_pickle=True)
    assert marker.exists()  # so the tests below would see it, had anything unpickled them


@pytest.mark.parametrize("payload", [raw_pickle, pickled_npy])
@pytest.mark.parametrize("name", INDEX_FILES)
def test_a_pickle_planted_in_the_index_is_never_unpickled(saved, tmp_path, name, payload):
    marker = tmp_path / "unpickled"
    path = saved.directory / name
    data = payload(marker)
    path.write_bytes(padded(data, path.stat().st_size) if len(data) <= path.stat().st_size else data)
    with pytest.raises(IndexBuildError):
        PassageIndex.load(saved.directory, expected_key=saved.key)
    saved.assert_rebuilt_and_clean()
    assert not marker.exists()


@pytest.mark.parametrize("payload", [raw_pickle, pickled_npy])
def test_a_pickle_planted_in_the_embedding_cache_is_never_unpickled(tmp_path, payload):
    marker = tmp_path / "unpickled"
    embedder = FakeHashEmbedder()
    cache = EmbeddingCache(tmp_path / "embeddings")
    texts = ["北韓核試", "川金會", "板門店宣言"]
    cache.embed(embedder, texts)
    path = cache.path(embedder)
    path.write_bytes(padded(payload(marker), path.stat().st_size))
    for name in EmbeddingCache.LEGACY_FILES:  # the files of the earlier format are never read either
        (path.parent / name).write_bytes(payload(marker))
    vectors = cache.embed(embedder, texts)
    assert not marker.exists()
    assert embedder.calls == 6  # embedded again
    assert np.allclose(vectors, FakeHashEmbedder().embed_documents(texts))


# -- the embedding cache -------------------------------------------------------------------

TEXTS = [f"第{i}段：北韓核試與川金會" for i in range(40)]


def test_a_damaged_embedding_file_is_embedded_again_and_rewritten(tmp_path, caplog):
    embedder = FakeHashEmbedder()
    cache = EmbeddingCache(tmp_path)
    expected = cache.embed(embedder, TEXTS)
    truncate(cache.path(embedder))
    with caplog.at_level(logging.WARNING, logger="index.embedding_cache"):
        assert np.array_equal(cache.embed(embedder, TEXTS), expected)
    assert embedder.calls == 2 * len(TEXTS) and "embedding again" in caplog.text
    cache.embed(embedder, TEXTS)
    assert embedder.calls == 2 * len(TEXTS)  # the rewritten file is whole


EMBEDDING_FILE_DAMAGE = {
    "empty": lambda data: b"",
    "magic-only": lambda data: data[:6],
    "header-cut": lambda data: data[:40],
    "header-unbalanced": lambda data: b"\x93NUMPY\x01\x00\x04\x00(((\n",
}


@pytest.mark.parametrize("damage", EMBEDDING_FILE_DAMAGE)
def test_an_empty_or_cut_embedding_file_is_embedded_again_and_rewritten(tmp_path, caplog, damage):
    embedder = FakeHashEmbedder()
    cache = EmbeddingCache(tmp_path)
    expected = cache.embed(embedder, TEXTS)
    path = cache.path(embedder)
    path.write_bytes(EMBEDDING_FILE_DAMAGE[damage](path.read_bytes()))
    with caplog.at_level(logging.WARNING, logger="index.embedding_cache"):
        assert np.array_equal(cache.embed(embedder, TEXTS), expected)
    assert embedder.calls == 2 * len(TEXTS) and "embedding again" in caplog.text
    assert np.load(path, allow_pickle=False).shape == (len(TEXTS),)  # rewritten whole


def test_a_temporary_file_of_a_dead_writer_is_swept_up(tmp_path):
    embedder = FakeHashEmbedder()
    cache = EmbeddingCache(tmp_path)
    cache.embed(embedder, TEXTS[:10])
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    leftover = cache.path(embedder).parent / f".embeddings.npy.tmp-{int(dead.stdout)}-x1y2z3"
    leftover.write_bytes(b"half a file")
    cache.embed(embedder, TEXTS)
    assert sorted(p.name for p in cache.path(embedder).parent.iterdir()) == ["embeddings.npy"]


def test_only_damaged_entries_are_embedded_again(tmp_path):
    embedder = FakeHashEmbedder()
    cache = EmbeddingCache(tmp_path)
    expected = cache.embed(embedder, TEXTS)
    path = cache.path(embedder)
    records = np.load(path, allow_pickle=False)
    records["vector"][3] *= 2.0  # no longer a unit vector
    records["vector"][5, 0] = np.nan
    records["key"][7] = b"not a key".ljust(32, b"!")
    size = path.stat().st_size
    np.save(path, records, allow_pickle=False)
    assert path.stat().st_size == size
    assert np.array_equal(cache.embed(embedder, TEXTS), expected)
    assert embedder.calls == len(TEXTS) + 3


@pytest.mark.parametrize("code", [errno.EROFS, errno.ENOSPC])
def test_embeddings_are_computed_when_the_cache_refuses_writes(tmp_path, monkeypatch, caplog, code):
    embedder = FakeHashEmbedder()
    cache = EmbeddingCache(tmp_path / "embeddings")
    ReadOnlyDisk(monkeypatch, tmp_path, code)
    with caplog.at_level(logging.WARNING, logger="index.embedding_cache"):
        vectors = cache.embed(embedder, TEXTS)
    assert np.allclose(vectors, FakeHashEmbedder().embed_documents(TEXTS))
    assert "could not be saved" in caplog.text
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_keeps_the_previous_embedding_file(tmp_path, monkeypatch, caplog):
    embedder = FakeHashEmbedder()
    cache = EmbeddingCache(tmp_path)
    cache.embed(embedder, TEXTS[:10])
    before = cache.path(embedder).read_bytes()
    FullDiskOnFlush(monkeypatch, tmp_path)
    with caplog.at_level(logging.WARNING, logger="index.embedding_cache"):
        assert np.allclose(cache.embed(embedder, TEXTS), FakeHashEmbedder().embed_documents(TEXTS))
    assert cache.path(embedder).read_bytes() == before
    assert sorted(p.name for p in cache.path(embedder).parent.iterdir()) == ["embeddings.npy"]
    assert "could not be saved" in caplog.text


def test_two_caches_storing_at_once_keep_each_others_vectors(tmp_path):
    fake = FakeHashEmbedder()
    other = EmbeddingCache(tmp_path)

    class EmbedderWithARivalCache(FakeHashEmbedder):
        """Test double for another process: it stores other texts while this cache is embedding."""

        def embed_documents(self, texts):  # type: ignore[no-untyped-def]
            if not fake.calls:
                other.embed(fake, TEXTS[20:])
            return super().embed_documents(texts)

    EmbeddingCache(tmp_path).embed(EmbedderWithARivalCache(), TEXTS[:20])
    assert fake.calls == 20
    counter = FakeHashEmbedder()
    EmbeddingCache(tmp_path).embed(counter, TEXTS)
    assert counter.calls == 0  # both halves were kept
