"""Bad input and attacks from witnesses: a witness that forges or mangles its
cosignature, claims a tree larger than the log, refuses, answers garbage or
nothing at all gets a clear ``status.witnesses`` entry, a Witnessed condition
that says why, a Warning event naming it when it may have seen a fork (once,
not once per round), and nothing is published that the policy does not cover.
Sealing never waits for a witness round. A worker's ServiceAccount (the chart's
worker rules) reports it through the real API server."""

from __future__ import annotations

import json
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from guestbook_kube.credentials import kubeconfig_settings
from guestbook_ledger.format.checkpoint import verifier_key
from guestbook_ledger.format.cosignature import Cosigner, verify_cosignatures
from guestbook_ledger.store import (
    Connection,
    NewEntry,
    admit_entries,
    latest_checkpoint,
    open_store,
    seal_batch,
)
from guestbook_ledger.store.witnesses import published_checkpoint, set_witness_policy
from guestbook_localcluster.controlplane import ControlPlane
from guestbook_localcluster.kubectl import Kubectl
from guestbook_operator.kube import Kube
from guestbook_operator.status import witnessed_condition
from guestbook_operator.witnessing import WitnessOutcome, report_witnesses, run_witness_round
from litewitness import build_litewitness, litewitness
from misbehaving_witness import misbehaving_witness
from service_accounts import WORKER_RULES, create_service_account

pytestmark = pytest.mark.timeout(300)

LEDGER = "guestbook"
ORIGIN_PREFIX = "ledger.guestbook.io"

# mode -> (WitnessError kind, status.witnesses[].result, Witnessed reason, Warning event?)
ATTACKS = {
    "bad-signature": ("bad-signature", "BadSignature", "WitnessRefused", True),
    "other-checkpoint": ("bad-signature", "BadSignature", "WitnessRefused", True),
    "stranger": ("bad-signature", "BadSignature", "WitnessRefused", True),
    "larger-size": ("conflict", "Conflict", "WitnessRefused", True),
    "stuck-409": ("conflict", "Conflict", "WitnessRefused", True),
    "unprocessable": ("refused", "Refused", "WitnessRefused", True),
    "garbage": ("garbage", "Garbage", "WitnessRefused", True),
    "binary": ("garbage", "Garbage", "WitnessRefused", True),
    "huge": ("garbage", "Garbage", "WitnessRefused", True),
    "unavailable": ("unreachable", "Unreachable", "WitnessUnreachable", False),
    "hang": ("unreachable", "Unreachable", "WitnessUnreachable", False),
    "drip": ("unreachable", "Unreachable", "WitnessUnreachable", False),
}


@pytest.fixture
def ref(ledger_ref: str) -> str:
    """``<namespace>/guestbook`` (``store`` and ``signer`` come from tests/conftest.py)."""
    return ledger_ref


@pytest.fixture
def kube(
    crds: Kubectl,
    kubectl: Kubectl,
    namespace: str,
    control_plane: ControlPlane,
    tmp_path: Path,
) -> Iterator[Kube]:
    """The Ledger resource, and the client of a worker pod (its ServiceAccount)."""
    ledger = {
        "apiVersion": "ledger.guestbook.io/v1alpha1",
        "kind": "Ledger",
        "metadata": {"name": LEDGER, "namespace": namespace},
        "spec": {},
    }
    kubectl("apply", "-f", "-", input=json.dumps(ledger))
    worker = create_service_account(kubectl, namespace, "worker", WORKER_RULES)
    path = worker.kubeconfig(
        tmp_path / "worker" / "kubeconfig", control_plane.server_url, control_plane.pki.ca_cert
    )
    client = Kube(settings=kubeconfig_settings(path))
    try:
        yield client
    finally:
        client.close()


def seal(store: Connection, ref: str, signer: Ed25519PrivateKey, start: int, count: int) -> int:
    entries = [
        NewEntry(f"e-{i}", f"uid-{i}", "Ada", f"message {i}", "2026-12-06T12:00:00Z")
        for i in range(start, start + count)
    ]
    admit_entries(store, ref, entries)
    return seal_batch(store, ref, signer).tree_head.tree_size


def cosignature_rows(store: Connection) -> int:
    with store, store.cursor() as cur:
        cur.execute("SELECT count(*) FROM cosignatures")
        row = cur.fetchone()
    assert row is not None
    return int(row[0])


def ledger_status(kubectl: Kubectl) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(kubectl("get", "ledger", LEDGER, "-o", "json"))
    return found.get("status") or {}


def warnings(kubectl: Kubectl) -> list[str]:
    events = json.loads(kubectl("get", "events", "-o", "json"))["items"]
    return [
        e["message"]
        for e in events
        if e.get("reason") == "WitnessRefused" and e["involvedObject"]["name"] == LEDGER
    ]


def round_reporting(
    store: Connection, ref: str, kube: Kube, namespace: str, timeout: float
) -> list[WitnessOutcome]:
    seen: list[WitnessOutcome] = []

    def report(outcomes: list[WitnessOutcome]) -> None:
        seen.extend(outcomes)
        report_witnesses(kube, namespace, LEDGER, outcomes)

    assert run_witness_round(store, ref, report, wait=True, timeout=timeout)
    return seen


@pytest.mark.parametrize("mode", sorted(ATTACKS))
def test_a_misbehaving_witness_is_reported_and_nothing_uncovered_is_published(
    mode: str,
    store: Connection,
    ref: str,
    signer: Ed25519PrivateKey,
    kube: Kube,
    kubectl: Kubectl,
    namespace: str,
) -> None:
    kind, result, reason, warns = ATTACKS[mode]
    with misbehaving_witness(mode) as attacker:
        set_witness_policy(store, ref, quorum=1, witnesses=[attacker.policy_entry()])
        size = seal(store, ref, signer, 0, 3)

        (outcome,) = round_reporting(store, ref, kube, namespace, timeout=2.0)
        assert attacker.requests >= 1
        assert (outcome.error, outcome.cosigned) == (kind, False), outcome
        assert attacker.name in outcome.message or mode in ("hang", "drip", "binary", "huge")

        # Nothing is stored, so nothing is published: the policy needs this witness.
        assert cosignature_rows(store) == 0
        assert published_checkpoint(store, ref) is None

        status = ledger_status(kubectl)
        (entry,) = status["witnesses"]
        assert entry["name"] == attacker.name
        assert (entry["result"], entry["treeSize"], entry["attemptedSize"]) == (result, 0, size)
        assert entry["error"].startswith(f"{kind}: ")
        condition = witnessed_condition(
            witnesses=[attacker.name],
            quorum=1,
            tree_size=size,
            published_tree_size=None,
            checkpoint_age_seconds=0.0,
            reports=status["witnesses"],
        )
        assert condition is not None
        assert (condition.status, condition.reason) == ("False", reason)
        assert attacker.name in condition.message
        assert "/checkpoint serves no checkpoint yet" in condition.message

        shown = warnings(kubectl)
        if warns:
            assert len(shown) == 1, shown
            assert attacker.name in shown[0] and f"size {size}" in shown[0]
            # The same refusal of the same checkpoint again: no second event.
            round_reporting(store, ref, kube, namespace, timeout=2.0)
            assert len(warnings(kubectl)) == 1
        else:
            assert shown == []  # an unreachable witness is no sign of a fork


def test_a_hanging_witness_never_holds_up_sealing(
    store: Connection, ref: str, signer: Ed25519PrivateKey, ledger_dsn: str
) -> None:
    with misbehaving_witness("hang") as attacker:
        set_witness_policy(store, ref, quorum=1, witnesses=[attacker.policy_entry()])
        seal(store, ref, signer, 0, 2)
        outcomes: list[WitnessOutcome] = []
        round_thread = threading.Thread(
            target=run_witness_round,
            args=(store, ref, outcomes.extend),
            kwargs={"wait": True, "timeout": 120.0},
        )
        round_thread.start()
        try:
            assert attacker.hanging.wait(60), "the witness was never asked"
            sealer = open_store(ledger_dsn)
            try:
                # Sealing goes on (another connection, as another worker pod has)
                # while the round waits for the witness.
                assert seal(sealer, ref, signer, 2, 3) == 5
                assert round_thread.is_alive()
            finally:
                sealer.close()
        finally:
            attacker.release.set()
            round_thread.join(60)
        assert [o.error for o in outcomes] == ["unreachable"]
        head = latest_checkpoint(store, ref)
        assert head is not None and head.tree_size == 5
        assert published_checkpoint(store, ref) is None


@pytest.fixture(scope="module")
def binaries(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return build_litewitness(tmp_path_factory.mktemp("litewitness-bin"))


def test_a_forging_witness_beside_an_honest_one_adds_nothing_to_the_published_checkpoint(
    store: Connection,
    ref: str,
    signer: Ed25519PrivateKey,
    binaries: tuple[Path, Path],
) -> None:
    origin = f"{ORIGIN_PREFIX}/{ref}"
    vkey = verifier_key(origin, signer.public_key())
    with (
        tempfile.TemporaryDirectory(prefix="lw-") as folder,
        litewitness(binaries, Path(folder), origin=origin, log_vkey=vkey) as honest,
        misbehaving_witness("bad-signature") as attacker,
    ):
        honest_entry = {
            "name": honest.name,
            "verifierKey": Cosigner.for_key(honest.name, honest.key.public_key()).to_text(),
            "url": honest.url,
        }
        witnesses = [honest_entry, attacker.policy_entry()]
        set_witness_policy(store, ref, quorum=2, witnesses=witnesses)
        size = seal(store, ref, signer, 0, 4)
        outcomes: list[WitnessOutcome] = []
        run_witness_round(store, ref, outcomes.extend, wait=True, timeout=5.0)
        by_name = {o.name: o for o in outcomes}
        assert by_name[honest.name].cosigned and by_name[honest.name].tree_size == size
        assert by_name[honest.name].timestamp is not None
        assert by_name[attacker.name].error == "bad-signature"
        # Two of two are needed and only one cosignature verifies: nothing is published.
        assert published_checkpoint(store, ref) is None

        set_witness_policy(store, ref, quorum=1, witnesses=witnesses)
        published = published_checkpoint(store, ref)
        assert published is not None and published.checkpoint.tree_size == size
        cosigners = [Cosigner.from_text(w["verifierKey"]) for w in witnesses]
        found = verify_cosignatures(published.note(), cosigners)
        assert [c.cosigner.name for c in found] == [honest.name]
        assert attacker.name not in published.note()
