"""`sensors.getAll` builds each sensor's answer once per row version (`SensorCache`): every write,
through the API or not, must show in the next page, and a page stays one snapshot."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from procedures.sensors import sweep_once
from procedures.sensors.reads import sensor_cache
from procedures.sensors.rows import SENSOR_SELECT, SensorCache
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
    """Another connection to the app's database: a writer that knows nothing of its cache."""
    other = await open_database(database_url)
    yield other
    await other.close()


async def _check(client: httpx.AsyncClient, app: Starlette, search: str) -> None:
    """Every entry of the page, and of a remembered search's page, equals an uncached getById."""
    cache = sensor_cache(app.state.services)
    page = await result(client, "sensors.getAll", {"take": 100})
    built = cache.built
    again = await result(client, "sensors.getAll", {"take": 100})
    assert (again, cache.built) == (page, built)  # answered from the cache: nothing built
    for _ in range(3):  # the third call of a search reads the remembered slice by id
        found = await result(client, "sensors.getAll", {"search": search, "take": 100})
    assert found["sensors"] == [s for s in page["sensors"] if search.lower() in s["name"].lower()]
    for entry in page["sensors"]:
        truth = await result(client, "sensors.getById", {"id": entry["id"]})
        assert entry == {k: v for k, v in truth.items() if k not in _DETAIL_ONLY}


async def test_every_write_shows_in_the_next_page(
    client: httpx.AsyncClient, app: Starlette, clock: ManualClock, db: Database, elsewhere: Database
) -> None:
    place = await make_location(client)
    gateway = await make_sensor(client, type="EDGE_CONTROLLER", name="Cache gateway")
    camera = await make_sensor(
        client,
        name="Cache camera",
        locationId=place["id"],
        parentSensorId=gateway["id"],
        heartbeatTimeoutS=30,
    )
    radar = await make_sensor(client, type="RADAR", name="Cache radar")
    await _check(client, app, "cache")

    clock.advance(1)
    changes = {
        "name": "Cache radar 2",
        "ipAddress": "10.0.0.9",
        "coordinates": {"latitude": 43.2, "longitude": 76.9, "address": "Abay 1"},
        "firmwareVersion": "2.0",
        "heartbeatTimeoutS": 90,
    }
    await result(client, "sensors.update", {"id": radar["id"], **changes}, headers=OPERATOR)
    await _check(client, app, "cache")
    clock.advance(1)
    await result(client, "sensors.heartbeat", {"firmwareVersion": "3.1"}, headers=device(camera["apiKey"]))
    await _check(client, app, "cache")
    clock.advance(1)
    await result(client, "sensors.heartbeat", {"status": "ERROR"}, headers=device(camera["apiKey"]))
    await _check(client, app, "cache")
    clock.advance(1)
    await result(client, "events.ingest", {"events": [event(1)]}, headers=device(camera["apiKey"]))
    await _check(client, app, "cache")
    clock.advance(60)
    await sweep_once(db, clock.now_ms())  # the camera fell silent: OFFLINE (checked below)
    await _check(client, app, "cache")
    await result(client, "sensors.update", {"id": radar["id"], "status": "MAINTENANCE"}, headers=OPERATOR)
    await _check(client, app, "cache")
    await result(client, "sensors.rotateApiKey", {"id": radar["id"]}, headers=OPERATOR)
    await _check(client, app, "cache")
    await result(client, "locations.delete", {"id": place["id"]}, headers=OPERATOR)
    await _check(client, app, "cache")
    await result(client, "sensors.delete", {"id": gateway["id"]}, headers=OPERATOR)
    await _check(client, app, "cache")
    shown = {s["id"]: s for s in (await result(client, "sensors.getAll", {}))["sensors"]}
    assert shown.keys() == {camera["id"], radar["id"]}
    assert (shown[camera["id"]]["locationId"], shown[camera["id"]]["parentSensorId"]) == (None, None)
    assert (shown[camera["id"]]["status"], shown[radar["id"]]["status"]) == ("OFFLINE", "MAINTENANCE")

    # Writers that know nothing of the cache (another service, an operator's SQL): the triggers.
    await elsewhere.execute(
        "UPDATE sensors SET name = 'Cache radar, renamed in SQL' WHERE id = :id", {"id": radar["id"]}
    )
    await _check(client, app, "cache")
    await elsewhere.execute(
        "UPDATE device_keys SET revoked_at = 1 WHERE sensor_id = :id", {"id": radar["id"]}
    )
    await _check(client, app, "cache")
    prefixes = {s["id"]: s["apiKeyPrefix"] for s in (await result(client, "sensors.getAll", {}))["sensors"]}
    assert prefixes == {camera["id"]: shown[camera["id"]]["apiKeyPrefix"], radar["id"]: None}
    assert shown[camera["id"]]["apiKeyPrefix"] is not None and shown[radar["id"]]["apiKeyPrefix"] is not None


async def test_a_row_version_changes_with_every_write_that_does_not_set_it(
    client: httpx.AsyncClient, db: Database
) -> None:
    sensor = await make_sensor(client)
    at = {"id": sensor["id"]}

    async def version() -> int:
        return int(await db.fetchval("SELECT version FROM sensors WHERE id = :id", at))

    seen = {await version()}
    await db.execute("UPDATE sensors SET name = name WHERE id = :id", at)  # no value changes: still new
    seen.add(await version())
    await db.execute("UPDATE sensors SET version = 7, name = 'Set with its version' WHERE id = :id", at)
    assert await version() == 7  # a write that sets the version itself is left alone
    for sql in (
        "INSERT INTO device_keys (id, sensor_id, prefix, key_hash, created_at, revoked_at)"
        " VALUES ('k2', :id, 'p', 'h', 0, 0)",  # an old key, already revoked
        "UPDATE device_keys SET revoked_at = NULL WHERE sensor_id = :id AND id <> 'k2'",
        "DELETE FROM device_keys WHERE id = 'k2'",
    ):
        before = await version()
        await db.execute(sql, at)
        assert await version() != before, sql
        seen.add(await version())
    assert len(seen) == 5 and 7 not in seen
    assert await db.fetchval("SELECT COUNT(*) FROM device_keys WHERE sensor_id = :id", at) == 1


async def test_a_page_is_read_again_when_a_sensor_changes_between_its_statements(
    client: httpx.AsyncClient, app: Starlette, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = [await make_sensor(client, name=f"Snapshot {n}") for n in range(3)]
    renames = 0
    left = 0  # how many more full-row reads by id are preceded by a rename
    fetch = db.fetch

    async def rename_first(sql: str, params: Any = None) -> Any:
        nonlocal renames, left
        if sql.startswith(SENSOR_SELECT) and "s.id IN" in sql and left:  # a read of rows it lacks
            left -= 1
            renames += 1
            await db.execute(
                "UPDATE sensors SET name = :name WHERE id = :id",
                {"name": f"Renamed {renames}", "id": made[0]["id"]},
            )
        return await fetch(sql, params)

    monkeypatch.setattr(db, "fetch", rename_first)
    cache = sensor_cache(app.state.services)
    for meanwhile in (1, 2, 3):  # 1: read again by version; 2 and more: read with full rows
        await db.execute("UPDATE sensors SET firmware_version = :v", {"v": str(meanwhile)})  # all new
        left = meanwhile
        page = await result(client, "sensors.getAll", {"sortBy": "name", "sortOrder": "asc"})
        named = await db.fetchval("SELECT name FROM sensors WHERE id = :id", {"id": made[0]["id"]})
        first = next(s for s in page["sensors"] if s["id"] == made[0]["id"])
        assert first["name"] == named == f"Renamed {renames}"  # the page's snapshot, not a mix
        assert [s["firmwareVersion"] for s in page["sensors"]] == [str(meanwhile)] * 3
        assert [s["name"] for s in page["sensors"]] == sorted(s["name"] for s in page["sensors"])
        assert left == max(0, meanwhile - 2)  # at most two reads by id, then the full page
    assert renames == 1 + 2 + 2
    assert cache.built > 0


async def test_the_cache_keeps_at_most_its_bound(client: httpx.AsyncClient, db: Database) -> None:
    made = [await make_sensor(client, name=f"Bound {n}") for n in range(5)]
    cache = SensorCache(kept=3)
    rows = await db.fetch("SELECT id, version FROM sensors ORDER BY name")
    for _ in range(2):
        sensors = await cache.sensors(db, rows)
        assert sensors is not None and [s.name for s in sensors] == [f"Bound {n}" for n in range(5)]
        assert len(cache) == 3
    assert cache.built == 5 + 2  # the second time, only the two it had dropped were built again
    full = await db.fetch(SENSOR_SELECT + "WHERE s.id = :id", {"id": made[4]["id"]})
    assert cache.keep(full[0]).name == "Bound 4" and len(cache) == 3
