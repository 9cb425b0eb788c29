"""Container probes: httpGet, tcpSocket and exec, as the kubelet's prober runs them.

A probe targets the pod's IP (``host`` may override it, as in Kubernetes);
a named port is looked up in the container's ``ports``. ``exec`` runs the
command as a local process with the container's environment (there is no
container to run it in). gRPC probes are not supported and always fail with a
message saying so.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .process import CannotRun, resolve_command

Obj = dict[str, Any]
USER_AGENT = "kube-probe/1.36"


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    message: str = ""


@dataclass(frozen=True)
class ProbeTiming:
    """The timing fields of a probe, with Kubernetes' defaults."""

    initial_delay: float
    period: float
    timeout: float
    success_threshold: int
    failure_threshold: int

    @classmethod
    def of(cls, probe: Obj) -> ProbeTiming:
        return cls(
            initial_delay=float(probe.get("initialDelaySeconds") or 0),
            period=float(probe.get("periodSeconds") or 10),
            timeout=float(probe.get("timeoutSeconds") or 1),
            success_threshold=int(probe.get("successThreshold") or 1),
            failure_threshold=int(probe.get("failureThreshold") or 3),
        )


def resolve_port(port: object, container: Obj) -> int:
    """A probe's port: a number, or the name of one of the container's ports.

    Raises ValueError for a name the container does not declare.
    """
    if isinstance(port, int):
        return port
    text = str(port)
    if text.isdigit():
        return int(text)
    for declared in container.get("ports") or []:
        if declared.get("name") == text:
            return int(declared["containerPort"])
    raise ValueError(f'port "{text}" is not a port of the container')


async def _http_get(spec: Obj, host: str, port: int, timeout: float) -> ProbeResult:
    scheme = str(spec.get("scheme") or "HTTP").upper()
    path = str(spec.get("path") or "/")
    context: ssl.SSLContext | None = None
    if scheme == "HTTPS":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the kubelet does not verify probe targets
    headers = {"Host": f"{host}:{port}", "User-Agent": USER_AGENT, "Accept": "*/*"}
    for header in spec.get("httpHeaders") or []:
        headers[str(header.get("name"))] = str(header.get("value"))
    request = f"GET {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request += "Connection: close\r\n\r\n"
    url = f"{scheme.lower()}://{host}:{port}{path}"
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(host, port, ssl=context)
            try:
                writer.write(request.encode())
                await writer.drain()
                status_line = await reader.readline()
            finally:
                writer.close()
                with contextlib.suppress(OSError, ssl.SSLError):
                    await writer.wait_closed()
    except TimeoutError:
        return ProbeResult(False, f'Get "{url}": context deadline exceeded')
    except (OSError, ssl.SSLError) as exc:
        return ProbeResult(False, f'Get "{url}": dial tcp {host}:{port}: {exc.strerror or exc}')
    parts = status_line.decode("latin-1").split()
    code = int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else 0
    if 200 <= code < 400:
        return ProbeResult(True)
    return ProbeResult(False, f"HTTP probe failed with statuscode: {code}")


async def _tcp(host: str, port: int, timeout: float) -> ProbeResult:
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(host, port)
            writer.close()
    except TimeoutError:
        return ProbeResult(False, f"dial tcp {host}:{port}: i/o timeout")
    except OSError as exc:
        return ProbeResult(False, f"dial tcp {host}:{port}: {exc.strerror or exc}")
    return ProbeResult(True)


async def _exec(
    command: list[str], env: Mapping[str, str], cwd: Path, timeout: float
) -> ProbeResult:
    try:
        executable = resolve_command(command, env.get("PATH", os.defpath))
    except CannotRun as exc:
        return ProbeResult(False, str(exc))
    process = await asyncio.create_subprocess_exec(
        executable,
        *command[1:],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=dict(env),
        cwd=str(cwd),
    )
    try:
        async with asyncio.timeout(timeout):
            output, _ = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        return ProbeResult(False, f"command timed out after {timeout:g}s")
    if process.returncode == 0:
        return ProbeResult(True)
    text = output.decode("utf-8", "replace").strip()[:1024]
    return ProbeResult(False, text or f"command exited with {process.returncode}")


async def run_probe(
    probe: Obj, container: Obj, pod_ip: str, env: Mapping[str, str], cwd: Path
) -> ProbeResult:
    """Run ``probe`` of ``container`` once; never raises for a failing target."""
    timeout = ProbeTiming.of(probe).timeout
    try:
        if "httpGet" in probe:
            spec = probe["httpGet"] or {}
            port = resolve_port(spec.get("port"), container)
            return await _http_get(spec, str(spec.get("host") or pod_ip), port, timeout)
        if "tcpSocket" in probe:
            spec = probe["tcpSocket"] or {}
            port = resolve_port(spec.get("port"), container)
            return await _tcp(str(spec.get("host") or pod_ip), port, timeout)
        if "exec" in probe:
            command = [str(a) for a in (probe["exec"] or {}).get("command") or []]
            return await _exec(command, env, cwd, timeout)
    except ValueError as exc:
        return ProbeResult(False, str(exc))
    if "grpc" in probe:
        return ProbeResult(False, "gRPC probes are not supported by the local process kubelet")
    return ProbeResult(False, "the probe has no handler (httpGet, tcpSocket or exec)")
