"""The chart as a user gets it: rendered by Helm's own Go SDK (helm-python-sdk)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "guestbook-ledger"
CRDS = REPO / "crds"
RELEASE = "gb"
FULL = f"{RELEASE}-guestbook-ledger"  # the release's full name, which object names start with
NAMESPACE = "guestbook"
DSN = "postgresql://guestbook:secret@postgres.db.svc:5432/guestbook"
# The least a user must say: where the ledger database is.
MINIMAL: dict[str, Any] = {"database": {"dsn": DSN}}

Obj = dict[str, Any]


@dataclass(frozen=True)
class Rendered:
    """The objects a release would create, its hooks (`helm test`'s objects), and
    its NOTES.txt."""

    objects: list[Obj]
    notes: str
    hooks: list[Obj]

    def all(self, kind: str) -> list[Obj]:
        return [o for o in self.objects if o["kind"] == kind]

    def one(self, kind: str, name: str, namespace: str | None = None) -> Obj:
        """The object of ``kind`` and ``name`` (in ``namespace`` when given); AssertionError
        unless exactly one matches."""
        found = [
            o
            for o in self.all(kind)
            if o["metadata"]["name"] == name
            and (namespace is None or o["metadata"].get("namespace") == namespace)
        ]
        assert len(found) == 1, f"{len(found)} {kind} named {name!r} in {self.names()}"
        return found[0]

    def names(self) -> list[str]:
        return sorted(
            f"{o['kind']}/{o['metadata'].get('namespace', '')}/{o['metadata']['name']}"
            for o in self.objects
        )


def render(values: Obj, *, namespace: str = NAMESPACE) -> Rendered:
    """Render the chart for an install of release ``gb``; raises helm's HelmError."""
    with helm.Chart.load(CHART) as chart:
        files = chart.render(values, name=RELEASE, namespace=namespace, is_install=True)
    objects: list[Obj] = []
    hooks: list[Obj] = []
    for path, text in sorted(files.items()):
        if path.endswith(".yaml"):
            for doc in yaml.safe_load_all(text):
                if doc and "helm.sh/hook" in (doc["metadata"].get("annotations") or {}):
                    hooks.append(doc)
                elif doc:
                    objects.append(doc)
    notes = next((t for p, t in files.items() if p.endswith("NOTES.txt")), "")
    return Rendered(objects, notes, hooks)


def container(deployment: Obj) -> Obj:
    """The Deployment's only container."""
    containers: list[Obj] = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def env_of(container: Obj) -> dict[str, Any]:
    """A container's environment: name -> value, or its valueFrom."""
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def rules_of(role: Obj) -> Iterator[tuple[str, str, str]]:
    """Every (apiGroup, resource, verb) a Role or ClusterRole grants."""
    for rule in role["rules"]:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    yield group, resource, verb
