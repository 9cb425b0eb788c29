"""The controllers a real control plane runs, as synchronous storage hooks.

- garbage collection: dependents of a deleted owner are deleted (background),
  a foreground-deleting owner goes away once its dependents are gone;
- namespaces: deleting one deletes everything in it, then the namespace;
- CRDs: a stored CRD is served at once; deleting it deletes its objects, then it.

Each hook runs under the storage lock right after the write that triggered it.
"""

from __future__ import annotations

from guestbook_devcluster.persistence import ResourceKey
from guestbook_devcluster.registry import CRD_KEY, NAMESPACE_KEY, Registry
from guestbook_devcluster.storage import FOREGROUND, Hook, Obj, Storage

NAMESPACE_FINALIZER = "kubernetes"
CRD_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"


def install(storage: Storage, registry: Registry) -> None:
    """Attach every controller to ``storage`` and serve the CRDs already stored."""
    storage.add_hook(_garbage_collector)
    storage.add_hook(_namespace_controller)
    storage.add_hook(_crd_controller(registry))
    for crd in storage.iter_objects(CRD_KEY):
        if "deletionTimestamp" not in crd["metadata"]:
            registry.register_crd(crd)


def _deleting(obj: Obj | None) -> bool:
    return obj is not None and "deletionTimestamp" in obj["metadata"]


def _garbage_collector(
    storage: Storage, key: ResourceKey, event: str, obj: Obj, old: Obj | None
) -> None:
    if event == "DELETED":
        uid = obj["metadata"]["uid"]
        for ref in storage.dependents(uid):
            dep = storage.find(*ref)
            if dep is None:
                continue
            alive = [
                r
                for r in dep["metadata"].get("ownerReferences") or []
                if r.get("uid") != uid and storage.by_uid(r.get("uid", "")) is not None
            ]
            if not alive:
                storage.delete_ref(ref, propagation="Background")
    if event == "ADDED":
        # A dependent that appears while its owner is being deleted in the
        # foreground is deleted too (the owner waits for all its dependents).
        for ref in obj["metadata"].get("ownerReferences") or []:
            owner_ref = storage.by_uid(ref.get("uid", ""))
            owner = storage.find(*owner_ref) if owner_ref is not None else None
            if (
                owner is not None
                and _deleting(owner)
                and FOREGROUND in (owner["metadata"].get("finalizers") or [])
            ):
                meta = obj["metadata"]
                storage.delete_ref((key, meta.get("namespace", ""), meta["name"]))
                break
    if event in ("DELETED", "MODIFIED"):
        refs = (old or obj)["metadata"].get("ownerReferences") or []
        for ref in refs:
            owner_ref = storage.by_uid(ref.get("uid", ""))
            if owner_ref is None:
                continue
            owner = storage.find(*owner_ref)
            if (
                _deleting(owner)
                and owner is not None
                and FOREGROUND in (owner["metadata"].get("finalizers") or [])
                and not storage.dependents(owner["metadata"]["uid"])
            ):
                storage.remove_finalizer(owner_ref[0], owner_ref[1], owner_ref[2], FOREGROUND)


def _finish_namespace_if_empty(storage: Storage, namespace: str) -> None:
    ns = storage.find(NAMESPACE_KEY, "", namespace)
    if _deleting(ns) and storage.namespace_object_count(namespace) == 0:
        storage.remove_finalizer(NAMESPACE_KEY, "", namespace, NAMESPACE_FINALIZER)


def _namespace_controller(
    storage: Storage, key: ResourceKey, event: str, obj: Obj, old: Obj | None
) -> None:
    meta = obj["metadata"]
    if key == NAMESPACE_KEY and event == "MODIFIED" and _deleting(obj) and not _deleting(old):
        name = meta["name"]
        info = storage.registry.lookup("", "v1", "namespaces")
        if info is not None:

            def terminating(current: Obj) -> Obj:
                current.setdefault("status", {})["phase"] = "Terminating"
                return current

            storage.mutate(info, "", name, terminating)
        for resource in storage.resource_keys():
            for ref_ns, ref_name in storage.names_in(resource, name):
                storage.delete_ref((resource, ref_ns, ref_name))
        _finish_namespace_if_empty(storage, name)
    elif event == "DELETED" and meta.get("namespace"):
        _finish_namespace_if_empty(storage, meta["namespace"])


def _names_accepted(crd: Obj) -> bool:
    conditions = (crd.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "NamesAccepted" and c.get("status") == "True" for c in conditions)


def _crd_key(crd: Obj) -> ResourceKey:
    return (crd["spec"]["group"], crd["spec"]["names"]["plural"])


def _crd_controller(registry: Registry) -> Hook:
    def hook(storage: Storage, key: ResourceKey, event: str, obj: Obj, old: Obj | None) -> None:
        if key == CRD_KEY:
            name = obj["metadata"]["name"]
            if event == "DELETED":
                registry.unregister_crd(name)
                storage.drop_resource(_crd_key(obj))
                return
            if not _deleting(obj):
                changed = old is None or old.get("spec") != obj.get("spec")
                if changed and _names_accepted(obj):
                    registry.register_crd(obj)
                return
            if not _deleting(old):
                resource = _crd_key(obj)
                for ref_ns, ref_name in storage.names_in(resource):
                    storage.delete_ref((resource, ref_ns, ref_name))
                if storage.count(resource) == 0:
                    storage.remove_finalizer(CRD_KEY, "", name, CRD_FINALIZER)
            return
        if event == "DELETED" and storage.count(key) == 0:
            crd_name = f"{key[1]}.{key[0]}"
            crd = storage.find(CRD_KEY, "", crd_name)
            if _deleting(crd):
                storage.remove_finalizer(CRD_KEY, "", crd_name, CRD_FINALIZER)

    return hook
