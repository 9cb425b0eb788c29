"""One exclusive lock across processes on a lock file, for the caches and data
folders that concurrent test sessions and commands share."""

from __future__ import annotations

import fcntl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def file_lock(path: Path, on_wait: Callable[[], None] = lambda: None) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if missing; its folder must
    exist); ``on_wait()`` is called first when another process holds it. Closing
    the file on leaving releases the lock."""
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            on_wait()
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield
