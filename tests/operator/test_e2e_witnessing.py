"""End to end with a witness written by others: the Helm chart installed (operator,
worker Jobs, web UI), a Ledger naming litewitness (filippo.io/torchwood, a host
process on 127.0.0.1 that the worker pods reach over loopback). Entries are
sealed, the witness cosigns, the Ledger's status and Witnessed condition say
so, and the web UI's /checkpoint serves the checkpoint with the witness's
cosignature. With the witness stopped, sealing goes on while publication waits
(the condition says why); started again, it catches up without a new entry."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from chart_release import RELEASE, Release, wait_until
from guestbook_ledger.format.checkpoint import open_checkpoint
from guestbook_ledger.format.cosignature import Cosigner, verify_cosignatures
from guestbook_ledger.format.note import NoteVerifier
from guestbook_localcluster.cluster import LocalCluster
from guestbook_localcluster.images import ImageCatalog
from guestbook_localcluster.service_proxy import ServiceProxy
from litewitness import LiteWitness, build_litewitness
from operator_e2e import entries_yaml, get_json, ledger_yaml, wait_all_sealed, wait_ledger_ready

pytestmark = pytest.mark.timeout(900)


@pytest.fixture
def witness_binaries(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return build_litewitness(tmp_path_factory.mktemp("litewitness-bin"))


@pytest.fixture
def web_release(release: Release, local_cluster: LocalCluster, namespace: str) -> Iterator[str]:
    """The chart with its web UI (no Ledger: the test makes one), quick witness
    catch-up rounds; yields the web UI's URL through a service proxy."""
    ImageCatalog.project().prepare(print)
    release.install(
        {
            "operator": {"env": {"GUESTBOOK_WITNESS_RETRY_INTERVAL": "2"}},
            "webui": {"enabled": True},
        }
    )
    proxy = ServiceProxy(local_cluster.get, namespace, f"{RELEASE}-webui", 0, "http")
    try:
        yield f"http://127.0.0.1:{proxy.start()}"
    finally:
        proxy.stop()


def ledger(system: Release) -> dict[str, Any]:
    found: dict[str, Any] = get_json(system, "ledger", "guestbook")
    return found


def condition(status: dict[str, Any], type: str) -> dict[str, Any]:
    for found in status.get("conditions") or ():
        if found["type"] == type:
            return dict(found)
    return {}


def served_checkpoint(url: str) -> str:
    answer = httpx.get(f"{url}/checkpoint", timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.text


def wait_witnessed(system: Release, size: int, reason: str) -> dict[str, Any]:
    def shown() -> dict[str, Any] | None:
        status = ledger(system).get("status") or {}
        witnessed = condition(status, "Witnessed")
        if status.get("treeSize") == size and witnessed.get("reason") == reason:
            return status
        return None

    return wait_until(shown, timeout=180, interval=0.5, what=f"Witnessed {reason} at size {size}")


def test_a_real_witness_cosigns_and_publication_waits_for_it(
    release: Release, web_release: str, witness_binaries: tuple[Path, Path]
) -> None:
    release.kubectl("apply", "-f", "-", input=ledger_yaml(maxWorkers=2))
    wait_ledger_ready(release)
    status = ledger(release)["status"]
    assert "Witnessed" not in {c["type"] for c in status["conditions"]}  # no witnesses yet
    origin, vkey = status["origin"], status["verifierKey"]

    with tempfile.TemporaryDirectory(prefix="lw-") as folder:
        witness = LiteWitness(witness_binaries, Path(folder), origin=origin, log_vkey=vkey)
        try:
            running = witness.start()
            cosigner = Cosigner.for_key(running.name, running.key.public_key())
            spec = {
                "witnesses": [
                    {"name": running.name, "verifierKey": cosigner.to_text(), "url": running.url}
                ],
                "witnessQuorum": 1,
            }
            release.kubectl(
                "patch", "ledger", "guestbook", "--type=merge", "-p", json.dumps({"spec": spec})
            )
            release.kubectl("apply", "-f", "-", input=entries_yaml(5))
            wait_all_sealed(release, 5)

            # The witness cosigned size 5: status, condition, printer column, /checkpoint.
            status = wait_witnessed(release, 5, "QuorumMet")
            assert status["publishedTreeSize"] == 5
            (entry,) = status["witnesses"]
            assert entry["name"] == running.name
            assert (entry["treeSize"], entry["result"]) == (5, "Cosigned")
            assert entry["cosignedAt"] and entry["receivedAt"] and "error" not in entry
            witnessed = condition(status, "Witnessed")
            assert witnessed["status"] == "True" and running.name in witnessed["message"]
            header, row = release.kubectl("get", "ledger", "guestbook").splitlines()[:2]
            assert row[header.index("WITNESSED") :].split()[0] == "True"

            note = served_checkpoint(web_release)
            verifier = NoteVerifier.from_text(vkey)
            assert open_checkpoint(note, verifier).tree_size == 5
            found = verify_cosignatures(note, [cosigner])
            assert [c.cosigner.name for c in found] == [running.name]

            # The witness goes away: sealing goes on, publication waits, and the
            # condition says why.
            witness.stop()
            release.kubectl("apply", "-f", "-", input=entries_yaml(3, prefix="later"))
            wait_all_sealed(release, 8)
            status = wait_witnessed(release, 8, "WitnessUnreachable")
            witnessed = condition(status, "Witnessed")
            assert witnessed["status"] == "False"
            assert running.name in witnessed["message"]
            assert "/checkpoint serves size 5" in witnessed["message"]
            assert status["publishedTreeSize"] == 5
            (entry,) = status["witnesses"]
            assert (entry["treeSize"], entry["result"]) == (5, "Unreachable")
            assert open_checkpoint(served_checkpoint(web_release), verifier).tree_size == 5

            # Back again: the operator's catch-up round brings it to size 8, no new entry.
            witness.start()
            status = wait_witnessed(release, 8, "QuorumMet")
            assert status["publishedTreeSize"] == 8
            assert status["witnesses"][0]["treeSize"] == 8

            def published_eight() -> str | None:
                text = served_checkpoint(web_release)
                return text if open_checkpoint(text, verifier).tree_size == 8 else None

            note = wait_until(published_eight, timeout=60, what="/checkpoint at size 8")
            assert [c.cosigner.name for c in verify_cosignatures(note, [cosigner])] == [
                running.name
            ]
            # An unreachable witness is no sign of a fork: no Warning about it.
            events = get_json(release, "events")["items"]
            assert not [e for e in events if e.get("reason") == "WitnessRefused"]
        finally:
            witness.close()
