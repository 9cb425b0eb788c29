"""RBAC authorization (``--authorization rbac``), as Kubernetes evaluates it.

A request is allowed when some rule of a Role or ClusterRole bound to the
user (directly, through one of its groups, or as a ServiceAccount) matches
its verb, API group, resource (with subresource) and resourceName; members
of ``system:masters`` may do anything. Discovery and ``/version`` are open to
everyone, like the default ``system:discovery`` binding.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from guestbook_devcluster.request_info import RequestInfo
from guestbook_devcluster.tokens import MASTERS, Identity

Obj = dict[str, Any]
ObjectsOf = Callable[[tuple[str, str]], Iterable[Obj]]

RBAC_GROUP = "rbac.authorization.k8s.io"
ROLES = (RBAC_GROUP, "roles")
CLUSTER_ROLES = (RBAC_GROUP, "clusterroles")
ROLE_BINDINGS = (RBAC_GROUP, "rolebindings")
CLUSTER_ROLE_BINDINGS = (RBAC_GROUP, "clusterrolebindings")

# Built-in ClusterRoles a real cluster bootstraps, used when no stored object has the name.
BUILTIN_CLUSTER_ROLES: dict[str, list[Obj]] = {
    "cluster-admin": [
        {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
        {"nonResourceURLs": ["*"], "verbs": ["*"]},
    ],
}
_PUBLIC_PREFIXES = ("/api", "/apis", "/version", "/openapi", "/healthz", "/livez", "/readyz")


def _matches(values: Iterable[str], wanted: str) -> bool:
    return any(v == "*" or v == wanted for v in values)


def _resource_matches(resources: Iterable[str], resource: str, subresource: str) -> bool:
    combined = f"{resource}/{subresource}" if subresource else resource
    for value in resources:
        if value in ("*", combined):
            return True
        if subresource and value in (f"*/{subresource}", f"{resource}/*"):
            return True
    return False


def rule_allows(rule: Obj, info: RequestInfo) -> bool:
    """Whether one PolicyRule permits the request."""
    verbs = rule.get("verbs") or []
    if not _matches(verbs, info.verb):
        return False
    if not info.is_resource:
        return any(
            url == info.path or url == "*" or (url.endswith("*") and info.path.startswith(url[:-1]))
            for url in rule.get("nonResourceURLs") or []
        )
    if not _matches(rule.get("apiGroups") or [], info.api_group):
        return False
    if not _resource_matches(rule.get("resources") or [], info.resource, info.subresource):
        return False
    names = rule.get("resourceNames") or []
    return not names or info.name in names


def _subject_matches(subject: Obj, identity: Identity, binding_namespace: str) -> bool:
    kind = subject.get("kind")
    if kind == "User":
        return bool(subject.get("name") == identity.user)
    if kind == "Group":
        return subject.get("name") in identity.groups
    if kind == "ServiceAccount":
        account = identity.service_account
        namespace = subject.get("namespace") or binding_namespace
        return account is not None and account == (namespace, subject.get("name"))
    return False


class RbacAuthorizer:
    """Decides requests from the RBAC objects ``objects_of`` returns (read per request)."""

    def __init__(self, objects_of: ObjectsOf) -> None:
        self._objects_of = objects_of

    def _role_rules(self, kind: str, name: str, namespace: str) -> list[Obj]:
        key = ROLES if kind == "Role" else CLUSTER_ROLES
        for role in self._objects_of(key):
            meta = role.get("metadata") or {}
            if meta.get("name") == name and (kind != "Role" or meta.get("namespace") == namespace):
                return list(role.get("rules") or [])
        if kind == "ClusterRole":
            return list(BUILTIN_CLUSTER_ROLES.get(name, []))
        return []

    def rules_for(self, identity: Identity, namespace: str) -> list[Obj]:
        """Every rule that applies to ``identity`` in ``namespace`` ('' = cluster scope)."""
        rules: list[Obj] = []
        for binding in self._objects_of(CLUSTER_ROLE_BINDINGS):
            if any(_subject_matches(s, identity, "") for s in binding.get("subjects") or []):
                ref = binding.get("roleRef") or {}
                rules += self._role_rules("ClusterRole", str(ref.get("name")), "")
        if namespace:
            for binding in self._objects_of(ROLE_BINDINGS):
                if (binding.get("metadata") or {}).get("namespace") != namespace:
                    continue
                if any(
                    _subject_matches(s, identity, namespace) for s in binding.get("subjects") or []
                ):
                    ref = binding.get("roleRef") or {}
                    rules += self._role_rules(str(ref.get("kind")), str(ref.get("name")), namespace)
        return rules

    def allows(self, identity: Identity, info: RequestInfo) -> bool:
        if MASTERS in identity.groups:
            return True
        if not info.is_resource and info.verb == "get" and info.path.startswith(_PUBLIC_PREFIXES):
            return True
        if info.is_resource and info.resource == "namespaces" and info.name:
            namespace = info.name if info.subresource else ""
        else:
            namespace = info.namespace
        return any(rule_allows(rule, info) for rule in self.rules_for(identity, namespace))


def forbidden_message(identity: Identity, info: RequestInfo) -> str:
    """The sentence a real API server answers a denied request with."""
    who = f'User "{identity.user}"'
    if not info.is_resource:
        return f'forbidden: {who} cannot {info.verb} path "{info.path}"'
    resource = f"{info.resource}/{info.subresource}" if info.subresource else info.resource
    subject = f'{info.resource} "{info.name}"' if info.name else info.resource
    where = f' in the namespace "{info.namespace}"' if info.namespace else " at the cluster scope"
    return (
        f'{subject} is forbidden: {who} cannot {info.verb} resource "{resource}" '
        f'in API group "{info.api_group}"{where}'
    )


Grant = tuple[str, str, str]  # (API group, resource[/subresource], verb)


def grants_of(rules: Iterable[Obj]) -> set[Grant]:
    """Every (group, resource, verb) the rules name explicitly (wildcards kept as ``*``)."""
    found: set[Grant] = set()
    for rule in rules:
        for group in rule.get("apiGroups") or []:
            for resource in rule.get("resources") or []:
                for verb in rule.get("verbs") or []:
                    found.add((str(group), str(resource), str(verb)))
    return found


def unused_grants(rules: Iterable[Obj], used: Iterable[RequestInfo]) -> set[Grant]:
    """The grants of ``rules`` that no request in ``used`` needed (least privilege).

    A grant counts as used when it alone would allow one of the requests.
    """
    requests = list(used)
    unused: set[Grant] = set()
    for group, resource, verb in grants_of(rules):
        rule = {"apiGroups": [group], "resources": [resource], "verbs": [verb]}
        if not any(rule_allows(rule, info) for info in requests):
            unused.add((group, resource, verb))
    return unused
