"""The field sets of server-side apply (``metadata.managedFields``, FieldsV1 format).

Each applier's last applied configuration is recorded as a set of field
paths. A later apply by the same manager removes the fields it applied before
and no longer applies, unless another applier still applies them. Lists are
atomic, except lists of built-in kinds with a merge key (containers by name,
...), whose items are addressed as ``k:{"name":"main"}``.
"""

from __future__ import annotations

import json
from typing import Any

from guestbook_devcluster.patches import MERGE_KEYS

Path = tuple[str, ...]


def _list_key(field: str, items: list[Any], merge_keys: bool) -> str | None:
    key = MERGE_KEYS.get(field) if merge_keys else None
    if key == "containerPort" and not all(isinstance(i, dict) and key in i for i in items):
        key = "port"
    if key and items and all(isinstance(i, dict) and key in i for i in items):
        return key
    return None


def field_paths(obj: Any, *, merge_keys: bool, field: str = "") -> set[Path]:
    """Every leaf path of ``obj`` (a JSON object), as FieldsV1 tokens."""
    paths: set[Path] = set()
    if not isinstance(obj, dict):
        return paths
    for name, value in obj.items():
        token = f"f:{name}"
        if isinstance(value, dict) and value:
            paths |= {(token, *rest) for rest in field_paths(value, merge_keys=merge_keys)}
        elif isinstance(value, list) and (key := _list_key(name, value, merge_keys)):
            for item in value:
                item_token = "k:" + json.dumps({key: item[key]}, separators=(",", ":"))
                paths.add((token, item_token, "."))
                inner = {k: v for k, v in item.items() if k != key}
                paths |= {
                    (token, item_token, *rest) for rest in field_paths(inner, merge_keys=merge_keys)
                }
        else:
            paths.add((token,))
    return paths


def to_fields_v1(paths: set[Path]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for path in sorted(paths):
        node = tree
        for token in path:
            node = node.setdefault(token, {})
    return tree


def from_fields_v1(tree: Any, prefix: Path = ()) -> set[Path]:
    paths: set[Path] = set()
    if not isinstance(tree, dict) or not tree:
        return {prefix} if prefix else paths
    for token, child in tree.items():
        paths |= from_fields_v1(child, (*prefix, token))
    return paths


def _remove(obj: Any, path: Path) -> None:
    """Delete the field ``path`` names from ``obj`` (missing fields are ignored)."""
    node = obj
    for n, token in enumerate(path):
        last = n == len(path) - 1 or (n == len(path) - 2 and path[-1] == ".")
        if token.startswith("f:") and isinstance(node, dict):
            name = token[2:]
            if last:
                node.pop(name, None)
                return
            node = node.get(name)
        elif token.startswith("k:") and isinstance(node, list):
            wanted = json.loads(token[2:])
            match = next(
                (
                    i
                    for i, item in enumerate(node)
                    if isinstance(item, dict) and all(item.get(k) == v for k, v in wanted.items())
                ),
                None,
            )
            if match is None:
                return
            if last:
                node.pop(match)
                return
            node = node[match]
        else:
            return


def apply_ownership(
    live: dict[str, Any],
    intent: dict[str, Any],
    manager: str,
    api_version: str,
    now: str,
    *,
    merge_keys: bool,
) -> list[dict[str, Any]]:
    """Remove from ``live`` what ``manager`` no longer applies; returns new managedFields.

    ``live`` is the merged object (changed in place); ``intent`` the applied
    configuration.
    """
    entries = [
        e for e in live.get("metadata", {}).get("managedFields") or [] if isinstance(e, dict)
    ]
    applied = {k: v for k, v in intent.items() if k not in ("apiVersion", "kind")}
    applied["metadata"] = {
        k: v
        for k, v in (intent.get("metadata") or {}).items()
        if k in ("labels", "annotations", "finalizers", "ownerReferences")
    }
    new_paths = field_paths(applied, merge_keys=merge_keys)
    previous: set[Path] = set()
    others: set[Path] = set()
    kept: list[dict[str, Any]] = []
    for entry in entries:
        paths = from_fields_v1(entry.get("fieldsV1"))
        if entry.get("manager") == manager and entry.get("operation") == "Apply":
            previous |= paths
            if paths == new_paths:  # the same fields: a repeated apply changes nothing
                now = str(entry.get("time") or now)
        else:
            if entry.get("operation") == "Apply":
                others |= paths
            kept.append(entry)
    for path in sorted(previous - new_paths - others, key=len, reverse=True):
        _remove(live, path)
    kept.append(
        {
            "manager": manager,
            "operation": "Apply",
            "apiVersion": api_version,
            "time": now,
            "fieldsType": "FieldsV1",
            "fieldsV1": to_fields_v1(new_paths),
        }
    )
    return kept
