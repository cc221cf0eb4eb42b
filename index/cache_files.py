"""Crash-safe cache files: a lock between processes, whole-file writes, and leftovers swept up.

Everything the cache writes goes to a temporary name first and is renamed into place after it is
on disk, so a reader (or the next run after a crash or a full disk) sees the old file, the new
one or none, never half of one.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from types import TracebackType

log = logging.getLogger(__name__)

LOCK_TIMEOUT = 600.0
"""Seconds to wait for another process's build before building without the lock."""


class CacheLock:
    """An exclusive lock on ``path`` between processes (POSIX ``fcntl.flock``), as a context manager.

    ``with CacheLock(path) as held:`` waits up to ``timeout`` seconds; ``held`` is ``False`` when the
    lock cannot be had (a read-only or full cache, a file system without locks, no ``fcntl`` on
    this platform, or another holder past the timeout). The caller goes on without it: the cache's
    writes are atomic either way, the lock only spares doing the same work twice. The operating
    system releases the lock when its process dies, so a crash never leaves it held.
    """

    def __init__(self, path: Path, timeout: float = LOCK_TIMEOUT, poll: float = 0.05) -> None:
        if timeout < 0:
            raise ValueError(f"timeout must be non-negative, got {timeout}")
        if poll <= 0:
            raise ValueError(f"poll must be positive, got {poll}")
        self.path = path
        self.timeout = timeout
        self.poll = poll
        self._fd: int | None = None

    def __enter__(self) -> bool:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            return False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            return False  # read-only or full: nothing will be written, nothing to guard
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._fd = fd
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    log.warning("%s is still held after %.0f s; going on without it", self.path, self.timeout)
                    break
                time.sleep(self.poll)
            except OSError:
                break  # no locks on this file system
        os.close(fd)
        return False

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the lock
            self._fd = None


def temporary_name(path: Path, kind: str = "tmp") -> Path:
    """A sibling of ``path`` that no other process or call uses: ``.<name>.<kind>-<pid>-<ns>``."""
    return path.parent / f".{path.name}.{kind}-{os.getpid()}-{time.monotonic_ns()}"


def fsync_path(path: Path) -> None:
    """Flush one file, or one directory's list of names, to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(path: Path) -> None:
    """Flush a directory and everything in it to disk."""
    for p in reversed([path, *sorted(path.rglob("*"))]):  # files before the directories that list them
        fsync_path(p)


def write_file_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary sibling renamed into place; the temporary file
    is removed if anything fails (a read-only or full disk raises :class:`OSError`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.tmp-{os.getpid()}-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        fsync_path(path.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists (this one, or another user's, counts)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists but belongs to someone else
    return True


def remove_leftovers(path: Path) -> list[Path]:
    """Remove the temporary siblings of ``path`` (see :func:`temporary_name`) whose process is gone,
    e.g. after a crash mid-save; return what was removed. Call it holding the lock on ``path``."""
    pattern = re.compile(rf"^\.{re.escape(path.name)}\.[a-z]+-(\d+)-")
    removed = []
    with contextlib.suppress(OSError):
        for sibling in path.parent.iterdir():
            match = pattern.match(sibling.name)
            if match and not process_alive(int(match.group(1))):
                if sibling.is_dir() and not sibling.is_symlink():
                    shutil.rmtree(sibling, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        sibling.unlink()
                removed.append(sibling)
    return removed


def replace_directory(new: Path, directory: Path) -> None:
    """Put the folder ``new`` in the place of ``directory`` (which may exist) by renames, so a reader
    sees the old folder or the new one, never a mix; the old one is removed."""
    aside: Path | None = None
    try:
        try:
            os.rename(new, directory)  # atomic; fails if a non-empty directory is there
        except OSError as exc:
            if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
            aside = temporary_name(directory, "old")
            try:
                os.rename(directory, aside)
            except FileNotFoundError:
                aside = None  # another writer moved it first
            try:
                os.rename(new, directory)
            except OSError as again:
                if again.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                    if aside is not None:  # put the old folder back rather than leave none
                        with contextlib.suppress(OSError):
                            os.rename(aside, directory)
                            aside = None
                    raise
        fsync_path(directory.parent)  # the rename itself
    finally:
        if aside is not None and aside.exists():
            shutil.rmtree(aside, ignore_errors=True)
