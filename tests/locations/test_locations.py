"""locations.*: list, detail, types, create/update, updateSensors, delete/bulkDelete."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.sensors.helpers import OPERATOR, code_of, issue_path, make_location, make_sensor
from tests.support import result
from tvms.clock import ManualClock

VALID = {
    "name": "Abay / Dostyk",
    "address": "Abay Ave 1, Almaty",
    "type": "INTERSECTION",
    "latitude": 43.24,
    "longitude": 76.95,
}


async def _everything(client: httpx.AsyncClient) -> Any:
    return [
        await result(client, "locations.getAll", {"take": 100}),
        await result(client, "sensors.getAll", {"take": 100}),
    ]


async def test_create_and_read(client: httpx.AsyncClient) -> None:
    created = await result(client, "locations.create", {**VALID, "description": "busy"}, headers=OPERATOR)
    assert created == {
        "id": created["id"],
        **VALID,
        "status": "ACTIVE",
        "description": "busy",
        "sensorCount": 0,
        "createdAt": "2023-11-14T22:13:20.000Z",
        "updatedAt": "2023-11-14T22:13:20.000Z",
    }
    detail = await result(client, "locations.getById", {"id": created["id"]})
    assert detail == {**{k: v for k, v in created.items() if k != "sensorCount"}, "sensors": []}
    assert await code_of(client, "locations.getById", {"id": "nope"}) == "NOT_FOUND"
    assert await result(client, "locations.getTypes") == [
        "INTERSECTION",
        "HIGHWAY",
        "CHECKPOINT",
        "PARKING",
        "ZONE",
        "CUSTOM",
    ]


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"name": ""}, "$.name"),
        ({"name": "x" * 101}, "$.name"),
        ({"address": ""}, "$.address"),
        ({"address": "x" * 256}, "$.address"),
        ({"type": "VOLCANO"}, "$.type"),
        ({"latitude": 90.5}, "$.latitude"),
        ({"latitude": "north"}, "$.latitude"),
        ({"longitude": 180.01}, "$.longitude"),
        ({"status": "OPEN"}, "$.status"),
        ({"description": "x" * 1001}, "$.description"),
        ({"sensorCount": 3}, "$"),
    ],
)
async def test_create_and_update_reject_bad_input(
    client: httpx.AsyncClient, change: dict[str, Any], path: str
) -> None:
    existing = await make_location(client)
    before = await _everything(client)
    assert await issue_path(client, "locations.create", {**VALID, **change}, headers=OPERATOR) == path
    assert (
        await issue_path(client, "locations.update", {"id": existing["id"], **change}, headers=OPERATOR)
        == path
    )
    assert await _everything(client) == before


async def test_missing_fields_and_limits_at_the_edge(client: httpx.AsyncClient) -> None:
    for field in VALID:
        params = {k: v for k, v in VALID.items() if k != field}
        assert await issue_path(client, "locations.create", params, headers=OPERATOR) == "$"
    edge = await result(
        client,
        "locations.create",
        {**VALID, "name": "x" * 100, "address": "y" * 255, "latitude": -90, "longitude": 180},
        headers=OPERATOR,
    )
    assert edge["latitude"] == -90 and len(edge["name"]) == 100


async def test_update(client: httpx.AsyncClient, clock: ManualClock) -> None:
    location = await make_location(client, description="old")
    clock.advance(1)
    updated = await result(
        client,
        "locations.update",
        {"id": location["id"], "status": "INACTIVE", "description": None},
        headers=OPERATOR,
    )
    assert updated["status"] == "INACTIVE" and updated["description"] is None
    assert updated["name"] == location["name"] and updated["updatedAt"] == "2023-11-14T22:13:21.000Z"
    assert (
        await code_of(client, "locations.update", {"id": "nope", "name": "x"}, headers=OPERATOR)
        == "NOT_FOUND"
    )
    assert await code_of(client, "locations.update", {"name": "x"}, headers=OPERATOR) == "INVALID_PARAMS"


async def test_get_all_paging_search_sort(client: httpx.AsyncClient, clock: ManualClock) -> None:
    assert await result(client, "locations.getAll") == {"locations": [], "total": 0, "pageCount": 0}
    made = []
    for number in range(60):
        clock.advance(1)
        made.append(
            await make_location(client, name=f"Loc {number:02d}", type="ZONE" if number % 2 else "HIGHWAY")
        )
    page = await result(client, "locations.getAll")
    assert page["total"] == 60 and page["pageCount"] == 2 and len(page["locations"]) == 50  # default take 50
    assert page["locations"][0]["id"] == made[-1]["id"]
    last = await result(client, "locations.getAll", {"skip": 50})
    assert len(last["locations"]) == 10
    assert await result(client, "locations.getAll", {"skip": 60}) == {
        "locations": [],
        "total": 60,
        "pageCount": 2,
    }
    by_name = await result(client, "locations.getAll", {"sortBy": "name", "sortOrder": "asc", "take": 3})
    assert [x["name"] for x in by_name["locations"]] == ["Loc 00", "Loc 01", "Loc 02"]
    zones = await result(client, "locations.getAll", {"type": "ZONE", "take": 100})
    assert zones["total"] == 30 and all(x["type"] == "ZONE" for x in zones["locations"])
    assert (await result(client, "locations.getAll", {"status": "INACTIVE"}))["total"] == 0
    for sort_by in ("name", "type", "status", "createdAt"):
        for order in ("asc", "desc"):
            got = await result(
                client, "locations.getAll", {"sortBy": sort_by, "sortOrder": order, "take": 100}
            )
            assert got["total"] == 60 and len({x["id"] for x in got["locations"]}) == 60
    await make_location(client, name="50% off_parking", address="O'Hara St \\ 5")
    for term, count in (("%", 1), ("_", 1), ("'", 1), ("\\", 1), ("o'hara", 1), ("loc 0", 10), ("zzz", 0)):
        found = await result(client, "locations.getAll", {"search": term, "take": 100})
        assert found["total"] == count == len(found["locations"]), term
    for bad, path in (
        ({"take": 0}, "$.take"),
        ({"take": 101}, "$.take"),
        ({"sortBy": "lastHeartbeat"}, "$.sortBy"),
        ({"skip": -5}, "$.skip"),
        ({"type": "ANY"}, "$.type"),
        ({"search": "s" * 101}, "$.search"),
    ):
        assert await issue_path(client, "locations.getAll", bad) == path


async def test_update_sensors_sets_exactly_the_given_set(client: httpx.AsyncClient) -> None:
    here = await make_location(client)
    there = await make_location(client)
    a, b, c = [await make_sensor(client, locationId=here["id"]) for _ in range(3)]
    d = await make_sensor(client, locationId=there["id"])
    detail = await result(
        client,
        "locations.updateSensors",
        {"id": here["id"], "sensorIds": [b["id"], d["id"], d["id"]]},
        headers=OPERATOR,
    )
    assert sorted(s["id"] for s in detail["sensors"]) == sorted([b["id"], d["id"]])
    assert (await result(client, "sensors.getById", {"id": a["id"]}))["locationId"] is None
    assert (await result(client, "sensors.getById", {"id": d["id"]}))["locationId"] == here["id"]
    counts = {x["id"]: x["sensorCount"] for x in (await result(client, "locations.getAll"))["locations"]}
    assert counts == {here["id"]: 2, there["id"]: 0}
    before = await _everything(client)
    assert (
        await code_of(
            client,
            "locations.updateSensors",
            {"id": here["id"], "sensorIds": [a["id"], "ghost"]},
            headers=OPERATOR,
        )
        == "NOT_FOUND"
    )
    assert (
        await code_of(
            client, "locations.updateSensors", {"id": "nowhere", "sensorIds": [a["id"]]}, headers=OPERATOR
        )
        == "NOT_FOUND"
    )
    assert (
        await issue_path(
            client, "locations.updateSensors", {"id": here["id"], "sensorIds": "all"}, headers=OPERATOR
        )
        == "$.sensorIds"
    )
    assert await issue_path(client, "locations.updateSensors", {"id": here["id"]}, headers=OPERATOR) == "$"
    assert await _everything(client) == before
    emptied = await result(
        client, "locations.updateSensors", {"id": here["id"], "sensorIds": []}, headers=OPERATOR
    )
    assert emptied["sensors"] == []
    assert c["id"] not in [s["id"] for s in emptied["sensors"]]


async def test_delete_and_bulk_delete_keep_and_detach_sensors(client: httpx.AsyncClient) -> None:
    one, two, three = [await make_location(client) for _ in range(3)]
    sensor = await make_sensor(client, locationId=one["id"])
    other = await make_sensor(client, locationId=two["id"])
    assert await result(client, "locations.delete", {"id": one["id"]}, headers=OPERATOR) == {
        "success": True,
        "id": one["id"],
    }
    assert (await result(client, "sensors.getById", {"id": sensor["id"]}))["locationId"] is None
    assert await code_of(client, "locations.delete", {"id": one["id"]}, headers=OPERATOR) == "NOT_FOUND"
    assert await result(
        client,
        "locations.bulkDelete",
        {"ids": [two["id"], three["id"], "ghost", two["id"]]},
        headers=OPERATOR,
    ) == {"deleted": 2}
    assert (await result(client, "sensors.getById", {"id": other["id"]}))["locationId"] is None
    assert (await result(client, "sensors.getAll"))["total"] == 2
    assert (await result(client, "locations.getAll"))["total"] == 0
    for bad in ({"ids": []}, {"ids": "x"}, {}, {"ids": [1]}, {"ids": ["x"] * 1001}):
        assert await code_of(client, "locations.bulkDelete", bad, headers=OPERATOR) == "INVALID_PARAMS"
    assert await code_of(client, "locations.delete", {}, headers=OPERATOR) == "INVALID_PARAMS"
    assert await code_of(client, "locations.getTypes", {"x": 1}) == "INVALID_PARAMS"
