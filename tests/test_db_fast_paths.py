"""The service with the database layer's fast paths off (`TVMS_DB_FAST_PATHS=0`) on the engine
under test: SQLite runs no read on the event loop, PostgreSQL parks no connection. Reads, writes,
a transaction that fails and rolls back, and concurrent calls give the same answers.

(`TVMS_TEST_DB_FAST_PATHS=0` runs any other app-level test this way too: see tests/conftest.py.)
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from tests.sensors.helpers import OPERATOR, code_of, make_location, make_sensor, sensors_api
from tests.support import asgi_client, result, running_app
from tvms.app import Api
from tvms.clock import ManualClock
from tvms.config import Config, ConfigError, load_config
from tvms.db import Database, IntegrityError


@pytest.fixture
def test_api() -> Api:
    return sensors_api()


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Config:
    return Config(data_dir=tmp_path, database_url=database_url, db_fast_paths=False)


def _database(app: Starlette) -> Database:
    db: Database = app.state.services.db
    return db


def _fast_path_uses(db: Database) -> int:
    """How often the engine's fast path served a query: reads answered on the event loop
    (SQLite), or connections parked between queries (PostgreSQL)."""
    if db.engine == "sqlite":
        return int(getattr(db, "reads_inline"))  # noqa: B009 - the SQLite driver's counter
    return len(getattr(db, "_parked"))  # noqa: B009 - connections parked right now


async def _everything(client: httpx.AsyncClient) -> Any:
    return [
        await result(client, "locations.getAll", {"take": 100}, headers=OPERATOR),
        await result(client, "sensors.getAll", {"take": 100}, headers=OPERATOR),
    ]


async def _representative_calls(client: httpx.AsyncClient, db: Database) -> None:
    # Writes, then reads of what was written.
    here = await make_location(client)
    sensor = await make_sensor(client, locationId=here["id"])
    read = await result(client, "sensors.getById", {"id": sensor["id"]}, headers=OPERATOR)
    assert (read["id"], read["locationId"]) == (sensor["id"], here["id"])
    page = await result(client, "sensors.getAll", {"take": 10, "search": sensor["name"]}, headers=OPERATOR)
    assert [s["id"] for s in page["sensors"]] == [sensor["id"]]

    # A transaction that fails part-way (an unknown sensor) changes nothing; so does a write
    # that breaks a constraint (a second sensor with the same device id).
    before = await _everything(client)
    ghost = {"id": here["id"], "sensorIds": [sensor["id"], "ghost"]}
    assert await code_of(client, "locations.updateSensors", ghost, headers=OPERATOR) == "NOT_FOUND"
    duplicate = {"name": "Twin", "deviceId": sensor["deviceId"], "type": "CAMERA"}
    assert await code_of(client, "sensors.create", duplicate, headers=OPERATOR) == "CONFLICT"
    assert await _everything(client) == before

    # A transaction that wrote before it failed is rolled back, and the connection it used
    # serves the next calls normally.
    with pytest.raises(IntegrityError):
        async with db.transaction() as tx:
            await tx.execute(
                "UPDATE locations SET name = :name WHERE id = :id", {"name": "Renamed", "id": here["id"]}
            )
            await tx.execute(
                "INSERT INTO locations (id, name, address, type, latitude, longitude, status, "
                "created_at, updated_at) VALUES (:id, 'x', 'x', 'INTERSECTION', 0, 0, 'ACTIVE', 0, 0)",
                {"id": here["id"]},
            )
    assert await _everything(client) == before

    # Concurrent calls: writes and reads interleaved on the one event loop.
    created = await asyncio.gather(*(make_location(client) for _ in range(12)))
    reads = await asyncio.gather(
        *(result(client, "locations.getById", {"id": c["id"]}, headers=OPERATOR) for c in created),
        *(result(client, "sensors.getAll", {"take": 5}, headers=OPERATOR) for _ in range(12)),
    )
    assert [r["id"] for r in reads[:12]] == [c["id"] for c in created]
    assert all(r["total"] == 1 for r in reads[12:])
    listed = await result(client, "locations.getAll", {"take": 100}, headers=OPERATOR)
    assert listed["total"] == 13


async def test_the_service_is_correct_with_the_fast_paths_off(app: Starlette) -> None:
    db = _database(app)
    async with asgi_client(app) as client:
        await _representative_calls(client, db)
    assert _fast_path_uses(db) == 0
    if db.engine == "sqlite":
        assert getattr(db, "reads_deferred") > 0  # noqa: B009 - every read went to a reader thread


async def test_with_the_fast_paths_on_the_same_calls_use_them(
    config: Config, test_api: Api, clock: ManualClock
) -> None:
    """The counterpart: the default configuration does take the fast paths on these calls, so
    the zero above is the switch's doing."""
    async with running_app(dataclasses.replace(config, db_fast_paths=True), test_api, clock) as app:
        db = _database(app)
        async with asgi_client(app) as client:
            await _representative_calls(client, db)
        assert _fast_path_uses(db) > 0


def test_the_setting_is_read_and_checked_at_start() -> None:
    assert load_config({}).db_fast_paths is True
    assert load_config({"TVMS_DB_FAST_PATHS": "1"}).db_fast_paths is True
    assert load_config({"TVMS_DB_FAST_PATHS": "0"}).db_fast_paths is False
    with pytest.raises(ConfigError, match="TVMS_DB_FAST_PATHS"):
        load_config({"TVMS_DB_FAST_PATHS": "fast"})
