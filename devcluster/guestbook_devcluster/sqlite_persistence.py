"""Durable objects in one SQLite file (``--data-dir DIR`` → ``DIR/objects.sqlite3``).

Writes arrive under the storage lock on the request path, so they are handed
to one writer thread that commits them in groups (every few milliseconds, or
at once when idle): a burst of 1,000 status patches costs a handful of
fsyncs, not 1,000. ``close()`` drains the queue, so a clean stop loses nothing;
a hard kill loses at most the last group (about 10 ms of writes).
The last resourceVersion is stored with the objects so that versions keep
increasing after a restart and watchers can resume.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

from guestbook_devcluster.persistence import ResourceKey

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    grp TEXT NOT NULL, plural TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
    raw BLOB NOT NULL, rv INTEGER NOT NULL,
    PRIMARY KEY (grp, plural, namespace, name)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""

# (group, plural, namespace, name, raw or None for a deletion, resourceVersion)
_Write = tuple[str, str, str, str, bytes | None, int]
_GROUP_SECONDS = 0.01


class SqlitePersistence:
    """A ``Persistence`` backed by ``DIR/objects.sqlite3``.

    Raises ``sqlite3.Error`` from the constructor when the file cannot be
    opened or is not a database this server wrote.
    """

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / "objects.sqlite3"
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._queue: queue.Queue[_Write | None] = queue.Queue()
        self._writer = threading.Thread(target=self._write_loop, name="sqlite-writer", daemon=True)
        self._writer.start()
        self._closed = False

    def load(self) -> tuple[int, Iterable[tuple[ResourceKey, str, str, bytes]]]:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'rv'").fetchone()
        last_rv = int(row[0]) if row else 0
        rows = self._db.execute("SELECT grp, plural, namespace, name, raw FROM objects").fetchall()
        return last_rv, [((g, p), ns, n, bytes(raw)) for g, p, ns, n, raw in rows]

    def put(self, key: ResourceKey, namespace: str, name: str, raw: bytes, rv: int) -> None:
        self._queue.put((key[0], key[1], namespace, name, raw, rv))

    def remove(self, key: ResourceKey, namespace: str, name: str, rv: int) -> None:
        self._queue.put((key[0], key[1], namespace, name, None, rv))

    def close(self) -> None:
        """Write everything queued, then close the file."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._writer.join()
        self._db.close()

    def _write_loop(self) -> None:
        done = False
        while not done:
            first = self._queue.get()
            if first is None:
                break
            group = [first]
            # Gather what else arrives within the group window, then commit once.
            try:
                while len(group) < 5000:
                    item = self._queue.get(timeout=_GROUP_SECONDS if len(group) > 1 else 0.001)
                    if item is None:
                        done = True
                        break
                    group.append(item)
            except queue.Empty:
                pass
            self._commit(group)

    def _commit(self, group: list[_Write]) -> None:
        db = self._db
        db.execute("BEGIN")
        for grp, plural, namespace, name, raw, _rv in group:
            if raw is None:
                db.execute(
                    "DELETE FROM objects WHERE grp=? AND plural=? AND namespace=? AND name=?",
                    (grp, plural, namespace, name),
                )
            else:
                db.execute(
                    "INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?, ?, ?)",
                    (grp, plural, namespace, name, raw, _rv),
                )
        last = max(write[5] for write in group)
        db.execute(
            "INSERT INTO meta VALUES ('rv', ?) ON CONFLICT(key) DO UPDATE SET value = "
            "max(value, excluded.value)",
            (last,),
        )
        db.execute("COMMIT")
