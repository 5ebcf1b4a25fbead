"""`commands.*`: operators send commands to devices and follow them; viewers read them."""

from __future__ import annotations

from typing import Any

from procedures.commands.schemas import (
    SNAPSHOT_TYPES,
    CommandIdInput,
    CommandPage,
    CommandsGetAllInput,
    CommandView,
    SendInput,
)
from procedures.commands.store import COLUMNS, encode, load, settle, view_of
from procedures.paging import page_count
from procedures.state import state_of
from tvms.ids import new_id
from tvms.rpc import Context, ErrorCode, Router, RpcError, invalid_params, roles

commands = Router("commands")
SENDERS = roles("OPERATOR", "ADMIN")
READERS = roles("VIEWER", "OPERATOR", "ADMIN")


def _user(ctx: Context) -> str:
    if ctx.principal is None:  # the role rule guarantees one; this narrows the type
        raise RpcError(ErrorCode.UNAUTHORIZED, "Authentication required")
    return ctx.principal.id


@commands.mutation("send", auth=SENDERS)
async def send(ctx: Context, input: SendInput) -> CommandView:
    """Queue a command (PING, REBOOT, SNAPSHOT or SET_CONFIG) for a device.

    The device (or its gateway) receives it through `devices.pollCommands`. It expires after
    `ttlS` seconds unless finished; a delivery the device does not answer within a minute is
    delivered again, up to `maxAttempts` deliveries. SNAPSHOT is for cameras, ANPR units and NVRs.
    """
    sensor = await ctx.db.fetchrow(
        "SELECT id, type, parent_sensor_id FROM sensors WHERE id = :id AND deleted_at IS NULL",
        {"id": input.sensor_id},
    )
    if sensor is None:
        raise RpcError(ErrorCode.NOT_FOUND, f"Sensor {input.sensor_id!r} not found")
    kind = input.command.__struct_config__.tag
    if kind == "SNAPSHOT" and sensor["type"] not in SNAPSHOT_TYPES:
        raise invalid_params("$.command.type", f"a {sensor['type']} has no camera to take a SNAPSHOT")
    now = ctx.clock.now_ms()
    command_id = new_id()
    await ctx.db.execute(
        "INSERT INTO device_commands (id, sensor_id, type, payload, state, attempt, max_attempts,"
        " created_by, created_at, updated_at, expires_at)"
        " VALUES (:id, :sensor_id, :type, :payload, 'QUEUED', 0, :max_attempts, :created_by, :now, :now,"
        " :expires_at)",
        {
            "id": command_id,
            "sensor_id": sensor["id"],
            "type": kind,
            "payload": encode(input.command).decode(),
            "max_attempts": input.max_attempts,
            "created_by": _user(ctx),
            "now": now,
            "expires_at": now + input.ttl_s * 1000,
        },
    )
    state_of(ctx.services).wakeups.notify(sensor["id"], sensor["parent_sensor_id"])
    return await view_of(await load(ctx.db, command_id))


@commands.query("getAll", auth=READERS)
async def get_all(ctx: Context, input: CommandsGetAllInput) -> CommandPage:
    """Commands, newest first, filtered by sensor, state and type."""
    await settle(ctx.db, ctx.clock.now_ms(), None if input.sensor_id is None else [input.sensor_id])
    where: list[str] = []
    params: dict[str, Any] = {}
    for column, value in (("sensor_id", input.sensor_id), ("state", input.state), ("type", input.type)):
        if value is not None:
            where.append(f"{column} = :{column}")
            params[column] = value
    clause = (" WHERE " + " AND ".join(where)) if where else ""
    total = int(await ctx.db.fetchval("SELECT COUNT(*) FROM device_commands" + clause, params) or 0)
    rows = await ctx.db.fetch(
        f"SELECT {COLUMNS} FROM device_commands{clause}"
        " ORDER BY created_at DESC, id DESC LIMIT :take OFFSET :skip",
        {**params, "take": input.take, "skip": input.skip},
    )
    views = [await view_of(row) for row in rows]
    return CommandPage(commands=views, total=total, page_count=page_count(total, input.take))


@commands.query("getById", auth=READERS)
async def get_by_id(ctx: Context, input: CommandIdInput) -> CommandView:
    """One command with its state, result and attempt; a SNAPSHOT's image as a signed URL."""
    row = await load(ctx.db, input.id)
    if await settle(ctx.db, ctx.clock.now_ms(), [row["sensor_id"]]):
        row = await load(ctx.db, input.id)
    return await view_of(row, ctx.storage, ctx.base_url)


@commands.mutation("retry", auth=SENDERS)
async def retry(ctx: Context, input: CommandIdInput) -> CommandView:
    """Queue a FAILED or EXPIRED command again for one more attempt, with its first time to live.

    The attempt number keeps counting, so the retry is visible; the previous result is cleared.
    """
    row = await load(ctx.db, input.id)
    now = ctx.clock.now_ms()
    await settle(ctx.db, now, [row["sensor_id"]])
    row = await load(ctx.db, input.id)
    if row["state"] not in ("FAILED", "EXPIRED"):
        raise RpcError(
            ErrorCode.CONFLICT, f"Only a FAILED or EXPIRED command is retried; this is {row['state']}"
        )
    if row["attempt"] >= 10:
        raise RpcError(ErrorCode.CONFLICT, "This command has had its 10 attempts")
    ttl = row["expires_at"] - row["created_at"]
    updated = await ctx.db.execute(
        "UPDATE device_commands SET state = 'QUEUED', max_attempts = :max_attempts,"
        " expires_at = :expires_at, updated_at = :now, delivered_at = NULL, lease_until = NULL,"
        " started_at = NULL, finished_at = NULL, result = NULL, error = NULL, artifact_key = NULL"
        " WHERE id = :id AND state = :state AND attempt = :attempt",
        {
            "max_attempts": row["attempt"] + 1,
            "expires_at": now + ttl,
            "now": now,
            "id": row["id"],
            "state": row["state"],
            "attempt": row["attempt"],
        },
    )
    if not updated:
        raise RpcError(ErrorCode.CONFLICT, "The command changed meanwhile; read it again")
    parent = await ctx.db.fetchval(
        "SELECT parent_sensor_id FROM sensors WHERE id = :id", {"id": row["sensor_id"]}
    )
    state_of(ctx.services).wakeups.notify(row["sensor_id"], parent)
    return await view_of(await load(ctx.db, input.id))


__all__ = ["commands"]
