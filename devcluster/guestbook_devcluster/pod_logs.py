"""``GET /api/v1/namespaces/{ns}/pods/{name}/log`` served from the cluster's LogSource."""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from guestbook_devcluster import errors
from guestbook_devcluster.context import ApiContext
from guestbook_devcluster.logs import LogRequest
from guestbook_devcluster.paths import Target


def _int(request: Request, name: str) -> int | None:
    value = request.query_params.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)  # type: ignore[arg-type]
    except ValueError:
        raise errors.bad_request(f"{name} must be an integer") from None


async def pod_log(ctx: ApiContext, request: Request, target: Target) -> Response:
    """Stream a container's log; raises NotFound or BadRequest like the API server."""
    if request.method != "GET":
        raise errors.method_not_allowed("pods/log only supports GET")
    assert target.name is not None and target.namespace is not None
    pod = ctx.storage.get(target.info, target.namespace, target.name)
    containers = [c.get("name", "") for c in (pod.get("spec") or {}).get("containers") or []]
    container = request.query_params.get("container") or ""
    if not container:
        if len(containers) != 1:
            raise errors.bad_request(
                f"a container name must be specified for pod {target.name}, choose one of: "
                f"[{' '.join(containers)}]"
            )
        container = containers[0]
    elif container not in containers:
        raise errors.bad_request(f"container {container} is not valid for pod {target.name}")
    params = request.query_params
    log_request = LogRequest(
        namespace=target.namespace,
        pod=target.name,
        container=container,
        follow=params.get("follow") in ("true", "1"),
        tail_lines=_int(request, "tailLines"),
        since_seconds=_int(request, "sinceSeconds"),
        timestamps=params.get("timestamps") in ("true", "1"),
        limit_bytes=_int(request, "limitBytes"),
        previous=params.get("previous") in ("true", "1"),
    )

    async def body() -> AsyncIterator[bytes]:
        async for chunk in ctx.logs.stream(log_request, pod):
            yield chunk

    return StreamingResponse(body(), media_type="text/plain")
