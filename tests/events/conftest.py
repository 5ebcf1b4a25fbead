"""The events suite's app: the default one (tests/conftest.py), with local storage whose signed URLs
are absolute on the test client's host."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette

from tvms.config import Config
from tvms.db import Database

BASE = "http://tvms.test"


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Config:
    return Config(
        data_dir=tmp_path,
        database_url=database_url,
        storage_url=f"file://{tmp_path / 'storage'}?public_url={BASE}",
    )


def db_of(app: Starlette) -> Database:
    database: Database = app.state.services.db
    return database


async def add_location(db: Database, location_id: str, now: int = 1_700_000_000_000) -> None:
    await db.execute(
        "INSERT INTO locations (id, name, address, type, latitude, longitude, created_at, updated_at)"
        " VALUES (:id, :name, 'Abay Ave 1', 'INTERSECTION', 43.24, 76.91, :now, :now)",
        {"id": location_id, "name": f"Junction {location_id}", "now": now},
    )


async def add_sensor(
    db: Database,
    sensor_id: str,
    *,
    type: str = "ANPR",
    parent: str | None = None,
    location: str | None = None,
    now: int = 1_700_000_000_000,
) -> None:
    params: dict[str, Any] = {
        "id": sensor_id,
        "name": f"Sensor {sensor_id}",
        "device_id": f"dev-{sensor_id}",
        "type": type,
        "location_id": location,
        "parent": parent,
        "now": now,
    }
    await db.execute(
        "INSERT INTO sensors (id, name, device_id, type, status, location_id, parent_sensor_id,"
        " created_at, updated_at) VALUES (:id, :name, :device_id, :type, 'ONLINE', :location_id,"
        " :parent, :now, :now)",
        params,
    )


@pytest.fixture
async def sensors(app: Starlette) -> Database:
    """loc-1 with sensor-1 (ANPR) and gateway gw-1 (children cam-1, cam-2); sensor-2 elsewhere."""
    db = db_of(app)
    await add_location(db, "loc-1")
    await add_location(db, "loc-2")
    await add_sensor(db, "sensor-1", location="loc-1")
    await add_sensor(db, "sensor-2", type="RADAR", location="loc-2")
    await add_sensor(db, "gw-1", type="EDGE_CONTROLLER", location="loc-1")
    await add_sensor(db, "cam-1", type="CAMERA", parent="gw-1", location="loc-2")
    await add_sensor(db, "cam-2", type="CAMERA", parent="gw-1")
    return db
