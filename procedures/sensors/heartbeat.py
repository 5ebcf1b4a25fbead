"""`sensors.heartbeat`: a device (X-API-Key) reports that it is alive, and a gateway its children.

Status follows the latest heartbeat (ONLINE or ERROR), except MAINTENANCE, which only operators
set and clear. The background sweep (status.py) marks silent sensors OFFLINE.
"""

from __future__ import annotations

from procedures.sensors.schemas import GATEWAY, HeartbeatAck, HeartbeatInput
from procedures.sensors.status import set_status
from procedures.sensors.writes import normalise_ip
from tvms.clock import iso_ms
from tvms.rpc import DEVICE, Context, ErrorCode, Router, RpcError, invalid_params

router = Router("sensors")


@router.mutation("heartbeat", auth=DEVICE)
async def heartbeat(ctx: Context, input: HeartbeatInput) -> HeartbeatAck:
    """Record a heartbeat of the calling device (status, telemetry); returns the server time.

    An EDGE_CONTROLLER gateway may also report the status of the cameras and NVRs attached to it
    (`children`), and only of those: any other deviceId fails the whole call, nothing applied.
    """
    if ctx.principal is None:  # the DEVICE rule guarantees one; this narrows the type
        raise RpcError(ErrorCode.UNAUTHORIZED, "Authentication required")
    sensor_id = ctx.principal.id
    ip = normalise_ip(input.ip_address, "$.ipAddress")
    now = ctx.clock.now_ms()
    async with ctx.db.transaction() as tx:
        me = await tx.fetchrow(
            "SELECT id, type FROM sensors WHERE id = :id AND deleted_at IS NULL", {"id": sensor_id}
        )
        if me is None:
            raise RpcError(ErrorCode.UNAUTHORIZED, "Invalid API key")
        children: list[tuple[str, str]] = []
        if input.children:
            if me["type"] != GATEWAY:
                raise invalid_params("$.children", f"only an {GATEWAY} gateway may report children")
            rows = await tx.fetch(
                "SELECT id, device_id FROM sensors WHERE parent_sensor_id = :id AND deleted_at IS NULL",
                {"id": sensor_id},
            )
            mine = {row["device_id"]: row["id"] for row in rows}
            for index, child in enumerate(input.children):
                if child.device_id not in mine:
                    raise invalid_params(
                        f"$.children[{index}].deviceId",
                        f"'{child.device_id}' is not a device attached to this gateway",
                    )
                children.append((mine[child.device_id], child.status))
        await tx.execute(
            "UPDATE sensors SET uptime_s = COALESCE(:uptime, uptime_s), cpu_pct = COALESCE(:cpu, cpu_pct), "
            "disk_used_bytes = COALESCE(:used, disk_used_bytes), "
            "disk_total_bytes = COALESCE(:total, disk_total_bytes), "
            "firmware_version = COALESCE(:firmware, firmware_version), "
            "ip_address = COALESCE(:ip, ip_address) "
            "WHERE id = :id",
            {
                "id": sensor_id,
                "uptime": input.uptime_s,
                "cpu": input.cpu_pct,
                "used": input.disk_used_bytes,
                "total": input.disk_total_bytes,
                "firmware": input.firmware_version,
                "ip": ip,
            },
        )
        await set_status(tx, sensor_id, input.status, now, "heartbeat", heartbeat=True)
        for child_id, status in children:
            # A child the gateway reports OFFLINE was not heard from: its heartbeat time stays.
            await set_status(tx, child_id, status, now, "gateway report", heartbeat=status != "OFFLINE")
    return HeartbeatAck(server_time=iso_ms(now))
