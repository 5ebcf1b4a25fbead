"""Who may call what: every sensors.* and locations.* procedure, with no, wrong and right auth."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.sensors.helpers import ADMIN, OPERATOR, VIEWER, code_of, device, make_location, make_sensor
from tests.support import result

WRITES: list[tuple[str, dict[str, Any]]] = [
    ("sensors.create", {"name": "X", "deviceId": "AUTH-1", "type": "RADAR"}),
    ("sensors.update", {"id": "SENSOR", "name": "Renamed"}),
    ("sensors.delete", {"id": "SENSOR"}),
    ("sensors.rotateApiKey", {"id": "SENSOR"}),
    ("locations.create", {"name": "L", "address": "A", "type": "ZONE", "latitude": 1, "longitude": 2}),
    ("locations.update", {"id": "LOCATION", "name": "Renamed"}),
    ("locations.updateSensors", {"id": "LOCATION", "sensorIds": ["SENSOR"]}),
    ("locations.delete", {"id": "LOCATION"}),
    ("locations.bulkDelete", {"ids": ["LOCATION"]}),
]
READS: list[tuple[str, dict[str, Any] | None]] = [
    ("sensors.getAll", None),
    ("sensors.getAllSensors", None),
    ("sensors.getById", {"id": "SENSOR"}),
    ("sensors.getSensorById", {"id": "SENSOR"}),
    ("sensors.getStats", None),
    ("locations.getAll", None),
    ("locations.getById", {"id": "LOCATION"}),
    ("locations.getTypes", None),
]


def _fill(params: dict[str, Any] | None, ids: dict[str, str]) -> dict[str, Any] | None:
    if params is None:
        return None
    filled: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, list):
            filled[key] = [ids.get(v, v) for v in value]
        else:
            filled[key] = ids.get(value, value) if isinstance(value, str) else value
    return filled


async def _world(client: httpx.AsyncClient) -> tuple[dict[str, str], str]:
    location = await make_location(client)
    sensor = await make_sensor(client, locationId=location["id"])
    return {"SENSOR": sensor["id"], "LOCATION": location["id"]}, sensor["apiKey"]


async def _state(client: httpx.AsyncClient, ids: dict[str, str]) -> Any:
    return [
        await result(client, "sensors.getAll", {"take": 100}),
        await result(client, "locations.getAll", {"take": 100}),
        await result(client, "sensors.getById", {"id": ids["SENSOR"]}),
    ]


@pytest.mark.parametrize(("method", "params"), WRITES)
async def test_writes_need_an_operator_or_admin(client: httpx.AsyncClient, method: str, params: Any) -> None:
    ids, key = await _world(client)
    before = await _state(client, ids)
    filled = _fill(params, ids)
    assert await code_of(client, method, filled) == "UNAUTHORIZED"
    assert await code_of(client, method, filled, headers=VIEWER) == "FORBIDDEN"
    assert await code_of(client, method, filled, headers=device(key)) == "FORBIDDEN"
    no_such_key = device("tvms_dk_00000000_" + "A" * 43)
    assert await code_of(client, method, filled, headers=no_such_key) == "UNAUTHORIZED"
    assert await code_of(client, method, filled, headers={"authorization": "Bearer junk"}) == "UNAUTHORIZED"
    assert await _state(client, ids) == before  # refused calls change nothing
    for number, who in enumerate((OPERATOR, ADMIN)):
        await result(client, method, _fill(params, ids | {"AUTH-1": f"AUTH-{number}"}), headers=who)
        ids, key = await _world(client)


@pytest.mark.parametrize(("method", "params"), READS)
async def test_reads_are_public(client: httpx.AsyncClient, method: str, params: Any) -> None:
    ids, key = await _world(client)
    filled = _fill(params, ids)
    anonymous = await result(client, method, filled)
    assert await result(client, method, filled, headers=VIEWER) == anonymous
    assert await result(client, method, filled, headers=device(key)) == anonymous


async def test_heartbeat_is_for_devices_only(client: httpx.AsyncClient) -> None:
    await _world(client)
    assert await code_of(client, "sensors.heartbeat", {}) == "UNAUTHORIZED"
    for who in (VIEWER, OPERATOR, ADMIN):
        assert await code_of(client, "sensors.heartbeat", {}, headers=who) == "FORBIDDEN"
    assert await code_of(client, "sensors.heartbeat", {}, headers=device("tvms_dk_00000000_" + "A" * 43)) == (
        "UNAUTHORIZED"
    )
