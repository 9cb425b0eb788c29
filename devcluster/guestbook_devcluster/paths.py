"""Resource URLs of the Kubernetes API, parsed into what they address.

/api/v1/{resource}[/{name}[/{subresource}]]
/api/v1/namespaces/{namespace}/{resource}[/{name}[/{subresource}]]
/apis/{group}/{version}/...   (same shapes)
"""

from __future__ import annotations

from dataclasses import dataclass

from guestbook_devcluster import errors
from guestbook_devcluster.registry import Registry, ResourceInfo


@dataclass(frozen=True)
class Target:
    """The resource, namespace, name and subresource a request addresses."""

    info: ResourceInfo
    namespace: str | None  # None: all namespaces (or cluster-scoped)
    name: str | None
    subresource: str | None


def _unknown(group: str, version: str, resource: str) -> errors.ApiError:
    where = f"{group}/{version}" if group else version
    return errors.ApiError(
        404,
        "NotFound",
        f'the server could not find the requested resource (resource "{resource}" is not '
        f"served in {where}; run `kubectl api-resources` to list what is)",
    )


def parse(registry: Registry, group: str, version: str, rest: list[str]) -> Target:
    """Resolve the path segments after ``/apis/{group}/{version}``; raises NotFound."""
    namespace: str | None = None
    if (
        len(rest) >= 3
        and rest[0] == "namespaces"
        and not (len(rest) == 3 and group == "" and rest[2] in ("status", "finalize"))
    ):
        namespace, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3 or not all(rest):
        raise _unknown(group, version, "/".join(rest))
    info = registry.lookup(group, version, rest[0])
    if info is None:
        raise _unknown(group, version, rest[0])
    if namespace is not None and not info.namespaced:
        raise _unknown(group, version, rest[0])
    name = rest[1] if len(rest) >= 2 else None
    sub = rest[2] if len(rest) == 3 else None
    if sub is not None and sub not in info.subresources:
        raise _unknown(group, version, f"{rest[0]}/{sub}")
    if info.namespaced and name is not None and namespace is None:
        raise _unknown(group, version, f"{rest[0]}/{name}")
    return Target(info, namespace, name, sub)
