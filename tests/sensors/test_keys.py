"""Device API keys: format, hashing, rotation, revocation, caching, and no key in any read."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx

from procedures.sensors.keys import hash_key
from tests.sensors.helpers import OPERATOR, code_of, device, make_location, make_sensor
from tests.support import result
from tvms.clock import ManualClock


async def test_key_format_and_storage(client: httpx.AsyncClient, app: Any) -> None:
    sensor = await make_sensor(client)
    key: str = sensor["apiKey"]
    prefix, secret = key[: len("tvms_dk_") + 8], key[len("tvms_dk_") + 9 :]
    assert sensor["apiKeyPrefix"] == prefix and key == f"{prefix}_{secret}"
    assert len(secret) == 43  # base64url of 32 random bytes
    rows = await app.state.services.db.fetch(
        "SELECT prefix, key_hash, revoked_at FROM device_keys WHERE sensor_id = :id", {"id": sensor["id"]}
    )
    assert len(rows) == 1 and rows[0]["prefix"] == prefix and rows[0]["revoked_at"] is None
    assert rows[0]["key_hash"] == hashlib.sha256(key.encode()).hexdigest() == hash_key(key)
    assert secret not in json.dumps([dict(row) for row in rows])


async def test_no_read_ever_shows_key_material(client: httpx.AsyncClient) -> None:
    location = await make_location(client)
    gateway = await make_sensor(client, type="EDGE_CONTROLLER", locationId=location["id"])
    camera = await make_sensor(client, parentSensorId=gateway["id"], locationId=location["id"])
    rotated = await result(client, "sensors.rotateApiKey", {"id": camera["id"]}, headers=OPERATOR)
    secrets = []
    for key in (gateway["apiKey"], camera["apiKey"], rotated["apiKey"]):
        prefix = key[: len("tvms_dk_") + 8]  # the part shown as apiKeyPrefix
        secrets += [key, key.removeprefix(prefix + "_"), hash_key(key)]
    reads: list[tuple[str, Any]] = [
        ("sensors.getAll", None),
        ("sensors.getAll", {"search": "tvms_dk"}),
        ("sensors.getAll", {"parentSensorId": gateway["id"]}),
        ("sensors.getAllSensors", None),
        ("sensors.getById", {"id": gateway["id"]}),
        ("sensors.getSensorById", {"id": camera["id"]}),
        ("sensors.getStats", None),
        ("locations.getAll", None),
        ("locations.getById", {"id": location["id"]}),
        ("locations.getTypes", None),
    ]
    for method, params in reads:
        for headers in ({}, OPERATOR, device(gateway["apiKey"])):
            text = json.dumps(await result(client, method, params, headers=headers))
            assert not any(secret in text for secret in secrets), method
            assert 'apiKey"' not in text.replace("apiKeyPrefix", "")
        query = {"input": json.dumps(params)} if params else {}
        body = (await client.get(f"/rpc/{method}", params=query)).text
        assert not any(secret in body for secret in secrets), method
    write = await result(client, "sensors.update", {"id": camera["id"], "name": "n"}, headers=OPERATOR)
    assert "apiKey" not in write and write["apiKeyPrefix"] == rotated["apiKeyPrefix"]


async def test_rotation_revokes_the_old_key_at_once(client: httpx.AsyncClient) -> None:
    sensor = await make_sensor(client)
    old = sensor["apiKey"]
    await result(client, "sensors.heartbeat", {}, headers=device(old))  # cached now
    rotated = await result(client, "sensors.rotateApiKey", {"id": sensor["id"]}, headers=OPERATOR)
    assert rotated["apiKey"] != old and rotated["apiKeyPrefix"] != sensor["apiKeyPrefix"]
    assert await code_of(client, "sensors.heartbeat", {}, headers=device(old)) == "UNAUTHORIZED"
    await result(client, "sensors.heartbeat", {}, headers=device(rotated["apiKey"]))
    shown = await result(client, "sensors.getById", {"id": sensor["id"]})
    assert shown["apiKeyPrefix"] == rotated["apiKeyPrefix"]
    assert await code_of(client, "sensors.rotateApiKey", {"id": "nope"}, headers=OPERATOR) == "NOT_FOUND"
    assert await code_of(client, "sensors.rotateApiKey", {"id": 1}, headers=OPERATOR) == "INVALID_PARAMS"
    assert await code_of(client, "sensors.rotateApiKey", {}, headers=OPERATOR) == "INVALID_PARAMS"


async def test_deleting_a_sensor_revokes_its_key(client: httpx.AsyncClient, app: Any) -> None:
    sensor = await make_sensor(client)
    await result(client, "sensors.heartbeat", {}, headers=device(sensor["apiKey"]))
    await result(client, "sensors.delete", {"id": sensor["id"]}, headers=OPERATOR)
    assert await code_of(client, "sensors.heartbeat", {}, headers=device(sensor["apiKey"])) == "UNAUTHORIZED"
    revoked = await app.state.services.db.fetchval(
        "SELECT revoked_at FROM device_keys WHERE sensor_id = :id", {"id": sensor["id"]}
    )
    assert revoked is not None


async def test_bad_keys_are_refused(client: httpx.AsyncClient) -> None:
    sensor = await make_sensor(client)
    key: str = sensor["apiKey"]
    flipped = key[:-1] + ("A" if key[-1] != "A" else "B")
    other_prefix = "tvms_dk_ffffffff" + key[len("tvms_dk_ffffffff") :]
    for bad in (flipped, other_prefix, key + "x", key[:-1], "", "tvms_dk_", "' OR 1=1 --", key.upper()):
        assert await code_of(client, "sensors.heartbeat", {}, headers=device(bad)) == "UNAUTHORIZED", bad
    await result(client, "sensors.heartbeat", {}, headers=device(key))


async def test_cached_lookup_expires_for_other_processes(
    client: httpx.AsyncClient, app: Any, clock: ManualClock
) -> None:
    """A revocation written by another process is honoured once the ≤ 5 s cache entry expires."""
    sensor = await make_sensor(client)
    await result(client, "sensors.heartbeat", {}, headers=device(sensor["apiKey"]))
    await app.state.services.db.execute(  # as another process would: no cache invalidation here
        "UPDATE device_keys SET revoked_at = 1 WHERE sensor_id = :id", {"id": sensor["id"]}
    )
    await result(client, "sensors.heartbeat", {}, headers=device(sensor["apiKey"]))  # still cached
    clock.advance(5.1)
    assert await code_of(client, "sensors.heartbeat", {}, headers=device(sensor["apiKey"])) == "UNAUTHORIZED"
