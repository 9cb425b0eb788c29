"""The ASGI application: discovery, OpenAPI, resource routes and Status errors.

Every failure leaves as a Kubernetes ``Status``; an unexpected exception is
logged and answered with a 500 Status, never a traceback.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from guestbook_devcluster import discovery, errors, handlers, wire
from guestbook_devcluster.context import ApiContext
from guestbook_devcluster.paths import Target, parse
from guestbook_devcluster.pod_logs import pod_log
from guestbook_devcluster.schema_seam import openapi_module
from guestbook_devcluster.watch import watch

log = logging.getLogger("guestbook_devcluster")

_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def _truthy(value: str | None) -> bool:
    return value in ("true", "1", "True")


async def _dispatch(ctx: ApiContext, request: Request, target: Target) -> Response:
    method = request.method
    info = target.info
    if target.subresource == "log":
        return await pod_log(ctx, request, target)
    if target.name is None:
        if method == "GET":
            if _truthy(request.query_params.get("watch")):
                return await watch(ctx, request, target)
            return await handlers.list_(ctx, request, target)
        if method == "POST":
            return await handlers.create(ctx, request, target)
        if method == "DELETE":
            return await handlers.delete_collection(ctx, request, target)
        raise errors.method_not_allowed(
            f"{method} is not supported on a collection of {info.plural}"
        )
    if method == "GET":
        if _truthy(request.query_params.get("watch")):
            return await watch(ctx, request, target)
        return await handlers.get(ctx, request, target)
    if method == "PUT":
        return await handlers.update(ctx, request, target)
    if method == "PATCH":
        return await handlers.patch(ctx, request, target)
    if method == "DELETE":
        return await handlers.delete(ctx, request, target)
    raise errors.method_not_allowed(f"{method} is not supported on a single {info.singular}")


def build_app(ctx: ApiContext) -> Starlette:
    """The API server application for ``ctx`` (routes listed explicitly)."""

    def discovery_response(request: Request, legacy: bool, fallback: Any) -> Response:
        if wire.parse_accept(request).aggregated_discovery:
            return wire.json_response(
                discovery.aggregated(ctx.registry, legacy=legacy),
                media_type=wire.AGGREGATED_DISCOVERY,
            )
        return wire.json_response(fallback)

    async def version(request: Request) -> Response:
        return wire.json_response(discovery.KUBERNETES_VERSION)

    async def api(request: Request) -> Response:
        return discovery_response(request, True, discovery.api_versions(ctx.server_address))

    async def apis(request: Request) -> Response:
        return discovery_response(request, False, discovery.api_group_list(ctx.registry))

    async def healthz(request: Request) -> Response:
        return Response(b"ok", media_type="text/plain")

    async def resources(request: Request) -> Response:
        # The decoded path as uvicorn gives it (building request.url would parse the
        # whole URL again on every request).
        parts = str(request.scope["path"]).strip("/").split("/")
        if len(parts) == 1:  # /api/ or /apis/ (these routes come first: see below)
            if request.method not in ("GET", "HEAD"):
                raise errors.method_not_allowed()
            return await (api if parts[0] == "api" else apis)(request)
        if parts[0] == "api":
            group, version, rest = "", parts[1], parts[2:]
        else:
            if len(parts) == 2:
                body = discovery.api_group(ctx.registry, parts[1])
                if body is None:
                    raise errors.ApiError(
                        404, "NotFound", "the server could not find the requested resource"
                    )
                return wire.json_response(body)
            group, version, rest = parts[1], parts[2], parts[3:]
        if not rest:
            if request.method != "GET":
                raise errors.method_not_allowed()
            body = discovery.resource_list(ctx.registry, group, version)
            if body is None:
                raise errors.ApiError(
                    404, "NotFound", "the server could not find the requested resource"
                )
            return wire.json_response(body)
        return await _dispatch(ctx, request, parse(ctx.registry, group, version, rest))

    async def openapi(request: Request) -> Response:
        module = openapi_module()
        if module is None:
            raise errors.ApiError(
                404, "NotFound", "the server could not find the requested resource"
            )
        response: Response = await module.serve(ctx.registry, request)
        return response

    async def unknown_path(request: Request) -> Response:
        raise errors.ApiError(
            404,
            "NotFound",
            f"the server could not find the requested resource ({request.url.path})",
        )

    async def api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, errors.ApiError)
        return wire.status_response(exc)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        reason = {404: "NotFound", 405: "MethodNotAllowed"}.get(exc.status_code, "BadRequest")
        return wire.status_response(errors.ApiError(exc.status_code, reason, str(exc.detail)))

    async def unexpected(request: Request, exc: Exception) -> Response:
        log.error("unexpected error serving %s %s", request.method, request.url.path, exc_info=exc)
        return wire.status_response(errors.internal(f"{type(exc).__name__}: {exc}"))

    app = Starlette(
        routes=[
            # Resource requests first: the router tries routes in order, and nearly
            # every request is one. They also match "/api/" and "/apis/" (see resources).
            Route("/apis/{rest:path}", resources, methods=_METHODS),
            Route("/api/{rest:path}", resources, methods=_METHODS),
            Route("/version", version),
            Route("/version/", version),
            Route("/healthz", healthz),
            Route("/livez", healthz),
            Route("/readyz", healthz),
            Route("/api", api),
            Route("/apis", apis),
            Route("/openapi/{rest:path}", openapi),
            Route("/{rest:path}", unknown_path, methods=_METHODS),
        ],
        exception_handlers={
            errors.ApiError: api_error,
            HTTPException: http_error,
            Exception: unexpected,
        },
    )
    return _SwallowReraised(app)  # type: ignore[return-value]


class _SwallowReraised:
    """Starlette re-raises unexpected errors after answering them with a 500 Status;
    they are logged already, so stop them here instead of letting uvicorn print them."""

    def __init__(self, app: Starlette) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await self.app(scope, receive, send)
        except Exception:  # answered and logged by the `unexpected` handler
            if scope.get("type") != "http":
                raise
