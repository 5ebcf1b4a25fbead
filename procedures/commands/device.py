"""`devices.*` for commands: a device long-polls for its commands and reports their outcome.

A gateway receives its own commands and those of the cameras and NVRs attached to it; any other
command reads as absent. The long poll holds no database connection while it waits: it checks,
then sleeps on an in-process wake-up (set by `commands.send` in this process) or until the next
re-check (which finds commands sent through another process).
"""

from __future__ import annotations

import asyncio
import contextlib
import random

from procedures.audit import record
from procedures.commands.schemas import (
    ARTIFACT_TYPES,
    DeviceCommand,
    PollInput,
    PollResult,
    ReportAck,
    ReportInput,
    SnapshotUpload,
    SnapshotUploadInput,
)
from procedures.commands.store import LEASE_MS, decode_command, encode, settle
from procedures.paging import placeholders
from procedures.state import state_of
from tvms.clock import iso_ms
from tvms.db import Row
from tvms.rpc import DEVICE, Context, ErrorCode, Router, RpcError, invalid_params
from tvms.rpc.origin import absolute
from tvms.storage import ObjectNotFound

devices = Router("devices")
RECHECK_S = 5.0  # how stale a command sent through another process may be before a poll sees it


def _me(ctx: Context) -> str:
    if ctx.principal is None or ctx.principal.kind != "device":
        raise RpcError(ErrorCode.UNAUTHORIZED, "Authentication required")
    return ctx.principal.id


async def family(ctx: Context, me: str) -> dict[str, str]:
    """sensor id → device id of the calling device and the devices attached to it."""
    rows = await ctx.db.fetch(
        "SELECT id, device_id FROM sensors WHERE deleted_at IS NULL AND (id = :me OR parent_sensor_id = :me)",
        {"me": me},
    )
    if not any(row["id"] == me for row in rows):
        raise RpcError(ErrorCode.FORBIDDEN, "This device is not registered")
    return {row["id"]: row["device_id"] for row in rows}


async def _deliver(ctx: Context, me: str, mine: dict[str, str], limit: int) -> list[DeviceCommand]:
    """Deliver up to `limit` queued commands: each one a compare-and-set, audited."""
    now = ctx.clock.now_ms()
    ids = list(mine)
    await settle(ctx.db, now, ids)
    names, values = placeholders("s", ids)
    rows = await ctx.db.fetch(
        "SELECT id, sensor_id, payload, attempt, expires_at FROM device_commands"
        f" WHERE sensor_id IN ({names}) AND state = 'QUEUED' AND expires_at > :now"
        " ORDER BY created_at, id LIMIT :limit",
        {**values, "now": now, "limit": limit},
    )
    delivered: list[DeviceCommand] = []
    for row in rows:
        attempt = row["attempt"] + 1
        won = await ctx.db.execute(
            "UPDATE device_commands SET state = 'DELIVERED', attempt = :attempt, delivered_at = :now,"
            " lease_until = :lease, updated_at = :now"
            " WHERE id = :id AND state = 'QUEUED' AND attempt = :previous",
            {
                "attempt": attempt,
                "now": now,
                "lease": now + LEASE_MS,
                "id": row["id"],
                "previous": row["attempt"],
            },
        )
        if not won:  # another poll delivered this attempt
            continue
        await record(ctx, outcome="OK", target_id=row["id"], detail={"step": "DELIVERED", "attempt": attempt})
        delivered.append(
            DeviceCommand(
                id=row["id"],
                sensor_id=row["sensor_id"],
                device_id=mine[row["sensor_id"]],
                attempt=attempt,
                expires_at=iso_ms(row["expires_at"]),
                command=decode_command(row["payload"]),
            )
        )
    return delivered


@devices.mutation("pollCommands", auth=DEVICE)
async def poll_commands(ctx: Context, input: PollInput) -> PollResult:
    """Wait up to `waitS` seconds (at most 25; 0, the default, does not wait) for commands for
    this device or its children.

    Answers as soon as there is at least one (each delivered once per attempt: answer it with
    `devices.reportCommand` giving that attempt), or with an empty list when the wait ends.
    """
    me = _me(ctx)
    mine = await family(ctx, me)
    loop = asyncio.get_running_loop()  # waiting is real time, whatever clock stamps the rows
    deadline = loop.time() + input.wait_s
    wake = asyncio.Event()
    board = state_of(ctx.services).wakeups
    for sensor_id in mine:
        board.add(sensor_id, wake)
    try:
        while True:
            wake.clear()
            delivered = await _deliver(ctx, me, mine, input.max)
            remaining = deadline - loop.time()
            if delivered or remaining <= 0:
                return PollResult(commands=delivered)
            # Jitter spreads the re-checks of many idle devices over time.
            pause = min(remaining, RECHECK_S * random.uniform(0.8, 1.2))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), pause)
    finally:
        for sensor_id in mine:
            board.discard(sensor_id, wake)


async def _owned(ctx: Context, command_id: str) -> Row:
    """The command, if it is for the calling device or one of its children (else NOT_FOUND)."""
    me = _me(ctx)
    row = await ctx.db.fetchrow(
        "SELECT c.id, c.sensor_id, c.type, c.state, c.attempt, c.expires_at FROM device_commands c"
        " JOIN sensors s ON s.id = c.sensor_id WHERE c.id = :id AND (s.id = :me OR s.parent_sensor_id = :me)",
        {"id": command_id, "me": me},
    )
    if row is None:  # another device's command reads as absent: ids are not an oracle
        raise RpcError(ErrorCode.NOT_FOUND, f"Command {command_id[:100]!r} not found")
    return row


async def _current(ctx: Context, command_id: str, attempt: int) -> Row:
    """The command after settling, if `attempt` is its current, unfinished attempt."""
    row = await _owned(ctx, command_id)
    if await settle(ctx.db, ctx.clock.now_ms(), [row["sensor_id"]]):
        row = await _owned(ctx, command_id)
    if row["attempt"] != attempt:
        raise RpcError(ErrorCode.CONFLICT, f"Attempt {attempt} is not the current one ({row['attempt']})")
    return row


def artifact_key(sensor_id: str, command_id: str, attempt: int, content_type: str) -> str:
    return f"sensors/{sensor_id}/snapshots/{command_id}-{attempt}.{ARTIFACT_TYPES[content_type]}"


@devices.mutation("createSnapshotUpload", auth=DEVICE)
async def create_snapshot_upload(ctx: Context, input: SnapshotUploadInput) -> SnapshotUpload:
    """A signed URL to PUT the image a SNAPSHOT command took (then report it SUCCEEDED).

    Announce the exact size and SHA-256; the report is checked against the stored bytes.
    """
    row = await _current(ctx, input.id, input.attempt)
    if row["type"] != "SNAPSHOT":
        raise RpcError(ErrorCode.PRECONDITION_FAILED, f"A {row['type']} command has no image to upload")
    if row["state"] not in ("DELIVERED", "RUNNING"):
        raise RpcError(ErrorCode.CONFLICT, f"This command is {row['state']}")
    key = artifact_key(row["sensor_id"], row["id"], input.attempt, input.content_type)
    signed = await ctx.storage.presign_put(key, input.content_type, input.size, sha256=input.sha256)
    return SnapshotUpload(
        key=key,
        upload_url=absolute(signed.url, ctx.base_url),
        method=signed.method,
        headers=signed.headers,
        expires_at=iso_ms(signed.expires_at_ms),
    )


_ALLOWED = {"DELIVERED": ("RUNNING", "SUCCEEDED", "FAILED"), "RUNNING": ("RUNNING", "SUCCEEDED", "FAILED")}


@devices.mutation("reportCommand", auth=DEVICE)
async def report_command(ctx: Context, input: ReportInput) -> ReportAck:
    """Report that a delivered command is RUNNING, or SUCCEEDED / FAILED with its result.

    Give the attempt the poll delivered: a report for an older attempt is CONFLICT. Repeating
    the final report of the current attempt is harmless (answered with the stored state). A
    SNAPSHOT succeeds only with the `artifact` uploaded through `devices.createSnapshotUpload`.
    """
    row = await _current(ctx, input.id, input.attempt)
    if row["state"] == input.state and row["state"] in ("SUCCEEDED", "FAILED"):
        return ReportAck(id=row["id"], state=row["state"], attempt=row["attempt"])
    if input.state not in _ALLOWED.get(row["state"], ()):
        raise RpcError(ErrorCode.CONFLICT, f"This command is {row['state']}; it cannot become {input.state}")
    key = None
    if input.state == "SUCCEEDED" and row["type"] == "SNAPSHOT":
        if input.artifact is None:
            raise invalid_params("$.artifact", "a SNAPSHOT succeeds with the uploaded image")
        expected = {artifact_key(row["sensor_id"], row["id"], input.attempt, t) for t in ARTIFACT_TYPES}
        if input.artifact.key not in expected:
            raise invalid_params("$.artifact.key", "not the upload key of this command's attempt")
        try:
            stored = await ctx.storage.sha256(input.artifact.key)
        except ObjectNotFound:
            raise RpcError(
                ErrorCode.PRECONDITION_FAILED, "Nothing has been uploaded to this key yet"
            ) from None
        if stored != (input.artifact.size, input.artifact.sha256):
            raise RpcError(
                ErrorCode.UNPROCESSABLE_CONTENT, "The uploaded image does not match its size and SHA-256"
            )
        key = input.artifact.key
    elif input.artifact is not None:
        raise invalid_params("$.artifact", f"a {row['type']} command has no artifact")
    now = ctx.clock.now_ms()
    final = input.state != "RUNNING"
    updated = await ctx.db.execute(
        "UPDATE device_commands SET state = :to, updated_at = :now, lease_until = NULL,"
        " started_at = COALESCE(started_at, :now), finished_at = :finished, result = :result, error = :error,"
        " artifact_key = :key WHERE id = :id AND state = :from AND attempt = :attempt",
        {
            "to": input.state,
            "now": now,
            "finished": now if final else None,
            "result": None if input.result is None else encode(input.result).decode(),
            "error": input.error,
            "key": key,
            "id": row["id"],
            "from": row["state"],
            "attempt": row["attempt"],
        },
    )
    if not updated:
        raise RpcError(ErrorCode.CONFLICT, "The command changed meanwhile; poll again")
    return ReportAck(id=row["id"], state=input.state, attempt=row["attempt"])
