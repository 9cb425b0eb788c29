"""Which resources the server serves: built-in kinds plus CRDs registered at run time.

A ``ResourceInfo`` describes one resource in one served version (what discovery
reports and what the REST handlers need). Objects of a resource are stored once
per ``(group, plural)`` whatever the version they were written in.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

ALL_VERBS: tuple[str, ...] = (
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
)


@dataclass(frozen=True)
class ResourceInfo:
    """One servable resource in one version."""

    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    verbs: tuple[str, ...] = ALL_VERBS
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    builtin: bool = True
    # Field selector labels beyond metadata.name / metadata.namespace.
    field_labels: tuple[str, ...] = ()
    # OpenAPI v3 schema of the whole object (CRDs), used for validation and pruning.
    schema: dict[str, Any] | None = field(default=None, compare=False, hash=False)
    printer_columns: tuple[dict[str, Any], ...] = field(default=(), compare=False, hash=False)
    # DELETE without a propagationPolicy orphans dependents (batch/v1 Jobs do this).
    default_orphan: bool = False
    crd_name: str | None = None
    # Unconditional PUT (no metadata.resourceVersion) is allowed for most built-ins.
    allow_unconditional_update: bool = True
    # A resource without status subresource bumps generation on any non-metadata change.

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    # Where objects are stored when another resource's storage is shared
    # (events.k8s.io/v1 Events are core/v1 Events).
    stored_as: tuple[str, str] | None = None

    @property
    def key(self) -> tuple[str, str]:
        """Storage key shared by every version of the resource."""
        return self.stored_as or (self.group, self.plural)

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def qualified(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural


def _r(
    group: str,
    version: str,
    kind: str,
    plural: str,
    *,
    namespaced: bool = True,
    short: tuple[str, ...] = (),
    categories: tuple[str, ...] = (),
    sub: tuple[str, ...] = (),
    fields: tuple[str, ...] = (),
    default_orphan: bool = False,
    stored_as: tuple[str, str] | None = None,
) -> ResourceInfo:
    return ResourceInfo(
        group=group,
        version=version,
        kind=kind,
        plural=plural,
        singular=kind.lower(),
        namespaced=namespaced,
        short_names=short,
        categories=categories,
        subresources=sub,
        field_labels=fields,
        default_orphan=default_orphan,
        stored_as=stored_as,
    )


_EVENT_FIELDS = (
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
)

BUILTINS: tuple[ResourceInfo, ...] = (
    _r(
        "",
        "v1",
        "Namespace",
        "namespaces",
        namespaced=False,
        short=("ns",),
        sub=("status", "finalize"),
        fields=("status.phase",),
    ),
    _r(
        "",
        "v1",
        "Event",
        "events",
        short=("ev",),
        fields=_EVENT_FIELDS,
    ),
    _r(
        "",
        "v1",
        "Pod",
        "pods",
        short=("po",),
        categories=("all",),
        sub=("status", "log"),
        fields=(
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ),
    ),
    _r(
        "",
        "v1",
        "Secret",
        "secrets",
        fields=("type",),
    ),
    _r(
        "",
        "v1",
        "ConfigMap",
        "configmaps",
        short=("cm",),
    ),
    _r(
        "",
        "v1",
        "ServiceAccount",
        "serviceaccounts",
        short=("sa",),
    ),
    _r(
        "",
        "v1",
        "Service",
        "services",
        short=("svc",),
        categories=("all",),
        sub=("status",),
    ),
    # Stored and served only (no controller makes ReplicaSets or pods): enough for
    # Helm charts and `kubectl apply` of Deployments; the job runner runs Jobs only.
    _r(
        "apps",
        "v1",
        "Deployment",
        "deployments",
        short=("deploy",),
        categories=("all",),
        sub=("status",),
    ),
    _r(
        "batch",
        "v1",
        "Job",
        "jobs",
        categories=("all",),
        sub=("status",),
        default_orphan=True,
    ),
    _r(
        "coordination.k8s.io",
        "v1",
        "Lease",
        "leases",
    ),
    _r(
        "events.k8s.io",
        "v1",
        "Event",
        "events",
        short=("ev",),
        fields=(
            "regarding.kind",
            "regarding.namespace",
            "regarding.name",
            "regarding.uid",
            "reason",
            "reportingController",
            "type",
        ),
        stored_as=("", "events"),
    ),
    _r(
        "rbac.authorization.k8s.io",
        "v1",
        "Role",
        "roles",
    ),
    _r(
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        "rolebindings",
    ),
    _r(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        "clusterroles",
        namespaced=False,
    ),
    _r(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        namespaced=False,
    ),
    _r(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        namespaced=False,
        short=("crd", "crds"),
        categories=("api-extensions",),
        sub=("status",),
    ),
)

# Group order in discovery: the legacy core group first, then built-in groups.
BUILTIN_GROUP_ORDER: tuple[str, ...] = (
    "",
    "apps",
    "apiextensions.k8s.io",
    "batch",
    "coordination.k8s.io",
    "events.k8s.io",
    "rbac.authorization.k8s.io",
)

CRD_KEY = ("apiextensions.k8s.io", "customresourcedefinitions")
NAMESPACE_KEY = ("", "namespaces")


def resources_from_crd(crd: dict[str, Any]) -> list[ResourceInfo]:
    """The ResourceInfos a CRD object serves: one per served version.

    Requires a CRD that passed ``validate_crd``; raises KeyError otherwise.
    """
    spec = crd["spec"]
    names = spec["names"]
    group = spec["group"]
    namespaced = spec.get("scope", "Namespaced") == "Namespaced"
    infos: list[ResourceInfo] = []
    for ver in spec["versions"]:
        if not ver.get("served", True):
            continue
        sub: list[str] = []
        subresources = ver.get("subresources") or {}
        if "status" in subresources:
            sub.append("status")
        schema = (ver.get("schema") or {}).get("openAPIV3Schema")
        infos.append(
            ResourceInfo(
                group=group,
                version=ver["name"],
                kind=names["kind"],
                plural=names["plural"],
                singular=names.get("singular") or names["kind"].lower(),
                namespaced=namespaced,
                short_names=tuple(names.get("shortNames") or ()),
                categories=tuple(names.get("categories") or ()),
                subresources=tuple(sub),
                builtin=False,
                schema=schema,
                printer_columns=tuple(ver.get("additionalPrinterColumns") or ()),
                crd_name=crd["metadata"]["name"],
                allow_unconditional_update=False,
            )
        )
    return infos


def _version_priority(version: str) -> tuple[int, int, int]:
    """Kubernetes version ordering: GA > beta > alpha, higher numbers first."""
    import re

    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if not m:
        return (0, 0, 0)
    major = int(m.group(1))
    stage = {"alpha": 1, "beta": 2, None: 3}[m.group(2)]
    minor = int(m.group(3) or 0)
    return (stage, major, minor)


def sort_versions(versions: Iterable[str]) -> list[str]:
    """Versions in Kubernetes priority order (preferred first)."""
    return sorted(set(versions), key=_version_priority, reverse=True)


class Registry:
    """Thread-safe index of servable resources; CRDs come and go at run time."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._by_gvr: dict[tuple[str, str, str], ResourceInfo] = {}
        self._crd_resources: dict[str, list[ResourceInfo]] = {}
        self._listeners: list[Callable[[], None]] = []
        self.generation = 0
        for info in BUILTINS:
            self._by_gvr[(info.group, info.version, info.plural)] = info

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (no arguments) after every CRD registration change."""
        self._listeners.append(listener)

    def _changed(self) -> None:
        self.generation += 1
        for listener in self._listeners:
            listener()

    def lookup(self, group: str, version: str, plural: str) -> ResourceInfo | None:
        """The resource served at ``/apis/{group}/{version}/{plural}``, or None."""
        return self._by_gvr.get((group, version, plural))

    def any_version(self, group: str, plural: str) -> ResourceInfo | None:
        """The preferred served version of a resource, or None if it is not served."""
        with self._lock:
            found = [i for (g, _, p), i in self._by_gvr.items() if g == group and p == plural]
        if not found:
            return None
        order = sort_versions(i.version for i in found)
        return next(i for i in found if i.version == order[0])

    def find_kind(self, api_version: str, kind: str) -> ResourceInfo | None:
        """The resource whose objects have this apiVersion and kind, or None."""
        group, _, version = api_version.rpartition("/")
        with self._lock:
            for info in self._by_gvr.values():
                if info.group == group and info.version == version and info.kind == kind:
                    return info
        return None

    def all(self) -> list[ResourceInfo]:
        with self._lock:
            return list(self._by_gvr.values())

    def groups(self) -> list[tuple[str, list[str]]]:
        """Every served group (core ``""`` first) with its versions, preferred first."""
        with self._lock:
            versions: dict[str, set[str]] = {}
            for group, version, _ in self._by_gvr:
                versions.setdefault(group, set()).add(version)
        ordered = [g for g in BUILTIN_GROUP_ORDER if g in versions]
        ordered += sorted(g for g in versions if g not in BUILTIN_GROUP_ORDER)
        return [(g, sort_versions(versions[g])) for g in ordered]

    def resources(self, group: str, version: str) -> list[ResourceInfo]:
        with self._lock:
            return sorted(
                (i for i in self._by_gvr.values() if i.group == group and i.version == version),
                key=lambda i: i.plural,
            )

    def crd_infos(self, crd_name: str) -> list[ResourceInfo]:
        with self._lock:
            return list(self._crd_resources.get(crd_name, ()))

    def conflicting_names(self, crd: dict[str, Any]) -> str | None:
        """Why this CRD's names clash with another served resource, or None."""
        spec = crd["spec"]
        group, names = spec["group"], spec["names"]
        own = crd["metadata"]["name"]
        wanted = {names["plural"], names.get("singular") or names["kind"].lower()}
        wanted |= set(names.get("shortNames") or ())
        with self._lock:
            for info in self._by_gvr.values():
                if info.group != group or info.crd_name == own:
                    continue
                taken = {info.plural, info.singular, *info.short_names}
                clash = wanted & taken
                if clash:
                    return f'"{sorted(clash)[0]}" is already in use'
                if info.kind == names["kind"]:
                    return f'"{info.kind}" is already in use'
        return None

    def register_crd(self, crd: dict[str, Any]) -> None:
        """Serve (or re-serve, after an update) the resources a CRD defines."""
        infos = resources_from_crd(crd)
        name = crd["metadata"]["name"]
        with self._lock:
            for old in self._crd_resources.pop(name, []):
                self._by_gvr.pop((old.group, old.version, old.plural), None)
            for info in infos:
                self._by_gvr[(info.group, info.version, info.plural)] = info
            self._crd_resources[name] = infos
        self._changed()

    def unregister_crd(self, name: str) -> None:
        """Stop serving the resources of the CRD called ``name`` (no-op if unknown)."""
        with self._lock:
            old = self._crd_resources.pop(name, [])
            for info in old:
                self._by_gvr.pop((info.group, info.version, info.plural), None)
        if old:
            self._changed()
