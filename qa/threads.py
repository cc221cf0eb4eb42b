"""The threads a question runs on.

On two cores a lone question is fastest with e5 on both (a short question takes about 15 ms
against 28 ms on one); questions in flight together take one core each, since two OpenMP workers
per question would only wait for each other. OpenMP's setting is the calling thread's own, so
each question sets it for itself.

Numerical libraries' idle workers spin for a while after each call: OpenBLAS's after a numpy
matrix product spin long enough to take the core e5 is about to need (a lone question's e5 pass
went from 15 to 32 ms at p50, 119 ms at p95). So while any question is in flight, BLAS, whose
setting is process-wide, runs on one thread. Indexing keeps every thread.

numpy's OpenBLAS (0.3.31) takes a new setting from any thread only until the main thread has set
one; after that, only the main thread's settings count. A server, which answers on worker threads,
therefore sets BLAS to one thread for good from its main thread (:func:`serve_questions`).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_lock = threading.Lock()
_in_flight = 0
_blas_limit: Any = None


@functools.cache
def _threadpools() -> Any:
    """One ``threadpoolctl.ThreadpoolController``, made at the first question (making one scans the
    loaded libraries, about a millisecond)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def serve_questions() -> None:
    """For a process whose work is answering on worker threads (``qa serve``): BLAS on one thread
    from now on. Call it from the main thread; indexing then takes one BLAS thread too."""
    _threadpools().limit(limits=1, user_api="blas")


@contextmanager
def question_threads() -> Iterator[None]:
    """Run a question: OpenMP on every core if it is the only one in flight, else on one; BLAS
    on one thread while any question is in flight."""
    global _in_flight, _blas_limit
    pools = _threadpools()
    with _lock:
        _in_flight += 1
        alone = _in_flight == 1
        if _blas_limit is None:
            _blas_limit = pools.limit(limits=1, user_api="blas")
    openmp = None if alone else pools.limit(limits=1, user_api="openmp")
    try:
        yield
    finally:
        if openmp is not None:
            openmp.restore_original_limits()
        with _lock:
            _in_flight -= 1
            if _in_flight == 0 and _blas_limit is not None:
                _blas_limit.restore_original_limits()
                _blas_limit = None
