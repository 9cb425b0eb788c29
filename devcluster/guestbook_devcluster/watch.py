"""Watch streams: ``?watch=1`` as newline-delimited JSON events.

Semantics follow the API server: without a resourceVersion (or with "0") the
stream starts with an ADDED event per existing object; with one, it resumes
after it, or sends an ERROR event (410 Expired) when that point is older than
the kept history. Selectors apply to events, and an object that stops
(starts) matching is sent as DELETED (ADDED). BOOKMARK events are sent when
allowed, and the stream ends after ``timeoutSeconds``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from guestbook_devcluster import conversion, errors, schema_seam
from guestbook_devcluster.context import ApiContext
from guestbook_devcluster.handlers import list_predicate
from guestbook_devcluster.paths import Target
from guestbook_devcluster.registry import ResourceInfo
from guestbook_devcluster.representation import table_columns
from guestbook_devcluster.watchers import WatchEvent
from guestbook_devcluster.wire import parse_accept

Predicate = Callable[[dict[str, Any]], bool]
INITIAL_EVENTS_END = "k8s.io/initial-events-end"


def _event_line(event_type: str, obj: dict[str, Any]) -> bytes:
    return orjson.dumps({"type": event_type, "object": obj}) + b"\n"


def _bookmark(info: ResourceInfo, rv: int, *, initial_end: bool = False) -> bytes:
    meta: dict[str, Any] = {"resourceVersion": str(rv)}
    if initial_end:
        meta["annotations"] = {INITIAL_EVENTS_END: "true"}
    return _event_line(
        "BOOKMARK", {"kind": info.kind, "apiVersion": info.api_version, "metadata": meta}
    )


class _Presenter:
    """Turns stored events into the stream lines one watcher receives."""

    def __init__(
        self,
        info: ResourceInfo,
        predicate: Predicate | None,
        convert: bool,
        table: bool,
        include_object: str,
    ) -> None:
        self.info = info
        self.predicate = predicate
        self.convert = convert
        self.table = table
        self.include_object = include_object
        self.columns_sent = False

    def line(self, event: WatchEvent) -> bytes | None:
        """The stream line for ``event`` (None: this watcher does not see it)."""
        if self.predicate is None and not self.convert and not self.table:
            return event.line
        obj = orjson.loads(event.raw)
        if self.convert:
            obj = conversion.from_storage(self.info, obj)
        event_type = event.type
        if self.predicate is not None:
            now = self.predicate(obj)
            before = now
            if event.old_raw:
                old = orjson.loads(event.old_raw)
                if self.convert:
                    old = conversion.from_storage(self.info, old)
                before = self.predicate(old)
            if event_type == "MODIFIED":
                if now and not before:
                    event_type = "ADDED"
                elif before and not now:
                    event_type = "DELETED"
                elif not now:
                    return None
            elif not now:
                return None
        if self.table:
            return _event_line(event_type, self._table(obj))
        return _event_line(event_type, obj)

    def _table(self, obj: dict[str, Any]) -> dict[str, Any]:
        table = schema_seam.to_table(
            table_columns(self.info),
            [obj],
            include_object=self.include_object,
            resource_version=str(obj.get("metadata", {}).get("resourceVersion", "")),
            continue_token=None,
        )
        if self.columns_sent:  # as the API server: column definitions come once
            table["columnDefinitions"] = []
        self.columns_sent = True
        return table


def _parse_rv(value: str | None) -> int | None:
    if value in (None, "", "0"):
        return None
    try:
        return int(value)  # type: ignore[arg-type]
    except ValueError:
        raise errors.bad_request(
            f'resourceVersion: Invalid value: "{value}": must be the resourceVersion of a '
            "list or watch response"
        ) from None


async def watch(ctx: ApiContext, request: Request, target: Target) -> Response:
    """Start a watch stream for the collection (or the one object) ``target`` names."""
    info = target.info
    params = request.query_params
    predicate = list_predicate(info, params)
    if target.name is not None:
        name = target.name
        by_name: Predicate = lambda obj: obj.get("metadata", {}).get("name") == name  # noqa: E731
        predicate = by_name if predicate is None else (lambda o: by_name(o) and predicate(o))  # type: ignore[misc]
    since = _parse_rv(params.get("resourceVersion"))
    bookmarks = params.get("allowWatchBookmarks") in ("true", "1")
    send_initial = params.get("sendInitialEvents") == "true"
    if send_initial:
        since = None
    try:
        timeout = float(params.get("timeoutSeconds") or ctx.max_watch_seconds)
    except ValueError:
        raise errors.bad_request("timeoutSeconds must be a number of seconds") from None
    convert = conversion.needed(ctx.registry, info)
    presenter = _Presenter(
        info,
        predicate,
        convert,
        parse_accept(request).table,
        params.get("includeObject", "Metadata"),
    )
    loop = asyncio.get_running_loop()
    try:
        watcher, initial = ctx.storage.watch(info, target.namespace, since, loop)
    except errors.ApiError as exc:
        if exc.code != 410:
            raise
        line = _event_line("ERROR", exc.status())

        async def expired() -> AsyncIterator[bytes]:
            yield line

        return StreamingResponse(expired(), media_type="application/json")
    start_rv = ctx.storage.resource_version

    async def stream() -> AsyncIterator[bytes]:
        try:
            last_rv = start_rv
            batch: list[bytes] = []
            for past in initial:
                line = presenter.line(past)
                if line is not None:
                    batch.append(line)
            if batch:
                yield b"".join(batch)
            if send_initial and bookmarks:
                yield _bookmark(info, start_rv, initial_end=True)
            deadline = time.monotonic() + timeout
            next_bookmark = time.monotonic() + ctx.bookmark_interval
            while True:
                now = time.monotonic()
                wait = deadline - now
                if bookmarks:
                    wait = min(wait, next_bookmark - now)
                if wait <= 0:
                    if now >= deadline:
                        return
                    yield _bookmark(info, max(last_rv, ctx.storage.resource_version))
                    next_bookmark = time.monotonic() + ctx.bookmark_interval
                    continue
                try:
                    first = await asyncio.wait_for(watcher.queue.get(), wait)
                except TimeoutError:
                    continue
                if first is None:
                    return
                lines = []
                event: WatchEvent | None = first
                while event is not None:
                    last_rv = event.rv
                    line = presenter.line(event)
                    if line is not None:
                        lines.append(line)
                    if watcher.queue.empty() or len(lines) >= 100:
                        break
                    event = watcher.queue.get_nowait()
                if lines:
                    yield b"".join(lines)
                if event is None:
                    return
        finally:
            ctx.storage.unwatch(info, watcher)

    return StreamingResponse(
        stream(),
        media_type="application/json",
        headers={"Transfer-Encoding": "chunked", "Cache-Control": "no-cache, private"},
    )
