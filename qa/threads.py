"""Answer each question on one OpenMP thread.

A question's work is small (one short text through e5, a few matrix products). With two OpenMP
workers, e5's idle workers spin beside numpy's BLAS threads on a 2-core machine and a warm ``ask``
takes about 55 ms at p50; on one thread it takes about 39 ms. Indexing keeps every thread.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from threadpoolctl import threadpool_limits

_lock = threading.Lock()
_active = 0
_limits: threadpool_limits | None = None


@contextmanager
def one_openmp_thread() -> Iterator[None]:
    """Limit OpenMP to one thread while any caller is inside (the limit is process-wide)."""
    global _active, _limits
    with _lock:
        if _active == 0:
            _limits = threadpool_limits(limits=1, user_api="openmp")
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and _limits is not None:
                _limits.restore_original_limits()
                _limits = None
