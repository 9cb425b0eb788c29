"""Injected by the process kubelet into every pod (on PYTHONPATH): binds go to the pod IP.

Pods here are processes sharing the host's network, each with its own loopback
address as pod IP (``GUESTBOOK_POD_IP``). A server that binds the wildcard
address (``0.0.0.0`` or ``""``, as ``--host 0.0.0.0`` does) would take the
port on every address and collide with the next pod; this rewrites such binds
to the pod IP, which is what the same program sees inside a container. Then it
runs the ``sitecustomize`` module this one shadows, if there is one.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import socket
import sys

_POD_IP = os.environ.get("GUESTBOOK_POD_IP", "")
_WILDCARDS = ("", "0.0.0.0")
_here = os.path.dirname(os.path.abspath(__file__))

if _POD_IP:
    _bind = socket.socket.bind

    def bind(self: socket.socket, address: object, /) -> None:
        if (
            self.family == socket.AF_INET
            and isinstance(address, tuple)
            and len(address) == 2
            and address[0] in _WILDCARDS
        ):
            address = (_POD_IP, address[1])
        _bind(self, address)  # type: ignore[arg-type]

    socket.socket.bind = bind  # type: ignore[method-assign,assignment]


def _chain() -> None:
    path = [p for p in sys.path if os.path.abspath(p or ".") != _here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", path)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


_chain()
