"""Just enough of Kubernetes' protobuf encoding to read what kubectl's typed clients send.

``kubectl create namespace|configmap|secret|serviceaccount|service|job`` encode the new
object as protobuf (``application/vnd.kubernetes.protobuf``), and Helm's release
storage deletes its Secrets with protobuf DeleteOptions; everything else
kubectl and Helm write is JSON. This decodes those kinds into the JSON form.
Other kinds raise UnsupportedMediaType with a hint to use JSON.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Any

from guestbook_devcluster import errors

MAGIC = b"k8s\x00"
Fields = list[tuple[int, int, Any]]  # (field number, wire type, value)


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(data: bytes) -> Iterator[tuple[int, int, Any]]:
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            yield number, wire, value
        elif wire == 2:
            length, pos = _varint(data, pos)
            yield number, wire, data[pos : pos + length]
            pos += length
        elif wire == 1:
            yield number, wire, data[pos : pos + 8]
            pos += 8
        elif wire == 5:
            yield number, wire, data[pos : pos + 4]
            pos += 4
        else:
            raise ValueError(f"unsupported wire type {wire}")


def _map_entry(data: bytes, value_as: Callable[[bytes], Any]) -> tuple[str, Any]:
    key, value = "", value_as(b"")
    for number, _, raw in _fields(data):
        if number == 1:
            key = raw.decode()
        elif number == 2:
            value = value_as(raw)
    return key, value


def _text(raw: bytes) -> str:
    return raw.decode()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _object_meta(data: bytes) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    names = {1: "name", 2: "generateName", 3: "namespace", 5: "uid", 6: "resourceVersion"}
    for number, _, raw in _fields(data):
        if number in names and raw:
            meta[names[number]] = raw.decode()
        elif number in (11, 12):
            key, value = _map_entry(raw, _text)
            meta.setdefault("labels" if number == 11 else "annotations", {})[key] = value
        elif number == 14:
            meta.setdefault("finalizers", []).append(raw.decode())
    return meta


def _local_ref(data: bytes) -> dict[str, Any]:
    return {"name": next((r.decode() for n, _, r in _fields(data) if n == 1), "")}


def _int_or_string(data: bytes) -> int | str:
    kind, number, text = 0, 0, ""
    for field, _, raw in _fields(data):
        if field == 1:
            kind = raw
        elif field == 2:
            number = raw
        elif field == 3:
            text = raw.decode()
    return text if kind == 1 else number


def _service_port(data: bytes) -> dict[str, Any]:
    port: dict[str, Any] = {}
    for number, _, raw in _fields(data):
        if number == 1 and raw:
            port["name"] = raw.decode()
        elif number == 2 and raw:
            port["protocol"] = raw.decode()
        elif number == 3:
            port["port"] = raw
        elif number == 4:
            port["targetPort"] = _int_or_string(raw)
        elif number == 5 and raw:
            port["nodePort"] = raw
    return port


def _service_spec(data: bytes) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    for number, _, raw in _fields(data):
        if number == 1:
            spec.setdefault("ports", []).append(_service_port(raw))
        elif number == 2:
            key, value = _map_entry(raw, _text)
            spec.setdefault("selector", {})[key] = value
        elif number == 3 and raw:
            spec["clusterIP"] = raw.decode()
        elif number == 4 and raw:
            spec["type"] = raw.decode()
    return spec


def _signed(value: int) -> int:
    """A varint read as int64 (two's complement), as protobuf encodes negative numbers."""
    return value - (1 << 64) if value >= 1 << 63 else value


def _delete_options(data: bytes) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for number, _, raw in _fields(data):
        if number == 1:
            options["gracePeriodSeconds"] = _signed(raw)
        elif number == 2:
            names = {1: "uid", 2: "resourceVersion"}
            options["preconditions"] = {
                names[n]: r.decode() for n, _, r in _fields(raw) if n in names
            }
        elif number == 3:
            options["orphanDependents"] = bool(raw)
        elif number == 4 and raw:
            options["propagationPolicy"] = raw.decode()
        elif number == 5:
            options.setdefault("dryRun", []).append(raw.decode())
    return options


def _strings(obj: dict[str, Any], number: int, raw: bytes, names: dict[int, str]) -> bool:
    """Store a non-empty string field; True when ``number`` is one of ``names``."""
    if number not in names:
        return False
    if raw:
        obj[names[number]] = raw.decode()
    return True


def _env_var(data: bytes) -> dict[str, Any]:
    env: dict[str, Any] = {}
    for number, _, raw in _fields(data):
        _strings(env, number, raw, {1: "name", 2: "value"})
    return env


def _container(data: bytes) -> dict[str, Any]:
    container: dict[str, Any] = {}
    names = {
        1: "name",
        2: "image",
        5: "workingDir",
        13: "terminationMessagePath",
        14: "imagePullPolicy",
        20: "terminationMessagePolicy",
    }
    for number, _, raw in _fields(data):
        if _strings(container, number, raw, names):
            continue
        if number in (3, 4):
            container.setdefault("command" if number == 3 else "args", []).append(raw.decode())
        elif number == 7:
            container.setdefault("env", []).append(_env_var(raw))
        elif number == 8:
            container["resources"] = {}
    return container


def _pod_spec(data: bytes) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    names = {3: "restartPolicy", 6: "dnsPolicy", 8: "serviceAccountName", 10: "nodeName"}
    for number, _, raw in _fields(data):
        if _strings(spec, number, raw, names):
            continue
        if number in (2, 20):
            key = "containers" if number == 2 else "initContainers"
            spec.setdefault(key, []).append(_container(raw))
        elif number == 4:
            spec["terminationGracePeriodSeconds"] = raw
        elif number == 5:
            spec["activeDeadlineSeconds"] = raw
        elif number == 7:
            key, value = _map_entry(raw, _text)
            spec.setdefault("nodeSelector", {})[key] = value
    return spec


def _pod_template(data: bytes) -> dict[str, Any]:
    template: dict[str, Any] = {}
    for number, _, raw in _fields(data):
        if number == 1:
            template["metadata"] = _object_meta(raw)
        elif number == 2:
            template["spec"] = _pod_spec(raw)
    return template


def _label_selector(data: bytes) -> dict[str, Any]:
    selector: dict[str, Any] = {}
    for number, _, raw in _fields(data):
        if number == 1:
            key, value = _map_entry(raw, _text)
            selector.setdefault("matchLabels", {})[key] = value
    return selector


def _job_spec(data: bytes) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    # Pointer fields of JobSpec: present on the wire only when set, zero included.
    integers = {
        1: "parallelism",
        2: "completions",
        3: "activeDeadlineSeconds",
        7: "backoffLimit",
        8: "ttlSecondsAfterFinished",
    }
    for number, _, raw in _fields(data):
        if number in integers:
            spec[integers[number]] = raw
        elif number == 4:
            spec["selector"] = _label_selector(raw)
        elif number in (5, 10):
            spec["manualSelector" if number == 5 else "suspend"] = bool(raw)
        elif number == 6:
            spec["template"] = _pod_template(raw)
        elif number == 9:
            spec["completionMode"] = raw.decode()
    return spec


def _decode_kind(kind: str, data: bytes) -> dict[str, Any]:
    if kind == "DeleteOptions":
        return _delete_options(data)
    obj: dict[str, Any] = {}
    for number, _, raw in _fields(data):
        if number == 1:
            obj["metadata"] = _object_meta(raw)
        elif kind == "Namespace" and number == 2:
            finalizers = [r.decode() for n, _, r in _fields(raw) if n == 1]
            obj["spec"] = {"finalizers": finalizers} if finalizers else {}
        elif kind == "ConfigMap" and number in (2, 3):
            key, value = _map_entry(raw, _text if number == 2 else _b64)
            obj.setdefault("data" if number == 2 else "binaryData", {})[key] = value
        elif kind in ("ConfigMap", "Secret") and number == (4 if kind == "ConfigMap" else 5):
            obj["immutable"] = bool(raw)
        elif kind == "Secret" and number in (2, 4):
            key, value = _map_entry(raw, _b64 if number == 2 else _text)
            obj.setdefault("data" if number == 2 else "stringData", {})[key] = value
        elif kind == "Secret" and number == 3 and raw:
            obj["type"] = raw.decode()
        elif kind == "ServiceAccount" and number in (2, 3):
            field = "secrets" if number == 2 else "imagePullSecrets"
            obj.setdefault(field, []).append(_local_ref(raw))
        elif kind == "Service" and number == 2:
            obj["spec"] = _service_spec(raw)
        elif kind == "Job" and number == 2:
            obj["spec"] = _job_spec(raw)
        elif kind == "Pod" and number == 2:
            obj["spec"] = _pod_spec(raw)
        elif kind == "ServiceAccount" and number == 4:
            obj["automountServiceAccountToken"] = bool(raw)
    return obj


SUPPORTED_KINDS = (
    "Namespace",
    "ConfigMap",
    "Secret",
    "ServiceAccount",
    "Service",
    "Job",
    "Pod",
    "DeleteOptions",
)


def decode(body: bytes) -> dict[str, Any]:
    """The JSON form of a protobuf-encoded object; raises UnsupportedMediaType or BadRequest."""
    if not body.startswith(MAGIC):
        raise errors.bad_request("the protobuf body lacks the Kubernetes 'k8s\\0' prefix")
    try:
        api_version = kind = ""
        raw = b""
        for number, _, value in _fields(body[len(MAGIC) :]):
            if number == 1:
                for n, _, v in _fields(value):
                    if n == 1:
                        api_version = v.decode()
                    elif n == 2:
                        kind = v.decode()
            elif number == 2:
                raw = value
        if kind not in SUPPORTED_KINDS:
            raise errors.unsupported_media_type(
                f"application/vnd.kubernetes.protobuf ({kind or 'unknown kind'})",
                ["application/json", "application/yaml"],
            )
        obj = _decode_kind(kind, raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.bad_request(f"the protobuf body cannot be decoded: {exc}") from None
    obj["apiVersion"], obj["kind"] = api_version, kind
    return obj
