"""`guestbook-ledger bench e2e`: how it creates entries (the async REST client,
bounded in flight, paced by the clock, bounded in time) on the real API server,
how it finds and accounts for the CPU of each process of the system, and the
chart values it installs. The run itself is the benchmark."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import helm_python as helm
import pytest
import yaml
from guestbook_bench.e2e import (
    BENCHMARK,
    COMPONENTS,
    OPERATOR,
    POSTGRES,
    WORKERS,
    Api,
    AuditWindow,
    CreationTimedOut,
    Scenario,
    burst_cpu_table,
    create_entries,
    markdown,
    middle_rate,
    requests_table,
    summarize_audit,
    worker_ticks,
)
from guestbook_bench.e2e_cluster import (
    CONTROL_PLANE,
    OPERATOR_DEPLOYMENT,
    RELEASE,
    chart_values,
    container_pid,
)
from guestbook_bench.process_cpu import ProcessTimes, all_processes, parse_stat, tree_ticks
from guestbook_localcluster.controlplane import ControlPlane
from guestbook_localcluster.release import chart_path


@pytest.fixture
def api(crds: object, control_plane: ControlPlane, namespace: str) -> Api:
    """The benchmark's client on the session's kube-apiserver as the admin, in the
    test's namespace (no operator serves it: entries stay as created)."""
    return Api(control_plane.admin_kubeconfig, namespace)


def test_a_burst_creates_every_entry_and_records_when_each_was_sent(api: Api) -> None:
    names = [f"burst-{i}" for i in range(40)]

    submitted = create_entries(api.settings, names, "bench", in_flight=4, namespace=api.namespace)

    assert sorted(submitted) == sorted(names)
    entry = api.get("guestbookentries", "burst-7")
    assert entry["spec"] == {
        "ledger": "bench",
        "author": "bench",
        "message": "benchmark entry burst-7",
    }
    assert entry["metadata"]["creationTimestamp"]


def test_a_steady_rate_sends_in_order_and_never_faster_than_the_rate(api: Api) -> None:
    names = [f"steady-{i}" for i in range(10)]

    submitted = create_entries(
        api.settings, names, "bench", rate=50.0, in_flight=4, namespace=api.namespace
    )

    times = [submitted[n] for n in names]
    assert times == sorted(times)
    # Creation i is scheduled i / rate after the first, by the clock.
    assert times[-1] - times[0] >= 9 / 50.0 - 0.001


def test_creation_stops_at_its_time_bound_and_says_how_far_it_got(api: Api) -> None:
    names = [f"slow-{i}" for i in range(5)]

    # One per second: only the first is due within the bound.
    with pytest.raises(CreationTimedOut) as raised:
        create_entries(api.settings, names, "bench", rate=1.0, timeout=0.5, namespace=api.namespace)

    assert set(raised.value.created) <= {"slow-0"}
    assert "of 5 entries" in str(raised.value)


def test_the_chart_accepts_the_benchmarks_values() -> None:
    values = chart_values(
        "postgresql://bench@127.0.0.1:5432/bench",
        "bench",
        {"maxWorkers": 4, "entriesPerWorker": 50, "workerIdleSeconds": 5},
        {"GUESTBOOK_REPAIR_INTERVAL": "30"},
    )

    with helm.Chart.load(chart_path()) as chart:
        files = chart.render(values, name=RELEASE, namespace="default", is_install=True)
    objects = [
        doc
        for path, text in files.items()
        if path.endswith(".yaml")  # not NOTES.txt
        for doc in yaml.safe_load_all(text)
        if doc
    ]

    kinds = {(o["kind"], o["metadata"]["name"]) for o in objects}
    assert ("Deployment", OPERATOR_DEPLOYMENT) in kinds
    assert not any(kind == "Deployment" and "webui" in name for kind, name in kinds)
    ledger = next(o for o in objects if o["kind"] == "Ledger")
    assert ledger["metadata"]["name"] == "bench"
    assert ledger["spec"]["maxWorkers"] == 4
    operator = next(
        o
        for o in objects
        if (o["kind"], o["metadata"]["name"]) == ("Deployment", OPERATOR_DEPLOYMENT)
    )
    env = operator["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "GUESTBOOK_REPAIR_INTERVAL", "value": "30"} in env


def test_a_pods_process_is_found_from_its_container_id() -> None:
    running = {
        "status": {
            "containerStatuses": [
                {"containerID": "process://4242", "state": {"running": {"startedAt": "x"}}}
            ]
        }
    }
    ended = {
        "status": {
            "containerStatuses": [{"containerID": "process://4242", "state": {"terminated": {}}}]
        }
    }
    other_runtime = {
        "status": {
            "containerStatuses": [{"containerID": "containerd://ab12", "state": {"running": {}}}]
        }
    }

    assert container_pid(running) == 4242
    assert container_pid(ended) is None
    assert container_pid(other_runtime) is None
    assert container_pid({"status": {}}) is None


def test_worker_pods_are_the_kubelets_children_but_the_operator() -> None:
    def proc(pid: int, parent: int, own: int, children: int = 0) -> ProcessTimes:
        return ProcessTimes(pid=pid, parent=parent, own=own, children=children)

    # kubelet 10 (own 100, ended pods 40) runs the operator 11 and worker 12 (with child 13).
    procs = {
        10: proc(10, 1, 100, children=40),
        11: proc(11, 10, 30),
        12: proc(12, 10, 20),
        13: proc(13, 12, 5),
    }

    assert worker_ticks(10, 11, procs) == 40 + 20 + 5
    assert worker_ticks(10, None, procs) is None
    assert worker_ticks(10, 99, procs) is None  # the operator pod is gone


def test_a_stat_line_is_read_even_when_the_command_name_has_parentheses() -> None:
    line = "4242 (postgres: a (b) c) S 17 4242 4242 0 -1 4194560 10 0 0 0 120 30 7 3 20 0 1 0"

    times = parse_stat(line)

    assert (times.pid, times.parent, times.own, times.children) == (4242, 17, 150, 10)
    with pytest.raises(ValueError, match="not a /proc/PID/stat line"):
        parse_stat("garbage")


def test_a_process_trees_cpu_includes_children_that_already_ended() -> None:
    busy = f"{sys.executable} -c 'sum(i * i for i in range(3_000_000))'"
    # The shell waits for the busy child, then becomes `sleep` (no CPU of its own).
    shell = subprocess.Popen(["sh", "-c", f"{busy}; exec sleep 60"])
    try:
        for _ in range(600):
            if Path(f"/proc/{shell.pid}/comm").read_text().strip() == "sleep":
                break
            subprocess.run(["sleep", "0.05"], check=True)
        else:
            pytest.fail("the busy child did not finish")
        processes = all_processes()

        with_root = tree_ticks(shell.pid, processes)
        children_only = tree_ticks(shell.pid, processes, include_root_own=False)

        assert children_only is not None and children_only > 0  # the ended child's time
        assert with_root is not None and with_root >= children_only
        assert tree_ticks(-1, processes) is None  # no such process
    finally:
        shell.kill()
        shell.wait()


def test_the_report_shows_cpu_per_entry_for_every_process() -> None:
    scenario = Scenario(pod_start_delay=0.0, burst_entries=1000, burst_cpu_seconds=2.0)
    scenario.burst_cpu = dict.fromkeys(COMPONENTS, 0.5)
    scenario.burst_cpu[POSTGRES] = None

    lines = burst_cpu_table(scenario)

    for name in (OPERATOR, WORKERS, *CONTROL_PLANE, BENCHMARK):
        assert f"| {name} | 0.50 | 0.50 |" in lines
    assert f"| {POSTGRES} | not found | — |" in lines
    assert f"| total | {0.5 * (len(COMPONENTS) - 1):.2f} |" in "\n".join(lines)
    assert burst_cpu_table(Scenario(pod_start_delay=0.0)) == []


def test_the_report_gives_the_load_average_of_each_scenario() -> None:
    scenario = Scenario(pod_start_delay=2.0, load_before="0.50 0.40 0.30", load_after="1.9 1 0.5")

    text = markdown([scenario], "today", "guestbook-ledger bench e2e")

    assert "### Pod start delay 2 s" in text
    assert "before: 0.50 0.40 0.30; after: 1.9 1 0.5" in text


def test_middle_rate_leaves_out_ramp_up_and_drain() -> None:
    # 10 slow seals while the pool starts, 80 at 100/s, 10 slow ones draining.
    ramp = [i * 1.0 for i in range(10)]
    steady = [10.0 + i * 0.01 for i in range(80)]
    drain = [11.0 + i * 1.0 for i in range(10)]
    assert middle_rate(drain + steady + ramp) == pytest.approx(100, rel=0.02)
    assert middle_rate([5.0] * 20) == 0.0  # no time passed: cannot tell
    assert middle_rate([1.0]) == 0.0


def _audit_event(user: str, verb: str, resource: str, subresource: str = "") -> str:
    ref = {"resource": resource, **({"subresource": subresource} if subresource else {})}
    event = {
        "kind": "Event",
        "stage": "ResponseComplete",
        "verb": verb,
        "user": {"username": user},
        "objectRef": ref,
        "requestURI": f"/apis/x/{resource}",
    }
    return json.dumps(event)


def test_the_audit_log_gives_each_clients_requests_per_entry(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_text(_audit_event("kubernetes-admin", "list", "namespaces") + "\n")
    window = AuditWindow(log)
    window.start()  # what was there before is not counted
    worker = "system:serviceaccount:default:guestbook-ledger-worker"
    lines = [
        _audit_event("kubernetes-admin", "create", "guestbookentries"),
        _audit_event("kubernetes-admin", "create", "guestbookentries"),
        _audit_event(worker, "patch", "guestbookentries", "status"),
        json.dumps({"stage": "ResponseStarted", "verb": "watch", "user": {}}),
        '{"kind": "Event", "stage": "Respo',  # cut by a concurrent write
    ]
    with open(log, "a") as file:
        file.write("\n".join(lines) + "\n")

    requests = window.requests()

    assert requests == {
        "benchmark client: create guestbookentries": 2,
        "guestbook-ledger-worker: patch guestbookentries/status": 1,
    }
    table = requests_table(dict(requests), entries=2, rows=1)
    assert "(kube-apiserver's audit log): 3, 1.50 per entry" in table[0]
    assert "| benchmark client: create guestbookentries | 2 | 1.00 |" in table
    assert "| everything else | 1 | 0.50 |" in table
    log.write_text("")  # rotated
    assert window.requests() is None
    assert summarize_audit(["not json", "[]"]) == {}
