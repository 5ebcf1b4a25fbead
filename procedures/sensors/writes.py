"""`sensors.*` writes (OPERATOR or ADMIN): create, update, delete, rotateApiKey.

Each runs in one transaction: a failure leaves nothing behind. Sensors are soft-deleted so
events keep their sensor; the deleted sensor's keys are revoked and its children detached.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from msgspec import UNSET

from procedures.sensors import examples
from procedures.sensors.keys import forget_cached_keys, issue_key, revoke_keys
from procedures.sensors.rows import SENSOR_SELECT, load_sensor, not_found, sensor_fields
from procedures.sensors.schemas import (
    CHILD_TYPES,
    GATEWAY,
    Sensor,
    SensorApiKey,
    SensorCreateInput,
    SensorDeleted,
    SensorIdInput,
    SensorUpdateInput,
    SensorWithKey,
)
from procedures.sensors.status import record_change, wake_sweeper
from procedures.system.license import current_license
from tvms.db import IntegrityError, Transaction
from tvms.ids import new_id
from tvms.rpc import Context, ErrorCode, Router, RpcError, invalid_params, roles

router = Router("sensors")
OPERATORS = roles("OPERATOR", "ADMIN")


def normalise_ip(value: str | None, path: str) -> str | None:
    """The address in canonical form, or a validation error naming the field."""
    if value is None:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise invalid_params(path, f"'{value}' is not an IPv4 or IPv6 address") from None


def _conflict(device_id: str) -> RpcError:
    return RpcError(ErrorCode.CONFLICT, f"A sensor with deviceId '{device_id}' already exists")


async def _check_device_id(tx: Transaction, device_id: str, own_id: str | None) -> None:
    other = await tx.fetchval(
        "SELECT id FROM sensors WHERE device_id = :device_id AND deleted_at IS NULL",
        {"device_id": device_id},
    )
    if other is not None and other != own_id:
        raise _conflict(device_id)


async def _check_location(tx: Transaction, location_id: str | None) -> None:
    if location_id is None:
        return
    if await tx.fetchval("SELECT id FROM locations WHERE id = :id", {"id": location_id}) is None:
        raise RpcError(ErrorCode.NOT_FOUND, f"Location '{location_id}' not found", field="$.locationId")


async def _check_parent(tx: Transaction, own_id: str | None, own_type: str, parent_id: str | None) -> None:
    """Only a CAMERA or NVR hangs under a live EDGE_CONTROLLER (so there can be no cycle)."""
    if parent_id is None:
        return
    if parent_id == own_id:
        raise invalid_params("$.parentSensorId", "a sensor cannot be its own parent")
    if own_type not in CHILD_TYPES:
        raise invalid_params(
            "$.parentSensorId", f"a {own_type} cannot have a parent; only CAMERA and NVR can"
        )
    parent_type = await tx.fetchval(
        "SELECT type FROM sensors WHERE id = :id AND deleted_at IS NULL", {"id": parent_id}
    )
    if parent_type is None:
        raise RpcError(ErrorCode.NOT_FOUND, f"Sensor '{parent_id}' not found", field="$.parentSensorId")
    if parent_type != GATEWAY:
        raise invalid_params("$.parentSensorId", f"the parent must be an {GATEWAY}, not a {parent_type}")


async def _check_licence(ctx: Context, tx: Transaction) -> None:
    limit = (await current_license(ctx)).max_sensors
    if limit < 0:
        return
    count = int(await tx.fetchval("SELECT COUNT(*) FROM sensors WHERE deleted_at IS NULL"))
    if count >= limit:
        raise RpcError(
            ErrorCode.PRECONDITION_FAILED,
            f"The licence allows at most {limit} sensors and {count} exist; "
            "delete a sensor or upgrade the licence to add more",
        )


@router.mutation("create", auth=OPERATORS, examples=examples.CREATE)
async def create(ctx: Context, input: SensorCreateInput) -> SensorWithKey:
    """Register a sensor; the answer carries its API key, shown this once only.

    Duplicate `deviceId` → CONFLICT; over the licence's `maxSensors` → PRECONDITION_FAILED.
    """
    ip = normalise_ip(input.ip_address, "$.ipAddress")
    now = ctx.clock.now_ms()
    sensor_id = new_id()
    place = input.coordinates
    try:
        async with ctx.db.transaction() as tx:
            await _check_licence(ctx, tx)
            await _check_device_id(tx, input.device_id, None)
            await _check_location(tx, input.location_id)
            await _check_parent(tx, None, input.type, input.parent_sensor_id)
            await tx.execute(
                "INSERT INTO sensors (id, name, device_id, type, status, ip_address, latitude, longitude, "
                "address, location_id, parent_sensor_id, firmware_version, heartbeat_timeout_s, "
                "created_at, updated_at) VALUES (:id, :name, :device_id, :type, :status, :ip, :lat, :lon, "
                ":address, :location_id, :parent_id, :firmware, :timeout, :now, :now)",
                {
                    "id": sensor_id,
                    "name": input.name,
                    "device_id": input.device_id,
                    "type": input.type,
                    "status": input.status,
                    "ip": ip,
                    "lat": None if place is None else place.latitude,
                    "lon": None if place is None else place.longitude,
                    "address": None if place is None else place.address,
                    "location_id": input.location_id,
                    "parent_id": input.parent_sensor_id,
                    "firmware": input.firmware_version,
                    "timeout": input.heartbeat_timeout_s,
                    "now": now,
                },
            )
            await record_change(tx, sensor_id, None, input.status, now, "created")
            key, _ = await issue_key(tx, sensor_id, now)
            row = await tx.fetchrow(SENSOR_SELECT + "WHERE s.id = :id", {"id": sensor_id})
    except IntegrityError:
        # Two creates racing for one deviceId: the partial unique index decides.
        raise _conflict(input.device_id) from None
    if row is None:  # cannot happen: inserted in the same transaction
        raise RuntimeError(f"sensor {sensor_id} vanished after insert")
    wake_sweeper(ctx.services)
    return SensorWithKey(**sensor_fields(row), api_key=key)


def _changes(input: SensorUpdateInput, ip: str | None) -> dict[str, Any]:
    """Column → new value for every field the input sets."""
    changes: dict[str, Any] = {}
    for column, value in (
        ("name", input.name),
        ("device_id", input.device_id),
        ("type", input.type),
        ("status", input.status),
        ("location_id", input.location_id),
        ("parent_sensor_id", input.parent_sensor_id),
        ("firmware_version", input.firmware_version),
        ("heartbeat_timeout_s", input.heartbeat_timeout_s),
    ):
        if value is not UNSET:
            changes[column] = value
    if input.ip_address is not UNSET:
        changes["ip_address"] = ip
    if input.coordinates is not UNSET:
        place = input.coordinates
        changes["latitude"] = None if place is None else place.latitude
        changes["longitude"] = None if place is None else place.longitude
        changes["address"] = None if place is None else place.address
    return changes


@router.mutation("update", auth=OPERATORS, examples=examples.UPDATE)
async def update(ctx: Context, input: SensorUpdateInput) -> Sensor:
    """Change a sensor's fields; left-out fields stay, `null` clears an optional one.

    Setting `status` is how operators put a sensor into (or out of) MAINTENANCE; heartbeats never
    leave MAINTENANCE on their own. A gateway with attached devices must keep its type.
    """
    ip = normalise_ip(input.ip_address if isinstance(input.ip_address, str) else None, "$.ipAddress")
    changes = _changes(input, ip)
    now = ctx.clock.now_ms()
    try:
        async with ctx.db.transaction() as tx:
            current = await tx.fetchrow(
                "SELECT id, type, status, parent_sensor_id FROM sensors "
                "WHERE id = :id AND deleted_at IS NULL",
                {"id": input.id},
            )
            if current is None:
                raise not_found(input.id)
            new_type = changes.get("type", current["type"])
            if "device_id" in changes:
                await _check_device_id(tx, changes["device_id"], input.id)
            if "location_id" in changes:
                await _check_location(tx, changes["location_id"])
            if "parent_sensor_id" in changes or "type" in changes:
                parent = changes.get("parent_sensor_id", current["parent_sensor_id"])
                await _check_parent(tx, input.id, new_type, parent)
            if new_type != GATEWAY and current["type"] == GATEWAY:
                children = int(
                    await tx.fetchval(
                        "SELECT COUNT(*) FROM sensors WHERE parent_sensor_id = :id AND deleted_at IS NULL",
                        {"id": input.id},
                    )
                )
                if children:
                    raise invalid_params(
                        "$.type", f"this gateway has {children} attached device(s); detach them first"
                    )
            if changes:
                assignments = ", ".join(f"{column} = :{column}" for column in changes)
                await tx.execute(
                    f"UPDATE sensors SET {assignments}, updated_at = :now WHERE id = :id",
                    {**changes, "id": input.id, "now": now},
                )
            if "status" in changes and changes["status"] != current["status"]:
                await record_change(tx, input.id, current["status"], changes["status"], now, "operator")
            sensor = await load_sensor(tx, input.id)
    except IntegrityError:
        raise _conflict(str(changes.get("device_id", ""))) from None
    # The device's claims (type, parent) may have changed: drop cached key lookups.
    forget_cached_keys(ctx.cache)
    wake_sweeper(ctx.services)
    return sensor


@router.mutation("delete", auth=OPERATORS, examples=examples.DELETE)
async def delete(ctx: Context, input: SensorIdInput) -> SensorDeleted:
    """Delete a sensor: its API key is revoked at once and devices under it are detached.

    Its events stay on record. Unknown id → NOT_FOUND.
    """
    now = ctx.clock.now_ms()
    async with ctx.db.transaction() as tx:
        gone = await tx.execute(
            "UPDATE sensors SET deleted_at = :now, updated_at = :now WHERE id = :id AND deleted_at IS NULL",
            {"id": input.id, "now": now},
        )
        if not gone:
            raise not_found(input.id)
        await tx.execute(
            "UPDATE sensors SET parent_sensor_id = NULL, updated_at = :now WHERE parent_sensor_id = :id",
            {"id": input.id, "now": now},
        )
        await revoke_keys(tx, input.id, now)
    forget_cached_keys(ctx.cache)
    return SensorDeleted(success=True, id=input.id)


@router.mutation("rotateApiKey", auth=OPERATORS)
async def rotate_api_key(ctx: Context, input: SensorIdInput) -> SensorApiKey:
    """Issue a new API key for a sensor and revoke the old one at once; the key is shown once."""
    now = ctx.clock.now_ms()
    async with ctx.db.transaction() as tx:
        exists = await tx.fetchval(
            "SELECT id FROM sensors WHERE id = :id AND deleted_at IS NULL", {"id": input.id}
        )
        if exists is None:
            raise not_found(input.id)
        key, prefix = await issue_key(tx, input.id, now)
    forget_cached_keys(ctx.cache)
    return SensorApiKey(api_key=key, api_key_prefix=prefix)
