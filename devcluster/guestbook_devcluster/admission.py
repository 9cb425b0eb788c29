"""What the API server does to an object before storing it.

Per kind defaults a real control plane fills in (namespaces, pods, jobs,
CRDs), the status rules of the status subresource, name validation and —
for custom resources — pruning, defaulting, structural validation and CEL
rules through the schema package. Every function raises ``ApiError`` and
never changes the stored object.
"""

from __future__ import annotations

import base64
import json
import random
import re
import uuid
from typing import Any

from guestbook_devcluster import builtin_validation, errors, schema_seam
from guestbook_devcluster.jsoncopy import json_copy
from guestbook_devcluster.lifecycle import CRD_FINALIZER, NAMESPACE_FINALIZER
from guestbook_devcluster.registry import Registry, ResourceInfo, sort_versions
from guestbook_devcluster.schema.errors import FieldError

Obj = dict[str, Any]

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# kube-apiserver's generated name suffixes: 5 of these (no vowels, so no words).
_NAME_SUFFIX_CHARS = "bcdfghjklmnpqrstvwxz2456789"


def _cause(field: str, reason: str, message: str) -> dict[str, Any]:
    return {"reason": reason, "message": message, "field": field}


def _raise_causes(info: ResourceInfo, obj: Obj, causes: list[dict[str, Any]]) -> None:
    if causes:
        meta = obj.get("metadata") or {}
        name = str(meta.get("name") or meta.get("generateName") or "")
        raise errors.invalid(info.kind, info.group, name, causes)


def _raise_invalid(info: ResourceInfo, name: str, field_errors: list[FieldError]) -> None:
    if field_errors:
        raise errors.invalid(info.kind, info.group, name, [e.to_cause() for e in field_errors])


def check_name(info: ResourceInfo, name: str) -> None:
    """Raise Invalid when ``name`` is not a valid object name for this kind."""
    if not name:
        return
    if info.plural == "namespaces":
        pattern, what = _LABEL, "RFC 1123 label"
        example = (
            "'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?'"
        )
        limit = 63
    else:
        pattern, what = _SUBDOMAIN, "RFC 1123 subdomain"
        example = (
            "'example.com', regex used for validation is "
            "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*'"
        )
        limit = 253
    if info.plural == "events":
        return  # event names carry dots and timestamps; the apiserver is lenient too
    if len(name) > limit or not pattern.match(name):
        raise errors.invalid(
            info.kind,
            info.group,
            name,
            [
                _cause(
                    "metadata.name",
                    "FieldValueInvalid",
                    f'Invalid value: "{name}": a lowercase {what} must consist of lower case '
                    "alphanumeric characters, '-' or '.', and must start and end with an "
                    f"alphanumeric character (e.g. {example})",
                )
            ],
        )


def _check_metadata(info: ResourceInfo, obj: Obj) -> None:
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        raise errors.bad_request("metadata must be an object")
    for field in ("labels", "annotations"):
        value = meta.get(field)
        if value is None:
            continue
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise errors.bad_request(f"metadata.{field} must map strings to strings")
    finalizers = meta.get("finalizers")
    if finalizers is not None and (
        not isinstance(finalizers, list) or not all(isinstance(f, str) for f in finalizers)
    ):
        raise errors.bad_request("metadata.finalizers must be a list of strings")
    for field in ("name", "generateName", "namespace", "resourceVersion", "uid"):
        if meta.get(field) is not None and not isinstance(meta[field], str):
            raise errors.bad_request(f"metadata.{field} must be a string")
    causes = _owner_reference_causes(meta.get("ownerReferences"))
    causes += _label_causes(meta.get("labels") or {}, meta.get("annotations") or {})
    if causes:
        raise errors.invalid(info.kind, info.group, str(meta.get("name") or ""), causes)
    check_name(info, str(meta.get("name") or ""))


_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def _key_problem(key: str) -> str | None:
    """Why ``key`` is not a valid label or annotation key, or None."""
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _SUBDOMAIN.match(prefix)):
        return "prefix part must be a lowercase RFC 1123 subdomain"
    if not name or len(name) > 63 or not _QUALIFIED_NAME.match(name):
        return (
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must "
            "start and end with an alphanumeric character, at most 63 characters"
        )
    return None


def _label_causes(labels: dict[str, str], annotations: dict[str, str]) -> list[dict[str, Any]]:
    """Problems of label keys and values and annotation keys, worded as the apiserver."""
    causes = []
    for where, keys in (("metadata.labels", labels), ("metadata.annotations", annotations)):
        for key in keys:
            problem = _key_problem(key)
            if problem:
                causes.append(
                    _cause(where, "FieldValueInvalid", f'Invalid value: "{key}": {problem}')
                )
    for value in labels.values():
        if len(value) > 63 or not _LABEL_VALUE.match(value):
            causes.append(
                _cause(
                    "metadata.labels",
                    "FieldValueInvalid",
                    f'Invalid value: "{value}": a valid label must be an empty string or '
                    "consist of alphanumeric characters, '-', '_' or '.', and must start and "
                    "end with an alphanumeric character, at most 63 characters",
                )
            )
    return causes


def _owner_reference_causes(refs: Any) -> list[dict[str, Any]]:
    """Problems of metadata.ownerReferences (each needs apiVersion, kind, name, uid)."""
    if refs is None:
        return []
    if not isinstance(refs, list):
        return [
            _cause(
                "metadata.ownerReferences",
                "FieldValueTypeInvalid",
                "Invalid value: must be a list of owner references",
            )
        ]
    causes = []
    for n, ref in enumerate(refs):
        where = f"metadata.ownerReferences[{n}]"
        if not isinstance(ref, dict):
            causes.append(
                _cause(where, "FieldValueTypeInvalid", "Invalid value: must be an object")
            )
            continue
        for field in ("apiVersion", "kind", "name", "uid"):
            if not isinstance(ref.get(field), str) or not ref[field]:
                causes.append(_cause(f"{where}.{field}", "FieldValueRequired", "Required value"))
        for flag in ("controller", "blockOwnerDeletion"):
            if ref.get(flag) is not None and not isinstance(ref[flag], bool):
                causes.append(
                    _cause(
                        f"{where}.{flag}",
                        "FieldValueTypeInvalid",
                        "Invalid value: must be a boolean",
                    )
                )
    return causes


def custom_resource(
    info: ResourceInfo, obj: Obj, old: Obj | None, *, field_validation: str
) -> tuple[Obj, list[str]]:
    """Prune, default and validate a custom resource; returns it and any warnings.

    ``field_validation`` is Strict (unknown fields are a 400), Warn or Ignore.
    Raises Invalid listing every violated field.
    """
    warnings: list[str] = []
    if info.schema is None:
        return obj, warnings
    # A registered CRD's schema is never changed (a changed CRD is registered anew).
    schema_seam.freeze(info.schema)
    obj, unknown = schema_seam.prune_and_report(info.schema, obj)
    if unknown and field_validation == "Strict":
        raise errors.bad_request(schema_seam.strict_message(unknown, info.kind, info.version))
    if unknown and field_validation == "Warn":
        warnings = [f'unknown field "{f}"' for f in unknown]
    obj = schema_seam.default_object(info.schema, obj)
    name = str(
        obj.get("metadata", {}).get("name") or obj.get("metadata", {}).get("generateName") or ""
    )
    problems = schema_seam.validate(info.schema, obj, old)
    problems += schema_seam.evaluate_rules(info.schema, obj, old)
    _raise_invalid(info, name, problems)
    return obj, warnings


def builtin_fields(info: ResourceInfo, obj: Obj, *, field_validation: str) -> tuple[Obj, list[str]]:
    """Unknown fields of a built-in kind, as the apiserver's decoder treats them.

    Strict refuses them (400), Warn drops them with a warning each, Ignore drops
    them silently. Parts of built-in schemas that are not spelled out keep
    everything (see ``schema/builtin_openapi.py``).
    """
    schema = schema_seam.builtin_schema(info.group, info.version, info.kind)
    if schema is None:
        return obj, []
    unknown = schema_seam.unknown_fields(schema, obj)
    if not unknown:
        return obj, []
    if field_validation == "Strict":
        raise errors.bad_request(schema_seam.strict_message(unknown, info.kind, info.version))
    warnings = [f'unknown field "{f}"' for f in unknown] if field_validation == "Warn" else []
    return schema_seam.prune_object(schema, obj), warnings


def prepare_create(
    info: ResourceInfo, obj: Obj, registry: Registry, *, field_validation: str
) -> tuple[Obj, list[str]]:
    """The object to store for a create, and warnings for the client."""
    _check_metadata(info, obj)
    warnings: list[str] = []
    if info.has_status and info.plural not in ("customresourcedefinitions",):
        obj.pop("status", None)
    if info.builtin:
        obj, warnings = builtin_fields(info, obj, field_validation=field_validation)
    if not info.builtin:
        obj, warnings = custom_resource(info, obj, None, field_validation=field_validation)
    elif info.plural == "namespaces" and info.group == "":
        obj.setdefault("spec", {})["finalizers"] = [NAMESPACE_FINALIZER]
        obj["status"] = {"phase": "Active"}
    elif info.plural == "pods" and info.group == "":
        _default_pod(obj)
    elif info.plural == "jobs" and info.group == "batch":
        _name_from_generate_name(obj)
        _default_job(obj)
    elif info.plural == "customresourcedefinitions":
        obj = prepare_crd(obj, registry)
    elif info.plural == "secrets" and info.group == "":
        obj["type"] = obj.get("type") or "Opaque"
        _fold_string_data(info, obj)
    elif info.plural == "services" and info.group == "":
        _default_service(obj)
    if info.builtin:
        _raise_causes(info, obj, builtin_validation.create_causes(info.group, info.plural, obj))
    return obj, warnings


def check_uid_unchanged(info: ResourceInfo, new: Obj, old: Obj) -> None:
    """Raise Invalid (422) when ``new`` names another uid than the stored ``old``.

    An empty or missing uid means "keep the stored one". This is how kube-apiserver
    refuses a patch that changes the uid (ValidateObjectMetaUpdate); a PUT naming
    another uid fails earlier, on its uid precondition (409, see handlers.update).
    """
    uid = new["metadata"].get("uid")
    if uid in (None, "") or uid == old["metadata"]["uid"]:
        return
    if not isinstance(uid, str):
        raise errors.bad_request("metadata.uid must be a string")
    _raise_causes(
        info,
        new,
        [
            _cause(
                "metadata.uid",
                "FieldValueInvalid",
                f"Invalid value: {json.dumps(uid)}: field is immutable",
            )
        ],
    )


def prepare_update(
    info: ResourceInfo, new: Obj, old: Obj, registry: Registry, *, field_validation: str
) -> tuple[Obj, list[str]]:
    """The object to store for an update of the main resource (status is kept).

    Raises BadRequest or Invalid; a changed uid is Invalid (``check_uid_unchanged``).
    """
    _check_metadata(info, new)
    check_uid_unchanged(info, new, old)
    warnings: list[str] = []
    if info.has_status:
        if "status" in old:
            new["status"] = json_copy(old["status"])
        else:
            new.pop("status", None)
    if info.builtin:
        new, warnings = builtin_fields(info, new, field_validation=field_validation)
    if not info.builtin:
        new, warnings = custom_resource(info, new, old, field_validation=field_validation)
    elif info.plural == "customresourcedefinitions":
        new = prepare_crd(new, registry)
    elif info.plural == "namespaces" and info.group == "":
        new["spec"] = json_copy(old.get("spec", {}))  # spec.finalizers is system-owned
    elif info.plural == "jobs" and info.group == "batch":
        new["metadata"]["uid"] = old["metadata"]["uid"]  # the selector names the stored uid
        _default_job(new)
    elif info.plural == "secrets" and info.group == "":
        _fold_string_data(info, new)
    if info.builtin:
        causes = builtin_validation.update_causes(info.group, info.plural, new, old)
        _raise_causes(info, new, causes)
    return new, warnings


def prepare_status_update(
    info: ResourceInfo, new: Obj, old: Obj, *, field_validation: str
) -> tuple[Obj, list[str]]:
    """The object to store for a write to ``/status``: only status changes.

    A custom resource's metadata, uid included, is taken from ``old`` whatever
    ``new`` says (the CRD status strategy copies the stored object). Built-in
    kinds keep their metadata too, but a changed uid is refused (Invalid), as
    their status strategies leave the uid to ValidateObjectMetaUpdate.
    """
    if not isinstance(new.get("metadata"), dict):
        raise errors.bad_request("metadata must be an object")
    if info.builtin:
        check_uid_unchanged(info, new, old)
    result = json_copy(old)
    if "status" in new:
        result["status"] = new["status"]
    else:
        result.pop("status", None)
    rv = new["metadata"].get("resourceVersion")
    result["metadata"]["resourceVersion"] = rv
    warnings: list[str] = []
    if not info.builtin:
        result, warnings = custom_resource(info, result, old, field_validation=field_validation)
    return result, warnings


def _fold_string_data(info: ResourceInfo, secret: Obj) -> None:
    """Move a Secret's write-only ``stringData`` into base64 ``data``, as kube-apiserver does.

    A ``stringData`` key replaces the same key of ``data``. Raises Invalid (422)
    when ``stringData`` is not a map of strings; ``secret`` is then unchanged.
    """
    if "stringData" not in secret:
        return
    string_data = secret["stringData"]
    if string_data is None:
        secret.pop("stringData")
        return
    if not isinstance(string_data, dict) or not all(
        isinstance(v, str) for v in string_data.values()
    ):
        _raise_causes(
            info,
            secret,
            [
                _cause(
                    "stringData",
                    "FieldValueInvalid",
                    "Invalid value: stringData must map keys to strings",
                )
            ],
        )
    data = secret.get("data")
    if data is None:
        data = {}
    elif not isinstance(data, dict):
        _raise_causes(
            info,
            secret,
            [_cause("data", "FieldValueInvalid", "Invalid value: data must be a map")],
        )
    encoded = {k: base64.b64encode(v.encode()).decode("ascii") for k, v in string_data.items()}
    secret["data"] = {**data, **encoded}
    del secret["stringData"]


def _default_pod(pod: Obj) -> None:
    spec = pod.setdefault("spec", {})
    if not isinstance(spec, dict):
        raise errors.bad_request("spec must be an object")
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("serviceAccountName", "default")
    spec.setdefault("securityContext", {})
    for container in spec.get("containers") or []:
        if isinstance(container, dict):
            container.setdefault("terminationMessagePath", "/dev/termination-log")
            container.setdefault("terminationMessagePolicy", "File")
            container.setdefault("imagePullPolicy", "IfNotPresent")
            container.setdefault("resources", {})
    pod["status"] = {"phase": "Pending", "qosClass": "BestEffort"}


def _default_service(service: Obj) -> None:
    """ClusterIP defaults; the IP is made up (nothing routes to it locally)."""
    spec = service.setdefault("spec", {})
    if not isinstance(spec, dict):
        raise errors.bad_request("spec must be an object")
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if spec["type"] != "ExternalName" and not spec.get("clusterIP"):
        digest = uuid.uuid4().int
        spec["clusterIP"] = f"10.96.{digest % 254 + 1}.{digest // 254 % 254 + 1}"
    if spec.get("clusterIP") and not spec.get("clusterIPs"):
        spec["clusterIPs"] = [spec["clusterIP"]]
    for port in spec.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
    service["status"] = {"loadBalancer": {}}


def _name_from_generate_name(obj: Obj) -> None:
    """Name the object from ``generateName`` now, as kube-apiserver does before
    defaulting: a Job's pod template then carries its ``job-name`` labels from the
    start (else the first update would add them to the immutable template). A rare
    clash is answered 409 AlreadyExists by storage, as there."""
    meta = obj["metadata"]
    if not meta.get("name") and meta.get("generateName"):
        suffix = "".join(random.choices(_NAME_SUFFIX_CHARS, k=5))
        meta["name"] = str(meta["generateName"])[: 63 - len(suffix)] + suffix


def _default_job(job: Obj) -> None:
    """Job defaults and the controller-uid selector the Job controller relies on."""
    spec = job.setdefault("spec", {})
    if not isinstance(spec, dict):
        raise errors.bad_request("spec must be an object")
    meta = job["metadata"]
    # As Kubernetes: completions defaults to 1 only when parallelism is unset too;
    # a Job with parallelism and no completions is a work queue (done when one pod succeeds).
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    if spec.get("completions") is None:
        spec.pop("completions", None)
    if spec.get("parallelism") is None:
        spec["parallelism"] = 1
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    uid = meta.get("uid") or str(uuid.uuid4())
    meta["uid"] = uid
    name = meta.get("name") or ""
    labels = {
        "batch.kubernetes.io/controller-uid": uid,
        "controller-uid": uid,
    }
    if name:
        labels |= {"batch.kubernetes.io/job-name": name, "job-name": name}
    spec.setdefault("selector", {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}})
    template = spec.setdefault("template", {})
    if isinstance(template, dict):
        tmeta = template.setdefault("metadata", {})
        if isinstance(tmeta, dict):
            tmeta["labels"] = {**(tmeta.get("labels") or {}), **labels}
        tspec = template.get("spec")
        if isinstance(tspec, dict):
            tspec.setdefault("restartPolicy", "Never")
            tspec.setdefault("terminationGracePeriodSeconds", 30)
            tspec.setdefault("dnsPolicy", "ClusterFirst")
            tspec.setdefault("schedulerName", "default-scheduler")


def _crd_problems(crd: Obj) -> list[dict[str, Any]]:
    spec = crd.get("spec")
    causes: list[dict[str, Any]] = []
    if not isinstance(spec, dict):
        return [_cause("spec", "FieldValueRequired", "Required value")]
    names = spec.get("names")
    group = spec.get("group")
    if not isinstance(group, str) or not group or "." not in group:
        causes.append(
            _cause(
                "spec.group",
                "FieldValueInvalid",
                "Invalid value: should be a domain with at least one dot",
            )
        )
    if not isinstance(names, dict):
        causes.append(_cause("spec.names", "FieldValueRequired", "Required value"))
        names = {}
    for field in ("plural", "kind"):
        if not isinstance(names.get(field), str) or not names.get(field):
            causes.append(_cause(f"spec.names.{field}", "FieldValueRequired", "Required value"))
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        causes.append(
            _cause(
                "spec.scope",
                "FieldValueNotSupported",
                'Unsupported value: supported values: "Cluster", "Namespaced"',
            )
        )
    versions = spec.get("versions")
    if not isinstance(versions, list) or not versions:
        causes.append(
            _cause(
                "spec.versions",
                "FieldValueInvalid",
                "Invalid value: must have exactly one version marked as storage version",
            )
        )
    else:
        storage = [v for v in versions if isinstance(v, dict) and v.get("storage")]
        if len(storage) != 1:
            causes.append(
                _cause(
                    "spec.versions",
                    "FieldValueInvalid",
                    "Invalid value: must have exactly one version marked as storage version",
                )
            )
        for n, version in enumerate(versions):
            if not isinstance(version, dict) or not version.get("name"):
                causes.append(
                    _cause(f"spec.versions[{n}].name", "FieldValueRequired", "Required value")
                )
    if not causes:
        causes += [e.to_cause() for e in schema_seam.crd_schema_errors(crd)]
    name = crd.get("metadata", {}).get("name")
    if not causes and name != f"{names['plural']}.{group}":
        causes.append(
            _cause(
                "metadata.name",
                "FieldValueInvalid",
                f'Invalid value: "{name}": must be spec.names.plural+"."+spec.group',
            )
        )
    return causes


def prepare_crd(crd: Obj, registry: Registry) -> Obj:
    """Validate a CRD, fill its defaults and the status a real apiextensions server sets."""
    causes = _crd_problems(crd)
    if causes:
        raise errors.invalid(
            "CustomResourceDefinition",
            "apiextensions.k8s.io",
            str(crd.get("metadata", {}).get("name", "")),
            causes,
        )
    spec = crd["spec"]
    names = spec["names"]
    names.setdefault("singular", names["kind"].lower())
    names.setdefault("listKind", f"{names['kind']}List")
    spec.setdefault("conversion", {"strategy": "None"})
    for version in spec["versions"]:
        version.setdefault("served", True)
    meta = crd["metadata"]
    if "deletionTimestamp" not in meta:
        finalizers = list(meta.get("finalizers") or [])
        if CRD_FINALIZER not in finalizers:
            finalizers.append(CRD_FINALIZER)
        meta["finalizers"] = finalizers
    clash = registry.conflicting_names(crd)
    now = meta.get("creationTimestamp") or _now()
    accepted = clash is None
    conditions = [
        {
            "type": "NamesAccepted",
            "status": "True" if accepted else "False",
            "reason": "NoConflicts" if accepted else "NameConflict",
            "message": "no conflicts found" if accepted else clash,
            "lastTransitionTime": now,
        },
        {
            "type": "Established",
            "status": "True" if accepted else "False",
            "reason": "InitialNamesAccepted" if accepted else "NotAccepted",
            "message": "the initial names have been accepted"
            if accepted
            else "not all names are accepted",
            "lastTransitionTime": now,
        },
    ]
    stored = [v["name"] for v in spec["versions"] if v.get("storage")]
    previous = (crd.get("status") or {}).get("storedVersions") or []
    crd["status"] = {
        "conditions": conditions,
        "acceptedNames": json_copy(names) if accepted else {"plural": "", "kind": ""},
        "storedVersions": sort_versions([*previous, *stored]) if previous else stored,
    }
    return crd


def _now() -> str:
    from guestbook_devcluster.storage import now_rfc3339

    return now_rfc3339()
