"""CRDs of other projects, from their Go modules on the Go module proxy.

The chart renders objects of CloudNativePG (`Cluster`) and of the Prometheus
Operator (`ServiceMonitor`), whose operators cannot run here (no container
runtime). Their CRDs — the schemas those operators' API servers enforce — come
with the projects' own Go modules; `go mod download` fetches a pinned version
once into the module cache. (A plain module that the tests import.)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import yaml
from guestbook_localcluster.kubectl import Kubectl

CLOUDNATIVEPG = ("github.com/cloudnative-pg/cloudnative-pg", "v1.27.0")
CLOUDNATIVEPG_CLUSTER_CRD = "config/crd/bases/postgresql.cnpg.io_clusters.yaml"
PROMETHEUS_OPERATOR = ("github.com/prometheus-operator/prometheus-operator", "v0.85.0")
SERVICEMONITOR_CRD = "example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml"


def module_file(module: tuple[str, str], path: str) -> Path:
    """``path`` inside Go module ``module`` (path, version), downloaded if need be.

    Raises RuntimeError saying what to install when Go is missing or the download fails.
    """
    go = shutil.which("go") or "/usr/local/go/bin/go"
    if not Path(go).exists():
        raise RuntimeError("Go 1.26 or newer is needed to fetch upstream CRDs; install it")
    name, version = module
    done = subprocess.run(
        [go, "mod", "download", "-json", f"{name}@{version}"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "GOFLAGS": "-mod=mod"},
    )
    if done.returncode != 0:
        raise RuntimeError(f"go mod download {name}@{version} failed:\n{done.stdout}{done.stderr}")
    found = Path(json.loads(done.stdout)["Dir"]) / path
    if not found.is_file():
        raise RuntimeError(f"{name}@{version} has no {path}")
    return found


def apply_crd(admin_kubectl: Kubectl, crd: Path) -> str:
    """Apply ``crd`` to the API server (server-side: these CRDs exceed the client-side
    annotation limit) and wait until it is served; returns its name."""
    admin_kubectl("apply", "--server-side", "--force-conflicts", "-f", str(crd))
    name = str(yaml.safe_load(crd.read_text())["metadata"]["name"])
    admin_kubectl("wait", "--for=condition=Established", "--timeout=60s", f"crd/{name}")
    return name
