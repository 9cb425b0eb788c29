"""The schema machinery as people meet it: real kubectl against the local API server.

No ``--validate=false`` anywhere: kubectl reads our OpenAPI, leaves validation to
the server (``fieldValidation=Strict``) and prints the server's answers.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from crd_fixtures import CRDS
from guestbook_devcluster.pytest_fixtures import devcluster, kubeconfig

pytestmark = pytest.mark.timeout(240)
__all__ = ["devcluster", "kubeconfig"]

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def kubectl(kubeconfig: Path, tmp_path: Path) -> Run:
    """Run the real kubectl against the test's cluster; returns the completed process."""
    binary = shutil.which("kubectl") or "/usr/bin/kubectl"

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [binary, f"--kubeconfig={kubeconfig}", f"--cache-dir={tmp_path / 'cache'}", *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    return run


@pytest.fixture
def crds(kubectl: Run) -> Run:
    """kubectl with the project's CRDs applied and established."""
    applied = kubectl("apply", "-f", str(CRDS))
    assert applied.returncode == 0, applied.stderr
    waited = kubectl(
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        "crd/guestbookentries.ledger.guestbook.io",
        "crd/ledgers.ledger.guestbook.io",
    )
    assert waited.returncode == 0, waited.stderr
    return kubectl


def manifest(kind: str, name: str, spec: dict[str, object]) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "ledger.guestbook.io/v1alpha1",
            "kind": kind,
            "metadata": {"name": name},
            "spec": spec,
        }
    )


def get_json(kubectl: Run, *what: str) -> dict[str, object]:
    result = kubectl("get", *what, "-o", "json")
    assert result.returncode == 0, result.stderr
    found: dict[str, object] = json.loads(result.stdout)
    return found


def test_unknown_fields_are_refused_by_the_server_and_nothing_is_created(crds: Run) -> None:
    entry = manifest("GuestbookEntry", "hello", {"message": "hi", "colour": "red"})
    refused = crds("apply", "-f", "-", stdin=entry)
    assert refused.returncode == 1
    assert (
        'GuestbookEntry in version "v1alpha1" cannot be handled as a GuestbookEntry: '
        'strict decoding error: unknown field "spec.colour"'
    ) in refused.stderr
    assert crds("get", "gbe", "hello").returncode == 1
    # Warn keeps the object (pruned) and tells the user.
    warned = crds("apply", "--validate=warn", "-f", "-", stdin=entry)
    assert warned.returncode == 0, warned.stderr
    assert 'unknown field "spec.colour"' in warned.stderr
    stored = get_json(crds, "gbe", "hello")
    assert stored["spec"] == {"message": "hi", "author": "", "ledger": "guestbook"}


def test_invalid_entry_lists_every_violated_field(crds: Run) -> None:
    bad = manifest(
        "GuestbookEntry", "bad", {"ledger": "Not_A_Ledger", "author": "x" * 65, "message": ""}
    )
    refused = crds("apply", "-f", "-", stdin=bad)
    assert refused.returncode == 1
    assert 'The GuestbookEntry "bad" is invalid' in refused.stderr
    for line in (
        "spec.author: Too long: may not be more than 64 bytes",
        'spec.message: Invalid value: "": spec.message in body should be at least 1 chars long',
        'spec.ledger: Invalid value: "Not_A_Ledger": spec.ledger in body should match',
    ):
        assert line in refused.stderr
    assert crds("get", "gbe", "bad").returncode == 1


def test_defaults_are_applied_on_create(crds: Run) -> None:
    created = crds("apply", "-f", "-", stdin=manifest("GuestbookEntry", "short", {"message": "hi"}))
    assert created.returncode == 0, created.stderr
    spec = crds(
        "get", "gbe", "short", "-o", "jsonpath={.spec.ledger}/{.spec.author}/{.spec.message}"
    )
    assert spec.stdout == "guestbook//hi"
    ledger = crds("apply", "-f", "-", stdin=manifest("Ledger", "guestbook", {"maxWorkers": 8}))
    assert ledger.returncode == 0, ledger.stderr
    stored = get_json(crds, "ledger", "guestbook")["spec"]
    assert isinstance(stored, dict)
    assert stored["maxWorkers"] == 8 and stored["minWorkers"] == 0
    assert stored["batch"] == {"maxEntries": 1000, "maxWaitSeconds": 0.2}


def test_spec_is_immutable_but_status_can_change(crds: Run) -> None:
    first = manifest("GuestbookEntry", "signed", {"message": "original", "author": "ada"})
    assert crds("apply", "-f", "-", stdin=first).returncode == 0
    edited = manifest("GuestbookEntry", "signed", {"message": "edited", "author": "ada"})
    refused = crds("apply", "-f", "-", stdin=edited)
    assert refused.returncode == 1
    assert 'The GuestbookEntry "signed" is invalid: spec: Invalid value: "object": ' in (
        refused.stderr
    )
    assert "spec is immutable" in refused.stderr
    patched = crds("patch", "gbe", "signed", "--type=merge", "-p", '{"spec":{"message":"sneaky"}}')
    assert patched.returncode == 1 and "spec is immutable" in patched.stderr
    message = crds("get", "gbe", "signed", "-o", "jsonpath={.spec.message}")
    assert message.stdout == "original"
    status = crds(
        "patch",
        "gbe",
        "signed",
        "--subresource=status",
        "--type=merge",
        "-p",
        '{"status":{"phase":"Sealed","leafIndex":0}}',
    )
    assert status.returncode == 0, status.stderr
    assert crds("get", "gbe", "signed", "-o", "jsonpath={.status.phase}").stdout == "Sealed"


def test_status_is_validated_too(crds: Run) -> None:
    assert (
        crds("apply", "-f", "-", stdin=manifest("GuestbookEntry", "e", {"message": "m"})).returncode
        == 0
    )
    refused = crds(
        "patch",
        "gbe",
        "e",
        "--subresource=status",
        "--type=merge",
        "-p",
        '{"status":{"phase":"Done","leafHash":"XYZ"}}',
    )
    assert refused.returncode == 1
    assert 'status.phase: Unsupported value: "Done"' in refused.stderr
    assert "status.leafHash" in refused.stderr


def test_ledger_rule_compares_worker_bounds(crds: Run) -> None:
    refused = crds(
        "apply", "-f", "-", stdin=manifest("Ledger", "l", {"minWorkers": 5, "maxWorkers": 2})
    )
    assert refused.returncode == 1
    assert "minWorkers must not exceed maxWorkers" in refused.stderr
    assert crds("get", "ledger", "l").returncode == 1


def test_explain_shows_the_crd_field_docs(crds: Run) -> None:
    explained = crds("explain", "guestbookentry.spec")
    assert explained.returncode == 0, explained.stderr
    text = explained.stdout
    assert "KIND:       GuestbookEntry" in text
    assert "The message as submitted. Immutable" in text
    assert "The message (1 to 2000 characters)." in text
    assert "message\t<string> -required-" in text
    batch = crds("explain", "ledger.spec.batch.maxWaitSeconds")
    assert batch.returncode == 0, batch.stderr
    assert "Longest a worker waits for a batch to fill" in batch.stdout
    pod = crds("explain", "pod.spec.containers.env")
    assert pod.returncode == 0, pod.stderr
    assert "Name of the environment variable" in pod.stdout


def test_ledger_printer_columns_with_condition_filter_and_wide(crds: Run) -> None:
    assert crds("apply", "-f", "-", stdin=manifest("Ledger", "guestbook", {})).returncode == 0
    status = {
        "status": {
            "treeSize": 3,
            "pending": 1,
            "activeWorkers": 2,
            "desiredWorkers": 2,
            "conditions": [
                {
                    "type": "Verified",
                    "status": "True",
                    "reason": "AuditPassed",
                    "message": "",
                    "lastTransitionTime": "2026-01-01T00:00:00Z",
                }
            ],
        }
    }
    patched = crds(
        "patch",
        "ldg",
        "guestbook",
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps(status),
    )
    assert patched.returncode == 0, patched.stderr
    table = crds("get", "ledgers").stdout.splitlines()
    assert table[0].split() == ["NAME", "SIZE", "ROOT", "PENDING", "WORKERS", "VERIFIED", "AGE"]
    # kubectl prints a null cell (no root hash yet) as nothing, like a real cluster.
    assert table[1].split()[:5] == ["guestbook", "3", "1", "2", "True"]
    assert table[1][table[0].index("ROOT") : table[0].index("PENDING")].strip() == ""
    wide = crds("get", "ledgers", "-o", "wide").stdout.splitlines()
    assert wide[0].split()[-1] == "DESIRED"
    assert wide[1].split()[-1] == "2"


def test_builtins_apply_without_validate_false_and_merge_by_key(
    kubectl: Run, tmp_path: Path
) -> None:
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "hash"},
        "spec": {
            "suspend": True,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": "worker",
                            "image": "python",
                            "command": ["python", "-c", "pass"],
                            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                        }
                    ],
                }
            },
        },
    }
    others = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ledgers"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"k": "v"}},
    ]
    stream = yaml.safe_dump_all([job, *others])
    applied = kubectl("apply", "-f", "-", stdin=stream)
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.count("created") == 4
    # Change one env var by key: a strategic merge patch computed from kubectl's own types.
    job["spec"]["template"]["spec"]["containers"][0]["env"][1]["value"] = "3"  # type: ignore[index]
    again = kubectl("apply", "-f", "-", stdin=yaml.safe_dump(job))
    assert again.returncode == 0, again.stderr
    env = kubectl("get", "job", "hash", "-o", "jsonpath={.spec.template.spec.containers[0].env}")
    assert json.loads(env.stdout) == [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}]
    header = kubectl("get", "jobs").stdout.splitlines()[0].split()
    assert header == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]
    namespaces = kubectl("get", "namespaces").stdout.splitlines()
    assert namespaces[0].split() == ["NAME", "STATUS", "AGE"]
    assert any(line.split()[:2] == ["ledgers", "Active"] for line in namespaces[1:])


def test_crd_with_broken_schema_is_refused_and_not_served(kubectl: Run) -> None:
    crd = yaml.safe_load((CRDS / "guestbookentries.yaml").read_text(encoding="utf-8"))
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"][
        "x-kubernetes-validations"
    ] = [{"rule": "self.message +"}]
    refused = kubectl("apply", "-f", "-", stdin=yaml.safe_dump(crd))
    assert refused.returncode == 1
    assert 'The CustomResourceDefinition "guestbookentries.ledger.guestbook.io" is invalid' in (
        refused.stderr
    )
    assert (
        "spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[0]"
        ".rule: Invalid value" in refused.stderr
    )
    assert kubectl("get", "crd", "guestbookentries.ledger.guestbook.io").returncode == 1
    assert "guestbookentries" not in kubectl("api-resources").stdout


def test_tightened_crd_ratchets_unchanged_fields(crds: Run) -> None:
    ledger = manifest("Ledger", "big", {"maxWorkers": 8})
    assert crds("apply", "-f", "-", stdin=ledger).returncode == 0
    crd = yaml.safe_load((CRDS / "ledgers.yaml").read_text(encoding="utf-8"))
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    spec["properties"]["maxWorkers"]["maximum"] = 4
    tightened = crds("apply", "-f", "-", stdin=yaml.safe_dump(crd))
    assert tightened.returncode == 0, tightened.stderr
    # The stored maxWorkers no longer validates, but writes that leave it alone pass.
    status_patch = '{"status":{"treeSize":1}}'
    status = crds("patch", "ldg", "big", "--subresource=status", "--type=merge", "-p", status_patch)
    assert status.returncode == 0, status.stderr
    other = crds(
        "apply", "-f", "-", stdin=manifest("Ledger", "big", {"maxWorkers": 8, "minWorkers": 1})
    )
    assert other.returncode == 0, other.stderr
    refused = crds("apply", "-f", "-", stdin=manifest("Ledger", "big", {"maxWorkers": 9}))
    assert refused.returncode == 1
    expected = "spec.maxWorkers: Invalid value: 9: spec.maxWorkers in body should be less than"
    assert f"{expected} or equal to 4" in refused.stderr
    fresh = crds("apply", "-f", "-", stdin=manifest("Ledger", "new", {"maxWorkers": 8}))
    assert fresh.returncode == 1 and "less than or equal to 4" in fresh.stderr


def test_list_files_from_get_o_yaml_apply_back(crds: Run) -> None:
    for name in ("one", "two"):
        created = crds(
            "apply", "-f", "-", stdin=manifest("GuestbookEntry", name, {"message": name})
        )
        assert created.returncode == 0, created.stderr
    listing = crds("get", "gbe", "-o", "yaml")
    assert listing.returncode == 0 and "kind: List" in listing.stdout
    again = crds("apply", "-f", "-", stdin=listing.stdout)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count(" configured") == 2  # last-applied now records everything
    bad = yaml.safe_load(listing.stdout)
    bad["items"][0]["spec"]["colour"] = "red"
    refused = crds("apply", "-f", "-", stdin=yaml.safe_dump(bad))
    assert refused.returncode == 1
    assert 'unknown field "spec.colour"' in refused.stderr


def test_typos_in_builtin_kinds_are_refused_like_a_real_cluster(kubectl: Run) -> None:
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "typo"},
        "spec": {
            "suspend": True,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "w", "image": "python", "comand": ["true"]}],
                }
            },
        },
    }
    refused = kubectl("apply", "-f", "-", stdin=yaml.safe_dump(job))
    assert refused.returncode == 1
    assert (
        'Job in version "v1" cannot be handled as a Job: strict decoding error: '
        'unknown field "spec.template.spec.containers[0].comand"'
    ) in refused.stderr
    assert kubectl("get", "job", "typo").returncode == 1
    warned = kubectl("apply", "--validate=warn", "-f", "-", stdin=yaml.safe_dump(job))
    assert warned.returncode == 0, warned.stderr
    assert 'unknown field "spec.template.spec.containers[0].comand"' in warned.stderr
    stored = get_json(kubectl, "job", "typo")
    container = stored["spec"]["template"]["spec"]["containers"][0]  # type: ignore[index]
    assert "comand" not in container and container["image"] == "python"


def test_ledger_origin_is_immutable(crds: Run) -> None:
    created = crds("apply", "-f", "-", stdin=manifest("Ledger", "l", {"origin": "book.example/l"}))
    assert created.returncode == 0, created.stderr
    changed = crds(
        "patch", "ldg", "l", "--type=merge", "-p", '{"spec":{"origin":"other.example/l"}}'
    )
    assert changed.returncode == 1
    assert "spec.origin is immutable" in changed.stderr
    removed = crds("patch", "ldg", "l", "--type=merge", "-p", '{"spec":{"origin":null}}')
    assert removed.returncode == 1
    assert "cannot be added or removed" in removed.stderr
    unchanged = crds("patch", "ldg", "l", "--type=merge", "-p", '{"spec":{"maxWorkers":3}}')
    assert unchanged.returncode == 0, unchanged.stderr


def test_ledger_origin_cannot_be_added_later_or_hold_spaces(crds: Run) -> None:
    assert crds("apply", "-f", "-", stdin=manifest("Ledger", "plain", {})).returncode == 0
    added = crds("patch", "ldg", "plain", "--type=merge", "-p", '{"spec":{"origin":"a.example"}}')
    assert added.returncode == 1
    assert "cannot be added or removed" in added.stderr
    spaced = crds("apply", "-f", "-", stdin=manifest("Ledger", "sp", {"origin": "a b"}))
    assert spaced.returncode == 1
    assert "spec.origin" in spaced.stderr


def test_ledger_witness_quorum_cannot_exceed_the_witnesses(crds: Run) -> None:
    witness = {"name": "w.example/1", "verifierKey": "w.example/1+00000000+BA==", "url": "http://w"}
    too_many = crds(
        "apply",
        "-f",
        "-",
        stdin=manifest("Ledger", "w", {"witnesses": [witness], "witnessQuorum": 2}),
    )
    assert too_many.returncode == 1
    assert "witnessQuorum must not exceed the number of witnesses" in too_many.stderr
    bad_url = crds(
        "apply", "-f", "-", stdin=manifest("Ledger", "u", {"witnesses": [dict(witness, url="w")]})
    )
    assert bad_url.returncode == 1
    assert "spec.witnesses[0].url" in bad_url.stderr
    fine = crds(
        "apply",
        "-f",
        "-",
        stdin=manifest("Ledger", "ok", {"witnesses": [witness], "witnessQuorum": 1}),
    )
    assert fine.returncode == 0, fine.stderr
