"""The operator's readiness endpoint: ``GET /readyz`` answers 200 while the ledger
database answers, 503 (saying why) while it does not.

Liveness is Kopf's ``/healthz`` and never asks the database: a database outage
must not restart the operator, which waits it out and reports it in each
Ledger's Ready condition (decision 0133). Served by aiohttp, which Kopf
already runs its own endpoint on.
"""

from __future__ import annotations

import asyncio
import concurrent.futures

from aiohttp import web

from guestbook_operator.database import DATABASE_DOWN, Database

# Longest a readiness answer waits for the database (the kubelet's default probe
# timeout is 1 s; the chart gives the probe longer than this).
CHECK_TIMEOUT_SECONDS = 4.0


def database_answers(db: Database) -> None:
    """Run ``SELECT 1`` on a pooled connection. Raises what the database raises."""
    with db.connection() as conn, conn, conn.cursor() as cur:
        cur.execute("SELECT 1")
        cur.fetchone()


async def readiness_check(db: Database, executor: concurrent.futures.Executor) -> str | None:
    """None when the database answers within CHECK_TIMEOUT_SECONDS, else why not."""
    loop = asyncio.get_running_loop()
    try:
        await asyncio.wait_for(
            loop.run_in_executor(executor, database_answers, db), CHECK_TIMEOUT_SECONDS
        )
    except TimeoutError:
        return f"the ledger database did not answer within {CHECK_TIMEOUT_SECONDS:g} s"
    except DATABASE_DOWN as exc:
        return " ".join(str(exc).split()) or type(exc).__name__
    return None


async def start_readiness_server(
    db: Database, executor: concurrent.futures.Executor, address: str, port: int
) -> web.AppRunner:
    """Serve ``/readyz`` on ``address:port``; the caller cleans the runner up."""

    async def readyz(_: web.Request) -> web.Response:
        problem = await readiness_check(db, executor)
        if problem is None:
            return web.json_response({"database": True})
        return web.json_response({"database": False, "reason": problem}, status=503)

    app = web.Application()
    app.add_routes([web.get("/readyz", readyz)])
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, address, port).start()
    return runner
