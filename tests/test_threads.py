"""qa.threads: the questions in flight, and the query encoders run side by side only when a
question is alone (no timings here: those are benchmarks/speed.py's and benchmarks/load.py's)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from conftest import FakeHashEmbedder

from corpus import parse_text
from index.chunking import ChunkSplitter
from index.store import IndexBuilder
from qa.language import analyze
from qa.retrieval import Retrievers
from qa.threads import QUESTIONS, InFlight, QueryEncoders, one_question


def _recording(log: list[tuple[str, int]], barrier: threading.Barrier | None = None):
    """Calls that note their key and thread, and (with ``barrier``) wait until all are running."""

    def call(key: str):
        def run() -> str:
            log.append((key, threading.get_ident()))
            if barrier is not None:
                barrier.wait()
            return key.upper()

        return run

    return call


def test_alone_the_encoders_run_side_by_side() -> None:
    log: list[tuple[str, int]] = []
    call = _recording(log, threading.Barrier(2, timeout=10))  # passes only if both run at once
    encoders = QueryEncoders(2, in_flight=InFlight())
    with encoders.in_flight:
        result = encoders.run({"e5": call("e5"), "use": call("use")})
    assert result == {"e5": "E5", "use": "USE"}
    assert list(result) == ["e5", "use"]
    threads = dict(log)
    assert threads["use"] == threading.get_ident()  # the last on the caller's thread
    assert threads["e5"] != threading.get_ident()


def test_with_others_in_flight_they_run_one_at_a_time_on_the_callers_thread() -> None:
    log: list[tuple[str, int]] = []
    call = _recording(log)
    in_flight = InFlight()
    encoders = QueryEncoders(2, in_flight=in_flight)
    with in_flight, in_flight:  # this question and another one
        assert not encoders.alone
        result = encoders.run({"e5": call("e5"), "use": call("use")})
    assert result == {"e5": "E5", "use": "USE"}
    assert log == [("e5", threading.get_ident()), ("use", threading.get_ident())]
    assert in_flight.count == 0 and encoders.alone


def test_an_encoders_error_is_raised_after_every_encoder_finished() -> None:
    finished = threading.Event()

    def fails() -> str:
        raise RuntimeError("model broke")

    def slow() -> str:
        finished.wait(0.05)
        finished.set()
        return "ok"

    encoders = QueryEncoders(2, in_flight=InFlight())
    with pytest.raises(RuntimeError, match="model broke"):
        encoders.run({"e5": fails, "use": slow})
    assert finished.is_set()


@pytest.mark.parametrize("kwargs", [{"workers": 0}, {"workers": 2, "threads_alone": -1}])
def test_query_encoders_check_their_settings(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        QueryEncoders(**kwargs)


def test_each_question_counts_while_it_is_answered() -> None:
    before = QUESTIONS.count
    with one_question():
        assert QUESTIONS.count == before + 1
    assert QUESTIONS.count == before


def test_retrievers_find_the_same_alone_and_among_others() -> None:
    document = parse_text("# 川金會\n\n2018年6月12日，川普與金正恩在新加坡會面。\n", doc_id="d")
    embedders = {"a": FakeHashEmbedder(), "b": FakeHashEmbedder(dim=32, name="fake/hash-32")}
    index = IndexBuilder(ChunkSplitter(60, 10), list(embedders.values())).run([document])
    retrievers = Retrievers(index, embedders, top_k=3)
    in_flight = InFlight()
    retrievers.encoders = QueryEncoders(2, in_flight=in_flight)
    query = analyze("川金會在哪裡？")
    with in_flight:
        alone = retrievers.run(query)
    with in_flight, in_flight:
        among_others = retrievers.run(query)
    assert alone.rankings == among_others.rankings
    assert alone.vectors.keys() == among_others.vectors.keys() == {"a", "b"}
    for key in alone.vectors:
        np.testing.assert_array_equal(alone.vectors[key], among_others.vectors[key])
        np.testing.assert_array_equal(alone.vectors[key], embedders[key].embed_queries([query.expanded_text])[0])
