"""Validation of the built-in kinds whose mistakes a real cluster would refuse.

Pods and Jobs are checked on create (containers with names and images, restart
policies, non-negative counts) and on update (the fields Kubernetes makes
immutable); ConfigMaps and Secrets marked ``immutable`` keep their data.
Every function returns Status causes (empty: valid), worded as the apiserver.
"""

from __future__ import annotations

import json
import re
from typing import Any

Obj = dict[str, Any]
Cause = dict[str, Any]
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_POD_MUTABLE = (
    "spec.containers[*].image",
    "spec.initContainers[*].image",
    "spec.activeDeadlineSeconds",
    "spec.tolerations (only additions to existing tolerations)",
    "spec.terminationGracePeriodSeconds (allow it to be set to 1 if it was previously negative)",
)


def _cause(field: str, reason: str, message: str) -> Cause:
    return {"reason": reason, "message": message, "field": field}


def _quoted(values: tuple[str, ...]) -> str:
    return ", ".join(f'"{v}"' for v in values)


def pod_spec_causes(spec: Any, path: str, restart_policies: tuple[str, ...]) -> list[Cause]:
    """Problems of a pod spec at ``path`` (``spec`` or ``spec.template.spec``)."""
    if not isinstance(spec, dict):
        return [_cause(path, "FieldValueRequired", "Required value")]
    causes: list[Cause] = []
    containers = spec.get("containers")
    if not isinstance(containers, list) or not containers:
        causes.append(_cause(f"{path}.containers", "FieldValueRequired", "Required value"))
        containers = []
    seen: set[str] = set()
    for n, container in enumerate(containers):
        where = f"{path}.containers[{n}]"
        if not isinstance(container, dict):
            causes.append(
                _cause(where, "FieldValueTypeInvalid", "Invalid value: must be an object")
            )
            continue
        name = container.get("name")
        if not name:
            causes.append(_cause(f"{where}.name", "FieldValueRequired", "Required value"))
        elif not isinstance(name, str) or len(name) > 63 or not _LABEL.match(name):
            causes.append(
                _cause(
                    f"{where}.name",
                    "FieldValueInvalid",
                    f"Invalid value: {json.dumps(name)}: a lowercase RFC 1123 label must "
                    "consist of lower case alphanumeric characters or '-', and must start and "
                    "end with an alphanumeric character",
                )
            )
        elif name in seen:
            causes.append(
                _cause(
                    f"{where}.name", "FieldValueDuplicate", f"Duplicate value: {json.dumps(name)}"
                )
            )
        else:
            seen.add(name)
        if not container.get("image"):
            causes.append(_cause(f"{where}.image", "FieldValueRequired", "Required value"))
    policy = spec.get("restartPolicy")
    if policy not in restart_policies:
        causes.append(
            _cause(
                f"{path}.restartPolicy",
                "FieldValueNotSupported",
                f"Unsupported value: {json.dumps(policy)}: supported values: "
                f"{_quoted(restart_policies)}",
            )
        )
    return causes


def _non_negative(spec: Obj, fields: tuple[str, ...]) -> list[Cause]:
    causes = []
    for field in fields:
        value = spec.get(field)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            causes.append(
                _cause(
                    f"spec.{field}",
                    "FieldValueInvalid",
                    f"Invalid value: {json.dumps(value)}: must be greater than or equal to 0",
                )
            )
    return causes


def create_causes(group: str, plural: str, obj: Obj) -> list[Cause]:
    """Problems of a new built-in object (after defaulting)."""
    if (group, plural) == ("", "pods"):
        return pod_spec_causes(obj.get("spec"), "spec", ("Always", "OnFailure", "Never"))
    if (group, plural) == ("batch", "jobs"):
        spec = obj.get("spec") or {}
        template = spec.get("template") if isinstance(spec, dict) else None
        causes = pod_spec_causes(
            template.get("spec") if isinstance(template, dict) else None,
            "spec.template.spec",
            ("OnFailure", "Never"),
        )
        return causes + _non_negative(
            spec, ("parallelism", "completions", "backoffLimit", "activeDeadlineSeconds")
        )
    return []


def _immutable(field: str, value: Any) -> Cause:
    return _cause(
        field,
        "FieldValueInvalid",
        f"Invalid value: {json.dumps(value, sort_keys=True)}: field is immutable",
    )


def _pod_spec_without_mutable(spec: Obj, old_spec: Obj) -> tuple[Obj, Obj]:
    new, old = json.loads(json.dumps(spec)), json.loads(json.dumps(old_spec))
    for s in (new, old):
        for key in ("containers", "initContainers"):
            for container in s.get(key) or []:
                if isinstance(container, dict):
                    container.pop("image", None)
        for key in ("activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds"):
            s.pop(key, None)
    if not old.get("nodeName"):
        # Setting nodeName once stands in for the pods/binding subresource.
        new.pop("nodeName", None)
        old.pop("nodeName", None)
    return new, old


def update_causes(group: str, plural: str, new: Obj, old: Obj) -> list[Cause]:
    """Problems of an update of a built-in object (immutable fields changed)."""
    if (group, plural) == ("", "pods"):
        a, b = _pod_spec_without_mutable(new.get("spec") or {}, old.get("spec") or {})
        if a != b:
            return [
                _cause(
                    "spec",
                    "FieldValueForbidden",
                    "Forbidden: pod updates may not change fields other than "
                    + ", ".join(f"`{f}`" for f in _POD_MUTABLE),
                )
            ]
        return []
    if (group, plural) == ("batch", "jobs"):
        spec, old_spec = new.get("spec") or {}, old.get("spec") or {}
        causes = create_causes(group, plural, new)
        fields = ["selector", "completionMode", "completions"]
        if not old_spec.get("suspend"):
            fields.append("template")
        for field in fields:
            if spec.get(field) != old_spec.get(field):
                causes.append(_immutable(f"spec.{field}", spec.get(field)))
        return causes
    if (group, plural) in (("", "configmaps"), ("", "secrets")) and old.get("immutable"):
        causes = []
        for field in ("data", "binaryData", "stringData"):
            if new.get(field) != old.get(field):
                causes.append(
                    _cause(
                        field,
                        "FieldValueForbidden",
                        "Forbidden: field is immutable when `immutable` is set",
                    )
                )
        if not new.get("immutable"):
            causes.append(
                _cause(
                    "immutable",
                    "FieldValueForbidden",
                    "Forbidden: field is immutable when `immutable` is set",
                )
            )
        return causes
    return []
