"""A container's environment from its pod spec, as the kubelet computes it.

``envFrom`` sources come first (in order), then ``env`` entries, which win.
``$(NAME)`` in values, command and args expands to variables defined before
(``$$`` escapes a dollar), like Kubernetes does. The downward API
(``fieldRef``, ``resourceFieldRef``) is here too, shared with the
``downwardAPI`` volumes (:mod:`.volumes`).
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
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


@dataclass(frozen=True)
class PodPlace:
    """Where a pod runs: what the downward API says about its node and addresses.

    ``cpu`` (cores) and ``memory`` (bytes) are the node's allocatable
    resources: a ``limits.*`` reference of a container without a limit gives them.
    """

    pod_ip: str
    host_ip: str = "127.0.0.1"
    cpu: float = 1.0
    memory: int = 1 << 30


def _labels_text(values: Obj) -> str:
    # The downwardAPI volume format for metadata.labels/annotations: key="value" lines.
    return "\n".join(f'{k}="{v}"' for k, v in sorted(values.items()))


def field_value(pod: Obj, field_path: str, place: PodPlace, *, volume: bool = False) -> str:
    """The value of a ``fieldRef.fieldPath`` for ``pod`` running at ``place``.

    ``volume`` allows the whole ``metadata.labels``/``metadata.annotations``
    (downwardAPI volumes only). Raises EnvError for a path Kubernetes does not
    support in the downward API.
    """
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    simple = {
        "metadata.name": meta.get("name"),
        "metadata.namespace": meta.get("namespace"),
        "metadata.uid": meta.get("uid"),
        "spec.nodeName": spec.get("nodeName"),
        "spec.serviceAccountName": spec.get("serviceAccountName"),
        "status.podIP": place.pod_ip,
        "status.podIPs": place.pod_ip,
        "status.hostIP": place.host_ip,
        "status.hostIPs": place.host_ip,
    }
    if field_path in simple:
        return str(simple[field_path] or "")
    if volume and field_path in ("metadata.labels", "metadata.annotations"):
        return _labels_text(meta.get(field_path.split(".")[1]) or {})
    match = _LABEL_REF.match(field_path)
    if match:
        return str((meta.get(match.group(1)) or {}).get(match.group(2), ""))
    raise EnvError(f'unsupported fieldRef fieldPath "{field_path}"')


_SUFFIXES = {
    "": 1.0, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
    "Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30, "Ti": 2.0**40, "Pi": 2.0**50, "Ei": 2.0**60,
}  # fmt: skip
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$")


def quantity(text: str) -> float:
    """The value of a Kubernetes resource quantity (``500m``, ``1Gi``, ``2``).

    Raises EnvError for text that is not a quantity.
    """
    match = _QUANTITY.match(text.strip())
    if not match or match.group(2) not in _SUFFIXES:
        raise EnvError(f'"{text}" is not a resource quantity')
    return float(match.group(1)) * _SUFFIXES[match.group(2)]


def resource_field_value(container: Obj, ref: Obj, place: PodPlace) -> str:
    """A ``resourceFieldRef`` value: the request or limit divided by ``divisor``, rounded up.

    A missing limit is the node's allocatable amount, as the kubelet reports it.
    Raises EnvError for an unknown resource.
    """
    resource = str(ref.get("resource") or "")
    section, _, name = resource.partition(".")
    if section not in ("requests", "limits") or name not in ("cpu", "memory", "ephemeral-storage"):
        raise EnvError(f'unsupported resourceFieldRef resource "{resource}"')
    value = ((container.get("resources") or {}).get(section) or {}).get(name)
    if value is not None:
        amount = quantity(str(value))
    elif section == "limits":
        amount = place.cpu if name == "cpu" else float(place.memory)
    else:
        amount = 0.0
    divisor = quantity(str(ref.get("divisor") or "1"))
    return str(math.ceil(amount / divisor)) if amount else "0"


def decoded(source: Obj, kind: str) -> dict[str, str]:
    """The values of a Secret (base64-decoded) or ConfigMap, by key."""
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
    return None if obj is None else decoded(obj, kind)


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


async def resolve_env(pod: Obj, container: Obj, lookup: Lookup, place: PodPlace) -> dict[str, str]:
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
            value = field_value(pod, str(value_from["fieldRef"].get("fieldPath") or ""), place)
        elif "resourceFieldRef" in value_from:
            value = resource_field_value(container, value_from["resourceFieldRef"], place)
        else:
            raise EnvError(f"env var {name} has an empty valueFrom")
        if value is not None:
            env[name] = value
    return env
