"""Named collections of the user's documents: qa.Collection, Assistant(collection=...), the
documents= filter and ``qa index add/remove/list``. FakeHashEmbedder where the model is beside the
point; the real models in the one slow test at the end."""

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import FakeHashEmbedder

from corpus import DocumentError, DocumentLoader, default_document_path
from index import stages
from index.chunking import ChunkSplitter
from index.store import IndexBuilder, load_or_build
from qa import Assistant, Collection, CollectionError, InvalidRequestError, Settings
from qa.config import RankingSettings
from ui.cli import main  # the installed qa, serve included

ROOT = Path(__file__).resolve().parents[1]
BUDGET = """# 研究所年度報告

## 預算

今年的研究預算為三百萬元，其中一百萬元用於購買新的伺服器。

## 人事

新任所長王小明於三月到任，研究團隊增加兩名博士後研究員。
"""
GARDEN = """# Garden club minutes

## Planting

The club planted forty apple trees along the river path in April.

## Money

Membership fees rose to twelve euros a year. The budget for new trees is three hundred euros.
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    return path


@pytest.fixture
def settings(tmp_path):
    return Settings(cache_dir=tmp_path / "cache", progress=False)


@pytest.fixture
def files(tmp_path):
    return {
        "budget": write(tmp_path / "in" / "budget.md", BUDGET),
        "garden": write(tmp_path / "in" / "garden.md", GARDEN),
    }


def snapshot(collection: Collection) -> dict[str, bytes]:
    """Every file of the collection's directory (and no stray staging directory beside it)."""
    root = collection.directory.parent
    assert not [p for p in root.iterdir() if p.name.startswith((".staging", ".deleting"))]
    if not collection.directory.exists():
        return {}
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(collection.directory.rglob("*")) if p.is_file()}


def test_add_list_remove_round_trip(settings, files):
    notes = Collection("notes", settings)
    assert not notes.exists and notes.entries() == [] and Collection.names(settings) == []
    heard = []
    added = notes.add([files["budget"], files["garden"]], progress=lambda *event: heard.append(event))
    reading = stages.READING_FILES
    assert heard == [(reading, 0, 2), (reading, 1, 2), (reading, 2, 2)]
    assert [(e.id, e.title, e.suffix) for e in added] == [
        ("budget", "研究所年度報告", ".md"),
        ("garden", "Garden club minutes", ".md"),
    ]
    assert added[0].path == str(files["budget"].resolve()) and added[0].size == files["budget"].stat().st_size
    assert notes.entries() == added and Collection.names(settings) == ["notes"]
    manifest = json.loads((notes.directory / "manifest.json").read_text("utf-8"))
    assert [d["id"] for d in manifest["documents"]] == ["budget", "garden"]

    removed = notes.remove(["budget"])
    assert [e.id for e in removed] == ["budget"]
    assert [e.id for e in notes.entries()] == ["garden"]
    assert not (notes.directory / "files" / added[0].content_hash).exists()
    assert [d.id for d in notes.documents()] == ["garden"]

    notes.delete()
    assert Collection.names(settings) == [] and not notes.directory.exists()
    with pytest.raises(CollectionError, match="there is no collection 'notes'"):
        notes.delete()


def test_the_collection_outlives_the_assistant_and_the_original_files(settings, files):
    Collection("notes", settings).add(files.values())
    first = Assistant(collection="notes", settings=settings, embedders=[FakeHashEmbedder()])
    [top] = first.search("研究預算是多少", k=1)
    assert top.doc_id == "budget" and top.doc_title == "研究所年度報告" and "三百萬元" in top.text
    for path in files.values():
        path.unlink()
    again = FakeHashEmbedder()
    second = Assistant(collection=Collection("notes", settings), settings=settings, embedders=[again])
    assert not second.index_built and again.calls == 0  # the saved index, from the stored copies
    assert second.search("研究預算是多少", k=1) == [top]
    assert [(d.id, d.title, d.source, d.passages) for d in second.indexed_documents()] == [
        (p.stem, t, str(p.resolve()), n)
        for p, t, n in [
            (files["budget"], "研究所年度報告", sum(p.doc_id == "budget" for p in second.index.passages)),
            (files["garden"], "Garden club minutes", sum(p.doc_id == "garden" for p in second.index.passages)),
        ]
    ]
    assert all(d.passages > 0 for d in second.indexed_documents())


@pytest.mark.parametrize("bad", ["binary", "missing", "unsupported", "empty"])
def test_adding_is_all_or_nothing(settings, files, tmp_path, bad):
    notes = Collection("notes", settings)
    notes.add([files["garden"]])
    before = snapshot(notes)
    path = tmp_path / "in" / {"binary": "bad.txt", "missing": "gone.md", "unsupported": "x.exe", "empty": "e.md"}[bad]
    if bad == "binary":
        path.write_bytes(b"\xff\xfe\xfa\x00binary")
    elif bad == "unsupported":
        path.write_bytes(b"MZ\x90\x00")
    elif bad == "empty":
        path.write_text("  \n\u200b\n", "utf-8")
    with pytest.raises(DocumentError) as caught:
        notes.add([files["budget"], path])
    message = str(caught.value)
    assert message.startswith(f"{path}:"), message  # names the user's file, not the collection's copy
    assert snapshot(notes) == before
    assert [e.id for e in notes.entries()] == ["garden"]


def test_a_symbolic_link_is_added_under_its_own_name_and_read_back(capsys, settings, files, tmp_path):
    link = tmp_path / "links" / "link-to-budget.md"
    link.parent.mkdir()
    link.symlink_to(files["budget"])
    notes = Collection("notes", settings)
    [entry] = notes.add([link])
    assert entry.id == "link-to-budget" and entry.path == str(link.parent.resolve() / link.name)
    assert [d.title for d in notes.documents()] == ["研究所年度報告"]
    common = ["--cache-dir", str(settings.cache_dir), *FAST]
    code, _, err = run(capsys, "index", "add", str(link), str(files["garden"]), "--collection", "notes", *common)
    assert code == 0, err
    code, out, err = run(capsys, "ask", "研究預算是多少？", "--collection", "notes", "--json", *common)
    assert code == 0, err
    assert {c["doc_id"] for c in json.loads(out)["citations"]} >= {"link-to-budget"}


def test_a_manifest_naming_a_link_target_still_finds_the_stored_copy(settings, files, tmp_path):
    notes = Collection("notes", settings)
    notes.add([files["budget"]])
    manifest = notes.directory / "manifest.json"
    data = json.loads(manifest.read_text("utf-8"))
    data["documents"][0]["path"] = str(tmp_path / "elsewhere" / "target-name.md")  # as an earlier version wrote it
    manifest.write_text(json.dumps(data), "utf-8")
    assert [(d.id, d.title) for d in notes.documents()] == [("budget", "研究所年度報告")]
    assert [e.id for e in notes.add([files["garden"]])] == ["garden"]


@pytest.mark.parametrize("kind", ["directory", "fifo", "device", "dangling-link", "missing"])
def test_what_is_not_a_regular_file_is_named_for_what_it_is(settings, files, tmp_path, kind):
    path = tmp_path / "in" / f"odd-{kind}.md"
    if kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        path = Path("/dev/zero")
    elif kind == "dangling-link":
        path.symlink_to(tmp_path / "gone.md")
    expected = {
        "directory": "a directory, not a file",
        "fifo": "not a regular file (a device, pipe or socket)",
        "device": "not a regular file (a device, pipe or socket)",
        "dangling-link": "a symbolic link to nothing",
        "missing": "no such file",
    }[kind]
    notes = Collection("notes", settings)
    with pytest.raises(DocumentError, match=re.escape(f"{path}: {expected}")):
        notes.add([files["garden"], path])
    assert not notes.exists
    with pytest.raises(DocumentError, match=re.escape(f"{path}: {expected}")):
        DocumentLoader().load(path)


@pytest.mark.parametrize(
    ("name", "fits"), [("報" * 64, True), ("𠀀" * 50, True), ("𠀀" * 51, False), ("𠀀" * 64, False)]
)
def test_a_collection_name_within_the_rules_always_fits_a_folder_name(settings, files, name, fits):
    if not fits:
        with pytest.raises(CollectionError, match=r"bad collection name .*: 2\d\d bytes in UTF-8, more than the 200"):
            Collection(name, settings)
        return
    collection = Collection(name, settings)
    collection.add([files["garden"]])
    assert Collection.names(settings) == [name] and [e.id for e in collection.entries()] == ["garden"]
    collection.remove(["garden"])
    collection.delete()


def test_adding_what_another_process_added_meanwhile_is_not_reported_as_added(capsys, settings, files, monkeypatch):
    other = Collection("notes", settings)
    import qa.collection

    real_stage = qa.collection.stage_files
    raced = []

    def stage_then_race(*args, **kwargs):  # type: ignore[no-untyped-def]
        staged = real_stage(*args, **kwargs)
        if not raced:  # another process commits the same file between our staging and our commit
            raced.append(True)
            other.add([files["budget"]])
        return staged

    monkeypatch.setattr(qa.collection, "stage_files", stage_then_race)
    common = ["--cache-dir", str(settings.cache_dir), *FAST, "--collection", "notes", "--json"]
    code, out, err = run(capsys, "index", "add", str(files["budget"]), str(files["garden"]), *common)
    assert code == 0, err
    assert [(d["id"], d["new"]) for d in json.loads(out)["documents"]] == [("budget", False), ("garden", True)]
    assert raced and [e.id for e in other.entries()] == ["budget", "garden"]


def test_the_working_folders_of_a_killed_add_or_delete_are_swept_up(settings, files):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    root = settings.cache_dir / "collections"
    leftovers = [root / f".staging-notes-{int(dead.stdout)}-123", root / f".deleting-other-{int(dead.stdout)}-456"]
    working = root / f".staging-notes-{os.getpid()}-789"  # a live process's add: left alone
    for folder in [*leftovers, working]:
        write(folder / "abc" / "half.md", "half a copy")
    Collection("notes", settings).add([files["garden"]])
    assert [p for p in leftovers if p.exists()] == [] and working.exists()


def test_reading_or_removing_a_missing_collection_leaves_no_lock_file(capsys, settings, files):
    Collection("notes", settings).add([files["garden"]])
    root = settings.cache_dir / "collections"
    before = sorted(p.name for p in root.iterdir())
    missing = Collection("nothing", settings)
    assert missing.entries() == []
    for change in (lambda: missing.remove(["x"]), missing.delete, missing.documents):
        with pytest.raises(CollectionError, match="there is no collection 'nothing'"):
            change()
    common = ["--cache-dir", str(settings.cache_dir), *FAST]
    assert run(capsys, "index", "list", "--collection", "nothing", *common)[0] == 1
    assert run(capsys, "index", "remove", "x", "--collection", "nothing", *common)[0] == 1
    assert sorted(p.name for p in root.iterdir()) == before


def test_the_same_content_again_changes_nothing_and_embeds_nothing(settings, files, tmp_path):
    notes = Collection("notes", settings)
    [entry] = notes.add([files["budget"]])
    embedder = FakeHashEmbedder()
    Assistant(collection="notes", settings=settings, embedders=[embedder])
    calls, before = embedder.calls, snapshot(notes)
    assert calls > 0
    renamed = shutil.copy(files["budget"], tmp_path / "copy-of-budget.md")
    assert notes.add([files["budget"], renamed]) == [entry]  # the one entry holding that content
    assert snapshot(notes) == before
    again = Assistant(collection="notes", settings=settings, embedders=[embedder])
    assert embedder.calls == calls and not again.index_built


def test_adding_a_document_embeds_only_its_passages(settings, files):
    notes = Collection("notes", settings)
    notes.add([files["budget"]])
    embedder = FakeHashEmbedder()
    Assistant(collection="notes", settings=settings, embedders=[embedder])
    calls = embedder.calls
    notes.add([files["garden"]])
    both = Assistant(collection="notes", settings=settings, embedders=[embedder])
    garden = {p.content for p in both.index.passages if p.doc_id == "garden"}
    assert both.index_built and garden
    assert embedder.calls - calls == len(garden)


def test_files_whose_names_collide_get_distinct_ids(settings, tmp_path):
    one = write(tmp_path / "a" / "README.md", "# Alpha\n\nThe first project.\n")
    two = write(tmp_path / "b" / "README.md", "# Beta\n\nThe second project.\n")
    three = write(tmp_path / "c" / "README.md", "# Gamma\n\nThe third project.\n")
    notes = Collection("notes", settings)
    assert [e.id for e in notes.add([one, two])] == ["readme", "readme-2"]
    assert [e.id for e in notes.add([three])] == ["readme-3"]
    assistant = Assistant(collection="notes", settings=settings, embedders=[FakeHashEmbedder()])
    assert {c.doc_id: c.doc_title for c in assistant.passages} == {
        "readme": "Alpha",
        "readme-2": "Beta",
        "readme-3": "Gamma",
    }


@pytest.fixture
def chapter_and_notes(settings, files, tmp_path):
    """A collection of the bundled chapter (as a user's file) and the small budget report."""
    chapter = shutil.copy(default_document_path(), tmp_path / "in" / "chapter.txt")
    Collection("mixed", settings).add([chapter, files["budget"]])
    return Assistant(collection="mixed", settings=settings, embedders=[FakeHashEmbedder()])


def test_questions_search_only_the_chosen_documents(chapter_and_notes):
    assistant = chapter_and_notes
    question = "川金會在哪一天舉行？"
    everywhere = assistant.search(question, k=5)
    assert {c.doc_id for c in everywhere} == {"chapter"}  # the report never makes the global top 5
    chosen = assistant.search(question, k=5, documents=["budget"])
    budget = [c for c in assistant.passages if c.doc_id == "budget"]
    assert len(chosen) == min(5, len(budget)) and {c.doc_id for c in chosen} == {"budget"}
    answer = assistant.ask(question, k=3, documents=["budget"])
    assert answer.citations and {c.doc_id for c in answer.citations} == {"budget"}
    [many] = assistant.ask_many([question], k=3, documents=["budget"])
    assert [c.id for c in many.citations] == [c.id for c in answer.citations]
    assert assistant.search("研究預算是多少", k=3, documents=["chapter"])[0].doc_id == "chapter"
    assert assistant.search(question, k=5, documents=["chapter", "budget"]) == everywhere


def test_the_filter_applies_before_the_cut_with_few_candidates(settings, chapter_and_notes):
    few = Assistant(
        collection="mixed",
        settings=Settings(cache_dir=settings.cache_dir, progress=False, ranking=RankingSettings(candidates=3)),
        embedders=[FakeHashEmbedder()],
    )
    budget = [c.id for c in few.passages if c.doc_id == "budget"]
    results = few.search("川金會在哪一天舉行？", k=len(budget), documents=["budget"])
    assert sorted(c.id for c in results) == sorted(budget)


@pytest.mark.parametrize("exact_limit", [100_000, 0])
def test_store_searches_filter_before_taking_the_best(chapter, tmp_path, monkeypatch, exact_limit):
    """Filtered, each search returns the same top k as the full ranking restricted to the documents,
    whether the vectors are scored exactly or through a FAISS selector (and HNSW)."""
    import index.store

    monkeypatch.setattr(index.store, "EXACT_SEARCH_LIMIT", exact_limit)  # 0: HNSW and selectors everywhere
    embedder = FakeHashEmbedder()
    other = write(tmp_path / "budget.md", BUDGET)
    from corpus import DocumentLoader

    documents = [chapter, DocumentLoader().load(other)]
    builder = IndexBuilder(ChunkSplitter(300, 50), [embedder], sentence_embedders=[embedder.name])
    store, _ = load_or_build(documents, builder, None)
    query = "川金會在新加坡舉行 三月"
    vector = embedder.embed_queries([query])[0]
    rows = set(store.rows_of(["budget"]).tolist())
    assert rows == {i for i, p in enumerate(store.passages) if p.doc_id == "budget"}
    n = len(store.passages)
    searches = {
        "dense": lambda k, **f: store.search_dense(embedder.name, vector, k, **f),
        "sentences": lambda k, **f: store.search_sentences(embedder.name, vector, k, **f),
        "lexical": lambda k, **f: store.search_lexical(query, k, **f),
        "lexical sentences": lambda k, **f: store.search_lexical_sentences(query, k, **f),
    }
    for name, search in searches.items():
        full = search(10 * n if name == "sentences" else n)
        expected = [(r, s) for r, s in full if r in rows][:3]
        got = search(3 * 8 if name == "sentences" else 3, doc_ids={"budget"})
        got = got[:3]
        assert [r for r, _ in got] == [r for r, _ in expected], name
        np.testing.assert_allclose([s for _, s in got], [s for _, s in expected], rtol=1e-5, err_msg=name)
        assert expected and {r for r, _ in full[:3]}.isdisjoint(rows), name  # only the filter finds them


def test_unknown_or_malformed_document_choices_are_clear_errors(chapter_and_notes):
    assistant = chapter_and_notes
    with pytest.raises(InvalidRequestError, match=r"unknown document id 'nope'; the documents are: chapter, budget"):
        assistant.ask("預算", documents=["nope"])
    with pytest.raises(InvalidRequestError, match="list of document ids"):
        assistant.search("預算", documents="budget")
    with pytest.raises(InvalidRequestError, match="at least one document"):
        assistant.ask_many(["預算"], documents=[])


def test_removing_an_unknown_id_names_the_known_ones_and_removes_nothing(settings, files):
    notes = Collection("notes", settings)
    notes.add(files.values())
    before = snapshot(notes)
    with pytest.raises(CollectionError, match=r"no document 'nope'; its documents are: budget, garden"):
        notes.remove(["garden", "nope"])
    assert snapshot(notes) == before


@pytest.mark.parametrize("name", ["../x", "a/b", "", ".", "..", " ", "-x", "_x", "a b", "x" * 65, "a\\b", "x\n"])
def test_bad_collection_names_are_refused(settings, name):
    with pytest.raises(CollectionError, match="bad collection name"):
        Collection(name, settings)
    with pytest.raises(CollectionError, match="bad collection name"):
        Assistant(collection=name, settings=settings, embedders=[FakeHashEmbedder()])
    with pytest.raises(CollectionError, match="collection name must be text"):
        Collection(3, settings)  # type: ignore[arg-type]
    assert not (settings.cache_dir / "collections").exists()


@pytest.mark.parametrize("name", ["default", "notes_2024", "A-b", "報告"])
def test_good_collection_names_stay_inside_the_cache(settings, files, name):
    collection = Collection(name, settings)
    collection.add([files["garden"]])
    assert collection.directory.parent == settings.cache_dir / "collections"
    assert Collection.names(settings) == [name]


def test_documents_and_a_collection_together_are_refused(settings, chapter):
    with pytest.raises(InvalidRequestError, match="documents or a collection, not both"):
        Assistant([chapter], settings, collection="notes", embedders=[FakeHashEmbedder()])


def test_an_empty_or_missing_collection_says_how_to_fill_it(settings, files):
    with pytest.raises(CollectionError, match=r"there is no collection 'notes' \(collections: none yet\); add some"):
        Assistant(collection="notes", settings=settings, embedders=[FakeHashEmbedder()])
    notes = Collection("notes", settings)
    notes.add([files["garden"]])
    notes.remove(["garden"])
    with pytest.raises(CollectionError, match=r"the collection 'notes' has no documents; add some with: qa index add"):
        Assistant(collection="notes", settings=settings, embedders=[FakeHashEmbedder()])


def test_a_damaged_collection_is_reported_and_never_overwritten(settings, files):
    notes = Collection("notes", settings)
    [entry] = notes.add([files["garden"]])
    stored = notes.directory / "files" / entry.content_hash / "garden.md"
    stored.write_text("tampered", "utf-8")
    with pytest.raises(CollectionError, match=r"stored copy of 'garden' is missing or damaged; remove it"):
        notes.documents()
    manifest = notes.directory / "manifest.json"
    manifest.write_text('{"format": 1, "documents": [{"id": 1}]', "utf-8")
    with pytest.raises(CollectionError, match="manifest cannot be read"):
        notes.entries()
    with pytest.raises(CollectionError, match="manifest cannot be read"):
        notes.add([files["budget"]])
    assert manifest.read_text("utf-8") == '{"format": 1, "documents": [{"id": 1}]'


def test_collections_need_a_cache_directory():
    with pytest.raises(CollectionError, match="cache_dir is None"):
        Collection("notes", Settings(cache_dir=None))


ADDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from qa import Collection, Settings

    cache, go, *paths = sys.argv[1:]
    while not Path(go).exists():
        time.sleep(0.005)
    collection = Collection("shared", Settings(cache_dir=Path(cache)))
    for path in paths:
        collection.add([path])
    """
)


def test_two_processes_adding_at_once_lose_nothing(settings, tmp_path):
    go = tmp_path / "go"
    batches = [
        [write(tmp_path / "in" / f"{who}-{i}.md", f"# {who} {i}\n\nDocument {i} of writer {who}.\n") for i in range(8)]
        for who in ("left", "right")
    ]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", ADDER, str(settings.cache_dir), str(go), *map(str, batch)],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for batch in batches
    ]
    go.touch()
    for worker in workers:
        _, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
    shared = Collection("shared", settings)
    assert sorted(e.id for e in shared.entries()) == sorted(p.stem for batch in batches for p in batch)
    assert len(shared.documents()) == 16


# -- the command line -----------------------------------------------------------------------
FAST = ["--embedders", "use"]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_qa_index_add_list_remove_and_ask_only(capsys, tmp_path, files):
    cache = str(tmp_path / "cache")
    common = ["--cache-dir", cache, *FAST]
    code, out, err = run(capsys, "index", "add", *map(str, files.values()), "--collection", "notes", "--json", *common)
    assert code == 0, err
    added = json.loads(out)
    assert added["collection"] == "notes"
    assert [(d["id"], d["new"]) for d in added["documents"]] == [("budget", True), ("garden", True)]
    assert all(d["passages"] > 0 for d in added["documents"])
    assert added["passages"] == sum(d["passages"] for d in added["documents"])

    code, out, _ = run(capsys, "index", "add", str(files["garden"]), "--collection", "notes", *common)
    assert code == 0 and "garden" in out and "already in the collection" in out and "qa ask --collection notes" in out

    code, out, _ = run(capsys, "index", "list", "--collection", "notes", "--json", *common)
    listed = json.loads(out)
    assert code == 0 and [d["id"] for d in listed["documents"]] == ["budget", "garden"]
    assert listed["collections"] == ["notes"]
    code, out, _ = run(capsys, "index", "list", "--collection", "notes", *common)
    assert code == 0 and "研究所年度報告" in out and "Garden club minutes" in out

    notes = ["--collection", "notes"]
    for only in ("garden", "budget"):  # both speak of a budget: each is found when chosen
        code, out, _ = run(capsys, "ask", "What is the budget?", *notes, "--only", only, "-k", "2", "--json", *common)
        assert code == 0
        answer = json.loads(out)
        assert answer["citations"] and {c["doc_id"] for c in answer["citations"]} == {only}
        code, out, _ = run(capsys, "search", "What is the budget?", *notes, "--only", only, "--json", *common)
        assert code == 0 and {c["doc_id"] for c in json.loads(out)} == {only}
    code, out, _ = run(capsys, "search", "What is the budget?", *notes, "--json", *common)
    found = json.loads(out)
    assert code == 0 and {c["doc_id"] for c in found} == {"garden", "budget"}
    code, out, _ = run(capsys, "cite", found[0]["id"], *notes, "--json", *common)
    assert code == 0 and json.loads(out)["citation"]["text"] == found[0]["text"]

    code, out, _ = run(capsys, "index", "remove", "garden", "--collection", "notes", *common)
    assert code == 0 and "removed garden" in out
    code, out, _ = run(capsys, "index", "--collection", "notes", "--json", *common)  # what is indexed, as before
    assert code == 0 and [d["id"] for d in json.loads(out)["documents"]] == ["budget"]


def test_qa_index_add_uses_the_default_collection(capsys, tmp_path, files):
    cache = str(tmp_path / "cache")
    code, out, _ = run(capsys, "index", "list", "--cache-dir", cache)
    assert code == 0 and "has no documents" in out
    code, _, _ = run(capsys, "index", "add", str(files["garden"]), "--cache-dir", cache, *FAST)
    assert code == 0
    code, out, _ = run(capsys, "index", "list", "--json", "--cache-dir", cache)
    assert json.loads(out)["collection"] == "default" and json.loads(out)["documents"][0]["id"] == "garden"


def test_collection_errors_are_one_line(capsys, tmp_path, files):
    cache = str(tmp_path / "cache")
    common = ["--cache-dir", cache, *FAST]
    bad = write(tmp_path / "in" / "bad.txt", "")
    bad.write_bytes(b"\xff\xfe\x00")
    checks = [
        (["index", "add", str(files["garden"]), str(bad)], f"qa: error: {bad}: not UTF-8"),
        (["index", "add", str(files["garden"]), "--collection", "../up"], "qa: error: bad collection name '../up'"),
        (["ask", "預算", "--collection", "nothing"], "qa: error: there is no collection 'nothing'"),
        (["index", "list", "--collection", "nothing"], "qa: error: there is no collection 'nothing'"),
        (["ask", "預算", "--collection", "x", "--doc", str(files["garden"])], "qa: error: give --doc or --collection"),
        (["index", "remove", "nope"], "qa: error: there is no collection 'default'"),
        (["serve", "--collection", "nothing", "--port", "1"], "qa: error: there is no collection 'nothing'"),
        (["eval", "x.json", "--drcd", "--collection", "c"], "qa: error: --collection cannot be used with --drcd"),
    ]
    for argv, start in checks:
        code, out, err = run(capsys, *argv, *common)
        assert code == 1 and out == "" and err.startswith(start) and err.count("\n") == 1, (argv, err)
    assert not (tmp_path / "cache" / "collections" / "default").exists()  # the failed add left nothing
    run(capsys, "index", "add", str(files["garden"]), *common)
    code, _, err = run(capsys, "index", "remove", "nope", *common)
    assert code == 1
    assert err == "qa: error: the collection 'default' has no document 'nope'; its documents are: garden\n"
    code, _, err = run(capsys, "ask", "預算", "--only", "nope", "--collection", "default", *common)
    assert code == 1 and err == "qa: error: unknown document id 'nope'; the documents are: garden\n"


def test_the_installed_command_adds_in_a_new_process(tmp_path, files):
    env = dict(os.environ, PYTHONIOENCODING="utf-8", PYTHONPATH=str(ROOT))
    cache = str(tmp_path / "cache")
    argv = ["index", "add", str(files["budget"]), "--collection", "work", "--cache-dir", cache, *FAST]
    done = subprocess.run(
        [sys.executable, "-m", "qa", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    assert "budget" in done.stdout and "研究所年度報告" in done.stdout and "added" in done.stdout
    assert [e.id for e in Collection("work", Settings(cache_dir=Path(cache))).entries()] == ["budget"]


# -- the real models ------------------------------------------------------------------------
ENGLISH_REPORT = """# Harbour Bridge maintenance report 2024

## Repainting

The repainting of the north span began in March and will be finished by the end of October 2024.
Crews work at night so that traffic keeps moving during the day.

## Costs

The city council approved a budget of 4.2 million dollars for the repainting and the new lighting.
"""


@pytest.mark.slow
def test_real_models_cite_the_right_document_of_two(real_assistant, real_cache_dir, tmp_path):
    settings = Settings(cache_dir=real_cache_dir, progress=False)
    report = write(tmp_path / "harbour-bridge.md", ENGLISH_REPORT)
    chapter = shutil.copy(default_document_path(), tmp_path / "chapter.txt")
    Collection("two-documents", settings).add([report, chapter])
    # the session's loaded models: no second load, and the same settings keys (fusion weights, floors)
    assistant = Assistant(collection="two-documents", settings=settings, embedders=real_assistant.embedders)

    chinese = assistant.ask("川金會在哪一天舉行？", k=3)
    assert not chinese.abstained and chinese.citations[0].doc_id == "chapter"
    assert "6月12日" in "".join(c.text for c in chinese.citations)
    english = assistant.ask("When will the repainting of the north span be finished?", k=3)
    assert not english.abstained and english.citations[0].doc_id == "harbour-bridge"
    assert english.citations[0].doc_title == "Harbour Bridge maintenance report 2024"
    assert "October 2024" in english.text
    only = assistant.search("川金會在哪一天舉行？", k=3, documents=["harbour-bridge"])
    assert {c.doc_id for c in only} == {"harbour-bridge"}

    same = Assistant(settings=settings, embedders=real_assistant.embedders)  # the chapter alone, models shared
    question = "How much did South Korea contribute to USFK costs in 2018?"
    assert same.ask(question).to_dict() == real_assistant.ask(question).to_dict()
