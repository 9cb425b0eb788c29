"""The request gate in front of the API: identity, authorization, faults, request log.

An ASGI middleware wrapped around the API application:

1. authenticate the bearer token (unknown tokens are anonymous unless RBAC is on,
   where they get 401 Unauthorized);
2. authorize with RBAC when enabled (403 Forbidden in Status format);
3. apply injected faults (latency, error codes, 410 Gone on watches);
4. record the request (identity, verb, resource, code, fault) in the request log.

It also serves the loopback-only admin endpoint ``/_devcluster/`` that tests
and scripts use to inject faults and read the request log.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

from guestbook_devcluster.errors import ApiError
from guestbook_devcluster.faults import REASONS, FaultInjector
from guestbook_devcluster.rbac import RbacAuthorizer, forbidden_message
from guestbook_devcluster.request_info import RequestInfo, parse_request
from guestbook_devcluster.request_log import RequestLog
from guestbook_devcluster.tokens import ANONYMOUS_IDENTITY, Identity, TokenAuthority

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

ADMIN_PREFIX = "/_devcluster/"
_LOOPBACK = ("127.0.0.1", "::1", "localhost")


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers") or []:
        if name == b"authorization":
            text = bytes(value).decode("latin-1")
            if text.lower().startswith("bearer "):
                return text[7:].strip()
    return None


async def _send_json(send: Send, code: int, body: Any, headers: list[tuple[bytes, bytes]]) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": code,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class AccessLayer:
    """Wraps ``app``; see the module docstring for what it does, in order.

    ``static_tokens`` maps fixed tokens (the admin kubeconfig's) to identities;
    ``authorizer`` None means every authenticated or anonymous request is allowed.
    """

    def __init__(
        self,
        app: App,
        *,
        request_log: RequestLog,
        tokens: TokenAuthority,
        static_tokens: dict[str, Identity] | None = None,
        authorizer: RbacAuthorizer | None = None,
        faults: FaultInjector | None = None,
    ) -> None:
        self.app = app
        self.request_log = request_log
        self.tokens = tokens
        self.static_tokens = dict(static_tokens or {})
        self.authorizer = authorizer
        self.faults = faults

    def identify(self, token: str | None) -> Identity | None:
        """The identity of ``token``; None when RBAC is on and the token is invalid."""
        if token is None:
            return ANONYMOUS_IDENTITY
        identity = self.static_tokens.get(token) or self.tokens.identify(token)
        if identity is None and self.authorizer is None:
            return ANONYMOUS_IDENTITY  # without authorization any token is accepted
        return identity

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope["path"])
        if path.startswith(ADMIN_PREFIX):
            await self._admin(scope, receive, send)
            return
        info = parse_request(str(scope["method"]), path, scope.get("query_string", b"").decode())
        identity = self.identify(_bearer(scope))
        if identity is None:
            error = ApiError(401, "Unauthorized", "Unauthorized: the bearer token is not valid")
            await _send_json(send, 401, error.status(), [])
            self.request_log.add(info, "", (), 401, allowed=False)
            return
        if self.authorizer is not None and not self.authorizer.allows(identity, info):
            error = ApiError(
                403,
                "Forbidden",
                forbidden_message(identity, info),
                name=info.name or None,
                group=info.api_group if info.is_resource else None,
                kind=info.resource or None,
            )
            await _send_json(send, 403, error.status(), [])
            self.request_log.add(info, identity.user, identity.groups, 403, allowed=False)
            return
        fault: str | None = None
        if self.faults is not None:
            decision = self.faults.decide(info)
            fault = decision.fault
            if decision.latency > 0:
                await asyncio.sleep(decision.latency)
            if decision.code is not None:
                await self._fail(send, info, decision.code, decision.retry_after)
                self.request_log.add(
                    info, identity.user, identity.groups, decision.code, fault=fault
                )
                return
        logged = False

        async def recording_send(message: Message) -> None:
            nonlocal logged
            if message["type"] == "http.response.start" and not logged:
                logged = True
                self.request_log.add(
                    info, identity.user, identity.groups, int(message["status"]), fault=fault
                )
            await send(message)

        await self.app(scope, receive, recording_send)

    async def _fail(
        self, send: Send, info: RequestInfo, code: int, retry_after: int | None
    ) -> None:
        reason = REASONS.get(code, "InternalError")
        message = f"injected fault: {reason} ({code}) for {info.verb} {info.resource_label}"
        error = ApiError(code, reason, message, retry_after=retry_after)
        if code == 410 and info.verb == "watch":
            # What a real server does for an expired resourceVersion on a watch:
            # 200, then one ERROR event carrying the 410 Status, then the end.
            line = json.dumps({"type": "ERROR", "object": error.status()}).encode() + b"\n"
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": line})
            return
        headers = [(b"retry-after", str(retry_after).encode())] if retry_after else []
        await _send_json(send, code, error.status(), headers)

    async def _admin(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if client is None or client[0] not in _LOOPBACK:
            await _send_json(send, 403, {"error": "the admin endpoint answers loopback only"}, [])
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        method, what = str(scope["method"]), str(scope["path"])[len(ADMIN_PREFIX) :]
        query = parse_qs(scope.get("query_string", b"").decode())
        try:
            result = self._admin_call(method, what.strip("/"), body, query)
        except (ValueError, KeyError, TypeError) as exc:
            await _send_json(send, 400, {"error": str(exc)}, [])
            return
        if result is None:
            await _send_json(
                send,
                404,
                {"error": "use /_devcluster/faults (GET, POST, DELETE) or /_devcluster/requests"},
                [],
            )
            return
        await _send_json(send, 200, result, [])

    def _admin_call(self, method: str, what: str, body: bytes, query: dict[str, list[str]]) -> Any:
        faults = self.faults
        if what == "faults" and faults is not None:
            if method == "POST":
                command = json.loads(body or b"{}")
                if not isinstance(command, dict):
                    raise ValueError("the body must be a JSON object with an action")
                return faults.apply_admin(command)
            if method == "DELETE":
                faults.clear()
                return {"cleared": True}
            if method == "GET":
                return {
                    "rules": [vars(rule) for rule in faults.rules()],
                    "events": list(faults.events),
                }
        if what == "requests":
            if method == "DELETE":
                self.request_log.clear()
                return {"cleared": True}
            if method == "GET":
                users = query.get("user")
                user = users[0] if users else None
                return {"items": [r.to_json() for r in self.request_log.records(user)]}
        return None
