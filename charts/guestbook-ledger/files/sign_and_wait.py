"""`helm test` of the guestbook-ledger chart: sign the guestbook, wait for the seal.

Runs in the operator image as the chart's test pod. It creates a GuestbookEntry
through the Kubernetes API (as the test's ServiceAccount, like `kubectl apply`
would), waits until the operator's workers have sealed it, and checks that its
leaf hash is the hash of its own record (ledger format v1). It uses the image's
own Kubernetes access (`guestbook_kube`) and ledger format
(`guestbook_ledger.format`). Exit status 0 when the entry is sealed and its
hash checks out; 1 with one sentence otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from guestbook_kube.client import CALL_ERRORS, ApiClient, ApiError
from guestbook_kube.credentials import CredentialsError, load_settings
from guestbook_kube.resources import API_VERSION, ENTRY_KIND, entries_path
from guestbook_ledger.format import entry_record, format_hash, leaf_hash


class TestFailed(Exception):
    """The test did not pass; the message says why."""


async def call(what: str, request: Any) -> Any:
    """Await one API request; TestFailed with the API's message when it fails."""
    try:
        return await request
    except ApiError as exc:
        raise TestFailed(f"{what} was answered {exc.code}: {exc.message}") from None
    except CALL_ERRORS as exc:
        raise TestFailed(f"{what} failed: cannot reach the API server ({exc})") from None


async def sign_and_wait(
    cluster: ApiClient, namespace: str, ledger: str, author: str, timeout: float
) -> str:
    """Create an entry, wait until it is Sealed and check its leaf hash; returns a summary."""
    body = {
        "apiVersion": API_VERSION,
        "kind": ENTRY_KIND,
        "metadata": {"generateName": "helm-test-"},
        "spec": {"ledger": ledger, "author": author, "message": "Signed by helm test."},
    }
    entry = await call("creating the entry", cluster.create(entries_path(namespace), body))
    name = entry["metadata"]["name"]
    print(f"signed {namespace}/{name}; waiting for its seal", flush=True)
    deadline = time.monotonic() + timeout
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        entry = await call(f"reading {name}", cluster.get(entries_path(namespace, name)))
        if entry is None:
            raise TestFailed(f"entry {name} was deleted before it was sealed")
        status = entry.get("status") or {}
        if status.get("phase") == "Sealed":
            break
        if status.get("phase") == "Failed":
            raise TestFailed(f"entry {name} failed: {json.dumps(status.get('conditions'))}")
        await asyncio.sleep(2)
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
        f"{status.get('treeSize')} with root {status.get('rootHash')}; "
        f"leaf hash {expected} checks out"
    )


async def run(args: argparse.Namespace) -> str:
    try:
        settings = load_settings(service_account_dir=args.service_account)
    except CredentialsError as exc:
        raise TestFailed(str(exc)) from None
    cluster = ApiClient.for_cluster(settings, user_agent="guestbook-ledger-helm-test")
    try:
        return await sign_and_wait(cluster, args.namespace, args.ledger, args.author, args.timeout)
    finally:
        await cluster.aclose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--ledger", required=True)
    parser.add_argument("--author", default="helm test")
    parser.add_argument("--timeout", type=float, default=240)
    parser.add_argument("--service-account", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        print(asyncio.run(run(args)))
    except TestFailed as exc:
        print(f"helm test failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
