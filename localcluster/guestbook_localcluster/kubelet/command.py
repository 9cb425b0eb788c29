"""A container's command line from its image and its spec, as Kubernetes builds it.

The rules (``kubectl explain pod.spec.containers.command``): ``command``
replaces the image's ENTRYPOINT, ``args`` replaces its CMD, and a
``command`` without ``args`` drops the image's CMD too. ``$(NAME)`` in either
refers to the container's environment (:func:`.pod_env.expand`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .pod_env import expand


def container_argv(
    entrypoint: Sequence[str],
    cmd: Sequence[str],
    command: Sequence[str] | None,
    args: Sequence[str] | None,
    env: Mapping[str, str],
) -> list[str]:
    """The argv a container runs: image ENTRYPOINT/CMD overridden by ``command``/``args``.

    ``command``/``args`` None (or empty) means "not set in the pod spec", as in
    Kubernetes. The result may be empty (the caller reports that).
    """
    if command:
        argv = [expand(str(a), env) for a in command]
        argv += [expand(str(a), env) for a in args or []]
        return argv
    argv = [str(a) for a in entrypoint]
    if args:
        return argv + [expand(str(a), env) for a in args]
    return argv + [str(a) for a in cmd]
