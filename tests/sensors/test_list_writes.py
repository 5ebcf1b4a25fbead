"""`sensors.getAll` shows every write at once, made through the API or not: each entry of the next
page equals the sensor as `sensors.getById` reads it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from procedures.sensors import sweep_once
from tests.events.factories import event
from tests.sensors.helpers import OPERATOR, device, make_location, make_sensor
from tests.support import result
from tvms.clock import ManualClock
from tvms.db import Database, open_database

_DETAIL_ONLY = ("location", "children")  # what getById shows beyond a list entry


@pytest.fixture
def db(app: Starlette) -> Database:
    database: Database = app.state.services.db
    return database


@pytest.fixture
async def elsewhere(database_url: str) -> AsyncIterator[Database]:
    """Another connection to the app's database: a writer outside the API (an operator's SQL)."""
    other = await open_database(database_url)
    yield other
    await other.close()


async def _check(client: httpx.AsyncClient, search: str) -> None:
    """Every entry of the page, and of a search's page, equals getById's answer."""
    page = await result(client, "sensors.getAll", {"take": 100})
    found = await result(client, "sensors.getAll", {"search": search, "take": 100})
    assert found["sensors"] == [s for s in page["sensors"] if search.lower() in s["name"].lower()]
    for entry in page["sensors"]:
        truth = await result(client, "sensors.getById", {"id": entry["id"]})
        assert entry == {k: v for k, v in truth.items() if k not in _DETAIL_ONLY}


async def test_every_write_shows_in_the_next_page(
    client: httpx.AsyncClient, clock: ManualClock, db: Database, elsewhere: Database
) -> None:
    place = await make_location(client)
    gateway = await make_sensor(client, type="EDGE_CONTROLLER", name="Listed gateway")
    camera = await make_sensor(
        client,
        name="Listed camera",
        locationId=place["id"],
        parentSensorId=gateway["id"],
        heartbeatTimeoutS=30,
    )
    radar = await make_sensor(client, type="RADAR", name="Listed radar")
    await _check(client, "listed")

    clock.advance(1)
    changes = {
        "name": "Listed radar 2",
        "ipAddress": "10.0.0.9",
        "coordinates": {"latitude": 43.2, "longitude": 76.9, "address": "Abay 1"},
        "firmwareVersion": "2.0",
        "heartbeatTimeoutS": 90,
    }
    await result(client, "sensors.update", {"id": radar["id"], **changes}, headers=OPERATOR)
    await _check(client, "listed")
    clock.advance(1)
    await result(client, "sensors.heartbeat", {"firmwareVersion": "3.1"}, headers=device(camera["apiKey"]))
    await _check(client, "listed")
    clock.advance(1)
    await result(client, "sensors.heartbeat", {"status": "ERROR"}, headers=device(camera["apiKey"]))
    await _check(client, "listed")
    clock.advance(1)
    await result(client, "events.ingest", {"events": [event(1)]}, headers=device(camera["apiKey"]))
    await _check(client, "listed")
    clock.advance(60)
    await sweep_once(db, clock.now_ms())  # the camera fell silent: OFFLINE (checked below)
    await _check(client, "listed")
    await result(client, "sensors.update", {"id": radar["id"], "status": "MAINTENANCE"}, headers=OPERATOR)
    await _check(client, "listed")
    await result(client, "sensors.rotateApiKey", {"id": radar["id"]}, headers=OPERATOR)
    await _check(client, "listed")
    await result(client, "locations.delete", {"id": place["id"]}, headers=OPERATOR)
    await _check(client, "listed")
    await result(client, "sensors.delete", {"id": gateway["id"]}, headers=OPERATOR)
    await _check(client, "listed")
    shown = {s["id"]: s for s in (await result(client, "sensors.getAll", {}))["sensors"]}
    assert shown.keys() == {camera["id"], radar["id"]}
    assert (shown[camera["id"]]["locationId"], shown[camera["id"]]["parentSensorId"]) == (None, None)
    assert (shown[camera["id"]]["status"], shown[radar["id"]]["status"]) == ("OFFLINE", "MAINTENANCE")

    await elsewhere.execute(
        "UPDATE sensors SET name = 'Listed radar, renamed in SQL' WHERE id = :id", {"id": radar["id"]}
    )
    await _check(client, "listed")
    await elsewhere.execute(
        "UPDATE device_keys SET revoked_at = 1 WHERE sensor_id = :id", {"id": radar["id"]}
    )
    await _check(client, "listed")
    prefixes = {s["id"]: s["apiKeyPrefix"] for s in (await result(client, "sensors.getAll", {}))["sensors"]}
    assert prefixes == {camera["id"]: shown[camera["id"]]["apiKeyPrefix"], radar["id"]: None}
    assert shown[camera["id"]]["apiKeyPrefix"] is not None and shown[radar["id"]]["apiKeyPrefix"] is not None
