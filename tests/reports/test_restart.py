"""A report interrupted by a restart never stays RUNNING: it is resumed, or FAILED with a reason."""

from __future__ import annotations

from typing import Any

import anyio
from starlette.applications import Starlette

from procedures.reports import worker as worker_module
from tests.reports.conftest import NOW
from tests.support import as_role, asgi_client, running_app
from tvms.app import Api
from tvms.clock import ManualClock
from tvms.config import Config
from tvms.db import open_database

OPERATOR = as_role("OPERATOR", "op-1")


async def insert_running(database_url: str, report_id: str, attempts: int, lease_until: int) -> None:
    db = await open_database(database_url)
    try:
        await db.execute(
            "INSERT INTO reports (id, type, format, status, progress, period_from, period_to, timezone,"
            " filters, created_by, created_at, updated_at, started_at, attempts, lease_owner, lease_until)"
            " VALUES (:id, 'SENSOR_UPTIME', 'CSV', 'RUNNING', 40, :start, :end, 'UTC',"
            " '{\"groupBy\": \"day\"}', 'op-1', :start, :start, :start, :attempts, 'old-process', :lease)",
            {
                "id": report_id,
                "start": NOW - 86_400_000,
                "end": NOW - 1,
                "attempts": attempts,
                "lease": lease_until,
            },
        )
    finally:
        await db.close()


async def report(app: Starlette, report_id: str) -> dict[str, Any]:
    async with asgi_client(app) as client:
        body = (
            await client.post(
                "/rpc",
                json={"jsonrpc": "2.0", "id": 1, "method": "reports.getById", "params": {"id": report_id}},
                headers=OPERATOR,
            )
        ).json()
    found: dict[str, Any] = body["result"]
    return found


async def test_an_interrupted_report_is_resumed_at_start_up(
    config: Config, test_api: Api, database_url: str
) -> None:
    await insert_running(database_url, "interrupted", attempts=1, lease_until=NOW - 1)
    async with running_app(config, test_api, ManualClock(NOW)) as app:
        with anyio.fail_after(20):
            found = await report(app, "interrupted")
            while found["status"] not in ("READY", "FAILED"):  # polling, as a client would
                await anyio.sleep(0.02)
                found = await report(app, "interrupted")
        assert found["status"] == "READY" and found["progress"] == 100 and found["error"] is None
        assert (
            await app.state.services.db.fetchval("SELECT attempts FROM reports WHERE id = 'interrupted'") == 2
        )


async def test_a_report_interrupted_too_often_fails_with_a_reason(
    config: Config, test_api: Api, database_url: str
) -> None:
    await insert_running(database_url, "hopeless", attempts=3, lease_until=NOW - 1)
    async with running_app(config, test_api, ManualClock(NOW)) as app:
        found = await report(app, "hopeless")  # recovery runs before the app serves
        assert found["status"] == "FAILED"
        assert "Interrupted by a server restart" in found["error"]
        assert found["fileKey"] is None


async def test_a_job_another_live_process_holds_is_left_alone(
    config: Config, test_api: Api, database_url: str
) -> None:
    await insert_running(database_url, "elsewhere", attempts=1, lease_until=NOW + 60_000)
    async with running_app(config, test_api, ManualClock(NOW)) as app:
        await anyio.sleep(0.2)
        assert (await report(app, "elsewhere"))["status"] == "RUNNING"


async def test_a_graceful_shutdown_puts_a_running_job_back_in_the_queue(
    config: Config, test_api: Api, database_url: str
) -> None:
    from procedures.reports import render

    started = anyio.Event()
    release = anyio.Event()
    original = render.write_report

    async def slow(*args: Any) -> int:
        started.set()
        await release.wait()
        return await original(*args)

    render.write_report = slow  # type: ignore[assignment]
    grace = worker_module.STOP_GRACE_S
    worker_module.STOP_GRACE_S = 0.2  # the job never reaches a step where it could stop by itself
    try:
        async with running_app(config, test_api, ManualClock(NOW)) as app:
            async with asgi_client(app) as client:
                body = (
                    await client.post(
                        "/rpc",
                        json={
                            "jsonrpc": "2.0",
                            "id": 1,
                            "method": "reports.generate",
                            "params": {
                                "type": "SENSOR_UPTIME",
                                "format": "CSV",
                                "from": "2024-12-01T00:00:00Z",
                                "to": "2024-12-02T00:00:00Z",
                            },
                        },
                        headers=OPERATOR,
                    )
                ).json()
            with anyio.fail_after(10):
                await started.wait()
            db = app.state.services.db
            assert await db.fetchval("SELECT status FROM reports") == "RUNNING"
        # Shut down while the job ran: it waits in the queue for the next start, attempts unchanged.
        db = await open_database(database_url)
        try:
            row = await db.fetchrow(
                "SELECT status, attempts, lease_owner FROM reports WHERE id = :id",
                {"id": body["result"]["id"]},
            )
            assert row is not None and (row["status"], row["attempts"], row["lease_owner"]) == (
                "QUEUED",
                0,
                None,
            )
        finally:
            await db.close()
    finally:
        render.write_report = original  # type: ignore[assignment]
        worker_module.STOP_GRACE_S = grace
        release.set()
