"""Rows for the reports tests, written directly with SQL (the columns of schema blocks 3 and 4)."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from procedures.events.schemas import NOT_VIOLATIONS
from tvms.db import Database
from tvms.ids import new_id

_external = itertools.count(1)


def local_ms(text: str, zone: str = "UTC", fold: int = 0) -> int:
    """Epoch ms of a local wall time."""
    return int(datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone), fold=fold).timestamp() * 1000)


async def add_location(
    db: Database, location_id: str, name: str, *, latitude: float = 43.25, longitude: float = 76.9
) -> None:
    await db.execute(
        "INSERT INTO locations (id, name, address, type, latitude, longitude, status, created_at, updated_at)"
        " VALUES (:id, :name, 'Main St 1', 'INTERSECTION', :lat, :lng, 'ACTIVE', 0, 0)",
        {"id": location_id, "name": name, "lat": latitude, "lng": longitude},
    )


async def add_sensor(
    db: Database,
    sensor_id: str,
    *,
    type: str = "CAMERA",
    status: str = "ONLINE",
    location_id: str | None = None,
    created_at: int = 0,
    last_heartbeat_at: int | None = None,
    deleted_at: int | None = None,
) -> None:
    await db.execute(
        "INSERT INTO sensors (id, name, device_id, type, status, location_id, last_heartbeat_at,"
        " heartbeat_timeout_s, created_at, updated_at, deleted_at)"
        " VALUES (:id, :name, :device, :type, :status, :location, :hb, 180, :created, :created, :deleted)",
        {
            "id": sensor_id,
            "name": f"Sensor {sensor_id}",
            "device": f"dev-{sensor_id}",
            "type": type,
            "status": status,
            "location": location_id,
            "hb": last_heartbeat_at,
            "created": created_at,
            "deleted": deleted_at,
        },
    )


async def add_change(db: Database, sensor_id: str, at: int, from_status: str | None, to_status: str) -> None:
    await db.execute(
        "INSERT INTO sensor_status_changes (id, sensor_id, from_status, to_status, at, reason)"
        " VALUES (:id, :sensor, :from_status, :to_status, :at, 'test')",
        {"id": new_id(), "sensor": sensor_id, "from_status": from_status, "to_status": to_status, "at": at},
    )


def event(sensor_id: str, type: str, occurred_at: int, **extra: Any) -> dict[str, Any]:
    """One events row; violations start PENDING unless `review_status` is given."""
    violation = type not in NOT_VIOLATIONS
    row: dict[str, Any] = {
        "id": new_id(),
        "sensor_id": sensor_id,
        "external_id": f"x{next(_external)}",
        "type": type,
        "occurred_at": occurred_at,
        "received_at": occurred_at + 1000,
        "location_id": None,
        "plate": None,
        "speed_kmh": None,
        "vehicle_class": None,
        "is_violation": violation,
        "review_status": "PENDING" if violation else None,
    }
    row.update(extra)
    return row


async def add_events(db: Database, rows: list[dict[str, Any]]) -> None:
    await db.executemany(
        "INSERT INTO events (id, sensor_id, external_id, type, occurred_at, received_at, location_id, plate,"
        " speed_kmh, vehicle_class, is_violation, review_status)"
        " VALUES (:id, :sensor_id, :external_id, :type, :occurred_at, :received_at, :location_id, :plate,"
        " :speed_kmh, :vehicle_class, :is_violation, :review_status)",
        rows,
    )
