"""What an API request asks to do, in RBAC terms (Kubernetes' RequestInfo).

``verb`` is get, list, watch, create, update, patch, delete or
deletecollection for resource requests, and the lowercase HTTP method for
everything else (discovery, /version, /openapi).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs

_METHOD_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


@dataclass(frozen=True)
class RequestInfo:
    """The attributes authorization and the request log look at."""

    verb: str
    path: str
    is_resource: bool = False
    api_group: str = ""
    api_version: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""

    @property
    def resource_label(self) -> str:
        """``pods``, ``pods/log``, ``jobs.batch/status``: how logs and tests name it."""
        qualified = f"{self.resource}.{self.api_group}" if self.api_group else self.resource
        return f"{qualified}/{self.subresource}" if self.subresource else qualified


def parse_request(method: str, path: str, query: str) -> RequestInfo:
    """Classify one request. Never raises: unknown shapes are non-resource requests."""
    parts = [p for p in path.split("/") if p]
    verb_nonresource = method.lower()
    if len(parts) >= 2 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return RequestInfo(verb=verb_nonresource, path=path)
    if not rest:
        return RequestInfo(verb=verb_nonresource, path=path)
    namespace = ""
    if rest[0] == "namespaces" and len(rest) >= 3:
        namespace, rest = rest[1], rest[2:]
    elif rest[0] == "namespaces" and len(rest) == 2:
        namespace = rest[1]  # the namespace object itself
    resource = rest[0]
    name = rest[1] if len(rest) >= 2 else ""
    subresource = rest[2] if len(rest) >= 3 else ""
    params = parse_qs(query)
    watching = params.get("watch", ["false"])[0].lower() in ("1", "true")
    if method in ("GET", "HEAD"):
        verb = "watch" if watching else ("get" if name else "list")
    elif method == "DELETE" and not name:
        verb = "deletecollection"
    else:
        verb = _METHOD_VERBS.get(method, method.lower())
    return RequestInfo(
        verb=verb,
        path=path,
        is_resource=True,
        api_group=group,
        api_version=version,
        resource=resource,
        subresource=subresource,
        namespace=namespace,
        name=name,
    )
