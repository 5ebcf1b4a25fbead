"""`locations.*`: intersections, highways, checkpoints… and which sensors stand there.

Deleting a location keeps its sensors and detaches them.
"""

from __future__ import annotations

from typing import Any

from msgspec import UNSET

from procedures.locations import examples
from procedures.locations.schemas import (
    LOCATION_TYPES,
    Location,
    LocationBulkDeleteInput,
    LocationCreateInput,
    LocationDeleted,
    LocationDetail,
    LocationIdInput,
    LocationListInput,
    LocationPage,
    LocationsDeleted,
    LocationSensor,
    LocationSensorsInput,
    LocationType,
    LocationUpdateInput,
)
from procedures.paging import contains_sql, like_contains, page_count, placeholders
from procedures.sensors.keys import forget_cached_keys
from tvms.clock import iso_ms
from tvms.db import Row, Transaction
from tvms.ids import new_id
from tvms.rpc import PUBLIC, Context, ErrorCode, Router, RpcError, roles

locations = Router("locations")
OPERATORS = roles("OPERATOR", "ADMIN")

_COLUMNS = (
    "l.id, l.name, l.address, l.type, l.latitude, l.longitude, l.status, l.description, "
    "l.created_at, l.updated_at"
)
_SENSOR_COUNT = (
    "(SELECT COUNT(*) FROM sensors s WHERE s.location_id = l.id AND s.deleted_at IS NULL) AS sensor_count"
)
_ORDER = {
    ("name", "asc"): "l.name ASC, l.id ASC",
    ("name", "desc"): "l.name DESC, l.id DESC",
    ("type", "asc"): "l.type ASC, l.id ASC",
    ("type", "desc"): "l.type DESC, l.id DESC",
    ("status", "asc"): "l.status ASC, l.id ASC",
    ("status", "desc"): "l.status DESC, l.id DESC",
    ("createdAt", "asc"): "l.created_at ASC, l.id ASC",
    ("createdAt", "desc"): "l.created_at DESC, l.id DESC",
}


def _not_found(location_id: str) -> RpcError:
    return RpcError(ErrorCode.NOT_FOUND, f"Location '{location_id}' not found")


def _fields(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "address": row["address"],
        "type": row["type"],
        "latitude": row["latitude"],
        "longitude": row["longitude"],
        "status": row["status"],
        "description": row["description"],
        "created_at": iso_ms(row["created_at"]),
        "updated_at": iso_ms(row["updated_at"]),
    }


async def _load(db: Transaction, location_id: str) -> Location:
    row = await db.fetchrow(
        f"SELECT {_COLUMNS}, {_SENSOR_COUNT} FROM locations l WHERE l.id = :id", {"id": location_id}
    )
    if row is None:
        raise _not_found(location_id)
    return Location(**_fields(row), sensor_count=int(row["sensor_count"]))


async def _detail(db: Transaction, location_id: str) -> LocationDetail:
    row = await db.fetchrow(f"SELECT {_COLUMNS} FROM locations l WHERE l.id = :id", {"id": location_id})
    if row is None:
        raise _not_found(location_id)
    sensors = await db.fetch(
        "SELECT id, name, device_id, type, status FROM sensors "
        "WHERE location_id = :id AND deleted_at IS NULL ORDER BY name, id",
        {"id": location_id},
    )
    return LocationDetail(
        **_fields(row),
        sensors=[
            LocationSensor(
                id=s["id"], name=s["name"], device_id=s["device_id"], type=s["type"], status=s["status"]
            )
            for s in sensors
        ],
    )


@locations.query("getAll", auth=PUBLIC, examples=examples.GET_ALL)
async def get_all(ctx: Context, input: LocationListInput) -> LocationPage:
    """Locations, a page at a time (50 by default): search by name or address, filter, sort.

    Each carries `sensorCount`, the number of sensors at it.
    """
    where = ["1 = 1"]
    params: dict[str, Any] = {}
    if input.search:
        where.append(contains_sql(ctx.db.engine, ("l.name", "l.address")))
        params["search"] = like_contains(input.search)
    if input.type is not None:
        where.append("l.type = :type")
        params["type"] = input.type
    if input.status is not None:
        where.append("l.status = :status")
        params["status"] = input.status
    condition = " AND ".join(where)
    total = int(await ctx.db.fetchval(f"SELECT COUNT(*) FROM locations l WHERE {condition}", params))
    rows = []
    if input.skip < total:
        rows = await ctx.db.fetch(
            f"SELECT {_COLUMNS}, {_SENSOR_COUNT} FROM locations l WHERE {condition} "
            f"ORDER BY {_ORDER[(input.sort_by, input.sort_order)]} LIMIT :take OFFSET :skip",
            {**params, "take": input.take, "skip": input.skip},
        )
    return LocationPage(
        locations=[Location(**_fields(row), sensor_count=int(row["sensor_count"])) for row in rows],
        total=total,
        page_count=page_count(total, input.take),
    )


@locations.query("getById", auth=PUBLIC, examples=examples.GET_BY_ID)
async def get_by_id(ctx: Context, input: LocationIdInput) -> LocationDetail:
    """One location with the sensors at it. Unknown id → NOT_FOUND."""
    return await _detail(ctx.db, input.id)


@locations.query("getTypes", auth=PUBLIC, examples=examples.GET_TYPES)
async def get_types(ctx: Context) -> list[LocationType]:
    """The location types: INTERSECTION, HIGHWAY, CHECKPOINT, PARKING, ZONE, CUSTOM."""
    return list(LOCATION_TYPES)


@locations.mutation("create", auth=OPERATORS, examples=examples.CREATE)
async def create(ctx: Context, input: LocationCreateInput) -> Location:
    """Add a location (name 1 to 100 chars, address 1 to 255, latitude -90..90, longitude -180..180)."""
    now = ctx.clock.now_ms()
    location_id = new_id()
    async with ctx.db.transaction() as tx:
        await tx.execute(
            "INSERT INTO locations (id, name, address, type, latitude, longitude, status, description, "
            "created_at, updated_at) VALUES (:id, :name, :address, :type, :latitude, :longitude, :status, "
            ":description, :now, :now)",
            {
                "id": location_id,
                "name": input.name,
                "address": input.address,
                "type": input.type,
                "latitude": input.latitude,
                "longitude": input.longitude,
                "status": input.status,
                "description": input.description,
                "now": now,
            },
        )
        return await _load(tx, location_id)


@locations.mutation("update", auth=OPERATORS, examples=examples.UPDATE)
async def update(ctx: Context, input: LocationUpdateInput) -> Location:
    """Change a location's fields; left-out fields stay. Unknown id → NOT_FOUND."""
    changes = {
        column: value
        for column, value in (
            ("name", input.name),
            ("address", input.address),
            ("type", input.type),
            ("latitude", input.latitude),
            ("longitude", input.longitude),
            ("status", input.status),
            ("description", input.description),
        )
        if value is not UNSET
    }
    async with ctx.db.transaction() as tx:
        assignments = "".join(f"{column} = :{column}, " for column in changes)
        updated = await tx.execute(
            f"UPDATE locations SET {assignments}updated_at = :now WHERE id = :id",
            {**changes, "id": input.id, "now": ctx.clock.now_ms()},
        )
        if not updated:
            raise _not_found(input.id)
        return await _load(tx, input.id)


@locations.mutation("updateSensors", auth=OPERATORS, examples=examples.UPDATE_SENSORS)
async def update_sensors(ctx: Context, input: LocationSensorsInput) -> LocationDetail:
    """Make `sensorIds` exactly the set of sensors at this location.

    Sensors listed move here (also from another location); sensors here but not listed are
    detached. An unknown sensor id → NOT_FOUND and nothing changes.
    """
    wanted = list(dict.fromkeys(input.sensor_ids))
    now = ctx.clock.now_ms()
    async with ctx.db.transaction() as tx:
        if await tx.fetchval("SELECT id FROM locations WHERE id = :id", {"id": input.id}) is None:
            raise _not_found(input.id)
        if wanted:
            marks, params = placeholders("s", wanted)
            rows = await tx.fetch(
                f"SELECT id, location_id FROM sensors WHERE id IN ({marks}) AND deleted_at IS NULL", params
            )
            found = {row["id"]: row["location_id"] for row in rows}
            for index, sensor_id in enumerate(input.sensor_ids):
                if sensor_id not in found:
                    raise RpcError(
                        ErrorCode.NOT_FOUND, f"Sensor '{sensor_id}' not found", field=f"$.sensorIds[{index}]"
                    )
        else:
            found = {}
        current = [
            row["id"]
            for row in await tx.fetch(
                "SELECT id FROM sensors WHERE location_id = :id AND deleted_at IS NULL", {"id": input.id}
            )
        ]
        leaving = [sensor_id for sensor_id in current if sensor_id not in found]
        arriving = [sensor_id for sensor_id, place in found.items() if place != input.id]
        for target, ids in ((None, leaving), (input.id, arriving)):
            if ids:
                marks, params = placeholders("s", ids)
                await tx.execute(
                    f"UPDATE sensors SET location_id = :target, updated_at = :now WHERE id IN ({marks})",
                    {**params, "target": target, "now": now},
                )
        await tx.execute(
            "UPDATE locations SET updated_at = :now WHERE id = :id", {"id": input.id, "now": now}
        )
        detail = await _detail(tx, input.id)
    forget_cached_keys(ctx.cache)
    return detail


async def _delete(tx: Transaction, ids: list[str], now: int) -> int:
    marks, params = placeholders("l", ids)
    # Explicit rather than relying on ON DELETE SET NULL alone: the sensors' updated_at moves too.
    await tx.execute(
        f"UPDATE sensors SET location_id = NULL, updated_at = :now WHERE location_id IN ({marks})",
        {**params, "now": now},
    )
    return await tx.execute(f"DELETE FROM locations WHERE id IN ({marks})", params)


@locations.mutation("delete", auth=OPERATORS, examples=examples.DELETE)
async def delete(ctx: Context, input: LocationIdInput) -> LocationDeleted:
    """Delete a location; its sensors are kept and detached. Unknown id → NOT_FOUND."""
    async with ctx.db.transaction() as tx:
        if not await _delete(tx, [input.id], ctx.clock.now_ms()):
            raise _not_found(input.id)
    return LocationDeleted(success=True, id=input.id)


@locations.mutation("bulkDelete", auth=OPERATORS, examples=examples.BULK_DELETE)
async def bulk_delete(ctx: Context, input: LocationBulkDeleteInput) -> LocationsDeleted:
    """Delete several locations (unknown ids are skipped); returns how many were deleted.

    Their sensors are kept and detached.
    """
    ids = list(dict.fromkeys(input.ids))
    async with ctx.db.transaction() as tx:
        deleted = await _delete(tx, ids, ctx.clock.now_ms())
    return LocationsDeleted(deleted=deleted)
