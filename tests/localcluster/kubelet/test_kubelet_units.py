"""The process kubelet's pure parts: command lines, phases, pod IPs, logs, volumes."""

from __future__ import annotations

import asyncio
import datetime
from pathlib import Path

import pytest
from guestbook_localcluster.kubelet.command import container_argv
from guestbook_localcluster.kubelet.logs import LogOptions, parse_record, stream_log
from guestbook_localcluster.kubelet.pod_ips import (
    PodIpAllocator,
    PodIpsExhausted,
    PodRangeClaim,
    listening_second_octets,
)
from guestbook_localcluster.kubelet.pod_status import ContainerView, phase, pod_status
from guestbook_localcluster.kubelet.volumes import (
    PodVolumes,
    ProjectedToken,
    TokenGrant,
    rewrite_path,
)

ENTRYPOINT, CMD = ["guestbook-ledger"], ["webui", "--port", "8080"]


@pytest.mark.parametrize(
    ("command", "args", "expected"),
    [
        (None, None, ["guestbook-ledger", "webui", "--port", "8080"]),
        (None, ["worker"], ["guestbook-ledger", "worker"]),  # args replace CMD
        (["python"], None, ["python"]),  # command drops CMD too
        (["python"], ["-c", "$(CODE)"], ["python", "-c", "print(1)"]),
    ],
)
def test_command_and_args_override_entrypoint_and_cmd(
    command: list[str] | None, args: list[str] | None, expected: list[str]
) -> None:
    assert container_argv(ENTRYPOINT, CMD, command, args, {"CODE": "print(1)"}) == expected


def _view(state: dict[str, object], last: dict[str, object] | None = None) -> ContainerView:
    return ContainerView("c", "img", state=state, last_state=last or {})


def test_phase_follows_the_kubelets_rules() -> None:
    done = {"terminated": {"exitCode": 0}}
    failed = {"terminated": {"exitCode": 1}}
    running = {"running": {}}
    waiting = {"waiting": {"reason": "ContainerCreating"}}
    assert phase("Always", [_view(waiting)], terminal=False) == "Pending"
    assert phase("Always", [_view(running), _view(done)], terminal=False) == "Running"
    assert phase("Never", [_view(done), _view(failed)], terminal=False) == "Failed"
    assert phase("OnFailure", [_view(done)], terminal=False) == "Succeeded"
    assert phase("OnFailure", [_view(failed)], terminal=False) == "Running"  # restarting
    backoff = _view({"waiting": {"reason": "CrashLoopBackOff"}}, failed)
    assert phase("Always", [backoff], terminal=False) == "Running"
    assert phase("Always", [_view(failed)], terminal=True) == "Failed"  # deleted
    assert phase("Always", [_view(done)], terminal=True) == "Succeeded"


def test_condition_transition_time_kept_while_status_holds() -> None:
    pod = {"metadata": {}, "spec": {"restartPolicy": "Always"}, "status": {}}
    ready = ContainerView("c", "img", state={"running": {}}, ready=True, started=True)
    first = pod_status(
        pod, [ready], pod_ip="127.1.0.1", start_time="t0", sandbox_ready=True, now="t1"
    )
    pod["status"] = first
    second = pod_status(
        pod, [ready], pod_ip="127.1.0.1", start_time="t0", sandbox_ready=True, now="t2"
    )
    times = {c["type"]: c["lastTransitionTime"] for c in second["conditions"]}
    assert times["Ready"] == "t1"
    ready.ready = False
    third = pod_status(
        pod, [ready], pod_ip="127.1.0.1", start_time="t0", sandbox_ready=True, now="t3"
    )
    condition = next(c for c in third["conditions"] if c["type"] == "Ready")
    assert (condition["status"], condition["lastTransitionTime"]) == ("False", "t3")
    assert condition["message"] == "containers with unready status: [c]"


def test_pod_ips_unique_reused_and_never_the_node_address() -> None:
    pool = PodIpAllocator("127.0.0.0/30")  # hosts 127.0.0.1 and 127.0.0.2
    assert pool.allocate("a") == "127.0.0.2"  # 127.0.0.1 is the node's
    assert pool.allocate("a") == "127.0.0.2"
    with pytest.raises(PodIpsExhausted):
        pool.allocate("b")
    pool.release("a")
    assert pool.allocate("b") == "127.0.0.2"
    with pytest.raises(ValueError, match=r"127\.0\.0\.0/8"):
        PodIpAllocator("10.0.0.0/24")
    wide = PodIpAllocator()
    assert wide.allocate("x", wanted="127.1.2.3") == "127.1.2.3"  # a restarted pod keeps it


def test_log_records_tail_since_and_timestamps(tmp_path: Path) -> None:
    path = tmp_path / "0.log"
    path.write_bytes(
        b"2026-01-01T00:00:00.000000Z stdout F one\n"
        b"2026-01-01T00:00:05.000000Z stderr P tw\n"
        b"2026-01-01T00:00:05.000001Z stderr F o\n"
        b"2026-01-01T00:00:09.000000Z stdout F three\n"
    )
    record = parse_record(b"2026-01-01T00:00:05.000000Z stderr P tw\n")
    assert record is not None and record.text == b"tw"

    def read(options: LogOptions) -> bytes:
        async def collect() -> bytes:
            return b"".join([c async for c in stream_log(path, options, lambda: False)])

        return asyncio.run(collect())

    assert read(LogOptions()) == b"one\ntwo\nthree\n"
    assert read(LogOptions(tail_lines=2)) == b"two\nthree\n"
    since = datetime.datetime(2026, 1, 1, 0, 0, 5, tzinfo=datetime.UTC)
    assert read(LogOptions(since=since)) == b"two\nthree\n"
    assert read(LogOptions(timestamps=True, tail_lines=1)) == b"2026-01-01T00:00:09.000000Z three\n"
    assert read(LogOptions(limit_bytes=5)) == b"one\nt"
    query = LogOptions.from_query({"tailLines": "3", "follow": "true", "timestamps": "true"})
    assert (query.tail_lines, query.follow, query.timestamps) == (3, True, True)


def test_mount_paths_in_arguments_are_rewritten_to_volume_folders(tmp_path: Path) -> None:
    volumes = PodVolumes(folders={"config": tmp_path / "config", "sa": tmp_path / "sa"})
    container = {
        "volumeMounts": [
            {"name": "config", "mountPath": "/etc/guestbook"},
            {"name": "sa", "mountPath": "/etc/guestbook/sa"},
        ]
    }
    mounts = volumes.mounts(container)
    assert rewrite_path("/etc/guestbook/app.yaml", mounts) == f"{tmp_path}/config/app.yaml"
    assert rewrite_path("/etc/guestbook/sa/token", mounts) == f"{tmp_path}/sa/token"
    assert rewrite_path("--config=/etc/guestbook", mounts) == f"--config={tmp_path}/config"
    assert rewrite_path("/etc/guestbooks", mounts) == "/etc/guestbooks"


def test_projected_tokens_rotate_at_80_percent_of_their_lifetime(tmp_path: Path) -> None:
    issued = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    token = ProjectedToken(
        tmp_path / "token", "default", None, 3607, issued, issued + datetime.timedelta(seconds=1000)
    )
    volumes = PodVolumes(tokens=[token])
    assert volumes.next_rotation() == issued + datetime.timedelta(seconds=800)
    asked: list[int] = []

    async def issue(service_account: str, audience: str | None, seconds: int) -> TokenGrant:
        asked.append(seconds)
        return TokenGrant("fresh", issued + datetime.timedelta(seconds=5000))

    asyncio.run(volumes.rotate_tokens(issue, issued + datetime.timedelta(seconds=799)))
    assert asked == []
    asyncio.run(volumes.rotate_tokens(issue, issued + datetime.timedelta(seconds=800)))
    assert asked == [3607] and token.path.read_text() == "fresh"


def test_each_kubelet_on_a_machine_claims_a_pod_range_of_its_own(tmp_path: Path) -> None:
    first = PodRangeClaim.take(tmp_path, busy=set())
    second = PodRangeClaim.take(tmp_path, busy=set())
    assert (first.cidr, second.cidr) == ("127.1.0.0/16", "127.2.0.0/16")
    first.release()
    third = PodRangeClaim.take(tmp_path, busy=set())  # a released range is free again
    assert third.cidr == "127.1.0.0/16"
    fourth = PodRangeClaim.take(tmp_path, busy={3})  # something listens on 127.3.x.y
    assert fourth.cidr == "127.4.0.0/16"
    for claim in (second, third, fourth):
        claim.release()


def test_ranges_where_something_listens_are_passed_over() -> None:
    proc = (
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt\n"
        "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000\n"
        "   1: 0100017F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000\n"
        "   2: 0500037F:0050 0100007F:9C40 01 00000000:00000000 00:00000000 00000000\n"
        "   3: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000\n"
    )
    # 127.0.0.1:8080 and 127.1.0.1:8080 listen; 127.3.0.5 only has a connection.
    assert listening_second_octets(proc) == {0, 1}
