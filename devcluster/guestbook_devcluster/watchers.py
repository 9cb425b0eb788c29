"""Watch events and the per-client queues they are fanned out to.

An event's wire form (one JSON line) is built once and shared by every watcher
that does not filter, so fan-out to many watchers costs one queue append each.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass


@dataclass(slots=True)
class WatchEvent:
    """One change of one object, in resourceVersion order within the server."""

    rv: int
    type: str  # ADDED, MODIFIED, DELETED
    namespace: str
    raw: bytes  # the object after the change (its last state for DELETED)
    old_raw: bytes | None  # the object before the change (MODIFIED only)

    @property
    def line(self) -> bytes:
        """The event as one line of a watch stream."""
        return b'{"type":"' + self.type.encode() + b'","object":' + self.raw + b"}\n"


MAX_QUEUED = 50_000


class Watcher:
    """A queue of events for one watch request, fed from any thread.

    ``namespace`` limits delivery to one namespace (None = all). ``close()``
    ends the stream: the consumer then receives None. A consumer that falls
    ``MAX_QUEUED`` events behind is closed (as the API server drops slow
    watchers); its client re-lists or resumes.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, namespace: str | None) -> None:
        self.loop = loop
        self.namespace = namespace
        self.queue: asyncio.Queue[WatchEvent | None] = asyncio.Queue()
        self._thread = threading.get_ident()
        self.closed = False

    def push(self, event: WatchEvent | None) -> None:
        """Queue an event (None = end of stream); safe to call from any thread."""
        if self.closed:
            return
        if event is not None and self.namespace is not None and event.namespace != self.namespace:
            return
        if event is not None and self.queue.qsize() >= MAX_QUEUED:
            self.close()
            return
        if threading.get_ident() == self._thread:
            self.queue.put_nowait(event)
        else:
            try:
                self.loop.call_soon_threadsafe(self.queue.put_nowait, event)
            except RuntimeError:  # the loop is closed: nobody is listening any more
                self.closed = True

    def close(self) -> None:
        """End the stream (the consumer sees None next)."""
        self.push(None)
        self.closed = True
