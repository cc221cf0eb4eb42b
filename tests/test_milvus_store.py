"""The index on Milvus (index.milvus_store) against the FAISS store, on the real embedded engine
(Milvus Lite 2.5.1): the same rows and scores for every search, BM25 that stays exact as documents
come and go, the faults, and ``--store`` on the command line. FakeHashEmbedder where the model is
beside the point; the real models in the slow parity test at the end. In CI (``CI`` set) a missing
pymilvus or milvus-lite fails these tests rather than skipping them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import EVAL_DIR, FakeHashEmbedder, free_port, require_module

from corpus import DocumentLoader
from index.chunking import ChunkSplitter
from index.errors import IndexBuildError, MissingPackageError
from index.locations import StoreLocation, StoreLocationError, open_store
from index.store import IndexBuilder, PassageStore, load_or_build

ROOT = Path(__file__).resolve().parents[1]
EXTRA = 'pip install "peninsula-qa[milvus]"'
BUDGET = """# 研究所年度報告

## 預算

今年的研究預算為三百萬元，其中一百萬元用於購買新的伺服器。川金會的新聞稿也由研究所翻譯。

## 人事

新任所長王小明於三月到任，研究團隊增加兩名博士後研究員。
"""
QUERIES = [
    "川金會在哪一天舉行？",
    "駐韓美軍有多少人",
    "薩德系統部署在哪裡",
    "研究預算是多少",
    "When did the Singapore summit take place?",
    "北韓 核試驗 2017年",
]


@pytest.fixture(scope="module", autouse=True)
def milvus_installed() -> None:
    require_module("pymilvus", EXTRA)
    require_module("milvus_lite", EXTRA)


@pytest.fixture
def budget(tmp_path):
    path = tmp_path / "in" / "budget.md"
    path.parent.mkdir(parents=True)
    path.write_text(BUDGET, "utf-8")
    return DocumentLoader().load(path)


@pytest.fixture
def opened():
    """Opens Milvus indexes and closes them after the test (each embedded file is an engine process)."""
    indexes = []

    def open_(documents, builder, db: Path, scope: str = "test", **kwargs):
        from index.milvus_store import MilvusConnection, open_milvus_index

        connection = MilvusConnection(str(db), log_dir=db.parent / "logs")
        index, written = open_milvus_index(connection, documents, builder, scope=scope, **kwargs)
        indexes.append(index)
        return index, written

    yield open_
    for index in indexes:
        index.close()


def builder_of(embedder) -> IndexBuilder:
    return IndexBuilder(ChunkSplitter(300, 50), [embedder], dictionary=False, sentence_embedders=[embedder.name])


def assert_same_ranking(faiss_hits, milvus_hits, *, tolerance=1e-4):
    """The same rows in the same order with the same scores, ties aside: where the rows differ, their
    scores are equal within ``tolerance`` (float32 sums in another order)."""
    assert len(milvus_hits) == len(faiss_hits), (faiss_hits, milvus_hits)
    for (row_f, score_f), (row_m, score_m) in zip(faiss_hits, milvus_hits, strict=True):
        assert score_m == pytest.approx(score_f, rel=tolerance, abs=tolerance), (faiss_hits, milvus_hits)
        if row_f != row_m:
            tied = {r for r, s in faiss_hits if abs(s - score_f) <= tolerance * max(1.0, abs(score_f))}
            assert row_m in tied, (faiss_hits, milvus_hits)


def assert_same_store(faiss, milvus, embedder, doc_sets):
    for question in QUERIES:
        vector = embedder.embed_queries([question])[0]
        for doc_ids in doc_sets:
            only = {} if doc_ids is None else {"doc_ids": doc_ids}
            assert_same_ranking(
                faiss.search_dense(embedder.name, vector, 10, **only),
                milvus.search_dense(embedder.name, vector, 10, **only),
            )
            assert_same_ranking(faiss.search_lexical(question, 10, **only), milvus.search_lexical(question, 10, **only))
            assert_same_ranking(
                faiss.search_lexical_sentences(question, 10, **only),
                milvus.search_lexical_sentences(question, 10, **only),
            )
            pooled = faiss.search_sentences(embedder.name, vector, 40, **only)  # passages of the 40 nearest sentences
            assert pooled
            assert_same_ranking(pooled, milvus.search_sentences(embedder.name, vector, 40, **only)[: len(pooled)])


def test_every_search_matches_the_faiss_store(chapter, budget, tmp_path, opened):
    embedder = FakeHashEmbedder()
    builder = builder_of(embedder)
    faiss, _ = load_or_build([chapter, budget], builder, None)
    milvus, written = opened([chapter, budget], builder, tmp_path / "m" / "store.db")
    assert written and [p.id for p in milvus.passages] == [p.id for p in faiss.passages]
    assert isinstance(milvus, PassageStore)
    assert milvus.dense.keys() == faiss.dense.keys() and milvus.sentence_dense.keys() == faiss.sentence_dense.keys()
    assert_same_store(faiss, milvus, embedder, [None, [budget.id], [chapter.id], [chapter.id, budget.id]])
    assert milvus.search_lexical("川金會", 5, doc_ids=["no-such-document"]) == []
    assert milvus.search_lexical("☃☃", 5) == [] == faiss.search_lexical("☃☃", 5)
    rows = [3, 4, len(faiss.passages) - 1]
    stored, expected = milvus.sentence_vectors(embedder.name, rows), faiss.sentence_vectors(embedder.name, rows)
    assert stored.keys() == expected.keys() and len(expected) > 3
    assert all(np.allclose(stored[span], expected[span], atol=1e-6) for span in expected)
    assert milvus.row(faiss.passages[7].id) == 7 and milvus.row("p0000000") is None

    again, written = opened([chapter, budget], builder, tmp_path / "m" / "store.db")  # reopened: nothing to write
    assert not written
    assert_same_store(faiss, again, embedder, [None])


def test_adding_and_removing_a_document_writes_only_its_rows_and_scores_as_a_fresh_build(
    chapter, budget, tmp_path, opened, monkeypatch
):
    from index import milvus_store

    embedder = FakeHashEmbedder()
    builder = builder_of(embedder)
    db = tmp_path / "m" / "store.db"
    opened([chapter], builder, db, scope="collection:notes")
    written_for = []
    real_write = milvus_store._Writer.write_vectors
    monkeypatch.setattr(
        milvus_store._Writer,
        "write_vectors",
        lambda self, rows, *a: written_for.append(rows.document.id) or real_write(self, rows, *a),
    )
    calls = embedder.calls
    both, written = opened([chapter, budget], builder, db, scope="collection:notes")
    budget_rows = [p for p in both.passages if p.doc_id == budget.id]
    assert written and written_for == [budget.id]
    from index.sentences import sentence_spans

    assert embedder.calls - calls == len(budget_rows) + sum(len(sentence_spans(p.content)) for p in budget_rows)

    fresh, _ = opened([chapter, budget], builder, tmp_path / "fresh" / "store.db", scope="collection:notes")
    faiss, _ = load_or_build([chapter, budget], builder, None)
    assert both.lexical.mean_length != opened([chapter], builder, tmp_path / "one" / "store.db")[0].lexical.mean_length
    for question in QUERIES:
        for search in ("search_lexical", "search_lexical_sentences"):
            added, built = getattr(both, search)(question, 20), getattr(fresh, search)(question, 20)
            assert_same_ranking(built, added, tolerance=1e-6)  # the same rows, the same float32 scores
            assert_same_ranking(getattr(faiss, search)(question, 20), added)

    written_for.clear()
    alone, written = opened([budget], builder, db, scope="collection:notes")  # the chapter removed
    assert written and written_for == []
    fresh_alone, _ = opened([budget], builder, tmp_path / "fresh-alone" / "store.db", scope="collection:notes")
    faiss_alone, _ = load_or_build([budget], builder, None)
    for question in QUERIES:
        assert_same_ranking(
            fresh_alone.search_lexical(question, 20), alone.search_lexical(question, 20), tolerance=1e-6
        )
        assert_same_ranking(faiss_alone.search_lexical(question, 20), alone.search_lexical(question, 20))
        vector = embedder.embed_queries([question])[0]
        assert_same_ranking(
            faiss_alone.search_dense(embedder.name, vector, 20), alone.search_dense(embedder.name, vector, 20)
        )


KILLED_MIDWAY = """
import sys, time
from conftest import FakeHashEmbedder
from corpus import DocumentLoader, load_default_document
from index import milvus_store
from index.chunking import ChunkSplitter
from index.store import IndexBuilder

def stall(self, rows, *args, **kwargs):
    if rows.document.id == "budget":
        print("vectors written", flush=True)
        time.sleep(600)
    return real(self, rows, *args, **kwargs)

real, milvus_store._Writer.write_lexical = milvus_store._Writer.write_lexical, stall
embedder = FakeHashEmbedder()
builder = IndexBuilder(ChunkSplitter(300, 50), [embedder], dictionary=False, sentence_embedders=[embedder.name])
documents = [load_default_document(), DocumentLoader().load(sys.argv[2])]
milvus_store.open_milvus_index(milvus_store.MilvusConnection(sys.argv[1]), documents, builder, scope="collection:notes")
"""


def wait_until_no_engine_serves(db: Path, timeout: float = 20) -> None:
    """Milvus Lite's engine stops once its parent is gone; wait for that before opening the file again."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        serving = False
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                serving = serving or str(db).encode() in cmdline.read_bytes()
            except OSError:
                continue
        if not serving:
            return
        time.sleep(0.2)
    pytest.fail(f"a Milvus Lite engine still serves {db}")


def test_a_document_half_written_by_a_process_that_died_is_written_again(
    chapter, budget, tmp_path, opened, monkeypatch
):
    from index import milvus_store

    embedder = FakeHashEmbedder()
    builder = builder_of(embedder)
    db = tmp_path / "m" / "store.db"
    first, _ = opened([chapter], builder, db, scope="collection:notes")
    real_write = milvus_store._Writer.write_lexical

    def die_midway(self, rows, *args, **kwargs):
        if rows.document.id == budget.id:
            raise KeyboardInterrupt  # the vectors are in, the BM25 rows are not
        return real_write(self, rows, *args, **kwargs)

    monkeypatch.setattr(milvus_store._Writer, "write_lexical", die_midway)
    with pytest.raises(KeyboardInterrupt):
        opened([chapter, budget], builder, db, scope="collection:notes")
    monkeypatch.setattr(milvus_store._Writer, "write_lexical", real_write)

    before, written = opened([chapter], builder, db, scope="collection:notes")  # as it was: the half document gone
    assert written
    fresh, _ = opened([chapter], builder, tmp_path / "fresh" / "store.db", scope="collection:notes")
    vector = embedder.embed_queries(["研究預算是多少"])[0]
    assert_same_ranking(fresh.search_dense(embedder.name, vector, 100), before.search_dense(embedder.name, vector, 100))
    assert_same_ranking(fresh.search_lexical("研究預算", 100), before.search_lexical("研究預算", 100), tolerance=1e-6)
    assert len(before.search_dense(embedder.name, vector, 100)) == len(before.passages)

    first.close()
    before.close()  # the file is free: another process adds the document, and is killed midway
    killed = subprocess.Popen(
        [sys.executable, "-W", "ignore", "-c", KILLED_MIDWAY, str(db), str(budget.source)],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{ROOT / 'tests'}"),
    )
    try:
        assert killed.stdout.readline().strip() == "vectors written"
    finally:
        killed.kill()
        killed.wait()
    wait_until_no_engine_serves(db)
    whole, written = opened([chapter, budget], builder, db, scope="collection:notes")  # or with the whole document
    assert written
    faiss, _ = load_or_build([chapter, budget], builder, None)
    assert_same_store(faiss, whole, embedder, [None, [budget.id]])


@pytest.mark.parametrize("damage", ["missing collection", "other dimensions", "other settings"])
def test_collections_that_are_not_the_index_are_rebuilt(chapter, tmp_path, opened, caplog, damage):
    embedder = FakeHashEmbedder()
    builder = builder_of(embedder)
    db = tmp_path / "m" / "store.db"
    first, _ = opened([chapter], builder, db)
    client, layout = first.client, first.layout
    if damage == "missing collection":
        client.drop_collection(layout.sentences)
        expected = "collections missing"
    elif damage == "other dimensions":
        client.drop_collection(layout.passages)
        from pymilvus import DataType

        schema = client.create_schema()
        schema.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=72)
        schema.add_field("doc_id", DataType.VARCHAR, max_length=1024)
        schema.add_field("dense_0", DataType.FLOAT_VECTOR, dim=8)  # as another embedder wrote it
        params = client.prepare_index_params()
        params.add_index("dense_0", index_type="FLAT", metric_type="IP")
        client.create_collection(layout.passages, schema=schema, index_params=params)
        expected = "8-d vectors, not 64-d"
    else:  # an older tokenizer's rows under the same names
        client.upsert(
            layout.bookkeeping,
            [{"pk": "~settings", "state": "complete", "info": '{"tokenizer": "old"}', "unused": [0, 0]}],
        )
        expected = "built with other settings"
    first.close()
    with caplog.at_level("WARNING", logger="index.milvus_store"):
        again, written = opened([chapter], builder, db)
    assert written and expected in caplog.text and "rebuilding it" in caplog.text
    faiss, _ = load_or_build([chapter], builder, None)
    assert_same_store(faiss, again, embedder, [None])


def test_a_store_file_open_in_another_process_is_one_line_of_error(chapter, tmp_path, capsys):
    db = tmp_path / "m" / "store.db"
    db.parent.mkdir()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-W",
            "ignore",
            "-c",
            f"from pymilvus import MilvusClient; MilvusClient({str(db)!r}); print('open', flush=True); input()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(IndexBuildError, match="is open in another process") as caught:
            open_store(f"milvus:{db}", [chapter], builder_of(FakeHashEmbedder()), tmp_path / "cache")
        assert "\n" not in str(caught.value)
        from qa.cli import main

        code = main(
            [
                "search",
                "川金會",
                "--store",
                f"milvus:{db}",
                "--cache-dir",
                str(tmp_path / "cache"),
                "--embedders",
                "use",
            ]
        )
        err = capsys.readouterr().err
        assert code == 1 and err.startswith("qa: error: the Milvus Lite store") and err.count("\n") == 1, err
    finally:
        holder.communicate("", timeout=30)
    index, written = open_store(f"milvus:{db}", [chapter], builder_of(FakeHashEmbedder()), tmp_path / "cache")
    assert written  # free again once the other process let go
    index.close()


def test_an_unreachable_server_and_bad_locations_are_one_line_of_error(chapter, tmp_path, capsys, monkeypatch):
    builder = builder_of(FakeHashEmbedder())
    port = free_port()
    started = time.monotonic()
    with pytest.raises(IndexBuildError, match=rf"cannot reach the Milvus server at http://127.0.0.1:{port} "):
        open_store(f"milvus://127.0.0.1:{port}", [chapter], builder, tmp_path / "cache")
    assert time.monotonic() - started < 15
    for bad, message in [
        ("qdrant", "unknown store 'qdrant'"),
        ("milvus:", "give the embedded store's file"),
        ("milvus:/tmp/store.sqlite", "needs a file name ending in .db"),
        ("milvus:/tmp/" + "x" * 40 + ".db", "at most 36 characters"),
        ("milvus://db.example.org", "milvus://HOST:PORT"),
        ("milvus://db.example.org:99999", "milvus://HOST:PORT"),
        ("milvus:/tmp/store.db?index=HNSW", "Milvus Lite builds only FLAT, IVF_FLAT, AUTOINDEX"),
        ("milvus://db.example.org:19530?index=DISKANN", "unknown Milvus index 'DISKANN'"),
        ("milvus://db.example.org:19530?nprobe=3", r"the only option is \?index=TYPE"),
    ]:
        with pytest.raises(StoreLocationError, match=message):
            StoreLocation.parse(bad)
    from qa import Settings
    from qa.cli import main

    with pytest.raises(ValueError, match="unknown store"):
        Settings(store="qdrant")
    assert Settings().store == "faiss" and StoreLocation.parse("milvus").path is None
    assert StoreLocation.parse("milvus://[::1]:19530").uri == "http://[::1]:19530"
    assert StoreLocation.parse("milvus://db:19530?index=hnsw").index_type == "HNSW"
    code = main(["ask", "川金會在哪一天舉行？", "--store", "qdrant"])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("qa: error: unknown store 'qdrant': use faiss, milvus, milvus:PATH.db or")
    assert err.count("\n") == 1
    monkeypatch.setenv("PENINSULA_QA_MILVUS_TOKEN", "reader:secret")
    code = main(
        [
            "search",
            "川金會",
            "--store",
            f"milvus://127.0.0.1:{port}",
            "--cache-dir",
            str(tmp_path / "c"),
            "--embedders",
            "use",
        ]
    )
    err = capsys.readouterr().err
    assert code == 1 and "cannot reach the Milvus server" in err and "secret" not in err and err.count("\n") == 1


def test_without_pymilvus_the_message_names_the_extra(chapter, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pymilvus", None)
    with pytest.raises(MissingPackageError, match=r'pip install "peninsula-qa\[milvus\]"'):
        open_store(f"milvus:{tmp_path / 'store.db'}", [chapter], builder_of(FakeHashEmbedder()), tmp_path / "cache")


def test_the_engine_logs_go_under_the_cache_directory(chapter, tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    cache = tmp_path / "cache"
    index, _ = open_store("milvus", [chapter], builder_of(FakeHashEmbedder()), cache)
    index.close()
    assert (cache / "milvus" / "store.db").exists()
    assert list(work.iterdir()) == []
    assert not [p.name for p in (cache / "milvus").iterdir() if p.name.startswith("milvus.")]
    assert [p.name for p in (cache / "milvus-logs").iterdir() if p.name.startswith("milvus.")]


def test_qa_index_add_and_remove_on_milvus_answer_as_on_faiss(capsys, tmp_path):
    from qa.cli import main

    files = []
    for name, text in [
        ("budget.md", BUDGET),
        ("garden.md", "# Garden club\n\nThe club planted forty apple trees in April.\n"),
    ]:
        files.append(tmp_path / "in" / name)
        files[-1].parent.mkdir(exist_ok=True)
        files[-1].write_text(text, "utf-8")
    db = tmp_path / "m" / "store.db"
    answers = {}
    for store in ("faiss", f"milvus:{db}"):
        common = [
            "--cache-dir",
            str(tmp_path / "cache"),
            "--embedders",
            "use",
            "--store",
            store,
            "--collection",
            "notes",
        ]
        assert main(["index", "add", str(files[0]), *common]) == 0
        assert main(["index", "add", str(files[1]), *common]) == 0, capsys.readouterr().err
        capsys.readouterr()
        assert main(["ask", "研究預算是多少？", "--json", *common]) == 0
        both = json.loads(capsys.readouterr().out)
        assert main(["index", "remove", "garden", *common]) == 0
        assert main(["search", "apple trees", "--json", "-k", "3", *common]) == 0
        capsys.readouterr()
        assert main(["index", "--json", *common]) == 0
        info = json.loads(capsys.readouterr().out)
        answers[store] = (both, info["passages"], [d["id"] for d in info["documents"]])
        if store != "faiss":
            assert info["directory"] == f"milvus:{db}"
    (faiss_answer, faiss_count, faiss_docs), (milvus_answer, milvus_count, milvus_docs) = answers.values()
    assert milvus_docs == faiss_docs == ["budget"] and milvus_count == faiss_count
    assert milvus_answer["text"] == faiss_answer["text"] and "三百萬元" in milvus_answer["text"]
    assert [c["id"] for c in milvus_answer["citations"]] == [c["id"] for c in faiss_answer["citations"]]


# -- the real models ----------------------------------------------------------------------------------------------


def _questions() -> list[str]:
    sets = [
        EVAL_DIR / "dev.jsonl",
        ROOT / "benchmarks" / "questions" / "check-a.jsonl",
        ROOT / "benchmarks" / "questions" / "check-b.jsonl",
    ]
    missing = [p for p in sets if not p.exists()]
    if missing:
        pytest.fail(f"{missing[0]} is missing: the parity test runs beside ../shared/eval")
    return [
        json.loads(line)["question"] for path in sets for line in path.read_text("utf-8").splitlines() if line.strip()
    ]


def assert_same_citations(faiss_citations, milvus_citations, *, tolerance=2e-4):
    """The same passages, ties aside: position by position the same fused score, and the same
    passage unless another one of the list scores the same."""
    assert len(milvus_citations) == len(faiss_citations)
    for f, m in zip(faiss_citations, milvus_citations, strict=True):
        assert m.score == pytest.approx(f.score, abs=tolerance)
        if f.id != m.id:
            assert m.id in {c.id for c in faiss_citations if abs(c.score - f.score) <= tolerance}


@pytest.mark.slow
def test_the_real_pipeline_gives_the_same_passages_and_answers_on_milvus(
    real_assistant, real_cache_dir, tmp_path, capsys
):
    from dataclasses import replace

    from qa import Assistant
    from qa.cli import main

    store = f"milvus:{tmp_path / 'm' / 'store.db'}"
    milvus = Assistant(settings=replace(real_assistant.settings, store=store), embedders=real_assistant.embedders)
    assert milvus.index_built and type(milvus.index).__name__ == "MilvusIndex"
    questions = _questions()
    assert len(questions) >= 190
    differing = []
    for question in questions:
        faiss_top, milvus_top = real_assistant.search(question, k=5), milvus.search(question, k=5)
        assert_same_citations(faiss_top, milvus_top)
    faiss_answers = real_assistant.ask_many(questions)
    milvus_answers = milvus.ask_many(questions)
    for question, f, m in zip(questions, faiss_answers, milvus_answers, strict=True):
        if (f.text, f.abstained) != (m.text, m.abstained):
            differing.append(question)
        assert_same_citations(f.citations, m.citations)
    assert differing == []

    common = ["--cache-dir", str(real_cache_dir), "--json"]  # the check, through the command line
    assert main(["ask", "川金會在哪一天舉行？", *common]) == 0
    by_faiss = json.loads(capsys.readouterr().out)
    assert main(["ask", "川金會在哪一天舉行？", "--store", store, *common]) == 0
    by_milvus = json.loads(capsys.readouterr().out)
    assert by_milvus["text"] == by_faiss["text"] and not by_milvus["abstained"]
    assert [c["id"] for c in by_milvus["citations"]] == [c["id"] for c in by_faiss["citations"]]


def test_every_command_takes_the_store_option():
    from qa.cli import _settings, parser
    from ui.cli import COMMANDS

    for argv in (
        ["ask", "q"],
        ["search", "q"],
        ["cite", "p1234567"],
        ["index"],
        ["index", "add", "a.md"],
        ["index", "remove", "a"],
        ["index", "list"],
        ["serve"],
        ["eval", "q.jsonl"],
    ):
        args = parser(COMMANDS).parse_args([*argv, "--store", "milvus:/tmp/m.db"])
        assert _settings(args).store == "milvus:/tmp/m.db", argv
        assert _settings(parser(COMMANDS).parse_args(argv)).store == "faiss", argv
