"""The patch formats of the Kubernetes API, as pure functions on parsed JSON.

- ``merge_patch``: JSON merge patch (RFC 7386);
- ``json_patch``: JSON patch (RFC 6902) including ``test``;
- ``strategic_merge_patch``: Kubernetes' strategic merge patch for built-in
  kinds — lists with a merge key are merged item by item, ``$patch``
  directives (delete, replace, merge), ``$retainKeys``,
  ``$deleteFromPrimitiveList/<field>``, ``$setElementOrder/<field>``.

Every function raises ``PatchError`` (a ValueError) for a patch that cannot
be applied; callers answer it with a Status.
"""

from __future__ import annotations

from typing import Any

from guestbook_devcluster.jsoncopy import json_copy


class PatchError(ValueError):
    """The patch is malformed or does not apply to the object."""


def merge_patch(target: Any, patch: Any) -> Any:
    """Apply an RFC 7386 merge patch; returns a new value (the inputs are not changed)."""
    return _merge_in_place(json_copy(target), json_copy(patch))


def _merge_in_place(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return patch
    result = target if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge_in_place(result.get(key), value)
    return result


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"invalid JSON pointer {path!r}: it must start with '/'")
    return [_unescape(t) for t in path[1:].split("/")]


def _index(container: list[Any], token: str, *, for_add: bool) -> int:
    if token == "-" and for_add:
        return len(container)
    if not token.isdigit() or (len(token) > 1 and token.startswith("0")):
        raise PatchError(f"invalid array index {token!r}")
    index = int(token)
    limit = len(container) if for_add else len(container) - 1
    if index > limit:
        raise PatchError(f"array index {index} is out of range")
    return index


def _parent(doc: Any, tokens: list[str], path: str) -> Any:
    current = doc
    for token in tokens[:-1]:
        if isinstance(current, dict):
            if token not in current:
                raise PatchError(f"path {path!r} does not exist")
            current = current[token]
        elif isinstance(current, list):
            current = current[_index(current, token, for_add=False)]
        else:
            raise PatchError(f"path {path!r} does not exist")
    return current


def _get(doc: Any, path: str) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return doc
    parent = _parent(doc, tokens, path)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"path {path!r} does not exist")
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(parent, last, for_add=False)]
    raise PatchError(f"path {path!r} does not exist")


def _add(doc: Any, path: str, value: Any) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return value
    parent = _parent(doc, tokens, path)
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, for_add=True), value)
    else:
        raise PatchError(f"path {path!r} does not exist")
    return doc


def _remove(doc: Any, path: str) -> Any:
    tokens = _pointer(path)
    if not tokens:
        raise PatchError("cannot remove the whole document")
    parent = _parent(doc, tokens, path)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"unable to remove nonexistent key: {last}: missing value")
        del parent[last]
    elif isinstance(parent, list):
        del parent[_index(parent, last, for_add=False)]
    else:
        raise PatchError(f"path {path!r} does not exist")
    return doc


def _replace(doc: Any, path: str, value: Any) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return value
    _get(doc, path)  # the target must exist
    parent = _parent(doc, tokens, path)
    if isinstance(parent, dict):
        parent[tokens[-1]] = value
    else:
        parent[_index(parent, tokens[-1], for_add=False)] = value
    return doc


def json_patch(target: Any, operations: Any) -> Any:
    """Apply an RFC 6902 JSON patch; returns a new value (the target is not changed)."""
    if not isinstance(operations, list):
        raise PatchError("a JSON patch must be a list of operations")
    doc = json_copy(target)
    for number, op in enumerate(operations):
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise PatchError(f"operation {number} needs 'op' and 'path'")
        kind, path = op["op"], op["path"]
        if not isinstance(path, str):
            raise PatchError(f"operation {number}: 'path' must be a string")
        if kind in ("add", "replace", "test") and "value" not in op:
            raise PatchError(f"operation {number} ({kind}) needs 'value'")
        if kind == "add":
            doc = _add(doc, path, json_copy(op["value"]))
        elif kind == "remove":
            doc = _remove(doc, path)
        elif kind == "replace":
            doc = _replace(doc, path, json_copy(op["value"]))
        elif kind == "move":
            value = _get(doc, op.get("from", ""))
            doc = _add(_remove(doc, op.get("from", "")), path, value)
        elif kind == "copy":
            doc = _add(doc, path, json_copy(_get(doc, op.get("from", ""))))
        elif kind == "test":
            if _get(doc, path) != op["value"]:
                raise PatchError(f"testing value {path} failed: expected {op['value']!r}")
        else:
            raise PatchError(f"operation {number}: unknown op {kind!r}")
    return doc


# Merge keys of list fields in the built-in kinds this server serves
# (the patchMergeKey tags of k8s.io/api). Lists of primitives named in
# _MERGED_PRIMITIVE_LISTS are merged as sets; other lists are replaced.
MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "ports": "containerPort",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "conditions": "type",
    "imagePullSecrets": "name",
    "ownerReferences": "uid",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
    "secrets": "name",
    "containerStatuses": "name",
    "initContainerStatuses": "name",
    "podIPs": "ip",
    "readinessGates": "conditionType",
    "resourceClaims": "name",
}
_MERGED_PRIMITIVE_LISTS = {"finalizers"}


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    """Apply a strategic merge patch for a built-in kind; returns a new value."""
    if not isinstance(patch, dict):
        raise PatchError("a strategic merge patch must be a JSON object")
    return _smp_map(json_copy(target) if isinstance(target, dict) else {}, patch)


def _smp_map(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: json_copy(v) for k, v in patch.items() if k != "$patch"}
    if directive == "delete":
        return {}
    if directive not in (None, "merge"):
        raise PatchError(f"unknown $patch directive {directive!r}")
    retain = patch.get("$retainKeys")
    result = target
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys") or key.startswith("$setElementOrder/"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            if not isinstance(value, list):
                raise PatchError(f"{key} must be a list")
            if isinstance(result.get(field), list):
                result[field] = [v for v in result[field] if v not in value]
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            if value.get("$patch") == "delete":
                result.pop(key, None)
            else:
                current = result.get(key)
                result[key] = _smp_map(current if isinstance(current, dict) else {}, value)
        elif isinstance(value, list):
            result[key] = _smp_list(key, result.get(key), value)
        else:
            result[key] = value
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _smp_list(field: str, current: Any, patch: list[Any]) -> list[Any]:
    merge_key = MERGE_KEYS.get(field)
    if field == "ports" and all(
        isinstance(i, dict) and "port" in i and "containerPort" not in i for i in patch
    ):
        merge_key = "port"  # a Service's ports merge on port, a container's on containerPort
    existing = list(current) if isinstance(current, list) else []
    if any(isinstance(item, dict) and item.get("$patch") == "replace" for item in patch):
        return [
            json_copy(i)
            for i in patch
            if not (isinstance(i, dict) and i.get("$patch") == "replace")
        ]
    if field in _MERGED_PRIMITIVE_LISTS:
        merged = existing + [v for v in patch if v not in existing]
        return merged
    if merge_key is None or not all(isinstance(item, dict) for item in patch):
        return json_copy(patch)
    for item in patch:
        key_value = item.get(merge_key)
        if key_value is None:
            raise PatchError(f"a {field} item in the patch lacks its merge key {merge_key!r}")
        position = next(
            (
                n
                for n, e in enumerate(existing)
                if isinstance(e, dict) and e.get(merge_key) == key_value
            ),
            None,
        )
        if item.get("$patch") == "delete":
            if position is not None:
                existing.pop(position)
            continue
        if position is None:
            existing.append(_smp_map({}, item))
        else:
            existing[position] = _smp_map(existing[position], item)
    return existing
