"""The entry watch runs only while this replica is the active one."""

from __future__ import annotations

import asyncio

from guestbook_operator.entries.active_replica import ActiveReplica, run_while_active


async def test_standalone_is_always_active() -> None:
    replica = ActiveReplica(standalone=True)
    assert replica.active
    with replica.daemon_running():
        assert replica.active
    assert replica.active


async def test_with_peering_work_runs_while_a_ledger_daemon_runs() -> None:
    replica = ActiveReplica(standalone=False)
    starts: list[int] = []
    cancelled = asyncio.Event()

    async def work() -> None:
        starts.append(len(starts))
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    runner = asyncio.create_task(run_while_active(replica, work, what="test work"))
    await asyncio.sleep(0.05)
    assert starts == []  # paused: Kopf runs no daemon here

    async with asyncio.timeout(5):
        with replica.daemon_running():
            while not starts:
                await asyncio.sleep(0.01)
            with replica.daemon_running():  # a second Ledger
                pass
            await asyncio.sleep(0.05)
            assert not cancelled.is_set()  # one daemon still runs
        await cancelled.wait()  # the last daemon stopped: the work is cancelled

        with replica.daemon_running():  # resumed
            while len(starts) < 2:
                await asyncio.sleep(0.01)
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)


async def test_failed_work_is_started_again() -> None:
    replica = ActiveReplica(standalone=True)
    runs = 0

    async def work() -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            raise RuntimeError("the first run fails")
        await asyncio.Event().wait()

    runner = asyncio.create_task(run_while_active(replica, work, what="test work"))
    async with asyncio.timeout(5):
        while runs < 2:
            await asyncio.sleep(0.05)
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)
    assert runs == 2
