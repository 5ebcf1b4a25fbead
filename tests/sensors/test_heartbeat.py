"""sensors.heartbeat, gateway children, the OFFLINE sweep and the status-change log."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

from procedures.sensors import sweep_once
from tests.sensors.helpers import OPERATOR, client_for, code_of, device, issue_path, make_sensor
from tests.support import result
from tvms.clock import ManualClock
from tvms.config import Config


async def _changes(app: Any, sensor_id: str) -> list[tuple[str | None, str, str]]:
    rows = await app.state.services.db.fetch(
        # Callers advance the clock between changes: ids are random within one millisecond.
        "SELECT from_status, to_status, reason FROM sensor_status_changes WHERE sensor_id = :id ORDER BY at",
        {"id": sensor_id},
    )
    return [(row["from_status"], row["to_status"], row["reason"]) for row in rows]


async def _status(client: httpx.AsyncClient, sensor_id: str) -> str:
    status: str = (await result(client, "sensors.getById", {"id": sensor_id}))["status"]
    return status


async def test_heartbeat_sets_status_time_and_telemetry(
    client: httpx.AsyncClient, app: Any, clock: ManualClock
) -> None:
    sensor = await make_sensor(client)
    clock.advance(2)
    ack = await result(
        client,
        "sensors.heartbeat",
        {
            "uptimeS": 10,
            "cpuPct": 12.5,
            "diskUsedBytes": 1,
            "diskTotalBytes": 2,
            "firmwareVersion": "3.1",
            "ipAddress": "192.168.1.20",
        },
        headers=device(sensor["apiKey"]),
    )
    assert ack == {"serverTime": "2023-11-14T22:13:22.000Z"}
    shown = await result(client, "sensors.getById", {"id": sensor["id"]})
    assert shown["status"] == "ONLINE" and shown["lastHeartbeat"] == "2023-11-14T22:13:22.000Z"
    assert shown["firmwareVersion"] == "3.1" and shown["ipAddress"] == "192.168.1.20"
    clock.advance(1)
    await result(client, "sensors.heartbeat", {"status": "ERROR"}, headers=device(sensor["apiKey"]))
    clock.advance(1)
    await result(client, "sensors.heartbeat", None, headers=device(sensor["apiKey"]))  # no params: ONLINE
    assert await _changes(app, sensor["id"]) == [
        (None, "OFFLINE", "created"),
        ("OFFLINE", "ONLINE", "heartbeat"),
        ("ONLINE", "ERROR", "heartbeat"),
        ("ERROR", "ONLINE", "heartbeat"),
    ]


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({"status": "MAINTENANCE"}, "$.status"),  # only operators set it
        ({"status": "OFFLINE"}, "$.status"),
        ({"cpuPct": 101}, "$.cpuPct"),
        ({"cpuPct": "high"}, "$.cpuPct"),
        ({"uptimeS": -1}, "$.uptimeS"),
        ({"diskUsedBytes": 10**30}, "$.diskUsedBytes"),
        ({"diskUsedBytes": 5, "diskTotalBytes": 4}, "$"),
        ({"ipAddress": "300.1.1.1"}, "$.ipAddress"),
        ({"firmwareVersion": "x" * 65}, "$.firmwareVersion"),
        ({"children": [{"deviceId": "A", "status": "ONLINE"}]}, "$.children"),  # not a gateway
        ({"children": "all"}, "$.children"),
        ({"sensorId": "someone-else"}, "$"),
    ],
)
async def test_heartbeat_rejects_bad_input_and_applies_nothing(
    client: httpx.AsyncClient, app: Any, params: dict[str, Any], path: str
) -> None:
    sensor = await make_sensor(client)
    assert await issue_path(client, "sensors.heartbeat", params, headers=device(sensor["apiKey"])) == path
    shown = await result(client, "sensors.getById", {"id": sensor["id"]})
    assert shown["status"] == "OFFLINE" and shown["lastHeartbeat"] is None and shown["ipAddress"] is None
    assert len(await _changes(app, sensor["id"])) == 1


async def test_maintenance_is_kept_until_an_operator_clears_it(
    client: httpx.AsyncClient, app: Any, clock: ManualClock
) -> None:
    sensor = await make_sensor(client, status="MAINTENANCE")
    clock.advance(1)
    await result(client, "sensors.heartbeat", {"status": "ERROR"}, headers=device(sensor["apiKey"]))
    shown = await result(client, "sensors.getById", {"id": sensor["id"]})
    assert shown["status"] == "MAINTENANCE" and shown["lastHeartbeat"] is not None
    await result(client, "sensors.update", {"id": sensor["id"], "status": "OFFLINE"}, headers=OPERATOR)
    clock.advance(1)
    await result(client, "sensors.heartbeat", {}, headers=device(sensor["apiKey"]))
    assert await _status(client, sensor["id"]) == "ONLINE"
    assert await _changes(app, sensor["id"]) == [
        (None, "MAINTENANCE", "created"),
        ("MAINTENANCE", "OFFLINE", "operator"),
        ("OFFLINE", "ONLINE", "heartbeat"),
    ]


async def test_gateway_reports_its_own_children_only(
    client: httpx.AsyncClient, app: Any, clock: ManualClock
) -> None:
    gateway = await make_sensor(client, type="EDGE_CONTROLLER")
    other_gateway = await make_sensor(client, type="EDGE_CONTROLLER")
    cam = await make_sensor(client, type="CAMERA", parentSensorId=gateway["id"])
    nvr = await make_sensor(client, type="NVR", parentSensorId=gateway["id"], status="MAINTENANCE")
    foreign = await make_sensor(client, type="CAMERA", parentSensorId=other_gateway["id"])
    loose = await make_sensor(client, type="CAMERA")
    key = device(gateway["apiKey"])
    for stranger in (foreign, loose, other_gateway, gateway):
        params = {
            "children": [
                {"deviceId": cam["deviceId"], "status": "ONLINE"},
                {"deviceId": stranger["deviceId"], "status": "ONLINE"},
            ]
        }
        assert await issue_path(client, "sensors.heartbeat", params, headers=key) == "$.children[1].deviceId"
    assert [await _status(client, s["id"]) for s in (gateway, cam, foreign)] == ["OFFLINE"] * 3
    dup = {"children": [{"deviceId": cam["deviceId"], "status": "ONLINE"}] * 2}
    assert await issue_path(client, "sensors.heartbeat", dup, headers=key) == "$"
    clock.advance(1)
    await result(
        client,
        "sensors.heartbeat",
        {
            "children": [
                {"deviceId": cam["deviceId"], "status": "ERROR"},
                {"deviceId": nvr["deviceId"], "status": "ONLINE"},
            ]
        },
        headers=key,
    )
    assert await _status(client, gateway["id"]) == "ONLINE"
    assert await _status(client, cam["id"]) == "ERROR"
    assert await _status(client, nvr["id"]) == "MAINTENANCE"
    assert await _changes(app, cam["id"]) == [
        (None, "OFFLINE", "created"),
        ("OFFLINE", "ERROR", "gateway report"),
    ]
    await result(
        client,
        "sensors.heartbeat",
        {"children": [{"deviceId": cam["deviceId"], "status": "OFFLINE"}]},
        headers=key,
    )
    assert await _status(client, cam["id"]) == "OFFLINE"
    # a camera's own key cannot speak for its siblings
    assert (
        await issue_path(
            client,
            "sensors.heartbeat",
            {"children": [{"deviceId": nvr["deviceId"], "status": "ONLINE"}]},
            headers=device(cam["apiKey"]),
        )
        == "$.children"
    )


async def test_sweep_marks_silent_sensors_offline(
    client: httpx.AsyncClient, app: Any, clock: ManualClock
) -> None:
    db = app.state.services.db
    fast = await make_sensor(client, heartbeatTimeoutS=30)
    slow = await make_sensor(client)  # 180 s
    never = await make_sensor(client, status="ONLINE")  # never heard from: counts from creation
    held = await make_sensor(client, status="MAINTENANCE")
    for sensor in (fast, slow):
        await result(client, "sensors.heartbeat", {}, headers=device(sensor["apiKey"]))
    clock.advance(30)
    await sweep_once(db, clock.now_ms())
    assert await _status(client, fast["id"]) == "ONLINE"  # exactly at the timeout: not yet
    clock.advance(1)
    await sweep_once(db, clock.now_ms())
    assert await _status(client, fast["id"]) == "OFFLINE"
    assert await _status(client, slow["id"]) == "ONLINE"
    clock.advance(150)
    await sweep_once(db, clock.now_ms())
    assert [await _status(client, s["id"]) for s in (slow, never, held)] == [
        "OFFLINE",
        "OFFLINE",
        "MAINTENANCE",
    ]
    assert await sweep_once(db, clock.now_ms()) == 0
    assert (await _changes(app, fast["id"]))[-1] == ("ONLINE", "OFFLINE", "heartbeat timeout")
    await result(client, "sensors.heartbeat", {}, headers=device(fast["apiKey"]))
    assert await _status(client, fast["id"]) == "ONLINE"


async def test_sweep_loses_to_a_heartbeat_that_lands_meanwhile(
    client: httpx.AsyncClient, app: Any, clock: ManualClock
) -> None:
    """The compare-and-set: the sweep read a stale heartbeat, then a fresh one arrived first."""
    db = app.state.services.db
    sensor = await make_sensor(client, heartbeatTimeoutS=30)
    await result(client, "sensors.heartbeat", {}, headers=device(sensor["apiKey"]))
    clock.advance(60)
    real_fetch = db.fetch

    async def fetch_then_heartbeat(sql: str, params: Any = None) -> Any:
        rows = await real_fetch(sql, params)
        if "heartbeat_timeout_s * 1000" in sql:  # the sweep's read; now the device speaks up
            await result(client, "sensors.heartbeat", {}, headers=device(sensor["apiKey"]))
        return rows

    db.fetch = fetch_then_heartbeat
    try:
        assert await sweep_once(db, clock.now_ms()) == 0
    finally:
        del db.fetch
    assert await _status(client, sensor["id"]) == "ONLINE"
    assert ("ONLINE", "OFFLINE", "heartbeat timeout") not in await _changes(app, sensor["id"])


async def test_the_hook_sweeps_in_the_background(client: httpx.AsyncClient, clock: ManualClock) -> None:
    sensor = await make_sensor(client, heartbeatTimeoutS=10)
    await result(client, "sensors.heartbeat", {}, headers=device(sensor["apiKey"]))
    clock.advance(11)
    # The sweeper runs every timeout/3 (≈ 3.3 s here); a write wakes it to re-plan at once.
    await result(client, "sensors.update", {"id": sensor["id"], "heartbeatTimeoutS": 10}, headers=OPERATOR)
    for _ in range(100):
        if await _status(client, sensor["id"]) == "OFFLINE":
            break
        await asyncio.sleep(0.05)
    assert await _status(client, sensor["id"]) == "OFFLINE"


async def test_licence_limits_sensor_creation(tmp_path: Path, config: Config, clock: ManualClock) -> None:
    path = tmp_path / "license.json"
    path.write_text(json.dumps({"maxSensors": 2}))
    limited = Config(data_dir=tmp_path, database_url=config.database_url, license_file=path)
    async with client_for(limited, clock) as client:
        first = await make_sensor(client)
        await make_sensor(client)
        body = await code_of(
            client, "sensors.create", {"name": "3", "deviceId": "THIRD", "type": "RADAR"}, headers=OPERATOR
        )
        assert body == "PRECONDITION_FAILED"
        page = await result(client, "sensors.getAll")
        assert page["total"] == 2
        await result(client, "sensors.delete", {"id": first["id"]}, headers=OPERATOR)
        await make_sensor(client)  # a deleted sensor frees its seat


async def test_sweep_log_line_names_the_sensors_it_marked_offline(
    client: httpx.AsyncClient, app: Any, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    from procedures.sensors.status import LOGGED_IDS, heartbeat_sweeper, offline_fields

    sensors = [await make_sensor(client, status="ONLINE") for _ in range(3)]
    clock.advance(181)  # past the default 180 s timeout: all three are silent
    with caplog.at_level(logging.INFO, logger="tvms.sensors"):
        async with heartbeat_sweeper(app.state.services):
            for _ in range(500):  # the sweep runs at once; give its task the loop until it logs
                if any("marked OFFLINE" in r.getMessage() for r in caplog.records):
                    break
                await asyncio.sleep(0.01)
    [line] = [r for r in caplog.records if "marked OFFLINE" in r.getMessage()]
    fields = line.fields  # type: ignore[attr-defined]
    assert fields["job"] == "sensors.heartbeat-sweep"
    assert sorted(fields["sensorIds"]) == sorted(s["id"] for s in sensors)
    assert fields["sensorCount"] == 3
    assert "sensorIdsTruncated" not in fields
    many = [f"s{n}" for n in range(LOGGED_IDS + 5)]
    bounded = offline_fields(many)
    assert bounded["sensorIds"] == many[:LOGGED_IDS]
    assert bounded["sensorCount"] == LOGGED_IDS + 5
    assert bounded["sensorIdsTruncated"] is True
