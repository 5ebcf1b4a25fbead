"""sensors.create / update / delete / getById / getAll / getAllSensors / getStats."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
import pytest

from procedures.sensors.rows import built_by_position
from tests.sensors.helpers import OPERATOR, code_of, device, issue_path, make_location, make_sensor
from tests.support import error, result
from tvms.clock import ManualClock


async def _everything(client: httpx.AsyncClient) -> Any:
    return [
        await result(client, "sensors.getAll", {"take": 100}),
        await result(client, "sensors.getAllSensors"),
        await result(client, "locations.getAll", {"take": 100}),
    ]


async def test_create_returns_the_sensor_and_its_key_once(client: httpx.AsyncClient) -> None:
    location = await make_location(client)
    given = {
        "name": "Abay / Dostyk cam 1",
        "deviceId": "CAM-001",
        "type": "CAMERA",
        "ipAddress": "10.1.2.3",
        "coordinates": {"latitude": 43.24, "longitude": 76.95, "address": "Abay Ave"},
        "locationId": location["id"],
        "firmwareVersion": "2.4.1",
        "heartbeatTimeoutS": 60,
    }
    created = await make_sensor(client, **given)
    assert {key: created[key] for key in given} == given  # every field in its place
    assert (created["parentSensorId"], created["lastEventAt"]) == (None, None)
    assert created["updatedAt"] == created["createdAt"]
    assert created["apiKey"].startswith(created["apiKeyPrefix"] + "_")
    assert created["apiKeyPrefix"].startswith("tvms_dk_")
    shown = await result(client, "sensors.getById", {"id": created["id"]})
    assert "apiKey" not in shown
    expected = {k: v for k, v in created.items() if k != "apiKey"}
    assert {k: v for k, v in shown.items() if k not in ("location", "children")} == expected
    assert shown["location"]["id"] == location["id"]
    assert shown["status"] == "OFFLINE" and shown["lastHeartbeat"] is None
    assert shown["createdAt"] == "2023-11-14T22:13:20.000Z"
    assert await result(client, "sensors.getSensorById", {"id": created["id"]}) == shown


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({"deviceId": "D", "type": "CAMERA"}, "$"),  # name missing
        ({"name": "", "deviceId": "D", "type": "CAMERA"}, "$.name"),
        ({"name": "   ", "deviceId": "D", "type": "CAMERA"}, "$.name"),
        ({"name": "x" * 101, "deviceId": "D", "type": "CAMERA"}, "$.name"),
        ({"name": 5, "deviceId": "D", "type": "CAMERA"}, "$.name"),
        ({"name": "N", "deviceId": "bad id'; DROP TABLE sensors;--", "type": "CAMERA"}, "$.deviceId"),
        ({"name": "N", "deviceId": "D", "type": "TOASTER"}, "$.type"),
        ({"name": "N", "deviceId": "D", "type": "CAMERA", "status": "SLEEPING"}, "$.status"),
        ({"name": "N", "deviceId": "D", "type": "CAMERA", "ipAddress": "999.1.1.1"}, "$.ipAddress"),
        (
            {"name": "N", "deviceId": "D", "type": "CAMERA", "coordinates": {"latitude": 91, "longitude": 0}},
            "$.coordinates.latitude",
        ),
        (
            {
                "name": "N",
                "deviceId": "D",
                "type": "CAMERA",
                "coordinates": {"latitude": 0, "longitude": -181},
            },
            "$.coordinates.longitude",
        ),
        (
            {"name": "N", "deviceId": "D", "type": "CAMERA", "heartbeatTimeoutS": 10**12},
            "$.heartbeatTimeoutS",
        ),
        ({"name": "N", "deviceId": "D", "type": "CAMERA", "apiKey": "mine"}, "$"),  # unknown field
        ({"name": "N", "deviceId": "D", "type": "RADAR", "parentSensorId": "GATEWAY"}, "$.parentSensorId"),
        ({"name": "N", "deviceId": "D", "type": "CAMERA", "parentSensorId": "CAMERA"}, "$.parentSensorId"),
    ],
)
async def test_create_rejects_bad_input_naming_the_field(
    client: httpx.AsyncClient, params: dict[str, Any], path: str
) -> None:
    gateway = await make_sensor(client, type="EDGE_CONTROLLER")
    camera = await make_sensor(client, type="CAMERA")
    if params.get("parentSensorId") in ("GATEWAY", "CAMERA"):
        params = {
            **params,
            "parentSensorId": {"GATEWAY": gateway, "CAMERA": camera}[params["parentSensorId"]]["id"],
        }
    before = await _everything(client)
    found = await issue_path(client, "sensors.create", params, headers=OPERATOR)
    assert found == path or (path == "$" and found.startswith("$")), found
    if path == "$" and "name" not in params:
        assert "name" in (await error(client, "sensors.create", params, headers=OPERATOR))["message"]
    assert await _everything(client) == before


async def test_duplicate_device_id_is_a_conflict_and_unknown_references_not_found(
    client: httpx.AsyncClient,
) -> None:
    await make_sensor(client, deviceId="CAM-9")
    before = await _everything(client)
    assert (
        await code_of(
            client, "sensors.create", {"name": "n", "deviceId": "CAM-9", "type": "ANPR"}, headers=OPERATOR
        )
        == "CONFLICT"
    )
    assert (
        await code_of(
            client,
            "sensors.create",
            {"name": "n", "deviceId": "X1", "type": "ANPR", "locationId": "nope"},
            headers=OPERATOR,
        )
        == "NOT_FOUND"
    )
    assert (
        await code_of(
            client,
            "sensors.create",
            {"name": "n", "deviceId": "X2", "type": "NVR", "parentSensorId": "nope"},
            headers=OPERATOR,
        )
        == "NOT_FOUND"
    )
    assert await _everything(client) == before


async def test_update_changes_only_given_fields_and_null_clears(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    location = await make_location(client)
    sensor = await make_sensor(
        client, ipAddress="10.0.0.5", locationId=location["id"], coordinates={"latitude": 1, "longitude": 2}
    )
    clock.advance(5)
    updated = await result(
        client,
        "sensors.update",
        {
            "id": sensor["id"],
            "name": "Renamed",
            "ipAddress": None,
            "locationId": None,
            "status": "MAINTENANCE",
        },
        headers=OPERATOR,
    )
    assert updated["name"] == "Renamed" and updated["ipAddress"] is None and updated["locationId"] is None
    assert updated["coordinates"] == {"latitude": 1.0, "longitude": 2.0, "address": None}
    assert updated["deviceId"] == sensor["deviceId"] and updated["status"] == "MAINTENANCE"
    assert updated["updatedAt"] == "2023-11-14T22:13:25.000Z" and updated["createdAt"] == sensor["createdAt"]
    assert updated["apiKeyPrefix"] == sensor["apiKeyPrefix"]


async def test_update_errors_leave_the_sensor_as_it_was(client: httpx.AsyncClient) -> None:
    gateway = await make_sensor(client, type="EDGE_CONTROLLER")
    camera = await make_sensor(client, type="CAMERA", parentSensorId=gateway["id"])
    other = await make_sensor(client, deviceId="TAKEN-1")
    before = await _everything(client)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"id": "missing", "name": "x"}, "NOT_FOUND"),
        ({"id": camera["id"], "deviceId": "TAKEN-1", "name": "half"}, "CONFLICT"),
        ({"id": camera["id"], "name": "half", "locationId": "nowhere"}, "NOT_FOUND"),
        ({"id": camera["id"], "name": "half", "type": "RADAR"}, "INVALID_PARAMS"),  # radar under a gateway
        ({"id": gateway["id"], "name": "half", "type": "CAMERA"}, "INVALID_PARAMS"),  # has children
        ({"id": camera["id"], "name": "half", "parentSensorId": other["id"]}, "INVALID_PARAMS"),
        ({"id": camera["id"], "name": "half", "parentSensorId": camera["id"]}, "INVALID_PARAMS"),
        ({"id": gateway["id"], "parentSensorId": gateway["id"]}, "INVALID_PARAMS"),
        ({"id": camera["id"], "status": "BROKEN"}, "INVALID_PARAMS"),
        ({"id": camera["id"], "ipAddress": "not-an-ip"}, "INVALID_PARAMS"),
        ({"id": camera["id"], "secret": 1}, "INVALID_PARAMS"),
        ({"name": "no id"}, "INVALID_PARAMS"),
    ]
    for params, code in cases:
        assert await code_of(client, "sensors.update", params, headers=OPERATOR) == code, params
    assert await _everything(client) == before


async def test_delete_hides_the_sensor_detaches_children_and_frees_the_device_id(
    client: httpx.AsyncClient,
) -> None:
    gateway = await make_sensor(client, type="EDGE_CONTROLLER", deviceId="GW-1")
    camera = await make_sensor(client, parentSensorId=gateway["id"])
    assert await result(client, "sensors.delete", {"id": gateway["id"]}, headers=OPERATOR) == {
        "success": True,
        "id": gateway["id"],
    }
    assert await code_of(client, "sensors.getById", {"id": gateway["id"]}) == "NOT_FOUND"
    assert await code_of(client, "sensors.delete", {"id": gateway["id"]}, headers=OPERATOR) == "NOT_FOUND"
    assert await code_of(client, "sensors.update", {"id": gateway["id"], "name": "z"}, headers=OPERATOR) == (
        "NOT_FOUND"
    )
    assert (await result(client, "sensors.getById", {"id": camera["id"]}))["parentSensorId"] is None
    page = await result(client, "sensors.getAll")
    assert [s["id"] for s in page["sensors"]] == [camera["id"]] and page["total"] == 1
    again = await make_sensor(client, type="EDGE_CONTROLLER", deviceId="GW-1")
    assert again["id"] != gateway["id"]
    for params in ({}, {"id": ""}, {"id": 7}, {"id": "x" * 101}):
        assert await code_of(client, "sensors.delete", params, headers=OPERATOR) == "INVALID_PARAMS"
    assert await code_of(client, "sensors.getById", {}) == "INVALID_PARAMS"


async def test_get_all_paging_edges(client: httpx.AsyncClient, clock: ManualClock) -> None:
    empty = await result(client, "sensors.getAll")
    assert empty == {"sensors": [], "total": 0, "pageCount": 0}
    ids = []
    for _ in range(25):
        clock.advance(1)
        ids.append((await make_sensor(client))["id"])
    first = await result(client, "sensors.getAll")
    assert first["total"] == 25 and first["pageCount"] == 3 and len(first["sensors"]) == 10
    assert [s["id"] for s in first["sensors"]] == ids[::-1][:10]  # newest first by default
    pages = [
        await result(client, "sensors.getAll", {"skip": skip, "take": 10, "sortOrder": "asc"})
        for skip in (0, 10, 20)
    ]
    assert [s["id"] for page in pages for s in page["sensors"]] == ids
    assert len(pages[2]["sensors"]) == 5
    past = await result(client, "sensors.getAll", {"skip": 1000})
    assert past == {"sensors": [], "total": 25, "pageCount": 3}
    exact = await result(client, "sensors.getAll", {"take": 5})
    assert exact["pageCount"] == 5
    one = await result(client, "sensors.getAll", {"take": 100})
    assert one["pageCount"] == 1 and len(one["sensors"]) == 25
    assert (await result(client, "sensors.getAll", [{"take": 1}]))["pageCount"] == 25


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({"take": 0}, "$.take"),
        ({"take": 101}, "$.take"),
        ({"take": "10"}, "$.take"),
        ({"skip": -1}, "$.skip"),
        ({"skip": 10**30}, "$.skip"),
        ({"sortBy": "apiKey"}, "$.sortBy"),
        ({"sortOrder": "up"}, "$.sortOrder"),
        ({"type": "camera"}, "$.type"),
        ({"status": "DEAD"}, "$.status"),
        ({"search": "x" * 101}, "$.search"),
        ({"where": "1=1"}, "$"),
    ],
)
async def test_get_all_rejects_bad_input(
    client: httpx.AsyncClient, params: dict[str, Any], path: str
) -> None:
    assert await issue_path(client, "sensors.getAll", params) == path


async def test_search_treats_wildcards_and_quotes_as_text(client: httpx.AsyncClient) -> None:
    names = ["100% sure", "1000 sure", "under_score", "underXscore", "O'Brien cam", "back\\slash", "Plain"]
    for number, name in enumerate(names):
        await make_sensor(client, name=name, deviceId=f"S-{number}")

    async def found(term: str) -> list[str]:
        page = await result(
            client, "sensors.getAll", {"search": term, "take": 100, "sortBy": "name", "sortOrder": "asc"}
        )
        assert page["total"] == len(page["sensors"])
        return [s["name"] for s in page["sensors"]]

    assert await found("%") == ["100% sure"]
    assert await found("_") == ["under_score"]
    assert await found("'") == ["O'Brien cam"]
    assert await found("\\") == ["back\\slash"]
    assert await found("' OR '1'='1") == []
    assert await found("PLAIN") == ["Plain"]  # case-insensitive
    assert await found("s-3") == ["underXscore"]  # deviceId matches too
    assert len(await found("")) == len(names)


async def test_filters_and_every_sort_key(client: httpx.AsyncClient, clock: ManualClock) -> None:
    location = await make_location(client)
    gateway = await make_sensor(client, name="b gateway", type="EDGE_CONTROLLER", locationId=location["id"])
    clock.advance(1)
    cam = await make_sensor(client, name="a cam", type="CAMERA", parentSensorId=gateway["id"])
    clock.advance(1)
    radar = await make_sensor(client, name="c radar", type="RADAR", status="MAINTENANCE")
    await result(client, "sensors.heartbeat", {}, headers={"x-api-key": cam["apiKey"]})

    async def ids(**params: Any) -> list[str]:
        return [s["id"] for s in (await result(client, "sensors.getAll", params))["sensors"]]

    assert await ids(type="RADAR") == [radar["id"]]
    assert await ids(status="ONLINE") == [cam["id"]]
    assert await ids(locationId=location["id"]) == [gateway["id"]]
    assert await ids(parentSensorId=gateway["id"]) == [cam["id"]]
    assert await ids(parentSensorId="nobody") == []
    g, c, r = gateway["id"], cam["id"], radar["id"]
    assert await ids(sortBy="name", sortOrder="asc") == [c, g, r]
    assert await ids(sortBy="name", sortOrder="desc") == [r, g, c]
    assert await ids(sortBy="type", sortOrder="asc") == [c, g, r]  # CAMERA < EDGE_CONTROLLER < RADAR
    assert await ids(sortBy="status", sortOrder="asc") == [r, g, c]  # MAINTENANCE < OFFLINE < ONLINE
    assert await ids(sortBy="status", sortOrder="desc") == [c, g, r]
    assert await ids(sortBy="createdAt", sortOrder="asc") == [g, c, r]
    assert (await ids(sortBy="lastHeartbeat", sortOrder="desc"))[0] == c
    assert (await ids(sortBy="lastHeartbeat", sortOrder="asc"))[-1] == c


async def test_get_all_sensors_and_stats(client: httpx.AsyncClient) -> None:
    assert await result(client, "sensors.getAllSensors") == []
    zero = await result(client, "sensors.getStats")
    assert zero["total"] == 0 and set(zero["byType"]) == {
        "CAMERA",
        "RADAR",
        "ANPR",
        "SPEED_DETECTOR",
        "EDGE_CONTROLLER",
        "NVR",
    }
    location = await make_location(client, name="Central")
    placed_key = (
        await make_sensor(
            client, type="ANPR", locationId=location["id"], coordinates={"latitude": 3, "longitude": 4}
        )
    )["apiKey"]
    await make_sensor(client, type="ANPR", status="MAINTENANCE")
    deleted = await make_sensor(client, type="NVR")
    await result(client, "sensors.delete", {"id": deleted["id"]}, headers=OPERATOR)
    await make_sensor(client, type="CAMERA", locationId=location["id"], ipAddress="10.0.0.9")
    await result(client, "sensors.heartbeat", {"status": "ONLINE"}, headers=device(placed_key))
    everything = await result(client, "sensors.getAllSensors")
    assert len(everything) == 3
    for entry in everything:  # the same fields as the sensor's own page shows
        detail = await result(client, "sensors.getById", {"id": entry["id"]})
        assert entry == {key: detail[key] for key in entry}
    placed = next(s for s in everything if s["coordinates"])
    assert placed["location"]["name"] == "Central" and placed["coordinates"]["latitude"] == 3
    assert placed["lastHeartbeat"] is not None
    stats = await result(client, "sensors.getStats")
    assert stats["total"] == 3 and stats["maintenance"] == 1 and stats["offline"] == 1
    assert stats["byType"]["ANPR"] == 2 and stats["byType"]["CAMERA"] == 1 and stats["byType"]["NVR"] == 0
    assert stats["byStatus"] == {"ONLINE": 1, "OFFLINE": 1, "MAINTENANCE": 1, "ERROR": 0}
    for method in ("sensors.getAllSensors", "sensors.getStats"):
        assert await code_of(client, method, {"x": 1}) == "INVALID_PARAMS"


async def test_get_by_id_over_http_get(client: httpx.AsyncClient) -> None:
    sensor = await make_sensor(client)
    response = await client.get("/rpc/sensors.getSensorById", params={"input": f'{{"id": "{sensor["id"]}"}}'})
    assert response.status_code == 200 and response.json()["result"]["id"] == sensor["id"]


def test_a_struct_built_by_position_must_keep_its_field_order() -> None:
    class Point(msgspec.Struct):
        x: int
        y: int

    built_by_position(Point, "x", "y")
    with pytest.raises(RuntimeError, match="Point's fields changed"):
        built_by_position(Point, "y", "x")
