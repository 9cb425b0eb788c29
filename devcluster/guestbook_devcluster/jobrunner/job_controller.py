"""The Job controller: creates and deletes a Job's pods and writes its status.

Level-triggered like the real one: any change of a Job or of one of its pods
queues the Job; a sync reads the current Job and pods, counts finished pods
(removing their tracking finalizer once the count is in the Job's status),
asks :func:`job_status.plan` what to do and does it.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from typing import Any

from guestbook_ledger.kube_rest import (
    CALL_ERRORS,
    ApiClient,
    ApiError,
    Obj,
    resource_path,
    with_retries,
)

from .events import EventRecorder
from .informer import Informer, Key
from .job_status import (
    INDEX_ANNOTATION,
    TRACKING_FINALIZER,
    JobPlan,
    completion_index,
    format_indexes,
    is_tracked,
    parse_indexes,
    plan,
    pod_outcome,
)

log = logging.getLogger(__name__)

WORKERS = 4  # Jobs synced concurrently (one sync per Job at a time)


def _meta(obj: Obj) -> dict[str, Any]:
    meta: dict[str, Any] = obj.get("metadata") or {}
    return meta


def owner_uid(pod: Obj) -> str | None:
    for ref in _meta(pod).get("ownerReferences") or []:
        if ref.get("kind") == "Job" and ref.get("controller"):
            return str(ref.get("uid"))
    return None


def _version(obj: Obj) -> int:
    try:
        return int(_meta(obj).get("resourceVersion") or 0)
    except ValueError:
        return 0


def pod_manifest(job: Obj, index: int | None) -> Obj:
    """The Pod the Job creates for completion ``index`` (None: non-indexed)."""
    meta = _meta(job)
    name, uid = str(meta["name"]), str(meta["uid"])
    template = (job.get("spec") or {}).get("template") or {}
    template_meta = template.get("metadata") or {}
    labels = dict(template_meta.get("labels") or {})
    labels.update(
        {
            "controller-uid": uid,
            "batch.kubernetes.io/controller-uid": uid,
            "job-name": name,
            "batch.kubernetes.io/job-name": name,
        }
    )
    annotations = dict(template_meta.get("annotations") or {})
    spec = dict(template.get("spec") or {})
    if index is not None:
        labels[INDEX_ANNOTATION] = str(index)
        annotations[INDEX_ANNOTATION] = str(index)
        index_env = {
            "name": "JOB_COMPLETION_INDEX",
            "valueFrom": {"fieldRef": {"fieldPath": f"metadata.annotations['{INDEX_ANNOTATION}']"}},
        }
        spec["containers"] = [
            {**c, "env": [*(c.get("env") or []), index_env]} for c in spec.get("containers") or []
        ]
    pod_meta: Obj = {
        "generateName": f"{name}-" if index is None else f"{name}-{index}-",
        "namespace": meta.get("namespace"),
        "labels": labels,
        "finalizers": [TRACKING_FINALIZER],
        "ownerReferences": [
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "name": name,
                "uid": uid,
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
    }
    if annotations:
        pod_meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": spec}


class JobController:
    """Syncs every Job the API server holds."""

    def __init__(self, client: ApiClient, pods: Informer | None = None) -> None:
        """``pods``: a pod informer shared with the kubelet (run by the caller)."""
        self.client = client
        self.jobs = Informer(client, "/apis/batch/v1/jobs", self._on_job)
        self._owns_pods = pods is None
        self.pods = pods or Informer(client, "/api/v1/pods")
        self.pods.add_handler(self._on_pod)
        self._queue: asyncio.Queue[Key] = asyncio.Queue()
        self._queued: set[Key] = set()
        self._running: set[Key] = set()
        self._again: set[Key] = set()
        # What this controller wrote but may not have seen through its watches yet.
        self._latest: dict[str, Obj] = {}  # job uid -> Job as last written
        self._counted: set[str] = set()  # pod uids already in a Job's counts
        self._created: dict[str, dict[str, Obj]] = {}  # job uid -> pod uid -> new pod
        self._deleted: set[str] = set()  # pod uids this controller deleted
        self._timers: dict[Key, asyncio.TimerHandle] = {}
        self._pods_of: dict[str, dict[str, Obj]] = {}  # job uid -> pod uid -> pod (watched)
        self.events = EventRecorder(client, "job-controller")

    async def run(self) -> None:
        """Watch Jobs and pods and sync until cancelled."""
        tasks = [
            asyncio.create_task(self.jobs.run(), name="job informer"),
            asyncio.create_task(self.events.run(), name="job events"),
        ]
        if self._owns_pods:
            tasks.append(asyncio.create_task(self.pods.run(), name="job pod informer"))
        try:
            await self.jobs.synced.wait()
            await self.pods.synced.wait()
            for key in list(self.jobs.store):
                self.enqueue(key)
            # Pods whose Job was deleted while no controller ran still hold its finalizer.
            try:
                await self._release_orphans("", None)
            except CALL_ERRORS as exc:
                log.warning("could not release the pods of deleted Jobs yet: %s", exc)
            tasks += [asyncio.create_task(self._worker()) for _ in range(WORKERS)]
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            for timer in self._timers.values():
                timer.cancel()

    # -- queue ------------------------------------------------------------------

    def enqueue(self, key: Key) -> None:
        if key in self._running:
            self._again.add(key)
        elif key not in self._queued:
            self._queued.add(key)
            self._queue.put_nowait(key)

    def _enqueue_at(self, key: Key, when: datetime.datetime) -> None:
        loop = asyncio.get_running_loop()
        delay = max(0.0, (when - datetime.datetime.now(datetime.UTC)).total_seconds())
        old = self._timers.pop(key, None)
        if old is not None:
            old.cancel()
        self._timers[key] = loop.call_later(delay + 0.05, self.enqueue, key)

    async def _worker(self) -> None:
        while True:
            key = await self._queue.get()
            self._queued.discard(key)
            if key in self._running:
                self._again.add(key)
                continue
            self._running.add(key)
            try:
                await self.sync(key)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.debug("sync of job %s/%s failed, retrying: %s", *key, exc)
                loop = asyncio.get_running_loop()
                loop.call_later(0.5, self.enqueue, key)
            finally:
                self._running.discard(key)
                if key in self._again:
                    self._again.discard(key)
                    self.enqueue(key)

    async def _on_job(self, kind: str, job: Obj) -> None:
        meta = _meta(job)
        self.enqueue((str(meta.get("namespace") or ""), str(meta.get("name") or "")))

    async def _on_pod(self, kind: str, pod: Obj) -> None:
        uid = owner_uid(pod)
        if uid is None:
            return
        meta = _meta(pod)
        pod_uid = str(meta.get("uid"))
        self._created.get(uid, {}).pop(pod_uid, None)
        if kind == "DELETED":
            self._deleted.discard(pod_uid)
            self._pods_of.get(uid, {}).pop(pod_uid, None)
        else:
            self._pods_of.setdefault(uid, {})[pod_uid] = pod
        for ref in meta.get("ownerReferences") or []:
            if ref.get("uid") == uid:
                self.enqueue((str(meta.get("namespace") or ""), str(ref.get("name"))))
                return

    # -- sync -------------------------------------------------------------------

    def _current_job(self, key: Key) -> Obj | None:
        job = self.jobs.store.get(key)
        if job is None:
            return None
        mine = self._latest.get(str(_meta(job).get("uid")))
        if mine is not None and _version(mine) > _version(job):
            return mine
        return job

    async def sync(self, key: Key) -> None:
        """Bring Job ``key`` one step closer to what its spec asks for."""
        namespace = key[0]
        job = self._current_job(key)
        if job is None or _meta(job).get("deletionTimestamp"):
            await self._release_orphans(namespace, None if job is None else str(_meta(job)["uid"]))
            return
        uid = str(_meta(job)["uid"])
        seen = self._pods_of.get(uid, {})
        pods = list(seen.values())
        pods += [p for pod_uid, p in self._created.get(uid, {}).items() if pod_uid not in seen]
        job = await self._count_finished(job, pods)
        status = job.get("status") or {}
        indexed = (job.get("spec") or {}).get("completionMode") == "Indexed"
        done = parse_indexes(status.get("completedIndexes")) if indexed else set()
        active = [
            p
            for p in pods
            if pod_outcome(p) is None
            and str(_meta(p).get("uid")) not in self._deleted
            and str(_meta(p).get("uid")) not in self._counted
        ]
        now = datetime.datetime.now(datetime.UTC)
        result = plan(
            job,
            active,
            int(status.get("succeeded") or 0),
            int(status.get("failed") or 0),
            done,
            now,
        )
        await self._act(job, result)

    async def _count_finished(self, job: Obj, pods: list[Obj]) -> Obj:
        """Move finished tracked pods into the Job's counts (crash-safe, exactly once)."""
        status = dict(job.get("status") or {})
        uncounted = status.get("uncountedTerminatedPods") or {}
        pending: dict[str, str] = {str(u): "succeeded" for u in uncounted.get("succeeded") or []}
        pending.update({str(u): "failed" for u in uncounted.get("failed") or []})
        by_uid = {str(_meta(p).get("uid")): p for p in pods}
        fresh = {
            pod_uid: outcome
            for pod_uid, p in by_uid.items()
            if is_tracked(p)
            and (outcome := pod_outcome(p)) is not None
            and pod_uid not in pending
            and pod_uid not in self._counted
            and pod_uid not in self._deleted
        }
        if not pending and not fresh:
            return job
        pending.update(fresh)
        if fresh:
            # Step 1: record the uids before touching the pods (survives a crash).
            job = await self._write_status(
                job, {**status, "uncountedTerminatedPods": _uncounted(pending)}
            )
        # Step 2: release the pods.
        released: dict[str, str] = {}
        for pod_uid, outcome in pending.items():
            pod = by_uid.get(pod_uid)
            if pod is None or not is_tracked(pod) or await self._drop_finalizer(pod):
                released[pod_uid] = outcome
        # Step 3: count what was released.
        status = dict(job.get("status") or {})
        indexed = (job.get("spec") or {}).get("completionMode") == "Indexed"
        done = parse_indexes(status.get("completedIndexes")) if indexed else set()
        for pod_uid, outcome in released.items():
            pod = by_uid.get(pod_uid)
            index = completion_index(pod) if pod is not None else None
            if outcome == "succeeded" and indexed and index is not None:
                done.add(index)
            elif outcome == "succeeded":
                status["succeeded"] = int(status.get("succeeded") or 0) + 1
            else:
                status["failed"] = int(status.get("failed") or 0) + 1
        if indexed:
            status["completedIndexes"] = format_indexes(done)
            status["succeeded"] = len(done)
        status["uncountedTerminatedPods"] = _uncounted(
            {u: o for u, o in pending.items() if u not in released}
        )
        self._counted.update(released)
        return await self._write_status(job, status)

    async def _drop_finalizer(self, pod: Obj) -> bool:
        meta = _meta(pod)
        remaining = [f for f in meta.get("finalizers") or [] if f != TRACKING_FINALIZER]
        path = resource_path("v1", "pods", str(meta.get("namespace")), str(meta.get("name")))
        try:
            await with_retries(
                lambda: self.client.merge_patch(
                    path, {"metadata": {"finalizers": remaining or None}}
                )
            )
        except ApiError as exc:
            log.debug("cannot release pod %s: %s", meta.get("name"), exc)
            return False
        return True

    async def _write_status(self, job: Obj, status: Obj) -> Obj:
        meta = _meta(job)
        path = resource_path("batch/v1", "jobs", str(meta["namespace"]), str(meta["name"]))
        old = job.get("status") or {}
        body = {**{k: None for k in old if k not in status}, **status}
        # A merge patch only removes keys it names: spell out the emptied lists.
        uncounted = dict(status.get("uncountedTerminatedPods") or {})
        body["uncountedTerminatedPods"] = {
            "succeeded": uncounted.get("succeeded"),
            "failed": uncounted.get("failed"),
        }
        patch = {"status": body}
        written = await with_retries(lambda: self.client.merge_patch(path + "/status", patch))
        if written is None:
            return job
        self._latest[str(meta["uid"])] = written
        return written

    async def _act(self, job: Obj, result: JobPlan) -> None:
        meta = _meta(job)
        key = (str(meta["namespace"]), str(meta["name"]))
        uid = str(meta["uid"])
        about = {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta}
        for pod in result.delete_pods:
            await self._delete_pod(pod)
            self.events.emit(
                about, "Normal", "SuccessfulDelete", f"Deleted pod: {_meta(pod)['name']}"
            )
        if result.create_indexes and await self._being_deleted(job):
            log.debug("job %s/%s is being deleted: no new pods", *key)
            result.create_indexes = []
        if result.create_indexes:
            path = resource_path("v1", "pods", key[0])
            created = await asyncio.gather(
                *(self._create_pod(path, job, index) for index in result.create_indexes),
                return_exceptions=True,
            )
            made = 0
            for outcome in created:
                if isinstance(outcome, BaseException):
                    log.debug("job %s/%s: pod creation failed: %s", *key, outcome)
                    self.enqueue(key)
                    continue
                self._created.setdefault(uid, {})[str(_meta(outcome)["uid"])] = outcome
                self.events.emit(
                    about, "Normal", "SuccessfulCreate", f"Created pod: {_meta(outcome)['name']}"
                )
                made += 1
            result.status["active"] = int(result.status.get("active") or 0) + made
        old = job.get("status") or {}
        if any(old.get(k) != v for k, v in result.status.items()):
            await self._write_status(job, result.status)
            self._report_transitions(about, old, result.status)
        if result.delete_job:
            path = resource_path("batch/v1", "jobs", key[0], key[1])
            await with_retries(
                lambda: self.client.delete(
                    path, {"propagationPolicy": "Background", "preconditions": {"uid": uid}}
                )
            )
        elif result.requeue_at is not None:
            self._enqueue_at(key, result.requeue_at)

    async def _being_deleted(self, job: Obj) -> bool:
        """Whether the API server's Job has a deletionTimestamp (or is gone or replaced).

        Asked of the server, not the cache, right before creating pods: the pod
        watch can deliver the deletion of a Job's pods before the Job watch
        delivers the Job's deletionTimestamp, and pods must not be replaced then.
        """
        meta = _meta(job)
        if meta.get("deletionTimestamp"):
            return True
        path = resource_path("batch/v1", "jobs", str(meta["namespace"]), str(meta["name"]))
        current = await with_retries(lambda: self.client.get(path))
        if current is None:
            return True
        current_meta = _meta(current)
        return current_meta.get("uid") != meta.get("uid") or bool(
            current_meta.get("deletionTimestamp")
        )

    def _report_transitions(self, about: Obj, old: Obj, new: Obj) -> None:
        """Events for conditions that just became true (as the real controller emits)."""
        was = {c.get("type") for c in old.get("conditions") or [] if c.get("status") == "True"}
        for condition in new.get("conditions") or []:
            kind = condition.get("type")
            if condition.get("status") != "True" or kind in was:
                continue
            if kind == "Complete":
                self.events.emit(about, "Normal", "Completed", "Job completed")
            elif kind == "Failed":
                reason = str(condition.get("reason"))
                self.events.emit(about, "Warning", reason, str(condition.get("message")))
            elif kind == "Suspended":
                self.events.emit(about, "Normal", "Suspended", "Job suspended")

    async def _create_pod(self, path: str, job: Obj, index: int | None) -> Obj:
        manifest = pod_manifest(job, index)
        return await with_retries(lambda: self.client.create(path, manifest))

    async def _delete_pod(self, pod: Obj) -> None:
        """Delete a pod without counting it as failed (scale down, suspend, finish)."""
        meta = _meta(pod)
        pod_uid = str(meta.get("uid"))
        self._deleted.add(pod_uid)
        if is_tracked(pod) and not await self._drop_finalizer(pod):
            self._deleted.discard(pod_uid)
            return
        path = resource_path("v1", "pods", str(meta.get("namespace")), str(meta.get("name")))
        await with_retries(lambda: self.client.delete(path, {"preconditions": {"uid": pod_uid}}))

    async def _release_orphans(self, namespace: str, job_uid: str | None) -> None:
        """Drop the tracking finalizer of pods whose Job is gone or being deleted."""
        live = {str(_meta(j).get("uid")) for j in self.jobs.store.values()}
        for pod in list(self.pods.store.values()):
            owner = owner_uid(pod)
            if owner is None or not is_tracked(pod):
                continue
            if owner == job_uid or owner not in live:
                await self._drop_finalizer(pod)


def _uncounted(pending: dict[str, str]) -> Obj:
    result: Obj = {}
    for outcome in ("succeeded", "failed"):
        uids = sorted(u for u, o in pending.items() if o == outcome)
        if uids:
            result[outcome] = uids
    return result
