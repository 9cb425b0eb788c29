"""Install the project's Helm chart, with Helm's own Go SDK (helm-python-sdk).

The same chart users install on a cluster (``charts/guestbook-ledger``): local
mode and the end-to-end tests differ from a cluster only in the values they
pass (the database URI, short intervals in tests).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

CHART = Path(__file__).resolve().parents[2] / "charts" / "guestbook-ledger"


class ReleaseError(Exception):
    """The chart could not be installed; the message says why and what to do."""


def chart_path() -> Path:
    """The chart folder of this checkout; ReleaseError when not run from a checkout."""
    if not (CHART / "Chart.yaml").is_file():
        raise ReleaseError(
            f"The Helm chart is not at {CHART}: run local mode from a clone of the repository."
        )
    return CHART


def install_or_upgrade(
    kubeconfig: Path,
    namespace: str,
    release: str,
    values: dict[str, Any],
    *,
    timeout: int = 300,
    wait: bool = True,
) -> dict[str, Any]:
    """``helm upgrade --install`` of the chart; waits for its pods to be ready if ``wait``.

    Returns Helm's release record. Raises ReleaseError with Helm's message.
    """
    import helm_python as helm

    chart = chart_path()
    strategy = "watcher" if wait else None
    try:
        with helm.Config(kubeconfig_path=kubeconfig, namespace=namespace) as config:
            if any(r["name"] == release for r in config.list(all_states=True)):
                record = config.upgrade(chart, release, values, timeout=timeout, wait=strategy)
            else:
                record = config.install(
                    chart, release, values, create_namespace=True, timeout=timeout, wait=strategy
                )
    except helm.HelmError as exc:
        raise ReleaseError(f"helm install of {chart} as {release!r} failed: {exc}") from exc
    return dict(record)


def uninstall(kubeconfig: Path, namespace: str, release: str, timeout: int = 120) -> None:
    """``helm uninstall``; a missing release is not an error."""
    import helm_python as helm

    with helm.Config(kubeconfig_path=kubeconfig, namespace=namespace) as config:
        if any(r["name"] == release for r in config.list(all_states=True)):
            config.uninstall(release, timeout=timeout)
