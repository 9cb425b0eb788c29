"""Pod volumes as files: secret, configMap, projected, downwardAPI, emptyDir, hostPath.

A process cannot see a mount at ``/etc/guestbook`` (there is no mount
namespace), so each volume is a folder under the pod's directory and a
container reaches it through a **path rewrite**: in its command, args and env
values, a path at or below a ``volumeMounts[].mountPath`` is replaced by the
same path below the volume's folder (``subPath`` included). A program that
finds its files through its arguments or environment works unchanged; one that
hard-codes a mount path does not (see the README's known differences).

The ServiceAccount volume the ServiceAccount admission plugin adds
(``kube-api-access-*``: a projected ``serviceAccountToken``, the
``kube-root-ca.crt`` ConfigMap and the namespace) is an ordinary projected
volume here; its token comes from the TokenRequest API, bound to the pod, and
is rotated by the kubelet (:meth:`PodVolumes.rotate_tokens`).
"""

from __future__ import annotations

import base64
import datetime
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .pod_env import EnvError, Lookup, PodPlace, field_value, resource_field_value

Obj = dict[str, Any]

SERVICE_ACCOUNT_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
# The kubelet refreshes a projected token once 80% of its lifetime has passed.
ROTATE_FRACTION = 0.8


class VolumeError(Exception):
    """A volume cannot be set up yet (FailedMount); the pod keeps waiting and retries."""


@dataclass(frozen=True)
class TokenGrant:
    """A ServiceAccount token from the TokenRequest API and when it expires."""

    token: str
    expires: datetime.datetime


# issue(service_account, audience or None, expiration_seconds) -> a token bound to the pod
TokenIssuer = Callable[[str, str | None, int], Awaitable[TokenGrant]]


@dataclass
class ProjectedToken:
    """A token file the kubelet keeps fresh."""

    path: Path
    service_account: str
    audience: str | None
    expiration_seconds: int
    issued: datetime.datetime
    expires: datetime.datetime

    def refresh_at(self) -> datetime.datetime:
        return self.issued + (self.expires - self.issued) * ROTATE_FRACTION


@dataclass
class PodVolumes:
    """The folders of a pod's volumes, by volume name, and the tokens to rotate."""

    folders: dict[str, Path] = field(default_factory=dict)
    tokens: list[ProjectedToken] = field(default_factory=list)

    def mounts(self, container: Obj) -> list[tuple[str, Path]]:
        """(mountPath, host folder or file) of ``container``'s mounts, longest path first.

        Raises VolumeError for a mount of a volume the pod does not define.
        """
        result: list[tuple[str, Path]] = []
        for mount in container.get("volumeMounts") or []:
            name = str(mount.get("name") or "")
            if name not in self.folders:
                raise VolumeError(f'volume "{name}" mounted by the container is not defined')
            target = self.folders[name]
            sub_path = str(mount.get("subPath") or "")
            if sub_path:
                target = target / sub_path
            result.append((str(mount.get("mountPath") or "").rstrip("/") or "/", target))
        return sorted(result, key=lambda m: len(m[0]), reverse=True)

    async def rotate_tokens(self, issue: TokenIssuer, now: datetime.datetime) -> None:
        """Request a new token for every projected token due for refresh at ``now``."""
        for token in self.tokens:
            if now >= token.refresh_at():
                grant = await issue(token.service_account, token.audience, token.expiration_seconds)
                _write(token.path, grant.token.encode(), 0o644)
                token.issued, token.expires = now, grant.expires

    def next_rotation(self) -> datetime.datetime | None:
        return min((t.refresh_at() for t in self.tokens), default=None)


def rewrite_path(text: str, mounts: list[tuple[str, Path]]) -> str:
    """``text`` with a leading mount path (also after ``--flag=``) replaced by its folder.

    ``mounts`` as :meth:`PodVolumes.mounts` returns them (longest first).
    """
    prefix, eq, value = text.partition("=")
    if eq and value.startswith("/"):
        return prefix + eq + rewrite_path(value, mounts)
    for mount_path, target in mounts:
        if text == mount_path:
            return str(target)
        if text.startswith(mount_path + "/"):
            return str(target) + text[len(mount_path) :]
    return text


def _write(path: Path, data: bytes, mode: int) -> None:
    """Write ``path`` atomically (a reader sees the old or the new content)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    os.chmod(partial, mode)
    partial.replace(path)


def _safe_relative(path: str) -> str:
    if not path or path.startswith("/") or ".." in path.split("/"):
        raise VolumeError(f'volume item path "{path}" must be relative and not contain ".."')
    return path


def _source_values(obj: Obj, kind: str) -> dict[str, bytes]:
    if kind == "ConfigMap":
        values = {str(k): str(v).encode() for k, v in (obj.get("data") or {}).items()}
        values.update(
            {str(k): base64.b64decode(str(v)) for k, v in (obj.get("binaryData") or {}).items()}
        )
        return values
    return {str(k): base64.b64decode(str(v)) for k, v in (obj.get("data") or {}).items()}


async def _key_files(
    lookup: Lookup, kind: str, namespace: str, source: Obj, default_mode: int
) -> dict[str, tuple[bytes, int]] | None:
    """Files of a secret/configMap source: path -> (content, mode); None: optional, missing."""
    name = str(source.get("name") or source.get("secretName") or "")
    try:
        obj = await lookup(kind, namespace, name)
    except EnvError as exc:
        raise VolumeError(str(exc)) from exc
    noun = "secret" if kind == "Secret" else "configmap"
    if obj is None:
        if source.get("optional"):
            return None
        raise VolumeError(f'{noun} "{name}" not found')
    values = _source_values(obj, kind)
    items = source.get("items")
    if not items:
        return {key: (value, default_mode) for key, value in values.items()}
    files: dict[str, tuple[bytes, int]] = {}
    for item in items:
        key = str(item.get("key") or "")
        if key not in values:
            if source.get("optional"):
                continue
            raise VolumeError(
                f"configmap references non-existent config key: {key}"
                if kind == "ConfigMap"
                else f'secret "{name}" has no key {key}'
            )
        mode = int(item["mode"]) if item.get("mode") is not None else default_mode
        files[_safe_relative(str(item.get("path") or key))] = (values[key], mode)
    return files


def _downward_files(
    pod: Obj, items: list[Obj], place: PodPlace, default_mode: int
) -> dict[str, tuple[bytes, int]]:
    containers = {str(c.get("name")): c for c in (pod.get("spec") or {}).get("containers") or []}
    first: Obj = next(iter(containers.values()), {})
    files: dict[str, tuple[bytes, int]] = {}
    for item in items:
        try:
            if "fieldRef" in item:
                path = str((item["fieldRef"] or {}).get("fieldPath") or "")
                value = field_value(pod, path, place, volume=True)
            elif "resourceFieldRef" in item:
                ref = item["resourceFieldRef"] or {}
                container = containers.get(str(ref.get("containerName") or ""), first)
                value = resource_field_value(container, ref, place)
            else:
                continue
        except EnvError as exc:
            raise VolumeError(str(exc)) from exc
        mode = int(item["mode"]) if item.get("mode") is not None else default_mode
        files[_safe_relative(str(item.get("path") or ""))] = (value.encode(), mode)
    return files


async def write_volumes(
    pod: Obj,
    root: Path,
    lookup: Lookup,
    issue: TokenIssuer,
    place: PodPlace,
    now: datetime.datetime | None = None,
) -> PodVolumes:
    """Write every volume of ``pod`` under ``root`` (one folder per volume).

    Raises VolumeError when a volume cannot be made yet (missing Secret or
    ConfigMap, a token refused) or its type is not supported here.
    """
    now = now or datetime.datetime.now(datetime.UTC)
    meta = pod.get("metadata") or {}
    namespace = str(meta.get("namespace") or "default")
    service_account = str((pod.get("spec") or {}).get("serviceAccountName") or "default")
    result = PodVolumes()
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        name = str(volume.get("name") or "")
        folder = root / name
        files: dict[str, tuple[bytes, int]] = {}
        if "emptyDir" in volume:
            folder.mkdir(parents=True, exist_ok=True)
        elif "hostPath" in volume:
            folder = Path(str((volume["hostPath"] or {}).get("path") or "/"))
        elif "secret" in volume or "configMap" in volume:
            kind = "Secret" if "secret" in volume else "ConfigMap"
            source = volume["secret" if kind == "Secret" else "configMap"] or {}
            mode = int(source.get("defaultMode", 0o644))
            files = await _key_files(lookup, kind, namespace, source, mode) or {}
            folder.mkdir(parents=True, exist_ok=True)
        elif "downwardAPI" in volume:
            source = volume["downwardAPI"] or {}
            mode = int(source.get("defaultMode", 0o644))
            files = _downward_files(pod, list(source.get("items") or []), place, mode)
        elif "projected" in volume:
            projected = volume["projected"] or {}
            mode = int(projected.get("defaultMode", 0o644))
            folder.mkdir(parents=True, exist_ok=True)
            for source in projected.get("sources") or []:
                if "secret" in source or "configMap" in source:
                    kind = "Secret" if "secret" in source else "ConfigMap"
                    sub = source["secret" if kind == "Secret" else "configMap"] or {}
                    files.update(await _key_files(lookup, kind, namespace, sub, mode) or {})
                elif "downwardAPI" in source:
                    items = list((source["downwardAPI"] or {}).get("items") or [])
                    files.update(_downward_files(pod, items, place, mode))
                elif "serviceAccountToken" in source:
                    token_source = source["serviceAccountToken"] or {}
                    audience = token_source.get("audience") or None
                    seconds = int(token_source.get("expirationSeconds") or 3600)
                    grant = await issue(service_account, audience, seconds)
                    path = _safe_relative(str(token_source.get("path") or "token"))
                    files[path] = (grant.token.encode(), mode)
                    result.tokens.append(
                        ProjectedToken(
                            folder / path, service_account, audience, seconds, now, grant.expires
                        )
                    )
                else:
                    kinds = ", ".join(sorted(source)) or "empty"
                    raise VolumeError(
                        f'projected volume "{name}": source {kinds} is not supported by the '
                        "local process kubelet"
                    )
        else:
            kinds = ", ".join(sorted(k for k in volume if k != "name")) or "empty"
            raise VolumeError(
                f'volume "{name}" of type {kinds} is not supported by the local process kubelet '
                "(supported: secret, configMap, projected, downwardAPI, emptyDir, hostPath)"
            )
        for relative, (data, file_mode) in files.items():
            _write(folder / relative, data, file_mode)
        result.folders[name] = folder
    return result
