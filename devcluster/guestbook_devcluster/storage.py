"""Object storage with Kubernetes semantics, in memory, with watch fan-out.

Objects are kept as compact JSON bytes (about 1/6 of a parsed dict's memory),
keyed by ``(group, plural)`` then ``(namespace, name)``. One cluster-wide
counter gives every write its resourceVersion. Every mutation runs under one
re-entrant lock, so a write is never lost or applied twice, and watchers
receive events in resourceVersion order. Reactions to writes (garbage
collection, namespace and CRD clean-up) are hooks run synchronously after the
write, still under the lock (see ``lifecycle.py``).

Durability is delegated to a ``Persistence`` (write-through); reads are
always served from memory.
"""

from __future__ import annotations

import asyncio
import bisect
import random
import threading
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from guestbook_devcluster import errors
from guestbook_devcluster.jsoncopy import json_copy
from guestbook_devcluster.persistence import NullPersistence, Persistence, ResourceKey
from guestbook_devcluster.registry import NAMESPACE_KEY, Registry, ResourceInfo
from guestbook_devcluster.watchers import Watcher, WatchEvent

Obj = dict[str, Any]
ObjectRef = tuple[ResourceKey, str, str]  # (resource key, namespace, name)
Hook = Callable[["Storage", ResourceKey, str, Obj, "Obj | None"], None]

DEFAULT_HISTORY = 2000
FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"
_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"


def now_rfc3339() -> str:
    """The current time as Kubernetes writes timestamps (RFC 3339, seconds, UTC)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def dumps(obj: Any) -> bytes:
    """Compact JSON, in a buffer of exactly its size.

    orjson returns its 4 KiB working buffer; kept as is, 100,000 small objects
    would hold 400 MB, so stored bytes are copied to their exact size.
    """
    return bytes(memoryview(orjson.dumps(obj)))


@dataclass(slots=True)
class Stored:
    raw: bytes
    rv: int


class ResourceStore:
    """The objects, recent events and watchers of one resource (all versions)."""

    def __init__(self, key: ResourceKey, history_size: int, floor_rv: int) -> None:
        self.key = key
        self.objects: dict[tuple[str, str], Stored] = {}
        self.history: deque[WatchEvent] = deque()
        self.history_size = history_size
        # A watch may resume from any resourceVersion >= floor_rv.
        self.floor_rv = floor_rv
        self.watchers: set[Watcher] = set()
        self.namespace_counts: Counter[str] = Counter()
        self._sorted: list[tuple[str, str]] | None = None

    def sorted_keys(self) -> list[tuple[str, str]]:
        """Keys in (namespace, name) order; cached until an object is added or removed."""
        if self._sorted is None:
            self._sorted = sorted(self.objects)
        return self._sorted

    def keys_changed(self) -> None:
        self._sorted = None

    def record(self, event: WatchEvent) -> None:
        if len(self.history) >= self.history_size:
            self.floor_rv = self.history.popleft().rv
        self.history.append(event)
        for watcher in tuple(self.watchers):
            watcher.push(event)


def _spec_part(obj: Obj, has_status: bool) -> Obj:
    """The part of an object whose changes bump metadata.generation."""
    skip = {"metadata", "apiVersion", "kind"}
    if has_status:
        skip.add("status")
    return {k: v for k, v in obj.items() if k not in skip}


def _comparable(obj: Obj) -> Obj:
    meta = {k: v for k, v in obj.get("metadata", {}).items() if k != "resourceVersion"}
    return {**obj, "metadata": meta}


def _finalizers(obj: Obj, key: ResourceKey) -> list[str]:
    found = list(obj.get("metadata", {}).get("finalizers") or [])
    if key == NAMESPACE_KEY:
        found += list((obj.get("spec") or {}).get("finalizers") or [])
    return found


def _pod_grace(key: ResourceKey, pod: Obj, grace_period: int | None) -> int | None:
    """Seconds a deleted pod is kept for its kubelet to stop it, or None: delete now.

    As in Kubernetes: only pods bound to a node (the job runner's kubelet binds
    the pods it runs) and not finished are deleted gracefully; the grace period
    is DeleteOptions.gracePeriodSeconds, else spec.terminationGracePeriodSeconds.
    """
    if key != ("", "pods"):
        return None
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    if not spec.get("nodeName") or status.get("phase") in ("Succeeded", "Failed"):
        return None
    if grace_period is None:
        grace_period = spec.get("terminationGracePeriodSeconds")
    grace = 30 if grace_period is None else int(grace_period)
    return grace if grace > 0 else None


class Storage:
    """All objects of the server. Methods are thread-safe and never await.

    Errors are raised as ``errors.ApiError`` and leave storage unchanged.
    """

    def __init__(
        self,
        registry: Registry,
        persistence: Persistence | None = None,
        *,
        history_size: int = DEFAULT_HISTORY,
    ) -> None:
        self.registry = registry
        self.persistence: Persistence = persistence or NullPersistence()
        self.history_size = history_size
        self.lock = threading.RLock()
        self._stores: dict[ResourceKey, ResourceStore] = {}
        self._uids: dict[str, ObjectRef] = {}
        self._dependents: dict[str, set[ObjectRef]] = {}
        self._hooks: list[Hook] = []
        last_rv, objects = self.persistence.load()
        self._rv = last_rv
        self._start_rv = last_rv
        for key, namespace, name, raw in objects:
            obj = orjson.loads(raw)
            rv = int(obj["metadata"]["resourceVersion"])
            store = self._store(key)
            store.objects[(namespace, name)] = Stored(raw, rv)
            store.namespace_counts[namespace] += 1
            self._index(key, namespace, name, obj)

    # -- bookkeeping --------------------------------------------------------

    @property
    def resource_version(self) -> int:
        """The resourceVersion of the latest write anywhere in the cluster."""
        return self._rv

    def add_hook(self, hook: Hook) -> None:
        """Run ``hook(storage, key, event_type, obj, old)`` after every committed write."""
        self._hooks.append(hook)

    def _store(self, key: ResourceKey) -> ResourceStore:
        store = self._stores.get(key)
        if store is None:
            store = ResourceStore(key, self.history_size, self._start_rv)
            self._stores[key] = store
        return store

    def _index(self, key: ResourceKey, namespace: str, name: str, obj: Obj) -> None:
        meta = obj["metadata"]
        ref = (key, namespace, name)
        self._uids[meta["uid"]] = ref
        for owner in meta.get("ownerReferences") or ():
            self._dependents.setdefault(owner.get("uid", ""), set()).add(ref)

    def _unindex(self, key: ResourceKey, namespace: str, name: str, obj: Obj) -> None:
        meta = obj["metadata"]
        ref = (key, namespace, name)
        self._uids.pop(meta["uid"], None)
        for owner in meta.get("ownerReferences") or ():
            deps = self._dependents.get(owner.get("uid", ""))
            if deps is not None:
                deps.discard(ref)
                if not deps:
                    del self._dependents[owner.get("uid", "")]

    def _info(self, key: ResourceKey) -> ResourceInfo:
        info = self.registry.any_version(*key)
        if info is None:  # a resource whose CRD is gone: describe it generically
            return ResourceInfo(
                group=key[0],
                version="v1",
                kind=key[1],
                plural=key[1],
                singular=key[1],
                namespaced=True,
                builtin=False,
            )
        return info

    # -- reads ----------------------------------------------------------------

    def get(self, info: ResourceInfo, namespace: str, name: str) -> Obj:
        """The object (a fresh copy); raises NotFound."""
        return orjson.loads(self.get_raw(info, namespace, name))  # type: ignore[no-any-return]

    def get_raw(self, info: ResourceInfo, namespace: str, name: str) -> bytes:
        """The object as stored JSON bytes; raises NotFound."""
        stored = self._store(info.key).objects.get((namespace, name))
        if stored is None:
            raise errors.not_found(info.plural, info.group, name)
        return stored.raw

    def find(self, key: ResourceKey, namespace: str, name: str) -> Obj | None:
        stored = self._store(key).objects.get((namespace, name))
        return None if stored is None else orjson.loads(stored.raw)

    def list_raw(
        self,
        info: ResourceInfo,
        namespace: str | None,
        *,
        after: tuple[str, str] | None = None,
    ) -> tuple[list[tuple[tuple[str, str], bytes]], int]:
        """The objects (in one namespace, or all) ordered by (namespace, name), and the
        current resourceVersion; ``after`` starts the list past that key (pagination)."""
        with self.lock:
            store = self._store(info.key)
            keys = store.sorted_keys()
            low, high = 0, len(keys)
            if namespace is not None:
                low = bisect.bisect_left(keys, (namespace,))  # type: ignore[arg-type]
                high = bisect.bisect_left(keys, (namespace + "\0",))  # type: ignore[arg-type]
            if after is not None:
                low = max(low, bisect.bisect_right(keys, after))
            objects = store.objects
            items = [(k, objects[k].raw) for k in keys[low:high]]
            return items, self._rv

    def count(self, key: ResourceKey | None = None) -> int:
        """How many objects are stored (of one resource, or in total)."""
        if key is not None:
            return len(self._store(key).objects)
        return sum(len(s.objects) for s in self._stores.values())

    def namespace_object_count(self, namespace: str) -> int:
        return sum(s.namespace_counts[namespace] for s in self._stores.values())

    def resource_keys(self) -> list[ResourceKey]:
        return list(self._stores)

    def names_in(self, key: ResourceKey, namespace: str | None = None) -> list[tuple[str, str]]:
        objects = self._store(key).objects
        return [k for k in objects if namespace is None or k[0] == namespace]

    def by_uid(self, uid: str) -> ObjectRef | None:
        return self._uids.get(uid)

    def dependents(self, uid: str) -> list[ObjectRef]:
        return sorted(self._dependents.get(uid, ()))

    # -- writes -----------------------------------------------------------------

    def _commit(
        self,
        key: ResourceKey,
        event_type: str,
        obj: Obj,
        old: Obj | None,
        old_raw: bytes | None = None,
    ) -> Obj:
        """Store ``obj`` (or remove it: DELETED) under a new resourceVersion and send its
        event. ``old_raw``, when given, is the stored encoding of ``old`` (saves encoding
        it again)."""
        namespace = obj["metadata"].get("namespace", "")
        name = obj["metadata"]["name"]
        store = self._store(key)
        rv = self._rv + 1
        obj["metadata"]["resourceVersion"] = str(rv)
        try:
            raw = dumps(obj)
        except TypeError as exc:  # e.g. an integer beyond 64 bits: nothing is stored
            raise errors.bad_request(f"the object cannot be stored as JSON: {exc}") from None
        self._rv = rv
        if event_type == "DELETED":
            del store.objects[(namespace, name)]
            store.keys_changed()
            store.namespace_counts[namespace] -= 1
            self._unindex(key, namespace, name, old if old is not None else obj)
            self.persistence.remove(key, namespace, name, rv)
        else:
            if old is not None:
                self._unindex(key, namespace, name, old)
            else:
                store.namespace_counts[namespace] += 1
                store.keys_changed()
            store.objects[(namespace, name)] = Stored(raw, rv)
            self._index(key, namespace, name, obj)
            self.persistence.put(key, namespace, name, raw, rv)
        if old is None or event_type != "MODIFIED":
            old_raw = None
        elif old_raw is None:
            old_raw = dumps(old)
        store.record(WatchEvent(rv, event_type, namespace, raw, old_raw))
        for hook in self._hooks:
            hook(self, key, event_type, obj, old)
        return obj

    def create(
        self, info: ResourceInfo, obj: Obj, *, dry_run: bool = False, uid: str | None = None
    ) -> Obj:
        """Store a new object; assigns uid, resourceVersion, creationTimestamp, generation.

        Requires ``obj`` to carry the namespace it belongs to (namespaced kinds).
        ``uid`` presets the uid (a Job's selector names it before it is stored).
        Raises AlreadyExists, or Invalid when neither name nor generateName is set.
        """
        meta = obj.setdefault("metadata", {})
        with self.lock:
            store = self._store(info.key)
            namespace = meta.get("namespace", "") if info.namespaced else ""
            if not meta.get("name"):
                prefix = meta.get("generateName")
                if not prefix:
                    raise errors.invalid(
                        info.kind,
                        info.group,
                        "",
                        [
                            {
                                "reason": "FieldValueRequired",
                                "message": "Required value: name or generateName is required",
                                "field": "metadata.name",
                            }
                        ],
                    )
                for _ in range(100):
                    suffix = "".join(random.choices(_NAME_CHARS, k=5))
                    if (namespace, prefix + suffix) not in store.objects:
                        break
                meta["name"] = prefix + suffix
            name = meta["name"]
            if (namespace, name) in store.objects:
                raise errors.already_exists(info.plural, info.group, name)
            meta["uid"] = uid or str(uuid.uuid4())
            meta["creationTimestamp"] = now_rfc3339()
            meta["generation"] = 1
            for transient in ("deletionTimestamp", "deletionGracePeriodSeconds"):
                meta.pop(transient, None)
            if not isinstance(meta.get("managedFields"), list):
                meta.pop("managedFields", None)
            if not info.namespaced:
                meta.pop("namespace", None)
            if dry_run:
                meta["resourceVersion"] = str(self._rv)
                return obj
            return self._commit(info.key, "ADDED", obj, None)

    def update(self, info: ResourceInfo, obj: Obj, *, dry_run: bool = False) -> Obj:
        """Replace an object. A set ``metadata.resourceVersion`` must be the current one.

        Raises NotFound, Conflict (stale resourceVersion), Invalid (new finalizers
        on an object being deleted). System metadata is kept from the stored object.
        """
        meta = obj.setdefault("metadata", {})
        namespace = meta.get("namespace", "") if info.namespaced else ""
        with self.lock:
            old = self.find(info.key, namespace, meta.get("name", ""))
            if old is None:
                raise errors.not_found(info.plural, info.group, meta.get("name", ""))
            return self._replace(info, old, obj, dry_run=dry_run)

    def mutate(
        self,
        info: ResourceInfo,
        namespace: str,
        name: str,
        change: Callable[[Obj], Obj],
        *,
        dry_run: bool = False,
    ) -> Obj:
        """Atomically read an object, apply ``change`` to a copy and store the result.

        ``change`` may raise ApiError to abort (nothing is stored). Raises NotFound.
        """
        with self.lock:
            stored = self._store(info.key).objects.get((namespace if info.namespaced else "", name))
            if stored is None:
                raise errors.not_found(info.plural, info.group, name)
            # Two parses of the stored bytes: the old object and the copy to change.
            old = orjson.loads(stored.raw)
            new = change(orjson.loads(stored.raw))
            return self._replace(info, old, new, dry_run=dry_run, old_raw=stored.raw)

    def _replace(
        self, info: ResourceInfo, old: Obj, new: Obj, *, dry_run: bool, old_raw: bytes | None = None
    ) -> Obj:
        meta = new.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise errors.bad_request("metadata must be an object")
        old_meta = old["metadata"]
        wanted_rv = meta.get("resourceVersion")
        if wanted_rv not in (None, "") and str(wanted_rv) != old_meta["resourceVersion"]:
            raise errors.stale_conflict(info.plural, info.group, old_meta["name"])
        for kept in (
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "name",
        ):
            if kept in old_meta:
                meta[kept] = old_meta[kept]
            else:
                meta.pop(kept, None)
        if info.namespaced:
            meta["namespace"] = old_meta.get("namespace", "")
        else:
            meta.pop("namespace", None)
        if "managedFields" not in meta and "managedFields" in old_meta:
            meta["managedFields"] = old_meta["managedFields"]  # omitted means unchanged
        elif not isinstance(meta.get("managedFields"), list) or not meta["managedFields"]:
            meta.pop("managedFields", None)
        meta["resourceVersion"] = old_meta["resourceVersion"]
        deleting = "deletionTimestamp" in old_meta
        if deleting:
            added = set(meta.get("finalizers") or ()) - set(old_meta.get("finalizers") or ())
            if added:
                raise errors.invalid(
                    info.kind,
                    info.group,
                    old_meta["name"],
                    [
                        {
                            "reason": "FieldValueForbidden",
                            "message": "Forbidden: no new finalizers can be added if the "
                            "object is being deleted, found new finalizers "
                            + ", ".join(f'"{f}"' for f in sorted(added)),
                            "field": "metadata.finalizers",
                        }
                    ],
                )
        generation = old_meta.get("generation", 1)
        if _spec_part(new, info.has_status) != _spec_part(old, info.has_status):
            generation += 1
        meta["generation"] = generation
        if not meta.get("finalizers"):
            meta.pop("finalizers", None)
        if _comparable(new) == _comparable(old):
            return old  # a no-op write keeps the resourceVersion and sends no event
        if dry_run:
            return new
        # A pod in its grace period stays until its kubelet deletes it with grace 0.
        grace_left = meta.get("deletionGracePeriodSeconds")
        if deleting and not _finalizers(new, info.key) and not grace_left:
            return self._commit(info.key, "DELETED", new, old)
        return self._commit(info.key, "MODIFIED", new, old, old_raw)

    def delete(
        self,
        info: ResourceInfo,
        namespace: str,
        name: str,
        *,
        propagation: str | None = None,
        preconditions: dict[str, Any] | None = None,
        dry_run: bool = False,
        grace_period: int | None = None,
    ) -> tuple[Obj, bool]:
        """Delete an object; returns it and whether it is gone (False: finalizers pending).

        ``propagation`` is Foreground, Background or Orphan (None: the kind's
        default). ``grace_period`` is DeleteOptions.gracePeriodSeconds: a pod
        running on a node is only marked (see ``_pod_grace``) until its kubelet
        deletes it again with 0. Raises NotFound, or Conflict when
        ``preconditions`` fail.
        """
        namespace = namespace if info.namespaced else ""
        with self.lock:
            obj = self.find(info.key, namespace, name)
            if obj is None:
                raise errors.not_found(info.plural, info.group, name)
            meta = obj["metadata"]
            pre = preconditions or {}
            if pre.get("uid") and pre["uid"] != meta["uid"]:
                raise errors.uid_precondition_failed(
                    info.plural, info.group, name, pre["uid"], meta["uid"]
                )
            if pre.get("resourceVersion") and pre["resourceVersion"] != meta["resourceVersion"]:
                raise errors.conflict(
                    info.plural,
                    info.group,
                    name,
                    "Precondition failed: ResourceVersion in precondition: "
                    f"{pre['resourceVersion']}, ResourceVersion in object meta: "
                    f"{meta['resourceVersion']}",
                )
            finalizers = list(meta.get("finalizers") or [])
            if propagation is None:
                if ORPHAN in finalizers or info.default_orphan:
                    propagation = "Orphan"
                elif FOREGROUND in finalizers:
                    propagation = "Foreground"
                else:
                    propagation = "Background"
            if dry_run:
                return obj, not _finalizers(obj, info.key)
            uid = meta["uid"]
            if propagation == "Orphan":
                self._orphan_dependents(uid)
            elif (
                propagation == "Foreground"
                and self._dependents.get(uid)
                and FOREGROUND not in finalizers
            ):
                finalizers.append(FOREGROUND)
            grace = _pod_grace(info.key, obj, grace_period)
            if "deletionTimestamp" in meta:
                # A shorter grace period wins; 0 (the kubelet's final delete) ends it.
                wanted = grace or 0
                if wanted < int(meta.get("deletionGracePeriodSeconds") or 0):
                    if wanted == 0 and not finalizers:
                        return self._commit(info.key, "DELETED", obj, None), True
                    new = json_copy(obj)
                    new["metadata"]["deletionGracePeriodSeconds"] = wanted
                    obj = self._commit(info.key, "MODIFIED", new, obj)
                if finalizers != list(meta.get("finalizers") or []):
                    new = json_copy(obj)
                    new["metadata"]["finalizers"] = finalizers
                    obj = self._commit(info.key, "MODIFIED", new, obj)
                self._after_mark(info, obj, propagation)
                return obj, False
            if finalizers or _finalizers(obj, info.key) or grace is not None:
                new = json_copy(obj)
                new_meta = new["metadata"]
                new_meta["finalizers"] = finalizers
                new_meta["deletionTimestamp"] = now_rfc3339()
                new_meta["deletionGracePeriodSeconds"] = grace or 0
                new_meta["generation"] = meta.get("generation", 1) + 1
                if not finalizers:
                    new_meta.pop("finalizers")
                obj = self._commit(info.key, "MODIFIED", new, obj)
                self._after_mark(info, obj, propagation)
                return obj, False
            return self._commit(info.key, "DELETED", obj, None), True

    def _after_mark(self, info: ResourceInfo, obj: Obj, propagation: str) -> None:
        """An object was marked for deletion: start deleting its dependents (foreground)."""
        if propagation != "Foreground":
            return
        for ref in self.dependents(obj["metadata"]["uid"]):
            self.delete_ref(ref, propagation="Foreground")

    def delete_ref(self, ref: ObjectRef, *, propagation: str | None = None) -> None:
        """Delete the object ``ref`` points at, if it still exists and is not deleting."""
        key, namespace, name = ref
        obj = self.find(key, namespace, name)
        if obj is None:
            return
        if "deletionTimestamp" in obj["metadata"] and propagation != "Foreground":
            return
        self.delete(self._info(key), namespace, name, propagation=propagation)

    def _orphan_dependents(self, owner_uid: str) -> None:
        for key, namespace, name in self.dependents(owner_uid):
            dep = self.find(key, namespace, name)
            if dep is None:
                continue
            new = json_copy(dep)
            refs = [
                r for r in new["metadata"].get("ownerReferences") or [] if r.get("uid") != owner_uid
            ]
            if refs:
                new["metadata"]["ownerReferences"] = refs
            else:
                new["metadata"].pop("ownerReferences", None)
            self._commit(key, "MODIFIED", new, dep)

    def remove_finalizer(self, key: ResourceKey, namespace: str, name: str, finalizer: str) -> None:
        """Drop one finalizer (system controllers use this); may complete a deletion."""
        with self.lock:
            obj = self.find(key, namespace, name)
            if obj is None:
                return
            info = self._info(key)

            def drop(current: Obj) -> Obj:
                meta = current["metadata"]
                meta["finalizers"] = [f for f in meta.get("finalizers") or [] if f != finalizer]
                if key == NAMESPACE_KEY:
                    spec = current.setdefault("spec", {})
                    spec["finalizers"] = [f for f in spec.get("finalizers") or [] if f != finalizer]
                    if not spec["finalizers"]:
                        spec.pop("finalizers")
                meta.pop("resourceVersion", None)
                return current

            self.mutate(info, namespace, name, drop)

    # -- watch ----------------------------------------------------------------------

    def watch(
        self,
        info: ResourceInfo,
        namespace: str | None,
        since_rv: int | None,
        loop: asyncio.AbstractEventLoop,
    ) -> tuple[Watcher, list[WatchEvent]]:
        """Register a watcher; returns it with the events it must send first.

        ``since_rv`` None: the current objects as ADDED events; otherwise every
        kept event after ``since_rv``. Raises Gone (Expired) when events after
        ``since_rv`` are no longer kept, or ``since_rv`` is from the future.
        """
        with self.lock:
            store = self._store(info.key)
            if since_rv is None:
                initial = [
                    WatchEvent(s.rv, "ADDED", key[0], s.raw, None)
                    for key, s in sorted(store.objects.items())
                    if namespace is None or key[0] == namespace
                ]
                initial.sort(key=lambda e: e.rv)
            else:
                if since_rv > self._rv:
                    # Only a restarted server without persistence can be asked this;
                    # 410 makes clients list again, as after a compaction.
                    raise errors.gone(
                        f"resource version {since_rv} is newer than the server's "
                        f"({self._rv}): the server restarted; list again"
                    )
                if since_rv < store.floor_rv:
                    raise errors.gone(f"too old resource version: {since_rv} ({store.floor_rv})")
                initial = [
                    e
                    for e in store.history
                    if e.rv > since_rv and (namespace is None or e.namespace == namespace)
                ]
            watcher = Watcher(loop, namespace)
            store.watchers.add(watcher)
            return watcher, initial

    def unwatch(self, info: ResourceInfo, watcher: Watcher) -> None:
        with self.lock:
            self._store(info.key).watchers.discard(watcher)
        watcher.closed = True

    def close_watchers(self, key: ResourceKey | None = None) -> None:
        """End every open watch stream (of one resource, or all)."""
        with self.lock:
            stores = [self._store(key)] if key is not None else list(self._stores.values())
            for store in stores:
                for watcher in tuple(store.watchers):
                    watcher.close()
                store.watchers.clear()

    def iter_objects(self, key: ResourceKey) -> Iterator[Obj]:
        for stored in list(self._store(key).objects.values()):
            yield orjson.loads(stored.raw)

    def drop_resource(self, key: ResourceKey) -> None:
        """Forget every object of a resource without events (its CRD is gone)."""
        with self.lock:
            store = self._stores.pop(key, None)
            if store is None:
                return
            for watcher in tuple(store.watchers):
                watcher.close()
            for (namespace, name), stored in store.objects.items():
                self._unindex(key, namespace, name, orjson.loads(stored.raw))
                self.persistence.remove(key, namespace, name, self._rv)
