"""Command rows: reading them as wire views, and the time-driven steps (expiry, redelivery).

Every state change is a compare-and-set UPDATE on the state (and attempt) read just before, so
two processes never apply the same step twice, and each applied step writes one audit row.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

import msgspec

from procedures.audit.log import Entry, write_entry
from procedures.commands.schemas import Artifact, Command, CommandView
from procedures.paging import placeholders
from tvms.background import running
from tvms.clock import iso_ms
from tvms.db import Database, Row
from tvms.rpc import ErrorCode, RpcError, Services
from tvms.rpc.origin import absolute
from tvms.storage import ObjectInfo, ObjectNotFound, Storage

log = logging.getLogger("tvms.commands")

LEASE_MS = 60_000  # a delivered attempt not answered within this is delivered again
ARTIFACT_URL_TTL_S = 900

COLUMNS = (
    "id, sensor_id, type, payload, state, attempt, max_attempts, created_by, created_at, updated_at,"
    " expires_at, delivered_at, lease_until, started_at, finished_at, result, error, artifact_key"
)

decode_command = msgspec.json.Decoder(Command).decode
_decode_result = msgspec.json.Decoder(dict[str, Any]).decode
encode = msgspec.json.Encoder().encode


def _iso(value: int | None) -> str | None:
    return None if value is None else iso_ms(value)


async def view_of(row: Row, storage: Storage | None = None, base_url: str = "") -> CommandView:
    """The wire view; with `storage`, a SUCCEEDED artifact comes with a signed download URL.

    The URL is absolute on `base_url` (the service's public origin), like every URL handed out.
    """
    artifact = None
    info: ObjectInfo | None = None
    if storage is not None and row["artifact_key"] is not None:
        try:
            info = await storage.stat(row["artifact_key"])
        except ObjectNotFound:  # removed from storage since (retention, an operator): no link
            info = None
    if storage is not None and row["artifact_key"] is not None and info is not None:
        signed = await storage.presign_get(row["artifact_key"], ARTIFACT_URL_TTL_S)
        artifact = Artifact(
            key=row["artifact_key"],
            content_type=info.content_type,
            size=info.size,
            url=absolute(signed.url, base_url),
            url_expires_at=iso_ms(signed.expires_at_ms),
        )
    return CommandView(
        id=row["id"],
        sensor_id=row["sensor_id"],
        type=row["type"],
        command=decode_command(row["payload"]),
        state=row["state"],
        attempt=row["attempt"],
        max_attempts=row["max_attempts"],
        created_by=row["created_by"],
        created_at=iso_ms(row["created_at"]),
        updated_at=iso_ms(row["updated_at"]),
        expires_at=iso_ms(row["expires_at"]),
        delivered_at=_iso(row["delivered_at"]),
        started_at=_iso(row["started_at"]),
        finished_at=_iso(row["finished_at"]),
        result=None if row["result"] is None else _decode_result(row["result"]),
        error=row["error"],
        artifact=artifact,
    )


async def load(db: Database, command_id: str) -> Row:
    row = await db.fetchrow(f"SELECT {COLUMNS} FROM device_commands WHERE id = :id", {"id": command_id})
    if row is None:
        raise RpcError(ErrorCode.NOT_FOUND, f"Command {command_id[:100]!r} not found")
    return row


async def audit_step(
    db: Database, now: int, procedure: str, command_id: str, outcome: str, detail: dict[str, Any]
) -> None:
    """An audit row for a step the service took by itself (no caller)."""
    await write_entry(
        db, Entry(at=now, procedure=procedure, outcome=outcome, target_id=command_id, detail=detail)
    )


async def settle(db: Database, now: int, sensor_ids: Sequence[str] | None = None) -> int:
    """Expire overdue commands and queue again (or fail) unanswered deliveries; returns how many.

    `sensor_ids` limits the work to those devices (a poll); None settles every device.
    """
    params: dict[str, Any] = {"now": now}
    scope = ""
    if sensor_ids is not None:
        names, values = placeholders("s", sensor_ids)
        scope = f" AND sensor_id IN ({names})"
        params.update(values)
    rows = await db.fetch(
        "SELECT id, state, attempt, max_attempts, expires_at FROM device_commands"
        " WHERE state IN ('QUEUED', 'DELIVERED', 'RUNNING')"
        " AND (expires_at <= :now OR (state = 'DELIVERED' AND lease_until <= :now))" + scope,
        params,
    )
    changed = 0
    for row in rows:
        where = {"id": row["id"], "state": row["state"], "attempt": row["attempt"], "now": now}
        if row["expires_at"] <= now:
            step, detail = "EXPIRED", {"from": row["state"], "attempt": row["attempt"]}
            sql = (
                "UPDATE device_commands SET state = 'EXPIRED', finished_at = :now, updated_at = :now,"
                " lease_until = NULL, error = 'expired before it finished'"
            )
        elif row["attempt"] < row["max_attempts"]:
            step, detail = "QUEUED", {"from": "DELIVERED", "attempt": row["attempt"], "reason": "no answer"}
            sql = "UPDATE device_commands SET state = 'QUEUED', updated_at = :now, lease_until = NULL"
        else:
            step, detail = "FAILED", {"from": "DELIVERED", "attempt": row["attempt"], "reason": "no answer"}
            sql = (
                "UPDATE device_commands SET state = 'FAILED', finished_at = :now, updated_at = :now,"
                " lease_until = NULL, error = 'no answer from the device after the last attempt'"
            )
        if await db.execute(sql + " WHERE id = :id AND state = :state AND attempt = :attempt", where):
            changed += 1
            await audit_step(db, now, "commands.settle", row["id"], step, detail)
    return changed


class Wakeups:
    """In-process wake-ups for long polls: a poll waits on an event registered under its device
    (`ApiState.wakeups`).

    Another process's send is found by the poll's periodic re-check of the database instead.
    """

    def __init__(self) -> None:
        self._waiting: dict[str, set[asyncio.Event]] = {}

    def add(self, sensor_id: str, event: asyncio.Event) -> None:
        self._waiting.setdefault(sensor_id, set()).add(event)

    def discard(self, sensor_id: str, event: asyncio.Event) -> None:
        events = self._waiting.get(sensor_id)
        if events is not None:
            events.discard(event)
            if not events:
                del self._waiting[sensor_id]

    def notify(self, *sensor_ids: str | None) -> None:
        for sensor_id in sensor_ids:
            if sensor_id is not None:
                for event in self._waiting.get(sensor_id, ()):
                    event.set()

    def waiting(self) -> int:
        return sum(len(events) for events in self._waiting.values())


SWEEP_S = 5.0
_SWEEP_FIELDS = {"fields": {"job": "commands.sweep"}}


@contextlib.asynccontextmanager
async def command_sweeper(services: Services) -> AsyncIterator[None]:
    """Settles every device's commands every few seconds (reads and polls also settle theirs)."""

    async def sweep_forever() -> None:
        while True:
            await asyncio.sleep(SWEEP_S)
            try:
                settled = await settle(services.db, services.clock.now_ms())
                if settled:
                    log.info(
                        "command sweep: %d command(s) expired or queued again", settled, extra=_SWEEP_FIELDS
                    )
            except Exception:
                log.exception("the command sweep failed; trying again", extra=_SWEEP_FIELDS)

    async with running(sweep_forever(), name="tvms-command-sweep"):
        yield
