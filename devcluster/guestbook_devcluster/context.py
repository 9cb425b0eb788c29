"""Everything a request handler needs, passed explicitly (no globals)."""

from __future__ import annotations

from dataclasses import dataclass, field

from guestbook_devcluster.logs import LogSource, NoLogs
from guestbook_devcluster.registry import Registry
from guestbook_devcluster.storage import Storage


@dataclass
class ApiContext:
    """The server's state: resources, objects, log source and settings.

    ``bookmark_interval`` is the seconds between BOOKMARK events on watches
    that allow them; ``max_watch_seconds`` bounds a watch without timeoutSeconds.
    """

    registry: Registry
    storage: Storage
    logs: LogSource = field(default_factory=NoLogs)
    bookmark_interval: float = 30.0
    max_watch_seconds: float = 1800.0
    server_address: str = "127.0.0.1:0"
