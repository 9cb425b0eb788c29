"""`helm test` of the guestbook-ledger chart: sign the guestbook, wait for the seal.

Runs in the operator image as the chart's test pod. It creates a GuestbookEntry
through the Kubernetes API (as the test's ServiceAccount, like `kubectl apply`
would), waits until the operator's workers have sealed it, and checks that its
leaf hash is the hash of its own record (ledger format v1). Only the standard
library and the image's `guestbook_ledger.format` are used. Exit status 0 when
the entry is sealed and its hash checks out; 1 with one sentence otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from guestbook_ledger.format import entry_record, format_hash, leaf_hash

API = "/apis/ledger.guestbook.io/v1alpha1"


class TestFailed(Exception):
    """The test did not pass; the message says why."""


class Cluster:
    """The API server as the pod's ServiceAccount sees it."""

    def __init__(self, account: Path) -> None:
        host = os.environ.get("KUBERNETES_SERVICE_HOST", "")
        port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        if not host:
            raise TestFailed("KUBERNETES_SERVICE_HOST is not set: run this in a pod")
        self.base = f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"
        self.account = account
        self.tls = ssl.create_default_context(cafile=str(account / "ca.crt"))

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One request; the parsed JSON answer. Raises TestFailed with the API's message."""
        # Read each time: the kubelet rotates the token.
        token = (self.account / "token").read_text().strip()
        request = urllib.request.Request(
            self.base + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, context=self.tls, timeout=30) as answer:
                return json.load(answer)
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            try:
                detail = json.loads(detail).get("message", detail)
            except ValueError:
                pass
            raise TestFailed(f"{method} {path} was answered {exc.code}: {detail}") from None


def sign_and_wait(
    cluster: Cluster, namespace: str, ledger: str, author: str, timeout: float
) -> str:
    """Create an entry, wait until it is Sealed and check its leaf hash; returns a summary."""
    entries = f"{API}/namespaces/{namespace}/guestbookentries"
    entry = cluster.call(
        "POST",
        entries,
        {
            "apiVersion": "ledger.guestbook.io/v1alpha1",
            "kind": "GuestbookEntry",
            "metadata": {"generateName": "helm-test-"},
            "spec": {"ledger": ledger, "author": author, "message": "Signed by helm test."},
        },
    )
    name = entry["metadata"]["name"]
    print(f"signed {namespace}/{name}; waiting for its seal", flush=True)
    deadline = time.monotonic() + timeout
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        entry = cluster.call("GET", f"{entries}/{name}")
        status = entry.get("status") or {}
        if status.get("phase") == "Sealed":
            break
        if status.get("phase") == "Failed":
            raise TestFailed(f"entry {name} failed: {json.dumps(status.get('conditions'))}")
        time.sleep(2)
    else:
        raise TestFailed(
            f"entry {name} was not sealed within {timeout:g} s (phase "
            f"{status.get('phase') or 'none'}): are the operator and its workers running?"
        )
    meta, spec = entry["metadata"], entry["spec"]
    record = entry_record(
        ledger=f"{namespace}/{spec['ledger']}",
        entry=name,
        uid=meta["uid"],
        author=spec.get("author", ""),
        message=spec["message"],
        submitted_at=meta["creationTimestamp"],
    )
    expected = format_hash(leaf_hash(record))
    if status.get("leafHash") != expected:
        raise TestFailed(
            f"entry {name} was sealed with leaf hash {status.get('leafHash')}, "
            f"but its record hashes to {expected}"
        )
    return (
        f"entry {name} sealed at index {status.get('leafIndex')} into a tree of "
        f"{status.get('treeSize')} with root {status.get('rootHash')}; leaf hash {expected} checks out"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--ledger", required=True)
    parser.add_argument("--author", default="helm test")
    parser.add_argument("--timeout", type=float, default=240)
    parser.add_argument("--service-account", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        cluster = Cluster(args.service_account)
        print(sign_and_wait(cluster, args.namespace, args.ledger, args.author, args.timeout))
    except TestFailed as exc:
        print(f"helm test failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
