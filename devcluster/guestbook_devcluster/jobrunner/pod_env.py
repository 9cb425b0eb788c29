"""A container's environment from its pod spec, as the kubelet computes it.

``envFrom`` sources come first (in order), then ``env`` entries, which win.
``$(NAME)`` in values, command and args expands to variables defined before
(``$$`` escapes a dollar), like Kubernetes does.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

Obj = dict[str, Any]
# lookup(kind, namespace, name) -> object or None; kind is "Secret" or "ConfigMap".
Lookup = Callable[[str, str, str], Awaitable[Obj | None]]


class EnvError(Exception):
    """A referenced Secret, ConfigMap or key is missing (CreateContainerConfigError).

    The kubelet keeps the pod Pending and tries again, as Kubernetes does.
    """


_LABEL_REF = re.compile(r"^metadata\.(labels|annotations)\['([^']*)'\]$")
_VAR_REF = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


def expand(text: str, variables: Mapping[str, str]) -> str:
    """Expand ``$(NAME)`` from ``variables``; unknown references stay as written."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        return variables.get(name, match.group(0))

    return _VAR_REF.sub(replace, text)


def field_value(pod: Obj, field_path: str) -> str:
    """The value of a ``fieldRef.fieldPath`` for ``pod``.

    Raises EnvError for a path Kubernetes does not support in the downward API.
    """
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    simple = {
        "metadata.name": meta.get("name"),
        "metadata.namespace": meta.get("namespace"),
        "metadata.uid": meta.get("uid"),
        "spec.nodeName": spec.get("nodeName"),
        "spec.serviceAccountName": spec.get("serviceAccountName") or "default",
        "status.podIP": status.get("podIP") or "127.0.0.1",
        "status.hostIP": status.get("hostIP") or "127.0.0.1",
    }
    if field_path in simple:
        return str(simple[field_path] or "")
    match = _LABEL_REF.match(field_path)
    if match:
        return str((meta.get(match.group(1)) or {}).get(match.group(2), ""))
    raise EnvError(f'unsupported fieldRef fieldPath "{field_path}"')


def _decoded(source: Obj, kind: str) -> dict[str, str]:
    if kind == "ConfigMap":
        return {str(k): str(v) for k, v in (source.get("data") or {}).items()}
    values = {
        str(k): base64.b64decode(str(v)).decode("utf-8", "replace")
        for k, v in (source.get("data") or {}).items()
    }
    values.update({str(k): str(v) for k, v in (source.get("stringData") or {}).items()})
    return values


async def _source(lookup: Lookup, kind: str, namespace: str, name: str) -> dict[str, str] | None:
    obj = await lookup(kind, namespace, name)
    return None if obj is None else _decoded(obj, kind)


async def _key_ref(lookup: Lookup, kind: str, namespace: str, ref: Obj) -> str | None:
    name, key = str(ref.get("name") or ""), str(ref.get("key") or "")
    optional = bool(ref.get("optional"))
    values = await _source(lookup, kind, namespace, name)
    noun = "secret" if kind == "Secret" else "configmap"
    if values is None:
        if optional:
            return None
        raise EnvError(f'{noun} "{name}" not found')
    if key not in values:
        if optional:
            return None
        raise EnvError(f"couldn't find key {key} in {kind} {namespace}/{name}")
    return values[key]


def _resource_field(container: Obj, ref: Obj) -> str:
    resource = str(ref.get("resource") or "")
    section, _, name = resource.partition(".")
    value = ((container.get("resources") or {}).get(section) or {}).get(name)
    return str(value) if value is not None else "0"


async def resolve_env(pod: Obj, container: Obj, lookup: Lookup) -> dict[str, str]:
    """The environment variables ``container`` of ``pod`` gets, in definition order.

    Raises EnvError when a non-optional Secret, ConfigMap or key is missing.
    """
    namespace = str((pod.get("metadata") or {}).get("namespace") or "default")
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        prefix = str(source.get("prefix") or "")
        for kind, field in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
            ref = source.get(field)
            if ref is None:
                continue
            values = await _source(lookup, kind, namespace, str(ref.get("name") or ""))
            if values is None:
                if ref.get("optional"):
                    continue
                noun = "secret" if kind == "Secret" else "configmap"
                raise EnvError(f'{noun} "{ref.get("name")}" not found')
            env.update({prefix + k: v for k, v in values.items()})
    for entry in container.get("env") or []:
        name = str(entry.get("name") or "")
        if "value" in entry or "valueFrom" not in entry:
            env[name] = expand(str(entry.get("value") or ""), env)
            continue
        value_from = entry.get("valueFrom") or {}
        value: str | None
        if "secretKeyRef" in value_from:
            value = await _key_ref(lookup, "Secret", namespace, value_from["secretKeyRef"])
        elif "configMapKeyRef" in value_from:
            value = await _key_ref(lookup, "ConfigMap", namespace, value_from["configMapKeyRef"])
        elif "fieldRef" in value_from:
            value = field_value(pod, str(value_from["fieldRef"].get("fieldPath") or ""))
        elif "resourceFieldRef" in value_from:
            value = _resource_field(container, value_from["resourceFieldRef"])
        else:
            raise EnvError(f"env var {name} has an empty valueFrom")
        if value is not None:
            env[name] = value
    return env
