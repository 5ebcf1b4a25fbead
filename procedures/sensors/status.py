"""Sensor status: the change log, and the background sweep that marks silent sensors OFFLINE.

Every status change is written to `sensor_status_changes` (from, to, at, reason) in the same
transaction as the change itself, so uptime reports can be built from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from procedures.state import state_of
from tvms.db import Database, Transaction
from tvms.ids import new_id
from tvms.rpc import Services

log = logging.getLogger("tvms.sensors")

DEFAULT_SWEEP_S = 60.0  # timeout 180 s / 3, used while there are no sensors
MIN_SWEEP_S = 1.0


async def record_change(
    tx: Transaction, sensor_id: str, from_status: str | None, to_status: str, at_ms: int, reason: str
) -> None:
    await tx.execute(
        "INSERT INTO sensor_status_changes (id, sensor_id, from_status, to_status, at, reason) "
        "VALUES (:id, :sensor_id, :from_status, :to_status, :at, :reason)",
        {
            "id": new_id(),
            "sensor_id": sensor_id,
            "from_status": from_status,
            "to_status": to_status,
            "at": at_ms,
            "reason": reason,
        },
    )


async def set_status(
    tx: Transaction, sensor_id: str, to_status: str, now_ms: int, reason: str, *, heartbeat: bool
) -> str:
    """Move a live sensor to `to_status` (MAINTENANCE is kept: only operators leave it).

    With `heartbeat`, `last_heartbeat_at` becomes `now_ms` too. Compare-and-set on the status,
    retried, so a concurrent sweep or edit is never overwritten blindly. Returns the new status.
    """
    for _ in range(5):
        current = await tx.fetchval(
            "SELECT status FROM sensors WHERE id = :id AND deleted_at IS NULL", {"id": sensor_id}
        )
        if current is None:
            return to_status
        new_status = "MAINTENANCE" if current == "MAINTENANCE" else to_status
        params = {"id": sensor_id, "old": current, "new": new_status, "now": now_ms}
        if heartbeat:
            sql = (
                "UPDATE sensors SET status = :new, last_heartbeat_at = :now "
                "WHERE id = :id AND status = :old AND deleted_at IS NULL"
            )
        else:
            sql = "UPDATE sensors SET status = :new WHERE id = :id AND status = :old AND deleted_at IS NULL"
        if await tx.execute(sql, params):
            if new_status != current:
                await record_change(tx, sensor_id, current, new_status, now_ms, reason)
            return new_status
    raise RuntimeError(f"sensor {sensor_id}: status kept changing under the update")


async def sweep_once(db: Database, now_ms: int) -> int:
    """Mark OFFLINE every ONLINE/ERROR sensor silent for longer than its timeout; returns how many.

    A sensor that never sent a heartbeat counts from its creation. The UPDATE only applies if
    the status and the last heartbeat are still the ones read here, so a heartbeat that lands
    while the sweep runs wins.
    """
    stale = await db.fetch(
        "SELECT id, status, last_heartbeat_at FROM sensors "
        "WHERE deleted_at IS NULL AND status IN ('ONLINE', 'ERROR') "
        "AND COALESCE(last_heartbeat_at, created_at) + heartbeat_timeout_s * 1000 < :now",
        {"now": now_ms},
    )
    if not stale:
        return 0
    changed = 0
    async with db.transaction() as tx:
        for row in stale:
            seen = row["last_heartbeat_at"]
            updated = await tx.execute(
                "UPDATE sensors SET status = 'OFFLINE' WHERE id = :id AND status = :status "
                "AND COALESCE(last_heartbeat_at, -1) = :seen AND deleted_at IS NULL",
                {"id": row["id"], "status": row["status"], "seen": -1 if seen is None else seen},
            )
            if updated:
                await record_change(tx, row["id"], row["status"], "OFFLINE", now_ms, "heartbeat timeout")
                changed += 1
    return changed


async def sweep_interval(db: Database) -> float:
    """A third of the shortest timeout of any live sensor (OFFLINE ones may come back)."""
    shortest = await db.fetchval("SELECT MIN(heartbeat_timeout_s) FROM sensors WHERE deleted_at IS NULL")
    if shortest is None:
        return DEFAULT_SWEEP_S
    return max(MIN_SWEEP_S, float(shortest) / 3)


def wake_sweeper(services: Services) -> None:
    """Re-plan the sweep now: a sensor with a shorter timeout may need an earlier round."""
    state_of(services).sweep_wake.set()


async def _sweep_forever(services: Services, wake: asyncio.Event, stop: asyncio.Event) -> None:
    while not stop.is_set():
        wake.clear()  # a wake-up during this round is then seen by the wait below
        interval = DEFAULT_SWEEP_S
        try:
            changed = await sweep_once(services.db, services.clock.now_ms())
            if changed:
                log.info("heartbeat sweep: %d sensor(s) marked OFFLINE", changed)
            interval = await sweep_interval(services.db)
        except Exception:  # a failed round must not stop the sweeping; the next one retries
            log.exception("heartbeat sweep failed")
            interval = MIN_SWEEP_S * 5
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), interval)


@contextlib.asynccontextmanager
async def heartbeat_sweeper(services: Services) -> AsyncIterator[None]:
    """Api hook: sweeps for silent sensors for as long as the application runs.

    On shutdown the task is asked to stop and allowed to finish the query it is running (it is
    cancelled only if that takes over 5 s), so no database call is cut off mid-flight.
    """
    wake, stop = state_of(services).sweep_wake, asyncio.Event()
    task = asyncio.create_task(_sweep_forever(services, wake, stop), name="tvms-heartbeat-sweep")
    try:
        yield
    finally:
        stop.set()
        wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), 5)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
